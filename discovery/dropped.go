package discovery

import (
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/protocol"
)

// watchSelfLocked notices, in each table a node adopts, whether it was out
// of the published list since the last table that listed it active: the
// table does not list it active (it was dropped, and clients were sent
// elsewhere), or lists it active since a later version than that table
// (it was dropped and added again by tables it never saw), or lists it
// joining, held back until it declares itself active again (admit, in
// table.go). Its data may then be stale: it reports the drop once, and
// once OnDropped has flushed, declares itself active again. tabMu is held.
func (m *Member) watchSelfLocked(t *table) {
	if m.cfg.Role != RoleNode || t.Version == 0 {
		return
	}
	e, listed := t.find(m.cfg.Name)
	switch {
	case listed && e.State == protocol.StateActive:
		if m.lastActive != 0 && e.Since > m.lastActive {
			m.reportDrop(m.lastActive, t.Version)
		}
		m.lastActive = t.Version
	case listed && e.State == protocol.StateLeaving:
		// Its own doing: it is on its way out.
	default:
		if m.lastActive != 0 {
			m.reportDrop(m.lastActive, t.Version)
		} else if listed && m.heldBackLocked(e) {
			m.log.Info("listed joining while active: flushing before it is listed active again", zap.Uint64("version", t.Version))
			m.signalDropped()
		}
		m.lastActive = 0
	}
}

// heldBackLocked says whether the joining entry e holds this node back
// although it declares itself active: it has to flush and declare itself
// active again before it is listed so. tabMu is held.
func (m *Member) heldBackLocked(e entry) bool {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	return m.meta.State == protocol.StateActive && e.Activations >= m.meta.Activations
}

// reactivate declares the node active once more, if it is active and not
// on its way out: a later activation than the one a held-back entry
// records (admit).
func (m *Member) reactivate() {
	m.metaMu.Lock()
	again := m.meta.State == protocol.StateActive
	if again {
		m.meta.Activations++
	}
	m.metaMu.Unlock()
	if again {
		m.announceMeta()
	}
}

// reportDrop logs the drop and hands it to the OnDropped goroutine: drops
// reported while the callback runs make one more call.
func (m *Member) reportDrop(active, now uint64) {
	m.log.Warn("this node was out of the published list: its data may be stale",
		zap.Uint64("last_listed_active", active), zap.Uint64("version", now))
	m.signalDropped()
}

// signalDropped hands a drop to the OnDropped goroutine without waiting.
func (m *Member) signalDropped() {
	select {
	case m.dropped <- struct{}{}:
	default:
	}
}

// reportDrops calls OnDropped for each reported drop, off the gossip and
// table paths, and then declares the node active again (if it still is):
// the coordinator lists a returning node active only after that, so
// clients find it only once it has flushed. It runs until the member
// stops.
func (m *Member) reportDrops() {
	defer m.workers.Done()
	for {
		select {
		case <-m.stop:
			return
		case <-m.dropped:
			if m.cfg.OnDropped != nil {
				m.cfg.OnDropped()
			}
			m.reactivate()
		}
	}
}
