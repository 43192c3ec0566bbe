package node

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// errWouldBlock is what a socket read that may not wait returns when there
// is nothing to read. It is a temporary net.Error, so crypto/tls keeps the
// part of a record it has read and the connection stays usable.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "read would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// sock is a client's socket as the server reads it: the accepted net.Conn
// (still on Go's poller, so reads and writes that wait park a goroutine,
// not a thread), its descriptor for the server's own epoll set, and a mode
// in which reads return errWouldBlock rather than wait. That mode is how a
// worker learns, without holding a goroutine parked, that a connection has
// nothing more to say; it works under crypto/tls too, which reads through
// the sock. It counts the bytes read and written, once per system call.
type sock struct {
	net.Conn
	raw      syscall.RawConn
	fd       int
	counts   *trafficShard
	noWait   bool // Read returns errWouldBlock instead of waiting
	readFn   func(uintptr) bool
	waitFn   func(uintptr) bool
	buf      []byte // the Read in progress without waiting
	n        int
	err      error
	waitedFd bool

	// readOrWait's: the connection's hook, called in the wait once the
	// socket had nothing (false: do not wait), and whether it waited.
	beforeWait func() bool
	readWaitFn func(uintptr) bool
	waited     bool

	inPoll bool // inside servePolled's callback: Read may not read
}

func newSock(nc net.Conn, counts *trafficShard) (*sock, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("connection %T has no descriptor", nc)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &sock{Conn: nc, raw: raw, fd: -1, counts: counts}
	if err := raw.Control(func(fd uintptr) { s.fd = int(fd) }); err != nil {
		return nil, err
	}
	// Method values made once: a closure per read would be an allocation
	// per request.
	s.readFn, s.waitFn, s.readWaitFn = s.readNow, s.waitReady, s.readElseWait
	return s, nil
}

func (s *sock) Read(b []byte) (int, error) {
	if s.inPoll {
		// Inside servePolled's callback, which runs only requests wholly
		// buffered: a read there would wait on the poller it is in.
		return 0, errWouldBlock
	}
	if !s.noWait {
		n, err := s.Conn.Read(b)
		s.counts.read.Add(uint64(n))
		return n, err
	}
	s.buf, s.n, s.err = b, 0, nil
	if err := s.raw.Read(s.readFn); err != nil {
		return 0, err
	}
	n, err := s.n, s.err
	s.buf = nil
	s.counts.read.Add(uint64(n))
	return n, err
}

// readInto is one read(2) into b that does not wait, on the descriptor
// the poller's callback was given.
func (s *sock) readInto(fd uintptr, b []byte) (int, error) {
	s.buf, s.n, s.err = b, 0, nil
	s.readNow(fd)
	n, err := s.n, s.err
	s.buf = nil
	s.counts.read.Add(uint64(n))
	return n, err
}

// readNow is one read(2) that does not wait.
func (s *sock) readNow(fd uintptr) bool {
	for {
		n, err := unix.Read(int(fd), s.buf)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			s.err = errWouldBlock
		case err != nil:
			s.err = &net.OpError{Op: "read", Net: s.LocalAddr().Network(), Addr: s.RemoteAddr(), Err: err}
		case n == 0 && len(s.buf) > 0:
			s.err = io.EOF
		default:
			s.n = n
		}
		return true
	}
}

// readOrWait reads into b what the socket has, without waiting; if it has
// nothing, it calls beforeWait and, unless that says not to, waits until
// the socket may be readable (waited is then true, and nothing was read).
// The read and the wait are one wait on Go's poller: its readiness
// notice, had it come between a read that found nothing and a wait begun
// afterwards, would be cleared by that wait's start and lost.
func (s *sock) readOrWait(b []byte) (n int, waited bool, err error) {
	s.buf, s.n, s.err, s.waited = b, 0, nil, false
	err = s.raw.Read(s.readWaitFn)
	s.buf = nil
	if s.waited {
		return 0, true, err
	}
	s.counts.read.Add(uint64(s.n))
	if err == nil {
		err = s.err
	}
	return s.n, false, err
}

func (s *sock) readElseWait(fd uintptr) bool {
	if s.waited {
		return true // readable (or woken): the caller reads again
	}
	s.readNow(fd)
	if s.err != errWouldBlock {
		return true
	}
	s.waited, s.buf = true, nil
	return !s.beforeWait()
}

// waitReadable parks the calling goroutine on Go's poller until the socket
// may have something to read (it may wake without: callers read to see),
// its read deadline passes, or it is closed. It holds no buffer meanwhile.
func (s *sock) waitReadable() error {
	s.waitedFd = false
	return s.raw.Read(s.waitFn)
}

// waitReady is called before and after waiting: the first call asks to
// wait, the second ends it.
func (s *sock) waitReady(uintptr) bool {
	done := s.waitedFd
	s.waitedFd = true
	return done
}

func (s *sock) Write(b []byte) (int, error) {
	n, err := s.Conn.Write(b)
	s.counts.written.Add(uint64(n))
	return n, err
}
