package client

import (
	"context"
	"strconv"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
)

// BenchmarkGet compares a Get through this client with one through a bare
// gomemcache client, against the same memcached nodes in the same run:
// the cost of partitioning, failure routing and the context layer.
//
//	go test -run '^$' -bench Get -benchmem ./client
func BenchmarkGet(b *testing.B) {
	servers := startMemcacheds(b, 3)
	keys := make([]string, 1024)
	bare := memcache.New(addrs(servers)...)
	bare.MaxIdleConns = 64
	bare.Timeout = testTimeout
	for i := range keys {
		keys[i] = "bench:" + strconv.Itoa(i)
		if err := bare.Set(&memcache.Item{Key: keys[i], Value: make([]byte, 100)}); err != nil {
			b.Fatal(err)
		}
	}
	c := newStatic(b, servers, nil)
	for i := range keys {
		if err := c.Set(context.Background(), &Item{Key: keys[i], Value: make([]byte, 100)}); err != nil {
			b.Fatal(err)
		}
	}
	cancelable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, bc := range []struct {
		name string
		get  func(key string) error
	}{
		{"gomemcache", func(k string) error { _, err := bare.Get(k); return err }},
		{"client", func(k string) error { _, err := c.Get(context.Background(), k); return err }},
		{"client-cancelable-ctx", func(k string) error { _, err := c.Get(cancelable, k); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := bc.get(keys[i&1023]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
