package bench

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/shoal-cache/shoal/internal/connect"
	"github.com/shoal-cache/shoal/protocol"
)

// Discover asks a configuration endpoint for its cluster's nodes with
// `config get cluster`, as ElastiCache clients do, and returns their
// addresses in the order published.
func Discover(ctx context.Context, endpoint string, opts connect.Options, timeout time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := connect.Dial(ctx, opts, "tcp", endpoint)
	if err != nil {
		return nil, fmt.Errorf("bench: discover %s: %w", endpoint, err)
	}
	defer nc.Close()
	dl, _ := ctx.Deadline()
	_ = nc.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	rw := bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))
	cfg, err := protocol.FetchClusterConfig(rw, protocol.ClusterConfigRequest)
	if err != nil {
		return nil, fmt.Errorf("bench: discover %s: %w", endpoint, err)
	}
	if len(cfg.Nodes) == 0 {
		return nil, fmt.Errorf("bench: discover %s: the cluster has no nodes", endpoint)
	}
	addrs := make([]string, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		addrs[i] = n.Addr()
	}
	return addrs, nil
}
