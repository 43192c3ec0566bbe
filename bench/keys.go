package bench

import (
	"math/rand/v2"
	"strconv"
)

// keySpace draws key indexes in [0, n) and spells them.
type keySpace struct {
	n      uint64
	prefix string
	zipf   *zipf // nil: uniform
}

func newKeySpace(c *Config) *keySpace {
	ks := &keySpace{n: c.Keys, prefix: c.KeyPrefix}
	if c.Dist == Zipfian {
		ks.zipf = newZipf(c.Keys, c.ZipfSkew)
	}
	return ks
}

// draw returns a key index. Under the zipfian distribution index 0 is the
// most popular key, index 1 the next, and so on.
func (ks *keySpace) draw(r *rand.Rand) uint64 {
	if ks.zipf != nil {
		return ks.zipf.rank(r) - 1
	}
	return r.Uint64N(ks.n)
}

// appendKey appends the key of index i to dst.
func (ks *keySpace) appendKey(dst []byte, i uint64) []byte {
	dst = append(dst, ks.prefix...)
	return strconv.AppendUint(dst, i, 10)
}

// serverOf spreads keys over n servers by FNV-1a, a hash any client could
// reproduce.
func serverOf(key []byte, n int) int {
	if n == 1 {
		return 0
	}
	h := uint32(2166136261)
	for _, b := range key {
		h ^= uint32(b)
		h *= 16777619
	}
	return int(h % uint32(n))
}
