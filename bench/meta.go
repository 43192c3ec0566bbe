package bench

import (
	"bufio"
	"bytes"
	"strconv"
)

// metaCodec speaks memcached's meta protocol: "ms", and "mg" with the k and
// v flags so every value comes back with its key. A multi-get is a run of
// quiet "mg ... q" ended by "mn": only hits are answered, then "MN".
type metaCodec struct{ scratch }

func (c *metaCodec) writeSet(w *bufio.Writer, key, value []byte) {
	w.WriteString("ms ")
	w.Write(key)
	w.WriteByte(' ')
	c.num = strconv.AppendInt(c.num[:0], int64(len(value)), 10)
	w.Write(c.num)
	w.WriteString("\r\n")
	w.Write(value)
	w.WriteString("\r\n")
}

func (c *metaCodec) writeGet(w *bufio.Writer, keys [][]byte) {
	if len(keys) == 1 {
		w.WriteString("mg ")
		w.Write(keys[0])
		w.WriteString(" k v\r\n")
		return
	}
	for _, k := range keys {
		w.WriteString("mg ")
		w.Write(k)
		w.WriteString(" k v q\r\n")
	}
	w.WriteString("mn\r\n")
}

func (c *metaCodec) readSet(r *bufio.Reader) (outcome, error) {
	line, err := readLine(r)
	if err != nil {
		return errReply, err
	}
	code, _ := field(line)
	switch {
	case bytes.Equal(code, []byte("HD")):
		return ok, nil
	case bytes.Equal(code, []byte("NS")), bytes.Equal(code, []byte("EX")),
		bytes.Equal(code, []byte("NF")):
		return notStored, nil
	case isErrorLine(line):
		return errReply, nil
	}
	return errReply, badReply("reply to ms", line)
}

func (c *metaCodec) readGet(r *bufio.Reader, keys [][]byte, s sink) (outcome, error) {
	single := len(keys) == 1
	next := 0
	res := ok
	for {
		line, err := readLine(r)
		if err != nil {
			return errReply, err
		}
		code, rest := field(line)
		switch {
		case bytes.Equal(code, []byte("MN")) && !single:
			return res, nil
		case bytes.Equal(code, []byte("EN")):
			if single {
				return ok, nil
			}
			continue
		case isErrorLine(line):
			if single {
				return errReply, nil
			}
			res = errReply // a quiet mg still reports errors; MN follows
			continue
		case !bytes.Equal(code, []byte("VA")):
			return errReply, badReply("reply to mg", line)
		}
		size, flags := field(rest)
		n, valid := parseSize(size)
		var key []byte
		for len(flags) > 0 {
			var f []byte
			f, flags = field(flags)
			if len(f) > 1 && f[0] == 'k' {
				key = f[1:]
			}
		}
		if !valid || key == nil {
			return errReply, badReply("VA line", line)
		}
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
		} else {
			next = i + 1
			s.hit(keys[i], v)
		}
		if single {
			return ok, nil
		}
	}
}
