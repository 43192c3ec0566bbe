package node

import (
	"bufio"
	"sync"

	"github.com/shoal-cache/shoal/protocol"
)

// A lease is what a connection holds only while it is being served: its
// read and write buffers and its token array. Leases are pooled, so a
// node's buffers number about the connections served at once, not the
// connections open.
type lease struct {
	in     [readBufSize]byte
	out    *bufio.Writer
	tokens [protocol.MaxTokens][]byte
}

var leases = sync.Pool{New: func() any {
	return &lease{out: bufio.NewWriterSize(nil, writeBufSize)}
}}

// takeLease attaches a lease's buffers to c.
func (c *conn) takeLease() {
	if c.lease != nil {
		return
	}
	l := leases.Get().(*lease)
	c.lease = l
	c.r.attach(l.in[:])
	l.out.Reset(c.nc)
	c.w = l.out
	c.tokens = l.tokens[:]
}

// returnLease gives c's lease back; what the read buffer holds is kept.
// The write buffer must have been flushed: what it holds is dropped.
func (c *conn) returnLease() {
	l := c.lease
	if l == nil {
		return
	}
	c.r.detach()
	l.out.Reset(nil)
	clear(l.tokens[:])
	c.lease, c.w, c.tokens = nil, nil, nil
	leases.Put(l)
}
