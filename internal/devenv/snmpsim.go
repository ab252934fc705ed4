package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Snmpsim is a running snmpsimd serving .snmprec recordings; the community
// of each recording is its file name without .snmprec.
type Snmpsim struct {
	*Process
	Host        string
	Port        int
	Communities []string
}

// Addr is host:port.
func (s *Snmpsim) Addr() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

// SnmpsimPath finds snmpsimd (Debian's name): $KPILOT_SNMPSIMD or PATH.
func SnmpsimPath() (string, error) { return lookPath("KPILOT_SNMPSIMD", "snmpsimd") }

// StartSnmpsim serves the given .snmprec files on 127.0.0.1:port (0 picks
// one). snmpsimd drops root privileges to nobody, so the files are copied
// into a world-readable directory under dir first.
func StartSnmpsim(ctx context.Context, dir string, port int, files []string, log io.Writer) (*Snmpsim, error) {
	bin, err := SnmpsimPath()
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort("udp"); err != nil {
			return nil, err
		}
	}
	data, cache := filepath.Join(dir, "data"), filepath.Join(dir, "cache")
	for _, d := range []string{dir, data, cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o777); err != nil { // nobody writes the cache
			return nil, err
		}
	}
	// The parent of a t.TempDir is private to its owner; snmpsimd, running
	// as nobody, must be able to reach the files.
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 && strings.HasPrefix(p, os.TempDir()) {
			if err := os.Chmod(p, fi.Mode().Perm()|0o011); err != nil {
				return nil, err
			}
		}
	}
	s := &Snmpsim{Host: "127.0.0.1", Port: port}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(f)
		if err := os.WriteFile(filepath.Join(data, name), b, 0o644); err != nil {
			return nil, err
		}
		s.Communities = append(s.Communities, strings.TrimSuffix(name, ".snmprec"))
	}
	if len(s.Communities) == 0 {
		return nil, errors.New("snmpsim: no recordings given")
	}
	args := []string{"--data-dir=" + data, "--cache-dir=" + cache,
		fmt.Sprintf("--agent-udpv4-endpoint=127.0.0.1:%d", port)}
	if os.Geteuid() == 0 {
		args = append(args, "--process-user=nobody", "--process-group=nogroup")
	}
	p, err := Start("snmpsimd", exec.Command(bin, args...), log)
	if err != nil {
		return nil, err
	}
	s.Process = p
	if err := p.WaitFor(ctx, 60*time.Second, snmpAnswers(s.Host, port, s.Communities[0])); err != nil {
		return nil, err
	}
	return s, nil
}
