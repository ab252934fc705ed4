// Package command holds what the kpilot-agent and kpilot-server command
// lines share: running a cobra root with exit codes, usage errors, and the
// slog logger the --log-format flag selects.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// UsageError marks a mistake in how the program was called: exit code 2
// and a hint to --help.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usage wraps err as a UsageError.
func Usage(err error) error { return UsageError{Err: err} }

// Configure sets the settings both programs' roots share.
func Configure(root *cobra.Command, stdout, stderr io.Writer) {
	root.SilenceErrors, root.SilenceUsage = true, true
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return Usage(err) })
}

// SilentError fails the command with exit code 1 without printing the
// error: the command has already said what went wrong.
type SilentError struct{ Err error }

func (e SilentError) Error() string { return e.Err.Error() }
func (e SilentError) Unwrap() error { return e.Err }

// Silent wraps err as a SilentError.
func Silent(err error) error { return SilentError{Err: err} }

// ExitError ends the program with Code and no message: the command has
// printed what it had to say (status commands exit 3 for "stopped").
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Exit returns an ExitError.
func Exit(code int) error { return ExitError{Code: code} }

// Execute runs root with args and returns the process exit code: 0
// success, 1 failure, 2 usage error. Errors are printed once, here.
func Execute(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	name := root.Name()
	var ee ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue UsageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", name, err, name)
		return 2
	}
	var se SilentError
	if !errors.As(err, &se) {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}
	return 1
}

// NewLogger returns the program's logger: text (logfmt) or json.
// level is a slog.Level, or a *slog.LevelVar to change it while running.
func NewLogger(w io.Writer, level slog.Leveler, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
