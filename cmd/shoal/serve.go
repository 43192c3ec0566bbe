package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/node"
)

// drainTimeout bounds how long a stopping server waits for its connections.
const drainTimeout = 30 * time.Second

// joinFunc makes a listening server a cluster member; leave takes it out.
// m is the member, nil for a node that does not gossip.
type joinFunc func(ctx context.Context, srv *node.Server, log *zap.Logger) (m *discovery.Member, leave func(), err error)

// runServer starts a node or an endpoint as memcached starts: -d, the log,
// -t, -r, the descriptor limit for -c, listening, -P, -u, then serving
// until SIGTERM or Ctrl-C. warnings are the settings' startup warnings;
// fields go in the startup line.
func runServer(ctx context.Context, role string, cfg node.Config, proc processSettings, warnings []string, join joinFunc, fields ...zap.Field) error {
	if proc.Daemon && !isDaemon() {
		return daemonize()
	}
	log, level, err := newLogger(cfg.Verbosity, proc.LogFile)
	if err != nil {
		return err
	}
	cfg.LogLevel = level
	defer func() { _ = log.Sync() }()
	for _, w := range warnings {
		log.Warn(w)
	}
	runtime.GOMAXPROCS(cfg.Threads)
	if proc.CoreDumps {
		if err := enableCoreDumps(); err != nil {
			return err
		}
	}
	srv, err := listen(cfg, log)
	if err != nil {
		return err
	}
	removePid, err := writePidFile(proc.PidFile, log)
	if err != nil {
		return err
	}
	defer removePid()
	if err := dropPrivileges(proc.User, log); err != nil {
		return err
	}
	if err := detach(cfg.Verbosity > 0); err != nil {
		return err
	}
	log.Info("shoal "+role+" started", append([]zap.Field{zap.Stringers("addrs", srv.Addrs())}, fields...)...)
	return serve(ctx, srv, proc.Ops, log, join)
}

// listen makes room for cfg's connections and binds its addresses.
func listen(cfg node.Config, log *zap.Logger) (*node.Server, error) {
	if err := raiseFileLimit(cfg, log); err != nil {
		return nil, err
	}
	srv, err := node.NewServer(cfg, log)
	if err != nil {
		return nil, err
	}
	return srv, srv.Listen()
}

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
func serve(ctx context.Context, srv *node.Server, o opsSettings, log *zap.Logger, join joinFunc) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	m, leave, err := join(ctx, srv, log)
	var ops *opsServer
	if err == nil {
		go reloadOnHUP(ctx, srv, m, log)
		if ops, err = startOps(o, srv, m, log); err != nil {
			leave()
		}
	}
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
	if serr := errors.Join(ops.Shutdown(sctx), srv.Shutdown(sctx)); err == nil {
		err = serr
	}
	return err
}

// reloadOnHUP reads again, on each SIGHUP until ctx ends, the files a
// running node takes its secrets from, as memcached does: the auth file,
// the TLS certificate, key and CAs, and the gossip key file. What fails to
// load stays as it was.
func reloadOnHUP(ctx context.Context, srv *node.Server, m *discovery.Member, log *zap.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			err := srv.Reload()
			if m != nil {
				err = errors.Join(err, m.ReloadKeys())
			}
			if err != nil {
				log.Warn("SIGHUP: what failed to load stays as it was", zap.Error(err))
			} else {
				log.Info("SIGHUP: reloaded")
			}
		}
	}
}
