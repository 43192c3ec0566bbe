package discovery

import (
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

// reconcile publishes a new table if this member coordinates and the
// membership no longer matches the current table.
func (m *Member) reconcile() {
	if m.coordinator() != m.self {
		m.coordinating = false
		return
	}
	if !m.coordinating {
		// Another member may hold a newer table than ours (we may have
		// missed the last one of the previous coordinator): get them all
		// first, so that our first version is above every version out there.
		m.pull()
		m.coordinating = true
	}
	nodes := m.liveNodes()
	m.tabMu.Lock()
	t, changed := m.tab.next(nodes)
	if changed {
		t.Version = m.tab.Version + 1
		t.Author = m.self
		m.adoptLocked(t)
	}
	m.tabMu.Unlock()
	if !changed {
		return
	}
	m.log.Info("publishing cluster configuration", zap.Uint64("version", t.Version),
		zap.ByteString("nodes", protocol.AppendClusterBody(nil, t.config(true), true)))
	for _, p := range m.peerNodes() {
		m.sendTable(msgTable, p)
	}
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
		nodes = append(nodes, live{Name: m.cfg.Name, Host: me.Host, IP: me.IP, Port: me.Port, State: me.State})
	}
	m.metaMu.Unlock()
	m.peersMu.Lock()
	for name, p := range m.peers {
		if p.ok && p.meta.Role == RoleNode {
			nodes = append(nodes, live{Name: name, Host: p.meta.Host, IP: p.meta.IP, Port: p.meta.Port, State: p.meta.State})
		}
	}
	m.peersMu.Unlock()
	return nodes
}

// pull asks every other member for its table and waits, up to SyncTimeout,
// for their answers, which offer adopts as they come.
func (m *Member) pull() {
	peers := m.peerNodes()
	if len(peers) == 0 {
		return
	}
	answered := make(chan string, len(peers))
	m.tabMu.Lock()
	m.pulls = answered
	m.tabMu.Unlock()
	defer func() {
		m.tabMu.Lock()
		m.pulls = nil
		m.tabMu.Unlock()
	}()
	msg := encodeMessage(msgPull, m.message(nil))
	waiting := make(map[string]bool, len(peers))
	for _, p := range peers {
		waiting[p.Name] = true
		go func() {
			if err := m.ml.SendReliable(p, msg); err != nil {
				m.log.Debug("pulling table", zap.String("from", p.Name), zap.Error(err))
			}
		}()
	}
	timeout := time.NewTimer(m.cfg.Timing.SyncTimeout)
	defer timeout.Stop()
	for len(waiting) > 0 {
		select {
		case name := <-answered:
			delete(waiting, name)
		case <-timeout.C:
			m.log.Debug("pulled tables", zap.Int("missing", len(waiting)), zap.Int("asked", len(peers)))
			return
		case <-m.stop:
			return
		}
	}
}
