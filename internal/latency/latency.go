// Package latency records how long a node takes to serve each command
// family, from the command's line parsed to its reply written into the
// connection's buffer, in histograms that cost two atomic adds and no
// allocation per command. `stats latency` and the Prometheus histograms
// read the same counts.
//
// A histogram has eight linear buckets per power of two of nanoseconds
// (each at most 12.5% wide) from 256 ns to about 137 s, so a percentile read
// from it is within 12.5% of the true value; Prometheus gets one bucket per
// power of two.
package latency

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Family is a group of commands timed together.
type Family uint8

// The families, as `stats latency` and the metrics name them.
const (
	Get Family = iota
	Set
	Delete
	IncrDecr
	Touch
	Meta
	Config
	NumFamilies
	// None is a command that is not timed (stats, version, flush_all...).
	None Family = 255
)

var familyNames = [NumFamilies]string{"get", "set", "delete", "incr_decr", "touch", "meta", "config"}

// String is the family's name: get, set, delete, incr_decr, touch, meta or
// config.
func (f Family) String() string {
	if f < NumFamilies {
		return familyNames[f]
	}
	return "none"
}

const (
	subBits = 3 // 8 buckets per power of two
	subs    = 1 << subBits
	loExp   = 8  // the first bucket is [0, 256 ns]
	hiExp   = 36 // the last finite octave ends at 2^37 ns, about 137 s
	octaves = hiExp - loExp + 1
	// NumBuckets counts the underflow bucket, the octaves' buckets and the
	// overflow bucket.
	NumBuckets = 1 + octaves*subs + 1
	// shards spread connections over counters, so that cores serving
	// different connections rarely write the same cache line.
	shards = 8
)

// bucket is the index of the bucket holding d: bucket i holds (lo_i, hi_i]
// nanoseconds, as Prometheus's buckets hold values up to their bound.
func bucket(d time.Duration) int {
	v := uint64(d)
	if d <= 0 {
		return 0
	}
	v-- // (lo, hi] rather than [lo, hi)
	if v < 1<<loExp {
		return 0
	}
	e := bits.Len64(v) - 1
	if e > hiExp {
		return NumBuckets - 1
	}
	m := int(v>>(e-subBits)) & (subs - 1)
	return 1 + (e-loExp)*subs + m
}

// UpperBound is bucket i's upper bound; the overflow bucket has none
// (the largest Duration).
func UpperBound(i int) time.Duration {
	switch {
	case i <= 0:
		return 1 << loExp
	case i >= NumBuckets-1:
		return time.Duration(1<<63 - 1)
	}
	e := loExp + (i-1)/subs
	m := (i - 1) % subs
	return time.Duration(uint64(subs+m+1) << (e - subBits))
}

// lowerBound is bucket i's lower bound (exclusive).
func lowerBound(i int) time.Duration {
	if i <= 0 {
		return 0
	}
	return UpperBound(i - 1)
}

type histogram struct {
	counts [NumBuckets]atomic.Uint64
	sumNS  atomic.Uint64
}

type shard struct {
	fam [NumFamilies]histogram
	_   [64]byte // keeps the next shard's first counters off this one's last line
}

// Recorder holds a histogram per family. A nil Recorder records nothing.
type Recorder struct {
	shards [shards]shard
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return new(Recorder) }

// epoch is what Start counts from: reading only the monotonic clock costs
// half of time.Now, which reads the wall clock too.
var epoch = time.Now()

// Start is when a command starts, on the monotonic clock; pass it to Done.
func (r *Recorder) Start() time.Duration {
	if r == nil {
		return 0
	}
	return time.Since(epoch)
}

// Done records a command of family f started at start, served on
// connection conn (which picks the counters it adds to).
func (r *Recorder) Done(conn uint64, f Family, start time.Duration) {
	if r == nil || f >= NumFamilies {
		return
	}
	r.Observe(conn, f, time.Since(epoch)-start)
}

// Observe records one command of family f that took d.
func (r *Recorder) Observe(conn uint64, f Family, d time.Duration) {
	h := &r.shards[conn%shards].fam[f]
	h.counts[bucket(d)].Add(1)
	if d > 0 {
		h.sumNS.Add(uint64(d))
	}
}

// Reset zeroes every histogram (`stats reset`). Commands finishing
// meanwhile may be kept or lost.
func (r *Recorder) Reset() {
	if r == nil {
		return
	}
	for s := range r.shards {
		for f := range r.shards[s].fam {
			h := &r.shards[s].fam[f]
			for i := range h.counts {
				h.counts[i].Store(0)
			}
			h.sumNS.Store(0)
		}
	}
}
