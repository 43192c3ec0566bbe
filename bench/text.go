package bench

import (
	"bufio"
	"bytes"
	"strconv"
)

// textCodec speaks memcached's text protocol: "set" and "get".
type textCodec struct{ scratch }

func (c *textCodec) writeSet(w *bufio.Writer, key, value []byte) {
	w.WriteString("set ")
	w.Write(key)
	w.WriteString(" 0 0 ")
	c.num = strconv.AppendInt(c.num[:0], int64(len(value)), 10)
	w.Write(c.num)
	w.WriteString("\r\n")
	w.Write(value)
	w.WriteString("\r\n")
}

func (c *textCodec) writeGet(w *bufio.Writer, keys [][]byte) {
	w.WriteString("get")
	for _, k := range keys {
		w.WriteByte(' ')
		w.Write(k)
	}
	w.WriteString("\r\n")
}

func (c *textCodec) readSet(r *bufio.Reader) (outcome, error) {
	line, err := readLine(r)
	if err != nil {
		return errReply, err
	}
	switch {
	case bytes.Equal(line, []byte("STORED")):
		return ok, nil
	case bytes.Equal(line, []byte("NOT_STORED")), bytes.Equal(line, []byte("EXISTS")),
		bytes.Equal(line, []byte("NOT_FOUND")):
		return notStored, nil
	case isErrorLine(line):
		return errReply, nil
	}
	return errReply, badReply("reply to set", line)
}

// readGet reads "VALUE <key> <flags> <bytes> [<cas>]" blocks up to "END".
// An error line ends the reply, as memcached sends no END after one.
func (c *textCodec) readGet(r *bufio.Reader, keys [][]byte, s sink) (outcome, error) {
	next := 0
	for {
		line, err := readLine(r)
		if err != nil {
			return errReply, err
		}
		if bytes.Equal(line, []byte("END")) {
			return ok, nil
		}
		if isErrorLine(line) {
			return errReply, nil
		}
		rest, isValue := bytes.CutPrefix(line, []byte("VALUE "))
		if !isValue {
			return errReply, badReply("reply to get", line)
		}
		key, rest := field(rest)
		_, rest = field(rest) // flags
		size, _ := field(rest)
		n, valid := parseSize(size)
		if len(key) == 0 || !valid {
			return errReply, badReply("VALUE line", line)
		}
		// The key lives in the read buffer: match it before reading on.
		i := match(keys, next, key)
		var other []byte
		if i < 0 {
			other = bytes.Clone(key)
		}
		v, err := c.readBlock(r, n)
		if err != nil {
			return errReply, err
		}
		if i < 0 {
			s.unasked(other)
			continue
		}
		next = i + 1
		s.hit(keys[i], v)
	}
}
