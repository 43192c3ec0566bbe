package client

import (
	"slices"
	"time"

	jump "github.com/dgryski/go-jump"
)

// A ring is one immutable partition of the key space over the live nodes:
// the published list less the nodes this client has found down. Lookups load
// the current ring once and never lock.
type ring struct {
	version uint64
	// slots holds the live node at each position, nil at a gap (no node, a
	// node that is not active, or one found down). Its length, the number of
	// jump buckets, is the highest live position + 1, so a dead node at the
	// end is the same as no node there: the ring a client makes when it finds
	// the last node down is the ring every client makes from the list that
	// drops it, and its keys move once, not twice.
	slots []*node
	live  []*node // the live nodes in position order
	// full is the number of positions of the full list: every position
	// this client has seen in a published list, live or not. A key's
	// primary owner is its jump bucket among them; see primaryOf.
	full int

	// prev and warmUntil drive warm-up: until warmUntil, a miss on a key's
	// owner is retried on its owner in prev, the ring before the change.
	prev      *ring
	warmUntil time.Time
}

// slot places a live node at a position.
type slot struct {
	pos  int
	node *node
}

func newRing(version uint64, live []slot) *ring {
	r := &ring{version: version}
	size := 0
	for _, s := range live {
		size = max(size, s.pos+1)
	}
	r.slots = make([]*node, size)
	for _, s := range live {
		r.slots[s.pos] = s.node
	}
	for _, n := range r.slots {
		if n != nil {
			r.live = append(r.live, n)
		}
	}
	return r
}

// maxAttempts bounds the rehashing of a key that lands on gaps. Each attempt
// lands on a live slot with probability live/len(slots), so with half the
// slots dead 64 attempts all miss once in 2^64 keys.
const maxAttempts = 64

// owner is the node that holds key.
func (r *ring) owner(key string) *node { return r.ownerOf(hashKey(key)) }

// ownerOf maps a key hash to its node: jump hash over the slots, and, when
// the key lands on a gap, jump hash again on a re-mixed hash, attempt by
// attempt, until it lands on a live node. The answer depends only on the set
// of live positions, not on the order in which nodes failed, so every client
// that sees the same list computes the same owner. A gap's keys spread
// evenly over the live nodes and no other key moves, since a key that lands
// on a live node at its first attempt never looks further.
func (r *ring) ownerOf(h uint64) *node {
	switch len(r.live) {
	case 0:
		return nil
	case 1:
		return r.live[0]
	}
	for range maxAttempts {
		if n := r.slots[jump.Hash(h, len(r.slots))]; n != nil {
			return n
		}
		h = rehash(h)
	}
	return r.live[h%uint64(len(r.live))]
}

// primaryOf reports key's primary position, its jump bucket over the full
// list, and whether n is the live node there. A write on any other node
// lands on a fail-over owner: the primary is down, or missing from the list.
func (r *ring) primaryOf(key string, n *node) (pos int, primary bool) {
	if r.full == 0 {
		return 0, true
	}
	pos = int(jump.Hash(hashKey(key), r.full))
	return pos, pos < len(r.slots) && r.slots[pos] == n
}

// without is r less the nodes in failed, for the retries of a call that
// found them failing before this client's ring says so: a retry must go to
// the fail-over owner, not to the failed node again.
func (r *ring) without(failed []*node) *ring {
	if !slices.ContainsFunc(r.live, func(n *node) bool { return slices.Contains(failed, n) }) {
		return r
	}
	var live []slot
	for pos, n := range r.slots {
		if n != nil && !slices.Contains(failed, n) {
			live = append(live, slot{pos, n})
		}
	}
	w := newRing(r.version, live)
	w.full, w.prev, w.warmUntil = r.full, r.prev, r.warmUntil
	return w
}

// onlyLive reports whether n is the one live node of r.
func (r *ring) onlyLive(n *node) bool { return len(r.live) == 1 && r.live[0] == n }

// warming reports whether warm-up applies at now.
func (r *ring) warming(now time.Time) bool {
	return r.prev != nil && now.Before(r.warmUntil)
}

// prevOwner is the node that held key before the last change, or nil when
// warm-up does not apply or the owner has not changed.
func (r *ring) prevOwner(key string, owner *node, now time.Time) *node {
	if !r.warming(now) {
		return nil
	}
	p := r.prev.owner(key)
	if p == nil || p == owner || p.down.Load() {
		return nil
	}
	return p
}

// hashKey is a key's 64-bit hash: FNV-1a, finished with murmur3's fmix64
// because jump hash needs all 64 bits well mixed. It is simple on purpose so
// that clients in other languages can compute the same owners.
func hashKey(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return fmix64(h)
}

// rehash derives the hash of a key's next attempt (a splitmix64 step).
func rehash(h uint64) uint64 { return fmix64(h + 0x9e3779b97f4a7c15) }

func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
