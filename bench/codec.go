package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// outcome is how a server answered a set or a get.
type outcome uint8

const (
	ok        outcome = iota // stored, or a get's reply read in full
	notStored                // NOT_STORED, EXISTS or NOT_FOUND and their kin
	errReply                 // SERVER_ERROR, CLIENT_ERROR, ERROR or an error status
)

// sink is told about every value a get reply carries: key is the key it was
// asked for, value is valid only until the next read from the connection.
// A value under a key that was not asked for goes to unasked.
type sink interface {
	hit(key, value []byte)
	unasked(key []byte)
}

// codec writes requests to a connection's buffer and reads their replies, in
// one protocol. A codec belongs to one worker and keeps its scratch space.
type codec interface {
	writeSet(w *bufio.Writer, key, value []byte)
	writeGet(w *bufio.Writer, keys [][]byte)
	readSet(r *bufio.Reader) (outcome, error)
	readGet(r *bufio.Reader, keys [][]byte, s sink) (outcome, error)
}

func newCodec(p Protocol) codec {
	switch p {
	case Meta:
		return &metaCodec{}
	case Binary:
		return &binaryCodec{}
	}
	return &textCodec{}
}

// ErrProtocol reports a reply the generator cannot make sense of. The
// connection it came on cannot be trusted any further.
var ErrProtocol = errors.New("bench: unexpected reply")

func badReply(what string, b []byte) error {
	if len(b) > 64 {
		b = b[:64]
	}
	return fmt.Errorf("%w: %s: %q", ErrProtocol, what, b)
}

// maxReplyValue bounds the values a reply may declare; the generator never
// writes one larger, and will not allocate on a server's say-so.
const maxReplyValue = MaxValueSize + 1024

// scratch holds a codec's buffers: digits being formatted, and values too
// large to be looked at inside the connection's read buffer.
type scratch struct {
	num []byte
	big []byte
}

// readLine reads one "\r\n"-terminated line and returns it without the
// terminator; it is valid until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return nil, badReply("line too long", line)
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, badReply("line without CRLF", line)
	}
	return line[:len(line)-2], nil
}

// readData reads n bytes, which stay valid until the next read. Data that
// fits the read buffer is looked at in place; larger data is copied.
func (s *scratch) readData(r *bufio.Reader, n int) ([]byte, error) {
	if n > maxReplyValue {
		return nil, fmt.Errorf("%w: value of %d bytes", ErrProtocol, n)
	}
	if n <= r.Size() {
		b, err := r.Peek(n)
		if err == io.EOF && n > 0 {
			err = io.ErrUnexpectedEOF // the reply was cut short
		}
		if err != nil {
			return nil, err
		}
		// Discard only moves the read index: b stays intact until the
		// buffer is next filled.
		_, _ = r.Discard(n)
		return b, nil
	}
	if cap(s.big) < n {
		s.big = make([]byte, n)
	}
	b := s.big[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readBlock reads a text-protocol data block: n bytes and "\r\n".
func (s *scratch) readBlock(r *bufio.Reader, n int) ([]byte, error) {
	b, err := s.readData(r, n+2)
	if err != nil {
		return nil, err
	}
	if b[n] != '\r' || b[n+1] != '\n' {
		return nil, badReply("data block without CRLF", b[max(0, n-16):])
	}
	return b[:n], nil
}

// field splits off the first space-separated token of b.
func field(b []byte) (tok, rest []byte) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// parseSize parses a decimal byte count, refusing anything over
// maxReplyValue before it can overflow.
func parseSize(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > maxReplyValue {
			return 0, false
		}
	}
	return n, true
}

// isErrorLine reports whether a reply line is one of memcached's errors.
func isErrorLine(line []byte) bool {
	return bytes.Equal(line, []byte("ERROR")) ||
		bytes.HasPrefix(line, []byte("SERVER_ERROR")) ||
		bytes.HasPrefix(line, []byte("CLIENT_ERROR"))
}

// match finds key among keys[from:], the keys of a multi-get whose hits
// come back in the order they were asked for. It returns the index, or -1.
func match(keys [][]byte, from int, key []byte) int {
	for i := from; i < len(keys); i++ {
		if bytes.Equal(keys[i], key) {
			return i
		}
	}
	return -1
}
