package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-cache/shoal/bench"
	"github.com/shoal-cache/shoal/metrics"
	"github.com/shoal-cache/shoal/node"
)

// BenchmarkGet90MetricsCost measures what metrics cost: bench/compare's
// get90 load (90% get, 10% set, 100-byte values, 50 connections, b.N
// requests) over TCP on two in-process nodes, one with latency and hot key
// recording off, one with them on and its /metrics gathered every second
// (Prometheus's interval in the README). The two alternate, off then on,
// for three rounds; reported are each one's ops/s over all rounds, the
// ratio on/off, and the worst round's ratio:
//
//	go test -run '^$' -bench Get90MetricsCost -benchtime 100000x ./metrics/
func BenchmarkGet90MetricsCost(b *testing.B) {
	const rounds = 3
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, offAddr := startServer(b, func(c *node.Config) { c.NoIntrospection = true })
	on, onAddr := startServer(b, nil)
	go scrapeEvery(ctx, metrics.NewRegistry(metrics.Sources{Server: on}), time.Second)
	var offOps, onOps, offSecs, onSecs float64
	worst := 2.0
	for range rounds {
		a := get90(b, ctx, offAddr)
		c := get90(b, ctx, onAddr)
		offOps, offSecs = offOps+a.ops, offSecs+a.secs
		onOps, onSecs = onOps+c.ops, onSecs+c.secs
		worst = min(worst, (c.ops/c.secs)/(a.ops/a.secs))
	}
	b.ReportMetric(offOps/offSecs, "off-ops/s")
	b.ReportMetric(onOps/onSecs, "on-ops/s")
	b.ReportMetric((onOps/onSecs)/(offOps/offSecs), "on/off")
	b.ReportMetric(worst, "worst-round-on/off")
}

type throughput struct{ ops, secs float64 }

func get90(b *testing.B, ctx context.Context, addr string) throughput {
	cfg := bench.DefaultConfig()
	cfg.Servers, cfg.Connections, cfg.Keys = []string{addr}, 50, 10000
	cfg.Duration, cfg.Requests = 0, int64(b.N)
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if res.Failed > 0 || res.Errors > 0 {
		b.Fatalf("%d failed, %d errors", res.Failed, res.Errors)
	}
	return throughput{float64(res.Ops), res.Elapsed.Seconds()}
}

// scrapeEvery gathers reg every d until ctx ends.
func scrapeEvery(ctx context.Context, reg prometheus.Gatherer, d time.Duration) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_, _ = reg.Gather()
		}
	}
}
