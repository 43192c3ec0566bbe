package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// parked is a connection in the epoll set. A plain one (TCP or UNIX) keeps
// only this: its descriptor (the map's key) and the little that outlives a
// request, a few dozen bytes, where memcached keeps its conn struct; its
// net.Conn, sock and conn are made again when it is readable. A TLS one
// keeps its whole conn (c), since crypto/tls holds the session.
type parked struct {
	c                              *conn // a TLS connection, parked whole
	id                             uint64
	lastCmd                        int64  // unix nanoseconds
	held                           []byte // a partial request
	started, binary, authenticated bool
	served                         bool // it has run a request
}

// recent says whether pc parked after a request less than a sweep ago: a
// busy connection, which may wait on Go's poller past maxWaiting.
func (pc parked) recent() bool {
	served := pc.served
	if pc.c != nil {
		served = pc.c.served
	}
	return served && time.Since(time.Unix(0, pc.lastActive())) < sweepEvery
}

func (pc parked) lastActive() int64 {
	if pc.c != nil {
		return pc.c.lastCmd.Load()
	}
	return pc.lastCmd
}

// detach turns c into what it keeps parked, on a descriptor of its own:
// c's net.Conn is closed, so Go's poller forgets it and its memory goes.
func (c *conn) detach() (parked, int, error) {
	fd := -1
	var dupErr error
	err := c.sock.raw.Control(func(s uintptr) {
		fd, dupErr = rawDupCloexec(s)
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return parked{}, -1, fmt.Errorf("duplicating the descriptor: %w", err)
	}
	pc := parked{id: c.id, lastCmd: c.lastCmd.Load(), held: c.r.held,
		started: c.started, binary: c.binary, authenticated: c.authenticated, served: c.served}
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	_ = c.sock.Conn.Close()
	return pc, fd, nil
}

// resume serves a parked connection that is readable, from a new
// goroutine's start.
func (pc parked) resume(p *poller, fd int) {
	if pc.c != nil {
		pc.c.idle.Store(false)
		pc.c.fromPoll, pc.c.busy = true, pc.recent()
		pc.c.run()
		return
	}
	nc, err := fdConn(fd)
	if outOfDescriptors(err) {
		p.resumeLater(fd, pc)
		return
	}
	if err != nil {
		p.s.log.Warn("resuming a parked connection: " + err.Error())
		unix.Close(fd)
		p.s.forgetParked()
		return
	}
	c, err := newConn(p.s, nc, false)
	if err != nil {
		_ = nc.Close()
		p.s.forgetParked()
		return
	}
	c.id, c.started, c.binary, c.authenticated = pc.id, pc.started, pc.binary, pc.authenticated
	c.served, c.busy = pc.served, pc.recent()
	c.r.held = pc.held
	c.fromPoll = true
	p.s.mu.Lock()
	c.s.conns[c] = struct{}{}
	p.s.mu.Unlock()
	c.run()
}

// fdConn makes a net.Conn of a parked connection's descriptor, and closes
// the descriptor only once it is made: net.FileConn takes descriptors of
// its own, so a node out of them keeps the connection as it was.
func fdConn(fd int) (net.Conn, error) {
	dup, err := rawDupCloexec(uintptr(fd))
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "")
	nc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	unix.Close(fd)
	return nc, nil
}

func outOfDescriptors(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)
}

// trickleMax bounds the partial command line a parked text connection
// gathers without being resumed (more): past it, it is resumed, and the
// line's handler applies memcached's limits.
const trickleMax = 1024

// more reads what a parked plain text connection has sent, without a
// net.Conn or buffers, and if it is no more than part of a command line
// keeps it with the connection, which stays parked: a client sending a
// byte at a time then costs a read per byte (and its share of an
// epoll_wait), not a connection made and taken apart. The epoll set's
// goroutine calls it; the read does not wait. It reports whether pc stays
// parked; if not, what it read is in pc.held, for the resumed connection.
func (pc *parked) more(p *poller, fd int) bool {
	if !pc.started || pc.binary {
		return false
	}
	var buf [256]byte
	n, err := unix.Read(fd, buf[:])
	if n <= 0 || err != nil {
		return false // EOF, an error or nothing: the resumed connection sees it
	}
	p.s.stats.traffic.of(pc.id).read.Add(uint64(n))
	pc.held = append(pc.held, buf[:n]...)
	pc.lastCmd = time.Now().UnixNano()
	if bytes.IndexByte(buf[:n], '\n') >= 0 || len(pc.held) > trickleMax || n == len(buf) {
		return false
	}
	if !p.keep(fd, *pc) {
		pc.close(p.s, fd)
	}
	return true
}

// close ends a parked connection.
func (pc parked) close(s *Server, fd int) {
	if pc.c != nil {
		pc.c.end(errClose)
		return
	}
	_ = unix.Close(fd)
	s.forgetParked()
}

// connInfo is what `stats conns` shows of a parked plain connection, read
// from its descriptor.
func (pc parked) connInfo(fd int) (local, remote net.Addr, idle time.Duration) {
	return sockaddrAddr(unix.Getsockname(fd)), sockaddrAddr(unix.Getpeername(fd)),
		time.Since(time.Unix(0, pc.lastCmd))
}

func sockaddrAddr(sa unix.Sockaddr, err error) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: a.Addr[:], Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: a.Addr[:], Port: a.Port}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return &net.UnixAddr{Name: "", Net: "unix"}
}
