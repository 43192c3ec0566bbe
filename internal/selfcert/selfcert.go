// Package selfcert makes a throwaway certificate authority and certificates
// signed by it, so that TLS can be tried (shoal up --tls), measured
// (bench/compare --tls) and tested without a PKI. Nothing it makes is meant
// to outlive the run that made it.
package selfcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ValidFor is how long Make's certificates are valid: a run, with room.
const ValidFor = 7 * 24 * time.Hour

// A CA signs certificates.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// NewCA makes a certificate authority named cn.
func NewCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := template(cn, time.Now().Add(ValidFor))
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &CA{cert: cert, key: key, der: der}, err
}

// PEM is the CA's certificate, PEM-encoded.
func (ca *CA) PEM() []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der}) }

// Pool is a certificate pool that trusts the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Issue signs a certificate for cn and hosts (IP addresses or DNS names)
// for usage (server or client authentication), valid until notAfter, and
// returns it and its key, PEM-encoded.
func (ca *CA) Issue(cn string, hosts []string, usage x509.ExtKeyUsage, notAfter time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := template(cn, notAfter)
	tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{usage}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func template(cn string, notAfter time.Time) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
}

// Files are the PEM files Make writes.
type Files struct {
	CAFile, CertFile, KeyFile string
}

// Make writes into dir a new CA (ca.pem) and a server certificate
// (cert.pem, key.pem) for hosts, IP addresses or DNS names.
func Make(dir string, hosts ...string) (Files, error) {
	f := Files{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	ca, err := NewCA("shoal throwaway CA")
	if err != nil {
		return f, err
	}
	cert, key, err := ca.Issue(hosts[0], hosts, x509.ExtKeyUsageServerAuth, time.Now().Add(ValidFor))
	if err != nil {
		return f, err
	}
	for _, w := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{f.CAFile, ca.PEM(), 0o644}, {f.CertFile, cert, 0o644}, {f.KeyFile, key, 0o600}} {
		if err := os.WriteFile(w.path, w.data, w.mode); err != nil {
			return f, fmt.Errorf("selfcert: %w", err)
		}
	}
	return f, nil
}

// ClientConfig is a client TLS configuration that trusts the CA in f.
func (f Files) ClientConfig() (*tls.Config, error) {
	pemCA, err := os.ReadFile(f.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCA) {
		return nil, fmt.Errorf("selfcert: no certificate in %s", f.CAFile)
	}
	return &tls.Config{RootCAs: pool}, nil
}

// ServerOptions are the node options (memcached's) that serve TLS with f.
func (f Files) ServerOptions() []string {
	return []string{"-Z", "-o", "ssl_chain_cert=" + f.CertFile + ",ssl_key=" + f.KeyFile}
}
