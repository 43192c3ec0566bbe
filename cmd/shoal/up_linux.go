package main

import "syscall"

// childProcAttr puts `shoal up`'s children in their own process group, so
// that Ctrl-C reaches only `shoal up`, which stops them in order, and has
// the kernel stop them if `shoal up` dies without doing so.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
