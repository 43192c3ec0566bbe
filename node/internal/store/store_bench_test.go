package store

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

const benchKeys = 100_000

func benchStore(b *testing.B) (*Store, [][]byte) {
	s := newTestStore(b, 256)
	keys := make([][]byte, benchKeys)
	for i, k := range fill(b, s, "key:", benchKeys, 100) {
		keys[i] = []byte(k)
	}
	return s, keys
}

// BenchmarkStoreGet is a get hit of a 100-byte value, on all cores.
func BenchmarkStoreGet(b *testing.B) {
	s, keys := benchStore(b)
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) * 7919
		buf := make([]byte, 0, 256)
		for pb.Next() {
			i++
			_, v, ok := s.Get(keys[i%benchKeys], buf[:0], false, 0)
			if !ok || len(v) != 100 {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkStoreSet replaces 100-byte values, on all cores.
func BenchmarkStoreSet(b *testing.B) {
	s, keys := benchStore(b)
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) * 7919
		for pb.Next() {
			i++
			res, err := s.Reserve(keys[i%benchKeys], 0, 0, 100, ModeSet)
			if err != nil {
				b.Fatal(err)
			}
			if r, _, _ := s.Commit(res, ModeSet, 0); r != Stored {
				b.Fatal(r)
			}
		}
	})
}

// BenchmarkStoreSetEvicting stores new keys into a full cache, so every set
// evicts.
func BenchmarkStoreSetEvicting(b *testing.B) {
	s := newTestStore(b, 16)
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := make([]byte, 0, 32)
		for pb.Next() {
			key = fmt.Appendf(key[:0], "key:%d", seq.Add(1))
			res, err := s.Reserve(key, 0, 0, 100, ModeSet)
			if err != nil {
				b.Fatal(err)
			}
			s.Commit(res, ModeSet, 0)
		}
	})
}

// BenchmarkStoreGC stores 5,000,000 items of 100 bytes and reports how long
// a forced collection takes and the live heap it had to mark (heap-MB):
// flat in the number of items, as nothing the collector scans grows with
// them.
//
//	go test -run '^$' -bench StoreGC -benchtime 10x ./node/internal/store/
func BenchmarkStoreGC(b *testing.B) {
	s := newTestStore(b, 1024)
	fill(b, s, "key:", 5_000_000, 100)
	if n := s.Totals().CurrItems; n != 5_000_000 {
		b.Fatalf("holds %d items", n)
	}
	runtime.GC() // the fill's garbage (its keys) is not the store's
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
}
