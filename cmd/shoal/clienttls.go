package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/shoal-cache/shoal/internal/connect"
)

// clientTLSOptions are a client command's TLS options (--tls, --tls-ca,
// --insecure).
type clientTLSOptions struct {
	on, insecure bool
	ca           string
}

// declare declares the options on f, and the ASCII authentication ones
// (--auth-user, --auth-pass) bound to c.
func (o *clientTLSOptions) declare(f *pflag.FlagSet, c *connect.Options) {
	f.BoolVar(&o.on, "tls", false, "connect with TLS")
	f.StringVar(&o.ca, "tls-ca", "", "PEM file of the CAs that sign the servers' certificates (implies --tls)")
	f.BoolVar(&o.insecure, "insecure", false, "with TLS, do not verify the servers' certificates (implies --tls)")
	f.StringVar(&c.Username, "auth-user", "", "user for memcached's ASCII authentication (-Y on the server)")
	f.StringVar(&c.Password, "auth-pass", "", "password for --auth-user")
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
