package selfcert

import (
	"crypto/tls"
	"testing"
)

// The certificate Make writes serves TLS that a client trusting its CA
// verifies for the host it was made for, and not for another.
func TestMake(t *testing.T) {
	f, err := Make(t.TempDir(), "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"127.0.0.1", true}, {"localhost", true}, {"example.com", false}} {
		cfg, err := f.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		cfg.ServerName = tc.name
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if (err == nil) != tc.ok {
			t.Errorf("server name %s: %v, want ok %v", tc.name, err, tc.ok)
		}
		if c != nil {
			c.Close()
		}
	}
}
