// Package selfcert makes a throwaway certificate authority and a server
// certificate signed by it, so that TLS can be tried (shoal up --tls) and
// measured (bench/compare --tls) without a PKI. Nothing it makes is meant
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

// Files are the PEM files Make writes.
type Files struct {
	CAFile, CertFile, KeyFile string
}

// validFor is how long the certificates are valid: a run, with room.
const validFor = 7 * 24 * time.Hour

// Make writes into dir a CA (ca.pem) and a server certificate (cert.pem,
// key.pem) for hosts, IP addresses or DNS names.
func Make(dir string, hosts ...string) (Files, error) {
	f := Files{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	ca := template("shoal throwaway CA")
	ca.IsCA, ca.BasicConstraintsValid, ca.KeyUsage = true, true, x509.KeyUsageCertSign
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	srv := template(hosts[0])
	srv.KeyUsage, srv.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			srv.IPAddresses = append(srv.IPAddresses, ip)
		} else {
			srv.DNSNames = append(srv.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, srv, ca, &key.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return f, err
	}
	for _, w := range []struct {
		path, typ string
		der       []byte
		mode      os.FileMode
	}{{f.CAFile, "CERTIFICATE", caDER, 0o644}, {f.CertFile, "CERTIFICATE", der, 0o644}, {f.KeyFile, "PRIVATE KEY", keyDER, 0o600}} {
		if err := os.WriteFile(w.path, pem.EncodeToMemory(&pem.Block{Type: w.typ, Bytes: w.der}), w.mode); err != nil {
			return f, fmt.Errorf("selfcert: %w", err)
		}
	}
	return f, nil
}

func template(cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(validFor)}
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
