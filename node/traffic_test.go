package node

import (
	"sync/atomic"
	"testing"
)

func TestTrafficTotals(t *testing.T) {
	var tr traffic
	for conn := uint64(0); conn < 3*trafficShards; conn++ {
		sh := tr.of(conn)
		sh.read.Add(conn)
		sh.written.Add(2 * conn)
		sh.meta.Add(1)
	}
	n := uint64(3 * trafficShards)
	sum := n * (n - 1) / 2
	if r, w, m := tr.totals(); r != sum || w != 2*sum || m != n {
		t.Errorf("totals = %d, %d, %d; want %d, %d, %d", r, w, m, sum, 2*sum, n)
	}
	tr.reset()
	if r, w, m := tr.totals(); r != 0 || w != 0 || m != 0 {
		t.Errorf("after reset: %d, %d, %d", r, w, m)
	}
}

// BenchmarkTrafficCounters: what every request's byte counting costs with
// all cores on one counter, and with connections spread over shards (run
// with -cpu 1,2,...: the gap is the cache line moving between cores).
func BenchmarkTrafficCounters(b *testing.B) {
	b.Run("one-counter", func(b *testing.B) {
		var read, written atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				read.Add(40)
				written.Add(120)
			}
		})
	})
	b.Run("sharded", func(b *testing.B) {
		var tr traffic
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			sh := tr.of(next.Add(1))
			for pb.Next() {
				sh.read.Add(40)
				sh.written.Add(120)
			}
		})
	})
}
