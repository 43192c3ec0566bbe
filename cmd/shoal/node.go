package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/node"
)

func init() {
	cmd, _ := nodeCommand()
	subcommands = append(subcommands, cmd)
}

// nodeCommand is `shoal node`, and the viper its settings are read from.
func nodeCommand() (*cobra.Command, *viper.Viper) {
	v := viper.New()
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a cache node (a drop-in for memcached)",
		Long: `Run a cache node: a memcached 1.6 compatible server (text, meta and binary
protocols) with slab-allocated storage.

Every flag can also be set in a config file (--config, YAML/TOML/JSON, keys
named like the long flags) or in an environment variable SHOAL_<FLAG>, with
dashes as underscores: SHOAL_MEMORY_LIMIT=1024. Flags win over the
environment, which wins over the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := nodeConfig(v)
			if err != nil {
				return err
			}
			return runNode(cmd.Context(), cfg, v)
		},
	}
	addNodeFlags(cmd.Flags())
	addDiscoveryFlags(cmd.Flags())
	bindConfig(v, cmd.Flags())
	return cmd, v
}

func addNodeFlags(f *pflag.FlagSet) {
	d := node.DefaultConfig()
	f.IntP("port", "p", d.Port, "TCP port to listen on")
	f.StringSliceP("listen", "l", d.Listen, "interface to listen on (0.0.0.0 for all)")
	f.IntP("memory-limit", "m", d.MemoryLimitMB, "item memory in megabytes")
	f.IntP("conn-limit", "c", d.ConnLimit, "max simultaneous connections")
	f.IntP("threads", "t", d.Threads, "number of cores to serve on")
	f.StringP("max-item-size", "I", "1m", "max item size (k and m suffixes), 1k to 1g")
	f.Float64P("slab-growth-factor", "f", d.GrowthFactor, "chunk size growth factor")
	f.IntP("slab-min-size", "n", d.MinChunk, "min space for key+value+flags in the smallest chunk")
	f.BoolP("disable-cas", "C", false, "disable use of CAS")
	f.BoolP("disable-evictions", "M", false, "return an error on memory exhausted instead of evicting")
	f.BoolP("enable-shutdown", "A", false, "enable the ascii shutdown command")
	f.CountP("verbose", "v", "verbose logging (-vv for more)")
	f.String("config", "", "config file (YAML, TOML or JSON)")
}

// bindConfig lets viper read every flag from the config file and SHOAL_*
// environment variables too.
func bindConfig(v *viper.Viper, f *pflag.FlagSet) {
	_ = v.BindPFlags(f)
	v.SetEnvPrefix("SHOAL")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
}

func readConfigFile(v *viper.Viper) error {
	if file := v.GetString("config"); file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return fmt.Errorf("reading config file: %w", err)
		}
	}
	return nil
}

func nodeConfig(v *viper.Viper) (node.Config, error) {
	if err := readConfigFile(v); err != nil {
		return node.Config{}, err
	}
	size, err := parseSize(v.GetString("max-item-size"))
	if err != nil {
		return node.Config{}, err
	}
	cfg := node.DefaultConfig()
	cfg.Listen = v.GetStringSlice("listen")
	cfg.Port = v.GetInt("port")
	cfg.MemoryLimitMB = v.GetInt("memory-limit")
	cfg.ConnLimit = v.GetInt("conn-limit")
	cfg.Threads = v.GetInt("threads")
	cfg.MaxItemSize = size
	cfg.GrowthFactor = v.GetFloat64("slab-growth-factor")
	cfg.MinChunk = v.GetInt("slab-min-size")
	cfg.DisableCAS = v.GetBool("disable-cas")
	cfg.DisableEvictions = v.GetBool("disable-evictions")
	cfg.EnableShutdown = v.GetBool("enable-shutdown")
	cfg.Verbosity = v.GetInt("verbose")
	return cfg, cfg.Validate()
}

// parseSize reads a size like memcached's -I: bytes, or k/m/g suffixed.
func parseSize(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func newLogger(verbosity int) *zap.Logger {
	cfg := zap.NewProductionConfig()
	cfg.Encoding = "console"
	cfg.EncoderConfig.EncodeTime = zapISOTime
	cfg.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	if verbosity > 0 {
		cfg.Level = zap.NewAtomicLevelAt(zap.DebugLevel)
	}
	log, err := cfg.Build()
	if err != nil {
		return zap.NewNop()
	}
	return log
}

func runNode(ctx context.Context, cfg node.Config, v *viper.Viper) error {
	runtime.GOMAXPROCS(cfg.Threads)
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
	log.Info("shoal node started", zap.Stringer("addr", srv.Addr()),
		zap.Int("memory_limit_mb", cfg.MemoryLimitMB), zap.Int("conn_limit", cfg.ConnLimit),
		zap.Int("threads", cfg.Threads), zap.Int("max_item_size", cfg.MaxItemSize),
		zap.Float64("growth_factor", cfg.GrowthFactor), zap.Int("slab_min_size", cfg.MinChunk),
		zap.Bool("cas", !cfg.DisableCAS), zap.Bool("evictions", !cfg.DisableEvictions))

	return serve(ctx, srv, log, func(ctx context.Context) (func(), error) {
		return joinCluster(ctx, srv, v, log)
	})
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
