package discovery

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/protocol"
)

// Member is this process in the cluster: its gossip, the table it holds and
// the configuration it answers discovery requests with.
type Member struct {
	cfg  Config
	log  *zap.Logger
	self rank

	// ml and addr (its gossip address) are set once memberlist has
	// started; ready is closed then.
	ml      *memberlist.Memberlist
	keyring *memberlist.Keyring // nil without a gossip key
	addr    string
	ready   chan struct{}

	metaMu sync.Mutex
	meta   meta

	peersMu sync.Mutex
	peers   map[string]peer // every other live member, from gossip events
	lost    map[string]lost // members gossip lost, and how (view.go)

	tabMu     sync.Mutex
	tab       table
	floor     uint64               // the highest version known to exist; at least tab's
	synced    table                // while taking over: the newest table pulled
	pending   *offer               // the coordinator's table, until its nodes show up
	raised    map[string]time.Time // when a member last moved floor on
	changed   chan struct{}        // closed and replaced whenever tab changes
	changedAt time.Time            // when tab's content last changed
	bodies    atomic.Pointer[bodies]
	// lastActive is the version of the last table that listed this node
	// active, 0 if none has since it was last out of the list.
	lastActive uint64

	sendMu  sync.Mutex
	pulls   map[string]pull // pulls sent and not yet answered, by member
	sending map[string]bool // sends in flight, by kind and member
	syncing chan<- string   // while taking over: who has answered

	// Only the run goroutine touches these.
	coordinating bool
	term         uint64 // termOf the versions this member numbers, 0 before its first
	followed     rank   // the coordinator last pulled from

	dropped    chan struct{} // a drop the OnDropped goroutine has to report
	lastReject atomic.Int64  // when a refused message was last logged

	kick      chan struct{}
	stop      chan struct{}
	workers   sync.WaitGroup // run, rejoin and reportDrops
	leaveOnce sync.Once
	leaveErr  error
	quiet     atomic.Bool // set when stopping: silences memberlist's log
}

// peer is another member as gossip last described it.
type peer struct {
	node memberlist.Node // name and gossip address only
	meta meta
	ok   bool // meta decoded and valid
}

// bodies are the published configuration payloads of the current table;
// cluster is nil while no node is active.
type bodies struct{ cluster, shoal []byte }

// Join starts gossip for cfg, joins the members at cfg.Join and, for a node,
// returns once the cluster lists it as active. Call it after the memcached
// port accepts connections: from then on clients may be sent to it.
func Join(ctx context.Context, cfg Config, log *zap.Logger) (*Member, error) {
	if log == nil {
		log = zap.NewNop()
	}
	m, err := newMember(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := m.startGossip(); err != nil {
		return nil, err
	}
	if err := m.joinPeers(ctx); err != nil {
		m.quiet.Store(true)
		_ = m.ml.Shutdown()
		return nil, err
	}
	m.workers.Add(3)
	go m.run()
	go m.rejoin()
	go m.reportDrops()
	if cfg.Role == RoleNode {
		if err := m.activate(ctx); err != nil {
			m.halt()
			return nil, err
		}
	}
	log.Info("joined cluster", zap.String("name", cfg.Name), zap.String("role", string(cfg.Role)),
		zap.String("gossip", m.addr), zap.Int("members", m.ml.NumMembers()))
	return m, nil
}

func newMember(cfg Config, log *zap.Logger) (*Member, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Host == "" {
		cfg.Host = cfg.IP
	}
	m := &Member{
		cfg:     cfg,
		log:     log,
		ready:   make(chan struct{}),
		peers:   make(map[string]peer),
		lost:    make(map[string]lost),
		changed: make(chan struct{}),
		raised:  make(map[string]time.Time),
		pulls:   make(map[string]pull),
		sending: make(map[string]bool),
		dropped: make(chan struct{}, 1),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		meta:    meta{Role: cfg.Role, State: protocol.StateActive},
	}
	if cfg.Role == RoleNode {
		m.meta = meta{Role: cfg.Role, Host: cfg.Host, IP: cfg.IP, Port: cfg.Port, State: protocol.StateJoining}
	}
	if n := len(m.meta.encode()); n > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("discovery: member metadata of %d bytes exceeds %d", n, memberlist.MetaMaxSize)
	}
	m.self = m.meta.rank(cfg.Name)
	m.adoptLocked(table{})
	return m, nil
}

// startGossip starts memberlist: from here on the member answers gossip,
// alone until it joins others.
func (m *Member) startGossip() error {
	mc := m.cfg.memberlist()
	m.keyring = mc.Keyring
	mc.Delegate = (*delegate)(m)
	mc.Events = (*events)(m)
	mc.Logger = newMemberlistLogger(m.log, &m.quiet)
	tr, err := newTransport(mc)
	var ml *memberlist.Memberlist
	if err == nil {
		mc.Transport = tr
		if ml, err = memberlist.Create(mc); err != nil {
			_ = tr.Shutdown()
		}
	}
	if err != nil {
		close(m.ready)
		return fmt.Errorf("discovery: starting gossip on %s:%d: %w", mc.BindAddr, m.cfg.BindPort, err)
	}
	m.ml, m.addr = ml, ml.LocalNode().Address()
	close(m.ready)
	if m.cfg.Role == RoleNode && m.cfg.IP == "" && m.cfg.Host == "" {
		// Publish the address gossip advertises, which memberlist has
		// worked out by now; nobody has seen the metadata yet.
		m.metaMu.Lock()
		m.meta.IP = ml.LocalNode().Addr.String()
		m.meta.Host = m.meta.IP
		m.metaMu.Unlock()
		_ = ml.UpdateNode(time.Nanosecond)
	}
	return nil
}

// joinPeers contacts the configured members until one answers or ctx ends.
func (m *Member) joinPeers(ctx context.Context) error {
	self := m.GossipAddr()
	addrs := slices.DeleteFunc(slices.Clone(m.cfg.Join), func(a string) bool { return a == self })
	if len(addrs) == 0 {
		return nil
	}
	for {
		n, err := m.ml.Join(addrs)
		if n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("discovery: joining %v: %w (%w)", addrs, ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

// activate waits for the coordinator to give this node a position, then
// declares it active and waits until the table lists it so.
func (m *Member) activate(ctx context.Context) error {
	name := m.cfg.Name
	if err := m.waitTable(ctx, func(t *table) bool { _, ok := t.find(name); return ok }); err != nil {
		return fmt.Errorf("discovery: waiting for a position: %w", err)
	}
	m.setState(protocol.StateActive)
	err := m.waitTable(ctx, func(t *table) bool { e, ok := t.find(name); return ok && e.State == protocol.StateActive })
	if err != nil {
		return fmt.Errorf("discovery: waiting to be listed active: %w", err)
	}
	return nil
}

// Leave takes the member out of the cluster: a node first announces that it
// is leaving and waits (within ctx) until the published list no longer
// offers it to clients; then the member leaves gossip and stops. Drain the
// memcached port after Leave returns. Leave is idempotent.
func (m *Member) Leave(ctx context.Context) error {
	m.leaveOnce.Do(func() { m.leaveErr = m.leave(ctx) })
	return m.leaveErr
}

func (m *Member) leave(ctx context.Context) error {
	m.setState(protocol.StateLeaving)
	var err error
	if m.cfg.Role == RoleNode {
		name := m.cfg.Name
		err = m.waitTable(ctx, func(t *table) bool { e, ok := t.find(name); return !ok || e.State != protocol.StateActive })
		if err != nil {
			err = fmt.Errorf("discovery: waiting to be unlisted: %w", err)
		}
	}
	timeout := m.cfg.Timing.TCPTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), time.Millisecond)
	}
	if lerr := m.ml.Leave(timeout); lerr != nil {
		m.log.Warn("leaving gossip", zap.Error(lerr))
	}
	m.halt()
	m.log.Info("left cluster", zap.String("name", m.cfg.Name))
	return err
}

// halt stops the background work and gossip without telling anyone, as a
// crash would.
func (m *Member) halt() {
	m.quiet.Store(true)
	close(m.stop)
	m.workers.Wait()
	_ = m.ml.Shutdown()
}

// ClusterConfig returns the configuration payload for key: the standard node
// list for "cluster" (and the legacy "AmazonElastiCache:cluster"), the list
// with positions and states for "shoal-cluster". The slice is shared and
// must not be modified.
//
// While no node is active there is no standard list: ElastiCache never
// publishes an empty one, and clients would take it for a cluster to
// abandon; they get "no configuration" and keep asking.
func (m *Member) ClusterConfig(key string) ([]byte, bool) {
	b := m.bodies.Load()
	switch key {
	case protocol.ClusterKey, protocol.LegacyClusterKey:
		return b.cluster, b.cluster != nil
	case protocol.ShoalClusterKey:
		return b.shoal, true
	}
	return nil, false
}

// Cluster returns the current configuration with every node, its position
// and its state.
func (m *Member) Cluster() protocol.ClusterConfig {
	m.tabMu.Lock()
	defer m.tabMu.Unlock()
	return m.tab.config(true)
}

// GossipAddr is the address other members reach this one at (for --join).
func (m *Member) GossipAddr() string { return m.addr }

// Name is the member's name.
func (m *Member) Name() string { return m.cfg.Name }

// setState changes the state this member gossips about itself.
func (m *Member) setState(s protocol.NodeState) {
	m.metaMu.Lock()
	m.meta.State = s
	if s == protocol.StateActive && m.meta.Role == RoleNode {
		m.meta.Activations++
	}
	m.metaMu.Unlock()
	m.announceMeta()
}

// announceMeta gossips the member's changed metadata and rechecks the
// table. UpdateNode queues the news for gossip and would wait until it has
// been retransmitted enough times; there is no need to wait for that, and
// its only error is that timeout.
func (m *Member) announceMeta() {
	if m.ml != nil { // nil in tests of a member that never joined
		_ = m.ml.UpdateNode(time.Nanosecond)
	}
	m.poke()
}

func (m *Member) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// waitTable waits until the table satisfies ok or ctx ends.
func (m *Member) waitTable(ctx context.Context, ok func(*table) bool) error {
	for {
		m.tabMu.Lock()
		done, ch := ok(&m.tab), m.changed
		m.tabMu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// adoptLocked makes t the current table; tabMu is held.
func (m *Member) adoptLocked(t table) {
	if !t.sameContent(&m.tab) {
		m.changedAt = time.Now()
	}
	m.tab = t
	m.floor = max(m.floor, t.Version)
	m.watchSelfLocked(&t)
	b := &bodies{shoal: protocol.AppendClusterBody(nil, t.config(true), true)}
	if std := t.config(false); len(std.Nodes) > 0 {
		b.cluster = protocol.AppendClusterBody(nil, std, false)
	}
	m.bodies.Store(b)
	if m.changed != nil {
		close(m.changed)
	}
	m.changed = make(chan struct{})
}

func (m *Member) currentTable() table {
	m.tabMu.Lock()
	defer m.tabMu.Unlock()
	return m.tab
}

func (m *Member) version() uint64 {
	m.tabMu.Lock()
	defer m.tabMu.Unlock()
	return m.tab.Version
}

// message fills in msg as a message from this member. Before memberlist has
// started (a peer can reach us a moment before Create returns), it has no
// address and receivers drop it.
func (m *Member) message(msg message) message {
	msg.From = m.cfg.Name
	select {
	case <-m.ready:
		msg.Addr = m.addr
	default:
	}
	return msg
}

// forget drops what is kept per member about one that left: the maps stay
// as small as the membership.
func (m *Member) forget(name string) {
	m.sendMu.Lock()
	delete(m.pulls, name)
	m.sendMu.Unlock()
	m.tabMu.Lock()
	delete(m.raised, name)
	m.tabMu.Unlock()
}

func (m *Member) isPeer(name string) bool {
	m.peersMu.Lock()
	defer m.peersMu.Unlock()
	_, ok := m.peers[name]
	return ok
}

// peerNodes lists the other live members.
func (m *Member) peerNodes() []*memberlist.Node {
	m.peersMu.Lock()
	defer m.peersMu.Unlock()
	nodes := make([]*memberlist.Node, 0, len(m.peers))
	for _, p := range m.peers {
		nodes = append(nodes, &p.node)
	}
	return nodes
}

// observe records what gossip says about another member.
func (m *Member) observe(n *memberlist.Node, alive bool) {
	if n.Name == m.cfg.Name {
		m.poke() // started: a lone first member coordinates at once
		return
	}
	var p peer
	if alive {
		p.node = memberlist.Node{Name: n.Name, Addr: append(net.IP(nil), n.Addr...), Port: n.Port}
		md, err := decodeMeta(n.Meta)
		if err != nil {
			m.log.Warn("ignoring member with bad metadata", zap.String("member", n.Name), zap.Error(err))
		}
		p.meta, p.ok = md, err == nil
	}
	m.peersMu.Lock()
	if alive {
		m.peers[n.Name] = p
		delete(m.lost, n.Name)
	} else {
		delete(m.peers, n.Name)
		m.noteLostLocked(n)
	}
	m.peersMu.Unlock()
	if !alive {
		m.forget(n.Name)
	}
	m.poke()
}

// rejoin periodically contacts the configured join addresses that are not
// live members, so that two sides of a healed partition find each other
// again.
func (m *Member) rejoin() {
	defer m.workers.Done()
	if len(m.cfg.Join) == 0 {
		return
	}
	t := time.NewTicker(m.cfg.Timing.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		connected := map[string]bool{m.GossipAddr(): true}
		m.peersMu.Lock()
		for _, p := range m.peers {
			connected[p.node.Address()] = true
		}
		m.peersMu.Unlock()
		var missing []string
		for _, a := range m.cfg.Join {
			if !connected[a] {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			if _, err := m.ml.Join(missing); err != nil {
				m.log.Debug("rejoining", zap.Strings("addrs", missing), zap.Error(err))
			}
		}
	}
}
