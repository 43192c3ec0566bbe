package node

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
)

// listenAddrs are the TCP addresses cfg asks for: each Listen entry, then
// each TLS.NoTLS entry, at Port unless the entry names its own port. An
// entry is memcached's -l form: HOST, HOST:PORT, [IPV6]:PORT, [IPV6] or a
// bare IPv6 address.
func (c Config) listenAddrs() []string {
	var out []string
	for _, e := range append(c.Listen[:len(c.Listen):len(c.Listen)], c.TLS.NoTLS...) {
		out = append(out, withPort(e, c.Port))
	}
	return out
}

func withPort(entry string, port int) string {
	p := strconv.Itoa(port)
	switch {
	case strings.HasPrefix(entry, "[") && strings.HasSuffix(entry, "]"):
		return net.JoinHostPort(entry[1:len(entry)-1], p)
	case strings.HasPrefix(entry, "[") || strings.Count(entry, ":") == 1:
		return entry // it has its port
	}
	return net.JoinHostPort(entry, p) // a host name, an IPv4 or a bare IPv6 address
}

// validateListen checks the addresses before anything binds them.
func (c Config) validateListen() error {
	if len(c.Listen) == 0 && len(c.TLS.NoTLS) == 0 && c.UnixSocket == "" {
		return errors.New("no address to listen on (-l)")
	}
	for _, a := range c.listenAddrs() {
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", a, err)
		}
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("listen address %q: invalid port number", a)
		}
	}
	if len(c.TLS.NoTLS) > 0 && !c.TLS.Enable {
		return errors.New("'notls' option is valid only when SSL is enabled") // memcached's words
	}
	return nil
}

// Listen binds the server's addresses: the UNIX socket if there is one
// (which, as in memcached, turns TCP off), else every TCP address.
// Connections are accepted (queued by the kernel) from when it returns.
func (s *Server) Listen() error {
	if s.cfg.UnixSocket != "" {
		ln, err := listenUnix(s.cfg.UnixSocket, s.cfg.UnixMask)
		if err != nil {
			return err
		}
		s.lns = []net.Listener{ln}
		return nil
	}
	for _, addr := range s.cfg.listenAddrs() {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		s.lns = append(s.lns, ln)
	}
	return nil
}

// listenUnix listens on a UNIX socket at path, replacing a stale socket
// file there and giving the new one the access mode mask, as memcached's
// -s and -a do.
func listenUnix(path string, mask fs.FileMode) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSocket != 0 {
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on UNIX socket %s: %w", path, err)
	}
	if err := os.Chmod(path, mask&fs.ModePerm); err != nil {
		ln.Close()
		return nil, fmt.Errorf("setting the mode of %s: %w", path, err)
	}
	return ln, nil
}

func (s *Server) closeListeners() {
	for _, ln := range s.lns {
		_ = ln.Close()
	}
}

// Addr is the first TCP address the server listens on, nil when it listens
// on a UNIX socket.
func (s *Server) Addr() *net.TCPAddr {
	for _, ln := range s.lns {
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			return a
		}
	}
	return nil
}

// Addrs are the addresses the server listens on.
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, len(s.lns))
	for i, ln := range s.lns {
		out[i] = ln.Addr()
	}
	return out
}
