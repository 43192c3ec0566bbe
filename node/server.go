package node

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shoal-cache/shoal/node/internal/store"
	"go.uber.org/zap"
)

// ClusterConfig answers discovery: `config get <key>` and
// `get AmazonElastiCache:cluster`.
type ClusterConfig interface {
	// ClusterConfig returns the configuration body for key ("cluster" or
	// "shoal-cluster"), or ok=false when there is none.
	ClusterConfig(key string) (body []byte, ok bool)
}

// Server is a cache node: it accepts connections and serves the memcached
// protocols from its Store.
type Server struct {
	cfg     Config
	log     *zap.Logger
	store   *store.Store // nil on a configuration endpoint
	started time.Time

	lns      []net.Listener
	cluster  atomic.Pointer[ClusterConfig]
	draining atomic.Bool // set under mu
	stop     chan struct{}
	stopOnce sync.Once
	serving  sync.WaitGroup // Serve's accept loop

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup // one per connection open
	poll  *poller        // the epoll set of parked connections, from Serve

	verbosity atomic.Int32
	detail    detail
	watch     watchers
	auth      credentials
	tls       *serverTLS // nil without -Z
	allow     allowList
	stats     serverStats
	intro     introspection
	nextConn  atomic.Uint64
}

// serverStats are the counters kept outside the store's shards.
type serverStats struct {
	currConns, totalConns, rejectedConns atomic.Int64
	traffic                              traffic // bytes_read, bytes_written, cmd_meta
	cmdFlush, cmdConfigGet               atomic.Uint64
	storeTooLarge, storeNoMemory         atomic.Uint64
	listenDisabled                       atomic.Uint64 // temporary accept failures
}

// NewServer builds a server and its store from cfg.
func NewServer(cfg Config, log *zap.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{cfg: cfg, log: log, started: time.Now(), conns: make(map[*conn]struct{}),
		stop: make(chan struct{})}
	s.verbosity.Store(int32(cfg.Verbosity))
	s.detail.delimiter = cfg.PrefixDelimiter
	s.detail.on.Store(cfg.Detail)
	s.intro = newIntrospection(cfg)
	if err := s.auth.load(cfg); err != nil {
		return nil, err
	}
	s.allow.nets = cfg.Allow
	var err error
	if s.tls, err = newServerTLS(cfg.TLS); err != nil {
		return nil, err
	}
	if !cfg.NoStorage {
		sc := cfg.storeConfig()
		sc.OnEvict = s.observeEviction
		st, err := store.New(sc)
		if err != nil {
			return nil, err
		}
		s.store = st
	}
	return s, nil
}

// Store is the server's storage, nil on a configuration endpoint.
func (s *Server) Store() *store.Store { return s.store }

// SetClusterConfig makes the server answer discovery from c.
func (s *Server) SetClusterConfig(c ClusterConfig) { s.cluster.Store(&c) }

func (s *Server) clusterConfig() ClusterConfig {
	if p := s.cluster.Load(); p != nil {
		return *p
	}
	return nil
}

// Serve accepts connections until Shutdown; it returns nil then. A
// temporary accept failure, such as running out of descriptors, is waited
// out and counted (listen_disabled_num); any other ends Serve.
func (s *Server) Serve() error {
	if s.lns == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		return nil
	}
	if s.poll == nil {
		p, err := newPoller(s)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.poll = p
	}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	errc := make(chan error, len(s.lns))
	for i, ln := range s.lns {
		// The -l addresses speak TLS under -Z; the notls: ones after them
		// plain text.
		useTLS := s.tls != nil && i < max(len(s.cfg.Listen), 1)
		go func() { errc <- s.acceptLoop(ln, useTLS) }()
	}
	var first error
	for range s.lns {
		if err := <-errc; err != nil && first == nil {
			first = err
			s.closeListeners() // the node stops: the other loops too
		}
	}
	return first
}

func (s *Server) start(nc net.Conn, useTLS bool) {
	if !s.allow.admits(nc.RemoteAddr()) {
		s.allow.refuse(nc, s.log)
		return
	}
	s.stats.totalConns.Add(1)
	if s.stats.currConns.Add(1) > int64(s.cfg.ConnLimit) {
		s.stats.currConns.Add(-1)
		s.stats.rejectedConns.Add(1)
		_, _ = nc.Write([]byte("ERROR Too many open connections\r\n"))
		_ = nc.Close()
		return
	}
	c, err := newConn(s, nc, useTLS)
	if err != nil {
		s.log.Warn("serving a connection", zap.Error(err))
		_ = nc.Close()
		s.stats.currConns.Add(-1)
		return
	}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.wg.Add(1)
	go c.run()
}

// forget drops a connection that has ended.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.forgetParked()
}

// forgetParked counts out a connection that has ended (one parked has no
// conn).
func (s *Server) forgetParked() {
	if s.poll != nil {
		s.poll.freed.Add(1) // what it used may be given back (release)
	}
	s.stats.currConns.Add(-1)
	s.wg.Done()
}

// Shutdown stops accepting, lets every connection finish the requests it
// has read, closes the idle ones and the others as they go idle, and returns when all are
// gone or ctx ends (then it closes the rest).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining.Store(true)
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) }) // ends a backoff at once
	s.closeListeners()
	// Once Serve has returned no connection can start, so none is missed
	// below or outlives the store.
	s.serving.Wait()
	if s.poll != nil {
		s.poll.stop() // closes the parked connections
	}
	s.mu.Lock()
	for c := range s.conns {
		c.wake()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			_ = c.nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
	err := ctx.Err() // set only if connections had to be cut
	if s.store != nil {
		if cerr := s.store.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// shutdownCommand handles an enabled shutdown command: the process stops as
// if it had been sent SIGTERM (graceful) or SIGINT, as memcached raises.
func (s *Server) shutdownCommand(graceful bool) {
	sig := os.Interrupt
	if graceful {
		sig = syscall.SIGTERM
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Signal(sig)
	}
}
