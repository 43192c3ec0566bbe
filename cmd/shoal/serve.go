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

// raiseFileLimit makes room for cfg's connections, as memcached does at
// start, and warns when the descriptors left over are few.
func raiseFileLimit(cfg node.Config, log *zap.Logger) error {
	limit, err := node.RaiseFileLimit(cfg.ConnLimit)
	if err != nil {
		return err
	}
	if want := uint64(cfg.ConnLimit) + node.FileHeadroom; limit < want {
		log.Warn("the open files limit leaves few descriptors beyond -c: near -c connections, accepts may wait for descriptors",
			zap.Int("conn_limit", cfg.ConnLimit), zap.Uint64("open_files_limit", limit), zap.Uint64("wanted", want))
	}
	return nil
}

// serve runs a listening server until SIGTERM or Ctrl-C: it accepts
// connections, joins the cluster with join, and when told to stop leaves
// the cluster first, then drains, so that clients following the node list
// stop sending before the connections close.
func serve(ctx context.Context, srv *node.Server, log *zap.Logger, join func(context.Context) (leave func(), err error)) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	go reloadOnHUP(ctx, srv, log)
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

// reloadOnHUP reloads the server's auth file and certificates on each
// SIGHUP until ctx ends, as memcached does.
func reloadOnHUP(ctx context.Context, srv *node.Server, log *zap.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := srv.Reload(); err != nil {
				log.Warn("SIGHUP: reloading, the settings in force stay where a file failed", zap.Error(err))
			} else {
				log.Info("SIGHUP: reloaded the auth file and certificates")
			}
		}
	}
}
