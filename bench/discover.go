package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/shoal-cache/shoal/protocol"
)

// maxConfigBody bounds the cluster configuration an endpoint may send.
const maxConfigBody = 1 << 20

// Discover asks a configuration endpoint for its cluster's nodes with
// `config get cluster`, as ElastiCache clients do, and returns their
// addresses in the order published.
func Discover(ctx context.Context, endpoint string, timeout time.Duration) ([]string, error) {
	c, err := dial(ctx, endpoint, timeout)
	if err != nil {
		return nil, err
	}
	defer c.close()
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Now()) })
	defer stop()

	body, err := readConfig(c)
	if err != nil {
		return nil, fmt.Errorf("bench: discover %s: %w", endpoint, err)
	}
	cfg, err := protocol.ParseClusterBody(body)
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

// readConfig sends `config get cluster` and reads the payload of
// "CONFIG cluster <flags> <bytes>\r\n<payload>\r\nEND\r\n".
func readConfig(c *conn) ([]byte, error) {
	c.w.WriteString("config get " + protocol.ClusterKey + "\r\n")
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	line, err := readLine(c.r)
	if err != nil {
		return nil, err
	}
	rest, isConfig := bytes.CutPrefix(line, []byte("CONFIG "+protocol.ClusterKey+" "))
	if !isConfig {
		return nil, fmt.Errorf("not a configuration endpoint: it answered %q", line)
	}
	_, rest = field(rest) // flags
	size, _ := field(rest)
	n, valid := parseSize(size)
	if !valid || n > maxConfigBody {
		return nil, badReply("CONFIG line", line)
	}
	var s scratch
	body, err := s.readBlock(c.r, n)
	if err != nil {
		return nil, err
	}
	body = bytes.Clone(body)
	end, err := readLine(c.r)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(end, []byte("END")) {
		return nil, badReply("after CONFIG payload", end)
	}
	return body, nil
}
