package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/events"
	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/metrics"
	"github.com/shoal-cache/shoal/node"
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
	ops.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := ops.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", zap.Error(err))
		}
	}()
	log.Info("serving metrics", zap.String("url", "http://"+ln.Addr().String()+"/metrics"))
	return ops, nil
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
