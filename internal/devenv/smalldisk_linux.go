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
		if Required() {
			t.Fatalf("mounting a %d-byte tmpfs on %s (run the tests as root): %v", size, dir, err)
		}
		t.Skipf("SKIPPED, not run: mounting a tmpfs needs root: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}
