package protocol

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// rawHeader builds a request header by hand, independently of the code
// under test.
func rawHeader(magic byte, op Opcode, keyLen uint16, extLen uint8, bodyLen uint32) []byte {
	b := make([]byte, BinaryHeaderLen)
	b[0], b[1] = magic, byte(op)
	binary.BigEndian.PutUint16(b[2:], keyLen)
	b[4] = extLen
	b[5] = 0x00
	binary.BigEndian.PutUint16(b[6:], 0x0102) // vbucket
	binary.BigEndian.PutUint32(b[8:], bodyLen)
	binary.BigEndian.PutUint32(b[12:], 0xdeadbeef)
	binary.BigEndian.PutUint64(b[16:], 0x0102030405060708)
	return b
}

func TestParseBinaryHeader(t *testing.T) {
	h := ParseBinaryHeader(rawHeader(0x80, OpSetQ, 3, 8, 20))
	want := BinaryHeader{Magic: 0x80, Opcode: OpSetQ, KeyLen: 3, ExtLen: 8, Status: 0x0102,
		BodyLen: 20, Opaque: 0xdeadbeef, CAS: 0x0102030405060708}
	if h != want {
		t.Fatalf("ParseBinaryHeader = %+v, want %+v", h, want)
	}
	if got := AppendBinaryHeader(nil, h); !bytes.Equal(got, rawHeader(0x80, OpSetQ, 3, 8, 20)) {
		t.Fatalf("AppendBinaryHeader = % x", got)
	}
}

func TestBinaryResponses(t *testing.T) {
	req := BinaryHeader{Magic: 0x80, Opcode: OpGetK, KeyLen: 1, BodyLen: 1, Opaque: 7, CAS: 99}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"error", AppendBinaryError(nil, req, StatusKeyNotFound, ""),
			"\x81\x0c\x00\x00\x00\x00\x00\x01\x00\x00\x00\x09\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x00Not found"},
		{"error with text", AppendBinaryError(nil, req, StatusOutOfMemory, "Out of memory allocating item"),
			"\x81\x0c\x00\x00\x00\x00\x00\x82\x00\x00\x00\x1d\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x00Out of memory allocating item"},
		{"response", AppendBinaryHeader(nil, req.Response(StatusOK, 0x1122, 4, 1, 9)),
			"\x81\x0c\x00\x01\x04\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x11\x22"},
		{"stat", AppendBinaryStat(nil, 7, []byte("pid"), []byte("42")),
			"\x81\x10\x00\x03\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x00pid42"},
		{"stat end", AppendBinaryStat(nil, 7, nil, nil),
			"\x81\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x00"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestStatusMessages(t *testing.T) {
	// memcached's write_bin_error texts.
	want := map[Status]string{
		StatusOutOfMemory: "Out of memory", StatusUnknownCommand: "Unknown command",
		StatusKeyNotFound: "Not found", StatusInvalidArgs: "Invalid arguments",
		StatusKeyExists: "Data exists for key.", StatusTooLarge: "Too large.",
		StatusDeltaBadValue: "Non-numeric server-side value for incr or decr",
		StatusNotStored:     "Not stored.", StatusAuthError: "Auth failure.",
	}
	for s, msg := range want {
		if got := s.Message(); got != msg {
			t.Errorf("Status(%#x).Message() = %q, want %q", uint16(s), got, msg)
		}
	}
}

func TestOpcodeLoud(t *testing.T) {
	quiet := map[Opcode]Opcode{
		OpGetQ: OpGet, OpGetKQ: OpGetK, OpSetQ: OpSet, OpAddQ: OpAdd, OpReplaceQ: OpReplace,
		OpDeleteQ: OpDelete, OpIncrementQ: OpIncrement, OpDecrementQ: OpDecrement,
		OpQuitQ: OpQuit, OpFlushQ: OpFlush, OpAppendQ: OpAppend, OpPrependQ: OpPrepend,
		OpGATQ: OpGAT, OpGATKQ: OpGATK,
	}
	for i := 0; i < 256; i++ {
		op := Opcode(i)
		loud, q := op.Loud()
		if want, ok := quiet[op]; ok {
			if !q || loud != want {
				t.Errorf("%#x.Loud() = %#x, %v; want %#x, true", i, loud, q, want)
			}
		} else if q || loud != op {
			t.Errorf("%#x.Loud() = %#x, %v; want itself, false", i, loud, q)
		}
	}
}

func TestBinaryCheck(t *testing.T) {
	tests := []struct {
		name    string
		op      Opcode
		key     uint16
		ext     uint8
		body    uint32
		want    BinaryCheck
		comment string
	}{
		{"get", OpGet, 3, 0, 3, BinaryServe, ""},
		{"getkq", OpGetKQ, 3, 0, 3, BinaryServe, ""},
		{"get no key", OpGet, 0, 0, 0, BinaryInvalid, ""},
		{"get extras", OpGet, 3, 4, 7, BinaryInvalid, ""},
		{"get value", OpGet, 3, 0, 5, BinaryInvalid, ""},
		{"key past body", OpGet, 3, 0, 2, BinaryBadBody, ""},
		{"key and extras past body", OpSet, 3, 8, 10, BinaryBadBody, ""},
		{"long key", OpGet, 251, 0, 251, BinaryInvalid, ""},
		{"longest key", OpGet, 250, 0, 250, BinaryServe, ""},
		{"long key unknown opcode", 0x50, 251, 0, 251, BinaryInvalid, "key length is checked first"},
		{"set", OpSet, 1, 8, 9, BinaryServe, ""},
		{"setq value", OpSetQ, 1, 8, 100, BinaryServe, ""},
		{"set no extras", OpSet, 1, 0, 1, BinaryInvalid, ""},
		{"set no key", OpSet, 0, 8, 8, BinaryInvalid, ""},
		{"add", OpAddQ, 1, 8, 9, BinaryServe, ""},
		{"replace", OpReplace, 1, 8, 9, BinaryServe, ""},
		{"append", OpAppend, 1, 0, 5, BinaryServe, ""},
		{"append extras", OpAppendQ, 1, 8, 9, BinaryInvalid, ""},
		{"prepend no key", OpPrepend, 0, 0, 5, BinaryInvalid, ""},
		{"delete", OpDeleteQ, 1, 0, 1, BinaryServe, ""},
		{"delete value", OpDelete, 1, 0, 2, BinaryInvalid, ""},
		{"incr", OpIncrement, 1, 20, 21, BinaryServe, ""},
		{"incr short extras", OpIncrement, 1, 8, 9, BinaryInvalid, ""},
		{"decrq value", OpDecrementQ, 1, 20, 22, BinaryInvalid, ""},
		{"flush", OpFlush, 0, 0, 0, BinaryServe, ""},
		{"flush exptime", OpFlushQ, 0, 4, 4, BinaryServe, ""},
		{"flush 8 extras", OpFlush, 0, 8, 8, BinaryInvalid, ""},
		{"flush key", OpFlush, 1, 0, 1, BinaryInvalid, ""},
		{"noop", OpNoop, 0, 0, 0, BinaryServe, ""},
		{"noop body", OpNoop, 0, 0, 1, BinaryInvalid, ""},
		{"version", OpVersion, 0, 0, 0, BinaryServe, ""},
		{"version key", OpVersion, 1, 0, 1, BinaryInvalid, ""},
		{"quitq", OpQuitQ, 0, 0, 0, BinaryServe, ""},
		{"stat", OpStat, 0, 0, 0, BinaryServe, ""},
		{"stat key and value", OpStat, 5, 0, 9, BinaryServe, "memcached ignores the value"},
		{"stat extras", OpStat, 0, 4, 4, BinaryInvalid, ""},
		{"touch", OpTouch, 1, 4, 5, BinaryServe, ""},
		{"gatkq", OpGATKQ, 1, 4, 5, BinaryServe, ""},
		{"gat no extras", OpGAT, 1, 0, 1, BinaryInvalid, ""},
		{"sasl list", OpSASLListMechs, 0, 0, 0, BinaryServe, ""},
		{"sasl list body", OpSASLListMechs, 0, 0, 3, BinaryInvalid, ""},
		{"sasl auth", OpSASLAuth, 5, 0, 10, BinaryServe, ""},
		{"sasl step no key", OpSASLStep, 0, 0, 10, BinaryInvalid, ""},
		{"verbosity", OpVerbosity, 0, 4, 4, BinaryUnknown, "memcached 1.6 does not serve it"},
		{"unknown", 0x50, 2, 4, 9, BinaryUnknown, ""},
		{"unknown bad body", 0xff, 2, 4, 5, BinaryBadBody, ""},
	}
	for _, tt := range tests {
		h := ParseBinaryHeader(rawHeader(0x80, tt.op, tt.key, tt.ext, tt.body))
		if got := h.Check(); got != tt.want {
			t.Errorf("%s: Check() = %d, want %d %s", tt.name, got, tt.want, tt.comment)
		}
	}
}

func TestBinaryExtras(t *testing.T) {
	flags, exp := StoreExtras([]byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0x0e, 0x10})
	if flags != 0xcafebabe || exp != 3600 {
		t.Errorf("StoreExtras = %#x, %d", flags, exp)
	}
	ext := make([]byte, 20)
	binary.BigEndian.PutUint64(ext, 5)
	binary.BigEndian.PutUint64(ext[8:], 1<<63)
	binary.BigEndian.PutUint32(ext[16:], NoCreateExptime)
	if d, i, e := ArithExtras(ext); d != 5 || i != 1<<63 || e != NoCreateExptime {
		t.Errorf("ArithExtras = %d, %d, %#x", d, i, e)
	}
	if e := ExptimeExtras([]byte{0, 0, 0, 10}); e != 10 {
		t.Errorf("ExptimeExtras = %d", e)
	}
	if e := ExptimeExtras(nil); e != 0 {
		t.Errorf("ExptimeExtras(nil) = %d, want 0 (flush without extras)", e)
	}
}

// FuzzBinaryHeader decodes arbitrary bytes as a request, as a server would:
// the header round-trips, Check never admits lengths a command cannot take,
// and the extras of an admitted command parse. Its seed corpus runs with
// plain go test.
func FuzzBinaryHeader(f *testing.F) {
	seeds := [][]byte{
		rawHeader(0x80, OpGet, 3, 0, 3),
		rawHeader(0x80, OpSet, 1, 8, 100),
		rawHeader(0x80, OpIncrement, 1, 20, 21),
		rawHeader(0x80, OpFlush, 0, 4, 4),
		rawHeader(0x80, OpTouch, 1, 4, 5),
		rawHeader(0x80, OpStat, 5, 0, 5),
		rawHeader(0x80, OpGet, 0xffff, 0xff, 0xffffffff),
		rawHeader(0x80, OpSet, 1, 8, 2),
		rawHeader(0x81, OpNoop, 0, 0, 0),
		rawHeader(0x80, 0xff, 0, 0, 0),
		append(rawHeader(0x80, OpIncrement, 1, 20, 21), make([]byte, 21)...),
		[]byte("get foo\r\n"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < BinaryHeaderLen {
			return
		}
		h := ParseBinaryHeader(data)
		if got := AppendBinaryHeader(nil, h); !bytes.Equal(got, data[:BinaryHeaderLen]) {
			t.Fatalf("round trip: % x became % x", data[:BinaryHeaderLen], got)
		}
		if h.Check() != BinaryServe {
			return
		}
		key, ext := int(h.KeyLen), int(h.ExtLen)
		if key > MaxKeyLen || key+ext > int(h.BodyLen) || h.ValueLen() < 0 {
			t.Fatalf("admitted %+v", h)
		}
		body := data[BinaryHeaderLen:]
		if len(body) < ext {
			return
		}
		extras := body[:ext]
		switch op, _ := h.Opcode.Loud(); op {
		case OpSet, OpAdd, OpReplace:
			StoreExtras(extras)
		case OpIncrement, OpDecrement:
			ArithExtras(extras)
		case OpTouch, OpGAT, OpGATK, OpFlush:
			ExptimeExtras(extras)
		default:
			if ext != 0 {
				t.Fatalf("admitted extras for %+v", h)
			}
		}
	})
}
