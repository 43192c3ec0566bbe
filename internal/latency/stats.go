package latency

import (
	"strconv"

	"github.com/shoal-cache/shoal/protocol"
)

// quantiles are the percentiles `stats latency` reports, by name.
var quantiles = []struct {
	name string
	q    float64
}{{"p50_us", 0.5}, {"p90_us", 0.9}, {"p99_us", 0.99}, {"p999_us", 0.999}}

// AppendStats appends `stats latency`'s lines: for each family with
// traffic, then for all of them ("all"),
//
//	STAT <family>:count N
//	STAT <family>:p50_us X
//	STAT <family>:p90_us X
//	STAT <family>:p99_us X
//	STAT <family>:p999_us X
//
// with X in microseconds, one decimal.
func (r *Recorder) AppendStats(b []byte) []byte {
	var all Snapshot
	for f := range NumFamilies {
		s := r.Snapshot(f)
		if s.Count == 0 {
			continue
		}
		all.Add(s)
		b = appendSnapshot(b, f.String(), s)
	}
	if all.Count == 0 {
		return b
	}
	return appendSnapshot(b, "all", all)
}

func appendSnapshot(b []byte, name string, s Snapshot) []byte {
	b = protocol.AppendStat(b, name+":count", strconv.FormatUint(s.Count, 10))
	for _, q := range quantiles {
		us := float64(s.Quantile(q.q)) / 1e3
		b = protocol.AppendStat(b, name+":"+q.name, strconv.FormatFloat(us, 'f', 1, 64))
	}
	return b
}
