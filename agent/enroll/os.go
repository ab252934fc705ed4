package enroll

import "runtime"

// isWindows: NTFS ACLs, not Unix mode bits, protect the file there.
func isWindows() bool { return runtime.GOOS == "windows" }
