package agent

import (
	"os"
	"path/filepath"
	"runtime"
)

// defaultDataDir is where state lives when the config does not say:
// /var/lib/kpilot on Unix, %ProgramData%\kpilot on Windows.
func defaultDataDir() string {
	if runtime.GOOS == "windows" {
		if pd := os.Getenv("ProgramData"); pd != "" {
			return filepath.Join(pd, "kpilot")
		}
		return `C:\ProgramData\kpilot`
	}
	return "/var/lib/kpilot"
}
