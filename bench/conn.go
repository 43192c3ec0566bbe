package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"
)

// bufSize is the size of a connection's read and write buffers. A value that
// fits the read buffer is checked in place, without a copy.
const bufSize = 64 << 10

// conn is one TCP connection, owned by one worker.
type conn struct {
	addr string
	nc   net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

func dial(ctx context.Context, addr string, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &conn{addr: addr, nc: nc, r: bufio.NewReaderSize(nc, bufSize), w: bufio.NewWriterSize(nc, bufSize)}, nil
}

func (c *conn) close() { _ = c.nc.Close() }
