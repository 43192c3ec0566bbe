// Package connect opens a client connection to a memcached-protocol server
// the way every shoal client (the Go client, the bench) does: TCP, then TLS
// when asked, then memcached's ASCII authentication (-Y) when credentials
// are given, so that a node with TLS and authentication on is reached
// alike by all of them.
package connect

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// ErrAuthFailed reports that a server refused the credentials.
var ErrAuthFailed = errors.New("authentication failed")

// Options say how to connect. The zero value is plain TCP.
type Options struct {
	// Dial opens the TCP connection; nil is a net.Dialer's.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLS, when set, makes the connection TLS; its ServerName defaults to
	// the host dialed.
	TLS *tls.Config
	// Username and Password, when Username is set, authenticate the
	// connection as memcached's ASCII authentication does.
	Username, Password string
}

// Dial connects to addr as opts say, within ctx.
func Dial(ctx context.Context, opts Options, network, addr string) (net.Conn, error) {
	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if opts.TLS != nil {
		tc := tls.Client(nc, withServerName(opts.TLS, addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS with %s: %w", addr, err)
		}
		nc = tc
	}
	if opts.Username != "" {
		if err := authenticate(ctx, nc, opts.Username, opts.Password); err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
	}
	return nc, nil
}

// withServerName is c with the server name taken from addr when c names
// none, as tls.Dial does.
func withServerName(c *tls.Config, addr string) *tls.Config {
	if c.ServerName != "" || c.InsecureSkipVerify {
		return c
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return c
	}
	c = c.Clone()
	c.ServerName = host
	return c
}

// authenticate makes memcached's ASCII authentication exchange: a set whose
// data is "username password", answered STORED.
func authenticate(ctx context.Context, nc net.Conn, user, pass string) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
		defer nc.SetDeadline(time.Time{})
	}
	creds := user + " " + pass
	if _, err := fmt.Fprintf(nc, "set auth 0 0 %s\r\n%s\r\n", strconv.Itoa(len(creds)), creds); err != nil {
		return err
	}
	// The server sends nothing but this reply, so a buffered read takes
	// nothing of what later belongs to the caller.
	line, err := bufio.NewReaderSize(nc, 64).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimRight(line, "\r\n"); line != "STORED" {
		return fmt.Errorf("%w: %s", ErrAuthFailed, line)
	}
	return nil
}
