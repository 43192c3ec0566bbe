package node

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// sweepEvery is how often the sweeper runs: a connection waiting for a
// request on Go's poller (a goroutine's stack) for a whole sweep is parked
// in the epoll set (nothing but its conn), and a parked one idle past
// -o idle_timeout is closed. Short enough that idle connections cost
// memcached's, long enough that one sending a request every few
// milliseconds keeps its goroutine and never pays a park and a wake.
const sweepEvery = 100 * time.Millisecond

// poller is the server's own epoll set. It holds parked connections, those
// with nothing to run, without a goroutine or buffers, each registered
// one-shot, so an event hands the connection to exactly one new goroutine,
// which serves it until it parks again. Go's poller (which every
// connection stays on too) then serves the reads and writes that must
// wait. One goroutine waits on the set and also sweeps.
type poller struct {
	s    *Server
	fd   int // the epoll instance
	wake int // an eventfd, to end the wait at Shutdown
	gen  atomic.Uint64

	mu     sync.Mutex
	parked map[int]*conn // by descriptor
	closed bool
	done   chan struct{}
}

func newPoller(s *Server) (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating the epoll set: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("creating the epoll set's eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(fd)
		unix.Close(wake)
		return nil, fmt.Errorf("adding to the epoll set: %w", err)
	}
	p := &poller{s: s, fd: fd, wake: wake, parked: make(map[int]*conn), done: make(chan struct{})}
	go p.loop()
	return p, nil
}

// park puts c in the set, to be run again when it is readable. It reports
// false when c cannot be parked (the server is draining): c must end. Once
// it returns true, c belongs to the set: the caller must not touch it.
func (p *poller) park(c *conn) bool {
	fd := c.sock.fd
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
	op := unix.EPOLL_CTL_MOD
	if !c.inEpoll {
		op = unix.EPOLL_CTL_ADD
	}
	c.inEpoll = true
	c.idle.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.idle.Store(false)
		return false
	}
	p.parked[fd] = c
	// Registered under the lock, so that the set is not closed meanwhile;
	// an event may come at once, but the loop takes c only after Unlock.
	err := unix.EpollCtl(p.fd, op, fd, &ev)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOENT) {
		// A descriptor reused, or one whose registration a close dropped.
		op = unix.EPOLL_CTL_ADD + unix.EPOLL_CTL_MOD - op
		err = unix.EpollCtl(p.fd, op, fd, &ev)
	}
	if err != nil {
		delete(p.parked, fd)
		c.idle.Store(false)
		p.s.log.Warn("parking a connection: " + err.Error())
		return false
	}
	return true
}

// take removes and returns the connection parked on fd, if any.
func (p *poller) take(fd int) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.parked[fd]
	if c != nil {
		delete(p.parked, fd)
	}
	return c
}

func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	next := time.Now().Add(sweepEvery)
	for {
		n, err := unix.EpollWait(p.fd, events, int(sweepEvery/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			p.s.log.Error("waiting on the epoll set: " + err.Error())
			time.Sleep(sweepEvery)
		}
		for _, ev := range events[:max(n, 0)] {
			if int(ev.Fd) == p.wake {
				p.closeAll()
				return
			}
			if c := p.take(int(ev.Fd)); c != nil {
				c.idle.Store(false)
				c.fromPoll = true
				go c.run()
			}
		}
		if now := time.Now(); !now.Before(next) {
			p.sweep(now)
			next = now.Add(sweepEvery)
		}
	}
}

// sweep parks the connections that have waited on Go's poller since before
// the last sweep, and closes parked ones idle past -o idle_timeout.
func (p *poller) sweep(now time.Time) {
	gen := p.gen.Add(1)
	s := p.s
	s.mu.Lock()
	for c := range s.conns {
		if c.state.Load() == connWaiting && c.waitGen.Load()+1 < gen {
			c.wake()
		}
	}
	s.mu.Unlock()
	if t := s.cfg.IdleTimeout; t > 0 {
		var idle []*conn
		p.mu.Lock()
		for fd, c := range p.parked {
			if now.Sub(time.Unix(0, c.lastCmd.Load())) > t {
				delete(p.parked, fd)
				idle = append(idle, c)
			}
		}
		p.mu.Unlock()
		for _, c := range idle {
			c.end(errClose) // memcached closes an idle connection without a word
		}
	}
}

// stop closes every parked connection, parks no more, and returns once the
// set's goroutine has.
func (p *poller) stop() {
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(p.wake, one[:])
	<-p.done
}

func (p *poller) closeAll() {
	p.mu.Lock()
	p.closed = true
	list := make([]*conn, 0, len(p.parked))
	for _, c := range p.parked {
		list = append(list, c)
	}
	clear(p.parked)
	unix.Close(p.fd)
	unix.Close(p.wake)
	p.mu.Unlock()
	for _, c := range list {
		c.end(errClose)
	}
}
