package node

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// inbuf is a connection's read buffer, with the bufio.Reader methods the
// protocol handlers use. Unlike bufio's, its storage is lent: attached from
// a lease while the connection is served and detached when it goes idle,
// when the few bytes of a partial request it holds (if any) are kept in an
// allocation of their size, as memcached lends a read buffer only while a
// request is pending.
type inbuf struct {
	buf  []byte // nil while detached
	r, w int
	src  io.Reader
	held []byte // buffered bytes kept while detached
}

// attach gives the buffer storage, restoring the bytes held.
func (b *inbuf) attach(storage []byte) {
	b.buf, b.r, b.w = storage, 0, copy(storage, b.held)
	b.held = nil
}

// detach takes the storage back, keeping what is buffered.
func (b *inbuf) detach() {
	if n := b.w - b.r; n > 0 {
		b.held = append([]byte(nil), b.buf[b.r:b.w]...)
	}
	b.buf, b.r, b.w = nil, 0, 0
}

func (b *inbuf) Buffered() int { return b.w - b.r }

func (b *inbuf) Size() int { return len(b.buf) }

// fill reads once into the free space, moving what is buffered to the
// front first. It returns how many bytes came.
func (b *inbuf) fill() (int, error) {
	if len(b.space()) == 0 {
		return 0, bufio.ErrBufferFull
	}
	for range 100 { // bufio's bound on reads that return nothing
		n, err := b.src.Read(b.buf[b.w:])
		b.w += n
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// space is the free space after what is buffered, for a read made outside
// fill (moved to the front first, as fill does); added counts what it got.
func (b *inbuf) space() []byte {
	if b.r > 0 {
		copy(b.buf, b.buf[b.r:b.w])
		b.w -= b.r
		b.r = 0
	}
	return b.buf[b.w:]
}

func (b *inbuf) added(n int) { b.w += n }

// Peek returns the next n bytes without consuming them, reading until they
// are there; as bufio's, it fails with ErrBufferFull beyond the buffer.
func (b *inbuf) Peek(n int) ([]byte, error) {
	if n > len(b.buf) {
		return b.buf[b.r:b.w], bufio.ErrBufferFull
	}
	for b.w-b.r < n {
		if _, err := b.fill(); err != nil && b.w-b.r < n {
			return b.buf[b.r:b.w], err
		}
	}
	return b.buf[b.r : b.r+n], nil
}

// Discard skips n bytes, reading (through the buffer) those not yet there.
func (b *inbuf) Discard(n int) (int, error) {
	done := 0
	for {
		k := min(n-done, b.w-b.r)
		b.r += k
		done += k
		if done == n {
			return done, nil
		}
		if _, err := b.fill(); err != nil && b.w == b.r {
			return done, err
		}
	}
}

// Read reads as bufio's does: from the buffer if it holds anything, else
// straight into p when p is at least as large, else through one fill.
func (b *inbuf) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if len(p) >= len(b.buf) {
			return b.src.Read(p)
		}
		b.r, b.w = 0, 0
		if _, err := b.fill(); err != nil && b.r == b.w {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// ReadSlice reads through delim, returning a slice of the buffer; as
// bufio's, a full buffer without delim is returned whole with
// ErrBufferFull.
func (b *inbuf) ReadSlice(delim byte) ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(b.buf[b.r+scanned:b.w], delim); i >= 0 {
			line := b.buf[b.r : b.r+scanned+i+1]
			b.r += scanned + i + 1
			return line, nil
		}
		scanned = b.w - b.r
		if scanned == len(b.buf) {
			line := b.buf[b.r:b.w]
			b.r = b.w
			return line, bufio.ErrBufferFull
		}
		if _, err := b.fill(); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			line := b.buf[b.r:b.w]
			b.r = b.w
			return line, err
		}
	}
}
