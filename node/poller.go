package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// sweepEvery is how often the sweeper runs: a connection waiting for a
// request on Go's poller (a goroutine's stack) for a whole sweep is parked
// in the epoll set (nothing but its conn), and a parked one idle past
// -o idle_timeout is closed. Short enough that idle connections cost
// memcached's, long enough that one sending a request every few
// milliseconds keeps its goroutine and never pays a park and a wake.
const sweepEvery = 100 * time.Millisecond

// Go's runtime keeps the heap it freed, up to its next GC goal (twice the
// live heap), for the program to reuse: after a burst of connections has
// gone idle or away, the buffers, stacks and net.Conns they used are free
// but still resident, many times what parked connections keep (5 MB after
// 1,000 connections, measured by BenchmarkIdleConnMemory). So once
// releaseAfter connections have parked or ended since the last release,
// the sweeper gives free memory back to the system (a GC and a scavenge, a
// few milliseconds of one core: the store's memory is outside the heap)
// once the burst is over (a sweep with none) and releaseGap has passed
// since the last release, or during a long burst every releaseEvery.
const (
	releaseAfter = 128
	releaseGap   = time.Second
	releaseEvery = 10 * time.Second
)

// maxWaiting bounds the connections waiting on Go's poller between
// requests, each holding a goroutine, a net.Conn and what the runtime keeps
// for them: past it, a connection with nothing to read parks at once. A
// burst of thousands of connections then costs at its peak what a few
// hundred do, and the heap, stacks and runtime metadata do not grow to the
// burst (measured: 4-5 MB kept after the first 1,000 connections without
// the bound). It does not hold back a busy connection (one whose request
// came within a sweep of its last, conn.busy): past the bound, every
// request of one would cost a park and a wake, two epoll_ctl calls and a
// goroutine (measured at 400 busy connections: 7.5 system calls per
// request and 1.8x memcached's CPU per op, against 2.0 and about 1x).
const maxWaiting = 256

// poller is the server's own epoll set. It holds parked connections, those
// with nothing to run, without a goroutine or buffers. Its one goroutine
// waits on the set and also sweeps: an event on a connection either adds
// to the partial line it holds (parked.more) or hands it, out of the set,
// to exactly one new goroutine, which serves it until it parks again. Go's
// poller (which every connection stays on too) then serves the reads and
// writes that must wait.
type poller struct {
	s    *Server
	fd   int // the epoll instance
	wake int // an eventfd, to end the wait at Shutdown
	gen  atomic.Uint64

	waiting atomic.Int32  // connections waiting on Go's poller
	parks   atomic.Uint64 // connections parked, ever

	freed       atomic.Int64 // connections parked or ended since the last release
	lastRelease time.Time    // the loop's
	lastFreed   int64        // freed at the last sweep

	mu     sync.Mutex
	parked map[int]parked // by descriptor
	later  []int          // parked ones readable but not resumed for want of descriptors
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
	p := &poller{s: s, fd: fd, wake: wake, parked: make(map[int]parked), done: make(chan struct{})}
	go p.loop()
	return p, nil
}

// What park did with a connection.
type parkResult int

const (
	parkedOK   parkResult = iota // c belongs to the set: the caller must not touch it
	parkLater                    // no descriptor to park it with for now: it waits as it is
	parkFailed                   // the server is draining, or parking failed: c must end
)

// park puts c in the set, to be run again when it is readable.
func (p *poller) park(c *conn) parkResult {
	if _, isTLS := c.nc.(*tls.Conn); isTLS {
		if !p.add(c.sock.fd, parked{c: c}, !c.inEpoll) {
			return parkFailed
		}
		p.freed.Add(1)
		p.parks.Add(1)
		return parkedOK
	}
	pc, fd, err := c.detach()
	if outOfDescriptors(err) {
		// Parking takes a descriptor for a moment (detach); a node out
		// of them keeps its connections rather than close them.
		return parkLater
	}
	if err != nil {
		p.s.log.Warn("parking a connection", zap.Error(err))
		return parkFailed
	}
	if !p.add(fd, pc, true) {
		pc.close(p.s, fd)
	}
	p.freed.Add(1)
	p.parks.Add(1)
	return parkedOK
}

// add registers fd for the connection pc parks. A plain one is registered
// level-triggered: it stays in the set while the loop reads the part of a
// line it sends (parked.more), which then costs no epoll_ctl, and the loop
// drops it from the set before it hands it to a goroutine. A TLS one keeps
// its descriptor across parks, and is registered one-shot.
func (p *poller) add(fd int, pc parked, isNew bool) bool {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if pc.c != nil {
		ev.Events |= unix.EPOLLONESHOT
	}
	op := unix.EPOLL_CTL_MOD
	if isNew {
		op = unix.EPOLL_CTL_ADD
	}
	if pc.c != nil {
		pc.c.inEpoll = true
		pc.c.idle.Store(true)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.parked[fd] = pc
	// Registered under the lock, so that the set is not closed meanwhile;
	// an event may come at once, but the loop takes pc only after Unlock.
	err := rawEpollCtl(p.fd, op, fd, &ev)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOENT) {
		// A descriptor reused, or one whose registration a close dropped.
		op = unix.EPOLL_CTL_ADD + unix.EPOLL_CTL_MOD - op
		err = rawEpollCtl(p.fd, op, fd, &ev)
	}
	if err != nil {
		delete(p.parked, fd)
		p.s.log.Warn("parking a connection: " + err.Error())
		return false
	}
	return true
}

// keep puts back a plain connection the loop took and that stays parked,
// still registered (parked.more). It reports false if the set is closed.
func (p *poller) keep(fd int, pc parked) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.parked[fd] = pc
	return true
}

// enterWait reports whether a connection may wait on Go's poller
// (maxWaiting), or must (it could not be parked, or is busy); if it may, it
// must call leaveWait once done. One that must counts toward the bound too,
// so that idle ones stop at it.
func (p *poller) enterWait(must bool) bool {
	if p.waiting.Add(1) > maxWaiting && !must {
		p.waiting.Add(-1)
		return false
	}
	return true
}

func (p *poller) leaveWait() { p.waiting.Add(-1) }

// take removes and returns the connection parked on fd, if any.
func (p *poller) take(fd int) (parked, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc, ok := p.parked[fd]
	if ok {
		delete(p.parked, fd)
	}
	return pc, ok
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
			if pc, ok := p.take(int(ev.Fd)); ok {
				p.run(pc, int(ev.Fd))
			}
		}
		if now := time.Now(); !now.Before(next) {
			p.sweep(now)
			next = now.Add(sweepEvery)
		}
	}
}

// run serves a parked connection that is readable: what it sent is read
// here if it is part of a line, else it is resumed by a goroutine of its
// own.
func (p *poller) run(pc parked, fd int) {
	if pc.c == nil {
		if pc.more(p, fd) {
			return
		}
		// Dropped from the set before the descriptor is made a
		// connection: the new one shares its file, which would keep the
		// registration.
		_ = rawEpollCtl(p.fd, unix.EPOLL_CTL_DEL, fd, &unix.EpollEvent{})
	}
	go pc.resume(p, fd)
}

// resumeLater puts back a readable parked connection that could not be
// resumed for want of descriptors (what it sent may be in pc.held, read
// already); each sweep resumes it again, so that it is tried ten times a
// second, not in a loop, until descriptors are free. memcached's
// connections hold theirs throughout, so none is lost there either.
func (p *poller) resumeLater(fd int, pc parked) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		pc.close(p.s, fd)
		return
	}
	p.parked[fd] = pc
	p.later = append(p.later, fd)
}

// retryLater resumes again the connections resumeLater put back.
func (p *poller) retryLater() {
	p.mu.Lock()
	later := p.later
	p.later = nil
	p.mu.Unlock()
	for _, fd := range later {
		if pc, ok := p.take(fd); ok {
			go pc.resume(p, fd)
		}
	}
}

// sweep parks the connections that have waited on Go's poller since before
// the last sweep, and closes parked ones idle past -o idle_timeout.
func (p *poller) sweep(now time.Time) {
	gen := p.gen.Add(1)
	s := p.s
	p.retryLater()
	s.mu.Lock()
	for c := range s.conns {
		if c.state.Load() == connWaiting && c.waitGen.Load()+1 < gen {
			c.wake()
		}
	}
	s.mu.Unlock()
	p.release(now)
	if t := s.cfg.IdleTimeout; t > 0 {
		idle := map[int]parked{}
		p.mu.Lock()
		for fd, pc := range p.parked {
			if now.Sub(time.Unix(0, pc.lastActive())) > t {
				delete(p.parked, fd)
				idle[fd] = pc
			}
		}
		p.mu.Unlock()
		for fd, pc := range idle {
			pc.close(s, fd) // memcached closes an idle connection without a word
		}
	}
}

// release gives free memory back after a burst of connections has parked
// or ended (releaseAfter).
func (p *poller) release(now time.Time) {
	freed := p.freed.Load()
	quiet := freed == p.lastFreed
	p.lastFreed = freed
	since := now.Sub(p.lastRelease)
	if freed < releaseAfter || since < releaseGap || !quiet && since < releaseEvery {
		return
	}
	p.freed.Add(-freed)
	p.lastFreed = 0
	p.lastRelease = now
	go debug.FreeOSMemory()
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
	list := p.parked
	p.parked = map[int]parked{}
	unix.Close(p.fd)
	unix.Close(p.wake)
	p.mu.Unlock()
	for fd, pc := range list {
		pc.close(p.s, fd)
	}
}
