package node

// TLSConfig is a node's TLS settings, memcached's -Z and its -o ssl_*
// options.
type TLSConfig struct {
	Enable       bool     // -Z: TLS on every listener but the NoTLS ones
	CertFile     string   // ssl_chain_cert: certificate chain, PEM
	KeyFile      string   // ssl_key: private key, PEM (default: in CertFile)
	CAFile       string   // ssl_ca_cert: CAs whose client certificates are accepted, PEM
	VerifyMode   int      // ssl_verify_mode: 0 none, 1 request, 2 require, 3 once (as 2)
	MinVersion   string   // ssl_min_version: tlsv1.0 to tlsv1.3 (default tlsv1.2)
	Ciphers      string   // ssl_ciphers: TLS 1.2 suites, OpenSSL or IANA names, colon separated
	SessionCache bool     // ssl_session_cache: resume sessions (session tickets)
	NoTLS        []string // listen addresses given as -l notls:HOST:PORT: plain text
}
