package discovery

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// Raw memberlist frames, as a host that is not a member sends them: no
// encryption, no label, memberlist's message types with their msgpack
// headers written by hand (memberlist's net.go defines the format).

const (
	mlPushPull byte = 6 // pushPullMsg
	mlUser     byte = 8 // userMsg
)

func mpMap(n int) []byte { return []byte{0x80 | byte(n)} } // up to 15 pairs

func mpStr(s string) []byte { return append([]byte{0xa0 | byte(len(s))}, s...) } // up to 31 bytes

func mpUint(v int) []byte { return binary.BigEndian.AppendUint32([]byte{0xce}, uint32(v)) }

// userMsgStream is a user message as memberlist sends it over TCP.
func userMsgStream(payload []byte) []byte {
	b := append([]byte{mlUser}, mpMap(1)...)
	b = append(append(b, mpStr("UserMsgLen")...), mpUint(len(payload))...)
	return append(b, payload...)
}

// userMsgPacket is a user message as memberlist sends it over UDP.
func userMsgPacket(payload []byte) []byte { return append([]byte{mlUser}, payload...) }

// pushPullStream is a push/pull that lists no members and carries state as
// the delegate's part.
func pushPullStream(state []byte) []byte {
	b := append([]byte{mlPushPull}, mpMap(3)...)
	b = append(append(b, mpStr("Nodes")...), mpUint(0)...)
	b = append(append(b, mpStr("UserStateLen")...), mpUint(len(state))...)
	b = append(append(b, mpStr("Join")...), 0xc2) // false
	return append(b, state...)
}

// sendStream connects from src (an IP) to dst, writes b and reads until
// the member closes the connection (it answers a push/pull).
func sendStream(t *testing.T, src, dst string, b []byte) {
	t.Helper()
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", dst)
	if err != nil {
		t.Fatalf("connecting to %s: %v", dst, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Fatalf("writing to %s: %v", dst, err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	_, _ = io.Copy(io.Discard, c)
}

// sendPacket sends b from src to dst over UDP.
func sendPacket(t *testing.T, src, dst string, b []byte) {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", dst)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, raddr)
	if err != nil {
		t.Fatalf("UDP to %s: %v", dst, err)
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		t.Fatalf("UDP to %s: %v", dst, err)
	}
}
