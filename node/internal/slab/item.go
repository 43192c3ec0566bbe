package slab

import (
	"encoding/binary"
)

// ref names a chunk: its offset in the arena in 8-byte units. Zero is none.
type ref uint32

func refOf(off int) ref { return ref(off >> 3) }
func (r ref) off() int  { return int(r) << 3 }

// The item header, at the start of its chunk. Key and value follow it.
const (
	hdrHnext   = 0  // ref: next item in the hash chain, or next free chunk
	hdrPrev    = 4  // ref: LRU neighbour towards the head
	hdrNext    = 8  // ref: LRU neighbour towards the tail
	hdrExptime = 12 // uint32: clock second it expires at, 0 never
	hdrCAS     = 16 // uint64
	hdrAtime   = 24 // uint32: clock second of the last access
	hdrFlags   = 28 // uint32: the client's flags
	hdrVlen    = 32 // uint32
	hdrKlen    = 36 // uint8
	hdrClass   = 37 // uint8
	hdrState   = 38 // uint8: itemFree, itemAllocated or itemLinked
	hdrBits    = 39 // uint8: bitActive, bitFetched, bitStale, bitWon, bitKeyBinary
	hdrSize    = 40 // 8-aligned
)

// Chunk states. A chunk is free (on its class's free list), allocated (being
// filled by a connection, in no list), or linked (in the hash table and LRU).
const (
	itemFree uint8 = iota
	itemAllocated
	itemLinked
)

// Item bits.
const (
	bitActive    uint8 = 1 << iota // read since it last reached the LRU tail
	bitFetched                     // read at least once
	bitStale                       // invalidated by a meta delete/get with I
	bitWon                         // a client was handed the recache token
	bitKeyBinary                   // the key was sent base64-encoded (meta b)
)

// itemSize is the chunk space an item with this key and value needs.
func itemSize(klen, vlen int) int { return hdrSize + klen + vlen }

// header accessors. They work on the arena at a chunk's offset; callers hold
// the locks the package doc describes.
type items []byte

func (m items) u32(r ref, field int) uint32 {
	return binary.LittleEndian.Uint32(m[r.off()+field:])
}
func (m items) setU32(r ref, field int, v uint32) {
	binary.LittleEndian.PutUint32(m[r.off()+field:], v)
}
func (m items) ref(r ref, field int) ref        { return ref(m.u32(r, field)) }
func (m items) setRef(r ref, field int, v ref)  { m.setU32(r, field, uint32(v)) }
func (m items) u8(r ref, field int) uint8       { return m[r.off()+field] }
func (m items) setU8(r ref, field int, v uint8) { m[r.off()+field] = v }
func (m items) cas(r ref) uint64                { return binary.LittleEndian.Uint64(m[r.off()+hdrCAS:]) }
func (m items) setCAS(r ref, v uint64)          { binary.LittleEndian.PutUint64(m[r.off()+hdrCAS:], v) }
func (m items) klen(r ref) int                  { return int(m[r.off()+hdrKlen]) }
func (m items) vlen(r ref) int                  { return int(m.u32(r, hdrVlen)) }
func (m items) class(r ref) int                 { return int(m[r.off()+hdrClass]) }
func (m items) hasBit(r ref, b uint8) bool      { return m[r.off()+hdrBits]&b != 0 }
func (m items) setBit(r ref, b uint8)           { m[r.off()+hdrBits] |= b }
func (m items) clearBit(r ref, b uint8)         { m[r.off()+hdrBits] &^= b }
func (m items) total(r ref) int                 { return itemSize(m.klen(r), m.vlen(r)) }
func (m items) keyOf(r ref) []byte              { o := r.off() + hdrSize; return m[o : o+m.klen(r)] }
func (m items) valueOf(r ref) []byte {
	o := r.off() + hdrSize + m.klen(r)
	return m[o : o+m.vlen(r)]
}

// initItem writes a fresh header and the key into an allocated chunk.
func (m items) initItem(r ref, class int, key []byte, vlen int, flags, exptime uint32) {
	h := m[r.off() : r.off()+hdrSize]
	clear(h)
	binary.LittleEndian.PutUint32(h[hdrExptime:], exptime)
	binary.LittleEndian.PutUint32(h[hdrFlags:], flags)
	binary.LittleEndian.PutUint32(h[hdrVlen:], uint32(vlen))
	h[hdrKlen] = uint8(len(key))
	h[hdrClass] = uint8(class)
	h[hdrState] = itemAllocated
	copy(m[r.off()+hdrSize:], key)
}
