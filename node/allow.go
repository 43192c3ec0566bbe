package node

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Network access control, as security groups give ElastiCache nodes: with
// Config.Allow set, a connection from an address outside every listed
// network is closed at once, before a byte is read or written, counted
// (allow_refused) and logged at debug level, at most once a second.

// allowList is the networks clients may connect from; empty allows all.
type allowList struct {
	nets    []netip.Prefix
	refused atomic.Uint64
	logged  atomic.Int64 // unix seconds of the last log line
}

// ParseAllow reads a list of networks (CIDR, or a single address).
func ParseAllow(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("--allow %q: not a network (CIDR) or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// admits reports whether a connection from addr may be served.
func (l *allowList) admits(addr net.Addr) bool {
	if len(l.nets) == 0 {
		return true
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return true // a UNIX socket: its file's access mode (-a) says who may connect
	}
	ip := tcp.AddrPort().Addr().Unmap()
	for _, p := range l.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// refuse closes a connection the list does not admit.
func (l *allowList) refuse(nc net.Conn, log *zap.Logger) {
	l.refused.Add(1)
	_ = nc.Close()
	now := time.Now().Unix()
	if last := l.logged.Load(); now > last && l.logged.CompareAndSwap(last, now) {
		log.Debug("connection refused by the allow list", zap.Stringer("remote", nc.RemoteAddr()),
			zap.Uint64("refused_so_far", l.refused.Load()))
	}
}
