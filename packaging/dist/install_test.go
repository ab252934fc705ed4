package dist

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// testInstallDeb installs the amd64 packages into this machine with dpkg,
// as a customer admin would, and checks what is on disk; then upgrades the
// agent over a changed config, removes and purges both. It needs root and
// leaves the machine as it found it. It refuses to run where a kpilot
// package is already installed: that installation is someone's.
func testInstallDeb(t *testing.T, arts map[string]Artifact) {
	requireTool(t, "dpkg")
	if os.Geteuid() != 0 {
		if os.Getenv("KPILOT_REQUIRE_ENV") == "1" {
			t.Fatal("installing a .deb needs root")
		}
		t.Skip("installing a .deb needs root")
	}
	for _, p := range packages {
		if out, err := command("dpkg-query", "-W", "-f", "${Status}", p.Name); err == nil && strings.Contains(out, "installed") {
			t.Fatalf("%s is already installed on this machine (%s); not touching it", p.Name, out)
		}
	}
	_, userErr := user.Lookup("kpilot")
	_, groupErr := user.LookupGroup("kpilot")
	t.Cleanup(func() {
		for _, p := range packages {
			command("dpkg", "--purge", p.Name)
		}
		if userErr != nil {
			command("userdel", "kpilot")
		}
		if groupErr != nil {
			command("groupdel", "kpilot")
		}
	})
	deb := func(name string) string {
		a, ok := arts[name+"_"+testFull+"_amd64.deb"]
		require.True(t, ok)
		return a.Path
	}

	// Install both: they share /etc/kpilot and the kpilot user.
	for _, p := range packages {
		out, err := command("dpkg", "-i", deb(p.Name))
		require.NoError(t, err, out)
		require.Contains(t, out, p.Name+" is installed but not started", "first install says what to do next")
	}

	u, err := user.Lookup("kpilot")
	require.NoError(t, err, "the package created the kpilot user")
	uid, _ := strconv.Atoi(u.Uid)
	require.Less(t, uid, 1000, "a system user")
	require.Equal(t, "/var/lib/kpilot", u.HomeDir)
	passwd, err := command("getent", "passwd", "kpilot")
	require.NoError(t, err)
	require.Regexp(t, `:/(usr/)?sbin/nologin\n$`, passwd, "no login shell")

	for _, p := range packages {
		checkInstalled(t, p)
		conffiles, err := command("dpkg-query", "-W", "-f", "${Conffiles}", p.Name)
		require.NoError(t, err)
		require.Contains(t, conffiles, p.Config+" ")
		require.Contains(t, conffiles, "/etc/default/"+p.Name+" ")

		unit, err := os.ReadFile("/usr/lib/systemd/system/" + p.Name + ".service")
		require.NoError(t, err)
		require.Contains(t, string(unit), "User=kpilot\n")
		require.Contains(t, string(unit), "ExecStart=/usr/bin/"+p.Name+" run --config "+p.Config+" ")
		require.Contains(t, string(unit), "StateDirectory="+filepath.Base(p.StateDir)+"\n")
		if _, err := exec.LookPath("systemd-analyze"); err == nil {
			out, err := command("systemd-analyze", "verify", "/usr/lib/systemd/system/"+p.Name+".service")
			require.NoError(t, err, "systemd-analyze verify: %s", out)
		}

		// The installed program runs as the service user with the
		// installed config.
		out, err := command("runuser", "-u", "kpilot", "--", "/usr/bin/"+p.Name, "validate", "--config", p.Config)
		require.NoError(t, err, out)
		require.Contains(t, out, p.Config+": OK")
		out, err = command("/usr/bin/"+p.Name, "--version")
		require.NoError(t, err, out)
		require.Contains(t, out, p.Name+" "+testVersion+" (commit deadbee")
	}

	// Upgrade the agent over a config the admin changed: dpkg keeps it
	// without asking, and the owner and mode stay.
	agent := packages[0]
	f, err := os.OpenFile(agent.Config, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	fmt.Fprintln(f, "# changed by the admin")
	require.NoError(t, f.Close())
	newer := build(t, Options{Out: t.TempDir(), Version: "v1.5.0", Commit: "cafe", Packages: []string{agent.Name},
		Platforms: []Platform{{"linux", "amd64"}}})
	out, err := command("dpkg", "-i", newer["kpilot-agent_1.5.0_amd64.deb"].Path)
	require.NoError(t, err, out)
	require.NotContains(t, out, "installed but not started", "an upgrade is not a first install")
	conf, err := os.ReadFile(agent.Config)
	require.NoError(t, err)
	require.Contains(t, string(conf), "# changed by the admin")
	checkInstalled(t, agent)
	out, err = command("/usr/bin/kpilot-agent", "--version")
	require.NoError(t, err, out)
	require.Contains(t, out, "kpilot-agent v1.5.0 ")

	// Remove keeps the config; purge takes config and state. The shared
	// /etc/kpilot goes with the last package.
	out, err = command("dpkg", "--remove", agent.Name)
	require.NoError(t, err, out)
	requireGone(t, "/usr/bin/kpilot-agent", "/usr/lib/systemd/system/kpilot-agent.service")
	require.FileExists(t, agent.Config, "remove keeps the config")
	out, err = command("dpkg", "--purge", agent.Name)
	require.NoError(t, err, out)
	requireGone(t, agent.Config, "/etc/default/kpilot-agent", agent.StateDir)
	require.DirExists(t, "/etc/kpilot", "the server's config is still there")
	checkInstalled(t, packages[1])

	out, err = command("dpkg", "--purge", packages[1].Name)
	require.NoError(t, err, out)
	requireGone(t, "/usr/bin/kpilot-server", "/etc/kpilot", packages[1].StateDir)
	for _, p := range packages {
		out, _ := command("dpkg-query", "-W", "-f", "${Status}", p.Name)
		require.NotContains(t, out, "installed", p.Name)
	}
}

// checkInstalled checks the modes and owners on disk.
func checkInstalled(t *testing.T, p pkg) {
	t.Helper()
	u, err := user.Lookup("kpilot")
	require.NoError(t, err)
	g, err := user.LookupGroup("kpilot")
	require.NoError(t, err)
	checkLayout(t, p, func(name string) (os.FileMode, string, string, bool) {
		fi, err := os.Stat(name)
		if err != nil {
			return 0, "", "", false
		}
		st := fi.Sys().(*syscall.Stat_t)
		who := func(id uint32, kpilot string) string {
			switch s := strconv.Itoa(int(id)); s {
			case kpilot:
				return "kpilot"
			case "0":
				return "root"
			default:
				return s
			}
		}
		return fi.Mode(), who(st.Uid, u.Uid), who(st.Gid, g.Gid), true
	})
}

func requireGone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		_, err := os.Stat(p)
		require.True(t, os.IsNotExist(err), "%s is gone (%v)", p, err)
	}
}
