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
	raw    syscall.RawConn
	fd     int
	counts *trafficShard
	noWait bool // Read returns errWouldBlock instead of waiting
	readFn func(uintptr) bool
	buf    []byte // the Read in progress without waiting
	n      int
	err    error

	inPoll bool // inside servePolled's callback: Read reads at once, on its descriptor
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
	s.readFn = s.readNow
	return s, nil
}

func (s *sock) Read(b []byte) (int, error) {
	if s.inPoll {
		// Inside servePolled's callback: a read that waited would wait on
		// the poller it is in.
		return s.readInto(uintptr(s.fd), b)
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
		n, err := rawRead(int(fd), s.buf)
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

func (s *sock) Write(b []byte) (int, error) {
	written := 0
	if s.inPoll {
		// Inside servePolled's callback, which holds the descriptor open:
		// one write(2) that does not wait, as the read was; what the
		// socket did not take is written below, waiting on Go's poller.
		written = s.writeNow(b)
		if written == len(b) {
			return written, nil
		}
	}
	n, err := s.Conn.Write(b[written:])
	s.counts.written.Add(uint64(n))
	return written + n, err
}

// writeNow writes what b's socket takes without waiting, and reports how
// much; an error is left to the write that follows, which meets it again.
func (s *sock) writeNow(b []byte) int {
	for {
		n, err := rawWrite(s.fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n < 0 {
			return 0
		}
		s.counts.written.Add(uint64(n))
		return n
	}
}
