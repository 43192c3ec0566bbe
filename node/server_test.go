package node

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
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

// emfileListener is a real listener whose Accept fails as accept4 does when
// the process is out of descriptors, while failing is set: it lets a test
// hold a node in its accept backoff for as long as it needs.
type emfileListener struct {
	net.Listener
	failing atomic.Bool
	calls   atomic.Int64
}

func (l *emfileListener) Accept() (net.Conn, error) {
	l.calls.Add(1)
	if l.failing.Load() {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// servedNode is a node served through an emfileListener, failing from the
// start. done is closed when Serve returns, with err.
type servedNode struct {
	s    *Server
	ln   *emfileListener
	done chan struct{}
	err  error
	shut bool
}

// shutdown shuts the node down, once (a store closes only once), and
// waits for Serve to return.
func (n *servedNode) shutdown(t *testing.T) {
	if n.shut {
		return
	}
	n.shut = true
	if err := n.s.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	<-n.done
}

// startEMFILEServer serves a node through an emfileListener until the test
// ends.
func startEMFILEServer(t *testing.T) *servedNode {
	cfg := DefaultConfig()
	cfg.Port = 0
	s, err := NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	n := &servedNode{s: s, ln: &emfileListener{Listener: s.lns[0]}, done: make(chan struct{})}
	n.ln.failing.Store(true)
	s.lns[0] = n.ln
	go func() { n.err = s.Serve(); close(n.done) }()
	t.Cleanup(func() { n.shutdown(t) })
	return n
}

// While accept fails with EMFILE the node waits longer and longer between
// tries instead of exiting or spinning, counts each failure as
// listen_disabled_num, and serves again once accept works.
func TestAcceptBackoff(t *testing.T) {
	n := startEMFILEServer(t)
	time.Sleep(700 * time.Millisecond)
	select {
	case <-n.done:
		t.Fatalf("Serve returned %v during EMFILE", n.err)
	default:
	}
	// Waits of 5, 10, 20, ... 320 ms fit 8 tries in 700 ms; a busy
	// machine may fit fewer, a spinning loop millions.
	calls := n.ln.calls.Load()
	if calls < 3 || calls > 9 {
		t.Errorf("%d accept calls in 700ms of EMFILE, want about 8", calls)
	}
	if got := n.s.stats.listenDisabled.Load(); got == 0 || got > uint64(calls) {
		t.Errorf("listen_disabled_num %d after %d failed accepts", got, calls)
	}
	n.ln.failing.Store(false)
	nc, err := net.DialTimeout("tcp", n.ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := nc.Read(buf); err != nil || string(buf[:n]) != "VERSION "+ProtocolVersion+"\r\n" {
		t.Fatalf("after EMFILE passed: %q %v", buf[:n], err)
	}
}

// Shutdown ends Serve at once even in the middle of a 1 s backoff.
func TestShutdownDuringAcceptBackoff(t *testing.T) {
	n := startEMFILEServer(t)
	// By 2.4 s the waits have reached their cap: the loop is in a 1 s
	// wait, from 2.275 s to 3.275 s.
	time.Sleep(2400 * time.Millisecond)
	calls := n.ln.calls.Load()
	start := time.Now()
	n.shutdown(t)
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("Shutdown and Serve took %v to return during a backoff", d)
	}
	if n.err != nil {
		t.Errorf("serve: %v", n.err)
	}
	if calls > 11 {
		t.Errorf("%d accept calls in 2.4 s of EMFILE, want about 10", calls)
	}
}
