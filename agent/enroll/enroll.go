// Package enroll exchanges a single-use enrollment token for the agent's own
// credential and keeps that credential in a file only the agent can read.
package enroll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/kpilot/kpilot/internal/atomicfile"
)

// Credential is what the server issues at enrollment.
type Credential struct {
	ServerURL string `json:"server_url"`
	AgentID   string `json:"agent_id"`
	Token     string `json:"token"` // bearer secret; never logged
}

// String keeps the token out of logs and error messages.
func (c Credential) String() string { return "agent " + c.AgentID + " at " + c.ServerURL }

// Request is the body of POST /api/v1/agents/enroll.
type Request struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	Version  string `json:"version"`
}

// Response is the server's answer.
type Response struct {
	AgentID    string `json:"agent_id"`
	Credential string `json:"credential"`
}

// Enroll exchanges token at serverURL.
func Enroll(ctx context.Context, hc *http.Client, serverURL string, req Request) (Credential, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Credential{}, err
	}
	u := strings.TrimRight(serverURL, "/") + "/api/v1/agents/enroll"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Credential{}, fmt.Errorf("enrolling at %s: %w", serverURL, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(hr)
	if err != nil {
		return Credential{}, fmt.Errorf("enrolling at %s: %w", serverURL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		return Credential{}, fmt.Errorf("enrolling at %s: server answered %s: %s", serverURL, resp.Status, serverMessage(data))
	}
	var r Response
	if err := json.Unmarshal(data, &r); err != nil || r.AgentID == "" || r.Credential == "" {
		return Credential{}, fmt.Errorf("enrolling at %s: unexpected answer from server", serverURL)
	}
	return Credential{ServerURL: serverURL, AgentID: r.AgentID, Token: r.Credential}, nil
}

// serverMessage extracts {"error": "..."} from an error body.
func serverMessage(data []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(data))
}

// Save writes the credential atomically with mode 0600.
func Save(path string, c Credential) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating directory for credential: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving credential: %w", err)
	}
	return nil
}

// ErrNotEnrolled means the credential file does not exist yet.
var ErrNotEnrolled = errors.New("agent is not enrolled: run kpilot-agent enroll --server URL --token TOKEN")

// Load reads the credential file. It refuses a file that others can read,
// because anyone who reads it can send data as this agent.
func Load(path string) (Credential, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return Credential{}, fmt.Errorf("%w (no credential at %s)", ErrNotEnrolled, path)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("reading credential: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 && !isWindows() {
		return Credential{}, fmt.Errorf("credential %s has mode %v; it must be readable by the agent only (chmod 600)", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Credential{}, fmt.Errorf("reading credential: %w", err)
	}
	var c Credential
	if err := json.Unmarshal(data, &c); err != nil || c.Token == "" {
		return Credential{}, fmt.Errorf("credential %s is damaged; enroll the agent again", path)
	}
	return c, nil
}
