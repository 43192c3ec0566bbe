package discovery

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// How members exchange tables. Every message must come from a live member,
// at the gossip address gossip knows it by; anything else is dropped. A
// hint of a newer version makes the receiver pull the table, with a fresh
// nonce, from the member it trusts for tables (the coordinator as it sees
// it, or, if it coordinates, the hinter); the pull goes to that member's
// known address, so a reply with the nonce comes from whoever is really
// there. What a pulled table may then do is consider's business.

// pull is a pull sent and not yet answered.
type pull struct {
	nonce string
	sync  bool // sent while taking over as coordinator
	again bool // another was wanted meanwhile: the reply may be older
	at    time.Time
	tries int
}

// A reply normally comes within milliseconds. One that has not come
// after pullWait may never come (the pull reached a member that did not
// know us yet, or was lost): the pull may then be sent again, with a new
// nonce, up to pullTries times.
const (
	pullWait  = 500 * time.Millisecond
	pullTries = 3
)

// handle acts on a decoded message.
func (m *Member) handle(kind byte, msg message) {
	from, ok := m.verifiedPeer(msg)
	if !ok {
		m.rejected("ignoring gossip message from a non-member", zap.String("from", msg.From), zap.String("addr", msg.Addr))
		return
	}
	switch kind {
	case msgHint:
		m.onHint(from, msg.Version)
	case msgPull:
		m.answer(from, msg.Nonce)
	case msgReply:
		m.onReply(from, msg.Nonce, *msg.Table)
	}
}

// verifiedPeer is the live member msg says it is from, if the address
// matches.
func (m *Member) verifiedPeer(msg message) (*memberlist.Node, bool) {
	m.peersMu.Lock()
	defer m.peersMu.Unlock()
	p, ok := m.peers[msg.From]
	if !ok || !p.ok || p.node.Address() != msg.Addr {
		return nil, false
	}
	n := p.node
	return &n, true
}

func (m *Member) onHint(from *memberlist.Node, v uint64) {
	switch mine := m.version(); {
	case v > mine:
		if to := m.trustedFor(from); to != nil {
			m.pullFrom(to, false)
		}
	case v < mine:
		m.notify(from) // it is behind: let it pull
	}
}

// trustedFor is whom to pull from on hearing of a newer table from a
// member: the coordinator, unless this member coordinates; then the
// hinter, which may hold a version it must number above.
func (m *Member) trustedFor(from *memberlist.Node) *memberlist.Node {
	c := m.coordinator()
	if c == m.self || c.Name == from.Name {
		return from
	}
	return m.peerNode(c.Name)
}

func (m *Member) peerNode(name string) *memberlist.Node {
	m.peersMu.Lock()
	defer m.peersMu.Unlock()
	p, ok := m.peers[name]
	if !ok {
		return nil
	}
	n := p.node
	return &n
}

// pullFrom asks a member for its table, unless a pull to it is already
// under way.
func (m *Member) pullFrom(to *memberlist.Node, sync bool) {
	nonce, ok := m.startPull(to.Name, sync)
	if !ok {
		return
	}
	msg := encodeMessage(msgPull, m.message(message{Nonce: nonce}))
	go func() {
		if err := m.sendRetry(to, msg); err != nil {
			m.log.Debug("pulling table", zap.String("from", to.Name), zap.Error(err))
		}
	}()
}

func (m *Member) startPull(name string, sync bool) (string, bool) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	p, ok := m.pulls[name]
	if ok && time.Since(p.at) < pullWait && (p.sync || !sync) {
		p.again = true
		m.pulls[name] = p
		return "", false
	}
	p = pull{nonce: newNonce(), sync: sync || p.sync, at: time.Now(), tries: p.tries + 1}
	m.pulls[name] = p
	return p.nonce, true
}

func newNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// retryPulls sends again the pulls that got no reply within pullWait, and
// gives up on those tried pullTries times.
func (m *Member) retryPulls() {
	var retry []string
	m.sendMu.Lock()
	for name, p := range m.pulls {
		switch {
		case time.Since(p.at) < pullWait:
		case p.tries < pullTries:
			retry = append(retry, name)
		default:
			delete(m.pulls, name)
		}
	}
	m.sendMu.Unlock()
	for _, name := range retry {
		if n := m.peerNode(name); n != nil {
			m.pullFrom(n, false)
		}
	}
}

// takePull consumes the pull a reply answers, if it is ours.
func (m *Member) takePull(name, nonce string) (pull, bool) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	p, ok := m.pulls[name]
	if !ok || p.nonce != nonce {
		return pull{}, false
	}
	delete(m.pulls, name)
	return p, true
}

// isSyncing reports whether this member is taking over as coordinator.
func (m *Member) isSyncing() bool {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	return m.syncing != nil
}

// answered tells a takeover under way that a member has answered.
func (m *Member) answered(name string) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	select {
	case m.syncing <- name: // a nil channel, after the takeover, blocks: default
	default:
	}
}

// answer sends this member's table to a member that pulled it; one reply
// at a time per member, so that a flood of pulls gets one.
func (m *Member) answer(to *memberlist.Node, nonce string) {
	key := "R" + to.Name
	if !m.startSend(key) {
		return
	}
	go func() {
		defer m.endSend(key)
		t := m.currentTable()
		if err := m.sendRetry(to, encodeMessage(msgReply, m.message(message{Nonce: nonce, Table: &t}))); err != nil {
			m.log.Debug("answering a pull", zap.String("to", to.Name), zap.Error(err))
		}
	}()
}

func (m *Member) onReply(from *memberlist.Node, nonce string, t table) {
	p, ok := m.takePull(from.Name, nonce)
	if !ok {
		m.rejected("ignoring a table nobody asked for", zap.String("from", from.Name))
		return
	}
	catchUp := t.Version != 0 && m.consider(from.Name, t, p.sync)
	if p.sync {
		m.answered(from.Name)
	}
	if catchUp || p.again {
		m.pullFrom(from, p.sync)
	}
}

// notify makes sure a member hears of this member's version: one sender
// per member at a time, which sends again while the version moved on
// during the last send.
func (m *Member) notify(to *memberlist.Node) {
	key := "H" + to.Name
	m.sendMu.Lock()
	if _, busy := m.sending[key]; busy {
		m.sending[key] = true // again, when done
		m.sendMu.Unlock()
		return
	}
	m.sending[key] = false
	m.sendMu.Unlock()
	go func() {
		for again := true; again; {
			msg := encodeMessage(msgHint, m.message(message{Version: m.version()}))
			if err := m.sendRetry(to, msg); err != nil {
				m.log.Debug("sending version", zap.String("to", to.Name), zap.Error(err))
			}
			m.sendMu.Lock()
			if again = m.sending[key]; again {
				m.sending[key] = false
			} else {
				delete(m.sending, key)
			}
			m.sendMu.Unlock()
		}
	}()
}

func (m *Member) startSend(key string) bool {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	if _, busy := m.sending[key]; busy {
		return false
	}
	m.sending[key] = false
	return true
}

func (m *Member) endSend(key string) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	delete(m.sending, key)
}

// sendRetry sends msg over TCP, trying three times while the member is
// still a peer: a member that misses a message answers clients from an
// old list until the next push/pull.
func (m *Member) sendRetry(to *memberlist.Node, msg []byte) error {
	<-m.ready
	if m.ml == nil {
		return nil
	}
	delay := 100 * time.Millisecond
	for try := 1; ; try++ {
		err := m.ml.SendReliable(to, msg)
		if err == nil || try == 3 {
			return err
		}
		select {
		case <-m.stop:
			return err
		case <-time.After(delay):
		}
		delay *= 2
		if !m.isPeer(to.Name) {
			return err
		}
	}
}

// rejected logs a refused message: at most one warning a second, so that
// a flood cannot flood the log; the rest at debug level.
func (m *Member) rejected(msg string, fields ...zap.Field) {
	now := time.Now().UnixNano()
	if last := m.lastReject.Load(); now-last > int64(time.Second) && m.lastReject.CompareAndSwap(last, now) {
		m.log.Warn(msg, fields...)
		return
	}
	m.log.Debug(msg, fields...)
}
