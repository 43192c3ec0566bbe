package node

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// BenchmarkResidentMemory stores 1,000,000 items of 100-byte values in a
// shoal node process and in memcached, both started with -m 1024, and
// reports each one's resident memory (VmRSS) and their ratio.
//
//	go test -run '^$' -bench ResidentMemory -benchtime 1x ./node/
func BenchmarkResidentMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		shoal := residentAfterLoad(b, testproc.StartShoal(b, "node", "-m", "1024"))
		mc := residentAfterLoad(b, testproc.StartMemcached(b, "-m", "1024"))
		b.ReportMetric(float64(shoal)/(1<<20), "shoal-MB")
		b.ReportMetric(float64(mc)/(1<<20), "memcached-MB")
		b.ReportMetric(float64(shoal)/float64(mc), "shoal/memcached")
	}
}

// residentAfterLoad loads a million items into the server p, and returns
// its resident memory then.
func residentAfterLoad(tb testing.TB, p *testproc.Proc) int64 {
	loadItems(tb, p.Addr, 1_000_000, 100)
	rss := p.Resident(tb)
	p.Kill()
	return rss
}

// loadItems stores n items "key:<i>" with size-byte values over 4 pipelined
// connections.
func loadItems(tb testing.TB, addr string, n, size int) {
	const conns, batch = 4, 200
	val := bytes.Repeat([]byte("x"), size)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(5 * time.Minute))
			r, w := bufio.NewReader(nc), bufio.NewWriterSize(nc, 64<<10)
			for i := c; i < n; {
				sent := 0
				for ; sent < batch && i < n; i += conns {
					fmt.Fprintf(w, "set key:%d 0 0 %d noreply\r\n", i, size)
					w.Write(val)
					w.WriteString("\r\n")
					sent++
				}
				w.WriteString("mn\r\n")
				if err := w.Flush(); err != nil {
					errs <- err
					return
				}
				if line, err := r.ReadString('\n'); err != nil || line != "MN\r\n" {
					errs <- fmt.Errorf("after a batch of sets: %q %v", line, err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// BenchmarkGCPauseUnderLoad stores 5,000,000 items in an in-process node,
// then serves gets and sets on 8 connections while forcing collections, and
// reports the longest stop-the-world pause the runtime recorded.
//
//	go test -run '^$' -bench GCPause -benchtime 1x ./node/
func BenchmarkGCPauseUnderLoad(b *testing.B) {
	srv, addr := StartTestServer(b, func(c *Config) { c.MemoryLimitMB = 2048 })
	loadItems(b, addr, 5_000_000, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := maxGCPause()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				mixedLoad(addr, c, stop)
			}(c)
		}
		for gc := 0; gc < 5; gc++ {
			time.Sleep(200 * time.Millisecond)
			runtime.GC()
		}
		close(stop)
		wg.Wait()
		b.ReportMetric(float64(max(maxGCPause(), before))/1e3, "max-pause-µs")
	}
	if tot := srv.Store().Totals(); tot.CurrItems < 4_900_000 {
		b.Fatalf("only %d items stored", tot.CurrItems)
	}
}

// mixedLoad sends gets and sets (9:1) on one connection until stop closes.
func mixedLoad(addr string, seed int, stop chan struct{}) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(time.Minute))
	r, w := bufio.NewReader(nc), bufio.NewWriter(nc)
	val := strings.Repeat("y", 100)
	for i := seed; ; i += 7919 {
		select {
		case <-stop:
			return
		default:
		}
		key := i % 5_000_000
		if i%10 == 0 {
			fmt.Fprintf(w, "set key:%d 0 0 100\r\n%s\r\n", key, val)
		} else {
			fmt.Fprintf(w, "get key:%d\r\n", key)
		}
		w.Flush()
		for {
			line, err := r.ReadString('\n')
			if err != nil || line == "END\r\n" || line == "STORED\r\n" {
				break
			}
		}
	}
}

// maxGCPause is the longest GC stop-the-world pause so far, in ns (the
// upper bound of the histogram bucket it fell in).
func maxGCPause() float64 {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	h := s[0].Value.Float64Histogram()
	for i := len(h.Counts) - 1; i >= 0; i-- {
		if h.Counts[i] > 0 {
			return h.Buckets[i+1] * 1e9
		}
	}
	return 0
}
