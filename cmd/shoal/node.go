package main

import (
	"errors"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/node"
)

func init() {
	cmd, _ := nodeCommand()
	subcommands = append(subcommands, cmd)
}

// nodeSettings is everything `shoal node` is configured with.
type nodeSettings struct {
	set    *settings.Set
	node   node.Config
	gossip gossipSettings
	proc   processSettings
}

// newNodeSettings declares the node's options on flags, bound to settings
// at their defaults.
func newNodeSettings(flags *pflag.FlagSet) *nodeSettings {
	ns := &nodeSettings{node: node.DefaultConfig(), gossip: defaultGossip()}
	ns.set = settings.New(flags)
	ext := ns.set.Extended("extended", "o", "comma separated extended options, memcached's: ssl_*, slab_automove, idle_timeout, no_lru_crawler, ... (the README lists them all)")
	serverOptions(ns.set, &ns.node, ext)
	storeOptions(ns.set, &ns.node, ext)
	processOptions(ns.set, &ns.proc)
	gossipOptions(ns.set, &ns.gossip)
	return ns
}

// load fills the settings the command line left alone and checks them.
func (ns *nodeSettings) load() error {
	if err := ns.set.Load(); err != nil {
		return err
	}
	if err := ns.node.Validate(); err != nil {
		return err
	}
	if ns.gossip.enabled() && ns.node.UnixSocket != "" {
		return errors.New("a node that gossips needs a TCP address, and -s turns TCP off")
	}
	return errors.Join(ns.gossip.Validate(), ns.proc.Ops.Validate())
}

// nodeCommand is `shoal node`, and the settings it fills.
func nodeCommand() (*cobra.Command, *nodeSettings) {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a cache node (a drop-in for memcached)",
		Long: `Run a cache node: a memcached 1.6 compatible server (text, meta and binary
protocols) with slab-allocated storage. It takes memcached 1.6's options with
memcached's meaning; those that mean nothing for shoal are accepted with a
warning at startup, and UDP (-U) and SASL (-S) are refused, saying why.

Every option can also be set in a config file (--config: YAML, TOML or JSON
with keys named like the long options, or memcached-style, one option a line
as /etc/memcached.conf) or in an environment variable SHOAL_<OPTION>, with
dashes as underscores: SHOAL_MEMORY_LIMIT=1024. Options win over the
environment, which wins over the file.`,
		Args: cobra.NoArgs,
	}
	ns := newNodeSettings(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if ns.proc.printInfo() {
			return nil
		}
		if err := ns.load(); err != nil {
			return err
		}
		c := ns.node
		return runServer(cmd.Context(), "node", c, ns.proc, ns.set.Warnings(), ns.gossip.joinCluster,
			zap.Int("memory_limit_mb", c.MemoryLimitMB), zap.Int("conn_limit", c.ConnLimit),
			zap.Int("threads", c.Threads), zap.Int("max_item_size", c.MaxItemSize),
			zap.Float64("growth_factor", c.GrowthFactor), zap.Int("slab_min_size", c.MinChunk),
			zap.Bool("cas", !c.DisableCAS), zap.Bool("evictions", !c.DisableEvictions))
	}
	return cmd, ns
}

// flushOnDrop is a node's discovery.Config.OnDropped. While a node is out of
// the published list, clients write its keys on their fail-over owners; the
// values it still holds are older than those, and clients that route back
// to it must not find them. So it starts again empty.
func flushOnDrop(srv *node.Server, log *zap.Logger) func() {
	return func() {
		log.Warn("this node was dropped from the node list meanwhile: flushing its cache")
		srv.Store().FlushAll(0)
	}
}
