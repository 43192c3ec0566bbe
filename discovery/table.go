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

// entry is one node of a table.
type entry struct {
	Name  string             `json:"n"`
	Host  string             `json:"h"`
	IP    string             `json:"i"`
	Port  int                `json:"p"`
	Pos   int                `json:"x"`
	State protocol.NodeState `json:"s"`
}

// retired remembers the position of a node that left, so that it gets the
// position back if it returns while the position is free.
type retired struct {
	Name string `json:"n"`
	Pos  int    `json:"x"`
}

// table is the cluster configuration a coordinator decided: every node with
// its position and state, in position order, under one version.
type table struct {
	Version uint64    `json:"v"`
	Author  rank      `json:"a"`
	Nodes   []entry   `json:"nodes,omitempty"`
	Retired []retired `json:"retired,omitempty"` // oldest first
}

// newer reports whether t supersedes u. Tables of equal version from two
// coordinators (possible only while members disagree on who coordinates) are
// ordered by their authors, so every member settles on the same one.
func (t *table) newer(u *table) bool {
	if t.Version != u.Version {
		return t.Version > u.Version
	}
	return t.Author.before(u.Author)
}

// sameContent reports whether t and u list the same nodes and remember the
// same positions, whatever their versions.
func (t *table) sameContent(u *table) bool {
	return slices.Equal(t.Nodes, u.Nodes) && slices.Equal(t.Retired, u.Retired)
}

// live is a node that gossip reports alive, as it describes itself.
type live struct {
	Name  string
	Host  string
	IP    string
	Port  int
	State protocol.NodeState
}

// next computes the table that should follow t given the live nodes: nodes
// keep their positions, departed nodes' positions are remembered, returning
// nodes get their old position when it is free and new nodes take the lowest
// free ones. It reports whether anything changed; the caller numbers the new
// version.
func (t *table) next(nodes []live) (table, bool) {
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
		out.Nodes = append(out.Nodes, entry{Name: n.Name, Host: n.Host, IP: n.IP, Port: n.Port, Pos: e.Pos, State: n.State})
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
			out.Nodes = append(out.Nodes, entryAt(n, out.Retired[i].Pos))
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
		out.Nodes = append(out.Nodes, entryAt(n, pos))
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
	return out, !out.sameContent(t)
}

func entryAt(n live, pos int) entry {
	return entry{Name: n.Name, Host: n.Host, IP: n.IP, Port: n.Port, Pos: pos, State: n.State}
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
// rely on: unique names and positions in order, publishable addresses.
func (t *table) validate() error {
	if len(t.Nodes) > maxNodes || len(t.Retired) > maxRetired {
		return fmt.Errorf("discovery: table lists too many nodes")
	}
	if len(t.Author.Name) > maxNameLen {
		return fmt.Errorf("discovery: table author name too long")
	}
	names := make(map[string]bool, len(t.Nodes))
	last := -1
	for _, e := range t.Nodes {
		if e.Name == "" || len(e.Name) > maxNameLen || names[e.Name] {
			return fmt.Errorf("discovery: table has a bad or repeated node name %q", e.Name)
		}
		names[e.Name] = true
		if e.Pos <= last || e.Pos >= maxNodes {
			return fmt.Errorf("discovery: table position %d out of order", e.Pos)
		}
		last = e.Pos
		if err := checkAddr(e.Host, e.IP, e.Port, e.State); err != nil {
			return err
		}
	}
	for _, r := range t.Retired {
		if r.Name == "" || len(r.Name) > maxNameLen || r.Pos < 0 || r.Pos >= maxNodes {
			return fmt.Errorf("discovery: table has a bad retired entry %q", r.Name)
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
