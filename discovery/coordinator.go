package discovery

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/protocol"
)

// run reacts to membership changes and new tables, and periodically
// rechecks, until the member stops.
func (m *Member) run() {
	defer m.workers.Done()
	tick := time.NewTicker(m.cfg.Timing.ReconcileInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-m.kick:
		case <-tick.C:
		}
		m.reconcile()
	}
}

// reconcile retries unanswered pulls and takes a pending table whose nodes
// have shown up; then, if this
// member coordinates, it publishes a new table when the membership no
// longer matches the current one; if not, it pulls from a coordinator it
// has not heard from yet.
func (m *Member) reconcile() {
	m.retryPulls()
	m.retryPending()
	c := m.coordinator()
	if c != m.self {
		m.coordinating = false
		if c != m.followed {
			m.followed = c
			if n := m.peerNode(c.Name); n != nil {
				m.pullFrom(n, false)
			}
		}
		return
	}
	m.followed = m.self
	if !m.coordinating {
		// Another member may hold a newer table than ours (we may have
		// missed the last one of the previous coordinator): get them all
		// first, so that our first version is above every version out there.
		m.sync()
		m.coordinating = true
		m.term = 0 // a term of our own, above everything we heard of
	}
	m.publish()
}

// publish numbers and adopts the next table if the membership changed or
// another member holds a newer version, and tells every member.
func (m *Member) publish() {
	nodes, members := m.liveNodes(), m.liveMembers()
	m.tabMu.Lock()
	base := m.tab
	if m.synced.Version > base.Version {
		base = m.synced
	}
	m.synced = table{}
	t, changed := base.next(nodes, members)
	if !changed && m.floor <= m.tab.Version {
		m.tabMu.Unlock()
		return
	}
	err := m.numberLocked(&t)
	if err == nil {
		m.adoptLocked(t)
	}
	m.tabMu.Unlock()
	if err != nil {
		m.log.Error("cannot publish the cluster configuration", zap.Error(err))
		return
	}
	m.log.Info("publishing cluster configuration", zap.Uint64("version", t.Version),
		zap.ByteString("nodes", protocol.AppendClusterBody(nil, t.config(true), true)))
	for _, p := range m.peerNodes() {
		m.notify(p)
	}
}

// numberLocked gives t the next version of this member's term, or starts a
// new term: when it has none yet, when its term ran out, or when another
// member holds a higher version. tabMu is held.
func (m *Member) numberLocked(t *table) error {
	cur := m.tab.Version
	if termOf(cur) == m.term && m.term != 0 && m.floor <= cur && seqOf(cur) < maxSeq {
		t.Version = cur + 1
	} else {
		epoch := epochOf(max(cur, m.floor)) + 1
		slot, ok := t.slotOf(m.cfg.Name)
		switch {
		case epoch > maxEpoch:
			return fmt.Errorf("discovery: every version up to %d is used", uint64(maxVersion))
		case !ok:
			return fmt.Errorf("discovery: no slot left for %q: %d members", m.cfg.Name, len(t.Slots))
		}
		t.Version = makeVersion(epoch, slot, 1)
		m.term = termOf(t.Version)
	}
	t.Author = m.cfg.Name
	t.stamp()
	m.floor = max(m.floor, t.Version)
	return nil
}

// coordinator is the member that decides tables, as this member sees the
// membership: the first in rank order among those not leaving (among all,
// if every member is leaving).
func (m *Member) coordinator() rank {
	m.metaMu.Lock()
	selfLeaving := m.meta.State == protocol.StateLeaving
	m.metaMu.Unlock()
	var best, bestLeaving rank
	var have, haveLeaving bool
	consider := func(r rank, leaving bool) {
		if leaving {
			if !haveLeaving || r.before(bestLeaving) {
				bestLeaving, haveLeaving = r, true
			}
			return
		}
		if !have || r.before(best) {
			best, have = r, true
		}
	}
	consider(m.self, selfLeaving)
	m.peersMu.Lock()
	for name, p := range m.peers {
		if p.ok {
			consider(p.meta.rank(name), p.meta.State == protocol.StateLeaving)
		}
	}
	m.peersMu.Unlock()
	if have {
		return best
	}
	return bestLeaving
}

// liveNodes lists the nodes gossip says are alive, this one included.
func (m *Member) liveNodes() []live {
	var nodes []live
	m.metaMu.Lock()
	if me := m.meta; me.Role == RoleNode {
		nodes = append(nodes, me.live(m.cfg.Name))
	}
	m.metaMu.Unlock()
	m.peersMu.Lock()
	for name, p := range m.peers {
		if p.ok && p.meta.Role == RoleNode {
			nodes = append(nodes, p.meta.live(name))
		}
	}
	m.peersMu.Unlock()
	return nodes
}

// liveMembers names every member gossip says is alive, this one included.
func (m *Member) liveMembers() []string {
	names := []string{m.cfg.Name}
	m.peersMu.Lock()
	defer m.peersMu.Unlock()
	for name, p := range m.peers {
		if p.ok {
			names = append(names, name)
		}
	}
	return names
}

// sync pulls every other member's table (pulls marked sync, which consider
// keeps as the base of our first table) and waits, up to SyncTimeout, for
// their answers.
func (m *Member) sync() {
	peers := m.peerNodes()
	if len(peers) == 0 {
		return
	}
	answered := make(chan string, len(peers))
	m.sendMu.Lock()
	m.syncing = answered
	m.sendMu.Unlock()
	defer func() {
		m.sendMu.Lock()
		m.syncing = nil
		m.sendMu.Unlock()
	}()
	for _, p := range peers {
		m.pullFrom(p, true)
	}
	timeout := time.NewTimer(m.cfg.Timing.SyncTimeout)
	defer timeout.Stop()
	for waiting := len(peers); waiting > 0; waiting-- {
		select {
		case <-answered:
		case <-timeout.C:
			m.log.Debug("pulled tables", zap.Int("missing", waiting), zap.Int("asked", len(peers)))
			return
		case <-m.stop:
			return
		}
	}
}
