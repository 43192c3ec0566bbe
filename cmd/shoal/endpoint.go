package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/node"
)

func init() { subcommands = append(subcommands, endpointCommand()) }

// endpointSettings is what `shoal endpoint` is configured with: a node's
// server, process and gossip options, no storage.
type endpointSettings struct {
	set    *settings.Set
	server node.Config
	gossip gossipSettings
	proc   processSettings
}

func endpointCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Run a configuration endpoint for auto-discovery",
		Long: `Run a configuration endpoint: a cluster member with no storage that answers
ElastiCache-style discovery ("config get cluster", "get AmazonElastiCache:cluster")
on its memcached port, like ElastiCache's .cfg. endpoint. Give it a stable DNS
name and point clients at it. Every node answers discovery too, so losing the
endpoint loses nothing but the name.

The endpoint always gossips (on the listen address, port 7946, unless --gossip
says otherwise); the first member of a cluster needs no --join. It takes the
node's server, process and gossip options, from the same sources.`,
		Args: cobra.NoArgs,
	}
	es := &endpointSettings{server: node.DefaultConfig(), gossip: defaultGossip()}
	es.server.NoStorage = true
	es.set = settings.New(cmd.Flags())
	ext := es.set.Extended("extended", "o", "comma separated extended options, memcached's: ssl_*, idle_timeout, ...")
	serverOptions(es.set, &es.server, ext)
	processOptions(es.set, &es.proc)
	gossipOptions(es.set, &es.gossip)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if es.proc.printInfo() {
			return nil
		}
		if err := es.load(); err != nil {
			return err
		}
		return runServer(cmd.Context(), "configuration endpoint", es.server, es.proc, es.set.Warnings(), es.join)
	}
	return cmd
}

func (es *endpointSettings) load() error {
	if err := es.set.Load(); err != nil {
		return err
	}
	if err := es.server.Validate(); err != nil {
		return err
	}
	if es.server.UnixSocket != "" {
		return errors.New("an endpoint gossips, which needs a TCP address, and -s turns TCP off")
	}
	return errors.Join(es.gossip.Validate(), es.proc.Ops.Validate())
}

// join always joins: gossip is what an endpoint is for.
func (es *endpointSettings) join(ctx context.Context, srv *node.Server, log *zap.Logger) (*discovery.Member, func(), error) {
	m, err := es.gossip.joinMember(ctx, srv, discovery.RoleEndpoint, log)
	if err != nil {
		return nil, nil, err
	}
	log.Info("gossiping", zap.String("gossip", m.GossipAddr()))
	return m, func() { es.gossip.leaveMember(m, log) }, nil
}
