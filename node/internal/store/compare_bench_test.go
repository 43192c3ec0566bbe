package store_test

// Engine v1 (node/internal/slab, memcached's slab design) and v2 (this
// package) side by side in one run, so that the noise of a shared machine
// falls on both:
//
//	go test -run '^$' -bench Engines -benchtime 2s ./node/internal/store/

import (
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	v1 "github.com/shoal-cache/shoal/node/internal/slab"
	v2 "github.com/shoal-cache/shoal/node/internal/store"
)

// engine is the part of the API the benchmarks drive.
type engine interface {
	get(key, dst []byte) ([]byte, bool)
	set(key, value []byte) error
	items() int
}

type engineV1 struct{ s *v1.Store }

func (e engineV1) get(key, dst []byte) ([]byte, bool) {
	_, v, ok := e.s.Get(key, dst, false, 0)
	return v, ok
}

func (e engineV1) set(key, value []byte) error {
	res, err := e.s.Reserve(key, 0, 0, len(value), v1.ModeSet)
	if err != nil {
		return err
	}
	copy(e.s.Value(res), value)
	_, _, err = e.s.Commit(res, v1.ModeSet, 0)
	return err
}

func (e engineV1) items() int { return e.s.Totals().CurrItems }

type engineV2 struct{ s *v2.Store }

func (e engineV2) get(key, dst []byte) ([]byte, bool) {
	_, v, ok := e.s.Get(key, dst, false, 0)
	return v, ok
}

func (e engineV2) set(key, value []byte) error {
	res, err := e.s.Reserve(key, 0, 0, len(value), v2.ModeSet)
	if err != nil {
		return err
	}
	copy(e.s.Value(res), value)
	_, _, err = e.s.Commit(res, v2.ModeSet, 0)
	return err
}

func (e engineV2) items() int { return e.s.Totals().CurrItems }

// engines opens both engines with mb megabytes, as a node configures them.
func engines(b *testing.B, mb int) []struct {
	name string
	e    engine
} {
	s1, err := v1.New(v1.Config{MemoryLimit: int64(mb) << 20, MaxItemSize: 1 << 20, GrowthFactor: 1.25,
		MinChunk: 48, Automove: v1.AutomoveWindowed})
	if err != nil {
		b.Fatal(err)
	}
	s2, err := v2.New(v2.Config{MemoryLimit: int64(mb) << 20, MaxItemSize: 1 << 20, GrowthFactor: 1.25,
		MinChunk: 48, Automove: v2.AutomoveWindowed})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s1.Close(); _ = s2.Close() })
	return []struct {
		name string
		e    engine
	}{{"v1", engineV1{s1}}, {"v2", engineV2{s2}}}
}

const (
	benchItems = 100_000
	benchValue = 100
)

func benchKey(i int) []byte { return fmt.Appendf(nil, "key:%d", i) }

func load(b *testing.B, e engine, n int) [][]byte {
	keys := make([][]byte, n)
	val := make([]byte, benchValue)
	for i := range keys {
		keys[i] = benchKey(i)
		if err := e.set(keys[i], val); err != nil {
			b.Fatal(err)
		}
	}
	return keys
}

// BenchmarkEngines: get hits, sets replacing items, a 9:1 mix, and sets of
// new keys into a full cache (every set evicts), on all cores.
func BenchmarkEngines(b *testing.B) {
	for _, en := range engines(b, 256) {
		keys := load(b, en.e, benchItems)
		b.Run(en.name+"/get", func(b *testing.B) {
			run(b, func(i uint64, buf []byte) {
				if v, ok := en.e.get(keys[i%benchItems], buf[:0]); !ok || len(v) != benchValue {
					b.Fatal("miss")
				}
			})
		})
		b.Run(en.name+"/set", func(b *testing.B) {
			run(b, func(i uint64, buf []byte) {
				if err := en.e.set(keys[i%benchItems], buf[:benchValue]); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(en.name+"/mixed", func(b *testing.B) {
			run(b, func(i uint64, buf []byte) {
				k := keys[i%benchItems]
				if i%10 == 0 {
					_ = en.e.set(k, buf[:benchValue])
				} else {
					en.e.get(k, buf[:0])
				}
			})
		})
	}
	for _, en := range engines(b, 16) {
		b.Run(en.name+"/evict", func(b *testing.B) {
			var seq atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				key, val := make([]byte, 0, 32), make([]byte, benchValue)
				for pb.Next() {
					key = strconv.AppendUint(append(key[:0], "key:"...), seq.Add(1), 10)
					_ = en.e.set(key, val)
				}
			})
		})
	}
}

func run(b *testing.B, op func(i uint64, buf []byte)) {
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) * 7919
		buf := make([]byte, 256)
		for pb.Next() {
			i++
			op(i, buf)
		}
	})
}

// BenchmarkEnginesGC stores 5,000,000 items of 100 bytes in one engine at
// a time and reports how long a forced collection takes, and the live heap
// it had to mark (heap-MB): flat in the number of items when nothing the
// collector scans grows with them. The times are only as steady as the
// machine.
//
//	go test -run '^$' -bench EnginesGC -benchtime 5x ./node/internal/store/
func BenchmarkEnginesGC(b *testing.B) {
	for _, name := range []string{"v1", "v2", "v1", "v2"} {
		b.Run(name, func(b *testing.B) {
			var e engine
			for _, en := range engines(b, 1024) {
				if en.name == name {
					e = en.e
				}
			}
			load(b, e, 5_000_000)
			if n := e.items(); n != 5_000_000 {
				b.Fatalf("%s holds %d items", name, n)
			}
			runtime.GC() // the load's garbage (its keys) is not the engine's
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runtime.GC()
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
		})
	}
}
