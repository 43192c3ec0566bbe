package node

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// errDrop ends a connection without sending the replies it has buffered, as
// memcached drops a connection whose next header it cannot frame (bad magic,
// or extras and key too long to buffer).
var errDrop = errors.New("binary request cannot be framed")

// noStorage is the error text of storage commands on a configuration
// endpoint.
const noStorage = "no storage on a configuration endpoint"

// binRequest is one binary request: its header, and its extras and key,
// which alias the read buffer until the connection next reads.
type binRequest struct {
	h     protocol.BinaryHeader
	op    protocol.Opcode // the command; a quiet opcode's loud form
	quiet bool
	ext   []byte
	key   []byte
}

// binaryRequest reads one request's header, extras and key, and runs it.
// Replies are sent when memcached sends them: when the connection has
// nothing more to read or must wait for the rest of a header, extras and
// key; at once after an error that carries no value to discard, and after a
// noop. (Not while reading or discarding a value: memcached sends nothing
// then either.)
// Like memcached, it waits for the extras and key however long the key is,
// reading them into the connection's read buffer (no larger than
// memcached's), and the command then reads or discards the value.
func (c *conn) binaryRequest() error {
	b, err := c.peekRequest(protocol.BinaryHeaderLen)
	if err != nil {
		return err
	}
	req := binRequest{h: protocol.ParseBinaryHeader(b)}
	if req.h.Magic != protocol.BinaryRequestMagic {
		return errDrop
	}
	extEnd := protocol.BinaryHeaderLen + int(req.h.ExtLen)
	n := extEnd + int(req.h.KeyLen)
	if n > c.r.Size() {
		return errDrop
	}
	if b, err = c.peekRequest(n); err != nil {
		return err
	}
	req.ext, req.key = b[protocol.BinaryHeaderLen:extEnd], b[extEnd:n]
	_, _ = c.r.Discard(n) // n bytes are buffered
	req.op, req.quiet = req.h.Opcode.Loud()
	r := c.observeBinary(&req)
	err = c.binaryCommand(&req)
	c.observeDone(r)
	return err
}

func (c *conn) binaryCommand(req *binRequest) error {
	switch req.h.Check() {
	case protocol.BinaryBadBody:
		c.binError(req, protocol.StatusUnknownCommand, "")
		return errClose
	case protocol.BinaryInvalid:
		c.binError(req, protocol.StatusInvalidArgs, "")
		return errClose
	case protocol.BinaryUnknown:
		// memcached discards a body's length past the extras and key.
		return c.binFail(req, protocol.StatusUnknownCommand, "", swallowLen(int(req.h.BodyLen)))
	}
	if c.s.auth.sasl && !c.authenticated && !saslAllowed(req.op) {
		c.binError(req, protocol.StatusAuthError, "")
		return errClose
	}
	switch req.op {
	case protocol.OpGet, protocol.OpGetK, protocol.OpTouch, protocol.OpGAT, protocol.OpGATK:
		return c.binGet(req)
	case protocol.OpSet:
		return c.binStore(req, protocol.ModeSet)
	case protocol.OpAdd:
		return c.binStore(req, protocol.ModeAdd)
	case protocol.OpReplace:
		return c.binStore(req, protocol.ModeReplace)
	case protocol.OpAppend:
		return c.binStore(req, protocol.ModeAppend)
	case protocol.OpPrepend:
		return c.binStore(req, protocol.ModePrepend)
	case protocol.OpDelete:
		return c.binDelete(req)
	case protocol.OpIncrement, protocol.OpDecrement:
		return c.binArith(req)
	case protocol.OpFlush:
		c.binFlush(req)
	case protocol.OpStat:
		return c.binStat(req)
	case protocol.OpVersion:
		c.binReply(req, 0, nil, nil, []byte(ProtocolVersion))
	case protocol.OpNoop:
		c.binReply(req, 0, nil, nil, nil)
		return c.w.Flush() // memcached sends everything pending on a noop
	case protocol.OpQuit:
		if !req.quiet {
			c.binReply(req, 0, nil, nil, nil)
		}
		return errClose
	case protocol.OpSASLListMechs, protocol.OpSASLAuth, protocol.OpSASLStep:
		if c.s.auth.sasl {
			return c.binSASL(req)
		}
		// memcached without SASL answers unknown command
		return c.binFail(req, protocol.StatusUnknownCommand, "", swallowLen(req.h.ValueLen()))
	default:
		return c.binFail(req, protocol.StatusUnknownCommand, "", swallowLen(req.h.ValueLen()))
	}
	return nil
}

// binReply buffers a successful response: extras, key and value after the
// header.
func (c *conn) binReply(req *binRequest, cas uint64, ext, key, value []byte) {
	b := protocol.AppendBinaryHeader(c.scratch[:0],
		req.h.Response(protocol.StatusOK, cas, len(ext), len(key), len(ext)+len(key)+len(value)))
	b = append(append(append(b, ext...), key...), value...)
	c.scratch = b
	c.write(b)
}

// binError buffers an error response with msg, or the status's own text.
func (c *conn) binError(req *binRequest, status protocol.Status, msg string) {
	c.scratch = protocol.AppendBinaryError(c.scratch[:0], req.h, status, msg)
	c.write(c.scratch)
}

// binFail answers an error as memcached does: it discards the swallow bytes
// of value the request carries (reading them through the buffer, however
// many were declared), or else sends the reply at once.
func (c *conn) binFail(req *binRequest, status protocol.Status, msg string, swallow int) error {
	c.binError(req, status, msg)
	if swallow > 0 {
		_, err := c.r.Discard(swallow)
		return err
	}
	return c.w.Flush()
}

// swallowLen is how much of a refused unknown or SASL request memcached
// discards when it declares n bytes: memcached keeps the count in a C int,
// so from 2 GB on it is negative, nothing is discarded and the reply goes
// at once; what follows is read as the next request.
func swallowLen(n int) int { return int(int32(uint32(n))) }

// binGet serves get, getk, touch, gat and gatk and their quiet forms. A hit
// is answered with the flags as extras, and the key (getk, gatk) and value
// (all but touch); the reply is built in scratch, the value copied there by
// the store, so a hit allocates nothing.
func (c *conn) binGet(req *binRequest) error {
	touch := req.op == protocol.OpTouch || req.op == protocol.OpGAT || req.op == protocol.OpGATK
	withKey := req.op == protocol.OpGetK || req.op == protocol.OpGATK
	keyLen := 0
	if withKey {
		keyLen = len(req.key)
	}
	const extLen = 4 // flags
	pre := protocol.BinaryHeaderLen + extLen + keyLen
	b := append(c.scratch[:0], make([]byte, pre)...)
	copy(b[pre-keyLen:], req.key[:keyLen])
	var it store.Item
	hit := false
	if body, ok := c.legacyClusterConfig(req.key); ok && !touch {
		b, hit = append(b, body...), true
	} else if st := c.s.store; st != nil {
		var exptime int64
		if touch {
			exptime = int64(protocol.ExptimeExtras(req.ext))
		}
		it, b, hit = st.Get(req.key, b, touch, exptime)
		c.observeGet(req.key, hit, len(b)-pre)
	}
	c.scratch = b
	if !hit {
		return c.binMiss(req, withKey)
	}
	if req.op == protocol.OpTouch {
		b = b[:pre]
	}
	protocol.PutBinaryHeader(b, req.h.Response(protocol.StatusOK, it.CAS, extLen, keyLen, len(b)-protocol.BinaryHeaderLen))
	binary.BigEndian.PutUint32(b[protocol.BinaryHeaderLen:], it.Flags)
	c.write(b)
	return nil
}

// binMiss answers a get miss: nothing for a quiet get, the key for getk and
// gatk, else the error, which memcached sends at once.
func (c *conn) binMiss(req *binRequest, withKey bool) error {
	switch {
	case req.quiet:
		return nil
	case withKey:
		c.scratch = protocol.AppendBinaryHeader(c.scratch[:0],
			req.h.Response(protocol.StatusKeyNotFound, 0, 0, len(req.key), len(req.key)))
		c.scratch = append(c.scratch, req.key...)
		c.write(c.scratch)
		return nil
	}
	return c.binFail(req, protocol.StatusKeyNotFound, "", 0)
}

// binStore serves set, add, replace, append and prepend, the value taken in
// as the text protocol's (intake.go), without its "\r\n". A nonzero CAS
// makes set, add and replace compare-and-swaps, and append and prepend
// conditional on it, as in memcached.
func (c *conn) binStore(req *binRequest, mode protocol.StoreMode) error {
	vlen := req.h.ValueLen()
	var flags, exptime uint32
	if mode != protocol.ModeAppend && mode != protocol.ModePrepend {
		flags, exptime = protocol.StoreExtras(req.ext)
	}
	st := c.s.store
	if st == nil {
		return c.binFail(req, protocol.StatusNotSupported, noStorage, vlen)
	}
	b := dataBlock{key: req.key, flags: flags, exptime: int64(exptime), size: vlen, mode: mode}
	res, err := c.reserve(st, &b)
	if err != nil {
		if errors.Is(err, store.ErrTooLarge) {
			return c.binFail(req, protocol.StatusTooLarge, "", vlen)
		}
		return c.binFail(req, protocol.StatusOutOfMemory, "Out of memory allocating item", vlen)
	}
	commit := mode
	if req.h.CAS != 0 && mode != protocol.ModeAppend && mode != protocol.ModePrepend {
		commit = protocol.ModeCAS
	}
	o := store.SetOptions{CAS: req.h.CAS}
	result, cas, err := c.fill(st, res, &b, commit, &o)
	if err != nil {
		return err
	}
	var status protocol.Status
	switch {
	case result == store.Stored:
		if !req.quiet {
			c.binReply(req, cas, nil, nil, nil)
		}
		return nil
	case result == store.Exists:
		status = protocol.StatusKeyExists
	case result == store.NotFound:
		status = protocol.StatusKeyNotFound
	case mode == protocol.ModeAdd: // memcached names a failed add and
		status = protocol.StatusKeyExists // replace by their likely cause
	case mode == protocol.ModeReplace:
		status = protocol.StatusKeyNotFound
	default:
		status = protocol.StatusNotStored
	}
	return c.binFail(req, status, "", 0)
}

func (c *conn) binDelete(req *binRequest) error {
	st := c.s.store
	if st == nil {
		return c.binFail(req, protocol.StatusNotSupported, noStorage, 0)
	}
	c.observeDelete(req.key)
	switch st.DeleteCAS(req.key, req.h.CAS) {
	case store.Stored:
		if !req.quiet {
			c.binReply(req, 0, nil, nil, nil)
		}
		return nil
	case store.Exists:
		return c.binFail(req, protocol.StatusKeyExists, "", 0)
	}
	return c.binFail(req, protocol.StatusKeyNotFound, "", 0)
}

// binArith serves incr and decr: a miss creates the item with the initial
// value unless the exptime is protocol.NoCreateExptime; a nonzero CAS must
// match. The reply's value is the new count, 8 bytes.
func (c *conn) binArith(req *binRequest) error {
	st := c.s.store
	if st == nil {
		return c.binFail(req, protocol.StatusNotSupported, noStorage, 0)
	}
	delta, initial, exptime := protocol.ArithExtras(req.ext)
	var create *store.Create
	if exptime != protocol.NoCreateExptime {
		create = &store.Create{Initial: initial, Exptime: int64(exptime)}
	}
	v, cas, found, err := st.ArithCAS(req.key, req.op == protocol.OpIncrement, delta, create, req.h.CAS)
	switch {
	case errors.Is(err, store.ErrNonNumeric):
		return c.binFail(req, protocol.StatusDeltaBadValue, "", 0)
	case errors.Is(err, store.ErrCASMismatch):
		return c.binFail(req, protocol.StatusKeyExists, "", 0)
	case err != nil && found:
		return c.binFail(req, protocol.StatusOutOfMemory, "Out of memory incrementing value", 0)
	case err != nil:
		return c.binFail(req, protocol.StatusOutOfMemory, "Out of memory allocating new item", 0)
	case !found && create == nil:
		return c.binFail(req, protocol.StatusKeyNotFound, "", 0)
	}
	if !req.quiet {
		var value [8]byte
		binary.BigEndian.PutUint64(value[:], v)
		c.binReply(req, cas, nil, nil, value[:])
	}
	return nil
}

func (c *conn) binFlush(req *binRequest) {
	c.s.stats.cmdFlush.Add(1)
	if !c.binFlushAllowed(req) {
		return
	}
	if st := c.s.store; st != nil {
		st.FlushAll(int64(protocol.ExptimeExtras(req.ext)))
	}
	if !req.quiet {
		c.binReply(req, 0, nil, nil, nil)
	}
}

// binStat answers stat with the text protocol's stats, one packet per stat
// and an empty one to end them. Like memcached, it takes "reset" and
// "settings" as prefixes, the groups "items", "slabs" and "sizes" by exact
// name, and answers anything else "Not found" (so "conns", which memcached
// serves on the text protocol only, too).
func (c *conn) binStat(req *binRequest) error {
	key := req.key
	var lines []byte
	switch {
	case len(key) == 0:
		lines = c.s.appendGeneralStats(c.scratch[:0])
	case bytes.HasPrefix(key, []byte("reset")):
		c.s.resetStats()
	case bytes.HasPrefix(key, []byte("settings")):
		lines = c.s.appendSettings(c.scratch[:0])
	case string(key) == "items":
		lines = c.s.appendItemStats(c.scratch[:0])
	case string(key) == "slabs":
		lines = c.s.appendSlabStats(c.scratch[:0])
	case string(key) == "sizes":
		lines = protocol.AppendStat(c.scratch[:0], "sizes_status", "disabled")
	default:
		return c.binFail(req, protocol.StatusKeyNotFound, "", 0)
	}
	out := make([]byte, 0, 2*len(lines)+protocol.BinaryHeaderLen)
	eachStat(lines, func(name, value []byte) {
		out = protocol.AppendBinaryStat(out, req.h.Opaque, name, value)
	})
	out = protocol.AppendBinaryStat(out, req.h.Opaque, nil, nil)
	c.write(out)
	return nil
}
