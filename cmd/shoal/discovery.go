package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/node"
)

// addDiscoveryFlags adds the cluster membership flags shared by `shoal node`
// and `shoal endpoint`.
func addDiscoveryFlags(f *pflag.FlagSet) {
	d := discovery.DefaultTiming()
	f.String("gossip", "", "gossip address ADDR:PORT, TCP and UDP (default: the listen address, port 7946); a node gossips only with --gossip or --join")
	f.StringSlice("join", nil, "gossip addresses ADDR:PORT of cluster members to join, comma separated (may include this member's own)")
	f.String("name", "", "member name, unique in the cluster; a node restarted under its name gets its position back (default: its published HOST:PORT)")
	f.String("advertise-host", "", "host name published in the node list (default: the published IP)")
	f.String("advertise-ip", "", "IP published in the node list (default: the listen address, or the gossip address when listening on all interfaces)")
	f.String("gossip-advertise", "", "gossip address ADDR:PORT other members should use, when it differs from --gossip (NAT)")
	f.String("gossip-key", "", "base64 key (16, 24 or 32 bytes) that encrypts and authenticates gossip; the same on every member; required unless gossip stays on loopback")
	f.Bool("gossip-insecure", false, "gossip without --gossip-key on an address other hosts can reach: anyone who reaches it can join the cluster")
	f.Duration("probe-interval", d.ProbeInterval, "failure detection: how often each member probes another")
	f.Duration("probe-timeout", d.ProbeTimeout, "failure detection: how long a probe waits for its answer")
	f.Int("suspicion-mult", d.SuspicionMult, "failure detection: a suspect member is dead after this many probe intervals (times log10 of the member count, if over 10)")
	f.Int("suspicion-max-mult", d.SuspicionMaxTimeoutMult, "failure detection: while no other member confirms a suspicion, it may last up to this multiple of that")
	f.Duration("push-pull-interval", d.PushPullInterval, "how often members exchange their full state")
	f.Duration("join-timeout", 30*time.Second, "how long to keep trying the --join addresses at start")
	f.Duration("leave-grace", time.Second, "on SIGTERM, how long to keep serving after leaving the cluster, for clients to notice")
}

// joinCluster makes the node a cluster member when it is asked to gossip,
// and has it answer discovery requests. The returned leave takes it out of
// the node list before the caller drains it.
func joinCluster(ctx context.Context, srv *node.Server, v *viper.Viper, log *zap.Logger) (leave func(), err error) {
	if v.GetString("gossip") == "" && len(joinAddrs(v)) == 0 {
		return func() {}, nil
	}
	m, err := joinMember(ctx, srv, v, discovery.RoleNode, log)
	if err != nil {
		return nil, err
	}
	return func() { leaveMember(m, v, log) }, nil
}

// joinMember joins the cluster as role and sets the server to answer
// discovery from the member.
func joinMember(ctx context.Context, srv *node.Server, v *viper.Viper, role discovery.Role, log *zap.Logger) (*discovery.Member, error) {
	cfg, err := memberConfig(v, srv.Addr(), role)
	if err != nil {
		return nil, err
	}
	if role == discovery.RoleNode {
		cfg.OnDropped = flushOnDrop(srv, log)
	}
	ctx, cancel := context.WithTimeout(ctx, v.GetDuration("join-timeout"))
	defer cancel()
	m, err := discovery.Join(ctx, cfg, log)
	if errors.Is(err, discovery.ErrInsecureGossip) {
		return nil, fmt.Errorf("%w\n  give every member the same key: --gossip-key \"$(head -c 32 /dev/urandom | base64)\"\n"+
			"  or, on a network only members reach, accept the risk: --gossip-insecure", err)
	}
	if err != nil {
		return nil, err
	}
	srv.SetClusterConfig(m)
	return m, nil
}

// leaveMember takes the member out of the cluster, then keeps the server
// up for --leave-grace: clients that follow the list stop sending to it
// before it closes.
func leaveMember(m *discovery.Member, v *viper.Viper, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Leave(ctx); err != nil {
		log.Warn("leaving the cluster", zap.Error(err))
	}
	time.Sleep(v.GetDuration("leave-grace"))
}

// memberConfig builds the member's configuration from the flags and the
// memcached address the server listens on.
func memberConfig(v *viper.Viper, listen *net.TCPAddr, role discovery.Role) (discovery.Config, error) {
	cfg := discovery.DefaultConfig()
	cfg.Role = role
	cfg.Port = listen.Port
	cfg.Host = v.GetString("advertise-host")
	cfg.IP = v.GetString("advertise-ip")
	if cfg.IP == "" && !listen.IP.IsUnspecified() {
		cfg.IP = listen.IP.String()
	}
	cfg.Join = joinAddrs(v)
	cfg.Insecure = v.GetBool("gossip-insecure")
	if k := v.GetString("gossip-key"); k != "" {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return cfg, fmt.Errorf("--gossip-key: %w", err)
		}
		cfg.SecretKey = key
	}
	t := &cfg.Timing
	t.ProbeInterval = v.GetDuration("probe-interval")
	t.ProbeTimeout = v.GetDuration("probe-timeout")
	t.SuspicionMult = v.GetInt("suspicion-mult")
	t.SuspicionMaxTimeoutMult = v.GetInt("suspicion-max-mult")
	t.PushPullInterval = v.GetDuration("push-pull-interval")

	var err error
	cfg.BindAddr, cfg.BindPort = listen.IP.String(), discovery.DefaultGossipPort
	if g := v.GetString("gossip"); g != "" {
		if cfg.BindAddr, cfg.BindPort, err = splitHostPort(g); err != nil {
			return cfg, fmt.Errorf("--gossip: %w", err)
		}
	}
	if g := v.GetString("gossip-advertise"); g != "" {
		if cfg.AdvertiseAddr, cfg.AdvertisePort, err = splitHostPort(g); err != nil {
			return cfg, fmt.Errorf("--gossip-advertise: %w", err)
		}
	}
	cfg.Name = v.GetString("name")
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

// joinAddrs reads --join, accepting commas in the environment and config
// file forms too.
func joinAddrs(v *viper.Viper) []string {
	var out []string
	for _, s := range v.GetStringSlice("join") {
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
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
