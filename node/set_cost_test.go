package node

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node/internal/conformance"
	"github.com/shoal-cache/shoal/protocol"
)

// setDepth is how many sets the set benchmark pipelines per write.
const setDepth = 100

// setProtocol is one way to store a key: the request, its reply's length,
// and whether a reply says stored.
type setProtocol struct {
	name   string
	req    func(key, value string) []byte
	reply  int
	stored func(reply []byte) bool
}

var setProtocols = []setProtocol{
	{"text", func(k, v string) []byte { return []byte("set " + k + " 0 0 100\r\n" + v + "\r\n") },
		len("STORED\r\n"), func(r []byte) bool { return string(r) == "STORED\r\n" }},
	{"meta", func(k, v string) []byte { return []byte("ms " + k + " 100\r\n" + v + "\r\n") },
		len("HD\r\n"), func(r []byte) bool { return string(r) == "HD\r\n" }},
	{"binary", func(k, v string) []byte { return binSetReq(k, v) },
		protocol.BinaryHeaderLen, func(r []byte) bool { return r[0] == 0x81 && r[6] == 0 && r[7] == 0 }},
}

// BenchmarkSet times sets of a 100-byte value (the storage intake) over the
// text, meta and binary protocols, on one connection each to an in-process
// node and to memcached, setDepth pipelined per write, alternating between
// them. allocs/op counts this process: the node and a client that
// allocates nothing.
//
//	go test -run '^$' -bench Set -benchmem ./node/
func BenchmarkSet(b *testing.B) {
	shoal, mc := StartTestNode(b), conformance.Memcached(b)
	value := strings.Repeat("v", 100)
	for _, p := range setProtocols {
		b.Run(p.name, func(b *testing.B) {
			var batch []byte
			for i := range setDepth {
				batch = append(batch, p.req(fmt.Sprintf("set:%03d", i), value)...)
			}
			var conns [2]net.Conn
			for i, addr := range []string{shoal, mc} {
				conns[i] = conformance.DialTB(b, addr).Conn()
			}
			reply := make([]byte, setDepth*p.reply)
			var took [2]time.Duration
			round := func(i int) {
				start := time.Now()
				if _, err := conns[i].Write(batch); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conns[i], reply); err != nil {
					b.Fatal(err)
				}
				took[i] += time.Since(start)
				for r := range slices.Chunk(reply, p.reply) {
					if !p.stored(r) {
						b.Fatalf("%s replied %q", p.name, r)
					}
				}
			}
			for range 10 { // warm up both
				round(0)
				round(1)
			}
			took = [2]time.Duration{}
			b.ReportAllocs()
			b.ResetTimer()
			rounds := (b.N + setDepth - 1) / setDepth
			for range rounds {
				round(0)
				round(1)
			}
			sets := float64(rounds * setDepth)
			b.ReportMetric(float64(took[0].Nanoseconds())/sets, "shoal-ns/set")
			b.ReportMetric(float64(took[1].Nanoseconds())/sets, "memcached-ns/set")
			b.ReportMetric(float64(took[0])/float64(took[1]), "shoal/memcached")
		})
	}
}

// TestSetAllocatesNothing checks that a set of a 100-byte value, on each
// protocol, allocates nothing, client and server together, over loopback.
func TestSetAllocatesNothing(t *testing.T) {
	addr := StartTestNode(t)
	value := strings.Repeat("v", 100)
	for _, p := range setProtocols {
		t.Run(p.name, func(t *testing.T) {
			nc := conformance.DialTB(t, addr).Conn()
			_ = nc.SetDeadline(time.Now().Add(time.Minute))
			req := p.req("alloc:"+p.name, value)
			reply := make([]byte, p.reply)
			set := func() {
				if _, err := nc.Write(req); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(nc, reply); err != nil || !p.stored(reply) {
					t.Fatalf("%q, %v", reply, err)
				}
			}
			set() // the key's first store
			if allocs := testing.AllocsPerRun(2000, set); allocs != 0 {
				t.Errorf("%s set: %v allocations per request, want 0", p.name, allocs)
			}
		})
	}
}
