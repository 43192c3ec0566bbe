package node_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// Hostile clients against a real `shoal node` process, and memcached side
// by side where the behaviour must match: every loop is bounded in count
// and in time.

// tooMany is memcached's refusal of a connection beyond -c, written before
// it closes the connection (memcached.c, conn_listening, 1.6.18).
const tooMany = "ERROR Too many open connections\r\n"

// settleFor is how long a node is given to park, close or give back what
// a load left behind before it is measured: a few sweeps, and the release
// of memory after them.
const settleFor = 2 * time.Second

// 20,000 connection attempts beyond -c are each answered with memcached's
// refusal and closed, as memcached does them, while the connections within
// the limit are served throughout and after.
func TestE2EConnLimitFlood(t *testing.T) {
	const limit, flood, workers = "64", 20000, 8
	servers := []struct {
		name string
		p    *testproc.Proc
	}{
		{"shoal", startShoalProc(t, "-c", limit)},
		{"memcached", testproc.StartMemcached(t, "-c", limit)},
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			held := fillToLimit(t, srv.p.Addr)
			before := held[0].stats()["rejected_connections"]
			var refused, wrong atomic.Int64
			var firstWrong atomic.Value
			deadline := time.Now().Add(90 * time.Second)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < flood && time.Now().Before(deadline); i += workers {
						got, err := refusal(srv.p.Addr)
						if err == nil && got == tooMany {
							refused.Add(1)
							continue
						}
						wrong.Add(1)
						firstWrong.CompareAndSwap(nil, fmt.Sprintf("%q %v", got, err))
					}
				}()
			}
			wg.Wait()
			if refused.Load() != flood {
				t.Fatalf("%d of %d attempts beyond -c refused with %q and closed; %d otherwise, the first %v",
					refused.Load(), flood, tooMany, wrong.Load(), firstWrong.Load())
			}
			for i, c := range held {
				if got := c.call("version\r\n"); !strings.HasPrefix(got, "VERSION ") {
					t.Fatalf("held connection %d after the flood: %q", i, got)
				}
			}
			after := held[0].stats()["rejected_connections"]
			b, _ := strconv.Atoi(before)
			a, _ := strconv.Atoi(after)
			if a-b != flood {
				t.Errorf("rejected_connections went from %s to %s over %d refusals", before, after, flood)
			}
			t.Logf("%s: %d connections held within -c %s, %d attempts beyond it refused", srv.name, len(held), limit, flood)
			for _, c := range held {
				c.nc.Close()
			}
			fresh := waitForRoom(t, srv.p.Addr)
			if got := fresh.call("version\r\n"); !strings.HasPrefix(got, "VERSION ") {
				t.Fatalf("a new connection once the held ones closed: %q", got)
			}
		})
	}
}

// fillToLimit opens connections to addr until one is refused, and returns
// those served.
func fillToLimit(t *testing.T, addr string) []*rawConn {
	t.Helper()
	var held []*rawConn
	for range 200 {
		c := dialRaw(t, addr)
		if got := c.call("version\r\n"); got == tooMany {
			// The request unread, the close may come as a reset.
			if rest, _ := io.ReadAll(c.r); len(rest) != 0 {
				t.Fatalf("after the refusal: %q", rest)
			}
			if len(held) == 0 {
				t.Fatal("the first connection was refused")
			}
			return held
		} else if !strings.HasPrefix(got, "VERSION ") {
			t.Fatalf("connection %d: %q", len(held), got)
		}
		held = append(held, c)
	}
	t.Fatalf("%d connections served, none refused", len(held))
	return nil
}

// refusal opens a connection and reads all the server sends until it
// closes, within five seconds.
func refusal(addr string) (string, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(nc)
	return string(b), err
}

// waitForRoom dials addr until a connection is not refused (the server
// counts closed connections out as it sees them close), for up to 5 s.
func waitForRoom(t *testing.T, addr string) *rawConn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialRaw(t, addr)
		_ = c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.r.Peek(1); isTimeout(err) {
			return c // nothing said: not refused
		}
		c.nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("every new connection refused 5 s after the held ones closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// A client that opens and closes 5,000 connections a second for three
// seconds, closing them in every way (at once, after a request, in the
// middle of a command line or a data block, with a reset), leaves the node
// up and serving, and its connections, descriptors and resident memory
// back where they were.
func TestE2EConnectionChurn(t *testing.T) {
	const rate, period, workers = 5000, 3 * time.Second, 8
	p := startShoalProc(t, "-c", "4096")
	watch := dialRaw(t, p.Addr)
	watch.call("set churn 0 0 2\r\nok\r\n")
	time.Sleep(settleFor)
	fds0, rss0 := p.OpenFiles(t), p.Resident(t)

	tokens := make(chan int, rate)
	go func() {
		defer close(tokens)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		for i := 0; time.Since(start) < period; <-tick.C {
			for range rate / 1000 {
				select {
				case tokens <- i:
				default: // the workers are behind: the attempt is dropped
				}
				i++
			}
		}
	}()
	var made, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range tokens {
				if err := churnOnce(p.Addr, i); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				made.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d connections opened and closed in %v (%d failed, the first: %v)", made.Load(), period, failed.Load(), firstErr.Load())
	if failed.Load() != 0 {
		t.Errorf("%d connections failed: %v", failed.Load(), firstErr.Load())
	}
	if made.Load() < rate*int64(period/time.Second)/2 {
		t.Errorf("only %d connections in %v: the load did not run", made.Load(), period)
	}
	if v, ok := watch.get("churn"); !ok || v != "ok" {
		t.Fatalf("get churn after the churn: %q %v", v, ok)
	}
	st := waitStats(t, watch, "curr_connections 1", func(st map[string]string) bool {
		return st["curr_connections"] == "1"
	})
	time.Sleep(settleFor)
	fds, rss := p.OpenFiles(t), p.Resident(t)
	t.Logf("descriptors %d -> %d, resident %.1f -> %.1f MB, total_connections %s",
		fds0, fds, float64(rss0)/(1<<20), float64(rss)/(1<<20), st["total_connections"])
	if fds > fds0 {
		t.Errorf("%d descriptors open after the churn, %d before", fds, fds0)
	}
	if rss > rss0+churnResidue {
		t.Errorf("resident memory %d KB after the churn, %d KB before", rss>>10, rss0>>10)
	}
}

// churnResidue is what resident memory may stay above its level before a
// churn: what the runtime keeps once it has served a few hundred
// connections at once (GC metadata, pollDescs, pooled stacks; about 2-3 MB,
// see bench/results/conn-memory.md), not anything per connection.
const churnResidue = 4 << 20

// churnOnce opens a connection to addr and closes it in one of five ways,
// chosen by i, from one of eight loopback addresses (so that the client's
// closed ports in TIME_WAIT do not run out).
func churnOnce(addr string, i int) error {
	d := net.Dialer{Timeout: 5 * time.Second,
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%8))}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	switch i % 5 {
	case 0: // at once
	case 1:
		if _, err := io.WriteString(nc, "get churn\r\n"); err != nil {
			return err
		}
		buf := make([]byte, len("VALUE churn 0 2\r\nok\r\nEND\r\n"))
		if _, err := io.ReadFull(nc, buf); err != nil {
			return fmt.Errorf("get churn: %q %w", buf, err)
		}
	case 2:
		_, err = io.WriteString(nc, "get chu")
	case 3:
		_, err = io.WriteString(nc, "set churn2 0 0 100\r\nabc")
	case 4:
		_, err = io.WriteString(nc, "get churn\r\n")
		_ = nc.(*net.TCPConn).SetLinger(0) // a reset, the reply unread
	}
	return err
}

// halfWritten is a command left hanging, its rest never sent.
type halfWritten struct {
	name, sent string
	// expires is whether memcached's idle_timeout closes a connection
	// left so: it times out connections waiting for a command or the rest
	// of its line or header (conn_new_cmd, conn_read), not those reading a
	// data block (conn_nread), which hold their item.
	expires bool
	// maxKB bounds what the node may hold for one such connection.
	maxKB float64
}

var halfWrittenCases = []halfWritten{
	{"text line", "get half-written-ke", true, 1},
	{"meta line", "mg half-written v", true, 1},
	{"binary header", "\x80\x00\x00\x05\x00\x00", true, 1},
	// A data block is read by a goroutine holding its lease, into the
	// item reserved for it (whose pages are not touched until written), as
	// memcached reads it into its item: bounded per connection, not by what
	// the client says it will send.
	{"data block", "set half-written 0 0 100000\r\n0123456789", false, 48},
}

// Many connections each leaving a command half written hold a bounded
// amount of memory each, while another client is served; idle_timeout
// closes those memcached's closes, and leaves those it leaves.
func TestE2EHalfWrittenCommands(t *testing.T) {
	const each = 500
	shoal := startShoalProc(t, "-c", "4096", "-o", "idle_timeout=2")
	mc := testproc.StartMemcached(t, "-c", "4096", "-o", "idle_timeout=2")
	warmUp(t, shoal.Addr, 2*each)
	warmUp(t, mc.Addr, 2*each)
	for _, hw := range halfWrittenCases {
		t.Run(hw.name, func(t *testing.T) {
			time.Sleep(settleFor)
			rss0, mcRSS0 := shoal.Resident(t), mc.Resident(t)
			other := dialRaw(t, shoal.Addr)
			conns := openHalfWritten(t, shoal.Addr, hw.sent, each)
			mcConns := openHalfWritten(t, mc.Addr, hw.sent, each)
			start := time.Now()
			if got := other.call("set other 0 0 2\r\nok\r\n"); got != "STORED\r\n" {
				t.Fatalf("another client's set: %q", got)
			}
			if v, ok := other.get("other"); !ok || v != "ok" || time.Since(start) > time.Second {
				t.Fatalf("another client's get: %q %v after %v", v, ok, time.Since(start))
			}
			time.Sleep(settleFor / 2) // within idle_timeout
			perKB := float64(shoal.Resident(t)-rss0) / each / 1024
			mcKB := float64(mc.Resident(t)-mcRSS0) / each / 1024
			t.Logf("%d connections with a %s half written: %.2f KB each (memcached %.2f)", each, hw.name, perKB, mcKB)
			if perKB > hw.maxKB {
				t.Errorf("%.2f KB per connection with a %s half written, want at most %.0f", perKB, hw.name, hw.maxKB)
			}
			// The node's other client stays active; a sample of the hanging
			// connections is watched, and memcached's beside them.
			for range 3 {
				other.call("version\r\n")
				time.Sleep(time.Second)
			}
			if closed := closedWithin(t, conns[:20], 2*time.Second); closed != hw.expires {
				t.Errorf("shoal: a connection with a %s half written closed after idle_timeout: %v, want %v", hw.name, closed, hw.expires)
			}
			if closed := closedWithin(t, mcConns[:20], 2*time.Second); closed != hw.expires {
				t.Errorf("memcached: a connection with a %s half written closed after idle_timeout: %v, want %v", hw.name, closed, hw.expires)
			}
		})
	}
}

// warmUp opens n connections to addr, each making a request, and closes
// them: what a node pays once when it first has many connections (see
// bench/results/conn-memory.md) is then not counted against the
// connections measured after.
func warmUp(t *testing.T, addr string, n int) {
	t.Helper()
	conns := make([]*rawConn, n)
	for i := range conns {
		conns[i] = dialRaw(t, addr)
		conns[i].call("version\r\n")
	}
	for _, c := range conns {
		c.nc.Close()
	}
}

// openHalfWritten opens n connections to addr, each sending sent, closed
// when the test ends.
func openHalfWritten(t *testing.T, addr, sent string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, nc := range conns {
			nc.Close()
		}
	})
	for range n {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
		if _, err := io.WriteString(nc, sent); err != nil {
			t.Fatal(err)
		}
	}
	return conns
}

// closedWithin reports whether every one of conns is closed by the server
// without a byte within d, or every one still open (it fails on a mix, or
// on bytes).
func closedWithin(t *testing.T, conns []net.Conn, d time.Duration) bool {
	t.Helper()
	closed := 0
	deadline := time.Now().Add(d)
	for _, nc := range conns {
		_ = nc.SetReadDeadline(deadline)
		var b [64]byte
		n, err := nc.Read(b[:])
		switch {
		case n > 0:
			t.Fatalf("the server sent %q to a connection with a command half written", b[:n])
		case errors.Is(err, io.EOF):
			closed++
		case !isTimeout(err):
			t.Fatalf("reading a connection with a command half written: %v", err)
		}
	}
	if closed != 0 && closed != len(conns) {
		t.Fatalf("%d of %d connections closed", closed, len(conns))
	}
	return closed == len(conns)
}

// Clients that send many gets and never read the replies hold a bounded
// amount of the node's memory each, however many gets they send, and the
// other clients are served meanwhile. memcached's figure is logged beside:
// it writes a value from its item, pinned by a reference count, and holds
// about 6 KB per such client; shoal copies the value out of the store
// under the shard's lock and writes the copy, so a client blocked in the
// write of a value holds that copy (grown 1.25x when the reply's header is
// appended to it, the first allocation resident until the runtime returns
// it: up to three times the value) besides its lease.
func TestE2ENeverReadingClients(t *testing.T) {
	const clients, valueSize = 50, 256 << 10
	value := strings.Repeat("v", valueSize)
	servers := []struct {
		name string
		p    *testproc.Proc
	}{
		{"shoal", startShoalProc(t, "-c", "4096")},
		{"memcached", testproc.StartMemcached(t, "-c", "4096")},
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			other := dialRaw(t, srv.p.Addr)
			if got := other.call(fmt.Sprintf("set big 0 0 %d\r\n%s\r\n", valueSize, value)); got != "STORED\r\n" {
				t.Fatalf("set big: %q", got)
			}
			time.Sleep(settleFor)
			rss0 := srv.p.Resident(t)
			conns := make([]net.Conn, clients)
			for i := range conns {
				nc, err := net.DialTimeout("tcp", srv.p.Addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				conns[i] = nc
			}
			var perKB [2]float64
			for round, gets := range []int{100, 400} {
				sendUnread(t, conns, strings.Repeat("get big\r\n", gets))
				time.Sleep(settleFor)
				// Before the memory is read, so that what this client's get
				// holds counts in every round.
				start := time.Now()
				if v, ok := other.get("big"); !ok || len(v) != valueSize || time.Since(start) > 2*time.Second {
					t.Fatalf("another client's get beside them: %d bytes, %v, after %v", len(v), ok, time.Since(start))
				}
				perKB[round] = float64(srv.p.Resident(t)-rss0) / clients / 1024
			}
			t.Logf("%s: %d clients that never read, after 100 gets of 256 KB each: %.1f KB each; after 500: %.1f KB",
				srv.name, clients, perKB[0], perKB[1])
			if srv.name != "shoal" {
				return
			}
			bound := float64(3*valueSize+64<<10) / 1024
			if perKB[0] > bound || perKB[1] > bound {
				t.Errorf("shoal holds %.1f then %.1f KB per client that never reads, want at most %.0f", perKB[0], perKB[1], bound)
			}
			// 400 more gets are 100 MB more of replies per client: what
			// grows with them would show; the runtime's heap moves by a
			// few hundred KB between readings.
			if perKB[1] > perKB[0]+64 {
				t.Errorf("shoal's memory per client that never reads grew with its gets: %.1f to %.1f KB", perKB[0], perKB[1])
			}
		})
	}
}

// sendUnread sends req on every one of conns, giving up on a connection
// whose send buffer is full for a second (the server has stopped reading).
func sendUnread(t *testing.T, conns []net.Conn, req string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
			w := bufio.NewWriter(nc)
			_, _ = w.WriteString(req)
			_ = w.Flush()
		}()
	}
	wg.Wait()
}

// A client sending a command a byte at a time, slower than the sweep (so
// that its connection is parked between bytes), is answered exactly as
// memcached answers it.
func TestE2EByteAtATime(t *testing.T) {
	for _, srv := range []struct {
		name string
		p    *testproc.Proc
	}{{"shoal", startShoalProc(t)}, {"memcached", testproc.StartMemcached(t)}} {
		t.Run(srv.name, func(t *testing.T) {
			c := dialRaw(t, srv.p.Addr)
			if got := c.call("set slow 0 0 2\r\nok\r\n"); got != "STORED\r\n" {
				t.Fatalf("set: %q", got)
			}
			slow := dialRaw(t, srv.p.Addr)
			_ = slow.nc.SetDeadline(time.Now().Add(10 * time.Second))
			for _, b := range []byte("get slow\r\nversion\r\n") {
				if _, err := slow.nc.Write([]byte{b}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(220 * time.Millisecond) // past a sweep: parked between bytes
			}
			want := "VALUE slow 0 2\r\nok\r\nEND\r\nVERSION "
			got := make([]byte, len(want))
			if _, err := io.ReadFull(slow.r, got); err != nil || string(got) != want {
				t.Fatalf("a get and a version sent a byte at a time: %q %v, want %q", got, err, want)
			}
		})
	}
}
