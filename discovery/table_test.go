package discovery

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shoal-cache/shoal/protocol"
)

// nodes builds live nodes from "name", "name:state" or "name:state#n"
// words (n: its activation count); every node's memcached address is
// derived from its name.
func nodes(words ...string) []live {
	var out []live
	for _, w := range words {
		name, st, _ := strings.Cut(w, ":")
		st, count := cutActivations(st)
		state := protocol.StateActive
		if st != "" {
			state = protocol.NodeState(st)
		}
		out = append(out, live{Name: name, Host: name + ".example", IP: "10.0.0.1", Port: 11211, State: state, Activations: count})
	}
	return out
}

// cutActivations splits "state#n" into the state and n (0 without #n).
func cutActivations(s string) (string, uint64) {
	s, n, _ := strings.Cut(s, "#")
	var count uint64
	fmt.Sscan(n, &count)
	return s, count
}

// layout renders a table's nodes as "name@pos:state ..." and its retired
// positions as "-name@pos", for compact comparisons.
func layout(t table) string {
	var parts []string
	for _, e := range t.Nodes {
		w := fmt.Sprintf("%s@%d:%s", e.Name, e.Pos, e.State)
		if e.Activations != 0 {
			w += fmt.Sprintf("#%d", e.Activations)
		}
		parts = append(parts, w)
	}
	for _, r := range t.Retired {
		parts = append(parts, fmt.Sprintf("-%s@%d", r.Name, r.Pos))
	}
	return strings.Join(parts, " ")
}

// names lists the names of live nodes.
func names(ls []live) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

// tableOf builds a table from a layout string; every node and retired
// name has a slot, and active nodes are active since version 1.
func tableOf(s string) (t table) {
	defer func() {
		var all []string
		for _, e := range t.Nodes {
			all = append(all, e.Name)
		}
		for _, r := range t.Retired {
			all = append(all, r.Name)
		}
		t.Slots = assignSlots(nil, all)
	}()
	for _, w := range strings.Fields(s) {
		var name, state string
		var pos int
		if strings.HasPrefix(w, "-") {
			name, p, _ := strings.Cut(w[1:], "@")
			fmt.Sscan(p, &pos)
			t.Retired = append(t.Retired, retired{Name: name, Pos: pos})
			continue
		}
		name, rest, _ := strings.Cut(w, "@")
		p, state, _ := strings.Cut(rest, ":")
		state, count := cutActivations(state)
		fmt.Sscan(p, &pos)
		e := entry{Name: name, Host: name + ".example", IP: "10.0.0.1", Port: 11211, Pos: pos, State: protocol.NodeState(state), Activations: count}
		if e.State == protocol.StateActive {
			e.Since = 1
		}
		t.Nodes = append(t.Nodes, e)
	}
	return t
}

// numbered gives t a valid version by the first member with a slot, and
// stamps it.
func numbered(t table, seq uint64) table {
	t.Author = t.Slots[0].Name
	t.Version = makeVersion(1, t.Slots[0].Slot, seq)
	t.stamp()
	return t
}

func TestTableNext(t *testing.T) {
	tests := []struct {
		name    string
		from    string
		live    []live
		want    string
		changed bool
	}{
		{"first nodes take positions in name order", "",
			nodes("c:joining", "a:joining", "b:joining"), "a@0:joining b@1:joining c@2:joining", true},
		{"a dropped node that comes back saying it is active is listed joining", "a@0:active -b@1",
			nodes("a", "b:active#3"), "a@0:active b@1:joining#3", true},
		{"so is one whose old position was taken", "a@0:active c@1:active -b@1",
			nodes("a", "b:active#3", "c"), "a@0:active c@1:active b@2:joining#3", true},
		{"a node the table has no record of is taken at its word", "a@0:active",
			nodes("a", "b:active#3"), "a@0:active b@1:active", true},
		{"and stays so while it declares no later activation", "a@0:active b@1:joining#3",
			nodes("a", "b:active#3"), "a@0:active b@1:joining#3", false},
		{"until it declares itself active again", "a@0:active b@1:joining#3",
			nodes("a", "b:active#4"), "a@0:active b@1:active", true},
		{"a joining node records its activations", "a@0:active",
			nodes("a", "b:joining#2"), "a@0:active b@1:joining#2", true},
		{"a node restarted while listed active joins again", "a@0:active b@1:active",
			nodes("a", "b:joining"), "a@0:active b@1:joining", true},
		{"nothing changes", "a@0:active b@1:active",
			nodes("b", "a"), "a@0:active b@1:active", false},
		{"a departed node's position is remembered", "a@0:active b@1:active c@2:active",
			nodes("a", "c"), "a@0:active c@2:active -b@1", true},
		{"a new node takes the lowest free position", "a@0:active c@2:active -b@1",
			nodes("a", "c", "d:joining"), "a@0:active d@1:joining c@2:active -b@1", true},
		{"a returning node gets its position back", "a@0:active c@2:active -b@1",
			nodes("a", "b:joining", "c"), "a@0:active b@1:joining c@2:active", true},
		{"a returning node beats a newcomer that sorts first", "a@0:active c@2:active -b@1",
			nodes("a", "aa:joining", "b:joining", "c"), "a@0:active b@1:joining c@2:active aa@3:joining", true},
		{"a returning node whose position was taken gets the lowest free", "a@0:active d@1:active c@2:active -b@1",
			nodes("a", "b:joining", "c", "d"), "a@0:active d@1:active c@2:active b@3:joining", true},
		{"positions hold while others come and go", "a@0:active b@1:active c@2:active",
			nodes("c", "e:joining"), "e@0:joining c@2:active -a@0 -b@1", true},
		{"a state change is a change", "a@0:active b@1:joining",
			nodes("a", "b:active#1"), "a@0:active b@1:active", true},
		{"a leaving node keeps its position", "a@0:active b@1:active",
			nodes("a:leaving", "b"), "a@0:leaving b@1:active", true},
		{"everyone leaves", "a@0:active b@1:active",
			nil, "-a@0 -b@1", true},
		{"a node leaving twice is remembered once, latest last", "a@0:active -b@5 -c@3",
			nodes(), "-b@5 -c@3 -a@0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := tableOf(tt.from)
			from.Version = 7
			got, changed := from.next(tt.live, names(tt.live))
			if layout(got) != tt.want || changed != tt.changed {
				t.Errorf("next = %q, changed %v; want %q, %v", layout(got), changed, tt.want, tt.changed)
			}
			if got.Version != 7 {
				t.Errorf("next numbered version %d; numbering is the caller's", got.Version)
			}
			if len(got.Nodes) == 0 {
				return
			}
			n := numbered(got, 8)
			if err := n.validate(); err != nil {
				t.Errorf("next produced an invalid table: %v", err)
			}
		})
	}
}

func TestTableNextAddressChangeKeepsPosition(t *testing.T) {
	from := tableOf("a@0:active b@1:active")
	moved := nodes("a", "b")
	moved[1].IP, moved[1].Port = "10.0.0.9", 11300
	got, changed := from.next(moved, nil)
	if !changed || got.Nodes[1].Pos != 1 || got.Nodes[1].IP != "10.0.0.9" || got.Nodes[1].Port != 11300 {
		t.Fatalf("next = %+v, changed %v; want b at position 1 with its new address", got.Nodes, changed)
	}
}

func TestTableRetiredIsBounded(t *testing.T) {
	var from table
	for i := range maxRetired + 10 {
		from.Retired = append(from.Retired, retired{Name: fmt.Sprint("r", i), Pos: i % maxNodes})
	}
	from.Nodes = []entry{{Name: "x", Host: "x", Port: 1, Pos: 0, State: protocol.StateActive}}
	got, _ := from.next(nil, nil)
	if len(got.Retired) != maxRetired {
		t.Fatalf("retired %d entries; want the newest %d", len(got.Retired), maxRetired)
	}
	if last := got.Retired[len(got.Retired)-1]; last.Name != "x" {
		t.Fatalf("newest retired is %q; want x", last.Name)
	}
	if first := got.Retired[0]; first.Name != "r11" {
		t.Fatalf("oldest kept retired is %q; want r11", first.Name)
	}
}

func TestTableConfig(t *testing.T) {
	tab := tableOf("a@0:active b@1:joining c@2:active d@3:leaving")
	tab.Version = 12
	std := string(protocol.AppendClusterBody(nil, tab.config(false), false))
	if want := "12\na.example|10.0.0.1|11211 c.example|10.0.0.1|11211\n"; std != want {
		t.Errorf("standard body %q; want %q", std, want)
	}
	ext := string(protocol.AppendClusterBody(nil, tab.config(true), true))
	want := "12\na.example|10.0.0.1|11211|0|active b.example|10.0.0.1|11211|1|joining " +
		"c.example|10.0.0.1|11211|2|active d.example|10.0.0.1|11211|3|leaving\n"
	if ext != want {
		t.Errorf("extended body %q; want %q", ext, want)
	}
}

func TestDecodeMessageRejects(t *testing.T) {
	tab := numbered(tableOf("a@0:active"), 1)
	good := map[byte]message{
		msgHint:  {From: "n", Addr: "127.0.0.1:7946", Version: 12},
		msgPull:  {From: "n", Addr: "127.0.0.1:7946", Nonce: "0123456789abcdef"},
		msgReply: {From: "n", Addr: "127.0.0.1:7946", Nonce: "0123456789abcdef", Table: &tab},
	}
	for kind, m := range good {
		if _, got, err := decodeMessage(encodeMessage(kind, m)); err != nil || got.From != "n" {
			t.Errorf("good %q message rejected: %v", kind, err)
		}
	}
	slot := preferredSlot("a")
	node := `{"n":"a","h":"h","p":1,"x":0,"s":"active","since":1}`
	reply := func(tab string) string { return `R{"f":"n","a":"127.0.0.1:1","n":"x","t":` + tab + `}` }
	tab1 := func(nodes string) string {
		return fmt.Sprintf(`{"v":%d,"a":"a","nodes":[%s],"slots":[{"n":"a","s":%d}]}`, makeVersion(1, slot, 1), nodes, slot)
	}
	if _, _, err := decodeMessage([]byte(reply(tab1(node)))); err != nil {
		t.Fatalf("the base of the bad replies is rejected: %v", err)
	}
	bad := map[string]string{
		"empty":                "",
		"unknown kind":         `X{"f":"n","a":"127.0.0.1:1"}`,
		"old table push":       `T{"f":"n","a":"127.0.0.1:1","t":{"v":1}}`,
		"not json":             `H{`,
		"no sender":            `H{"a":"127.0.0.1:1","v":1}`,
		"no sender address":    `H{"f":"n","v":1}`,
		"bad address":          `H{"f":"n","a":"localhost:1","v":1}`,
		"port zero address":    `H{"f":"n","a":"127.0.0.1:0","v":1}`,
		"hint past 2^53":       fmt.Sprintf(`H{"f":"n","a":"127.0.0.1:1","v":%d}`, uint64(maxVersion)+1),
		"hint of 2^64-1":       `H{"f":"n","a":"127.0.0.1:1","v":18446744073709551615}`,
		"hint of 2^64":         `H{"f":"n","a":"127.0.0.1:1","v":18446744073709551616}`,
		"negative hint":        `H{"f":"n","a":"127.0.0.1:1","v":-1}`,
		"hint with a table":    `H{"f":"n","a":"127.0.0.1:1","v":1,"t":` + tab1(node) + `}`,
		"pull without nonce":   `P{"f":"n","a":"127.0.0.1:1"}`,
		"pull with long nonce": `P{"f":"n","a":"127.0.0.1:1","n":"` + strings.Repeat("x", 65) + `"}`,
		"reply without nonce":  `R{"f":"n","a":"127.0.0.1:1","t":` + tab1(node) + `}`,
		"reply without table":  `R{"f":"n","a":"127.0.0.1:1","n":"x"}`,
		"version 2^64-1":       reply(strings.Replace(tab1(node), fmt.Sprint(makeVersion(1, slot, 1)), "18446744073709551615", 1)),
		"version past 2^53":    reply(strings.Replace(tab1(node), fmt.Sprint(makeVersion(1, slot, 1)), fmt.Sprint(uint64(maxVersion)+1), 1)),
		"seq 0":                reply(strings.Replace(tab1(node), fmt.Sprint(makeVersion(1, slot, 1)), fmt.Sprint(makeVersion(1, slot, 0)), 1)),
		"not the author's term": reply(strings.Replace(tab1(node), fmt.Sprint(makeVersion(1, slot, 1)),
			fmt.Sprint(makeVersion(1, (slot+1)%maxSlots, 1)), 1)),
		"author without slot": reply(strings.Replace(tab1(node), `"a":"a"`, `"a":"b"`, 1)),
		"node without slot":   reply(tab1(node + `,{"n":"b","h":"h","p":1,"x":1,"s":"active","since":1}`)),
		"repeated slot": reply(fmt.Sprintf(`{"v":%d,"a":"a","nodes":[%s],"slots":[{"n":"a","s":%d},{"n":"b","s":%[3]d}]}`,
			makeVersion(1, slot, 1), node, slot)),
		"slot out of range": reply(fmt.Sprintf(`{"v":%d,"a":"a","nodes":[%s],"slots":[{"n":"a","s":%d},{"n":"b","s":%d}]}`,
			makeVersion(1, slot, 1), node, slot, maxSlots)),
		"active since later":     reply(tab1(strings.Replace(node, `"since":1`, fmt.Sprintf(`"since":%d`, makeVersion(1, slot, 2)), 1))),
		"active since never":     reply(tab1(strings.Replace(node, `,"since":1`, ``, 1))),
		"joining since":          reply(tab1(strings.Replace(node, `"active"`, `"joining"`, 1))),
		"repeated name":          reply(tab1(node + `,` + strings.Replace(node, `"x":0`, `"x":1`, 1))),
		"repeated position":      reply(tab1(node + `,` + strings.Replace(node, `"n":"a"`, `"n":"b"`, 1))),
		"negative position":      reply(tab1(strings.Replace(node, `"x":0`, `"x":-1`, 1))),
		"huge position":          reply(tab1(strings.Replace(node, `"x":0`, `"x":99999999`, 1))),
		"bar in host":            reply(tab1(strings.Replace(node, `"h":"h"`, `"h":"h|x"`, 1))),
		"space in ip":            reply(tab1(strings.Replace(node, `"h":"h"`, `"i":"1 2"`, 1))),
		"node without address":   reply(tab1(strings.Replace(node, `"h":"h",`, ``, 1))),
		"port zero":              reply(tab1(strings.Replace(node, `"p":1`, `"p":0`, 1))),
		"port too big":           reply(tab1(strings.Replace(node, `"p":1`, `"p":65536`, 1))),
		"unknown state":          reply(tab1(strings.Replace(node, `"active"`, `"asleep"`, 1))),
		"bad retired":            reply(strings.Replace(tab1(node), `"slots"`, `"retired":[{"n":"","x":0}],"slots"`, 1)),
		"empty table with nodes": reply(`{"v":0,"nodes":[` + node + `]}`),
	}
	for name, b := range bad {
		if _, _, err := decodeMessage([]byte(b)); err == nil {
			t.Errorf("%s: decodeMessage(%q) accepted", name, b)
		}
	}
}

func TestDecodeMeta(t *testing.T) {
	ok := []meta{
		{Role: RoleEndpoint, State: protocol.StateActive},
		{Role: RoleNode, Host: "h", IP: "10.0.0.1", Port: 11211, State: protocol.StateJoining},
	}
	for _, m := range ok {
		got, err := decodeMeta(m.encode())
		if err != nil || got != m {
			t.Errorf("decodeMeta(%+v) = %+v, %v", m, got, err)
		}
	}
	bad := []string{``, `{}`, `{"r":"boss"}`, `{"r":"node","h":"h","s":"active"}`, `{"r":"node","h":"a b","p":1,"s":"active"}`}
	for _, b := range bad {
		if _, err := decodeMeta([]byte(b)); err == nil {
			t.Errorf("decodeMeta(%q) accepted", b)
		}
	}
}
