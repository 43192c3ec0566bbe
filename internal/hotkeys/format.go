package hotkeys

import (
	"slices"
	"strconv"
	"strings"

	"github.com/shoal-cache/shoal/protocol"
)

// sortEntries orders by count, highest first, then by key, so that equal
// counts always come out in one order.
func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a.Key), string(b.Key))
	})
}

// Escape writes a key as memcached's lru_crawler metadump does
// (protocol.AppendURIEncoded: %XX but for letters, digits and -._~). A key
// from the binary protocol may hold any byte; escaped, it is safe in a
// stats line and a Prometheus label, and at most 750 bytes long.
func Escape(key []byte) string {
	return string(protocol.AppendURIEncoded(make([]byte, 0, len(key)), key))
}

// AppendStats appends `stats hotkeys`' lines:
//
//	STAT sample_rate 64
//	STAT half_life_seconds 60
//	STAT read:1:key <key, escaped>
//	STAT read:1:count <estimated reads>
//	STAT read:1:error <by how much the count may be over>
//	... up to read:10, then the same for write:1 to write:10.
func (t *Tracker) AppendStats(b []byte) []byte {
	if t == nil {
		return b
	}
	b = protocol.AppendStat(b, "sample_rate", strconv.Itoa(t.Rate()))
	b = protocol.AppendStat(b, "half_life_seconds", strconv.Itoa(int(HalfLife.Seconds())))
	reads, writes := t.Top()
	b = appendEntries(b, "read:", reads)
	return appendEntries(b, "write:", writes)
}

func appendEntries(b []byte, kind string, es []Entry) []byte {
	for i, e := range es {
		p := kind + strconv.Itoa(i+1) + ":"
		b = protocol.AppendStat(b, p+"key", Escape(e.Key))
		b = protocol.AppendStat(b, p+"count", strconv.FormatUint(e.Count, 10))
		b = protocol.AppendStat(b, p+"error", strconv.FormatUint(e.Error, 10))
	}
	return b
}
