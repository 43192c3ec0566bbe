package node

// TLSConfig is a node's TLS settings, named after memcached's: -Z and the
// ssl_* extended options (-o).
type TLSConfig struct {
	Enable       bool     // -Z: serve TLS on the listen addresses
	CertFile     string   // ssl_chain_cert: certificate chain, PEM
	KeyFile      string   // ssl_key: private key, PEM, if not in CertFile
	CAFile       string   // ssl_ca_cert: CAs that client certificates are checked against, PEM
	VerifyMode   int      // ssl_verify_mode: 0 none, 1 request, 2 require, 3 once
	MinVersion   string   // ssl_min_version: lowest TLS version accepted, tlsv1.0 to tlsv1.3 (memcached's 0 to 3)
	Ciphers      string   // ssl_ciphers: cipher list
	SessionCache bool     // ssl_session_cache: server-side session resumption
	NoTLS        []string // listen addresses given as -l notls:HOST:PORT: plain text there
}
