package node

import (
	"errors"
	"net"
	"time"
)

// Serving a plain connection from inside one wait on Go's poller.
//
// Go's poller resets a descriptor's readiness each time a wait on it
// begins (RawConn.Read), so a goroutine that served a request and then
// waits must first read once more, to find nothing, or a request that came
// in between would go unnoticed: two reads a request where memcached, on a
// level-triggered epoll, makes one. servePolled runs the requests inside
// the poller's callback instead: a read that came back short left the
// socket empty, so once the replies are written the callback asks to wait
// straight away, with no readiness reset since that read. Only requests
// whose bytes are all buffered run there (framed.go): one that needs more
// bytes, or a command that keeps the connection (watch), is handed back to
// serve, which runs it as before. TLS connections are served so too, their
// records read through crypto/tls from inside the callback; for them a read
// that finds nothing comes before each wait (a short read does not show
// that the socket is empty), but in the same wait, so nothing is lost.

// errUnframed is servePolled's answer when the buffer holds the start of a
// request it cannot run without reading more: serve runs it.
var errUnframed = errors.New("request not all buffered")

// errWoken is the callback's note that the sweeper or Shutdown ended its
// wait as readiness ended it too: the connection parks or closes.
var errWoken = errors.New("woken while waiting")

// plain says whether c's socket is read directly, not through TLS.
func (c *conn) plain() bool { return c.nc == net.Conn(c.sock) }

// servePolled serves c's framed requests and waits for more, in one wait on
// Go's poller, until c must park, ends, or has a request serve must run
// (errUnframed).
func (c *conn) servePolled() error {
	c.polled = nil
	c.sock.inPoll = true
	err := c.sock.raw.Read(c.polledFn)
	c.sock.inPoll = false
	if c.waiting { // the wait ended without the callback: a deadline, or closed
		c.stopWaiting()
		return c.endWait(err)
	}
	if errors.Is(c.polled, errWoken) {
		return c.endWait(nil)
	}
	if err != nil {
		return err
	}
	return c.polled
}

// polledStep is the poller's callback: true ends servePolled (c.polled
// says why), false waits for the socket to become readable.
func (c *conn) polledStep(fd uintptr) bool {
	if c.waiting {
		c.stopWaiting()
		if !c.state.CompareAndSwap(connWaiting, connBusy) {
			c.polled = errWoken
			return true
		}
		c.idle.Store(false)
		c.busy = true // readable within a sweep of its last request
		c.takeLease()
	}
	for {
		if len(c.r.space()) == 0 {
			c.polled = errUnframed // a request longer than the buffer
			return true
		}
		n, drained, err := c.readPolled(fd)
		if n > 0 {
			c.lastCmd.Store(time.Now().UnixNano())
		} else if !errors.Is(err, errWouldBlock) {
			c.polled = err
			return true
		}
		if err := c.runFramed(); err != nil {
			c.polled = err
			return true
		}
		switch {
		case !drained:
			continue // there may be more
		case c.r.Buffered() > 0:
			c.polled = errUnframed // the start of a request, and no more for now
			return true
		}
		return c.waitPolled()
	}
}

// readPolled reads once, without waiting, into c's buffer, and says
// whether the socket is known to be empty now. A plain read that came back
// short emptied it; under TLS, a record is decrypted at a time, so only a
// read that found nothing says so.
func (c *conn) readPolled(fd uintptr) (n int, drained bool, err error) {
	if !c.plain() {
		n, err = c.r.fill() // crypto/tls reads the sock, which reads at once (inPoll)
		return n, n == 0 && errors.Is(err, errWouldBlock), err
	}
	space := c.r.space()
	n, err = c.sock.readInto(fd, space)
	c.r.added(n)
	return n, n < len(space), err
}

// runFramed runs every request wholly buffered, choosing c's protocol
// first if its first byte has just come.
func (c *conn) runFramed() error {
	if !c.started && c.r.Buffered() > 0 {
		b, _ := c.r.Peek(1)
		c.choose(b[0])
	}
	for c.r.Buffered() > 0 && c.framed() {
		if err := c.request(); err != nil {
			return c.stopServing(err)
		}
		c.fromPoll, c.served = false, true
	}
	return nil
}

// waitPolled sends the replies owed and, the socket being empty, asks the
// callback's caller to wait, c holding no buffer meanwhile; it ends
// servePolled instead when c parks (woken by the epoll set for nothing, or
// past maxWaiting) or the server is draining. It reports what polledStep
// returns.
func (c *conn) waitPolled() bool {
	if err := c.w.Flush(); err != nil {
		c.polled = err
		return true
	}
	if c.fromPoll || !c.s.poll.enterWait(c.mustWait || c.busy) {
		c.polled = errPark
		return true
	}
	c.returnLease()
	if !c.beginWait() {
		c.s.poll.leaveWait()
		c.polled = errClose
		return true
	}
	c.waiting = true
	return false
}

// stopWaiting ends the count of c's wait begun in waitPolled.
func (c *conn) stopWaiting() {
	c.waiting, c.mustWait = false, false
	c.s.poll.leaveWait()
}
