package discovery

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/protocol"
)

// These tests drive one Member's decisions directly, with the membership
// gossip would have reported filled in by hand and no network: sends are
// dropped (the member has no memberlist).

func offline(t *testing.T, name string, role Role) *Member {
	t.Helper()
	m, err := newMember(Config{Name: name, Role: role, BindAddr: "127.0.0.1", IP: "127.0.0.1", Port: 11211, Timing: fastTiming()}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	close(m.ready) // with no memberlist: sends return at once
	return m
}

func (m *Member) addPeer(name string, md meta) {
	m.peers[name] = peer{node: memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 9), Port: 7946}, meta: md, ok: true}
}

func nodeMeta(name string) meta {
	return meta{Role: RoleNode, Host: name + ".example", IP: "10.0.0.1", Port: 11211, State: protocol.StateActive}
}

// authored is tableOf's table numbered in author's term.
func authored(layoutStr, author string, epoch, seq uint64) table {
	t := tableOf(layoutStr)
	t.Slots = assignSlots(t.Slots, []string{author})
	s, _ := t.slotOf(author)
	t.Author, t.Version = author, makeVersion(epoch, s, seq)
	return t
}

// cluster3 is node n2's view: the endpoint "ep" coordinates, n1 is a node.
func cluster3(t *testing.T) *Member {
	m := offline(t, "n2", RoleNode)
	m.meta = meta{Role: RoleNode, Host: "n2.example", IP: "10.0.0.1", Port: 11211, State: protocol.StateActive}
	m.addPeer("ep", meta{Role: RoleEndpoint, State: protocol.StateActive})
	m.addPeer("n1", nodeMeta("n1"))
	return m
}

func TestConsiderFollowsOnlyTheCoordinator(t *testing.T) {
	m := cluster3(t)
	byNode := authored("n1@0:active n2@1:active", "n1", 1, 1)
	m.consider("n1", byNode, false)
	if v := m.version(); v != 0 || m.floor != 0 {
		t.Fatalf("a table from a node that does not coordinate moved us to version %d, floor %d", v, m.floor)
	}
	byEP := authored("n1@0:active n2@1:active", "ep", 1, 1)
	m.consider("ep", byEP, false)
	if v := m.version(); v != byEP.Version {
		t.Fatalf("version %d after the coordinator's table; want %d", v, byEP.Version)
	}
	other := authored("n1@0:active", "ep", 1, 1) // the same version, another list
	m.consider("ep", other, false)
	if got := m.currentTable(); !got.sameContent(&byEP) {
		t.Fatalf("a second table under version %d replaced the first: %q", byEP.Version, layout(got))
	}
}

func TestConsiderChecksMembers(t *testing.T) {
	m := cluster3(t)
	rogue := authored("n1@0:active rogue@1:active", "ep", 1, 1)
	m.consider("ep", rogue, false)
	if v := m.version(); v != 0 {
		t.Fatalf("a table listing a non-member was adopted (version %d)", v)
	}
	if m.pending == nil || m.pending.t.Version != rogue.Version {
		t.Fatal("the coordinator's table was not kept until its nodes show up")
	}
	m.retryPending()
	if m.pending == nil {
		t.Fatal("the pending table was dropped before its nodes showed up")
	}
	m.addPeer("rogue", nodeMeta("rogue"))
	m.retryPending()
	if m.pending != nil {
		t.Fatal("the pending table is still pending once its nodes are members (it is pulled again)")
	}
	moved := authored("n1@0:active n2@1:active", "ep", 1, 2)
	moved.Nodes[0].Port = 9999
	m.consider("ep", moved, false)
	if v := m.version(); v != 0 {
		t.Fatalf("a table listing a member where it is not was adopted (version %d)", v)
	}
}

func TestConsiderBoundsVersions(t *testing.T) {
	m := cluster3(t)
	first := authored("n1@0:active n2@1:active", "ep", 3, 1)
	m.consider("ep", first, false) // a member with no table takes a term's step too
	if m.version() != 0 || m.floor != ceiling(0) {
		t.Fatalf("version %d, floor %d after a table of epoch 3; want 0 and %d", m.version(), m.floor, ceiling(0))
	}
	if again := m.consider("ep", first, false); !again || m.floor != ceiling(ceiling(0)) {
		t.Fatalf("floor %d (again %v); want one more epoch, %d", m.floor, again, ceiling(ceiling(0)))
	}
	if again := m.consider("ep", first, false); again || m.version() != first.Version {
		t.Fatalf("version %d (again %v) after catching up; want %d", m.version(), again, first.Version)
	}
	far := authored("n1@0:active n2@1:active", "ep", 5, 1)
	m.consider("ep", far, false)
	if m.version() != first.Version || m.floor != ceiling(first.Version) {
		t.Fatalf("a table two terms ahead: version %d, floor %d; want %d, %d", m.version(), m.floor, first.Version, ceiling(first.Version))
	}
}

func TestCoordinatorOnlyLearnsVersionsFromOthers(t *testing.T) {
	m := offline(t, "ep", RoleEndpoint)
	m.addPeer("n1", nodeMeta("n1"))
	theirs := authored("n1@3:active", "n1", 1, 4)
	m.consider("n1", theirs, false)
	if m.version() != 0 || m.floor != theirs.Version {
		t.Fatalf("coordinator took version %d, floor %d; want its own table kept and floor %d", m.version(), m.floor, theirs.Version)
	}
	again := authored("n1@3:active", "n1", 1, 9)
	m.consider("n1", again, false)
	if m.floor != theirs.Version {
		t.Fatalf("a member moved the coordinator's floor twice within %v: %d", minRaiseGap, m.floor)
	}
	m.raised["n1"] = time.Now().Add(-minRaiseGap)
	m.consider("n1", again, false)
	if m.floor != again.Version {
		t.Fatalf("floor %d after the gap; want %d", m.floor, again.Version)
	}
}

func TestNumbering(t *testing.T) {
	m := offline(t, "ep", RoleEndpoint)
	t0, _ := (&table{}).next(nodes("a:joining"), []string{"ep", "a"})
	t0, _ = t0.next(nodes("a:active#1"), []string{"ep", "a"})
	slot, _ := t0.slotOf("ep")
	step := func(want uint64) {
		t.Helper()
		next := t0
		next.Nodes = slices.Clone(t0.Nodes)
		if err := m.numberLocked(&next); err != nil {
			t.Fatal(err)
		}
		if next.Version != want || next.Author != "ep" || next.Nodes[0].Since != want {
			t.Fatalf("numbered %d by %q, a active since %d; want %d by ep since then", next.Version, next.Author, next.Nodes[0].Since, want)
		}
		m.adoptLocked(next)
	}
	step(makeVersion(1, slot, 1)) // a first term
	step(makeVersion(1, slot, 2)) // its next table
	m.floor = makeVersion(4, 7, 9)
	step(makeVersion(5, slot, 1)) // above a version another member holds
	m.term = 0
	step(makeVersion(6, slot, 1)) // a new coordinator's own term
	m.tab.Version = makeVersion(6, slot, maxSeq)
	m.floor = m.tab.Version
	step(makeVersion(7, slot, 1)) // its term ran out
	m.tab.Version, m.floor = makeVersion(maxEpoch, slot, maxSeq), makeVersion(maxEpoch, slot, maxSeq)
	if err := m.numberLocked(&t0); err == nil {
		t.Fatalf("numbered %d past the last version", t0.Version)
	}
	noSlot := table{Nodes: t0.Nodes}
	m.term = 0
	m.tab.Version, m.floor = 1, 1
	if err := m.numberLocked(&noSlot); err == nil {
		t.Fatal("numbered a table that gives the coordinator no slot")
	}
}

func TestCeiling(t *testing.T) {
	if got, want := ceiling(0), makeVersion(1, maxSlots-1, maxSeq); got != want {
		t.Errorf("ceiling(0) = %d; want %d", got, want)
	}
	if got, want := ceiling(makeVersion(7, 3, 12)), makeVersion(8, maxSlots-1, maxSeq); got != want {
		t.Errorf("ceiling = %d; want the end of epoch 8, %d", got, want)
	}
	if got := ceiling(makeVersion(maxEpoch, 0, 1)); got != maxVersion {
		t.Errorf("ceiling in the last epoch = %d; want %d", got, uint64(maxVersion))
	}
	if maxVersion != 1<<53-1 {
		t.Errorf("versions go up to %d; clients read them exactly only up to 2^53-1", uint64(maxVersion))
	}
	v := makeVersion(5, 6, 7)
	if epochOf(v) != 5 || slotOf(v) != 6 || seqOf(v) != 7 || termOf(v) != 5<<slotBits|6 {
		t.Errorf("%d splits into %d, %d, %d", v, epochOf(v), slotOf(v), seqOf(v))
	}
}

func TestAssignSlots(t *testing.T) {
	got := assignSlots(nil, []string{"b", "a"})
	want := []slotted{{"a", preferredSlot("a")}, {"b", preferredSlot("b")}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("slots %v; want %v (name order, from each name's hash)", got, want)
	}
	// A name whose slot is taken takes the next free one.
	taken := []slotted{{"x", preferredSlot("a")}}
	if got := assignSlots(taken, []string{"a"}); got[1] != (slotted{"a", (preferredSlot("a") + 1) % maxSlots}) {
		t.Fatalf("slots %v; want a after x's", got)
	}
	// Departed members keep theirs, until the slots run out: then the
	// oldest departed one makes room.
	var full []slotted
	for i := range maxSlots {
		full = append(full, slotted{Name: fmt.Sprint("m", i), Slot: i})
	}
	got = assignSlots(full, []string{"new", full[0].Name})
	if len(got) != maxSlots || got[0] != full[0] || got[1] == full[1] || got[len(got)-1] != (slotted{"new", full[1].Slot}) {
		t.Fatalf("full registry: first %v, second %v, last %v; want the live first kept, the second's slot to new", got[0], got[1], got[len(got)-1])
	}
	live := make([]string, 0, maxSlots)
	for _, s := range full {
		live = append(live, s.Name)
	}
	if got := assignSlots(full, append(live, "new")); len(got) != maxSlots {
		t.Fatalf("%d slots when every slot is a live member's", len(got))
	}
}

func TestTableSince(t *testing.T) {
	from := tableOf("a@0:active b@1:active c@2:joining")
	from.Nodes[0].Since, from.Nodes[1].Since = 3, 4
	got, _ := from.next(nodes("a", "b:leaving", "c:active#1", "d:joining"), nil)
	got.Version = 9
	got.stamp()
	want := map[string]uint64{"a": 3, "b": 0, "c": 9, "d": 0}
	for _, e := range got.Nodes {
		if e.Since != want[e.Name] {
			t.Errorf("%s (%s) since %d; want %d", e.Name, e.State, e.Since, want[e.Name])
		}
	}
	// b gone; then back, saying it is active: held joining until it
	// declares itself active again, then active since that table.
	back, _ := got.next(nodes("a", "c", "d"), nil)
	held, _ := back.next(nodes("a", "b:active#1", "c", "d"), nil)
	if e, _ := held.find("b"); e.State != protocol.StateJoining || e.Since != 0 {
		t.Errorf("a node back in the list saying it is active is %s since %d; want joining since 0", e.State, e.Since)
	}
	again, _ := held.next(nodes("a", "b:active#2", "c", "d"), nil)
	again.Version = 11
	again.stamp()
	if e, _ := again.find("b"); e.State != protocol.StateActive || e.Since != 11 {
		t.Errorf("a node back in the list is %s since %d; want active since 11", e.State, e.Since)
	}
}
