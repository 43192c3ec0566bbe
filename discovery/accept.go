package discovery

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// What a table pulled from a member may do here. It counts only if it is
// newer than ours, lists only nodes that gossip shows alive at the
// addresses they gossip, and is at most a term ahead of anything we know
// of (ceiling). Then:
//
//   - from the coordinator, a member adopts it and publishes it;
//   - a coordinator taking over keeps the newest as the base of its first
//     table, and numbers above all of them;
//   - otherwise a coordinator only learns that the version exists, and
//     numbers its next table above it (at most once a second per member):
//     only the coordinator decides what the list says.
//
// A table further ahead than a term moves what we know of on by a term
// only, and, from a source we may follow, is pulled again: a member that
// missed several terms catches up one per exchange.

// offer is a table from the coordinator that lists nodes gossip has not
// shown us yet; it is taken once they appear.
type offer struct {
	from string
	t    table
}

// minRaiseGap is how often one member may move a coordinator's versions
// on by telling it of a newer one.
const minRaiseGap = time.Second

// consider acts on a table pulled from a member, as above. It reports
// whether to pull from that member again, to catch up.
func (m *Member) consider(from string, t table, sync bool) (again bool) {
	coord := m.coordinator()
	leader := coord == m.self
	m.tabMu.Lock()
	defer m.tabMu.Unlock()
	// A takeover's late answers are ordinary ones: its base is chosen.
	sync = sync && leader && m.isSyncing()
	if t.Version <= m.tab.Version {
		if t.Version == m.tab.Version && !t.sameContent(&m.tab) {
			m.log.Error("two tables under one version", zap.Uint64("version", t.Version), zap.String("from", from))
		}
		return false
	}
	if err := m.checkMembers(&t); err != nil {
		if !sync && coord.Name == from && (m.pending == nil || t.Version > m.pending.t.Version) {
			m.pending = &offer{from: from, t: t}
		}
		m.log.Debug("table lists unknown nodes", zap.String("from", from), zap.Error(err))
		return false
	}
	if known := max(m.tab.Version, m.floor); t.Version > ceiling(known) {
		trusted := sync || coord.Name == from
		if trusted || m.mayRaiseLocked(from) {
			m.floor = max(m.floor, ceiling(known))
			m.log.Info("catching up with a newer version", zap.String("from", from), zap.Uint64("known", known), zap.Uint64("offered", t.Version))
			m.poke()
		}
		return trusted
	}
	switch {
	case sync:
		if t.Version > m.synced.Version {
			m.synced = t
		}
		m.floor = max(m.floor, t.Version)
	case leader:
		if m.mayRaiseLocked(from) {
			m.floor = max(m.floor, t.Version)
			m.poke()
		}
	case coord.Name == from:
		m.adoptLocked(t)
	}
	return false
}

// mayRaiseLocked rate-limits how often a member moves our versions on.
func (m *Member) mayRaiseLocked(from string) bool {
	if time.Since(m.raised[from]) < minRaiseGap {
		return false
	}
	m.raised[from] = time.Now()
	return true
}

// checkMembers checks that every node t lists is alive, as gossip tells,
// at the address it gossips.
func (m *Member) checkMembers(t *table) error {
	m.metaMu.Lock()
	me := m.meta
	m.metaMu.Unlock()
	m.peersMu.Lock()
	defer m.peersMu.Unlock()
	for _, e := range t.Nodes {
		md := me
		if e.Name != m.cfg.Name {
			p, ok := m.peers[e.Name]
			if !ok || !p.ok {
				return fmt.Errorf("discovery: table lists %q, not a live member", e.Name)
			}
			md = p.meta
		}
		if md.Role != RoleNode || md.Host != e.Host || md.IP != e.IP || md.Port != e.Port {
			return fmt.Errorf("discovery: table lists %q at %s|%s|%d, where it is not", e.Name, e.Host, e.IP, e.Port)
		}
	}
	return nil
}

// retryPending pulls the coordinator's table again once gossip shows the
// nodes its pending one lists (the fresh reply goes through consider), and
// forgets the pending table once it is no longer of use.
func (m *Member) retryPending() {
	coord := m.coordinator()
	m.tabMu.Lock()
	p := m.pending
	ready := p != nil && m.checkMembers(&p.t) == nil
	if p != nil && (ready || p.t.Version <= m.tab.Version || coord.Name != p.from) {
		m.pending = nil
	}
	m.tabMu.Unlock()
	if ready && coord.Name == p.from {
		if n := m.peerNode(p.from); n != nil {
			m.pullFrom(n, false)
		}
	}
}
