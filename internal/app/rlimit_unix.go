//go:build unix

package app

import "syscall"

// descriptorLimit is the process's open-file limit (Go raises the soft limit to the hard
// one at start).
func descriptorLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<24 {
		return 1 << 16
	}
	return int(r.Cur)
}
