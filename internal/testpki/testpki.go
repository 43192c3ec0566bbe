// Package testpki makes the certificates TLS tests need, with selfcert: a
// CA, a server certificate for 127.0.0.1 and client certificates (trusted,
// from another CA, expired), the server's written as PEM files that a
// server started as nobody (Debian's memcached) can read.
package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/selfcert"
)

// PKI is a test's CA, its server certificate and client certificates.
type PKI struct {
	Dir                        string
	CAFile                     string
	CertFile, KeyFile          string // the server's
	ServerCert                 []byte // PEM, as written to CertFile
	Client, Untrusted, Expired tls.Certificate
	Pool                       *x509.CertPool // trusts the CA
}

// New makes a PKI in a directory of the test's.
func New(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ca, other := newCA(t, "shoal test CA"), newCA(t, "another CA")
	p := &PKI{Dir: dir, Pool: ca.Pool()}
	p.CAFile = p.Write(t, "ca.pem", ca.PEM())
	cert, key, err := ca.Issue("127.0.0.1", []string{"127.0.0.1"}, x509.ExtKeyUsageServerAuth, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p.ServerCert = cert
	p.CertFile, p.KeyFile = p.Write(t, "cert.pem", cert), p.Write(t, "key.pem", key)
	p.Client = clientCert(t, ca, time.Now().Add(time.Hour))
	p.Expired = clientCert(t, ca, time.Now().Add(-time.Minute))
	p.Untrusted = clientCert(t, other, time.Now().Add(time.Hour))
	return p
}

func newCA(t testing.TB, cn string) *selfcert.CA {
	ca, err := selfcert.NewCA(cn)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func clientCert(t testing.TB, ca *selfcert.CA, notAfter time.Time) tls.Certificate {
	cert, key, err := ca.Issue("client", nil, x509.ExtKeyUsageClientAuth, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Write writes a file into the PKI's directory, readable by all.
func (p *PKI) Write(t testing.TB, name string, data []byte) string {
	path := filepath.Join(p.Dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ClientTLS is a client configuration that trusts the test CA.
func (p *PKI) ClientTLS(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: p.Pool, Certificates: certs, ServerName: "127.0.0.1"}
}
