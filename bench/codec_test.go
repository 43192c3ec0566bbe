package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// collect is a sink that remembers what it is told.
type collect struct {
	hits   []string
	others []string
}

func (c *collect) hit(key, value []byte) { c.hits = append(c.hits, string(key)+"="+string(value)) }
func (c *collect) unasked(key []byte)    { c.others = append(c.others, string(key)) }

func keys(ks ...string) [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = []byte(k)
	}
	return out
}

func reader(s string) *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(s), 64) }

func TestEncodeRequests(t *testing.T) {
	for _, c := range []struct {
		p         Protocol
		set, get1 string
		getN      string
	}{
		{Text, "set a 0 0 3\r\nxyz\r\n", "get a\r\n", "get a bb\r\n"},
		{Meta, "ms a 3\r\nxyz\r\n", "mg a k v\r\n", "mg a k v q\r\nmg bb k v q\r\nmn\r\n"},
	} {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		cd := newCodec(c.p)
		cd.writeSet(w, []byte("a"), []byte("xyz"))
		cd.writeGet(w, keys("a"))
		cd.writeGet(w, keys("a", "bb"))
		w.Flush()
		if want := c.set + c.get1 + c.getN; b.String() != want {
			t.Errorf("%s: wrote %q, want %q", c.p, b.String(), want)
		}
	}
}

func binHeader(magic, op byte, keyLen, extLen int, status uint16, bodyLen int) []byte {
	h := make([]byte, 24)
	h[0], h[1] = magic, op
	binary.BigEndian.PutUint16(h[2:], uint16(keyLen))
	h[4] = byte(extLen)
	binary.BigEndian.PutUint16(h[6:], status)
	binary.BigEndian.PutUint32(h[8:], uint32(bodyLen))
	return h
}

func TestEncodeBinary(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	cd := newCodec(Binary)
	cd.writeSet(w, []byte("a"), []byte("xyz"))
	cd.writeGet(w, keys("a"))
	cd.writeGet(w, keys("a", "bb"))
	w.Flush()
	var want []byte
	want = append(want, binHeader(0x80, opSet, 1, 8, 0, 12)...)
	want = append(want, 0, 0, 0, 0, 0, 0, 0, 0, 'a', 'x', 'y', 'z')
	want = append(want, binHeader(0x80, opGetK, 1, 0, 0, 1)...)
	want = append(want, 'a')
	want = append(want, binHeader(0x80, opGetKQ, 1, 0, 0, 1)...)
	want = append(want, 'a')
	want = append(want, binHeader(0x80, opGetKQ, 2, 0, 0, 2)...)
	want = append(want, 'b', 'b')
	want = append(want, binHeader(0x80, opNoop, 0, 0, 0, 0)...)
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("wrote\n%q\nwant\n%q", b.Bytes(), want)
	}
}

func binGetReply(op byte, key, value string) string {
	b := binHeader(0x81, op, len(key), 4, 0, 4+len(key)+len(value))
	b = append(b, 0, 0, 0, 0)
	return string(b) + key + value
}

func TestDecodeGetReplies(t *testing.T) {
	notFound := string(binHeader(0x81, opGetK, 0, 0, statusNotFound, 9)) + "Not found"
	noop := string(binHeader(0x81, opNoop, 0, 0, 0, 0))
	for _, c := range []struct {
		name    string
		p       Protocol
		keys    [][]byte
		reply   string
		out     outcome
		hits    []string
		unasked []string
	}{
		{"text miss", Text, keys("a"), "END\r\n", ok, nil, nil},
		{"text multi", Text, keys("a", "b", "c"),
			"VALUE a 0 1\r\nx\r\nVALUE c 5 2 99\r\nyz\r\nEND\r\n", ok, []string{"a=x", "c=yz"}, nil},
		{"text same key twice", Text, keys("a", "a"),
			"VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n", ok, []string{"a=x", "a=x"}, nil},
		{"text key not asked", Text, keys("a"), "VALUE zz 0 1\r\nx\r\nEND\r\n", ok, nil, []string{"zz"}},
		{"text out of order", Text, keys("a", "b"),
			"VALUE b 0 1\r\nx\r\nVALUE a 0 1\r\ny\r\nEND\r\n", ok, []string{"b=x"}, []string{"a"}},
		{"text server error", Text, keys("a"), "SERVER_ERROR out of memory\r\n", errReply, nil, nil},
		{"text value larger than the buffer", Text, keys("a"),
			"VALUE a 0 100\r\n" + strings.Repeat("v", 100) + "\r\nEND\r\n", ok, []string{"a=" + strings.Repeat("v", 100)}, nil},
		{"meta hit", Meta, keys("a"), "VA 2 ka\r\nxy\r\n", ok, []string{"a=xy"}, nil},
		{"meta miss", Meta, keys("a"), "EN\r\n", ok, nil, nil},
		{"meta multi", Meta, keys("a", "b"), "VA 1 kb\r\nq\r\nMN\r\n", ok, []string{"b=q"}, nil},
		{"meta multi error", Meta, keys("a", "b"),
			"SERVER_ERROR busy\r\nVA 1 kb\r\nq\r\nMN\r\n", errReply, []string{"b=q"}, nil},
		{"binary hit", Binary, keys("a"), binGetReply(opGetK, "a", "xyz"), ok, []string{"a=xyz"}, nil},
		{"binary miss", Binary, keys("a"), notFound, ok, nil, nil},
		{"binary multi", Binary, keys("a", "b", "c"),
			binGetReply(opGetKQ, "a", "1") + binGetReply(opGetKQ, "c", "3") + noop, ok,
			[]string{"a=1", "c=3"}, nil},
		{"binary wrong key", Binary, keys("a"), binGetReply(opGetK, "b", "1"), ok, nil, []string{"b"}},
	} {
		var s collect
		out, err := newCodec(c.p).readGet(reader(c.reply), c.keys, &s)
		if err != nil || out != c.out || !equal(s.hits, c.hits) || !equal(s.others, c.unasked) {
			t.Errorf("%s: got %v, %v, hits %q, unasked %q; want %v, hits %q, unasked %q",
				c.name, out, err, s.hits, s.others, c.out, c.hits, c.unasked)
		}
	}
}

func TestDecodeSetReplies(t *testing.T) {
	for _, c := range []struct {
		p     Protocol
		reply string
		want  outcome
	}{
		{Text, "STORED\r\n", ok},
		{Text, "NOT_STORED\r\n", notStored},
		{Text, "SERVER_ERROR out of memory storing object\r\n", errReply},
		{Meta, "HD\r\n", ok},
		{Meta, "NS\r\n", notStored},
		{Meta, "CLIENT_ERROR bad data chunk\r\n", errReply},
		{Binary, string(binHeader(0x81, opSet, 0, 0, 0, 0)), ok},
		{Binary, string(binHeader(0x81, opSet, 0, 0, statusNotStored, 0)), notStored},
		{Binary, string(binHeader(0x81, opSet, 0, 0, 0x82, 13)) + "Out of memory", errReply},
	} {
		out, err := newCodec(c.p).readSet(reader(c.reply))
		if err != nil || out != c.want {
			t.Errorf("%s %q: got %v, %v; want %v", c.p, c.reply, out, err, c.want)
		}
	}
}

// Replies no server should send are errors, never a panic, a hang or an
// allocation of the size they claim.
func TestDecodeBadReplies(t *testing.T) {
	huge := string(binHeader(0x81, opGetK, 1, 4, 0, 1<<31))
	for _, c := range []struct {
		name  string
		p     Protocol
		reply string
		want  error
	}{
		{"text garbage", Text, "HELLO\r\n", ErrProtocol},
		{"text huge value", Text, "VALUE a 0 99999999999999999999\r\n", ErrProtocol},
		{"text negative size", Text, "VALUE a 0 -1\r\n", ErrProtocol},
		{"text no CRLF after data", Text, "VALUE a 0 1\r\nxyz\r\n", ErrProtocol},
		{"text bare LF", Text, "END\n", ErrProtocol},
		{"text line too long", Text, strings.Repeat("x", 100), ErrProtocol},
		{"text truncated", Text, "VALUE a 0 10\r\nabc", io.ErrUnexpectedEOF},
		{"text closed", Text, "", io.EOF},
		{"meta VA without key", Meta, "VA 1\r\nx\r\n", ErrProtocol},
		{"meta garbage", Meta, "XX\r\n", ErrProtocol},
		{"binary bad magic", Binary, string(binHeader(0x80, opGetK, 0, 0, 0, 0)), ErrProtocol},
		{"binary huge body", Binary, huge, ErrProtocol},
		{"binary key longer than body", Binary, string(binHeader(0x81, opGetK, 9, 0, 0, 2)), ErrProtocol},
		{"binary truncated", Binary, string(binHeader(0x81, opGetK, 1, 4, 0, 10))[:20], io.ErrUnexpectedEOF},
	} {
		var s collect
		_, err := newCodec(c.p).readGet(reader(c.reply), keys("a"), &s)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
