package windows_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// install.ps1 cannot run here: Debian has no PowerShell, and wine's
// powershell.exe and icacls.exe are stubs that do nothing. What is
// checked is what the script asks of kpilot-agent.exe: every subcommand
// and flag it passes exists, as the agent's own --help lists them; and
// that the ACL it sets names SYSTEM and Administrators by SID only.
func TestInstallScriptCallsTheAgentItShips(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent")
	}
	script, err := os.ReadFile("install.ps1")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "kpilot-agent")
	buildAgent(t, "linux", bin)

	invoke := regexp.MustCompile(`Invoke-Agent (\w[\w-]*)`)
	array := regexp.MustCompile(`\$enroll \+?= @\((?:"(\w+)", )?`)
	flag := regexp.MustCompile(`--[a-z][a-z-]+`)
	calls := map[string][]string{}
	for line := range strings.Lines(string(script)) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		var sub string
		if m := invoke.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], "@") {
			sub = m[1]
		} else if array.MatchString(line) {
			sub = "enroll"
		} else {
			continue
		}
		calls[sub] = append(calls[sub], flag.FindAllString(line, -1)...)
	}
	require.ElementsMatch(t, []string{"enroll", "validate", "install", "start", "status"}, keys(calls),
		"the script enrolls, validates, installs, starts and reports")
	require.ElementsMatch(t, []string{"--config", "--token", "--server"}, calls["enroll"])
	for sub, flags := range calls {
		help, err := exec.Command(bin, sub, "--help").CombinedOutput()
		require.NoError(t, err, "kpilot-agent %s: %s", sub, help)
		for _, f := range flags {
			require.Regexp(t, `(?m)^\s+(-\w, )?`+regexp.QuoteMeta(f)+`\b`, string(help), "kpilot-agent %s has %s", sub, f)
		}
	}

	s := string(script)
	require.Contains(t, s, `SecurityIdentifier("S-1-5-18")`, "SYSTEM")
	require.Contains(t, s, `SecurityIdentifier("S-1-5-32-544")`, "Administrators")
	require.Contains(t, s, "SetAccessRuleProtection($true, $false)", "inherited entries (Users) are dropped")
	require.Contains(t, s, "#Requires -RunAsAdministrator")
	require.NotContains(t, s, "S-1-5-32-545", "Users get nothing")
}

func keys(m map[string][]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return k
}
