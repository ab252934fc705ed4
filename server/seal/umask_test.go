//go:build unix

package seal_test

import "syscall"

func umask(m int) int { return syscall.Umask(m) }
