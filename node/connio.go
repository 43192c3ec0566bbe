package node

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/shoal-cache/shoal/protocol"
)

// What the protocol handlers read requests and buffer replies with, over a
// connection's leased buffers: a command line, a binary header, a data
// block, or a block thrown away unbuffered. A read that would wait first
// sends the replies owed, since the client may wait for them before it
// sends the rest.

var errBadChunk = errors.New("data block not ended by \\r\\n")

// readMore reads more of a request whose start is buffered. With nothing
// to read it sends the replies owed and parks, the partial request kept.
func (c *conn) readMore() error {
	err := c.readNow()
	if !errors.Is(err, errWouldBlock) {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	return errPark
}

// readLine returns the next command line without its line ending. Like
// memcached, it closes the connection when more than protocol.MaxLineLen
// bytes have arrived without a newline, unless they start a get, which may
// run to maxGetLine. Each byte is scanned for the newline once.
func (c *conn) readLine() ([]byte, error) {
	if n := c.lineEnd; n > 0 { // framed found it
		c.lineEnd = 0
		buf, _ := c.r.Peek(n)
		_, _ = c.r.Discard(n)
		return trimEOL(buf), nil
	}
	scanned := 0
	for {
		buf, _ := c.r.Peek(c.r.Buffered())
		if i := bytes.IndexByte(buf[scanned:], '\n'); i >= 0 {
			// buf stays valid until the next read; Discard only advances.
			_, _ = c.r.Discard(scanned + i + 1)
			return trimEOL(buf[:scanned+i+1]), nil
		}
		scanned = len(buf)
		if len(buf) > protocol.MaxLineLen && !isGet(buf) {
			return nil, errClose
		}
		if len(buf) == c.r.Size() {
			return c.readLongGet()
		}
		if err := c.readMore(); err != nil {
			return nil, err
		}
	}
}

// readLongGet reads a get line longer than the read buffer.
func (c *conn) readLongGet() ([]byte, error) {
	c.long = c.long[:0]
	for {
		line, err := c.r.ReadSlice('\n')
		c.long = append(c.long, line...)
		if len(c.long) > maxGetLine {
			return nil, errClose
		}
		if err == nil {
			return trimEOL(c.long), nil
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
	}
}

func isGet(line []byte) bool {
	line = bytes.TrimLeft(line, " ")
	return bytes.HasPrefix(line, []byte("get ")) || bytes.HasPrefix(line, []byte("gets "))
}

func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line
}

// reply writes a whole reply unless the command asked for none.
func (c *conn) reply(b []byte) {
	if c.noreply {
		return
	}
	c.write(b)
}

func (c *conn) write(b []byte) {
	_, _ = c.w.Write(b) // a write error surfaces at the next Flush
}

// peekRequest returns the next n bytes, which start a request, without
// consuming them; when they are not all there yet it parks (readMore).
func (c *conn) peekRequest(n int) ([]byte, error) {
	for c.r.Buffered() < n {
		if err := c.readMore(); err != nil {
			return nil, err
		}
	}
	return c.r.Peek(n)
}

// swallow reads and throws away n bytes of a data block that will not be
// stored, without buffering them.
func (c *conn) swallow(n int) error {
	if err := c.flushBeforeWaiting(n); err != nil {
		return err
	}
	_, err := c.r.Discard(n)
	return err
}

// flushBeforeWaiting sends the replies so far if reading n more bytes may
// block: the client may be waiting for them before it sends the rest.
func (c *conn) flushBeforeWaiting(n int) error {
	if c.r.Buffered() < n {
		return c.w.Flush()
	}
	return nil
}

// readData fills v from a text protocol data block and checks the "\r\n"
// after it.
func (c *conn) readData(v []byte) error {
	if err := c.flushBeforeWaiting(len(v) + 2); err != nil {
		return err
	}
	if _, err := io.ReadFull(c.r, v); err != nil {
		return err
	}
	// Peeked, not read into an array: through io.Reader the array would
	// escape, an allocation per set.
	end, err := c.r.Peek(2)
	if err != nil {
		return err
	}
	_, _ = c.r.Discard(2)
	if end[0] != '\r' || end[1] != '\n' {
		return errBadChunk
	}
	return nil
}

// readBlock fills v from the data block. A binary block is read without
// sending the replies owed, as memcached does.
func (c *conn) readBlock(v []byte, text bool) error {
	if text {
		return c.readData(v)
	}
	_, err := io.ReadFull(c.r, v)
	return err
}
