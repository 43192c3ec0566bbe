package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/shoal-cache/shoal/bench"
	"github.com/shoal-cache/shoal/internal/settings"
)

func init() { subcommands = append(subcommands, benchCommand()) }

// benchSettings is what `shoal bench` is configured with: a bench.Config,
// and where to find the servers.
type benchSettings struct {
	set      *settings.Set
	cfg      bench.Config
	endpoint string
	asJSON   bool
	tls      clientTLSOptions
}

// benchOptions declares the load generator's options, bound to b.cfg.
func benchOptions(b *benchSettings) {
	c, f := &b.cfg, b.set.Flags
	f.Var(settings.Value(&c.Servers, bench.ParseServers, joinComma, "host:port,..."), "servers", "comma-separated host:port of the servers")
	f.StringVar(&b.endpoint, "endpoint", "", "configuration endpoint host:port to discover the nodes from (instead of --servers)")
	f.Var(settings.Text(&c.Protocol, "name"), "protocol", "protocol: text, meta or binary")
	f.IntVarP(&c.Connections, "connections", "c", c.Connections, "connections to each server (one goroutine drives one to every server)")
	f.IntVar(&c.Pipeline, "pipeline", c.Pipeline, "requests written per connection before reading replies")
	f.Var(&ratioValue{c}, "ratio", "set:get ratio")
	f.IntVar(&c.MultiGet, "multiget", c.MultiGet, "keys per get")
	f.Uint64Var(&c.Keys, "keys", c.Keys, "size of the key space")
	f.StringVar(&c.KeyPrefix, "key-prefix", c.KeyPrefix, "prefix of every key")
	f.Var(settings.Text(&c.Dist, "name"), "key-dist", "key distribution: uniform or zipfian")
	f.Float64Var(&c.ZipfSkew, "zipf-skew", c.ZipfSkew, "exponent of the zipfian distribution")
	f.Var(&valueSizeValue{c}, "value-size", "value size in bytes, or a range MIN-MAX")
	f.DurationVarP(&c.Duration, "duration", "d", c.Duration, "how long to send load (0: no limit)")
	f.Int64VarP(&c.Requests, "requests", "n", c.Requests, "how many requests to send (0: no limit); alone, the run is counted, not timed")
	f.Var(&negated{&c.Warmup}, "no-warmup", "do not set every key once before measuring")
	f.Lookup("no-warmup").NoOptDefVal = "true"
	f.BoolVar(&c.Verify, "verify", c.Verify, "check every value read back against what was written")
	f.DurationVar(&c.Timeout, "timeout", c.Timeout, "bound on one batch's writes and reads")
	f.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the key, operation and value choices")
	f.BoolVar(&b.asJSON, "json", false, "print the result as JSON")
	b.tls.declare(f, &c.Connect)
}

func benchCommand() *cobra.Command {
	b := &benchSettings{cfg: bench.DefaultConfig()}
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
requests failed and when (first and last error since the load started).

Every option can also come from SHOAL_<OPTION> or a --config file, as the
node's do.`,
		Args: cobra.NoArgs,
	}
	b.set = settings.New(cmd.Flags())
	benchOptions(b)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := b.load(ctx); err != nil {
			return err
		}
		if isTerminal(os.Stderr) && isTerminal(os.Stdout) {
			b.cfg.Progress = os.Stderr
		}
		res, err := bench.Run(ctx, b.cfg)
		if res != nil {
			if werr := writeResult(res, b.asJSON); werr != nil && err == nil {
				err = werr
			}
		}
		if err == nil && res.VerifyErrors > 0 {
			err = fmt.Errorf("%d wrong values read back", res.VerifyErrors)
		}
		return err
	}
	return cmd
}

// load fills the settings the command line left alone and finds the
// servers; bench.Run checks the whole.
func (b *benchSettings) load(ctx context.Context) error {
	if err := b.set.Load(); err != nil {
		return err
	}
	var err error
	if b.cfg.Connect.TLS, err = b.tls.config(); err != nil {
		return err
	}
	if b.set.Changed("requests") && !b.set.Changed("duration") {
		b.cfg.Duration = 0 // counted, not timed
	}
	switch {
	case b.endpoint != "" && b.set.Changed("servers"):
		return errors.New("bench: give --servers or --endpoint, not both")
	case b.endpoint != "":
		servers, err := bench.Discover(ctx, b.endpoint, b.cfg.Connect, b.cfg.Timeout)
		if err != nil {
			return err
		}
		b.cfg.Servers = servers
	}
	return nil
}

func joinComma(s []string) string { return strings.Join(s, ",") }

// ratioValue is --ratio SET:GET.
type ratioValue struct{ c *bench.Config }

func (v *ratioValue) Set(s string) (err error) {
	v.c.SetRatio, v.c.GetRatio, err = bench.ParseRatio(s)
	return err
}
func (v *ratioValue) String() string { return fmt.Sprintf("%d:%d", v.c.SetRatio, v.c.GetRatio) }
func (v *ratioValue) Type() string   { return "set:get" }

// valueSizeValue is --value-size N or MIN-MAX.
type valueSizeValue struct{ c *bench.Config }

func (v *valueSizeValue) Set(s string) (err error) {
	v.c.ValueMin, v.c.ValueMax, err = bench.ParseSize(s)
	return err
}

func (v *valueSizeValue) String() string {
	if v.c.ValueMin == v.c.ValueMax {
		return strconv.Itoa(v.c.ValueMin)
	}
	return fmt.Sprintf("%d-%d", v.c.ValueMin, v.c.ValueMax)
}
func (v *valueSizeValue) Type() string { return "bytes" }

// negated is a switch that turns a setting off (--no-warmup).
type negated struct{ p *bool }

func (v *negated) Set(s string) error {
	on, err := strconv.ParseBool(s)
	*v.p = !on
	return err
}
func (v *negated) String() string { return strconv.FormatBool(!*v.p) }
func (v *negated) Type() string   { return "bool" }

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
