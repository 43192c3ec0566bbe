package node_test

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

// testPKI is a throwaway CA with a server certificate for 127.0.0.1 and
// client certificates, written as PEM files that memcached (running as
// nobody) can read too.
type testPKI struct {
	dir                   string
	caFile                string
	certFile, keyFile     string // the server's
	client, untrusted     tls.Certificate
	expired               tls.Certificate
	pool                  *x509.CertPool // trusts the CA
	caCert                *x509.Certificate
	caKey                 *ecdsa.PrivateKey
	serverCert, serverKey []byte
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := &testPKI{dir: dir, pool: x509.NewCertPool()}
	caTmpl := certTemplate("shoal test CA", time.Now().Add(time.Hour))
	caTmpl.IsCA, caTmpl.BasicConstraintsValid = true, true
	caTmpl.KeyUsage = x509.KeyUsageCertSign
	var caDER []byte
	caDER, p.caKey = selfSign(t, caTmpl)
	p.caCert, _ = x509.ParseCertificate(caDER)
	p.pool.AddCert(p.caCert)
	p.caFile = p.write(t, "ca.pem", pemBlock("CERTIFICATE", caDER))

	srv := certTemplate("127.0.0.1", time.Now().Add(time.Hour))
	srv.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	srv.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, key := p.sign(t, srv, p.caCert, p.caKey)
	p.serverCert, p.serverKey = pemBlock("CERTIFICATE", der), pemKey(t, key)
	p.certFile = p.write(t, "cert.pem", p.serverCert)
	p.keyFile = p.write(t, "key.pem", p.serverKey)

	p.client = p.clientCert(t, time.Now().Add(time.Hour), p.caCert, p.caKey)
	p.expired = p.clientCert(t, time.Now().Add(-time.Minute), p.caCert, p.caKey)
	otherTmpl := certTemplate("other CA", time.Now().Add(time.Hour))
	otherTmpl.IsCA, otherTmpl.BasicConstraintsValid = true, true
	otherDER, otherKey := selfSign(t, otherTmpl)
	other, _ := x509.ParseCertificate(otherDER)
	p.untrusted = p.clientCert(t, time.Now().Add(time.Hour), other, otherKey)
	return p
}

func certTemplate(cn string, notAfter time.Time) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature}
}

func selfSign(t *testing.T, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func (p *testPKI) sign(t *testing.T, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func (p *testPKI) clientCert(t *testing.T, notAfter time.Time, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	tmpl := certTemplate("client", notAfter)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	der, key := p.sign(t, tmpl, ca, caKey)
	c, err := tls.X509KeyPair(pemBlock("CERTIFICATE", der), pemKey(t, key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *testPKI) write(t *testing.T, name string, data []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pemKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

// clientTLS is a client configuration that trusts the test CA.
func (p *testPKI) clientTLS(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: p.pool, Certificates: certs, ServerName: "127.0.0.1"}
}
