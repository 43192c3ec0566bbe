package client

import (
	"context"
	"net"

	"github.com/shoal-cache/shoal/internal/connect"
)

// ErrAuthFailed reports that a server refused the client's credentials.
var ErrAuthFailed = connect.ErrAuthFailed

// dial opens every connection of the client, to nodes and configuration
// endpoints alike: Config.DialContext, then TLS with Config.TLS, then ASCII
// authentication with Config.Username and Config.Password.
func (cfg *Config) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return connect.Dial(ctx, connect.Options{Dial: cfg.DialContext, TLS: cfg.TLS,
		Username: cfg.Username, Password: cfg.Password}, network, addr)
}
