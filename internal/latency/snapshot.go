package latency

import "time"

// Snapshot is a family's histogram at one moment, summed over shards.
type Snapshot struct {
	Counts [NumBuckets]uint64
	Sum    time.Duration
	Count  uint64
}

// Snapshot reads family f's histogram. Counters are read one by one while
// commands go on, so Count may trail what is counted a moment later, but
// it is always the sum of Counts. A nil Recorder has nothing.
func (r *Recorder) Snapshot(f Family) Snapshot {
	var s Snapshot
	if r == nil || f >= NumFamilies {
		return s
	}
	for i := range r.shards {
		h := &r.shards[i].fam[f]
		for b := range h.counts {
			s.Counts[b] += h.counts[b].Load()
		}
		s.Sum += time.Duration(h.sumNS.Load())
	}
	for _, c := range s.Counts {
		s.Count += c
	}
	return s
}

// Add adds o's counts to s.
func (s *Snapshot) Add(o Snapshot) {
	for i := range s.Counts {
		s.Counts[i] += o.Counts[i]
	}
	s.Sum += o.Sum
	s.Count += o.Count
}

// Quantile estimates the q-th quantile (0 < q <= 1) by interpolating in the
// bucket it falls in; 0 without observations. A quantile in the overflow
// bucket is reported as that bucket's lower bound.
func (s Snapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	rank := q * float64(s.Count)
	var cum uint64
	for i, c := range s.Counts {
		if c == 0 || float64(cum+c) < rank {
			cum += c
			continue
		}
		lo := lowerBound(i)
		if i == NumBuckets-1 {
			return lo
		}
		frac := (rank - float64(cum)) / float64(c)
		return lo + time.Duration(frac*float64(UpperBound(i)-lo))
	}
	return lowerBound(NumBuckets - 1)
}

// Octaves returns the cumulative counts at each power of two of nanoseconds
// from 256 ns to 2^37 ns, the bounds (in seconds) Prometheus buckets are
// given: counts[k] observations took at most bounds[k].
func (s Snapshot) Octaves() (bounds []float64, counts []uint64) {
	bounds = make([]float64, 0, octaves+1)
	counts = make([]uint64, 0, octaves+1)
	cum := s.Counts[0]
	bounds, counts = append(bounds, UpperBound(0).Seconds()), append(counts, cum)
	for o := range octaves {
		for m := range subs {
			cum += s.Counts[1+o*subs+m]
		}
		bounds = append(bounds, UpperBound(1+o*subs+subs-1).Seconds())
		counts = append(counts, cum)
	}
	return bounds, counts
}
