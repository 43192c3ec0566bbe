package client

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

// ErrAuthFailed reports that a server refused the client's credentials.
var ErrAuthFailed = errors.New("client: authentication failed")

// dial opens a connection to a node or a configuration endpoint, as every
// connection of the client is opened: Config.DialContext (or a plain
// dialer), then TLS with Config.TLS, then memcached's ASCII authentication
// with Config.Username and Config.Password, so that data and discovery
// connections are alike.
func (cfg *Config) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	dial := cfg.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if cfg.TLS != nil {
		tc := tls.Client(nc, tlsFor(cfg.TLS, addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("client: TLS with %s: %w", addr, err)
		}
		nc = tc
	}
	if cfg.Username != "" {
		if err := authenticate(ctx, nc, cfg.Username, cfg.Password); err != nil {
			nc.Close()
			return nil, fmt.Errorf("client: %s: %w", addr, err)
		}
	}
	return nc, nil
}

// tlsFor is c with the server name taken from addr when c names none, as
// tls.Dial does.
func tlsFor(c *tls.Config, addr string) *tls.Config {
	if c.ServerName != "" {
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

// authenticate makes memcached's ASCII authentication exchange (-Y): a set
// whose data is "username password", answered STORED.
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
	// nothing of what later belongs to gomemcache.
	line, err := bufio.NewReaderSize(nc, 64).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimRight(line, "\r\n"); line != "STORED" {
		return fmt.Errorf("%w: %s", ErrAuthFailed, line)
	}
	return nil
}
