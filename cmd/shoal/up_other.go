//go:build !linux

package main

import "syscall"

// childProcAttr puts `shoal up`'s children in their own process group, so
// that Ctrl-C reaches only `shoal up`, which stops them in order.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
