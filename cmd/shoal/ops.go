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
	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/metrics"
	"github.com/shoal-cache/shoal/node"
)

// opsSettings are how a node or an endpoint is watched: the HTTP port of
// its metrics (and dashboard), off unless given.
type opsSettings struct {
	Metrics string // --metrics ADDR:PORT
}

func opsOptions(s *settings.Set, o *opsSettings) {
	s.Flags.StringVar(&o.Metrics, "metrics", o.Metrics, "serve Prometheus metrics (/metrics) and the dashboard (/) over HTTP on ADDR:PORT")
}

// Validate checks that the metrics address is a host and port.
func (o opsSettings) Validate() error {
	if o.Metrics == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(o.Metrics); err != nil {
		return errors.New("--metrics wants ADDR:PORT: " + err.Error())
	}
	return nil
}

// opsServer is the HTTP server of --metrics.
type opsServer struct {
	http *http.Server
	ln   net.Listener
}

// startOps serves srv's and m's metrics on o.Metrics, or does nothing
// (returning nil) when it is not set.
func startOps(o opsSettings, srv *node.Server, m *discovery.Member, log *zap.Logger) (*opsServer, error) {
	if o.Metrics == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", o.Metrics)
	if err != nil {
		return nil, err
	}
	reg := metrics.NewRegistry(metrics.Sources{Server: srv, Member: m})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(log)}))
	ops := &opsServer{ln: ln, http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := ops.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", zap.Error(err))
		}
	}()
	log.Info("serving metrics", zap.String("url", "http://"+ln.Addr().String()+"/metrics"))
	return ops, nil
}

// Shutdown stops the server; a nil server has nothing to stop.
func (o *opsServer) Shutdown(ctx context.Context) error {
	if o == nil {
		return nil
	}
	return o.http.Shutdown(ctx)
}
