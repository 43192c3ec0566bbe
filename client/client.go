package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// Item is an item to be got or stored: gomemcache's own type.
type Item = memcache.Item

// gomemcache's error values, which the client returns as they are.
var (
	ErrCacheMiss    = memcache.ErrCacheMiss
	ErrCASConflict  = memcache.ErrCASConflict
	ErrNotStored    = memcache.ErrNotStored
	ErrServerError  = memcache.ErrServerError
	ErrMalformedKey = memcache.ErrMalformedKey
	ErrNoServers    = memcache.ErrNoServers
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("client: closed")

// Defaults for the zero values of Config.
const (
	DefaultPollInterval  = 5 * time.Second
	DefaultTimeout       = memcache.DefaultTimeout
	DefaultMaxIdleConns  = 64
	DefaultProbeInterval = time.Second
	DefaultWarmupWindow  = time.Minute
	DefaultWarmupTTL     = 5 * time.Minute
	DefaultTTLJitter     = 0.1
	DefaultFailoverTTL   = time.Minute
)

// Config configures a Client. Set exactly one of Endpoints and Servers.
type Config struct {
	// Endpoints are configuration endpoints (host:port) that answer
	// `config get cluster`: shoal endpoints or nodes, or ElastiCache's.
	Endpoints []string
	// Servers is a static list of memcached servers (host:port), in
	// position order, for use without discovery.
	Servers []string

	// PollInterval is how often the node list is read again.
	PollInterval time.Duration
	// Timeout bounds each network read, write and dial (gomemcache's
	// Client.Timeout), and each discovery request.
	Timeout time.Duration
	// MaxIdleConns is the number of idle connections kept per node. Set it
	// to the peak number of concurrent requests the application makes, or
	// connections are closed and dialed again under load.
	MaxIdleConns int
	// ProbeInterval is how often a node found down is pinged.
	ProbeInterval time.Duration
	// DialContext, if set, opens the TCP connections to nodes and
	// configuration endpoints; TLS and authentication below run over it.
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)
	// TLS, when set, makes every connection (data and discovery) TLS with
	// this configuration; its ServerName defaults to the host dialed.
	TLS *tls.Config
	// Username and Password, when Username is set, authenticate every
	// connection as memcached's ASCII authentication (-Y) does.
	Username, Password string

	// WarmupWindow is how long after the node list changes a miss on a
	// key's new owner is retried on its previous owner. Negative disables
	// warm-up.
	WarmupWindow time.Duration
	// WarmupTTL is the expiration given to a value copied to its new owner
	// by warm-up (gomemcache cannot read an item's remaining time to live),
	// so a copy outlives its original by at most this long.
	WarmupTTL time.Duration

	// FailoverTTL caps the time to live of a write that lands on a key's
	// fail-over owner, because its primary owner is down (or found down by
	// this client) or missing from the list: no expiration, and any longer
	// one, become FailoverTTL (mcrouter's failover_exptime). Warm-up copies
	// to a fail-over owner get it too. So the copies a failure leaves on the
	// fail-over owners, which nothing updates once the primary is back, are
	// gone by the time the primary fails again, unless that is sooner.
	FailoverTTL time.Duration

	// NegativeTTL, when positive, makes GetOrLoad cache ErrNotFound from a
	// loader for this long.
	NegativeTTL time.Duration
	// TTLJitter is the largest fraction of a GetOrLoad ttl taken off at
	// random, so that keys loaded together do not expire together.
	// Negative disables jitter.
	TTLJitter float64

	// Logger receives discovery and node health events. Nil logs nothing.
	Logger *zap.Logger
}

func (cfg Config) withDefaults() Config {
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.Timeout, DefaultTimeout)
	setDefault(&cfg.MaxIdleConns, DefaultMaxIdleConns)
	setDefault(&cfg.ProbeInterval, DefaultProbeInterval)
	setDefault(&cfg.WarmupWindow, DefaultWarmupWindow)
	setDefault(&cfg.WarmupTTL, DefaultWarmupTTL)
	setDefault(&cfg.TTLJitter, DefaultTTLJitter)
	setDefault(&cfg.FailoverTTL, DefaultFailoverTTL)
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return cfg
}

func setDefault[T time.Duration | int | float64](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Client is a memcached client for a cluster. It is safe for concurrent use.
type Client struct {
	cfg Config
	log *zap.Logger

	cur     atomic.Pointer[ring]
	closing atomic.Bool
	flights singleflight.Group

	mu          sync.Mutex // guards the fields below
	haveVersion bool
	version     uint64
	members     []member
	full        int              // positions seen in any list: see ring.full
	owed        map[int]*owedSet // by position: see repair.go
	nodes       map[string]*node // by address, across list versions
	closed      bool
	sourceDown  map[string]bool // discovery sources that failed last time, for logging changes only

	bg     context.Context // the client's own work: polling, probing; ends at Close
	stopBG context.CancelFunc
	wg     sync.WaitGroup
}

// member is a node of the published list.
type member struct {
	pos    int
	active bool
	node   *node
}

// New returns a client for the cluster that cfg names. With Endpoints, it
// reads the node list before returning (ctx bounds that) and then polls it
// every PollInterval until Close.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if (len(cfg.Endpoints) == 0) == (len(cfg.Servers) == 0) {
		return nil, errors.New("client: set exactly one of Config.Endpoints and Config.Servers")
	}
	for _, s := range cfg.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("client: server %q: %w", s, err)
		}
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:        cfg,
		log:        cfg.Logger,
		nodes:      make(map[string]*node),
		owed:       make(map[int]*owedSet),
		sourceDown: make(map[string]bool),
	}
	c.bg, c.stopBG = context.WithCancel(context.Background())
	c.cur.Store(newRing(0, nil))
	if len(cfg.Servers) > 0 {
		if err := c.apply(staticConfig(cfg.Servers), "static list"); err != nil {
			return nil, err
		}
		return c, nil
	}
	if err := c.refresh(ctx); err != nil {
		c.stopBG()
		return nil, err
	}
	c.wg.Add(1)
	go c.poll()
	return c, nil
}

// Close stops polling and probing and closes idle connections. Calls made
// after Close return ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.closing.Store(true)
	c.stopBG()
	nodes := make([]*node, 0, len(c.nodes))
	for _, n := range c.nodes {
		nodes = append(nodes, n)
	}
	c.mu.Unlock()
	c.wg.Wait()
	var errs []error
	for _, n := range nodes {
		if err := n.mc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("client: closing %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// rebuildLocked makes a new ring from the published list, less the nodes
// found down and those held out until they are repaired (repair.go). It
// keeps the current warm-up window; with rewarm, it opens a new one from
// the current ring if keys move.
func (c *Client) rebuildLocked(rewarm bool) {
	old := c.cur.Load()
	var live []slot
	for _, m := range c.members {
		if m.active && !m.node.down.Load() && !c.heldLocked(m) {
			live = append(live, slot{m.pos, m.node})
		}
	}
	r := newRing(c.version, live)
	r.full = c.full
	r.prev, r.warmUntil = old.prev, old.warmUntil
	if rewarm {
		c.warmFromLocked(r, old)
	}
	c.cur.Store(r)
}

// warmFromLocked opens a warm-up window on r from the ring before it, if
// keys moved: a list whose new version changes no owner (a node joining, say)
// must not end the window of the change before it.
func (c *Client) warmFromLocked(r, before *ring) {
	if c.cfg.WarmupWindow < 0 || len(before.live) == 0 || slices.Equal(r.slots, before.slots) {
		return
	}
	p := *before
	p.prev = nil // keep one ring of history, not a chain
	r.prev, r.warmUntil = &p, time.Now().Add(c.cfg.WarmupWindow)
}
