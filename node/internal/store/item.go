package store

import "encoding/binary"

// An item is written where its segment's writes have reached, unaligned:
//
//	 0  CAS        uint64
//	 8  exptime    uint32  clock second it expires at, 0 never
//	12  atime      uint32  clock second of its last access
//	16  vlen       uint32  value bytes; bit 31: a flags word follows the header
//	20  klen       uint8
//	21  bits       uint8   bitFetched, bitStale, bitWon, bitKeyBinary
//	22  [flags     uint32] only when the client gave flags other than 0
//	    key, value
//
// klen and vlen never change once the item is written, so that a segment
// can be walked item by item without the items' locks; the other fields
// are guarded by the item's shard lock.
const (
	hdrCAS     = 0
	hdrExptime = 8
	hdrAtime   = 12
	hdrVlen    = 16
	hdrKlen    = 20
	hdrBits    = 21
	hdrSize    = 22
	flagsSize  = 4
	hasFlags   = 1 << 31
)

// Item bits.
const (
	bitFetched   uint8 = 1 << iota // read at least once
	bitStale                       // invalidated by a meta delete/get with I
	bitWon                         // a client was handed the recache token
	bitKeyBinary                   // the key was sent base64-encoded (meta b)
)

// itemSize is the bytes an item takes in its segment.
func itemSize(klen, vlen int, flags uint32) int {
	n := hdrSize + klen + vlen
	if flags != 0 {
		n += flagsSize
	}
	return n
}

// items is the arena; an item is named by its offset in it (a loc).
type items []byte

func (m items) u32(r loc, field int) uint32 {
	return binary.LittleEndian.Uint32(m[int(r)+field:])
}
func (m items) setU32(r loc, field int, v uint32) {
	binary.LittleEndian.PutUint32(m[int(r)+field:], v)
}
func (m items) cas(r loc) uint64           { return binary.LittleEndian.Uint64(m[r:]) }
func (m items) setCAS(r loc, v uint64)     { binary.LittleEndian.PutUint64(m[r:], v) }
func (m items) klen(r loc) int             { return int(m[int(r)+hdrKlen]) }
func (m items) vlen(r loc) int             { return int(m.u32(r, hdrVlen) &^ hasFlags) }
func (m items) hasBit(r loc, b uint8) bool { return m[int(r)+hdrBits]&b != 0 }
func (m items) setBit(r loc, b uint8)      { m[int(r)+hdrBits] |= b }
func (m items) clearBit(r loc, b uint8)    { m[int(r)+hdrBits] &^= b }
func (m items) exptime(r loc) uint32       { return m.u32(r, hdrExptime) }
func (m items) atime(r loc) uint32         { return m.u32(r, hdrAtime) }

// keyAt is where the key starts.
func (m items) keyAt(r loc) int {
	if m.u32(r, hdrVlen)&hasFlags != 0 {
		return int(r) + hdrSize + flagsSize
	}
	return int(r) + hdrSize
}

func (m items) flags(r loc) uint32 {
	if m.u32(r, hdrVlen)&hasFlags == 0 {
		return 0
	}
	return m.u32(r, hdrSize)
}

func (m items) keyOf(r loc) []byte { o := m.keyAt(r); return m[o : o+m.klen(r)] }

func (m items) valueOf(r loc) []byte {
	o := m.keyAt(r) + m.klen(r)
	return m[o : o+m.vlen(r)]
}

// total is the bytes r takes in its segment.
func (m items) total(r loc) int { return m.keyAt(r) - int(r) + m.klen(r) + m.vlen(r) }

// initItem writes a fresh header and the key at r.
func (m items) initItem(r loc, key []byte, vlen int, flags, exptime uint32) {
	h := m[r : int(r)+hdrSize]
	clear(h)
	binary.LittleEndian.PutUint32(h[hdrExptime:], exptime)
	vw := uint32(vlen)
	o := int(r) + hdrSize
	if flags != 0 {
		vw |= hasFlags
		binary.LittleEndian.PutUint32(m[o:], flags)
		o += flagsSize
	}
	binary.LittleEndian.PutUint32(h[hdrVlen:], vw)
	h[hdrKlen] = uint8(len(key))
	copy(m[o:], key)
}
