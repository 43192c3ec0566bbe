package node_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/shoal-cache/shoal/internal/testpki"
	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// tlsPeers starts a shoal node and memcached 1.6.18, both with -Z and the
// test PKI's server certificate, and mutate's settings (and memcached's
// extra -o options).
func tlsPeers(t *testing.T, p *testpki.PKI, mutate func(*node.TLSConfig), mcOpts string) []peer {
	t.Helper()
	srv := node.StartTestNode(t, func(c *node.Config) {
		c.TLS = node.TLSConfig{Enable: true, CertFile: p.CertFile, KeyFile: p.KeyFile, SessionCache: true}
		if mutate != nil {
			mutate(&c.TLS)
		}
	})
	opts := "ssl_chain_cert=" + p.CertFile + ",ssl_key=" + p.KeyFile
	if mcOpts != "" {
		opts += "," + mcOpts
	}
	return []peer{{"shoal", srv}, {"memcached", conformance.Memcached(t, "-Z", "-o", opts)}}
}

// tlsExchange sends req over a new TLS connection and reads until the
// replies hold last and end with a line end.
func tlsExchange(addr string, cfg *tls.Config, req, last string) (string, error) {
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	var out []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(out), last) || !strings.HasSuffix(string(out), "\r\n") {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return string(out), err
		}
	}
	return string(out), nil
}

// The same exchanges over TLS with shoal and memcached -Z: commands work,
// refresh_certs answers OK, plaintext on the TLS port is a handshake error
// and a closed connection, and both count it.
func TestTLSMatchesMemcached(t *testing.T) {
	p := testpki.New(t)
	for _, pr := range tlsPeers(t, p, nil, "") {
		got, err := tlsExchange(pr.addr, p.ClientTLS(), "set a 0 0 1\r\nx\r\nget a\r\nrefresh_certs\r\nversion\r\n", "VERSION ")
		if err != nil || !strings.HasPrefix(got, "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nOK\r\nVERSION ") {
			t.Errorf("%s over TLS: %q, %v", pr.name, got, err)
		}
		nc, err := net.DialTimeout("tcp", pr.addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(nc, "get a\r\n")
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(nc)
		nc.Close()
		if strings.Contains(string(b), "END") || strings.Contains(string(b), "ERROR") {
			t.Errorf("%s answered plaintext on its TLS port: %q", pr.name, b)
		}
		// The failed handshake is counted once the server has seen it fail:
		// wait for it. memcached's count is not deterministic (0, 1 or 2 for
		// this one failure over runs), so it is only logged.
		st := tlsStats(t, pr.addr, p.ClientTLS())
		for deadline := time.Now().Add(3 * time.Second); st["ssl_handshake_errors"] == "0" && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			st = tlsStats(t, pr.addr, p.ClientTLS())
		}
		if pr.name == "memcached" {
			t.Logf("memcached: ssl_handshake_errors %s after one plaintext connection", st["ssl_handshake_errors"])
			st["ssl_handshake_errors"] = "1"
		}
		if st["ssl_handshake_errors"] != "1" || st["time_since_server_cert_refresh"] == "" {
			t.Errorf("%s: ssl_handshake_errors %q time_since_server_cert_refresh %q, want 1 and a number",
				pr.name, st["ssl_handshake_errors"], st["time_since_server_cert_refresh"])
		}
	}
}

func tlsStats(t *testing.T, addr string, cfg *tls.Config) map[string]string {
	t.Helper()
	out, err := tlsExchange(addr, cfg, "stats\r\n", "END\r\n")
	if err != nil {
		t.Fatalf("stats over TLS: %v", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(out, "\r\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "STAT" {
			m[f[1]] = f[2]
		}
	}
	return m
}

// ssl_verify_mode=2 with a CA: a client certificate from that CA is needed;
// none, another CA's or an expired one is refused, by both servers, and the
// node keeps serving.
func TestTLSClientCertificates(t *testing.T) {
	p := testpki.New(t)
	peers := tlsPeers(t, p, func(c *node.TLSConfig) { c.VerifyMode, c.CAFile = 2, p.CAFile },
		"ssl_verify_mode=2,ssl_ca_cert="+p.CAFile)
	cases := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"trusted", []tls.Certificate{p.Client}, true},
		{"no certificate", nil, false},
		{"another CA's", []tls.Certificate{p.Untrusted}, false},
		{"expired", []tls.Certificate{p.Expired}, false},
	}
	for _, pr := range peers {
		for _, tc := range cases {
			got, err := tlsExchange(pr.addr, p.ClientTLS(tc.certs...), "version\r\n", "\r\n")
			if served := err == nil && strings.HasPrefix(got, "VERSION "); served != tc.ok {
				t.Errorf("%s, %s client certificate: served %v (%q, %v), want %v", pr.name, tc.name, served, got, err, tc.ok)
			}
		}
	}
}

// refresh_certs reads the files again: a broken file keeps the certificate
// in force and says why, as memcached does; a new certificate serves new
// connections at once, while open ones carry on.
func TestTLSRefreshCerts(t *testing.T) {
	p := testpki.New(t)
	for _, pr := range tlsPeers(t, p, nil, "") {
		open, err := tls.Dial("tcp", pr.addr, p.ClientTLS())
		if err != nil {
			t.Fatal(err)
		}
		defer open.Close()
		p.Write(t, "cert.pem", []byte("garbage\n"))
		got, err := tlsExchange(pr.addr, p.ClientTLS(), "refresh_certs\r\n", "\r\n")
		if err != nil || !strings.HasPrefix(got, "Error loading the certificate chain: "+p.CertFile+" : ") {
			t.Errorf("%s: refresh_certs with a garbage certificate: %q, %v", pr.name, got, err)
		}
		if _, err := tlsExchange(pr.addr, p.ClientTLS(), "version\r\n", "\r\n"); err != nil {
			t.Errorf("%s: the certificate in force was dropped: %v", pr.name, err)
		}
		p.Write(t, "cert.pem", p.ServerCert)
		if got, err := tlsExchange(pr.addr, p.ClientTLS(), "refresh_certs\r\n", "\r\n"); err != nil || got != "OK\r\n" {
			t.Errorf("%s: refresh_certs: %q, %v", pr.name, got, err)
		}
		_ = open.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(open, "version\r\n"); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(open).ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
			t.Errorf("%s: a connection opened before the refresh: %q, %v", pr.name, line, err)
		}
	}
}

// A reconnecting client resumes its session instead of a full handshake.
func TestTLSSessionResumption(t *testing.T) {
	p := testpki.New(t)
	addr := tlsPeers(t, p, nil, "")[0].addr
	cfg := p.ClientTLS()
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	for i := 0; i < 3; i++ {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, "version\r\n")
		_, err = bufio.NewReader(c).ReadString('\n') // the session ticket comes with the reply
		resumed := c.ConnectionState().DidResume
		c.Close()
		if err != nil || resumed != (i > 0) {
			t.Fatalf("connection %d: resumed %v (%v)", i, resumed, err)
		}
	}
	if st := tlsStats(t, addr, cfg); st["ssl_new_sessions"] != "1" {
		t.Fatalf("ssl_new_sessions %q after one full handshake and three resumed", st["ssl_new_sessions"])
	}
}

// Real TLS clients: gomemcache through a TLS dialer, Debian's pymemcache
// with tls_context, and openssl s_client.
func TestTLSClients(t *testing.T) {
	p := testpki.New(t)
	addr := tlsPeers(t, p, nil, "")[0].addr
	mc := memcache.New(addr)
	mc.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		d := &tls.Dialer{Config: p.ClientTLS()}
		return d.DialContext(ctx, network, a)
	}
	if err := mc.Set(&memcache.Item{Key: "go", Value: []byte("gomemcache")}); err != nil {
		t.Fatalf("gomemcache set over TLS: %v", err)
	}
	if it, err := mc.Get("go"); err != nil || string(it.Value) != "gomemcache" {
		t.Fatalf("gomemcache get over TLS: %v", err)
	}

	host, port, _ := net.SplitHostPort(addr)
	py := pymemcachePython(t)
	script := `import ssl, sys
from pymemcache.client.base import Client
ctx = ssl.create_default_context(cafile=sys.argv[3])
c = Client((sys.argv[1], int(sys.argv[2])), tls_context=ctx, connect_timeout=5, timeout=5)
c.set("py", b"pymemcache")
print(c.get("py").decode(), c.get("go").decode())`
	out, err := exec.Command(py, "-c", script, host, port, p.CAFile).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "pymemcache gomemcache" {
		t.Fatalf("pymemcache over TLS: %s %v", out, err)
	}

	ossl := testproc.Tool(t, "openssl", "openssl")
	cmd := exec.Command(ossl, "s_client", "-quiet", "-CAfile", p.CAFile, "-verify_return_error", "-connect", addr)
	cmd.Stdin = strings.NewReader("get py\r\nquit\r\n")
	out, err = cmd.Output()
	if err != nil || string(out) != "VALUE py 0 10\r\npymemcache\r\nEND\r\n" {
		t.Fatalf("openssl s_client: %q %v", out, err)
	}
}

// A thousand connections that never start their handshake, and a flood of
// failed ones, cost nothing once closed: other clients are served
// meanwhile, and the node's goroutines come back to where they were.
func TestTLSHalfOpenHandshakes(t *testing.T) {
	p := testpki.New(t)
	addr := node.StartTestNode(t, func(c *node.Config) {
		c.ConnLimit = 4096
		c.TLS = node.TLSConfig{Enable: true, CertFile: p.CertFile, KeyFile: p.KeyFile, SessionCache: true}
	})
	before := runtime.NumGoroutine()
	var half []net.Conn
	for range 1000 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		half = append(half, nc)
	}
	var wg sync.WaitGroup
	for range 200 { // handshakes that fail: plaintext on the TLS port
		wg.Add(1)
		go func() {
			defer wg.Done()
			if nc, err := net.Dial("tcp", addr); err == nil {
				_, _ = io.WriteString(nc, "version\r\n")
				_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.ReadAll(nc)
				nc.Close()
			}
		}()
	}
	wg.Wait()
	if got, err := tlsExchange(addr, p.ClientTLS(), "version\r\n", "\r\n"); err != nil || !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("a client beside 1,000 half-open handshakes: %q, %v", got, err)
	}
	for _, nc := range half {
		nc.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+5 {
		t.Fatalf("%d goroutines after the half-open connections closed, %d before", n, before)
	}
}

// Under -Z, a notls: listener beside the TLS one speaks plain text, and
// the TLS one only TLS.
func TestTLSBesideNoTLSListener(t *testing.T) {
	p := testpki.New(t)
	srv, _ := node.StartTestServer(t, func(c *node.Config) {
		c.TLS = node.TLSConfig{Enable: true, CertFile: p.CertFile, KeyFile: p.KeyFile, NoTLS: []string{"127.0.0.1:0"}}
	})
	addrs := srv.Addrs()
	if len(addrs) != 2 {
		t.Fatalf("listening on %v, want a TLS and a plain address", addrs)
	}
	if got, err := tlsExchange(addrs[0].String(), p.ClientTLS(), "version\r\n", "\r\n"); err != nil || !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("TLS on %s: %q, %v", addrs[0], got, err)
	}
	nc, err := net.Dial("tcp", addrs[1].String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = io.WriteString(nc, "version\r\n")
	if line, err := bufio.NewReader(nc).ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
		t.Fatalf("plain text on the notls address %s: %q, %v", addrs[1], line, err)
	}
}
