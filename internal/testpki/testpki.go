// Package testpki makes throwaway certificates for tests: a CA, a server
// certificate for 127.0.0.1 and client certificates (trusted, from another
// CA, expired), written as PEM files that a server started as nobody (Debian's
// memcached) can read.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throwaway CA with a server certificate for 127.0.0.1 and
// client certificates, written as PEM files that memcached (running as
// nobody) can read too.
type PKI struct {
	Dir                   string
	CAFile                string
	CertFile, KeyFile     string // the server's
	Client, Untrusted     tls.Certificate
	Expired               tls.Certificate
	Pool                  *x509.CertPool // trusts the CA
	caCert                *x509.Certificate
	caKey                 *ecdsa.PrivateKey
	ServerCert, ServerKey []byte
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
	p := &PKI{Dir: dir, Pool: x509.NewCertPool()}
	caTmpl := certTemplate("shoal test CA", time.Now().Add(time.Hour))
	caTmpl.IsCA, caTmpl.BasicConstraintsValid = true, true
	caTmpl.KeyUsage = x509.KeyUsageCertSign
	var caDER []byte
	caDER, p.caKey = selfSign(t, caTmpl)
	p.caCert, _ = x509.ParseCertificate(caDER)
	p.Pool.AddCert(p.caCert)
	p.CAFile = p.Write(t, "ca.pem", pemBlock("CERTIFICATE", caDER))

	srv := certTemplate("127.0.0.1", time.Now().Add(time.Hour))
	srv.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	srv.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, key := p.sign(t, srv, p.caCert, p.caKey)
	p.ServerCert, p.ServerKey = pemBlock("CERTIFICATE", der), pemKey(t, key)
	p.CertFile = p.Write(t, "cert.pem", p.ServerCert)
	p.KeyFile = p.Write(t, "key.pem", p.ServerKey)

	p.Client = p.clientCert(t, time.Now().Add(time.Hour), p.caCert, p.caKey)
	p.Expired = p.clientCert(t, time.Now().Add(-time.Minute), p.caCert, p.caKey)
	otherTmpl := certTemplate("other CA", time.Now().Add(time.Hour))
	otherTmpl.IsCA, otherTmpl.BasicConstraintsValid = true, true
	otherDER, otherKey := selfSign(t, otherTmpl)
	other, _ := x509.ParseCertificate(otherDER)
	p.Untrusted = p.clientCert(t, time.Now().Add(time.Hour), other, otherKey)
	return p
}

func certTemplate(cn string, notAfter time.Time) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature}
}

func selfSign(t testing.TB, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func (p *PKI) sign(t testing.TB, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func (p *PKI) clientCert(t testing.TB, notAfter time.Time, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	tmpl := certTemplate("client", notAfter)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	der, key := p.sign(t, tmpl, ca, caKey)
	c, err := tls.X509KeyPair(pemBlock("CERTIFICATE", der), pemKey(t, key))
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

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pemKey(t testing.TB, key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

// ClientTLS is a client configuration that trusts the test CA.
func (p *PKI) ClientTLS(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: p.Pool, Certificates: certs, ServerName: "127.0.0.1"}
}
