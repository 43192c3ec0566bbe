package node

import "sync/atomic"

// trafficShards spreads the counters every request moves over cache lines
// by connection: with one counter, every core serving a request writes the
// same line, which at tens of cores bounds the whole server's rate
// (memcached keeps these per worker thread for the same reason).
const trafficShards = 64

// traffic is the server's per-request counters, sharded by connection and
// summed when stats are read.
type traffic struct {
	shards [trafficShards]trafficShard
}

// trafficShard is one connection's share; the padding keeps each shard on
// a cache line of its own.
type trafficShard struct {
	read, written, meta atomic.Uint64
	_                   [64 - 24]byte
}

func (t *traffic) of(conn uint64) *trafficShard { return &t.shards[conn%trafficShards] }

// totals sums the shards.
func (t *traffic) totals() (read, written, meta uint64) {
	for i := range t.shards {
		sh := &t.shards[i]
		read += sh.read.Load()
		written += sh.written.Load()
		meta += sh.meta.Load()
	}
	return read, written, meta
}

// reset zeroes every shard, for stats reset.
func (t *traffic) reset() {
	for i := range t.shards {
		t.shards[i].read.Store(0)
		t.shards[i].written.Store(0)
		t.shards[i].meta.Store(0)
	}
}
