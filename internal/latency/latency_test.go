package latency

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverEveryDuration(t *testing.T) {
	// Every bucket's bounds hold exactly the durations bucket() puts there.
	for i := range NumBuckets - 1 {
		lo, hi := lowerBound(i), UpperBound(i)
		if hi <= lo {
			t.Fatalf("bucket %d: (%v, %v] is empty", i, lo, hi)
		}
		if got := bucket(hi); got != i {
			t.Errorf("bucket(%d ns) = %d, want %d", hi, got, i)
		}
		if got := bucket(hi + 1); got != i+1 {
			t.Errorf("bucket(%d ns) = %d, want %d", hi+1, got, i+1)
		}
		if i > 0 && float64(hi-lo)/float64(lo) > 0.125+1e-9 {
			t.Errorf("bucket %d: (%v, %v] is wider than 12.5%%", i, lo, hi)
		}
	}
	for _, d := range []time.Duration{-5, 0, 1, 256} {
		if got := bucket(d); got != 0 {
			t.Errorf("bucket(%d) = %d, want 0", d, got)
		}
	}
	if got := bucket(time.Duration(1<<63 - 1)); got != NumBuckets-1 {
		t.Errorf("bucket(max) = %d, want the overflow bucket %d", got, NumBuckets-1)
	}
	if got, want := UpperBound(0), 256*time.Nanosecond; got != want {
		t.Errorf("first bound %v, want %v", got, want)
	}
}

func TestQuantilesAgainstSortedSamples(t *testing.T) {
	r := NewRecorder()
	rng := rand.New(rand.NewPCG(1, 2))
	var all []time.Duration
	for i := range 20000 {
		// Log-uniform from 300 ns to 30 ms, over several connections.
		d := time.Duration(300 * float64(uint64(1)<<rng.IntN(17)) * (1 + rng.Float64()))
		all = append(all, d)
		r.Observe(uint64(i), Get, d)
	}
	slices.Sort(all)
	s := r.Snapshot(Get)
	if s.Count != uint64(len(all)) {
		t.Fatalf("count %d, want %d", s.Count, len(all))
	}
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	if s.Sum != sum {
		t.Errorf("sum %v, want %v", s.Sum, sum)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := all[int(q*float64(len(all)))-1]
		got := s.Quantile(q)
		if ratio := float64(got) / float64(exact); ratio < 1/1.125 || ratio > 1.125 {
			t.Errorf("q%v = %v, exact %v: off by more than a bucket", q, got, exact)
		}
	}
	if s := r.Snapshot(Set); s.Count != 0 || s.Quantile(0.5) != 0 {
		t.Errorf("set has %d observations, quantile %v", s.Count, s.Quantile(0.5))
	}
}

func TestOctavesAreCumulative(t *testing.T) {
	r := NewRecorder()
	for _, d := range []time.Duration{100, 256, 257, 512, 513, time.Second, 200 * time.Second} {
		r.Observe(0, Set, d)
	}
	bounds, counts := r.Snapshot(Set).Octaves()
	want := map[float64]uint64{256e-9: 2, 512e-9: 4, 1024e-9: 5, 1.073741824: 6, 137.438953472: 6}
	for i, b := range bounds {
		if w, ok := want[b]; ok && counts[i] != w {
			t.Errorf("le %v: %d, want %d", b, counts[i], w)
		}
		if i > 0 && (b <= bounds[i-1] || counts[i] < counts[i-1]) {
			t.Errorf("bucket %d (le %v, %d) not above the one before", i, b, counts[i])
		}
	}
	if last := bounds[len(bounds)-1]; last != 137.438953472 {
		t.Errorf("last bound %v", last)
	}
}

func TestStatsLines(t *testing.T) {
	r := NewRecorder()
	if got := string(r.AppendStats(nil)); got != "" {
		t.Errorf("no traffic: %q, want nothing", got)
	}
	// 1000 gets of exactly 10 µs land in bucket (9.216, 10.240] µs and 3 ms
	// in (2883.584, 3145.728] µs: the quantiles interpolate in them.
	for i := range 1000 {
		r.Observe(uint64(i), Get, 10*time.Microsecond)
	}
	r.Observe(0, Delete, 3*time.Millisecond)
	want := "STAT get:count 1000\r\n" +
		"STAT get:p50_us 9.7\r\n" + // 9.216 + 0.5 × 1.024
		"STAT get:p90_us 10.1\r\n" +
		"STAT get:p99_us 10.2\r\n" +
		"STAT get:p999_us 10.2\r\n" +
		"STAT delete:count 1\r\n" +
		"STAT delete:p50_us 3014.7\r\n" + // 2883.584 + 0.5 × 262.144
		"STAT delete:p90_us 3119.5\r\n" +
		"STAT delete:p99_us 3143.1\r\n" +
		"STAT delete:p999_us 3145.5\r\n" +
		"STAT all:count 1001\r\n" +
		"STAT all:p50_us 9.7\r\n" +
		"STAT all:p90_us 10.1\r\n" +
		"STAT all:p99_us 10.2\r\n" +
		"STAT all:p999_us 10.2\r\n" // rank 999.999 of 1001 is still a get
	if got := string(r.AppendStats(nil)); got != want {
		t.Errorf("stats latency:\n%s\nwant\n%s", got, want)
	}
	r.Reset()
	if got := string(r.AppendStats(nil)); got != "" {
		t.Errorf("after reset: %q", got)
	}
}

func TestNilRecorder(t *testing.T) {
	var r *Recorder
	r.Done(1, Get, r.Start())
	r.Reset()
	if got := r.AppendStats(nil); len(got) != 0 {
		t.Errorf("nil recorder: %q", got)
	}
}

func TestRecordingDoesNotAllocate(t *testing.T) {
	r := NewRecorder()
	n := testing.AllocsPerRun(1000, func() {
		r.Done(7, Meta, r.Start())
	})
	if n != 0 {
		t.Errorf("%v allocations per command", n)
	}
}

func BenchmarkDone(b *testing.B) {
	r := NewRecorder()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		id := uint64(rand.Uint32())
		for pb.Next() {
			r.Done(id, Get, r.Start())
		}
	})
}
