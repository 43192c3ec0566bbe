package discovery

import (
	"fmt"
	"slices"
	"sort"

	"github.com/shoal-cache/shoal/protocol"
)

// Limits on a table received from the network, so that a confused or
// hostile peer cannot make a member publish nonsense.
const (
	maxNodes    = 4096
	maxRetired  = 1024
	maxNameLen  = 255
	maxTableLen = 1 << 20 // bytes of an encoded message
)

// rank orders members for the coordinator role: endpoints first, then by
// name. Every member computes the same order from the same membership.
type rank struct {
	Endpoint bool   `json:"e,omitempty"`
	Name     string `json:"n"`
}

func (a rank) before(b rank) bool {
	if a.Endpoint != b.Endpoint {
		return a.Endpoint
	}
	return a.Name < b.Name
}

// entry is one node of a table. Since is the version of the table that
// listed it active after a time it was not (0 while it is not active): a
// node that finds a later Since than the last table it saw itself active in
// knows it was out of the list in between, even if it never saw that table.
type entry struct {
	Name  string             `json:"n"`
	Host  string             `json:"h"`
	IP    string             `json:"i"`
	Port  int                `json:"p"`
	Pos   int                `json:"x"`
	State protocol.NodeState `json:"s"`
	Since uint64             `json:"since,omitempty"`
	// Activations, on a joining entry, is the node's activation count when
	// it was listed so: it becomes active once it declares a later one.
	Activations uint64 `json:"a,omitempty"`
}

// retired remembers the position of a node that left, so that it gets the
// position back if it returns while the position is free.
type retired struct {
	Name string `json:"n"`
	Pos  int    `json:"x"`
}

// slotted is a member's slot: the part of the version that names it when it
// coordinates (see version.go).
type slotted struct {
	Name string `json:"n"`
	Slot int    `json:"s"`
}

// table is the cluster configuration a coordinator decided: every node with
// its position and state, in position order, under one version, and the
// slots of the members (nodes and endpoints, departed ones as long as they
// are remembered), oldest first.
type table struct {
	Version uint64    `json:"v"`
	Author  string    `json:"a,omitempty"`
	Nodes   []entry   `json:"nodes,omitempty"`
	Retired []retired `json:"retired,omitempty"` // oldest first
	Slots   []slotted `json:"slots,omitempty"`
}

// sameContent reports whether t and u list the same nodes and remember the
// same positions and slots, whatever their versions.
func (t *table) sameContent(u *table) bool {
	return slices.Equal(t.Nodes, u.Nodes) && slices.Equal(t.Retired, u.Retired) && slices.Equal(t.Slots, u.Slots)
}

// live is a node that gossip reports alive, as it describes itself.
type live struct {
	Name        string
	Host        string
	IP          string
	Port        int
	State       protocol.NodeState
	Activations uint64
}

// next computes the table that should follow t given the live nodes and
// the names of all live members: nodes keep their positions, departed
// nodes' positions are remembered, returning nodes get their old position
// when it is free and new nodes take the lowest free ones; members without
// a slot get one. It reports whether anything changed that is worth a new
// version (slots alone are not, while no node is listed); the caller
// numbers it and stamps it.
func (t *table) next(nodes []live, members []string) (table, bool) {
	out := t.nextNodes(nodes)
	out.Slots = assignSlots(t.Slots, members)
	changed := !slices.Equal(out.Nodes, t.Nodes) || !slices.Equal(out.Retired, t.Retired)
	if !changed && len(out.Nodes) > 0 {
		changed = !slices.Equal(out.Slots, t.Slots)
	}
	return out, changed
}

func (t *table) nextNodes(nodes []live) table {
	byName := make(map[string]live, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	out := table{Version: t.Version, Author: t.Author}
	out.Retired = slices.Clone(t.Retired)
	taken := make(map[int]bool, len(nodes))
	for _, e := range t.Nodes {
		n, ok := byName[e.Name]
		if !ok {
			out.Retired = append(removeRetired(out.Retired, e.Name), retired{Name: e.Name, Pos: e.Pos})
			continue
		}
		delete(byName, e.Name)
		out.Nodes = append(out.Nodes, admit(n, e.Pos, &e))
		taken[e.Pos] = true
	}
	// Newcomers in name order, so that the result does not depend on the
	// order gossip reported them in.
	var fresh []live
	for _, n := range byName {
		fresh = append(fresh, n)
	}
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].Name < fresh[j].Name })
	var unplaced []live
	for _, n := range fresh {
		if i := slices.IndexFunc(out.Retired, func(r retired) bool { return r.Name == n.Name }); i >= 0 && !taken[out.Retired[i].Pos] {
			out.Nodes = append(out.Nodes, admit(n, out.Retired[i].Pos, returning(n)))
			taken[out.Retired[i].Pos] = true
			continue
		}
		unplaced = append(unplaced, n)
	}
	pos := 0
	for _, n := range unplaced {
		for taken[pos] {
			pos++
		}
		var prev *entry
		if slices.ContainsFunc(out.Retired, func(r retired) bool { return r.Name == n.Name }) {
			prev = returning(n)
		}
		out.Nodes = append(out.Nodes, admit(n, pos, prev))
		taken[pos] = true
	}
	for _, e := range out.Nodes {
		out.Retired = removeRetired(out.Retired, e.Name)
	}
	if over := len(out.Retired) - maxRetired; over > 0 {
		out.Retired = out.Retired[over:]
	}
	if len(out.Retired) == 0 {
		out.Retired = nil
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].Pos < out.Nodes[j].Pos })
	return out
}

// assignSlots gives each member without a slot the first free one from
// the slot its name hashes to. Departed members keep theirs (a member
// reported dead may be alive on the other side of a partition) until the
// slots run out; then the oldest departed ones make room.
func assignSlots(slots []slotted, members []string) []slotted {
	out := slices.Clone(slots)
	alive := make(map[string]bool, len(members))
	for _, name := range members {
		alive[name] = true
	}
	sorted := slices.Clone(members)
	slices.Sort(sorted) // the result must not depend on gossip's order
	for _, name := range sorted {
		if slices.ContainsFunc(out, func(s slotted) bool { return s.Name == name }) {
			continue
		}
		if len(out) == maxSlots {
			i := slices.IndexFunc(out, func(s slotted) bool { return !alive[s.Name] })
			if i < 0 {
				break // every slot is a live member's
			}
			out = slices.Delete(out, i, i+1)
		}
		out = append(out, slotted{Name: name, Slot: freeSlot(out, preferredSlot(name))})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func freeSlot(slots []slotted, from int) int {
	taken := make(map[int]bool, len(slots))
	for _, s := range slots {
		taken[s.Slot] = true
	}
	for taken[from] {
		from = (from + 1) % maxSlots
	}
	return from
}

// stamp marks the nodes newly active in t, whose version has just been
// numbered, as active since this version.
func (t *table) stamp() {
	for i := range t.Nodes {
		if t.Nodes[i].State == protocol.StateActive && t.Nodes[i].Since == 0 {
			t.Nodes[i].Since = t.Version
		}
	}
}

func (t *table) slotOf(name string) (int, bool) {
	for _, s := range t.Slots {
		if s.Name == name {
			return s.Slot, true
		}
	}
	return 0, false
}

// admit is node n's entry at pos, given its entry in the previous table
// (nil if the table has no record of it). It takes the state the node
// gossips, but for one rule: a node the table knew and that was not active
// in it is listed active only once it has declared itself active again
// since it was listed joining. A node that was dropped and comes back
// saying it is active is so listed joining; it flushes when it sees that,
// declares itself active again, and only then do clients find it
// (dropped.go). A node the table has no record of (a coordinator that
// started afresh) is taken at its word.
func admit(n live, pos int, prev *entry) entry {
	e := entry{Name: n.Name, Host: n.Host, IP: n.IP, Port: n.Port, Pos: pos, State: n.State}
	switch {
	case n.State != protocol.StateActive:
		if n.State == protocol.StateJoining {
			e.Activations = n.Activations
		}
	case prev == nil:
	case prev.State == protocol.StateActive:
		e.Since = prev.Since
	case prev.State == protocol.StateJoining && n.Activations <= prev.Activations:
		e.State, e.Activations = protocol.StateJoining, prev.Activations
	}
	return e
}

// returning is the previous entry of a node the table remembers as
// departed: as if listed joining at its present activation, so that it has
// to declare a later one before it is listed active.
func returning(n live) *entry {
	return &entry{State: protocol.StateJoining, Activations: n.Activations}
}

func removeRetired(rs []retired, name string) []retired {
	return slices.DeleteFunc(rs, func(r retired) bool { return r.Name == name })
}

// config is the table as published: with all set, every node with its
// position and state (the shoal-cluster form); otherwise only active nodes
// (the standard form).
func (t *table) config(all bool) protocol.ClusterConfig {
	c := protocol.ClusterConfig{Version: t.Version}
	for _, e := range t.Nodes {
		if all || e.State == protocol.StateActive {
			c.Nodes = append(c.Nodes, protocol.ClusterNode{Host: e.Host, IP: e.IP, Port: e.Port, Position: e.Pos, State: e.State})
		}
	}
	return c
}

func (t *table) find(name string) (entry, bool) {
	for _, e := range t.Nodes {
		if e.Name == name {
			return e, true
		}
	}
	return entry{}, false
}

// validate checks what the rest of the package and the published format
// rely on: a version no client can misread, numbered in its author's term;
// unique names and positions in order; publishable addresses; and a slot
// for every node, none shared. Version 0 is the empty table of a member
// that has none yet.
func (t *table) validate() error {
	if t.Version == 0 {
		if len(t.Nodes)+len(t.Retired)+len(t.Slots) > 0 || t.Author != "" {
			return fmt.Errorf("discovery: table of version 0 is not empty")
		}
		return nil
	}
	if t.Version > maxVersion || seqOf(t.Version) == 0 {
		return fmt.Errorf("discovery: table version %d out of range", t.Version)
	}
	if len(t.Nodes) > maxNodes || len(t.Retired) > maxRetired || len(t.Slots) > maxSlots {
		return fmt.Errorf("discovery: table lists too many nodes")
	}
	slots, err := t.checkSlots()
	if err != nil {
		return err
	}
	if s, ok := slots[t.Author]; !ok || s != slotOf(t.Version) {
		return fmt.Errorf("discovery: table version %d is not in its author %q's term", t.Version, t.Author)
	}
	if err := t.checkNodes(slots); err != nil {
		return err
	}
	for _, r := range t.Retired {
		if !goodName(r.Name) || r.Pos < 0 || r.Pos >= maxNodes {
			return fmt.Errorf("discovery: table has a bad retired entry %q", r.Name)
		}
	}
	return nil
}

func goodName(n string) bool { return n != "" && len(n) <= maxNameLen }

// checkSlots checks that names and slots are unique, and maps them.
func (t *table) checkSlots() (map[string]int, error) {
	slots := make(map[string]int, len(t.Slots))
	used := make(map[int]bool, len(t.Slots))
	for _, s := range t.Slots {
		_, dup := slots[s.Name]
		if !goodName(s.Name) || dup || s.Slot < 0 || s.Slot >= maxSlots || used[s.Slot] {
			return nil, fmt.Errorf("discovery: table has a bad or repeated slot %q:%d", s.Name, s.Slot)
		}
		slots[s.Name], used[s.Slot] = s.Slot, true
	}
	return slots, nil
}

func (t *table) checkNodes(slots map[string]int) error {
	names := make(map[string]bool, len(t.Nodes))
	last := -1
	for _, e := range t.Nodes {
		if !goodName(e.Name) || names[e.Name] {
			return fmt.Errorf("discovery: table has a bad or repeated node name %q", e.Name)
		}
		names[e.Name] = true
		if _, ok := slots[e.Name]; !ok {
			return fmt.Errorf("discovery: table gives node %q no slot", e.Name)
		}
		if e.Pos <= last || e.Pos >= maxNodes {
			return fmt.Errorf("discovery: table position %d out of order", e.Pos)
		}
		last = e.Pos
		if e.Since > t.Version || (e.State == protocol.StateActive) != (e.Since != 0) || (e.Activations != 0 && e.State != protocol.StateJoining) {
			return fmt.Errorf("discovery: table has node %q %s since version %d", e.Name, e.State, e.Since)
		}
		if err := checkAddr(e.Host, e.IP, e.Port, e.State); err != nil {
			return err
		}
	}
	return nil
}

func checkAddr(host, ip string, port int, s protocol.NodeState) error {
	if !publishable(host) || !publishable(ip) || host+ip == "" || port <= 0 || port > 65535 {
		return fmt.Errorf("discovery: bad node address %q|%q|%d", host, ip, port)
	}
	switch s {
	case protocol.StateJoining, protocol.StateActive, protocol.StateLeaving:
		return nil
	}
	return fmt.Errorf("discovery: bad node state %q", s)
}
