package node

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testpki"
	"github.com/shoal-cache/shoal/internal/testproc"
)

// idleConns is how many connections the per-connection memory is measured
// over.
const idleConns = 2000

// BenchmarkIdleConnMemory opens idleConns connections to a shoal node
// process and to memcached, side by side, each making one request and then
// staying idle, over plain TCP and over TLS (-Z), and reports the resident
// memory (VmRSS) each server gained per connection, and the ratio.
//
//	go test -run '^$' -bench IdleConnMemory -benchtime 1x ./node/
func BenchmarkIdleConnMemory(b *testing.B) {
	p := testpki.New(b)
	tlsArgs := []string{"-Z", "-o", "ssl_chain_cert=" + p.CertFile + ",ssl_key=" + p.KeyFile}
	for _, mode := range []struct {
		name string
		args []string
		cfg  *tls.Config
	}{{"tcp", nil, nil}, {"tls", tlsArgs, p.ClientTLS()}} {
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				args := append([]string{"-c", "4096"}, mode.args...)
				shoal := perConnResident(b, testproc.StartShoal(b, append([]string{"node"}, args...)...), mode.cfg)
				mc := perConnResident(b, testproc.StartMemcached(b, args...), mode.cfg)
				b.ReportMetric(shoal/1024, "shoal-KB/conn")
				b.ReportMetric(mc/1024, "memcached-KB/conn")
				b.ReportMetric(shoal/mc, "shoal/memcached")
			}
		})
	}
}

// perConnResident is the resident memory server p gains per connection
// left idle after one request.
func perConnResident(b *testing.B, p *testproc.Proc, cfg *tls.Config) float64 {
	time.Sleep(200 * time.Millisecond)
	before := residentBytes(b, p.Cmd.Process.Pid)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		p.Kill()
	}()
	for range idleConns {
		var c net.Conn
		var err error
		if cfg != nil {
			c, err = tls.Dial("tcp", p.Addr, cfg)
		} else {
			c, err = net.Dial("tcp", p.Addr)
		}
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "version\r\n"); err != nil {
			b.Fatal(err)
		}
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	return float64(residentBytes(b, p.Cmd.Process.Pid)-before) / idleConns
}
