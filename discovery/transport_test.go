package discovery

import (
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// TestTransportDialsFromGossipAddress checks that a member's TCP
// connections come from its gossip address, not from the one the kernel
// would pick (127.0.0.1 on loopback).
func TestTransportDialsFromGossipAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.151:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	mc := memberlist.DefaultLANConfig()
	mc.BindAddr, mc.BindPort = "127.0.0.150", 0
	tr, err := newTransport(mc)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown()
	if mc.BindPort == 0 || mc.AdvertisePort != mc.BindPort {
		t.Errorf("bound port %d, advertised %d; want the port it got, both", mc.BindPort, mc.AdvertisePort)
	}
	c, err := tr.DialAddressTimeout(memberlist.Address{Addr: ln.Addr().String()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if got := in.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.150" {
		t.Errorf("connection came from %s; want the gossip address 127.0.0.150", got)
	}
}
