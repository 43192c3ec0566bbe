package node

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Calls that never wait, made without telling Go's scheduler (as the
// runtime makes its own epoll_ctl): a burst of parks must not look like
// goroutines blocked in the kernel, which would each be given a new thread.

func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errnoErr(e)
}

func rawDupCloexec(fd uintptr) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_FCNTL, fd, unix.F_DUPFD_CLOEXEC, 0)
	return int(r), errnoErr(e)
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
