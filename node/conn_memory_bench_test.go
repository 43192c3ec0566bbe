package node

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testpki"
	"github.com/shoal-cache/shoal/internal/testproc"
)

// connSteps are the connection counts the per-connection memory is read
// at: the cost of a connection is the growth of resident memory from one
// step to the next, divided by the connections added. What a server
// holds once for all, as soon as it has many connections (the runtime's
// first stacks, descriptors and heap metadata, its threads' buffers), falls
// in the first step, from none to connSteps[0], which is reported apart;
// a cost that grows with the count shows in the later steps.
var connSteps = []int{1000, 2000, 4000, 8000, 16000}

// tlsConnSteps stop lower: a TLS handshake costs both sides milliseconds
// of CPU on a shared machine.
var tlsConnSteps = []int{1000, 2000, 4000, 8000}

// memRounds is how many times each server is measured, in turns.
const memRounds = 2

// settle is how long a server is left after a step before its memory is
// read: past shoal's sweep (sweepEvery), which parks the connections, and
// the next release of the memory they freed, which comes at most every
// releaseGap.
const settle = releaseGap + 5*sweepEvery

// BenchmarkIdleConnMemory opens connections to a shoal node process and to
// memcached, in alternating rounds, each making one request and then
// staying idle, over plain TCP and over TLS (-Z), and reports the resident
// memory (VmRSS) each server gained per connection past the first step:
// over the whole sweep (mean) and over its costliest step (worst), and the
// ratio of the means; and, apart, over the first step. The figure of every
// step is logged (-v).
//
//	go test -run '^$' -bench IdleConnMemory -benchtime 1x -v ./node/
func BenchmarkIdleConnMemory(b *testing.B) {
	most := connSteps[len(connSteps)-1]
	if _, err := RaiseFileLimit(most + 64); err != nil {
		b.Fatal(err)
	}
	p := testpki.New(b)
	tlsArgs := []string{"-Z", "-o", "ssl_chain_cert=" + p.CertFile + ",ssl_key=" + p.KeyFile}
	for _, mode := range []struct {
		name  string
		args  []string
		cfg   *tls.Config
		steps []int
	}{{"tcp", nil, nil, connSteps}, {"tls", tlsArgs, p.ClientTLS(), tlsConnSteps}} {
		b.Run(mode.name, func(b *testing.B) {
			args := append([]string{"-c", strconv.Itoa(most + 100)}, mode.args...)
			start := map[string]func() *testproc.Proc{
				"shoal":     func() *testproc.Proc { return testproc.StartShoal(b, append([]string{"node"}, args...)...) },
				"memcached": func() *testproc.Proc { return testproc.StartMemcached(b, args...) },
			}
			order := []string{"shoal", "memcached"}
			sums := map[string]*connCost{"shoal": {}, "memcached": {}}
			for i := 0; i < b.N*memRounds; i++ {
				for _, name := range order {
					c := perConnResident(b, start[name](), mode.cfg, mode.steps)
					b.Logf("%s %s round %d: %s", mode.name, name, i+1, c)
					sums[name].add(c)
				}
				order[0], order[1] = order[1], order[0]
			}
			shoal, mc := sums["shoal"], sums["memcached"]
			b.ReportMetric(shoal.mean()/1024, "shoal-KB/conn")
			b.ReportMetric(shoal.worst/1024, "shoal-worst-KB/conn")
			b.ReportMetric(mc.mean()/1024, "memcached-KB/conn")
			b.ReportMetric(mc.worst/1024, "memcached-worst-KB/conn")
			b.ReportMetric(shoal.mean()/mc.mean(), "shoal/memcached")
			b.ReportMetric(shoal.firstMean()/1024, "shoal-first-KB/conn")
			b.ReportMetric(mc.firstMean()/1024, "memcached-first-KB/conn")
		})
	}
}

// connCost is what a server's resident memory grew by per connection: at
// each step of a sweep, or summed over rounds.
type connCost struct {
	steps  []int     // connection counts
	perKB  []float64 // per connection, from the step before (KB)
	first  float64   // bytes, from no connections to the first step
	growth float64   // bytes, from the first step to the last
	firstN int       // connections of the first step
	conns  int       // connections added after the first step
	worst  float64   // bytes per connection, the costliest step after the first, of any round
}

func (c *connCost) add(o *connCost) {
	c.first += o.first
	c.firstN += o.firstN
	c.growth += o.growth
	c.conns += o.conns
	c.worst = max(c.worst, o.worst)
}

func (c *connCost) mean() float64 { return c.growth / float64(c.conns) }

func (c *connCost) firstMean() float64 { return c.first / float64(c.firstN) }

func (c *connCost) String() string {
	var sb strings.Builder
	for i, n := range c.steps {
		fmt.Fprintf(&sb, "%d: %.3f KB, ", n, c.perKB[i])
	}
	fmt.Fprintf(&sb, "after the first step mean %.3f KB, worst %.3f KB per connection", c.mean()/1024, c.worst/1024)
	return sb.String()
}

// perConnResident opens connections to server p up to each of steps in
// turn, each making one request and then left idle, and reads the
// resident memory p gained per connection at each step. It kills p.
func perConnResident(b *testing.B, p *testproc.Proc, cfg *tls.Config, steps []int) *connCost {
	var conns []net.Conn
	defer func() {
		// The server goes first, so that it, not this process, holds the
		// closed connections' ports in TIME_WAIT.
		p.Kill()
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(settle)
	base := p.Resident(b)
	last := base
	cost := &connCost{steps: steps}
	for i, n := range steps {
		added := n - len(conns)
		for len(conns) < n {
			conns = append(conns, dialOneRequest(b, p.Addr, cfg))
		}
		time.Sleep(settle)
		rss := p.Resident(b)
		per := float64(rss-last) / float64(added)
		cost.perKB = append(cost.perKB, per/1024)
		if i == 0 {
			cost.first, cost.firstN, base = float64(rss-base), n, rss
		} else {
			cost.worst = max(cost.worst, per)
		}
		last = rss
	}
	cost.growth, cost.conns = float64(last-base), len(conns)-cost.firstN
	return cost
}

// dialOneRequest opens a connection to addr that makes one request.
func dialOneRequest(b *testing.B, addr string, cfg *tls.Config) net.Conn {
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	} else {
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		b.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "version\r\n"); err != nil {
		b.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
		b.Fatalf("version: %q %v", line, err)
	}
	return c
}
