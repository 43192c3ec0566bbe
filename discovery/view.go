package discovery

import (
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// View is a member's picture of the cluster, for operators: the table it
// holds, each node as gossip sees it now, and who coordinates.
type View struct {
	Self        string    // this member's name
	Version     uint64    // of the node list this member holds (0: none yet)
	Author      string    // the member that numbered that list
	Coordinator string    // the member deciding lists, as this member sees the membership
	Changed     time.Time // when this member's node list last changed (zero: never)
	Members     int       // live gossip members, this one included
	Nodes       []NodeView
}

// Node states a View reports beside the protocol's joining, active and
// leaving.
const (
	// ViewFailed is a node gossip lost without it leaving: listed still
	// until the coordinator takes it out, then remembered by its position.
	ViewFailed = "failed"
	// ViewLeft is a node that left, remembered by its position.
	ViewLeft = "left"
)

// NodeView is one node as a View reports it.
type NodeView struct {
	Name     string
	Addr     string // host:port of its memcached port; empty for a departed node
	Position int
	State    string // joining, active, leaving, failed or left
	Listed   bool   // in the node list this member holds
}

// lost is a member gossip reported gone, and how.
type lost struct {
	at   time.Time
	left bool // left gracefully; otherwise it failed
}

// View returns this member's picture of the cluster now.
func (m *Member) View() View {
	coordinator := m.coordinator().Name
	m.tabMu.Lock()
	t, changed := m.tab, m.changedAt
	m.tabMu.Unlock()
	v := View{Self: m.cfg.Name, Version: t.Version, Author: t.Author, Coordinator: coordinator,
		Changed: changed, Members: len(m.liveMembers())}
	m.peersMu.Lock()
	defer m.peersMu.Unlock()
	for _, e := range t.Nodes {
		state := string(e.State)
		if _, alive := m.peers[e.Name]; !alive && e.Name != m.cfg.Name {
			state = ViewFailed
			if l, ok := m.lost[e.Name]; ok && l.left {
				state = ViewLeft
			}
		}
		v.Nodes = append(v.Nodes, NodeView{Name: e.Name, Addr: net.JoinHostPort(e.Host, strconv.Itoa(e.Port)),
			Position: e.Pos, State: state, Listed: true})
	}
	for _, r := range t.Retired {
		state := ViewLeft
		if l, ok := m.lost[r.Name]; ok && !l.left {
			state = ViewFailed
		}
		v.Nodes = append(v.Nodes, NodeView{Name: r.Name, Position: r.Pos, State: state})
	}
	return v
}

// noteLost remembers how gossip lost n, bounded as the retired list is.
// Called with peersMu held.
func (m *Member) noteLostLocked(n *memberlist.Node) {
	if len(m.lost) >= maxRetired {
		oldest := ""
		for name, l := range m.lost {
			if oldest == "" || l.at.Before(m.lost[oldest].at) {
				oldest = name
			}
		}
		delete(m.lost, oldest)
	}
	m.lost[n.Name] = lost{at: time.Now(), left: n.State == memberlist.StateLeft}
}
