package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/shoal-cache/shoal/bench"
)

func init() { subcommands = append(subcommands, benchCommand()) }

func benchCommand() *cobra.Command {
	d := bench.DefaultConfig()
	var (
		servers, endpoint, ratio, size, proto, dist string
		noWarmup, asJSON                            bool
		cfg                                         = d
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a memcached-protocol server or a shoal cluster and measure it",
		Long: `Send load to memcached-protocol servers and report throughput and latency
(p50, p90, p99, p99.9, max, from HDR histograms).

Targets are --servers host:port,... (keys spread over them by a hash of the
key) or --endpoint host:port, a configuration endpoint whose node list is read
with "config get cluster". The run ends after --duration or --requests,
whichever comes first. With --verify every value written carries its key and
a checksum, and every value read back is checked: a miss is fine, a wrong
value is counted and reported.

A server that fails under load does not end the run: its requests fail, the
workers dial it again with backoff, and the report tells per server how many
requests failed and when (first and last error since the load started).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var err error
			if cfg.SetRatio, cfg.GetRatio, err = bench.ParseRatio(ratio); err != nil {
				return err
			}
			if cfg.ValueMin, cfg.ValueMax, err = bench.ParseSize(size); err != nil {
				return err
			}
			cfg.Protocol, cfg.Dist, cfg.Warmup = bench.Protocol(proto), bench.Distribution(dist), !noWarmup
			if cmd.Flags().Changed("requests") && !cmd.Flags().Changed("duration") {
				cfg.Duration = 0 // counted, not timed
			}
			if cfg.Servers, err = targets(ctx, servers, endpoint, cfg); err != nil {
				return err
			}
			if isTerminal(os.Stderr) && isTerminal(os.Stdout) {
				cfg.Progress = os.Stderr
			}
			res, err := bench.Run(ctx, cfg)
			if res != nil {
				if werr := writeResult(res, asJSON); werr != nil && err == nil {
					err = werr
				}
			}
			if err == nil && res.VerifyErrors > 0 {
				err = fmt.Errorf("%d wrong values read back", res.VerifyErrors)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&servers, "servers", "", "comma-separated host:port of the servers (default 127.0.0.1:11211)")
	f.StringVar(&endpoint, "endpoint", "", "configuration endpoint host:port to discover the nodes from")
	f.StringVar(&proto, "protocol", string(d.Protocol), "protocol: text, meta or binary")
	f.IntVarP(&cfg.Connections, "connections", "c", d.Connections, "connections to each server (one goroutine drives one to every server)")
	f.IntVar(&cfg.Pipeline, "pipeline", d.Pipeline, "requests written per connection before reading replies")
	f.StringVar(&ratio, "ratio", "1:9", "set:get ratio")
	f.IntVar(&cfg.MultiGet, "multiget", d.MultiGet, "keys per get")
	f.Uint64Var(&cfg.Keys, "keys", d.Keys, "size of the key space")
	f.StringVar(&cfg.KeyPrefix, "key-prefix", d.KeyPrefix, "prefix of every key")
	f.StringVar(&dist, "key-dist", string(d.Dist), "key distribution: uniform or zipfian")
	f.Float64Var(&cfg.ZipfSkew, "zipf-skew", d.ZipfSkew, "exponent of the zipfian distribution")
	f.StringVar(&size, "value-size", "100", "value size in bytes, or a range MIN-MAX")
	f.DurationVarP(&cfg.Duration, "duration", "d", d.Duration, "how long to send load (0: no limit)")
	f.Int64VarP(&cfg.Requests, "requests", "n", 0, "how many requests to send (0: no limit)")
	f.BoolVar(&noWarmup, "no-warmup", false, "do not set every key once before measuring")
	f.BoolVar(&cfg.Verify, "verify", false, "check every value read back against what was written")
	f.DurationVar(&cfg.Timeout, "timeout", d.Timeout, "bound on one batch's writes and reads")
	f.Uint64Var(&cfg.Seed, "seed", d.Seed, "seed of the key, operation and value choices")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// targets resolves --servers or --endpoint to the list of servers to load.
func targets(ctx context.Context, servers, endpoint string, cfg bench.Config) ([]string, error) {
	switch {
	case servers != "" && endpoint != "":
		return nil, errors.New("bench: give --servers or --endpoint, not both")
	case endpoint != "":
		return bench.Discover(ctx, endpoint, cfg.Connect, cfg.Timeout)
	case servers != "":
		return bench.ParseServers(servers)
	}
	return cfg.Servers, nil
}

func writeResult(res *bench.Result, asJSON bool) error {
	if !asJSON {
		return res.WriteText(os.Stdout)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}

// isTerminal reports whether f is a character device, as a terminal is and
// a pipe or a file is not.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
