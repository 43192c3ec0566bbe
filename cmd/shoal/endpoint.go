package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/node"
)

func init() { subcommands = append(subcommands, endpointCommand()) }

func endpointCommand() *cobra.Command {
	v := viper.New()
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Run a configuration endpoint for auto-discovery",
		Long: `Run a configuration endpoint: a cluster member with no storage that answers
ElastiCache-style discovery ("config get cluster", "get AmazonElastiCache:cluster")
on its memcached port, like ElastiCache's .cfg. endpoint. Give it a stable DNS
name and point clients at it. Every node answers discovery too, so losing the
endpoint loses nothing but the name.

The endpoint always gossips (on the listen address, port 7946, unless --gossip
says otherwise); the first member of a cluster needs no --join.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := readConfigFile(v); err != nil {
				return err
			}
			return runEndpoint(cmd.Context(), v)
		},
	}
	f := cmd.Flags()
	d := node.DefaultConfig()
	f.IntP("port", "p", d.Port, "TCP port to listen on")
	f.StringSliceP("listen", "l", d.Listen, "interface to listen on (0.0.0.0 for all)")
	f.IntP("conn-limit", "c", d.ConnLimit, "max simultaneous connections")
	f.CountP("verbose", "v", "verbose logging")
	f.String("config", "", "config file (YAML, TOML or JSON)")
	addDiscoveryFlags(f)
	bindConfig(v, f)
	return cmd
}

func runEndpoint(ctx context.Context, v *viper.Viper) error {
	cfg := node.DefaultConfig()
	cfg.Listen, cfg.Port, cfg.ConnLimit = v.GetStringSlice("listen"), v.GetInt("port"), v.GetInt("conn-limit")
	cfg.Verbosity = v.GetInt("verbose")
	cfg.NoStorage = true
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.Verbosity)
	defer func() { _ = log.Sync() }()
	if err := raiseFileLimit(cfg, log); err != nil {
		return err
	}
	srv, err := node.NewServer(cfg, log)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	return serve(ctx, srv, log, func(ctx context.Context) (func(), error) {
		m, err := joinMember(ctx, srv, v, discovery.RoleEndpoint, log)
		if err != nil {
			return nil, err
		}
		log.Info("shoal configuration endpoint started", zap.Stringer("addr", srv.Addr()), zap.String("gossip", m.GossipAddr()))
		return func() { leaveMember(m, v, log) }, nil
	})
}
