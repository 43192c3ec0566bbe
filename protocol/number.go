package protocol

import (
	"bytes"
	"math"
)

// Numbers in commands are read exactly as memcached reads them, with C's
// strtoull and strtol and memcached's safe_* checks around them, so that a
// line memcached accepts is accepted here with the same value.

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// strto parses b as C's strtoull/strtol in base 10 do, then applies
// memcached's check that the number ends the token: leading spaces and a
// sign are allowed, a minus negates in two's complement, and overflow of
// the magnitude fails. max is the largest magnitude the C type holds
// without ERANGE.
func strto(b []byte, max uint64) (v uint64, neg, ok bool) {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (max-d)/10 {
			return 0, false, false
		}
		v = v*10 + d
	}
	if i == start || (i < len(b) && b[i] != 0 && !isCSpace(b[i])) {
		return 0, false, false
	}
	return v, neg, true
}

// ParseUint64 parses a decimal uint64 as memcached's safe_strtoull does,
// which also reads counters for incr, decr and ma: a trailing space ends the
// number (so space-padded counters parse), and a minus sign is refused only
// when the negated value looks negative.
func ParseUint64(b []byte) (uint64, bool) {
	v, neg, ok := strto(b, math.MaxUint64)
	if !ok {
		return 0, false
	}
	if neg {
		v = -v
	}
	if int64(v) < 0 && hasMinus(b) {
		return 0, false
	}
	return v, true
}

// ParseUint32 is memcached's safe_strtoul: strtoul on a 64-bit long,
// truncated to 32 bits.
func ParseUint32(b []byte) (uint32, bool) {
	v, ok := ParseUint64(b)
	return uint32(v), ok
}

// ParseInt32 is memcached's safe_strtol: strtol on a 64-bit long, truncated
// to 32 bits without a range check (memcached 1.6.18 does the same, so
// "ms k 4294967298" declares 2 bytes).
func ParseInt32(b []byte) (int32, bool) {
	v, neg, ok := strto(b, math.MaxInt64+1)
	if !ok || (!neg && v > math.MaxInt64) {
		return 0, false
	}
	if neg {
		v = -v
	}
	return int32(int64(v)), true
}

// hasMinus is strchr(str, '-') on a C string: it looks up to a NUL.
func hasMinus(b []byte) bool {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return bytes.IndexByte(b, '-') >= 0
}
