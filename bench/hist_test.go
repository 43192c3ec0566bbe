package bench

import (
	"testing"
	"time"
)

func TestHistogramPercentiles(t *testing.T) {
	h := newHist()
	// 1µs, 2µs, ... 10000µs: the q-th percentile is q*100µs.
	for i := 1; i <= 10000; i++ {
		record(h, time.Duration(i)*time.Microsecond)
	}
	l := summarize(h)
	if l.Count != 10000 {
		t.Fatalf("count %d, want 10000", l.Count)
	}
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"p50", l.P50, 5000 * time.Microsecond},
		{"p90", l.P90, 9000 * time.Microsecond},
		{"p99", l.P99, 9900 * time.Microsecond},
		{"p99.9", l.P999, 9990 * time.Microsecond},
		{"max", l.Max, 10000 * time.Microsecond},
		{"mean", l.Mean, 5000500 * time.Nanosecond},
	} {
		// Three significant digits: within 0.1%.
		if d := c.got - c.want; d < -c.want/1000 || d > c.want/1000 {
			t.Errorf("%s = %v, want %v within 0.1%%", c.name, c.got, c.want)
		}
	}
}

func TestHistogramClampsAndMerges(t *testing.T) {
	a, b := newHist(), newHist()
	record(a, 0)             // below the lowest value: counted as 1ns
	record(b, 2*time.Minute) // beyond the highest: counted as a minute
	a.Merge(b)
	l := summarize(a)
	if l.Count != 2 || l.P50 != 1 || l.Max < time.Minute || l.Max > time.Minute+time.Minute/1000 {
		t.Fatalf("got %+v, want 2 values: 1ns and about a minute", l)
	}
	if (summarize(newHist()) != Latency{}) {
		t.Fatal("an empty histogram should summarise to zeros")
	}
}
