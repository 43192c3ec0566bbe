package discovery

import (
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/protocol"
)

// watchSelfLocked notices, in each table a node adopts, whether it was out
// of the published list since the last table that listed it active: the
// table does not list it active (it was dropped, and clients were sent
// elsewhere), or lists it active since a later version than that table
// (it was dropped and added again by tables it never saw). Its data may
// then be stale: it reports the drop once. tabMu is held.
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
		}
		m.lastActive = 0
	}
}

// reportDrop logs the drop and hands it to the OnDropped goroutine without
// waiting: drops reported while the callback runs make one more call.
func (m *Member) reportDrop(active, now uint64) {
	m.log.Warn("this node was out of the published list: its data may be stale",
		zap.Uint64("last_listed_active", active), zap.Uint64("version", now))
	select {
	case m.dropped <- struct{}{}:
	default:
	}
}

// reportDrops calls OnDropped for each reported drop, off the gossip and
// table paths, until the member stops.
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
		}
	}
}
