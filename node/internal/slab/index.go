package slab

import (
	"bytes"
	"sync"
)

// shardCount is how many independently locked parts the index has; a key's
// shard is the top bits of its hash.
const (
	shardBits  = 6
	shardCount = 1 << shardBits
)

const initialBuckets = 1 << 10

// shard is one part of the index: a chained hash table of chunk references
// (the chains run through the items' headers), and the counters of the
// commands that took its lock.
type shard struct {
	mu      sync.Mutex
	buckets []ref
	count   int
	stats   OpCounters
	byClass []ClassOps // by the class of the item each hit found, memcached's per-class stats slabs counters
	_       [64]byte
}

func shardOf(hash uint32) int { return int(hash >> (32 - shardBits)) }

func (sh *shard) bucket(hash uint32) *ref {
	return &sh.buckets[hash&uint32(len(sh.buckets)-1)]
}

// find returns the linked item with this key, or 0.
func (sh *shard) find(m items, key []byte, hash uint32) ref {
	for r := *sh.bucket(hash); r != 0; r = m.ref(r, hdrHnext) {
		if m.klen(r) == len(key) && bytes.Equal(m.keyOf(r), key) {
			return r
		}
	}
	return 0
}

func (sh *shard) insert(m items, r ref, hash uint32, hashKey func([]byte) uint32) {
	if sh.count >= len(sh.buckets)+len(sh.buckets)/2 {
		sh.grow(m, hashKey)
	}
	b := sh.bucket(hash)
	m.setRef(r, hdrHnext, *b)
	*b = r
	sh.count++
}

func (sh *shard) delete(m items, r ref, hash uint32) {
	b := sh.bucket(hash)
	if *b == r {
		*b = m.ref(r, hdrHnext)
		sh.count--
		return
	}
	for p := *b; p != 0; p = m.ref(p, hdrHnext) {
		if m.ref(p, hdrHnext) == r {
			m.setRef(p, hdrHnext, m.ref(r, hdrHnext))
			sh.count--
			return
		}
	}
}

// replace puts chunk nr in r's place in its hash chain.
func (sh *shard) replace(m items, r, nr ref, hash uint32) {
	m.setRef(nr, hdrHnext, m.ref(r, hdrHnext))
	b := sh.bucket(hash)
	if *b == r {
		*b = nr
		return
	}
	for p := *b; p != 0; p = m.ref(p, hdrHnext) {
		if m.ref(p, hdrHnext) == r {
			m.setRef(p, hdrHnext, nr)
			return
		}
	}
}

// grow doubles the table. Items keep no hash (it would cost every item 4
// bytes), so their keys are hashed again.
func (sh *shard) grow(m items, hashKey func([]byte) uint32) {
	old := sh.buckets
	sh.buckets = make([]ref, 2*len(old))
	for _, r := range old {
		for r != 0 {
			next := m.ref(r, hdrHnext)
			b := sh.bucket(hashKey(m.keyOf(r)))
			m.setRef(r, hdrHnext, *b)
			*b = r
			r = next
		}
	}
}
