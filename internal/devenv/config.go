package devenv

import (
	"fmt"
	"os"
	"strings"
)

// RewriteConfig copies the example config at src to dst (mode 0600) with
// each old string replaced by its new one (pairs, as strings.NewReplacer).
// The demo and the end-to-end test run the shipped examples this way, so
// the examples stay true.
func RewriteConfig(src, dst string, oldnew ...string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("reading example config: %w", err)
	}
	for i := 0; i+1 < len(oldnew); i += 2 {
		if !strings.Contains(string(data), oldnew[i]) {
			return fmt.Errorf("example config %s no longer contains %q; update the caller", src, oldnew[i])
		}
	}
	out := strings.NewReplacer(oldnew...).Replace(string(data))
	return os.WriteFile(dst, []byte(out), 0o600)
}
