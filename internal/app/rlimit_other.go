//go:build !unix

package app

// descriptorLimit is a conservative guess where there is no getrlimit.
func descriptorLimit() int { return 8192 }
