package node

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// Beyond -c connections, a client is told so and closed, as memcached does.
func TestConnLimit(t *testing.T) {
	_, addr := StartTestServer(t, func(c *Config) { c.ConnLimit = 1 })
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := first.Read(buf); err != nil || !bytes.HasPrefix(buf[:n], []byte("VERSION ")) {
		t.Fatalf("first connection: %q %v", buf[:n], err)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(second)
	if err != nil || string(got) != "ERROR Too many open connections\r\n" {
		t.Fatalf("second connection got %q (%v), want the refusal and EOF", got, err)
	}
}
