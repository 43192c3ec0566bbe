package discovery

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// TestGossipAttacksChangeNothing attacks a cluster of real processes the
// way issue 10 did: messages that claim a table at version 2^64-1 listing
// a node of the attacker's, sent as raw memberlist user messages over TCP
// and UDP and as push/pull state by a host that is not a member (claiming
// to be the coordinator, and claiming a name of its own), and sent by a
// member that is not the coordinator, which also answers the coordinator's
// pulls with such tables. Every member must go on publishing exactly what
// it published before.
func TestGossipAttacksChangeNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	c := newTestCluster(t, "127.0.6.1")
	c.start("endpoint", "127.0.6.1", "endpoint")
	c.start("n1", "127.0.6.11", "node")
	c.start("n2", "127.0.6.12", "node")
	c.agree(20*time.Second, "the cluster forms", func(v view) error { return v.has(2) })
	ev := startEvil(t, "127.0.6.99", fmt.Sprintf("127.0.6.1:%d", testGossipPort))
	before := c.settled(10 * time.Second)
	// The well-formed table first: a malformed reply is dropped unread, so
	// the pull it answered stays open and holds off the next one.
	ev.answers(rogueTable(before.std.version+1, "zz-evil"), rogueTable(maxVersion, "zz-evil"), rogueTable(maxUint64, "zz-evil"))

	coord := fmt.Sprintf("127.0.6.1:%d", testGossipPort)
	spoofed := [][]byte{
		msg('T', "endpoint", coord, `"t":`+rogueTable(maxUint64, "endpoint")),
		msg('T', "rogue", "127.0.6.98:7946", `"t":`+rogueTable(maxUint64, "rogue")),
		msg('R', "endpoint", coord, `"n":"00000000","t":`+rogueTable(maxUint64, "endpoint")),
		msg('H', "endpoint", coord, fmt.Sprintf(`"v":%d`, maxUint64)),
		msg('H', "endpoint", coord, fmt.Sprintf(`"v":%d`, before.std.version+1)),
		msg('P', "rogue", "127.0.6.98:7946", `"n":"00000000"`),
	}
	for _, m := range c.members {
		gossip := fmt.Sprintf("%s:%d", m.ip, testGossipPort)
		for _, p := range spoofed {
			sendStream(t, "127.0.6.98", gossip, userMsgStream(p))
			sendPacket(t, "127.0.6.98", gossip, userMsgPacket(p))
			sendStream(t, "127.0.6.98", gossip, pushPullStream(p))
		}
	}
	member := [][]byte{
		msg('T', "zz-evil", ev.addr(), `"t":`+rogueTable(maxUint64, "zz-evil")),
		msg('R', "zz-evil", ev.addr(), `"n":"00000000","t":`+rogueTable(maxUint64, "zz-evil")),
		msg('H', "zz-evil", ev.addr(), fmt.Sprintf(`"v":%d`, maxUint64)),
	}
	for _, p := range member {
		ev.sendAll(t, p)
	}
	// A plausible hint makes the coordinator pull from the attacker, which
	// answers with its tables, one per pull.
	for range 3 {
		ev.sendAll(t, msg('H', "zz-evil", ev.addr(), fmt.Sprintf(`"v":%d`, before.std.version+1)))
		time.Sleep(600 * time.Millisecond)
	}
	c.unchanged(3*time.Second, before)
	if n := ev.pulls.Load(); n < 3 {
		t.Errorf("the coordinator pulled from the attacking member %d times; the test wants it to pull 3 times", n)
	}
}

const maxUint64 = ^uint64(0)

// rogueTable is a table listing only a node the attacker made up, well
// formed otherwise: the author has the slot of the version.
func rogueTable(version uint64, author string) string {
	return fmt.Sprintf(`{"v":%d,"a":%q,"nodes":[{"n":"rogue","h":"127.0.6.98","i":"127.0.6.98","p":%d,"x":0,"s":"active","since":1}],`+
		`"slots":[{"n":%[2]q,"s":%[4]d},{"n":"rogue","s":%[5]d}]}`,
		version, author, testPort, slotOf(version), (slotOf(version)+1)%maxSlots)
}

// msg is a discovery message of kind from a sender with extra fields.
func msg(kind byte, from, addr, fields string) []byte {
	return append([]byte{kind}, fmt.Sprintf(`{"f":%q,"a":%q,%s}`, from, addr, fields)...)
}

// evil is a real gossip member (it joins with memberlist itself) that is
// not the coordinator: an endpoint named to rank after the real one. It
// answers pulls with the tables it was given, one per pull.
type evil struct {
	ml    *memberlist.Memberlist
	pulls atomic.Int32

	mu      sync.Mutex
	replies []string
}

func startEvil(t *testing.T, ip, join string) *evil {
	t.Helper()
	e := &evil{}
	cfg := memberlist.DefaultLANConfig()
	cfg.Name, cfg.BindAddr, cfg.BindPort = "zz-evil", ip, testGossipPort
	cfg.AdvertisePort = testGossipPort
	cfg.Delegate = e
	cfg.LogOutput = io.Discard
	ml, err := memberlist.Create(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.ml = ml
	t.Cleanup(func() { _ = ml.Shutdown() })
	if _, err := ml.Join([]string{join}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the attacker is a member", func() error {
		if n := ml.NumMembers(); n != 4 {
			return fmt.Errorf("%d members", n)
		}
		return nil
	})
	return e
}

func (e *evil) addr() string { return e.ml.LocalNode().Address() }

func (e *evil) answers(tables ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replies = tables
}

// sendAll sends p to every other member over TCP and UDP.
func (e *evil) sendAll(t *testing.T, p []byte) {
	t.Helper()
	for _, n := range e.ml.Members() {
		if n.Name == "zz-evil" {
			continue
		}
		if err := e.ml.SendReliable(n, p); err != nil {
			t.Fatalf("sending to %s: %v", n.Name, err)
		}
		if err := e.ml.SendBestEffort(n, p); err != nil {
			t.Fatalf("sending to %s: %v", n.Name, err)
		}
	}
}

func (e *evil) NodeMeta(int) []byte { return []byte(`{"r":"endpoint","s":"active"}`) }

func (e *evil) NotifyMsg(b []byte) {
	var pull struct {
		From  string `json:"f"`
		Nonce string `json:"n"`
	}
	if len(b) < 2 || b[0] != 'P' || json.Unmarshal(b[1:], &pull) != nil {
		return
	}
	e.mu.Lock()
	if len(e.replies) == 0 {
		e.mu.Unlock()
		return
	}
	table := e.replies[0]
	e.replies = e.replies[1:]
	e.mu.Unlock()
	e.pulls.Add(1)
	for _, n := range e.ml.Members() {
		if n.Name == pull.From {
			reply := msg('R', "zz-evil", e.addr(), fmt.Sprintf(`"n":%q,"t":%s`, pull.Nonce, table))
			go func() { _ = e.ml.SendReliable(n, reply) }()
		}
	}
}

func (e *evil) GetBroadcasts(int, int) [][]byte { return nil }
func (e *evil) LocalState(bool) []byte          { return nil }
func (e *evil) MergeRemoteState([]byte, bool)   {}
