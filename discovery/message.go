package discovery

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
)

// Kinds of user messages members send one another (the first byte).
const (
	// msgTable carries a coordinator's new table.
	msgTable byte = 'T'
	// msgPull asks for the receiver's table, answered by msgReply; a new
	// coordinator pulls before it publishes.
	msgPull byte = 'P'
	// msgReply carries the sender's table in answer to msgPull, or to a
	// msgTable older than the receiver's own.
	msgReply byte = 'R'
)

// message is the body of every user message and of push/pull state. Addr,
// the sender's gossip address, lets the receiver answer a sender that gossip
// has not told it about yet.
type message struct {
	From  string `json:"f"`
	Addr  string `json:"a"`
	Table *table `json:"t,omitempty"`
}

// sender is the memberlist node to answer m at.
func (m *message) sender() (*memberlist.Node, error) {
	host, port, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return nil, fmt.Errorf("discovery: message from %q: %w", m.From, err)
	}
	ip := net.ParseIP(host)
	p, err := strconv.ParseUint(port, 10, 16)
	if ip == nil || err != nil || p == 0 {
		return nil, fmt.Errorf("discovery: message from %q: bad address %q", m.From, m.Addr)
	}
	return &memberlist.Node{Name: m.From, Addr: ip, Port: uint16(p)}, nil
}

func encodeMessage(kind byte, m message) []byte {
	b, _ := json.Marshal(m) // tables are plain data and always encode
	return append([]byte{kind}, b...)
}

func decodeMessage(b []byte) (byte, message, error) {
	var m message
	if len(b) < 2 || len(b) > maxTableLen {
		return 0, m, fmt.Errorf("discovery: message of %d bytes", len(b))
	}
	kind := b[0]
	if kind != msgTable && kind != msgPull && kind != msgReply {
		return 0, m, fmt.Errorf("discovery: unknown message kind %q", kind)
	}
	if err := json.Unmarshal(b[1:], &m); err != nil {
		return 0, m, fmt.Errorf("discovery: decoding message: %w", err)
	}
	if m.From == "" || len(m.From) > maxNameLen {
		return 0, m, fmt.Errorf("discovery: message from a bad name")
	}
	if _, err := m.sender(); err != nil {
		return 0, m, err
	}
	if kind != msgPull {
		if m.Table == nil {
			return 0, m, fmt.Errorf("discovery: %q message without a table", kind)
		}
		if err := m.Table.validate(); err != nil {
			return 0, m, err
		}
	}
	return kind, m, nil
}
