package discovery

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A key rotation in its three steps on running members: gossip goes on
// throughout (a member joins at each step), and afterwards a member with
// only the old key cannot join.
func TestGossipKeyRotation(t *testing.T) {
	oldKey, newKey := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	start := func(name string, host int, primary []byte, others [][]byte, join ...string) (*Member, error) {
		ip := fmt.Sprintf("127.0.0.%d", host)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return Join(ctx, Config{Name: name, Role: RoleNode, BindAddr: ip, IP: ip, Port: 11000 + host,
			SecretKey: primary, OtherKeys: others, Join: join, Timing: fastTiming()}, nil)
	}
	a, err := start("a", 140, oldKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.halt()
	b, err := start("b", 141, oldKey, nil, a.GossipAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer b.halt()
	steps := []struct {
		primary []byte
		others  [][]byte
	}{{oldKey, [][]byte{newKey}}, {newKey, [][]byte{oldKey}}, {newKey, nil}}
	for i, st := range steps {
		for _, m := range []*Member{a, b} {
			if err := m.SetKeys(st.primary, st.others); err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
		}
		// A member that has just the key the cluster now sends with joins.
		c, err := start(fmt.Sprint("c", i), 142+i, st.primary, nil, a.GossipAddr())
		if err != nil {
			t.Fatalf("step %d: a member with the primary key: %v", i+1, err)
		}
		waitNodes(t, a, 3)
		c.halt()
		waitNodes(t, a, 2)
	}
	if m, err := start("stale", 150, oldKey, nil, a.GossipAddr()); err == nil {
		m.halt()
		t.Fatal("a member with the retired key joined")
	}
}

func waitNodes(t *testing.T, m *Member, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(m.Cluster().Nodes) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d nodes listed, want %d", len(m.Cluster().Nodes), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	k1, k2 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")), base64.StdEncoding.EncodeToString([]byte("0123456789abcdef01234567"))
	if err := os.WriteFile(path, []byte("# rotation, step 2\n"+k1+"\n\n"+k2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, o, err := ReadKeyFile(path)
	if err != nil || string(p) != "0123456789abcdef" || len(o) != 1 || len(o[0]) != 24 {
		t.Fatalf("ReadKeyFile: %q %q %v", p, o, err)
	}
	for _, bad := range []string{"", "not base64!\n", base64.StdEncoding.EncodeToString([]byte("short")) + "\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadKeyFile(path); err == nil {
			t.Errorf("key file %q was accepted", bad)
		}
	}
}
