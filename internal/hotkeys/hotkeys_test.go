package hotkeys

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// exactTop is the model: every key's true count, hottest first.
func exactTop(counts map[string]uint64) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	return keys
}

func TestTopAgainstExactCounts(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			skew := 1.1 + rng.Float64() // 1.1 to 2.1
			keys := 1000 + rng.IntN(50000)
			zipf := rand.NewZipf(rng, skew, 1, uint64(keys-1))
			// Key names are shuffled, so that the hot keys are not the
			// first ones the table sees.
			perm := rng.Perm(keys)
			tr := New(1)
			exact := map[string]uint64{}
			n := 20000 + rng.IntN(40000)
			for range n {
				k := fmt.Sprintf("key:%d", perm[zipf.Uint64()])
				exact[k]++
				tr.Read([]byte(k))
			}
			reads, writes := tr.Top()
			if len(writes) != 0 {
				t.Fatalf("writes %v without a write", writes)
			}
			want := exactTop(exact)
			if len(reads) != min(K, len(want)) {
				t.Fatalf("%d keys reported, want %d", len(reads), K)
			}
			for i, e := range reads {
				c := exact[string(e.Key)]
				if c > e.Count || c < e.Count-e.Error {
					t.Errorf("%s: true count %d outside [%d, %d]", e.Key, c, e.Count-e.Error, e.Count)
				}
				// Space-saving counts every key above n/Capacity; one well
				// above it has a small error, and comes out at its rank.
				if exact[want[i]] > uint64(2*n/Capacity) && string(e.Key) != want[i] && exact[want[i]] != c {
					t.Errorf("rank %d: %s (%d), want %s (%d)", i+1, e.Key, c, want[i], exact[want[i]])
				}
			}
		})
	}
}

func TestSampledFindsTheHottest(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	zipf := rand.NewZipf(rng, 1.2, 1, 9999)
	tr := New(DefaultRate)
	exact := map[string]uint64{}
	const n = 400000
	for range n {
		k := fmt.Sprintf("w%d", zipf.Uint64())
		exact[k]++
		tr.Write([]byte(k))
	}
	_, writes := tr.Top()
	want := exactTop(exact)
	for i := range 3 {
		if got := string(writes[i].Key); got != want[i] {
			t.Errorf("rank %d: %s, want %s", i+1, got, want[i])
		}
		// The key's samples are binomial, about c/64 of them: the estimate
		// is within five standard deviations (64·5·√(c/64)).
		c, est := float64(exact[want[i]]), float64(writes[i].Count)
		if tol := 64 * 5 * math.Sqrt(c/64); math.Abs(est-c) > tol {
			t.Errorf("%s: estimated %v, true %v (tolerance %v)", want[i], est, c, tol)
		}
	}
}

func TestDecayHalvesAndForgets(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := New(1)
	tr.now = func() time.Time { return now }
	tr.Reset()
	for range 8 {
		tr.Read([]byte("hot"))
	}
	tr.Read([]byte("once"))
	now = now.Add(HalfLife)
	reads, _ := tr.Top()
	if len(reads) != 1 || string(reads[0].Key) != "hot" || reads[0].Count != 4 {
		t.Fatalf("after a half life: %+v, want hot at 4 and once forgotten", reads)
	}
	now = now.Add(3 * HalfLife)
	if reads, _ := tr.Top(); len(reads) != 0 {
		t.Errorf("after four half lives: %+v", reads)
	}
}

func TestStatsLinesEscapeKeys(t *testing.T) {
	tr := New(1)
	for range 3 {
		tr.Read([]byte("a b\r\n%\x00\xff"))
	}
	tr.Read([]byte("plain"))
	tr.Write([]byte("w/x:y"))
	tr.Read(nil)
	tr.Read([]byte(strings.Repeat("x", 251)))
	want := "STAT sample_rate 1\r\n" +
		"STAT half_life_seconds 60\r\n" +
		"STAT read:1:key a%20b%0D%0A%25%00%FF\r\n" +
		"STAT read:1:count 3\r\n" +
		"STAT read:1:error 0\r\n" +
		"STAT read:2:key plain\r\n" +
		"STAT read:2:count 1\r\n" +
		"STAT read:2:error 0\r\n" +
		"STAT write:1:key w%2Fx%3Ay\r\n" +
		"STAT write:1:count 1\r\n" +
		"STAT write:1:error 0\r\n"
	if got := string(tr.AppendStats(nil)); got != want {
		t.Errorf("stats hotkeys:\n%q\nwant\n%q", got, want)
	}
}

func TestRate(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, 64}, {1, 1}, {2, 2}, {3, 4}, {64, 64}, {100, 128}} {
		if got := New(tt.in).Rate(); got != tt.want {
			t.Errorf("New(%d).Rate() = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestSamplingDoesNotAllocate(t *testing.T) {
	tr := New(DefaultRate)
	key := []byte("some:key:42")
	if n := testing.AllocsPerRun(10000, func() { tr.Read(key); tr.Write(key) }); n != 0 {
		t.Errorf("%v allocations per command", n)
	}
	var nilTracker *Tracker
	nilTracker.Read(key)
}

func BenchmarkRead(b *testing.B) {
	tr := New(DefaultRate)
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tr.Read(keys[i%len(keys)])
			i++
		}
	})
}
