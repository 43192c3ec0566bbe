package events

import (
	"time"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/protocol"
)

// Kind is what happened.
type Kind string

// The kinds of event.
const (
	Joined   Kind = "joined"   // a node entered the node list
	Active   Kind = "active"   // a node serves its share of the keys
	Leaving  Kind = "leaving"  // a node is handing its keys back before it goes
	Failed   Kind = "failed"   // gossip lost a node without it leaving
	Left     Kind = "left"     // a node went away gracefully
	Position Kind = "position" // a node was given a position in the list
	Version  Kind = "version"  // a node list version was published
)

// Kinds lists every kind, in the order a node goes through them.
var Kinds = []Kind{Joined, Position, Active, Leaving, Left, Failed, Version}

// Event is one change a member saw, as the webhook receives it.
type Event struct {
	Kind     Kind      `json:"kind"`
	Node     string    `json:"node"`           // the node's name; for version, the member that numbered the list
	Addr     string    `json:"addr,omitempty"` // its memcached host:port, when listed
	Position int       `json:"position"`
	Version  uint64    `json:"version"` // of the node list the member holds
	Time     time.Time `json:"time"`
	SeenBy   string    `json:"seen_by"` // the member that saw it
}

// Diff returns the events that lead from view prev to view next, seen at now.
func Diff(prev, next discovery.View, now time.Time) []Event {
	before := make(map[string]discovery.NodeView, len(prev.Nodes))
	for _, n := range prev.Nodes {
		before[n.Name] = n
	}
	var out []Event
	add := func(k Kind, n discovery.NodeView) {
		out = append(out, Event{Kind: k, Node: n.Name, Addr: n.Addr, Position: n.Position,
			Version: next.Version, Time: now, SeenBy: next.Self})
	}
	for _, n := range next.Nodes {
		old, seen := before[n.Name]
		if n.Addr == "" {
			n.Addr = old.Addr // a departed node is named by where it was
		}
		if n.Listed && !old.Listed {
			add(Joined, n)
		}
		if n.Listed && (!old.Listed || old.Position != n.Position) {
			add(Position, n)
		}
		if k, ok := stateKind(n.State); ok && (!seen || old.State != n.State) {
			if k == Left && seen && old.State != string(protocol.StateLeaving) {
				add(Leaving, n) // it left between two reads
			}
			add(k, n)
		}
	}
	if next.Version != prev.Version && next.Version != 0 {
		out = append(out, Event{Kind: Version, Node: next.Author, Version: next.Version, Time: now, SeenBy: next.Self})
	}
	return out
}

// stateKind is the event of entering a state; joining is told by Joined.
func stateKind(state string) (Kind, bool) {
	switch state {
	case string(protocol.StateActive):
		return Active, true
	case string(protocol.StateLeaving):
		return Leaving, true
	case discovery.ViewFailed:
		return Failed, true
	case discovery.ViewLeft:
		return Left, true
	}
	return "", false
}
