package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// clientTLSOptions are a client command's TLS options (--tls, --tls-ca,
// --insecure).
type clientTLSOptions struct {
	on, insecure bool
	ca           string
}

// config is the TLS configuration the options ask for, nil for none.
func (o clientTLSOptions) config() (*tls.Config, error) {
	if !o.on && o.ca == "" && !o.insecure {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: o.insecure}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", o.ca)
		}
	}
	return c, nil
}
