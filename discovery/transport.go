package discovery

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// transport is memberlist's own network transport, except that it connects
// from the gossip address. memberlist's dials leave the source address to
// the kernel, so a member's TCP connections would come from whatever
// address routing picks (on loopback, always 127.0.0.1); from the gossip
// address, TCP and UDP traffic tell the same story about who sent it, and
// firewall rules written per member address hold for both.
type transport struct {
	*memberlist.NetTransport
	dialer net.Dialer
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

// newTransport binds mc's gossip address, as memberlist.Create would, and
// records the port it got when mc asked for any.
func newTransport(mc *memberlist.Config) (*transport, error) {
	nc := &memberlist.NetTransportConfig{BindAddrs: []string{mc.BindAddr}, BindPort: mc.BindPort, Logger: mc.Logger}
	var nt *memberlist.NetTransport
	var err error
	// With port 0, TCP gets a free port and UDP must then bind the same
	// one, which another process may just have taken: retry, as memberlist
	// does.
	for range 10 {
		if nt, err = memberlist.NewNetTransport(nc); err == nil || mc.BindPort != 0 || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("binding gossip address: %w", err)
	}
	if mc.BindPort == 0 { // what memberlist.Create does
		mc.BindPort = nt.GetAutoBindPort()
		mc.AdvertisePort = mc.BindPort
	}
	t := &transport{NetTransport: nt}
	if ip := net.ParseIP(mc.BindAddr); ip != nil && !ip.IsUnspecified() {
		t.dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return t, nil
}

func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := t.dialer
	d.Timeout = timeout
	return d.Dial("tcp", a.Addr)
}
