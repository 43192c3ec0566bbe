package events

import (
	"reflect"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/discovery"
)

func TestDiff(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	a := func(state string, pos int) discovery.NodeView {
		return discovery.NodeView{Name: "a", Addr: "127.0.0.1:1", Position: pos, State: state, Listed: true}
	}
	ev := func(k Kind, node string, pos int, version uint64) Event {
		addr := ""
		if node == "a" {
			addr = "127.0.0.1:1"
		}
		return Event{Kind: k, Node: node, Addr: addr, Position: pos, Version: version, Time: now, SeenBy: "ep"}
	}
	view := func(version uint64, nodes ...discovery.NodeView) discovery.View {
		return discovery.View{Self: "ep", Version: version, Author: "ep", Nodes: nodes}
	}
	left := discovery.NodeView{Name: "a", Position: 0, State: discovery.ViewLeft}
	failedGone := discovery.NodeView{Name: "a", Position: 0, State: discovery.ViewFailed}
	tests := []struct {
		name       string
		prev, next discovery.View
		want       []Event
	}{
		{"nothing changed", view(3, a("active", 0)), view(3, a("active", 0)), nil},
		{"joins", view(1), view(2, a("joining", 0)),
			[]Event{ev(Joined, "a", 0, 2), ev(Position, "a", 0, 2), {Kind: Version, Node: "ep", Version: 2, Time: now, SeenBy: "ep"}}},
		{"joins and is active between two reads", view(0), view(2, a("active", 1)),
			[]Event{ev(Joined, "a", 1, 2), ev(Position, "a", 1, 2), ev(Active, "a", 1, 2), {Kind: Version, Node: "ep", Version: 2, Time: now, SeenBy: "ep"}}},
		{"becomes active", view(2, a("joining", 0)), view(2, a("active", 0)), []Event{ev(Active, "a", 0, 2)}},
		{"moves", view(2, a("active", 0)), view(2, a("active", 3)), []Event{ev(Position, "a", 3, 2)}},
		{"fails", view(2, a("active", 0)), view(2, a("failed", 0)), []Event{ev(Failed, "a", 0, 2)}},
		{"failed, then taken out of the list", view(2, a("failed", 0)), view(2, failedGone), nil},
		{"leaves", view(2, a("active", 0)), view(2, a("leaving", 0)), []Event{ev(Leaving, "a", 0, 2)}},
		{"left", view(2, a("leaving", 0)), view(2, left), []Event{ev(Left, "a", 0, 2)}},
		{"leaves between two reads", view(2, a("active", 0)), view(2, left), []Event{ev(Leaving, "a", 0, 2), ev(Left, "a", 0, 2)}},
		{"comes back", view(2, failedGone), view(2, a("active", 0)),
			[]Event{ev(Joined, "a", 0, 2), ev(Position, "a", 0, 2), ev(Active, "a", 0, 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(tt.prev, tt.next, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
