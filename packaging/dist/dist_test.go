package dist

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"debug/pe"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cavaliergopher/rpm"
	"github.com/stretchr/testify/require"
)

// requireTool skips the test when a program is missing, unless the test
// environment is required to be complete (make test sets
// KPILOT_REQUIRE_ENV=1), where it fails.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("KPILOT_REQUIRE_ENV") == "1" {
			t.Fatalf("%s is not installed (make deps installs it)", name)
		}
		t.Skipf("%s is not installed", name)
	}
}

func command(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

const (
	testVersion = "v1.4.0-3-gdeadbee" // git describe, 3 commits after v1.4.0
	testFull    = "1.4.0+git3.gdeadbee"
)

func build(t *testing.T, o Options) map[string]Artifact {
	t.Helper()
	o.Root = filepath.Join("..", "..")
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	arts, err := Build(context.Background(), o)
	require.NoError(t, err)
	byName := map[string]Artifact{}
	for _, a := range arts {
		byName[filepath.Base(a.Path)] = a
	}
	return byName
}

// TestRelease builds what `make dist` builds and checks each artifact, then
// installs, upgrades and removes the .deb on this machine.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles both programs for three platforms")
	}
	out := t.TempDir()
	arts := build(t, Options{Out: out, Version: testVersion, Commit: "deadbee"})
	var names []string
	for n := range arts {
		names = append(names, n)
	}
	require.ElementsMatch(t, []string{
		"kpilot-agent_" + testFull + "_amd64.deb", "kpilot-agent_" + testFull + "_arm64.deb",
		"kpilot-agent-" + testFull + "-1.x86_64.rpm", "kpilot-agent-" + testFull + "-1.aarch64.rpm",
		"kpilot-server_" + testFull + "_amd64.deb", "kpilot-server_" + testFull + "_arm64.deb",
		"kpilot-server-" + testFull + "-1.x86_64.rpm", "kpilot-server-" + testFull + "-1.aarch64.rpm",
		"kpilot-agent_" + testFull + "_windows_amd64.zip",
	}, names)

	t.Run("checksums", func(t *testing.T) {
		f, err := os.Open(filepath.Join(out, "SHA256SUMS"))
		require.NoError(t, err)
		defer f.Close()
		listed := map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			sum, name, ok := strings.Cut(sc.Text(), "  ")
			require.True(t, ok, "sha256sum format: %q", sc.Text())
			got, err := fileSHA256(filepath.Join(out, name))
			require.NoError(t, err)
			require.Equal(t, got, sum, name)
			listed[name] = true
		}
		require.Len(t, listed, len(arts), "every artifact once")
	})

	t.Run("deb", func(t *testing.T) {
		requireTool(t, "dpkg-deb")
		for _, arch := range []struct {
			deb string
			elf elf.Machine
		}{{"amd64", elf.EM_X86_64}, {"arm64", elf.EM_AARCH64}} {
			for _, p := range packages {
				deb := filepath.Join(out, p.Name+"_"+testFull+"_"+arch.deb+".deb")
				fields, err := command("dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends")
				require.NoError(t, err, fields)
				require.Equal(t, "Package: "+p.Name+"\nVersion: "+testFull+"\nArchitecture: "+arch.deb+"\nDepends: passwd\n", fields)

				files := debFiles(t, deb, "--fsys-tarfile")
				checkLayout(t, p, func(name string) (fs.FileMode, string, string, bool) {
					h, ok := files["."+name]
					if !ok {
						return 0, "", "", false
					}
					return h.FileInfo().Mode(), h.Uname, h.Gname, true
				})
				bin := files["./usr/bin/"+p.Name]
				require.NotNil(t, bin)
				requireELF(t, bin.data, arch.elf)

				control := debFiles(t, deb, "--ctrl-tarfile")
				require.ElementsMatch(t, []string{p.Config, "/etc/default/" + p.Name},
					strings.Fields(string(control["./conffiles"].data)), "conffiles: kept on upgrade")
				for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
					require.Contains(t, control, "./"+s, "maintainer script %s", s)
					require.NotContains(t, string(control["./"+s].data), "{{", "rendered")
				}
				require.Contains(t, string(control["./postinst"].data), "systemctl try-restart "+p.Name+".service")
			}
		}
	})

	t.Run("rpm", func(t *testing.T) {
		for _, arch := range []struct {
			rpm string
			elf elf.Machine
		}{{"x86_64", elf.EM_X86_64}, {"aarch64", elf.EM_AARCH64}} {
			for _, p := range packages {
				pkg, err := rpm.Open(filepath.Join(out, p.Name+"-"+testFull+"-1."+arch.rpm+".rpm"))
				require.NoError(t, err)
				require.Equal(t, p.Name, pkg.Name())
				require.Equal(t, arch.rpm, pkg.Architecture())
				require.Equal(t, "Apache-2.0", pkg.License())
				files := map[string]rpm.FileInfo{}
				for _, f := range pkg.Files() {
					files[f.Name()] = f
				}
				checkLayout(t, p, func(name string) (fs.FileMode, string, string, bool) {
					f, ok := files[name]
					return f.Mode(), f.Owner(), f.Group(), ok
				})
				const config, noreplace = 1 << 0, 1 << 4
				for _, c := range []string{p.Config, "/etc/default/" + p.Name} {
					f := files[c]
					require.Equal(t, int64(config|noreplace), f.Flags()&(config|noreplace), "%s is %%config(noreplace)", c)
				}
				require.Contains(t, pkg.PreInstallScript(), "useradd --system")
				require.Contains(t, pkg.PostInstallScript(), "2) upgrade=1")
				require.Contains(t, pkg.PreUninstallScript(), "systemctl disable --now "+p.Name+".service")
				require.NotEmpty(t, pkg.PostUninstallScript())
			}
		}
	})

	t.Run("windows zip", func(t *testing.T) {
		zr, err := zip.OpenReader(filepath.Join(out, "kpilot-agent_"+testFull+"_windows_amd64.zip"))
		require.NoError(t, err)
		defer zr.Close()
		var entries []string
		for _, f := range zr.File {
			entries = append(entries, f.Name)
		}
		require.Equal(t, []string{"kpilot-agent.exe", "agent.yaml", "agent.example.yaml", "README.txt", "install.ps1", "LICENSE.txt"}, entries)
		exe := readZip(t, zr, "kpilot-agent.exe")
		f, err := pe.NewFile(bytes.NewReader(exe))
		require.NoError(t, err)
		require.Equal(t, uint16(pe.IMAGE_FILE_MACHINE_AMD64), f.Machine)
		require.True(t, bytes.Contains(exe, []byte(testVersion)), "version stamped into the binary")
		require.Contains(t, string(readZip(t, zr, "README.txt")), "kpilot-agent.exe\" install")
	})

	t.Run("install deb", func(t *testing.T) {
		testInstallDeb(t, arts)
	})
}

// checkLayout checks the files every Linux package has, with their modes
// and owners, through stat, which reads them from the package.
func checkLayout(t *testing.T, p pkg, stat func(name string) (mode fs.FileMode, owner, group string, ok bool)) {
	t.Helper()
	for _, want := range []struct {
		name         string
		mode         fs.FileMode
		owner, group string
	}{
		{"/usr/bin/" + p.Name, 0o755, "root", "root"},
		{"/etc/kpilot", fs.ModeDir | 0o750, "root", "kpilot"},
		{p.Config, 0o640, "root", "kpilot"},
		{"/etc/default/" + p.Name, 0o644, "root", "root"},
		{p.StateDir, fs.ModeDir | 0o700, "kpilot", "kpilot"},
		{"/usr/lib/systemd/system/" + p.Name + ".service", 0o644, "root", "root"},
		{"/usr/share/doc/" + p.Name + "/copyright", 0o644, "root", "root"},
	} {
		mode, owner, group, ok := stat(want.name)
		require.True(t, ok, "%s: %s is in the package", p.Name, want.name)
		require.Equal(t, want.mode, mode&(fs.ModeDir|fs.ModePerm), "%s: mode of %s", p.Name, want.name)
		require.Equal(t, want.owner+":"+want.group, owner+":"+group, "%s: owner of %s", p.Name, want.name)
	}
}

type tarFile struct {
	*tar.Header
	data []byte
}

// debFiles reads the data (--fsys-tarfile) or control (--ctrl-tarfile)
// archive of a .deb through dpkg-deb.
func debFiles(t *testing.T, deb, which string) map[string]tarFile {
	t.Helper()
	raw, err := exec.Command("dpkg-deb", which, deb).Output()
	require.NoError(t, err)
	files := map[string]tarFile{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		files["./"+strings.TrimPrefix(path.Clean(h.Name), "./")] = tarFile{h, data}
	}
}

func requireELF(t *testing.T, data []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, machine, f.Machine)
	require.True(t, bytes.Contains(data, []byte(testVersion)), "version stamped into the binary")
	_, err = f.DynamicSymbols()
	require.Error(t, err, "statically linked: runs on any distribution")
}

func readZip(t *testing.T, zr *zip.ReadCloser, name string) []byte {
	t.Helper()
	f, err := zr.Open(name)
	require.NoError(t, err)
	defer f.Close()
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	return data
}
