package discovery

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shoal-cache/shoal/protocol"
)

// nodes builds live nodes from "name" or "name:state" words; every node's
// memcached address is derived from its name.
func nodes(words ...string) []live {
	var out []live
	for _, w := range words {
		name, st, _ := strings.Cut(w, ":")
		state := protocol.StateActive
		if st != "" {
			state = protocol.NodeState(st)
		}
		out = append(out, live{Name: name, Host: name + ".example", IP: "10.0.0.1", Port: 11211, State: state})
	}
	return out
}

// layout renders a table's nodes as "name@pos:state ..." and its retired
// positions as "-name@pos", for compact comparisons.
func layout(t table) string {
	var parts []string
	for _, e := range t.Nodes {
		parts = append(parts, fmt.Sprintf("%s@%d:%s", e.Name, e.Pos, e.State))
	}
	for _, r := range t.Retired {
		parts = append(parts, fmt.Sprintf("-%s@%d", r.Name, r.Pos))
	}
	return strings.Join(parts, " ")
}

// tableOf builds a table from a layout string.
func tableOf(s string) table {
	var t table
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
		fmt.Sscan(p, &pos)
		t.Nodes = append(t.Nodes, entry{Name: name, Host: name + ".example", IP: "10.0.0.1", Port: 11211, Pos: pos, State: protocol.NodeState(state)})
	}
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
			nodes("c", "a", "b"), "a@0:active b@1:active c@2:active", true},
		{"nothing changes", "a@0:active b@1:active",
			nodes("b", "a"), "a@0:active b@1:active", false},
		{"a departed node's position is remembered", "a@0:active b@1:active c@2:active",
			nodes("a", "c"), "a@0:active c@2:active -b@1", true},
		{"a new node takes the lowest free position", "a@0:active c@2:active -b@1",
			nodes("a", "c", "d"), "a@0:active d@1:active c@2:active -b@1", true},
		{"a returning node gets its position back", "a@0:active c@2:active -b@1",
			nodes("a", "b:joining", "c"), "a@0:active b@1:joining c@2:active", true},
		{"a returning node beats a newcomer that sorts first", "a@0:active c@2:active -b@1",
			nodes("a", "aa", "b", "c"), "a@0:active b@1:active c@2:active aa@3:active", true},
		{"a returning node whose position was taken gets the lowest free", "a@0:active d@1:active c@2:active -b@1",
			nodes("a", "b", "c", "d"), "a@0:active d@1:active c@2:active b@3:active", true},
		{"positions hold while others come and go", "a@0:active b@1:active c@2:active",
			nodes("c", "e"), "e@0:active c@2:active -a@0 -b@1", true},
		{"a state change is a change", "a@0:active b@1:joining",
			nodes("a", "b:active"), "a@0:active b@1:active", true},
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
			got, changed := from.next(tt.live)
			if layout(got) != tt.want || changed != tt.changed {
				t.Errorf("next = %q, changed %v; want %q, %v", layout(got), changed, tt.want, tt.changed)
			}
			if got.Version != 7 {
				t.Errorf("next numbered version %d; numbering is the caller's", got.Version)
			}
			if err := got.validate(); err != nil {
				t.Errorf("next produced an invalid table: %v", err)
			}
		})
	}
}

func TestTableNextAddressChangeKeepsPosition(t *testing.T) {
	from := tableOf("a@0:active b@1:active")
	moved := nodes("a", "b")
	moved[1].IP, moved[1].Port = "10.0.0.9", 11300
	got, changed := from.next(moved)
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
	got, _ := from.next(nil)
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

func TestTableNewer(t *testing.T) {
	ep := rank{Endpoint: true, Name: "z"}
	a, b := rank{Name: "a"}, rank{Name: "b"}
	tests := []struct {
		t, u table
		want bool
	}{
		{table{Version: 2, Author: b}, table{Version: 1, Author: a}, true},
		{table{Version: 1, Author: a}, table{Version: 2, Author: b}, false},
		{table{Version: 3, Author: a}, table{Version: 3, Author: b}, true},
		{table{Version: 3, Author: b}, table{Version: 3, Author: a}, false},
		{table{Version: 3, Author: ep}, table{Version: 3, Author: a}, true},
		{table{Version: 3, Author: a}, table{Version: 3, Author: a}, false},
	}
	for _, tt := range tests {
		if got := tt.t.newer(&tt.u); got != tt.want {
			t.Errorf("(%d by %v).newer(%d by %v) = %v; want %v", tt.t.Version, tt.t.Author, tt.u.Version, tt.u.Author, got, tt.want)
		}
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
	good := encodeMessage(msgTable, message{From: "n", Addr: "127.0.0.1:7946", Table: &table{Version: 1, Nodes: []entry{
		{Name: "a", Host: "h", IP: "10.0.0.1", Port: 11211, Pos: 0, State: protocol.StateActive}}}})
	if _, _, err := decodeMessage(good); err != nil {
		t.Fatalf("good message rejected: %v", err)
	}
	bad := map[string]string{
		"empty":                "",
		"unknown kind":         `X{"f":"n"}`,
		"not json":             `T{`,
		"no sender":            `T{"a":"127.0.0.1:1","t":{"v":1}}`,
		"no sender address":    `T{"f":"n","t":{"v":1}}`,
		"bad address":          `T{"f":"n","a":"localhost:1","t":{"v":1}}`,
		"port zero address":    `T{"f":"n","a":"127.0.0.1:0","t":{"v":1}}`,
		"table missing":        `T{"f":"n","a":"127.0.0.1:1"}`,
		"repeated name":        `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","h":"h","p":1,"x":0,"s":"active"},{"n":"a","h":"h","p":1,"x":1,"s":"active"}]}}`,
		"repeated position":    `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","h":"h","p":1,"x":0,"s":"active"},{"n":"b","h":"h","p":1,"x":0,"s":"active"}]}}`,
		"negative position":    `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","h":"h","p":1,"x":-1,"s":"active"}]}}`,
		"huge position":        `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","h":"h","p":1,"x":99999999,"s":"active"}]}}`,
		"bar in host":          `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","h":"h|x","p":1,"x":0,"s":"active"}]}}`,
		"space in ip":          `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","i":"1 2","p":1,"x":0,"s":"active"}]}}`,
		"node without address": `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","p":1,"x":0,"s":"active"}]}}`,
		"port zero":            `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","h":"h","p":0,"x":0,"s":"active"}]}}`,
		"port too big":         `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","h":"h","p":65536,"x":0,"s":"active"}]}}`,
		"unknown state":        `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"nodes":[{"n":"a","h":"h","p":1,"x":0,"s":"asleep"}]}}`,
		"bad retired":          `T{"f":"n","a":"127.0.0.1:1","t":{"v":1,"retired":[{"n":"","x":0}]}}`,
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
