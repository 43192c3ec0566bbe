package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-cache/shoal/internal/connect"
	"github.com/shoal-cache/shoal/status"
)

func init() { subcommands = append(subcommands, statusCommand()) }

// statusSettings are what `shoal status` is run with.
type statusSettings struct {
	endpoint string
	watch    time.Duration // 0: print once
	asJSON   bool
	tls      clientTLSOptions
	connect  connect.Options
}

func statusCommand() *cobra.Command {
	st := &statusSettings{}
	cmd := &cobra.Command{
		Use:   "status --endpoint HOST:PORT",
		Short: "Print a table of the cluster: a row per node",
		Long: `Print the cluster the configuration endpoint lists: a row per node with its
position, state, address, items, memory used of its limit, hit ratio, requests
per second, connections, evictions and p99 latency (from stats latency).
With --watch the table is redrawn in place (on a terminal; plain text
otherwise); --json prints the same as JSON.`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&st.endpoint, "endpoint", "127.0.0.1:21211", "configuration endpoint (or any node)")
	f.DurationVar(&st.watch, "watch", 0, "redraw every interval (e.g. 2s) until Ctrl-C")
	f.Lookup("watch").NoOptDefVal = "2s"
	f.BoolVar(&st.asJSON, "json", false, "print JSON")
	st.tls.declare(f, &st.connect)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		if st.connect.TLS, err = st.tls.config(); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
		defer stop()
		return st.run(ctx)
	}
	return cmd
}

// run prints one snapshot, or with --watch one per interval. The first one
// is taken over a second, so that it has request rates.
func (st *statusSettings) run(ctx context.Context) error {
	prev, err := status.Gather(ctx, st.endpoint, st.connect, nil)
	if err != nil {
		return err
	}
	interval := cmpDuration(st.watch, time.Second)
	redraw := st.watch > 0 && !st.asJSON && isTerminal(os.Stdout)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
		snap, err := status.Gather(ctx, st.endpoint, st.connect, &prev)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return err
		}
		if redraw {
			fmt.Print("\x1b[H\x1b[2J") // home, clear: the table in place
		}
		if err := st.print(snap); err != nil || st.watch == 0 {
			return err
		}
		prev = snap
	}
}

func (st *statusSettings) print(s status.Snapshot) error {
	if st.asJSON {
		return json.NewEncoder(os.Stdout).Encode(s)
	}
	return s.WriteTable(os.Stdout)
}

func cmpDuration(d, otherwise time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return otherwise
}
