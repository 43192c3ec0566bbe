package discovery

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
)

// Kinds of user messages members send one another (the first byte).
//
// Tables are never pushed: a member that hears of a newer version pulls
// the table, with a nonce, from the member it trusts for it (see
// exchange.go), and takes only the reply that carries its nonce. A reply
// can so only come from whoever receives traffic at that member's gossip
// address, whatever a message claims about its sender.
const (
	// msgHint tells the receiver the sender's version: sent by a
	// coordinator after publishing, in answer to a hint of an older
	// version, and as the state of memberlist's push/pull exchanges.
	msgHint byte = 'H'
	// msgPull asks for the receiver's table, answered by msgReply.
	msgPull byte = 'P'
	// msgReply carries the sender's table and the nonce of the pull.
	msgReply byte = 'R'
)

// maxNonceLen bounds the nonce a pull carries (ours are 16 hex digits).
const maxNonceLen = 64

// message is the body of every user message and of push/pull state. From
// and Addr are who the sender says it is, its member name and gossip
// address; the receiver checks them against its membership.
type message struct {
	From    string `json:"f"`
	Addr    string `json:"a"`
	Version uint64 `json:"v,omitempty"` // hints
	Nonce   string `json:"n,omitempty"` // pulls and replies
	Table   *table `json:"t,omitempty"` // replies
}

func encodeMessage(kind byte, m message) []byte {
	b, _ := json.Marshal(m) // tables are plain data and always encode
	return append([]byte{kind}, b...)
}

// decodeMessage checks that b is a well-formed message of a known kind,
// with the fields that kind needs and nothing out of range; whether its
// sender may say it is for the receiver to decide.
func decodeMessage(b []byte) (byte, message, error) {
	var m message
	if len(b) < 2 || len(b) > maxTableLen {
		return 0, m, fmt.Errorf("discovery: message of %d bytes", len(b))
	}
	kind := b[0]
	if kind != msgHint && kind != msgPull && kind != msgReply {
		return 0, m, fmt.Errorf("discovery: unknown message kind %q", kind)
	}
	if err := json.Unmarshal(b[1:], &m); err != nil {
		return 0, m, fmt.Errorf("discovery: decoding message: %w", err)
	}
	if !goodName(m.From) {
		return 0, m, fmt.Errorf("discovery: message from a bad name")
	}
	if err := checkGossipAddr(m.Addr); err != nil {
		return 0, m, fmt.Errorf("discovery: message from %q: %w", m.From, err)
	}
	return kind, m, m.checkFields(kind)
}

func (m *message) checkFields(kind byte) error {
	switch kind {
	case msgHint:
		if m.Version > maxVersion || m.Nonce != "" || m.Table != nil {
			return fmt.Errorf("discovery: hint from %q of version %d", m.From, m.Version)
		}
	case msgPull:
		if m.Nonce == "" || len(m.Nonce) > maxNonceLen || m.Table != nil || m.Version != 0 {
			return fmt.Errorf("discovery: bad pull from %q", m.From)
		}
	case msgReply:
		if m.Nonce == "" || len(m.Nonce) > maxNonceLen || m.Table == nil || m.Version != 0 {
			return fmt.Errorf("discovery: bad reply from %q", m.From)
		}
		if err := m.Table.validate(); err != nil {
			return fmt.Errorf("discovery: reply from %q: %w", m.From, err)
		}
	}
	return nil
}

// checkGossipAddr checks that a is an IP and a port, as memberlist gives
// members' addresses.
func checkGossipAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if net.ParseIP(host) == nil || err != nil || p == 0 {
		return fmt.Errorf("bad address %q", a)
	}
	return nil
}
