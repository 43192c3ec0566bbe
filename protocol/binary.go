package protocol

import "encoding/binary"

// The binary protocol frames every request and response with a 24-byte
// header (memcached's protocol_binary.h), followed by extras, key and value,
// whose lengths the header gives. Numbers are big-endian.

// BinaryHeaderLen is the length of every binary request and response header.
const BinaryHeaderLen = 24

// BinaryResponseMagic is the first byte of every binary-protocol response.
const BinaryResponseMagic = 0x81

// Opcode is a binary-protocol command.
type Opcode uint8

// Opcodes memcached 1.6 knows. Verbosity is listed because clients send it,
// but memcached 1.6 answers it as an unknown command.
const (
	OpGet           Opcode = 0x00
	OpSet           Opcode = 0x01
	OpAdd           Opcode = 0x02
	OpReplace       Opcode = 0x03
	OpDelete        Opcode = 0x04
	OpIncrement     Opcode = 0x05
	OpDecrement     Opcode = 0x06
	OpQuit          Opcode = 0x07
	OpFlush         Opcode = 0x08
	OpGetQ          Opcode = 0x09
	OpNoop          Opcode = 0x0a
	OpVersion       Opcode = 0x0b
	OpGetK          Opcode = 0x0c
	OpGetKQ         Opcode = 0x0d
	OpAppend        Opcode = 0x0e
	OpPrepend       Opcode = 0x0f
	OpStat          Opcode = 0x10
	OpSetQ          Opcode = 0x11
	OpAddQ          Opcode = 0x12
	OpReplaceQ      Opcode = 0x13
	OpDeleteQ       Opcode = 0x14
	OpIncrementQ    Opcode = 0x15
	OpDecrementQ    Opcode = 0x16
	OpQuitQ         Opcode = 0x17
	OpFlushQ        Opcode = 0x18
	OpAppendQ       Opcode = 0x19
	OpPrependQ      Opcode = 0x1a
	OpVerbosity     Opcode = 0x1b
	OpTouch         Opcode = 0x1c
	OpGAT           Opcode = 0x1d
	OpGATQ          Opcode = 0x1e
	OpSASLListMechs Opcode = 0x20
	OpSASLAuth      Opcode = 0x21
	OpSASLStep      Opcode = 0x22
	OpGATK          Opcode = 0x23
	OpGATKQ         Opcode = 0x24
)

// quietOf maps each quiet opcode to the command it is the quiet form of.
var quietOf = [256]Opcode{
	OpGetQ: OpGet, OpGetKQ: OpGetK, OpSetQ: OpSet, OpAddQ: OpAdd,
	OpReplaceQ: OpReplace, OpDeleteQ: OpDelete, OpIncrementQ: OpIncrement,
	OpDecrementQ: OpDecrement, OpQuitQ: OpQuit, OpFlushQ: OpFlush,
	OpAppendQ: OpAppend, OpPrependQ: OpPrepend, OpGATQ: OpGAT, OpGATKQ: OpGATK,
}

// Loud returns the command op is the quiet form of, and quiet=true; or op
// itself for an opcode that is not quiet. A quiet command's successes are not
// answered (a quiet get's misses neither); its errors are.
func (op Opcode) Loud() (loud Opcode, quiet bool) {
	if l := quietOf[op]; l != 0 || op == OpGetQ {
		return l, true
	}
	return op, false
}

// Status is a binary response's status.
type Status uint16

// Response statuses memcached sends, and NotSupported, which the protocol
// defines for commands a server cannot serve.
const (
	StatusOK             Status = 0x0000
	StatusKeyNotFound    Status = 0x0001
	StatusKeyExists      Status = 0x0002
	StatusTooLarge       Status = 0x0003
	StatusInvalidArgs    Status = 0x0004
	StatusNotStored      Status = 0x0005
	StatusDeltaBadValue  Status = 0x0006
	StatusAuthError      Status = 0x0020
	StatusAuthContinue   Status = 0x0021
	StatusUnknownCommand Status = 0x0081
	StatusOutOfMemory    Status = 0x0082
	StatusNotSupported   Status = 0x0083
)

// Message is the body memcached sends with an error status when it has no
// more specific text.
func (s Status) Message() string {
	switch s {
	case StatusOutOfMemory:
		return "Out of memory"
	case StatusUnknownCommand:
		return "Unknown command"
	case StatusKeyNotFound:
		return "Not found"
	case StatusInvalidArgs:
		return "Invalid arguments"
	case StatusKeyExists:
		return "Data exists for key."
	case StatusTooLarge:
		return "Too large."
	case StatusDeltaBadValue:
		return "Non-numeric server-side value for incr or decr"
	case StatusNotStored:
		return "Not stored."
	case StatusAuthError:
		return "Auth failure."
	case StatusNotSupported:
		return "Not supported"
	}
	return ""
}

// BinaryHeader is a request or response header. In a request, Status is the
// vbucket id, which memcached ignores.
type BinaryHeader struct {
	Magic    uint8
	Opcode   Opcode
	KeyLen   uint16
	ExtLen   uint8
	DataType uint8
	Status   Status
	BodyLen  uint32 // extras, key and value
	Opaque   uint32 // echoed in the response
	CAS      uint64
}

// ParseBinaryHeader decodes the first BinaryHeaderLen bytes of b, which must
// hold that many. It checks nothing: see Check.
func ParseBinaryHeader(b []byte) BinaryHeader {
	_ = b[BinaryHeaderLen-1]
	return BinaryHeader{
		Magic:    b[0],
		Opcode:   Opcode(b[1]),
		KeyLen:   binary.BigEndian.Uint16(b[2:]),
		ExtLen:   b[4],
		DataType: b[5],
		Status:   Status(binary.BigEndian.Uint16(b[6:])),
		BodyLen:  binary.BigEndian.Uint32(b[8:]),
		Opaque:   binary.BigEndian.Uint32(b[12:]),
		CAS:      binary.BigEndian.Uint64(b[16:]),
	}
}

// PutBinaryHeader encodes h into the first BinaryHeaderLen bytes of b.
func PutBinaryHeader(b []byte, h BinaryHeader) {
	_ = b[BinaryHeaderLen-1]
	b[0] = h.Magic
	b[1] = byte(h.Opcode)
	binary.BigEndian.PutUint16(b[2:], h.KeyLen)
	b[4] = h.ExtLen
	b[5] = h.DataType
	binary.BigEndian.PutUint16(b[6:], uint16(h.Status))
	binary.BigEndian.PutUint32(b[8:], h.BodyLen)
	binary.BigEndian.PutUint32(b[12:], h.Opaque)
	binary.BigEndian.PutUint64(b[16:], h.CAS)
}

// AppendBinaryHeader appends the encoding of h.
func AppendBinaryHeader(dst []byte, h BinaryHeader) []byte {
	var b [BinaryHeaderLen]byte
	PutBinaryHeader(b[:], h)
	return append(dst, b[:]...)
}

// Response returns the header of a response to request h: its opcode and
// opaque, with the given status, CAS and lengths.
func (h BinaryHeader) Response(status Status, cas uint64, extLen, keyLen, bodyLen int) BinaryHeader {
	return BinaryHeader{
		Magic:   BinaryResponseMagic,
		Opcode:  h.Opcode,
		KeyLen:  uint16(keyLen),
		ExtLen:  uint8(extLen),
		Status:  status,
		BodyLen: uint32(bodyLen),
		Opaque:  h.Opaque,
		CAS:     cas,
	}
}

// AppendBinaryError appends memcached's error response to request h: the
// status and its text (Status.Message when msg is empty), CAS 0.
func AppendBinaryError(dst []byte, h BinaryHeader, status Status, msg string) []byte {
	if msg == "" {
		msg = status.Message()
	}
	dst = AppendBinaryHeader(dst, h.Response(status, 0, 0, 0, len(msg)))
	return append(dst, msg...)
}

// AppendBinaryStat appends one packet of a stat reply: the name as key, the
// value as value. An empty name and value make the packet that ends it.
func AppendBinaryStat(dst []byte, opaque uint32, name, value []byte) []byte {
	dst = AppendBinaryHeader(dst, BinaryHeader{
		Magic: BinaryResponseMagic, Opcode: OpStat, KeyLen: uint16(len(name)),
		BodyLen: uint32(len(name) + len(value)), Opaque: opaque,
	})
	return append(append(dst, name...), value...)
}

// BinaryCheck is what a request header's lengths allow, as memcached judges
// them before running a command.
type BinaryCheck uint8

const (
	// BinaryServe: the lengths fit the opcode.
	BinaryServe BinaryCheck = iota
	// BinaryUnknown: an opcode memcached does not serve. It answers
	// StatusUnknownCommand and then discards BodyLen bytes past the extras
	// and key it has already read, so a request following one with extras
	// or a key loses its first bytes; a server in step with memcached does
	// the same.
	BinaryUnknown
	// BinaryBadBody: key and extras are longer than the body. memcached
	// answers StatusUnknownCommand and closes the connection.
	BinaryBadBody
	// BinaryInvalid: a key longer than MaxKeyLen, or lengths the opcode does
	// not take. memcached answers StatusInvalidArgs and closes the
	// connection.
	BinaryInvalid
)

// Check judges a request header (whose magic is BinaryRequestMagic) as
// memcached's dispatch_bin_command does.
func (h BinaryHeader) Check() BinaryCheck {
	key, ext, body := uint64(h.KeyLen), uint64(h.ExtLen), uint64(h.BodyLen)
	if key+ext > body {
		return BinaryBadBody
	}
	if key > MaxKeyLen {
		return BinaryInvalid
	}
	op, _ := h.Opcode.Loud()
	var ok bool
	switch op {
	case OpVersion, OpNoop, OpQuit, OpSASLListMechs:
		ok = body == 0
	case OpFlush:
		ok = key == 0 && body == ext && (ext == 0 || ext == 4)
	case OpSet, OpAdd, OpReplace:
		ok = ext == 8 && key > 0
	case OpGet, OpGetK, OpDelete:
		ok = ext == 0 && key > 0 && body == key
	case OpIncrement, OpDecrement:
		ok = ext == 20 && key > 0 && body == key+ext
	case OpAppend, OpPrepend:
		ok = ext == 0 && key > 0
	case OpStat:
		ok = ext == 0
	case OpSASLAuth, OpSASLStep:
		ok = ext == 0 && key > 0
	case OpTouch, OpGAT, OpGATK:
		ok = ext == 4 && key > 0
	default:
		return BinaryUnknown
	}
	if !ok {
		return BinaryInvalid
	}
	return BinaryServe
}

// ValueLen is the length of the value a request carries after its extras
// and key. Check must have passed.
func (h BinaryHeader) ValueLen() int {
	return int(h.BodyLen) - int(h.KeyLen) - int(h.ExtLen)
}

// StoreExtras reads a set, add or replace request's extras: flags and
// exptime.
func StoreExtras(ext []byte) (flags, exptime uint32) {
	return binary.BigEndian.Uint32(ext), binary.BigEndian.Uint32(ext[4:])
}

// ArithExtras reads an increment or decrement request's extras: the delta,
// the value to create a missing item with, and its exptime, where
// NoCreateExptime means not to create it.
func ArithExtras(ext []byte) (delta, initial uint64, exptime uint32) {
	return binary.BigEndian.Uint64(ext), binary.BigEndian.Uint64(ext[8:]), binary.BigEndian.Uint32(ext[16:])
}

// NoCreateExptime is the arithmetic exptime that makes a miss fail rather
// than create the item.
const NoCreateExptime = 0xffffffff

// ExptimeExtras reads the exptime extras of touch, gat and flush; a flush
// may have none (0).
func ExptimeExtras(ext []byte) uint32 {
	if len(ext) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(ext)
}
