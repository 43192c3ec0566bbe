package node

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/protocol"
)

// TLS, as memcached's -Z: crypto/tls on every client connection. The
// certificate, key and CAs are read at start and again on refresh_certs or
// SIGHUP (Server.RefreshCerts) without touching the connections already
// open: every handshake asks for the configuration in force. A file that
// fails to load leaves the one in force, and the error says why.

// handshakeTimeout bounds a TLS handshake, so that a client that opens a
// connection and never finishes (or starts) its handshake holds it only
// this long.
const handshakeTimeout = 10 * time.Second

// serverTLS is a node's TLS state: the configuration handshakes use, and the
// counters memcached reports.
type serverTLS struct {
	cfg       TLSConfig
	base      *tls.Config // everything but the files' contents
	front     *tls.Config // what connections start with: asks for current
	current   atomic.Pointer[tls.Config]
	refreshed atomic.Int64 // unix seconds of the last load

	handshakeErrors, newSessions atomic.Uint64
}

// newServerTLS checks cfg and loads its files; nil when TLS is off.
func newServerTLS(cfg TLSConfig) (*serverTLS, error) {
	if !cfg.Enable {
		return nil, nil
	}
	base, err := baseTLSConfig(cfg)
	if err != nil {
		return nil, err
	}
	t := &serverTLS{cfg: cfg, base: base, front: base.Clone()}
	t.front.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return t.current.Load(), nil }
	if err := t.load(); err != nil {
		return nil, err
	}
	return t, nil
}

func baseTLSConfig(cfg TLSConfig) (*tls.Config, error) {
	if cfg.CertFile == "" {
		return nil, errors.New("TLS (-Z) needs a certificate: -o ssl_chain_cert=FILE")
	}
	min, err := tlsVersion(cfg.MinVersion)
	if err != nil {
		return nil, err
	}
	suites, err := cipherSuites(cfg.Ciphers)
	if err != nil {
		return nil, err
	}
	auth, err := clientAuth(cfg.VerifyMode)
	if err != nil {
		return nil, err
	}
	base := &tls.Config{MinVersion: min, CipherSuites: suites, ClientAuth: auth,
		SessionTicketsDisabled: !cfg.SessionCache}
	// One ticket key for the node's life, set on every configuration a
	// refresh makes, so that sessions resume across refreshes.
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	base.SetSessionTicketKeys([][32]byte{key})
	return base, nil
}

// load reads the certificate, key and CAs into a new configuration and puts
// it in force; on error the one in force stays.
func (t *serverTLS) load() error {
	keyFile := t.cfg.KeyFile
	if keyFile == "" {
		keyFile = t.cfg.CertFile
	}
	cert, err := tls.LoadX509KeyPair(t.cfg.CertFile, keyFile)
	if err != nil {
		return fmt.Errorf("Error loading the certificate chain: %s : %w", t.cfg.CertFile, err)
	}
	c := t.base.Clone()
	c.Certificates = []tls.Certificate{cert}
	if t.cfg.CAFile != "" {
		pem, err := os.ReadFile(t.cfg.CAFile)
		if err != nil {
			return fmt.Errorf("Error loading the CA certificate: %s : %w", t.cfg.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("Error loading the CA certificate: %s : no PEM certificate in it", t.cfg.CAFile)
		}
		c.ClientCAs = pool
	}
	t.current.Store(c)
	t.refreshed.Store(time.Now().Unix())
	return nil
}

// handshake runs a new connection's handshake within handshakeTimeout,
// counting failures and full (not resumed) handshakes as memcached does.
func (t *serverTLS) handshake(tc *tls.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		t.handshakeErrors.Add(1)
		return fmt.Errorf("TLS handshake: %w", err)
	}
	if !tc.ConnectionState().DidResume {
		t.newSessions.Add(1)
	}
	return nil
}

// RefreshCerts reads the certificate, key and CA files again (memcached's
// refresh_certs, and SIGHUP). On error the ones in force stay.
func (s *Server) RefreshCerts() error {
	if s.tls == nil {
		return errors.New("Error TLS not enabled")
	}
	return s.tls.load()
}

func tlsVersion(name string) (uint16, error) {
	switch strings.ToLower(name) {
	case "", "tlsv1.2", "2":
		return tls.VersionTLS12, nil
	case "tlsv1.3", "3":
		return tls.VersionTLS13, nil
	case "tlsv1.1", "1":
		return tls.VersionTLS11, nil
	case "tlsv1", "tlsv1.0", "0":
		return tls.VersionTLS10, nil
	}
	return 0, fmt.Errorf("ssl_min_version %q: want tlsv1.0, tlsv1.1, tlsv1.2 or tlsv1.3", name)
}

func clientAuth(mode int) (tls.ClientAuthType, error) {
	switch mode {
	case 0:
		return tls.NoClientCert, nil
	case 1:
		return tls.VerifyClientCertIfGiven, nil
	case 2, 3: // Go never renegotiates, so "once" is "require"
		return tls.RequireAndVerifyClientCert, nil
	}
	return 0, fmt.Errorf("ssl_verify_mode %d: want 0 (none), 1 (request), 2 (require) or 3 (once)", mode)
}

// openSSLSuites maps OpenSSL's names of the TLS 1.2 suites Go offers to
// Go's, so that an ssl_ciphers line from memcached.conf carries over.
var openSSLSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// cipherSuites reads an ssl_ciphers list: suite names, OpenSSL's or Go's,
// separated by colons. Empty is Go's default. TLS 1.3 suites are not
// configurable (in memcached either: ssl_ciphers sets TLS 1.2's).
func cipherSuites(list string) ([]uint16, error) {
	if list == "" {
		return nil, nil
	}
	byName := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		byName[s.Name] = s.ID
	}
	var ids []uint16
	for _, name := range strings.Split(list, ":") {
		id, ok := openSSLSuites[name]
		if !ok {
			id, ok = byName[name]
		}
		if !ok {
			return nil, fmt.Errorf("Error setting the provided cipher(s): %s (unknown or insecure suite %q)", list, name)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// appendTLSStats appends memcached's TLS counters, present only with -Z
// (ssl_new_sessions only with the session cache).
func (s *Server) appendTLSStats(b []byte) []byte {
	t := s.tls
	if t == nil {
		return b
	}
	if t.cfg.SessionCache {
		b = stat(b, "ssl_new_sessions", t.newSessions.Load())
	}
	b = stat(b, "ssl_handshake_errors", t.handshakeErrors.Load())
	return stat(b, "time_since_server_cert_refresh", time.Now().Unix()-t.refreshed.Load())
}

// appendTLSSettings appends memcached's TLS settings for `stats settings`.
func appendTLSSettings(b []byte, c TLSConfig) []byte {
	orNULL := func(s string) string { return cmp.Or(s, "NULL") }
	// memcached prints the unset certificate and key with printf's "(null)".
	orPrintfNull := func(s string) string { return cmp.Or(s, "(null)") }
	b = stat(b, "ssl_enabled", c.Enable)
	b = stat(b, "ssl_chain_cert", orPrintfNull(c.CertFile))
	b = stat(b, "ssl_key", orPrintfNull(c.KeyFile))
	b = stat(b, "ssl_verify_mode", c.VerifyMode)
	b = stat(b, "ssl_keyformat", 1)
	b = stat(b, "ssl_ciphers", orNULL(c.Ciphers))
	b = stat(b, "ssl_ca_cert", orNULL(c.CAFile))
	b = stat(b, "ssl_wbuf_size", 16<<10)
	b = stat(b, "ssl_session_cache", c.SessionCache)
	b = stat(b, "ssl_kernel_tls", false)
	return stat(b, "ssl_min_version", cmp.Or(strings.ToLower(c.MinVersion), "tlsv1.2"))
}

// refreshCerts serves refresh_certs: OK, or memcached's error line, which
// is sent even with noreply.
func (c *conn) refreshCerts(tokens [][]byte) {
	c.setNoreply(tokens)
	if !c.adminAllowed("refresh_certs") {
		return
	}
	if err := c.s.RefreshCerts(); err != nil {
		c.s.log.Warn("refresh_certs: keeping the certificate in force", zap.Error(err))
		msg := strings.ReplaceAll(err.Error(), "\r\n", " ")
		c.write([]byte(msg + "\r\n"))
		return
	}
	c.reply(protocol.RespOK)
}
