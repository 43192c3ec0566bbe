package node

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Calls that never wait, made without telling Go's scheduler (as the
// runtime makes its own epoll_ctl): a burst of parks must not look like
// goroutines blocked in the kernel, which would each be given a new thread.
// Reads and writes of a non-blocking socket are such calls too; made raw,
// they skip the scheduler's bookkeeping around a system call (perf on
// get90 at -t 1: the syscall and poll package's share of the server's
// samples 2.7% before, 1.8% after; a thirtieth of its user time).

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

func rawRead(fd int, b []byte) (int, error) {
	return rawIO(unix.SYS_READ, fd, b)
}

func rawWrite(fd int, b []byte) (int, error) {
	return rawIO(unix.SYS_WRITE, fd, b)
}

func rawIO(call uintptr, fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	r, _, e := unix.RawSyscall(call, uintptr(fd), uintptr(p), uintptr(len(b)))
	return int(r), errnoErr(e)
}
