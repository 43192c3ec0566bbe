package bench

import (
	"bufio"
	"context"
	"fmt"
	"github.com/shoal-cache/shoal/internal/connect"
	"io"
	"net"
	"time"
)

// bufSize is the size of a connection's read and write buffers. A value that
// fits the read buffer is checked in place, without a copy.
const bufSize = 64 << 10

// A connection that failed is dialed again redialMin later, the wait
// doubling with each failure in a row up to redialMax: a dead server costs
// each worker a few dials a second, and a restarted one gets load again
// within redialMax, so the error window a run reports is the server's.
const (
	redialMin = 10 * time.Millisecond
	redialMax = 250 * time.Millisecond
)

// conn is one TCP connection, owned by one worker. While it is down (nc is
// nil) what is written for it is discarded, and its requests fail.
type conn struct {
	addr string
	opts connect.Options
	nc   net.Conn
	r    *bufio.Reader
	w    *bufio.Writer

	backoff time.Duration // the wait after the next failure; 0 once a batch got through
	retryAt time.Time     // when a down connection may be dialed again
	fails   failures
}

func dial(ctx context.Context, opts connect.Options, addr string, timeout time.Duration) (*conn, error) {
	nc, err := open(ctx, opts, addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &conn{addr: addr, opts: opts, nc: nc, r: bufio.NewReaderSize(nc, bufSize), w: bufio.NewWriterSize(nc, bufSize)}, nil
}

// open makes one connection, TLS and authentication included, within
// timeout.
func open(ctx context.Context, opts connect.Options, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return connect.Dial(ctx, opts, "tcp", addr)
}

func (c *conn) up() bool { return c.nc != nil }

func (c *conn) close() {
	if c.nc != nil {
		_ = c.nc.Close()
	}
}

// fail drops a connection whose replies are lost or out of step, notes
// why, and puts off dialing it again.
func (c *conn) fail(at time.Time, err error) {
	c.close()
	c.nc = nil
	c.w.Reset(io.Discard)
	c.backoff = min(max(2*c.backoff, redialMin), redialMax)
	c.retryAt = at.Add(c.backoff)
	c.fails.conns++
	c.fails.note(at, err)
}

// redial dials a down connection again once its wait is over. A dial that
// fails is a failure; one cut short by the end of the run is not.
func (c *conn) redial(ctx context.Context, timeout time.Duration) {
	if c.up() || time.Now().Before(c.retryAt) {
		return
	}
	nc, err := open(ctx, c.opts, c.addr, timeout)
	if err != nil {
		if ctx.Err() == nil {
			c.fail(time.Now(), err)
		}
		return
	}
	c.nc = nc
	c.r.Reset(nc)
	c.w.Reset(nc)
}
