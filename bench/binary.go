package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// binaryCodec speaks memcached's binary protocol: SET, GETK, and for a
// multi-get a run of GETKQ ended by NOOP (only hits are answered).
type binaryCodec struct {
	scratch
	hdr [binHeaderLen]byte
}

const (
	binHeaderLen = 24
	binReqMagic  = 0x80
	binResMagic  = 0x81

	opSet   = 0x01
	opNoop  = 0x0a
	opGetK  = 0x0c
	opGetKQ = 0x0d

	statusOK          = 0x0000
	statusNotFound    = 0x0001
	statusExists      = 0x0002
	statusNotStored   = 0x0005
	setExtrasLen      = 8 // flags, expiration
	getReplyExtrasLen = 4 // flags
)

func (c *binaryCodec) writeHeader(w *bufio.Writer, op byte, keyLen, extLen, bodyLen int) {
	h := c.hdr[:]
	clear(h)
	h[0] = binReqMagic
	h[1] = op
	binary.BigEndian.PutUint16(h[2:], uint16(keyLen))
	h[4] = byte(extLen)
	binary.BigEndian.PutUint32(h[8:], uint32(bodyLen))
	w.Write(h)
}

func (c *binaryCodec) writeSet(w *bufio.Writer, key, value []byte) {
	c.writeHeader(w, opSet, len(key), setExtrasLen, setExtrasLen+len(key)+len(value))
	clear(c.hdr[:setExtrasLen])
	w.Write(c.hdr[:setExtrasLen]) // flags 0, no expiry
	w.Write(key)
	w.Write(value)
}

func (c *binaryCodec) writeGet(w *bufio.Writer, keys [][]byte) {
	if len(keys) == 1 {
		c.writeHeader(w, opGetK, len(keys[0]), 0, len(keys[0]))
		w.Write(keys[0])
		return
	}
	for _, k := range keys {
		c.writeHeader(w, opGetKQ, len(k), 0, len(k))
		w.Write(k)
	}
	c.writeHeader(w, opNoop, 0, 0, 0)
}

// binReply is a response header's fields that matter here.
type binReply struct {
	op             byte
	status         uint16
	keyLen, extLen int
	bodyLen        int
}

func (c *binaryCodec) readHeader(r *bufio.Reader) (binReply, error) {
	h := c.hdr[:]
	if _, err := io.ReadFull(r, h); err != nil {
		return binReply{}, err
	}
	if h[0] != binResMagic {
		return binReply{}, badReply("response magic", h)
	}
	rep := binReply{
		op:      h[1],
		keyLen:  int(binary.BigEndian.Uint16(h[2:])),
		extLen:  int(h[4]),
		status:  binary.BigEndian.Uint16(h[6:]),
		bodyLen: int(binary.BigEndian.Uint32(h[8:])),
	}
	if rep.bodyLen > maxReplyValue || rep.keyLen+rep.extLen > rep.bodyLen {
		return binReply{}, fmt.Errorf("%w: response body of %d bytes (key %d, extras %d)",
			ErrProtocol, rep.bodyLen, rep.keyLen, rep.extLen)
	}
	return rep, nil
}

func (c *binaryCodec) readSet(r *bufio.Reader) (outcome, error) {
	rep, err := c.readHeader(r)
	if err != nil {
		return errReply, err
	}
	if rep.op != opSet {
		return errReply, badReply("reply to set", c.hdr[:])
	}
	if _, err := r.Discard(rep.bodyLen); err != nil {
		return errReply, err
	}
	switch rep.status {
	case statusOK:
		return ok, nil
	case statusNotFound, statusExists, statusNotStored:
		return notStored, nil
	}
	return errReply, nil
}

func (c *binaryCodec) readGet(r *bufio.Reader, keys [][]byte, s sink) (outcome, error) {
	single := len(keys) == 1
	next := 0
	res := ok
	for {
		rep, err := c.readHeader(r)
		if err != nil {
			return errReply, err
		}
		if rep.op == opNoop && !single {
			_, err := r.Discard(rep.bodyLen)
			return res, err
		}
		if rep.op != opGetK && rep.op != opGetKQ {
			return errReply, badReply("reply to get", c.hdr[:])
		}
		body, err := c.readData(r, rep.bodyLen)
		if err != nil {
			return errReply, err
		}
		switch {
		case rep.status == statusNotFound:
		case rep.status != statusOK:
			res = errReply
		case rep.extLen != getReplyExtrasLen || rep.keyLen == 0:
			return errReply, badReply("get response body", c.hdr[:])
		default:
			key := body[rep.extLen : rep.extLen+rep.keyLen]
			if i := match(keys, next, key); i >= 0 {
				next = i + 1
				s.hit(keys[i], body[rep.extLen+rep.keyLen:])
			} else {
				s.unasked(bytes.Clone(key))
			}
		}
		if single {
			return res, nil
		}
	}
}
