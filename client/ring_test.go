package client

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestHashKeyGolden pins the key hash: clients in other languages compute
// owners from it, so it must never change.
func TestHashKeyGolden(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want uint64
	}{
		{"", 0xefd01f60ba992926},
		{"a", 0x82a2a958a9bece5b},
		{"user:1001", 0xa4c6bfa8864faf62},
		{"key:0", 0x4ff2ec70d4f843ed},
		{"key:999999", 0x5d7f9874652e491b},
	} {
		if got := hashKey(tc.key); got != tc.want {
			t.Errorf("hashKey(%q) = %#x, want %#x", tc.key, got, tc.want)
		}
	}
}

// TestOwnerGolden pins owners, with and without a gap at position 4, for
// the same reason.
func TestOwnerGolden(t *testing.T) {
	full := testNodes{}.ring(span(0, 10))
	gap := testNodes{}.ring(slices.Delete(span(0, 10), 4, 5))
	for _, tc := range []struct {
		key            string
		owner, overGap string
	}{
		{"user:1001", "10.0.0.7:11211", "10.0.0.7:11211"},
		{"user:1002", "10.0.0.3:11211", "10.0.0.3:11211"},
		{"session:abc", "10.0.0.8:11211", "10.0.0.8:11211"},
		{"key:42", "10.0.0.10:11211", "10.0.0.10:11211"},
		{"key:3", "10.0.0.5:11211", "10.0.0.10:11211"},
		{"key:20", "10.0.0.5:11211", "10.0.0.4:11211"},
		{"key:26", "10.0.0.5:11211", "10.0.0.7:11211"},
	} {
		if got := full.owner(tc.key).String(); got != tc.owner {
			t.Errorf("owner(%q) = %s, want %s", tc.key, got, tc.owner)
		}
		if got := gap.owner(tc.key).String(); got != tc.overGap {
			t.Errorf("with a gap at 4: owner(%q) = %s, want %s", tc.key, got, tc.overGap)
		}
	}
}

func TestOwnerEmptyAndSingle(t *testing.T) {
	if n := newRing(1, nil).owner("k"); n != nil {
		t.Errorf("empty ring: owner %v, want none", n)
	}
	r := testNodes{}.ring([]int{7})
	for _, k := range []string{"a", "b", "c"} {
		if got := r.owner(k).String(); got != nodeName(7) {
			t.Errorf("owner(%q) = %s, want the only node %s", k, got, nodeName(7))
		}
	}
}

// TestOwnerIndependentOfOrder: the owners depend on the live positions
// only, not on the order in which the list names them.
func TestOwnerIndependentOfOrder(t *testing.T) {
	positions := []int{0, 1, 2, 4, 5, 8, 9, 11}
	tn := testNodes{}
	a := tn.ring(positions)
	shuffled := slices.Clone(positions)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b := tn.ring(shuffled)
	for i := range 10000 {
		k := "k" + strconv.Itoa(i)
		if a.owner(k) != b.owner(k) {
			t.Fatalf("owner(%q): %v from %v, %v from %v", k, a.owner(k), positions, b.owner(k), shuffled)
		}
	}
}

// TestOwnerMovesOnlyChangedKeys: removing nodes moves only their keys, and
// spreads them over every remaining node; adding a node moves keys only to
// it. A dead node at the end is the same as no node there.
func TestOwnerMovesOnlyChangedKeys(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after []int
	}{
		{"remove middle", span(0, 10), []int{0, 1, 2, 3, 5, 6, 7, 8, 9}},
		{"remove two", span(0, 10), []int{0, 2, 3, 4, 5, 6, 8, 9}},
		{"remove first", span(0, 10), span(1, 10)},
		{"remove last", span(0, 10), span(0, 9)},
		{"remove last next to a gap", []int{0, 1, 2, 4, 5}, []int{0, 1, 2, 4}},
		{"fill a gap", []int{0, 1, 3, 4}, span(0, 5)},
		{"add at the end", span(0, 5), span(0, 6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := testNodes{}
			before, after := tn.ring(tc.before), tn.ring(tc.after)
			removed := map[*node]bool{}
			for _, p := range tc.before {
				if !slices.Contains(tc.after, p) {
					removed[tn[p]] = true
				}
			}
			added := map[*node]bool{}
			for _, p := range tc.after {
				if !slices.Contains(tc.before, p) {
					added[tn[p]] = true
				}
			}
			got := map[*node]int{} // where the moved keys went
			const keys = 100000
			for i := range keys {
				k := "key:" + strconv.Itoa(i)
				b, a := before.owner(k), after.owner(k)
				if b == a {
					continue
				}
				if !removed[b] && !added[a] {
					t.Fatalf("key %q moved from %v to %v, neither of which changed", k, b, a)
				}
				got[a]++
			}
			if len(removed) > 0 && len(added) == 0 {
				moved := 0
				for _, c := range got {
					moved += c
				}
				share := float64(moved) / float64(len(after.live))
				for _, n := range after.live {
					if float64(got[n]) < 0.8*share || float64(got[n]) > 1.2*share {
						t.Errorf("%v got %d of %d moved keys, want about %.0f", n, got[n], moved, share)
					}
				}
			}
		})
	}
}

// TestOwnerSparse: positions far apart still give every key an owner,
// deterministically.
func TestOwnerSparse(t *testing.T) {
	tn := testNodes{}
	r := tn.ring([]int{0, 1000})
	counts := map[*node]int{}
	for i := range 10000 {
		k := "key:" + strconv.Itoa(i)
		n := r.owner(k)
		if n == nil || n != tn.ring([]int{1000, 0}).owner(k) {
			t.Fatalf("owner(%q) = %v: not the same in two rings of the same positions", k, n)
		}
		counts[n]++
	}
	if c := counts[tn[0]]; c < 4500 || c > 5500 {
		t.Errorf("node 0 owns %d of 10000 keys, want about half", c)
	}
}
