package node

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/protocol"
)

const (
	readBufSize  = 16 << 10
	writeBufSize = 16 << 10
	// maxGetLine bounds a multi-get line: memcached grows its buffer for
	// them without limit; 1 MB is thousands of keys.
	maxGetLine = 1 << 20
)

// errClose ends a connection without an error worth logging (quit, or a
// line too long, which memcached answers by closing).
var errClose = errors.New("connection closed by server")

// errPark unwinds a connection's handlers to where it is served from: it
// has nothing more to run, holds no reply, and goes back to the server's
// epoll set (poller.go) without a goroutine or buffers.
var errPark = errors.New("connection parked")

// Where a connection is, for the sweeper (poller.go) and Shutdown.
const (
	connBusy    int32 = iota // running requests, or in a read that must wait
	connWaiting              // between requests, on Go's poller, no buffers
	connWoken                // told to stop waiting: park, or close if draining
)

// conn is one client connection. It is served by a goroutine only while it
// has something to do: one runs its requests, reading them into a leased
// buffer (lease.go) and writing replies into a leased buffer flushed
// whenever it has nothing more to read, so pipelined requests get batched
// replies. Requests wholly read are run from inside a wait on Go's poller,
// which it then re-enters without a read that finds nothing (polled.go).
// Between requests it waits there holding no buffer, and once it has waited
// a sweep (poller.go) it is parked in the server's epoll set with neither
// goroutine nor buffer, until it is readable again.
type conn struct {
	s       *Server
	nc      net.Conn // what the protocols read and write: sock, or TLS over it
	sock    *sock
	id      uint64
	r       *inbuf // &in
	in      inbuf
	w       *bufio.Writer // nil between requests
	lease   *lease
	idle    atomic.Bool  // waiting for a request, or parked
	lastCmd atomic.Int64 // unix nanoseconds

	state    atomic.Int32
	waitGen  atomic.Uint64 // the sweep during which it began to wait
	wakeMu   sync.Mutex    // held while the sweeper sets a deadline to wake it
	started  bool          // its protocol chosen, from the first byte
	binary   bool
	fromPoll bool // dispatched by the epoll set, no request read since
	mustWait bool // could not be parked: waits on Go's poller past maxWaiting
	served   bool // it has run a request
	busy     bool // its last request came within a sweep of the one before: it waits past maxWaiting
	inEpoll  bool // its descriptor is registered in the epoll set

	waiting  bool  // servePolled's callback asked to wait (polled.go)
	lineEnd  int   // the next line's length with its newline, if framed found it
	polled   error // why servePolled's callback ended it
	polledFn func(uintptr) bool

	counts  *trafficShard // its share of the server's per-request counters
	tokens  [][]byte      // the lease's token array
	scratch []byte        // reused for values and reply lines
	long    []byte        // a multi-get line longer than the read buffer
	noreply bool          // the current command asked for no reply
	keyCopy []byte        // a key kept for an observer past its data block (observe.go)

	authenticated bool // ASCII authentication succeeded (auth.go)
}

func newConn(s *Server, nc net.Conn, useTLS bool) (*conn, error) {
	id := s.nextConn.Add(1)
	counts := s.stats.traffic.of(id)
	sk, err := newSock(nc, counts)
	if err != nil {
		return nil, err
	}
	c := &conn{s: s, nc: sk, sock: sk, id: id, counts: counts}
	c.polledFn = c.polledStep // made once: a method value per wait would allocate
	if useTLS {
		c.nc = tls.Server(sk, s.tls.front)
	}
	c.r = &c.in
	c.r.src = c.nc
	c.lastCmd.Store(time.Now().UnixNano())
	return c, nil
}

// run serves c from the calling goroutine until it parks or ends.
func (c *conn) run() {
	if c.fromPoll {
		c.lastCmd.Store(time.Now().UnixNano()) // it has sent something
	}
	for {
		err := c.serve()
		c.returnLease()
		if !errors.Is(err, errPark) {
			c.end(err)
			return
		}
		c.scratch, c.long = nil, nil
		switch c.s.poll.park(c) {
		case parkedOK:
			return
		case parkFailed:
			c.end(errClose)
			return
		}
		// Not parked for want of a descriptor: it waits on Go's poller
		// instead, and the sweep after tries again.
		c.fromPoll, c.mustWait = false, true
	}
}

// end closes c for good and forgets it.
func (c *conn) end(err error) {
	_ = c.nc.Close()
	if err != nil && !errors.Is(err, errClose) && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.s.log.Debug("connection ended", zap.Stringer("remote", c.nc.RemoteAddr()), zap.Error(err))
	}
	c.s.forget(c)
}

// serve runs c's requests, one protocol's, until it has none to read and
// must wait, or ends. Replies are buffered and sent when c has nothing more
// to read (or when a protocol sends them sooner), so pipelined requests get
// batched replies.
func (c *conn) serve() error {
	if err := c.handshake(); err != nil {
		return err
	}
	c.takeLease()
	for {
		if err := c.servePolled(); !errors.Is(err, errUnframed) {
			return err
		}
		if err := c.request(); err != nil {
			return c.stopServing(err)
		}
		c.fromPoll, c.served = false, true
	}
}

// request runs the next request of c's protocol.
func (c *conn) request() error {
	if c.binary {
		return c.binaryRequest()
	}
	return c.textCommand()
}

// stopServing sends the replies buffered before a request's error, unless
// it parks c (which then holds none) or drops it unanswered (errDrop).
func (c *conn) stopServing(err error) error {
	switch {
	case errors.Is(err, errDrop):
		return errClose
	case !errors.Is(err, errPark):
		_ = c.w.Flush()
	}
	return err
}

// handshake runs the TLS handshake, if c has one still to run.
func (c *conn) handshake() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok || tc.ConnectionState().HandshakeComplete {
		return nil
	}
	// Idle until the handshake is done: Shutdown need not wait for a
	// client that never finishes it.
	c.idle.Store(true)
	defer c.idle.Store(false)
	return c.s.tls.handshake(tc)
}

// choose picks c's protocol from the first byte it sent, under -B auto;
// -B binary reads binary headers whatever comes (memcached closes on the
// first with a wrong magic), -B ascii reads text lines whatever comes.
func (c *conn) choose(first byte) {
	c.started = true
	switch c.s.protocol() {
	case "binary":
		c.binary = true
	case "auto":
		c.binary = first == protocol.BinaryRequestMagic
	}
}

// readNow reads what the socket has without waiting for more: errWouldBlock
// if it has nothing.
func (c *conn) readNow() error {
	c.sock.noWait = true
	n, err := c.r.fill()
	c.sock.noWait = false
	if n > 0 {
		return nil // an error with the bytes comes again at the next read
	}
	return err
}

// beginWait marks c waiting on Go's poller, where the sweeper may wake it
// (wake). It reports false, and does not, when the server is draining.
func (c *conn) beginWait() bool {
	c.waitGen.Store(c.s.poll.gen.Load())
	c.state.Store(connWaiting)
	c.idle.Store(true)
	if c.s.draining.Load() {
		c.state.Store(connBusy)
		c.idle.Store(false)
		return false
	}
	return true
}

// endWait ends a wait begun by beginWait, given how the wait ended: as it
// did, or errPark or errClose when the sweeper or Shutdown ended it.
func (c *conn) endWait(err error) error {
	c.idle.Store(false)
	if c.state.CompareAndSwap(connWaiting, connBusy) {
		return err
	}
	// Woken: once the waker is done with the deadline, clear it.
	c.wakeMu.Lock()
	_ = c.sock.SetReadDeadline(time.Time{})
	c.wakeMu.Unlock()
	c.state.Store(connBusy)
	if c.s.draining.Load() {
		return errClose
	}
	return errPark
}

// wake ends a wait on Go's poller, if c is in one.
func (c *conn) wake() {
	c.wakeMu.Lock()
	if c.state.CompareAndSwap(connWaiting, connWoken) {
		_ = c.sock.SetReadDeadline(time.Now())
	}
	c.wakeMu.Unlock()
}
