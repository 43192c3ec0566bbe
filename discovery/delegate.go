package discovery

import (
	"fmt"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// delegate is Member as memberlist's Delegate: it carries the member's
// metadata, its messages and its version in push/pull exchanges. Its
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
		m.rejected("ignoring gossip message", zap.Error(err))
		return
	}
	m.handle(kind, msg)
}

// GetBroadcasts sends nothing: versions go to every member directly over
// TCP, tables are pulled, and push/pull repairs what is lost.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState is this member's version, as a hint: a member behind pulls
// the table, one ahead tells us.
func (d *delegate) LocalState(join bool) []byte {
	m := (*Member)(d)
	return encodeMessage(msgHint, m.message(message{Version: m.version()}))
}

func (d *delegate) MergeRemoteState(b []byte, join bool) {
	m := (*Member)(d)
	kind, msg, err := decodeMessage(b)
	if err == nil && kind != msgHint {
		err = fmt.Errorf("discovery: %q message as push/pull state", kind)
	}
	if err != nil {
		m.rejected("ignoring remote state", zap.Error(err))
		return
	}
	m.handle(kind, msg)
}

// events is Member as memberlist's EventDelegate, which memberlist calls
// with its node lock held: it only records and signals.
type events Member

var _ memberlist.EventDelegate = (*events)(nil)

func (e *events) NotifyJoin(n *memberlist.Node)   { (*Member)(e).observe(n, true) }
func (e *events) NotifyUpdate(n *memberlist.Node) { (*Member)(e).observe(n, true) }
func (e *events) NotifyLeave(n *memberlist.Node)  { (*Member)(e).observe(n, false) }
