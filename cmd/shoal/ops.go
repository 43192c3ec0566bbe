package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/dashboard"
	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/events"
	"github.com/shoal-cache/shoal/internal/connect"
	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/metrics"
	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/status"
)

// opsSettings are how a node or an endpoint is watched: the HTTP port of
// its metrics (and dashboard), off unless given, and where cluster events
// are POSTed.
type opsSettings struct {
	Metrics      string // --metrics ADDR:PORT
	EventWebhook string // --event-webhook URL
}

func opsOptions(s *settings.Set, o *opsSettings) {
	s.Flags.StringVar(&o.Metrics, "metrics", o.Metrics, "serve Prometheus metrics (/metrics) and the dashboard (/) over HTTP on ADDR:PORT")
	s.Flags.StringVar(&o.EventWebhook, "event-webhook", o.EventWebhook, "POST each cluster event this member sees (joined, active, leaving, failed, left, position, version) as JSON to URL")
}

// Validate checks that the metrics address is a host and port and the
// webhook an HTTP URL.
func (o opsSettings) Validate() error {
	if err := o.events().Validate(); err != nil {
		return errors.New("--event-webhook: " + err.Error())
	}
	if o.Metrics == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(o.Metrics); err != nil {
		return errors.New("--metrics wants ADDR:PORT: " + err.Error())
	}
	return nil
}

func (o opsSettings) events() events.Config {
	return events.Config{Webhook: events.WebhookConfig{URL: o.EventWebhook}}
}

// opsServer is what watches a running member: its event recorder and the
// HTTP server of --metrics, each nil when not asked for.
type opsServer struct {
	http       *http.Server
	stopEvents func()
}

// startOps records m's cluster events (when m is not nil) and serves srv's
// and m's metrics on o.Metrics (when it is set).
func startOps(o opsSettings, srv *node.Server, m *discovery.Member, log *zap.Logger) (*opsServer, error) {
	ops := &opsServer{stopEvents: func() {}}
	var rec *events.Recorder
	if m != nil {
		rec = events.New(o.events(), log)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { rec.Run(ctx, m.View); close(done) }()
		ops.stopEvents = func() { cancel(); <-done }
	}
	if o.Metrics == "" {
		return ops, nil
	}
	ln, err := net.Listen("tcp", o.Metrics)
	if err != nil {
		ops.stopEvents()
		return nil, err
	}
	reg := metrics.NewRegistry(metrics.Sources{Server: srv, Member: m})
	if rec != nil {
		reg.MustRegister(rec)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(log)}))
	mux.Handle("/", dashboard.Handler(clusterSource(srv, m)))
	ops.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := ops.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", zap.Error(err))
		}
	}()
	log.Info("serving metrics", zap.String("url", "http://"+ln.Addr().String()+"/metrics"))
	return ops, nil
}

// clusterSource is the dashboard's cluster: the nodes as m sees them (so a
// node gossip lost shows failed at once, before the list drops it), each
// read over its memcached port; a node that does not gossip shows itself.
func clusterSource(srv *node.Server, m *discovery.Member) dashboard.Source {
	return func(ctx context.Context, prev *status.Snapshot) status.Snapshot {
		if m == nil {
			self := []status.Row{{State: "active", Addr: srv.Addr().String()}}
			return status.Read(ctx, 0, self, connect.Options{}, prev)
		}
		v := m.View()
		rows := make([]status.Row, len(v.Nodes))
		for i, n := range v.Nodes {
			rows[i] = status.Row{Position: n.Position, State: n.State, Addr: n.Addr}
			if n.State == discovery.ViewFailed || n.State == discovery.ViewLeft {
				rows[i].Addr = "" // nothing to read
			}
		}
		slices.SortFunc(rows, func(a, b status.Row) int { return a.Position - b.Position })
		return status.Read(ctx, v.Version, rows, connect.Options{}, prev)
	}
}

// Shutdown stops what startOps started; a nil server has nothing to stop.
func (o *opsServer) Shutdown(ctx context.Context) error {
	if o == nil {
		return nil
	}
	o.stopEvents()
	if o.http == nil {
		return nil
	}
	return o.http.Shutdown(ctx)
}
