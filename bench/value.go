package bench

import (
	"bytes"
	"errors"
	"hash/crc32"
	"math/rand/v2"
)

// A framed value is
//
//	<CRC-32C of the rest, 8 hex digits> ' ' <key> ' ' <filler>
//
// so a value read back proves both which key it was written under and that
// none of its bytes changed. The filler differs from write to write, so two
// writes of one key are told apart too, though any of them is a right answer.
const frameOverhead = 8 + 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Reasons a value read back is wrong.
var (
	ErrValueShort    = errors.New("value too short to carry a frame")
	ErrValueFrame    = errors.New("value is not framed")
	ErrValueKey      = errors.New("value was written under another key")
	ErrValueChecksum = errors.New("value checksum mismatch")
)

// appendFramed appends a framed value of n bytes for key, taking the filler
// from the front of filler (which must be long enough).
func appendFramed(dst []byte, key []byte, n int, filler []byte) []byte {
	start := len(dst)
	dst = append(dst, "00000000 "...)
	dst = append(dst, key...)
	dst = append(dst, ' ')
	dst = append(dst, filler[:n-frameOverhead-len(key)]...)
	putHex32(dst[start:start+8], crc32.Checksum(dst[start+9:], castagnoli))
	return dst
}

// CheckValue reports whether v is a framed value written under key, intact.
func CheckValue(key, v []byte) error {
	if len(v) < frameOverhead+len(key) {
		return ErrValueShort
	}
	want, ok := parseHex32(v[:8])
	if !ok || v[8] != ' ' {
		return ErrValueFrame
	}
	rest := v[9:]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return ErrValueFrame
	}
	if !bytes.Equal(rest[:sp], key) {
		return ErrValueKey
	}
	if crc32.Checksum(rest, castagnoli) != want {
		return ErrValueChecksum
	}
	return nil
}

const hexDigits = "0123456789abcdef"

func putHex32(dst []byte, x uint32) {
	for i := 7; i >= 0; i-- {
		dst[i] = hexDigits[x&0xf]
		x >>= 4
	}
}

func parseHex32(b []byte) (uint32, bool) {
	var x uint32
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		x = x<<4 | uint32(c)
	}
	return x, true
}

// fillerSlack is how far into the filler pool a value may start, so that
// successive values differ.
const fillerSlack = 4096

// newFiller returns printable pseudo-random bytes, enough for any value of
// up to max bytes starting anywhere in the first fillerSlack bytes.
func newFiller(seed uint64, max int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, max+fillerSlack)
	for i := range b {
		b[i] = 'a' + byte(r.IntN(26))
	}
	return b
}
