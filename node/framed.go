package node

import (
	"bytes"
	"encoding/binary"

	"github.com/shoal-cache/shoal/protocol"
)

// framed says whether the buffer holds a whole request of c's protocol,
// which servePolled may then run without reading (polled.go). It errs on
// the side of no: a request it is unsure of (a storage line whose length
// does not parse, watch, a block larger than the buffer) is run by serve,
// which may read and wait as it always has.
func (c *conn) framed() bool {
	buf, _ := c.r.Peek(c.r.Buffered())
	if c.binary {
		return binaryFramed(buf)
	}
	ok, eol := textFramed(buf, c.tokens)
	if ok {
		c.lineEnd = eol + 1 // readLine need not look for it again
	}
	return ok
}

// binaryFramed: a header with the request magic, and its whole body.
func binaryFramed(buf []byte) bool {
	const header = 24
	if len(buf) < header || buf[0] != protocol.BinaryRequestMagic {
		return false
	}
	return uint64(len(buf)) >= header+uint64(binary.BigEndian.Uint32(buf[8:12]))
}

// textFramed: a whole line and, for a storage command (set, add, replace,
// append, prepend, cas; meta's ms), the data block and its "\r\n", which
// the command reads or, refusing the item, swallows. eol is where the
// line's newline is; toks is scratch for the tokens.
func textFramed(buf []byte, toks [][]byte) (ok bool, eol int) {
	end := bytes.IndexByte(buf, '\n')
	if end < 0 {
		return false, end
	}
	return lineFramed(buf, end, toks), end
}

func lineFramed(buf []byte, end int, toks [][]byte) bool {
	line := bytes.TrimSuffix(buf[:end], []byte("\r"))
	cmd, _, _ := bytes.Cut(bytes.TrimLeft(line, " "), []byte(" "))
	var sizeAt int // the token that gives the block's length
	switch string(cmd) {
	case "set", "add", "replace", "append", "prepend", "cas":
		sizeAt = 4
	case "ms":
		sizeAt = 2
	case "watch":
		return false // it keeps the connection, reading it for the client's close
	default:
		return true
	}
	// The command's own tokenizer, so that framing and the command agree.
	tokens, _ := protocol.Tokens(toks, line)
	if len(tokens) <= sizeAt {
		return false
	}
	size, ok := parseSize(tokens[sizeAt])
	return ok && uint64(len(buf)) >= uint64(end)+1+size+2
}

// parseSize reads a block length: decimal digits only, at most 10 of them
// (any length that large is refused anyway; serve handles it).
func parseSize(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n uint64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + uint64(d-'0')
	}
	return n, true
}
