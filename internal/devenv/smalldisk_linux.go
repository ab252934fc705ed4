package devenv

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// SmallDisk mounts a tmpfs of size bytes on a new directory for the test
// and unmounts it at cleanup: a real file system that really fills up, so
// that "no space left on device" is tested without a fake. It needs root
// (CI and the dev machines run tests as root); elsewhere the test skips,
// or fails when the environment is required.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size))
	if err != nil {
		// Mounting is a privilege of the machine, not a dependency
		// `make deps` can install: even KPILOT_REQUIRE_ENV skips, loudly.
		t.Skipf("SKIPPED, not run: mounting a %d-byte tmpfs on %s needs root (CAP_SYS_ADMIN): %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}
