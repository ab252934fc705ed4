package agent

import (
	"os"
	"path/filepath"
	"runtime"
)

// defaultDataDir is where state lives when the config does not say:
// /var/lib/kpilot on Linux, %ProgramData%\kpilot on Windows,
// /Library/Application Support/kpilot on macOS.
func defaultDataDir() string {
	switch runtime.GOOS {
	case "windows":
		if pd := os.Getenv("ProgramData"); pd != "" {
			return filepath.Join(pd, "kpilot")
		}
		return `C:\ProgramData\kpilot`
	case "darwin":
		return "/Library/Application Support/kpilot"
	}
	return "/var/lib/kpilot"
}
