package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoal-cache/shoal/protocol"
	"go.uber.org/zap"
)

// maxPosition bounds the positions a list may use, since the ring allocates
// a slot per position up to the highest.
const maxPosition = 1 << 16

// staticConfig is a Servers list as a configuration: positions in order.
func staticConfig(servers []string) protocol.ClusterConfig {
	cfg := protocol.ClusterConfig{Nodes: make([]protocol.ClusterNode, len(servers))}
	for i, s := range servers {
		cfg.Nodes[i] = protocol.ClusterNode{Host: s, Position: i, State: protocol.StateActive}
	}
	return cfg
}

// addrOf is where a listed node is dialed. A static list entry is its own
// address; an ElastiCache entry has a host, an IP and a port.
func addrOf(n protocol.ClusterNode) string {
	if n.Port == 0 {
		return n.Host
	}
	return n.Addr()
}

// membersOf checks a list and gives each node its position: the published
// one, or its index in a standard list, which publishes none.
func membersOf(cfg protocol.ClusterConfig) ([]member, error) {
	ms := make([]member, 0, len(cfg.Nodes))
	taken := make(map[int]bool)
	seen := make(map[string]bool)
	for i, cn := range cfg.Nodes {
		pos := cn.Position
		if pos < 0 {
			pos = i
		}
		addr := addrOf(cn)
		switch {
		case pos >= maxPosition:
			return nil, fmt.Errorf("client: node %s at position %d, beyond %d", addr, pos, maxPosition-1)
		case seen[addr]:
			return nil, fmt.Errorf("client: node %s listed twice", addr)
		}
		seen[addr] = true
		active := cn.State == protocol.StateActive
		if active {
			if taken[pos] {
				return nil, fmt.Errorf("client: two active nodes at position %d", pos)
			}
			taken[pos] = true
		}
		ms = append(ms, member{pos: pos, active: active, node: &node{addr: serverAddr(addr)}})
	}
	return ms, nil
}

// apply installs a list of a higher version than the one held. It keeps the
// node (and its connections) of every address already known, brings every
// listed node back into service, and opens a warm-up window.
func (c *Client) apply(cfg protocol.ClusterConfig, source string) error {
	ms, err := membersOf(cfg)
	if err != nil {
		c.log.Error("ignoring a malformed node list", zap.String("source", source), zap.Error(err))
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.haveVersion && cfg.Version <= c.version {
		if cfg.Version < c.version {
			c.log.Debug("ignoring an older node list", zap.String("source", source),
				zap.Uint64("version", cfg.Version), zap.Uint64("have", c.version))
		}
		return nil
	}
	nodes := make(map[string]*node, len(ms))
	for i := range ms {
		addr := ms[i].node.addr.String()
		n := c.nodes[addr]
		if n == nil {
			n = newNode(addr, &c.cfg)
		}
		n.down.Store(false)
		ms[i].node, nodes[addr] = n, n
	}
	for addr, n := range c.nodes {
		if nodes[addr] == nil {
			n.removed.Store(true)
			n.mc.Close() // idle connections only; warm-up may still dial it
		}
	}
	c.nodes, c.members = nodes, ms
	for _, m := range ms {
		c.full = max(c.full, m.pos+1) // a position, once seen, stays in the full list
	}
	c.haveVersion, c.version = true, cfg.Version
	c.rebuildLocked(true)
	r := c.cur.Load()
	if len(r.live) == 0 {
		c.log.Warn("node list has no active node", zap.String("source", source), zap.Uint64("version", cfg.Version))
	}
	c.log.Info("node list applied", zap.String("source", source), zap.Uint64("version", cfg.Version),
		zap.Int("nodes", len(ms)), zap.Int("active", len(r.live)))
	return nil
}

func (c *Client) poll() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-c.bg.Done():
			return
		case <-t.C:
			c.refresh(c.bg)
		}
	}
}

// refresh reads the node list from the endpoints, then, when none answers,
// from the nodes already known, in turn, and applies it if it is newer.
func (c *Client) refresh(ctx context.Context) error {
	var errs []error
	for _, addr := range c.cfg.Endpoints {
		cfg, err := c.fetch(ctx, addr)
		c.sourceAnswers(addr, "configuration endpoint", err)
		if err == nil {
			return c.apply(cfg, addr)
		}
		errs = append(errs, err)
	}
	for _, addr := range c.knownNodes() {
		if ctx.Err() != nil {
			break
		}
		cfg, err := c.fetch(ctx, addr)
		c.sourceAnswers(addr, "node", err)
		if err == nil {
			return c.apply(cfg, addr)
		}
		errs = append(errs, err)
	}
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if ctx.Err() == nil {
		c.log.Warn("no node list source answers; keeping the last list", zap.Uint64("version", v))
	}
	return fmt.Errorf("client: no configuration source answers: %w", errors.Join(errs...))
}

// sourceAnswers logs when a discovery source stops or starts answering,
// rather than at every poll. Only refresh calls it, one call at a time.
func (c *Client) sourceAnswers(addr, kind string, err error) {
	switch {
	case err != nil && !c.sourceDown[addr]:
		c.sourceDown[addr] = true
		c.log.Warn(kind+" does not answer discovery", zap.String("addr", addr), zap.Error(err))
	case err == nil && c.sourceDown[addr]:
		delete(c.sourceDown, addr)
		c.log.Info(kind+" answers discovery again", zap.String("addr", addr))
	}
}

// knownNodes lists the published nodes that are not found down, live ones
// first in position order, for asking the list when the endpoints fail.
func (c *Client) knownNodes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	addrs := make([]string, 0, len(c.members))
	for _, m := range c.members {
		if !m.node.down.Load() {
			addrs = append(addrs, m.node.addr.String())
		}
	}
	return addrs
}

// fetch asks one server for the node list: shoal's extended form first, then
// ElastiCache's `config get cluster`, then the pre-1.4.14 form, each when the
// one before is not known to the server.
func (c *Client) fetch(ctx context.Context, addr string) (protocol.ClusterConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	conn, err := c.cfg.dial(ctx, "tcp", addr)
	if err != nil {
		return protocol.ClusterConfig{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	rw := bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn))
	cfg, err := protocol.FetchClusterConfig(rw, protocol.DiscoveryRequests...)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", addr, err)
	}
	return cfg, nil
}
