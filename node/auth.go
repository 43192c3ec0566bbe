package node

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/shoal-cache/shoal/internal/authfile"
	"github.com/shoal-cache/shoal/protocol"
)

// ASCII authentication, memcached's -Y: a connection's first command must
// be a set whose data is "user password"; until one succeeds, every other
// command is answered CLIENT_ERROR unauthenticated. With it on, connections
// speak only the text protocol, as memcached's do (it refuses the binary
// protocol beside ASCII auth).

// Replies of the authentication exchange, memcached's words.
var (
	respUnauthenticated = []byte("CLIENT_ERROR unauthenticated\r\n")
	respAuthFailure     = []byte("CLIENT_ERROR authentication failure\r\n")
	respAuthFormat      = []byte("CLIENT_ERROR bad authentication token format\r\n")
	respAuthTermination = []byte("CLIENT_ERROR bad command line termination\r\n")
)

// maxAuthData bounds the credentials a connection may send: memcached reads
// entries of up to 256 bytes. A longer data block is skipped unbuffered.
const maxAuthData = 1024

// credentials are what clients authenticate against, with ASCII
// authentication (-Y) or SASL PLAIN (-S), and the counters memcached keeps
// for both. path is empty when authentication is off.
type credentials struct {
	path        string
	sasl        bool // SASL on the binary protocol, not ASCII auth
	file        atomic.Pointer[authfile.File]
	cmds, fails atomic.Uint64
}

// load sets up authentication from cfg: -Y's file, or -S's.
func (a *credentials) load(cfg Config) error {
	switch {
	case cfg.AuthFile != "" && cfg.SASL:
		return errors.New("ASCII authentication (-Y) and SASL (-S) exclude each other: one speaks only text, the other only binary")
	case cfg.SASL && cfg.SASLFile == "":
		return errors.New("SASL (-S) needs its user:password file (MEMCACHED_SASL_PWDB, or --sasl-pwdb)")
	case cfg.SASL:
		a.path, a.sasl = cfg.SASLFile, true
	case cfg.AuthFile != "":
		a.path = cfg.AuthFile
	default:
		return nil
	}
	return a.reload()
}

// reload reads the file again; on error the credentials in use stay.
func (a *credentials) reload() error {
	if a.path == "" {
		return errors.New("authentication is off: no auth file")
	}
	f, err := authfile.Load(a.path)
	if err != nil {
		return err
	}
	if f.Len() == 0 {
		return fmt.Errorf("auth file %s has no user:password entry", a.path)
	}
	a.file.Store(f)
	return nil
}

func (a *credentials) on() bool { return a.path != "" }

// ascii reports whether connections must log in with ASCII authentication.
func (a *credentials) ascii() bool { return a.on() && !a.sasl }

// count counts a credentials check, as memcached's auth_cmds and
// auth_errors do (malformed exchanges count in neither).
func (a *credentials) count(ok bool) {
	a.cmds.Add(1)
	if !ok {
		a.fails.Add(1)
	}
}

// ReloadAuth reads the auth file again (SIGHUP). On error the credentials
// in use stay.
func (s *Server) ReloadAuth() error { return s.auth.reload() }

// authenticate serves a command line of a connection not yet
// authenticated: "set <key> <flags> <exptime> <bytes>" and a data block of
// "user password", as memcached reads them.
func (c *conn) authenticate(line []byte) error {
	tokens, _ := protocol.Tokens(c.tokens[:0], line)
	var n uint32
	ok := len(tokens) >= 5 && string(tokens[0]) == "set"
	if ok {
		n, ok = protocol.ParseUint32(tokens[4])
	}
	if !ok {
		c.write(respUnauthenticated)
		return nil
	}
	if n > maxAuthData {
		c.s.auth.count(false) // credentials that long match no entry
		c.write(respAuthFailure)
		return c.swallow(int(n) + 2)
	}
	var buf [maxAuthData]byte
	data := buf[:n]
	if err := c.readData(data); err != nil {
		if !errors.Is(err, errBadChunk) {
			return err
		}
		c.write(respAuthTermination)
		return nil
	}
	creds, _ := protocol.Tokens(c.tokens[:0], data)
	if len(creds) < 2 {
		c.write(respAuthFormat)
		return nil
	}
	c.authenticated = c.s.auth.file.Load().Check(creds[0], creds[1])
	c.s.auth.count(c.authenticated)
	if c.authenticated {
		c.write(protocol.RespStored)
	} else {
		c.write(respAuthFailure)
	}
	return nil
}

// Reload reads again the files the server was configured with, as
// memcached does on SIGHUP: the auth file (-Y) and the TLS certificate, key
// and CAs (-Z). What fails to load stays as it was; the errors say why.
func (s *Server) Reload() error {
	var errs []error
	if s.auth.on() {
		errs = append(errs, s.ReloadAuth())
	}
	if s.tls != nil {
		errs = append(errs, s.RefreshCerts())
	}
	return errors.Join(errs...)
}

// protocol is the protocol connections speak: binary only with SASL, text
// only with ASCII authentication (as memcached forces them), else -B's.
func (s *Server) protocol() string {
	switch {
	case s.auth.sasl:
		return "binary"
	case s.auth.ascii():
		return "ascii"
	}
	return s.cfg.Protocol
}
