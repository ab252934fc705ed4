package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/kpilot/kpilot/"

// pkgInfo is what the room rules read of one package: its direct imports
// and its non-test Go files.
type pkgInfo struct {
	dir     string
	imports []string
	files   []string
}

// listPackages runs go list over the module (production code only: the
// tests' imports are not in .Imports).
func listPackages(t *testing.T) map[string]pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .Imports \" \"}}\t{{join .GoFiles \" \"}}", "./...")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	require.NoError(t, err)
	pkgs := map[string]pkgInfo{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		require.Len(t, f, 4, "go list line %q", sc.Text())
		pkgs[strings.TrimPrefix(f[0], module)] = pkgInfo{dir: f[1], imports: strings.Fields(f[2]), files: strings.Fields(f[3])}
	}
	require.NoError(t, sc.Err())
	require.Contains(t, pkgs, "server/api", "go list found the module's packages")
	return pkgs
}

// TestServerRooms keeps each step of the server's data flow in its own
// package (issue 27): the HTTP layer maps requests to domain packages and
// does not parse line protocol, build reports or load visibility itself.
func TestServerRooms(t *testing.T) {
	pkgs := listPackages(t)
	importers := func(path string) []string {
		var out []string
		for p, info := range pkgs {
			if slices.Contains(info.imports, path) {
				out = append(out, p)
			}
		}
		slices.Sort(out)
		return out
	}

	t.Run("one line-protocol codec", func(t *testing.T) {
		// The library decodes what the re-encoder's fast path does not take;
		// everything else, the agent included, reads and writes through the
		// codec, which is held to the library by its fuzz suite.
		for _, p := range importers("github.com/influxdata/line-protocol/v2/lineprotocol") {
			require.Contains(t, []string{"internal/lineproto", "server/ingest"}, p, "%s uses the line-protocol library directly", p)
		}
		users := importers(module + "internal/lineproto")
		for _, want := range []string{"internal/wire", "server/ingest"} {
			require.Contains(t, users, want, "the agent's encoder and the server's re-encoder write with internal/lineproto")
		}
	})

	t.Run("no fake requests in production code", func(t *testing.T) {
		for _, p := range importers("net/http/httptest") {
			require.True(t, strings.HasPrefix(p, "bench/"), "%s imports net/http/httptest outside a test", p)
		}
	})

	t.Run("domain packages speak no HTTP", func(t *testing.T) {
		for _, p := range []string{"server/account", "server/sharing", "server/findings", "server/visibility",
			"server/ingest", "server/report", "server/schedule", "server/exposition", "server/audit",
			"server/problem", "server/input", "server/checkup", "server/store", "server/lease", "server/ratelimit",
			"server/assetlabels", "server/seriesmigrate", "server/seal", "server/kpis",
			"server/assets", "server/maintenance", "server/notification"} {
			info, ok := pkgs[p]
			require.True(t, ok, "package %s exists", p)
			require.NotContains(t, info.imports, "net/http", "%s is a domain package: errors are problem.Errors, HTTP is server/api's", p)
		}
	})

	t.Run("server/api is HTTP only", func(t *testing.T) {
		api := pkgs["server/api"]
		for _, forbidden := range []string{"internal/lineproto", "server/store/sqlstore"} {
			require.NotContains(t, api.imports, module+forbidden)
		}
		lines := 0
		for _, f := range api.files {
			b, err := os.ReadFile(filepath.Join(api.dir, f))
			require.NoError(t, err)
			lines += bytes.Count(b, []byte{'\n'})
		}
		require.Less(t, lines, 3000, "server/api has %d lines of non-test Go: rules belong in domain packages", lines)
	})

	t.Run("visibility is loaded in one place", func(t *testing.T) {
		// Loading a partner's channel set-up and resolving a visible set
		// happen in server/visibility only; everyone else asks its Loader.
		for p, info := range pkgs {
			if p == "server/visibility" || strings.HasPrefix(p, "server/store") {
				continue
			}
			for _, f := range info.files {
				b, err := os.ReadFile(filepath.Join(info.dir, f))
				require.NoError(t, err)
				for _, call := range []string{".ChannelCustomers(", "visibility.Resolve("} {
					require.False(t, bytes.Contains(b, []byte(call)), "%s/%s calls %s: ask visibility.Loader instead", p, f, call)
				}
			}
		}
	})
}
