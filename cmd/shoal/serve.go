package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/node"
)

// drainTimeout bounds how long a stopping server waits for its connections.
const drainTimeout = 30 * time.Second

// serve runs a listening server until SIGTERM or Ctrl-C: it accepts
// connections, joins the cluster with join, and when told to stop leaves
// the cluster first, then drains, so that clients following the node list
// stop sending before the connections close.
func serve(ctx context.Context, srv *node.Server, log *zap.Logger, join func(context.Context) (leave func(), err error)) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	leave, err := join(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		err = nil // told to stop while joining
	case err == nil:
		select {
		case err = <-errc:
		case <-ctx.Done():
			log.Info("draining")
		}
		leave()
	}
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); err == nil {
		err = serr
	}
	return err
}
