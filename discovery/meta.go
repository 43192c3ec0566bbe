package discovery

import (
	"encoding/json"
	"fmt"

	"github.com/shoal-cache/shoal/protocol"
)

// meta is what a member tells about itself in gossip (memberlist's node
// metadata, at most 512 bytes): its role, the memcached address it
// publishes and its state. Activations counts the times a node has
// declared itself active in this process: the coordinator lists a node that
// enters the table joining, and active only once it declares a later
// activation than the one it entered with, so that a node coming back from
// a drop is offered to clients only after it has flushed (see dropped.go).
type meta struct {
	Role        Role               `json:"r"`
	Host        string             `json:"h,omitempty"`
	IP          string             `json:"i,omitempty"`
	Port        int                `json:"p,omitempty"`
	State       protocol.NodeState `json:"s"`
	Activations uint64             `json:"a,omitempty"`
}

func (m meta) encode() []byte {
	b, _ := json.Marshal(m) // a struct of strings and ints always encodes
	return b
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("discovery: decoding member metadata: %w", err)
	}
	switch m.Role {
	case RoleEndpoint:
		return m, nil
	case RoleNode:
		return m, checkAddr(m.Host, m.IP, m.Port, m.State)
	}
	return m, fmt.Errorf("discovery: unknown role %q in member metadata", m.Role)
}

// live is the node as the coordinator places it.
func (m meta) live(name string) live {
	return live{Name: name, Host: m.Host, IP: m.IP, Port: m.Port, State: m.State, Activations: m.Activations}
}

// rank is the member's place in the coordinator order.
func (m meta) rank(name string) rank {
	return rank{Endpoint: m.Role == RoleEndpoint, Name: name}
}
