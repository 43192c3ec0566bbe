package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/node"
)

// gossipSettings are the cluster membership options of `shoal node` and
// `shoal endpoint`. A new option is a field here, its declaration in
// gossipOptions, its check in Validate and its use in memberConfig.
type gossipSettings struct {
	Gossip          string   // --gossip ADDR:PORT; "" is the listen address, port 7946
	GossipAdvertise string   // --gossip-advertise ADDR:PORT (NAT)
	Join            []string // --join: members to join
	Name            string   // --name; "" is the published HOST:PORT
	AdvertiseHost   string   // --advertise-host
	AdvertiseIP     string   // --advertise-ip
	GossipKey       string   // --gossip-key: base64 AES key
	GossipKeyFile   string   // --gossip-key-file: base64 keys, the first sends (rotation)
	GossipInsecure  bool     // --gossip-insecure: no key off loopback
	GossipAllow     []string // --gossip-allow: networks gossip is taken from
	Timing          discovery.Timing
	JoinTimeout     time.Duration // --join-timeout
	LeaveGrace      time.Duration // --leave-grace
}

func defaultGossip() gossipSettings {
	return gossipSettings{Timing: discovery.DefaultTiming(), JoinTimeout: 30 * time.Second, LeaveGrace: time.Second}
}

func gossipOptions(s *settings.Set, g *gossipSettings) {
	f := s.Flags
	f.StringVar(&g.Gossip, "gossip", g.Gossip, "gossip address ADDR:PORT, TCP and UDP (default: the listen address, port 7946); a node gossips only with --gossip or --join")
	f.StringSliceVar(&g.Join, "join", g.Join, "gossip addresses ADDR:PORT of cluster members to join, comma separated (may include this member's own)")
	f.StringVar(&g.Name, "name", g.Name, "member name, unique in the cluster; a node restarted under its name gets its position back (default: its published HOST:PORT)")
	f.StringVar(&g.AdvertiseHost, "advertise-host", g.AdvertiseHost, "host name published in the node list (default: the published IP)")
	f.StringVar(&g.AdvertiseIP, "advertise-ip", g.AdvertiseIP, "IP published in the node list (default: the listen address, or the gossip address when listening on all interfaces)")
	f.StringVar(&g.GossipAdvertise, "gossip-advertise", g.GossipAdvertise, "gossip address ADDR:PORT other members should use, when it differs from --gossip (NAT)")
	f.StringVar(&g.GossipKey, "gossip-key", g.GossipKey, "base64 key (16, 24 or 32 bytes) that encrypts and authenticates gossip; the same on every member; required unless gossip stays on loopback")
	f.StringVar(&g.GossipKeyFile, "gossip-key-file", g.GossipKeyFile, "file of base64 gossip keys, one a line: the first encrypts, the others are accepted; re-read on SIGHUP, so keys rotate without a restart")
	f.BoolVar(&g.GossipInsecure, "gossip-insecure", g.GossipInsecure, "gossip without a key on an address other hosts can reach: anyone who reaches it can join the cluster")
	f.StringSliceVar(&g.GossipAllow, "gossip-allow", g.GossipAllow, "networks (CIDR, comma separated) gossip is taken from; others are dropped")
	t := &g.Timing
	f.DurationVar(&t.ProbeInterval, "probe-interval", t.ProbeInterval, "failure detection: how often each member probes another")
	f.DurationVar(&t.ProbeTimeout, "probe-timeout", t.ProbeTimeout, "failure detection: how long a probe waits for its answer")
	f.IntVar(&t.SuspicionMult, "suspicion-mult", t.SuspicionMult, "failure detection: a suspect member is dead after this many probe intervals (times log10 of the member count, if over 10)")
	f.IntVar(&t.SuspicionMaxTimeoutMult, "suspicion-max-mult", t.SuspicionMaxTimeoutMult, "failure detection: while no other member confirms a suspicion, it may last up to this multiple of that")
	f.DurationVar(&t.PushPullInterval, "push-pull-interval", t.PushPullInterval, "how often members exchange their full state")
	f.DurationVar(&g.JoinTimeout, "join-timeout", g.JoinTimeout, "how long to keep trying the --join addresses at start")
	f.DurationVar(&g.LeaveGrace, "leave-grace", g.LeaveGrace, "on SIGTERM, how long to keep serving after leaving the cluster, for clients to notice")
}

// enabled reports whether a node is asked to gossip; an endpoint always
// does.
func (g *gossipSettings) enabled() bool { return g.Gossip != "" || len(g.joinAddrs()) > 0 }

// Validate checks the settings before the server starts; timings are
// discovery's to check.
func (g *gossipSettings) Validate() error {
	_, err := g.parsed()
	if err == nil && (g.JoinTimeout <= 0 || g.LeaveGrace < 0) {
		err = fmt.Errorf("--join-timeout %v must be positive and --leave-grace %v not negative", g.JoinTimeout, g.LeaveGrace)
	}
	return err
}

// parsedGossip is what the text options say.
type parsedGossip struct {
	bindAddr, advertiseAddr string
	bindPort, advertisePort int
	key                     []byte
	allow                   []netip.Prefix
}

func (g *gossipSettings) parsed() (parsedGossip, error) {
	var p parsedGossip
	var err error
	if g.Gossip != "" {
		if p.bindAddr, p.bindPort, err = splitHostPort(g.Gossip); err != nil {
			return p, fmt.Errorf("--gossip: %w", err)
		}
	}
	if g.GossipAdvertise != "" {
		if p.advertiseAddr, p.advertisePort, err = splitHostPort(g.GossipAdvertise); err != nil {
			return p, fmt.Errorf("--gossip-advertise: %w", err)
		}
	}
	if g.GossipKey != "" && g.GossipKeyFile != "" {
		return p, errors.New("--gossip-key and --gossip-key-file: give one")
	}
	if p.allow, err = node.ParseAllow(g.GossipAllow); err != nil {
		return p, fmt.Errorf("--gossip-allow: %w", err)
	}
	if g.GossipKey != "" {
		if p.key, err = base64.StdEncoding.DecodeString(g.GossipKey); err != nil {
			return p, fmt.Errorf("--gossip-key: %w", err)
		}
		if n := len(p.key); n != 16 && n != 24 && n != 32 {
			return p, fmt.Errorf("--gossip-key: %d bytes; want 16, 24 or 32", n)
		}
	}
	return p, nil
}

// joinCluster makes the node a cluster member when it is asked to gossip,
// and has it answer discovery requests. The returned leave takes it out of
// the node list before the caller drains it.
func (g *gossipSettings) joinCluster(ctx context.Context, srv *node.Server, log *zap.Logger) (*discovery.Member, func(), error) {
	if !g.enabled() {
		return nil, func() {}, nil
	}
	m, err := g.joinMember(ctx, srv, discovery.RoleNode, log)
	if err != nil {
		return nil, nil, err
	}
	return m, func() { g.leaveMember(m, log) }, nil
}

// joinMember joins the cluster as role and sets the server to answer
// discovery from the member.
func (g *gossipSettings) joinMember(ctx context.Context, srv *node.Server, role discovery.Role, log *zap.Logger) (*discovery.Member, error) {
	cfg, err := g.memberConfig(srv.Addr(), role)
	if err != nil {
		return nil, err
	}
	if role == discovery.RoleNode {
		cfg.OnDropped = flushOnDrop(srv, log)
	}
	ctx, cancel := context.WithTimeout(ctx, g.JoinTimeout)
	defer cancel()
	m, err := discovery.Join(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	srv.SetClusterConfig(m)
	return m, nil
}

// leaveMember takes the member out of the cluster, then keeps the server
// up for --leave-grace: clients that follow the list stop sending to it
// before it closes.
func (g *gossipSettings) leaveMember(m *discovery.Member, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Leave(ctx); err != nil {
		log.Warn("leaving the cluster", zap.Error(err))
	}
	time.Sleep(g.LeaveGrace)
}

// memberConfig builds the member's configuration from the settings and the
// memcached address the server listens on.
func (g *gossipSettings) memberConfig(listen *net.TCPAddr, role discovery.Role) (discovery.Config, error) {
	p, err := g.parsed()
	if err != nil {
		return discovery.Config{}, err
	}
	cfg := discovery.DefaultConfig()
	cfg.Role, cfg.Port = role, listen.Port
	cfg.Host, cfg.IP = g.AdvertiseHost, g.AdvertiseIP
	if cfg.IP == "" && !listen.IP.IsUnspecified() {
		cfg.IP = listen.IP.String()
	}
	cfg.Join, cfg.SecretKey, cfg.Timing = g.joinAddrs(), p.key, g.Timing
	cfg.Insecure, cfg.Allow = g.GossipInsecure, p.allow
	if g.GossipKeyFile != "" {
		cfg.KeyFile = g.GossipKeyFile
		if cfg.SecretKey, cfg.OtherKeys, err = discovery.ReadKeyFile(g.GossipKeyFile); err != nil {
			return cfg, err
		}
	}
	cfg.BindAddr, cfg.BindPort = listen.IP.String(), discovery.DefaultGossipPort
	if g.Gossip != "" {
		cfg.BindAddr, cfg.BindPort = p.bindAddr, p.bindPort
	}
	cfg.AdvertiseAddr, cfg.AdvertisePort = p.advertiseAddr, p.advertisePort
	cfg.Name = g.Name
	if cfg.Name == "" {
		cfg.Name = defaultName(cfg, role)
	}
	return cfg, nil
}

// defaultName is the published address, which stays the same when a node
// restarts in place.
func defaultName(cfg discovery.Config, role discovery.Role) string {
	h := cfg.Host
	if h == "" {
		h = cfg.IP
	}
	if h == "" {
		h, _ = os.Hostname()
	}
	name := net.JoinHostPort(h, strconv.Itoa(cfg.Port))
	if role == discovery.RoleEndpoint {
		name = "endpoint@" + name
	}
	return name
}

// joinAddrs is --join without spaces or empty entries, which a list in the
// environment or a config file may have.
func (g *gossipSettings) joinAddrs() []string {
	var out []string
	for _, a := range g.Join {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func splitHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}
