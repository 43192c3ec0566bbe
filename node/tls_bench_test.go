package node_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"testing"

	"github.com/shoal-cache/shoal/internal/testpki"
	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// New TLS connections, shoal beside memcached -Z in one run: a full
// handshake each, and resumed ones (session tickets). Each connection
// makes one request, so the server has done its whole part. Compare the
// two servers' ns/op as a ratio; the client's half of the handshake is in
// both.
//
//	go test -run '^$' -bench TLSConnect -benchtime 2s ./node/
func BenchmarkTLSConnect(b *testing.B) {
	p := testpki.New(b)
	peers := []peer{
		{"shoal", node.StartTestNode(b, func(c *node.Config) {
			c.ConnLimit = 4096
			c.TLS = node.TLSConfig{Enable: true, CertFile: p.CertFile, KeyFile: p.KeyFile, SessionCache: true}
		})},
		{"memcached", conformance.Memcached(b, "-c", "4096", "-Z", "-o",
			"ssl_chain_cert="+p.CertFile+",ssl_key="+p.KeyFile+",ssl_session_cache")},
	}
	for _, resumed := range []bool{false, true} {
		for _, pr := range peers {
			name := pr.name + "/full"
			if resumed {
				name = pr.name + "/resumed"
			}
			b.Run(name, func(b *testing.B) {
				cfg := p.ClientTLS()
				if resumed {
					cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
					connectOnce(b, pr.addr, cfg) // the ticket to resume with
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if got := connectOnce(b, pr.addr, cfg); got != resumed {
						b.Fatalf("resumed %v, want %v", got, resumed)
					}
				}
			})
		}
	}
}

// connectOnce opens a TLS connection, makes one request, and reports
// whether the session was resumed.
func connectOnce(b *testing.B, addr string, cfg *tls.Config) bool {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "version\r\n"); err != nil {
		b.Fatal(err)
	}
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	return c.ConnectionState().DidResume
}
