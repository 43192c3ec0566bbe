package node

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// getHitKeys is how many keys the get-hit benchmarks cycle through, each
// holding a 100-byte value.
const (
	getHitKeys  = 1000
	getHitDepth = 100 // requests pipelined per write
)

// getHitProtocol is one way to ask for a key: the request, and a reader
// that consumes exactly one reply to it.
type getHitProtocol struct {
	name    string
	request func(key string) string
	read    func(r *bufio.Reader) error
}

var getHitProtocols = []getHitProtocol{
	{"text", func(k string) string { return "get " + k + "\r\n" }, readTextGetHit},
	{"meta", func(k string) string { return "mg " + k + " v f k c\r\n" }, readMetaGetHit},
}

// BenchmarkMetaGetHit compares a get hit of a 100-byte value over the text
// and meta protocols, on a shoal node and on memcached in the same run, one
// connection pipelining getHitDepth requests per write. ns/op and allocs/op
// are shoal's (client and server together, as they share the process);
// memcached-ns/op is memcached's for the same requests, and shoal/memcached
// their ratio.
//
//	go test -run '^$' -bench MetaGetHit -benchmem ./node/
func BenchmarkMetaGetHit(b *testing.B) {
	shoal, mc := StartTestNode(b), conformance.Memcached(b, metaMemcached...)
	for _, addr := range []string{shoal, mc} {
		loadGetHitKeys(b, addr)
	}
	for _, p := range getHitProtocols {
		b.Run(p.name, func(b *testing.B) {
			reqs := getHitBatches(p)
			sc, mcc := dialBench(b, shoal), dialBench(b, mc)
			b.ReportAllocs()
			b.ResetTimer()
			runGetHits(b, sc, reqs, p.read, b.N)
			b.StopTimer()
			start := time.Now()
			runGetHits(b, mcc, reqs, p.read, b.N)
			mcNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			shoalNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(mcNs, "memcached-ns/op")
			b.ReportMetric(shoalNs/mcNs, "shoal/memcached")
		})
	}
}

func loadGetHitKeys(b *testing.B, addr string) {
	c := dialBench(b, addr)
	value := bytes.Repeat([]byte("v"), 100)
	for i := 0; i < getHitKeys; i++ {
		fmt.Fprintf(c, "set %s 3 0 100 noreply\r\n%s\r\n", getHitKey(i), value)
	}
	c.WriteString("mn\r\n")
	if err := c.Flush(); err != nil {
		b.Fatal(err)
	}
	if line, err := c.ReadString('\n'); err != nil || line != "MN\r\n" {
		b.Fatalf("loading %s: %q %v", addr, line, err)
	}
}

func getHitKey(i int) string { return fmt.Sprintf("hit:%05d", i) }

// getHitBatches is the request stream cut into pipelined writes.
func getHitBatches(p getHitProtocol) [][]byte {
	var batches [][]byte
	for i := 0; i < getHitKeys; i += getHitDepth {
		var batch []byte
		for k := i; k < i+getHitDepth; k++ {
			batch = append(batch, p.request(getHitKey(k))...)
		}
		batches = append(batches, batch)
	}
	return batches
}

func dialBench(b *testing.B, addr string) *bufio.ReadWriter {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Minute))
	return bufio.NewReadWriter(bufio.NewReaderSize(nc, 64<<10), bufio.NewWriterSize(nc, 64<<10))
}

// runGetHits sends n requests, in pipelined batches, and reads the replies.
func runGetHits(b *testing.B, c *bufio.ReadWriter, batches [][]byte, read func(*bufio.Reader) error, n int) {
	for sent, i := 0, 0; sent < n; i++ {
		batch := batches[i%len(batches)]
		count := getHitDepth
		if n-sent < count {
			count = n - sent
			batch = batch[:nthLine(batch, count)]
		}
		if _, err := c.Write(batch); err != nil {
			b.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < count; j++ {
			if err := read(c.Reader); err != nil {
				b.Fatal(err)
			}
		}
		sent += count
	}
}

// nthLine is the length of the first n lines of b.
func nthLine(b []byte, n int) int {
	end := 0
	for ; n > 0; n-- {
		end += bytes.IndexByte(b[end:], '\n') + 1
	}
	return end
}

var errBadHit = fmt.Errorf("not a get hit")

// readTextGetHit reads "VALUE <key> <flags> 100\r\n<data>\r\nEND\r\n".
func readTextGetHit(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("VALUE ")) {
		return errBadHit
	}
	if _, err := r.Discard(102); err != nil {
		return err
	}
	line, err = r.ReadSlice('\n')
	if err == nil && string(line) != "END\r\n" {
		return errBadHit
	}
	return err
}

// readMetaGetHit reads "VA <size> <flags>*\r\n<data>\r\n".
func readMetaGetHit(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("VA ")) {
		return errBadHit
	}
	n := 0
	for _, c := range line[3:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	_, err = r.Discard(n + 2)
	return err
}
