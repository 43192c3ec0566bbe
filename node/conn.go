package node

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
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

// conn is one client connection, served by one goroutine that reads
// commands, runs them, and writes replies into a buffer flushed whenever it
// has nothing more to read, so pipelined requests get batched replies.
type conn struct {
	s       *Server
	nc      net.Conn
	id      uint64
	r       *bufio.Reader
	w       *bufio.Writer
	idle    atomic.Bool
	lastCmd atomic.Int64 // unix seconds

	tokens  [protocol.MaxTokens][]byte
	scratch []byte                   // reused for values and reply lines
	long    []byte                   // a multi-get line longer than the read buffer
	keyCopy [protocol.MaxKeyLen]byte // a key kept for an observer past its data block (observe.go)
	noreply bool                     // the current command asked for no reply

	authenticated bool // ASCII authentication succeeded (auth.go)
}

func newConn(s *Server, nc net.Conn) *conn {
	counted := countingConn{Conn: nc, stats: &s.stats}
	c := &conn{s: s, nc: nc, id: s.nextConn.Add(1),
		r: bufio.NewReaderSize(counted, readBufSize), w: bufio.NewWriterSize(counted, writeBufSize)}
	c.lastCmd.Store(time.Now().Unix())
	return c
}

func (c *conn) serve() {
	defer c.nc.Close()
	err := c.loop()
	if err != nil && !errors.Is(err, errClose) && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.s.log.Debug("connection ended", zap.Stringer("remote", c.nc.RemoteAddr()), zap.Error(err))
	}
}

func (c *conn) loop() error {
	if tc, ok := c.nc.(*tls.Conn); ok {
		// Idle until the handshake is done: Shutdown need not wait for a
		// client that never finishes it.
		c.idle.Store(true)
		err := c.s.tls.handshake(tc)
		c.idle.Store(false)
		if err != nil {
			return err
		}
	}
	first, err := c.waitForInput()
	if err != nil {
		return err
	}
	// -B binary reads binary headers whatever comes (memcached closes on the
	// first with a wrong magic); -B ascii reads text lines whatever comes.
	switch c.s.protocol() {
	case "binary":
		return c.serveBinary()
	case "auto":
		if first == protocol.BinaryRequestMagic {
			return c.serveBinary()
		}
	}
	for {
		if err := c.textCommand(); err != nil {
			_ = c.w.Flush()
			return err
		}
		if !c.lineBuffered() {
			// Reading on may block: send what the client is owed first.
			if err := c.w.Flush(); err != nil {
				return err
			}
		}
		if c.r.Buffered() == 0 {
			if _, err := c.waitForInput(); err != nil {
				return err
			}
		}
	}
}

// lineBuffered reports whether a whole command line is already buffered.
func (c *conn) lineBuffered() bool {
	b, _ := c.r.Peek(c.r.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// waitForInput blocks until a byte can be read, returning it unread. While
// blocked the connection counts as idle, so Shutdown may close it.
func (c *conn) waitForInput() (byte, error) {
	if c.r.Buffered() > 0 {
		b, _ := c.r.Peek(1)
		return b[0], nil
	}
	c.idle.Store(true)
	defer c.idle.Store(false)
	if c.s.draining.Load() {
		return 0, errClose
	}
	if t := c.s.cfg.IdleTimeout; t > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(t))
		defer c.nc.SetReadDeadline(time.Time{})
	}
	b, err := c.r.Peek(1)
	if err != nil {
		if c.s.draining.Load() || errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, errClose // draining, or idle for -o idle_timeout: memcached closes without a word
		}
		return 0, err
	}
	c.lastCmd.Store(time.Now().Unix())
	return b[0], nil
}

// wakeIfIdle interrupts a connection blocked waiting for a command, so that
// it sees the server is draining.
func (c *conn) wakeIfIdle() {
	if c.idle.Load() {
		_ = c.nc.SetReadDeadline(time.Now())
	}
}

// readLine returns the next command line without its line ending. Like
// memcached, it closes the connection when more than protocol.MaxLineLen
// bytes have arrived without a newline, unless they start a get, which may
// run to maxGetLine.
func (c *conn) readLine() ([]byte, error) {
	for {
		buf, _ := c.r.Peek(c.r.Buffered())
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			// buf stays valid until the next read; Discard only advances.
			_, _ = c.r.Discard(i + 1)
			return trimEOL(buf[:i+1]), nil
		}
		if len(buf) > protocol.MaxLineLen && !isGet(buf) {
			return nil, errClose
		}
		if len(buf) == readBufSize {
			return c.readLongGet()
		}
		if _, err := c.r.Peek(len(buf) + 1); err != nil {
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

// countingConn counts the bytes a connection reads and writes, once per
// system call rather than once per command.
type countingConn struct {
	net.Conn
	stats *serverStats
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.stats.bytesRead.Add(uint64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.stats.bytesWritten.Add(uint64(n))
	return n, err
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
