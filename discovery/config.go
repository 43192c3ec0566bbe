package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Role is what a member is in the cluster.
type Role string

const (
	// RoleNode is a cache node: it is published in the node list.
	RoleNode Role = "node"
	// RoleEndpoint is a configuration endpoint: it only answers discovery
	// and is preferred as coordinator, but never published.
	RoleEndpoint Role = "endpoint"
)

// maxAddrLen bounds a published host or IP: a DNS name has at most 253
// characters, and both must fit memberlist's 512-byte node metadata.
const maxAddrLen = 253

// DefaultGossipPort is the gossip port when none is given.
const DefaultGossipPort = 7946

// Config describes a member: who it is, where it gossips and what it
// publishes.
type Config struct {
	// Name identifies the member; a node restarted under the same name gets
	// its old position back. Names must be unique in the cluster.
	Name string
	Role Role

	// BindAddr and BindPort are the gossip address (TCP and UDP). Port 0
	// picks a free port.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort, when set, are the gossip address
	// other members should use (behind NAT).
	AdvertiseAddr string
	AdvertisePort int

	// Host, IP and Port are the memcached address published in the node
	// list as host|ip|port. IP defaults to the gossip advertise address and
	// Host to IP.
	Host string
	IP   string
	Port int

	// SecretKey, when set, encrypts and authenticates gossip (AES, 16, 24
	// or 32 bytes); every member needs the same key, and a host without it
	// cannot join or send the members anything. Without a key, anyone who
	// reaches the gossip port can join the cluster and be listed, so Join
	// refuses to gossip without one on an address other hosts can reach
	// (ErrInsecureGossip) unless Insecure is set.
	SecretKey []byte
	// OtherKeys are gossip keys accepted beside SecretKey, which alone
	// encrypts what this member sends: the middle steps of a key rotation
	// (Member.SetKeys).
	OtherKeys [][]byte
	// KeyFile, when set, is where SecretKey and OtherKeys were read from
	// (ReadKeyFile); Member.ReloadKeys reads it again.
	KeyFile string
	// Insecure lets a member gossip without a key on a non-loopback
	// address: every host that reaches it is then trusted as a member.
	Insecure bool
	// Allow, when not empty, is the networks gossip is taken from
	// (memberlist's CIDRsAllowed); packets and connections from elsewhere
	// are dropped.
	Allow []netip.Prefix

	// Join lists gossip addresses (host:port) of existing members; Join
	// retries them until one answers. The member's own address may be in
	// the list (one list for every member), and a list of only that starts
	// a new cluster.
	Join []string

	Timing Timing

	// OnDropped, for a node, is called when it learns that it was out of
	// the published list since it last saw itself in it: dropped by
	// failure detection while it was stopped or cut off, or missing from
	// the tables it missed. Clients were sent elsewhere meanwhile, and may
	// have written there what this node still holds, so the node should
	// flush its cache then. The node may never see the table that dropped
	// it; it learns it from a later one (each node carries the version
	// from which it is listed active). OnDropped runs on a goroutine of
	// its own, never on gossip's paths, which it does not block; drops
	// reported while it runs make one more call. It should return
	// promptly: Leave waits for it.
	OnDropped func()
}

// ErrInsecureGossip is Join's refusal to gossip without a key on an
// address other hosts can reach: set SecretKey on every member, or
// Insecure.
var ErrInsecureGossip = errors.New("discovery: no gossip key, and other hosts can reach gossip")

// Timing holds the knobs of failure detection and convergence.
//
// A member that stops answering is probed every ProbeInterval by someone;
// a probe that gets no answer within ProbeTimeout (directly nor through
// other members) makes it suspect, and a suspect is declared dead after
// SuspicionMult × ProbeInterval × max(1, log10(members)), stretched up to
// SuspicionMaxTimeoutMult times that while no other member confirms the
// suspicion. The coordinator then publishes the list without it.
type Timing struct {
	ProbeInterval           time.Duration
	ProbeTimeout            time.Duration
	SuspicionMult           int
	SuspicionMaxTimeoutMult int
	GossipInterval          time.Duration
	// PushPullInterval is how often a member exchanges full state (members
	// and table) with a random other member, repairing anything lost.
	PushPullInterval time.Duration
	// TCPTimeout bounds connecting and writing to another member.
	TCPTimeout time.Duration
	// ReconcileInterval is how often the coordinator rechecks the
	// membership besides reacting to changes.
	ReconcileInterval time.Duration
	// SyncTimeout bounds how long a new coordinator waits for the other
	// members' tables before it publishes its first one.
	SyncTimeout time.Duration
	// RejoinInterval is how often a member retries the Join addresses it is
	// not connected to, which heals a partition after it ends.
	RejoinInterval time.Duration
}

// DefaultTiming drops a killed member from every list in about 3 to 7
// seconds on a LAN of up to 10 members (see the README for measurements).
func DefaultTiming() Timing {
	return Timing{
		ProbeInterval:           500 * time.Millisecond,
		ProbeTimeout:            200 * time.Millisecond,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 3,
		GossipInterval:          200 * time.Millisecond,
		PushPullInterval:        15 * time.Second,
		TCPTimeout:              2 * time.Second,
		ReconcileInterval:       time.Second,
		SyncTimeout:             time.Second,
		RejoinInterval:          10 * time.Second,
	}
}

// DefaultConfig is a node with default timing; the caller fills in the
// name and addresses.
func DefaultConfig() Config {
	return Config{Role: RoleNode, BindPort: DefaultGossipPort, Timing: DefaultTiming()}
}

func (c *Config) validate() error {
	if c.Name == "" {
		return fmt.Errorf("discovery: member name is empty")
	}
	if c.Role != RoleNode && c.Role != RoleEndpoint {
		return fmt.Errorf("discovery: unknown role %q", c.Role)
	}
	if err := checkKeys(c.SecretKey, c.OtherKeys); err != nil {
		return err
	}
	if addr := c.exposed(); addr != "" && len(c.SecretKey) == 0 && !c.Insecure {
		return fmt.Errorf("%w at %s: anyone who reaches it could join the cluster and be sent clients", ErrInsecureGossip, addr)
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		return fmt.Errorf("discovery: gossip port %d out of range", c.BindPort)
	}
	if c.Role == RoleNode {
		if c.Port <= 0 || c.Port > 65535 {
			return fmt.Errorf("discovery: memcached port %d out of range", c.Port)
		}
	}
	for _, f := range []struct{ what, v string }{{"host", c.Host}, {"IP", c.IP}} {
		if !publishable(f.v) {
			return fmt.Errorf("discovery: %s %q cannot be published in a node list", f.what, f.v)
		}
	}
	t := c.Timing
	if t.ProbeInterval <= 0 || t.ProbeTimeout <= 0 || t.ProbeTimeout >= t.ProbeInterval {
		return fmt.Errorf("discovery: need 0 < probe timeout (%v) < probe interval (%v)", t.ProbeTimeout, t.ProbeInterval)
	}
	if t.SuspicionMult < 1 || t.SuspicionMaxTimeoutMult < 1 {
		return fmt.Errorf("discovery: suspicion multipliers must be at least 1")
	}
	if t.GossipInterval <= 0 || t.PushPullInterval <= 0 || t.TCPTimeout <= 0 ||
		t.ReconcileInterval <= 0 || t.SyncTimeout <= 0 || t.RejoinInterval <= 0 {
		return fmt.Errorf("discovery: timing intervals must be positive")
	}
	return nil
}

// exposed is the first gossip address, bound or advertised, that is not a
// loopback one; "" if there is none.
func (c *Config) exposed() string {
	addrs := []string{c.BindAddr}
	if c.AdvertiseAddr != "" {
		addrs = append(addrs, c.AdvertiseAddr)
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			if a == "" {
				return "0.0.0.0" // memberlist's default: every interface
			}
			return a
		}
	}
	return ""
}

// publishable reports whether s can stand in a host|ip|port field: the
// list's separators and anything a client would choke on are excluded.
func publishable(s string) bool {
	if len(s) > maxAddrLen {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '|' || r >= 0x7f
	})
}

func (c *Config) memberlist() *memberlist.Config {
	ml := memberlist.DefaultLANConfig()
	ml.Name = c.Name
	if c.BindAddr != "" {
		ml.BindAddr = c.BindAddr
	}
	ml.BindPort = c.BindPort
	ml.AdvertiseAddr = c.AdvertiseAddr
	ml.AdvertisePort = c.BindPort
	if c.AdvertisePort != 0 {
		ml.AdvertisePort = c.AdvertisePort
	}
	t := c.Timing
	ml.ProbeInterval = t.ProbeInterval
	ml.ProbeTimeout = t.ProbeTimeout
	ml.SuspicionMult = t.SuspicionMult
	ml.SuspicionMaxTimeoutMult = t.SuspicionMaxTimeoutMult
	ml.GossipInterval = t.GossipInterval
	ml.PushPullInterval = t.PushPullInterval
	ml.TCPTimeout = t.TCPTimeout
	if len(c.SecretKey) != 0 {
		// memberlist's keyring: a key rotation changes it while running.
		ml.Keyring, _ = memberlist.NewKeyring(c.OtherKeys, c.SecretKey) // keys checked by validate
	}
	for _, p := range c.Allow {
		ml.CIDRsAllowed = append(ml.CIDRsAllowed, net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())})
	}
	// memberlist's defaults, stated: with a key, nothing unencrypted is
	// sent or taken.
	ml.GossipVerifyIncoming, ml.GossipVerifyOutgoing = true, true
	// Gossip to dead members as long as a push/pull round: a member that
	// was wrongly declared dead hears about it and refutes.
	ml.GossipToTheDeadTime = t.PushPullInterval
	// A node restarted at another address may take its name back once the
	// old incarnation is dead.
	ml.DeadNodeReclaimTime = time.Second
	return ml
}
