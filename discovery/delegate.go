package discovery

import (
	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// delegate is Member as memberlist's Delegate: it carries the member's
// metadata, its table messages and its state in push/pull exchanges. Its
// methods must not block memberlist's loops: anything that sends runs in
// the background.
type delegate Member

var _ memberlist.Delegate = (*delegate)(nil)

func (d *delegate) NodeMeta(limit int) []byte {
	d.metaMu.Lock()
	defer d.metaMu.Unlock()
	return d.meta.encode()
}

func (d *delegate) NotifyMsg(b []byte) {
	m := (*Member)(d)
	kind, msg, err := decodeMessage(b)
	if err != nil {
		m.log.Warn("ignoring gossip message", zap.Error(err))
		return
	}
	from, _ := msg.sender() // decodeMessage checked it
	switch kind {
	case msgPull:
		m.sendTable(msgReply, from)
	case msgTable:
		if m.offer(*msg.Table) == stale {
			m.sendTable(msgReply, from)
		}
	case msgReply:
		m.offer(*msg.Table)
		m.tabMu.Lock()
		if m.pulls != nil {
			select {
			case m.pulls <- msg.From:
			default:
			}
		}
		m.tabMu.Unlock()
	}
}

// GetBroadcasts sends nothing: tables go to every member directly over TCP
// (they may not fit a UDP packet), and push/pull repairs what is lost.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

func (d *delegate) LocalState(join bool) []byte {
	m := (*Member)(d)
	t := m.currentTable()
	return encodeMessage(msgReply, m.message(&t))
}

func (d *delegate) MergeRemoteState(b []byte, join bool) {
	m := (*Member)(d)
	_, msg, err := decodeMessage(b)
	if err != nil || msg.Table == nil {
		m.log.Warn("ignoring remote state", zap.Error(err))
		return
	}
	m.offer(*msg.Table)
}

// events is Member as memberlist's EventDelegate, which memberlist calls
// with its node lock held: it only records and signals.
type events Member

var _ memberlist.EventDelegate = (*events)(nil)

func (e *events) NotifyJoin(n *memberlist.Node)   { (*Member)(e).observe(n, true) }
func (e *events) NotifyUpdate(n *memberlist.Node) { (*Member)(e).observe(n, true) }
func (e *events) NotifyLeave(n *memberlist.Node)  { (*Member)(e).observe(n, false) }
