// Package conformance is the node's conformance harness, one for its three
// protocols: a real TCP session to a server, which sends a case's bytes and
// reads every byte the server sends back until the protocol's own end
// marker (a version, mn or noop reply), a close or a silence; a runner that
// runs each case against a shoal node and a real memcached side by side and
// compares the bytes; and the one way the tests start memcached.
//
// What a protocol's replies hold that differs by nature (CAS uniques, the
// version string) is normalised by the case, which knows the protocol.
package conformance

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// Memcached runs Debian's memcached 1.6.18 on a free loopback port until
// the test ends, with its defaults (64 MB, 1 MB items) and args, and
// returns its address.
func Memcached(tb testing.TB, args ...string) string {
	tb.Helper()
	return testproc.StartMemcached(tb, args...).Addr
}

// Peer is a server the cases run against.
type Peer struct{ Name, Addr string }

// Session is a client connection to a server under test.
type Session struct {
	nc net.Conn
}

// Dial opens a session to addr.
func Dial(addr string) (*Session, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Session{nc: nc}, nil
}

// DialTB opens a session to addr that the test closes when it ends.
func DialTB(tb testing.TB, addr string) *Session {
	tb.Helper()
	s, err := Dial(addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close closes the session.
func (s *Session) Close() { _ = s.nc.Close() }

// Conn is the session's connection, for what the harness does not do.
func (s *Session) Conn() net.Conn { return s.nc }

// Send writes b, within 10 seconds.
func (s *Session) Send(b []byte) error {
	_ = s.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := s.nc.Write(b)
	return err
}

// Trickle writes b one byte per write.
func (s *Session) Trickle(b []byte) error {
	for i := range b {
		if err := s.Send(b[i : i+1]); err != nil {
			return err
		}
	}
	return nil
}

// Ending is how reading a reply ended.
type Ending int

const (
	Complete Ending = iota // done reported the reply whole
	Closed                 // the server closed the connection
	Silent                 // nothing completed it within the time given
	Failed                 // the connection failed otherwise
)

// Await reads until done reports that what has been received is the whole
// reply, the server closes the connection, or within passes. It returns
// every byte received; err says why a reply did not complete.
func (s *Session) Await(within time.Duration, done func(got []byte) bool) ([]byte, Ending, error) {
	_ = s.nc.SetReadDeadline(time.Now().Add(within))
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		if done != nil && done(got) {
			return got, Complete, nil
		}
		n, err := s.nc.Read(buf)
		got = append(got, buf[:n]...)
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			return got, Silent, err
		case errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET):
			return got, Closed, err
		default:
			return got, Failed, err
		}
	}
}

// AwaitQuiet reads until the server has sent nothing for quiet (Silent),
// or closes the connection, and returns every byte received.
func (s *Session) AwaitQuiet(quiet time.Duration) ([]byte, Ending, error) {
	var got []byte
	for {
		b, end, err := s.Await(quiet, func(b []byte) bool { return len(b) > 0 })
		got = append(got, b...)
		if end != Complete {
			return got, end, err
		}
	}
}

// A Case is one conformance case, run on a new session to each peer.
type Case interface {
	Name() string
	// Run runs the case's exchange on s and returns its replies, one per
	// step, normalised.
	Run(s *Session) ([]string, error)
	// Want is the replies expected, one per step; "" for a step whose
	// replies are checked only against the other peers'.
	Want() []string
}

// Same compares a step's replies; Exact is byte for byte.
type Same func(want, got string) bool

// Exact is byte-for-byte comparison.
func Exact(want, got string) bool { return want == got }

// Check runs every case, each as a subtest, against every peer (the peers
// of a case concurrently), and fails a case when a peer's reply to a step
// is not the one expected, or (compared by same, either way round) not the
// first peer's.
func Check[C Case](t *testing.T, peers []Peer, same Same, cases []C) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) { checkCase(t, peers, same, c) })
	}
}

func checkCase(t *testing.T, peers []Peer, same Same, c Case) {
	t.Helper()
	got := make([][]string, len(peers))
	errs := make([]error, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() {
			s, err := Dial(p.Addr)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			got[i], errs[i] = c.Run(s)
		})
	}
	wg.Wait()
	want := c.Want()
	for i, p := range peers {
		if errs[i] != nil {
			t.Errorf("%s: %v", p.Name, errs[i])
			continue
		}
		for j, w := range want {
			g := step(got[i], j)
			if w != "" && !same(w, g) {
				t.Errorf("%s, step %d, replied%s", p.Name, j+1, Diff(g, w))
			}
			if i > 0 && errs[0] == nil {
				if first := step(got[0], j); !same(first, g) && !same(g, first) {
					t.Errorf("step %d: %s and %s differ\n%s:\n%s\n%s:\n%s", j+1, peers[0].Name, p.Name,
						peers[0].Name, first, p.Name, g)
				}
			}
		}
	}
}

func step(replies []string, i int) string {
	if i < len(replies) {
		return replies[i]
	}
	return "(no reply)"
}

// Diff shows got beside want, whole when short, else from where they part.
func Diff(got, want string) string {
	if len(got)+len(want) < 600 {
		return fmt.Sprintf("\n  %q\nwant\n  %q", got, want)
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-40)
	return fmt.Sprintf(" %d bytes, want %d: at byte %d: got …%.120q…, want …%.120q…",
		len(got), len(want), i, got[lo:], want[lo:])
}
