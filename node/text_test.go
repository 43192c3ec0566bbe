package node_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// The text protocol is checked byte for byte against Debian's memcached
// 1.6.18: every case runs against a shoal node and a real memcached, and
// both must give the expected reply. Only what differs by nature is
// normalised (CAS uniques, the version string).

// Markers in a case's writes.
const (
	// barrier waits until the server has answered everything sent so far.
	barrier = "\x00barrier"
	// sleepMarker+duration pauses the client.
	sleepMarker = "\x00sleep "
)

func sleepFor(d time.Duration) string { return sleepMarker + d.String() }

// textCase is one exchange: the writes a client makes on a new connection,
// and every byte the server must send back (normalised, see normalise).
// A write may use {CAS1}, {CAS2}... for the Nth distinct CAS unique
// received so far; a barrier must come before it.
type textCase struct {
	name   string
	req    []string
	want   string
	closed bool // the server closes the connection after the replies
}

// textSession is a conformance session that knows when the server is done
// answering: a barrier sends "version" and waits for its reply, which it
// then removes.
type textSession struct {
	*conformance.Session
	out    []byte // replies received, without the barriers' own
	sent   strings.Builder
	closed bool
	err    error
}

func dialText(addr string) (*textSession, error) {
	s, err := conformance.Dial(addr)
	if err != nil {
		return nil, err
	}
	return &textSession{Session: s}, nil
}

func (s *textSession) write(b string) {
	s.sent.WriteString(b)
	s.writeRaw(b)
}

// writeRaw writes b without counting it as the client's.
func (s *textSession) writeRaw(b string) {
	if s.err != nil || s.closed {
		return
	}
	if err := s.Send([]byte(b)); err != nil {
		s.err = fmt.Errorf("writing: %w", err)
	}
}

// versionCommands counts the version commands in sent text.
func versionCommands(sent string) int {
	n := 0
	for len(sent) > 0 {
		line, rest, _ := strings.Cut(sent, "\n")
		if cmd, _, _ := strings.Cut(strings.TrimRight(line, "\r"), " "); cmd == "version" {
			n++
		}
		sent = rest
	}
	return n
}

// barrier waits (up to 10 s) for the replies to everything sent so far.
func (s *textSession) barrier() {
	if s.err != nil || s.closed {
		return
	}
	versions := versionCommands(s.sent.String()) + 1
	s.sent.Reset()
	s.writeRaw("version\r\n")
	got, end, err := s.Await(10*time.Second, func(got []byte) bool {
		norm := normalise(got)
		return strings.Count(norm, "VERSION <v>\r\n") >= versions && strings.HasSuffix(norm, "VERSION <v>\r\n")
	})
	switch {
	case end == conformance.Complete:
		got = got[:bytes.LastIndex(got, []byte("VERSION "))]
	case errors.Is(err, io.EOF):
		s.closed = true
	default:
		s.err = fmt.Errorf("waiting for replies: %w (got %q)", err, got)
	}
	s.out = append(s.out, got...)
}

// readToEOF reads until the server closes the connection (up to d).
func (s *textSession) readToEOF(d time.Duration) {
	got, _, err := s.Await(d, nil)
	s.out = append(s.out, got...)
	s.closed = errors.Is(err, io.EOF)
}

var casPlaceholder = regexp.MustCompile(`\{CAS(\d+)\}`)

func (s *textSession) fillCAS(w string) string {
	cas := casValues(s.out)
	return casPlaceholder.ReplaceAllStringFunc(w, func(m string) string {
		i, _ := strconv.Atoi(m[4 : len(m)-1])
		if i < 1 || i > len(cas) {
			s.err = fmt.Errorf("%s: only %d CAS uniques received", m, len(cas))
			return m
		}
		return cas[i-1]
	})
}

func (c textCase) Name() string { return c.name }

// Want is the one reply expected, with a note when the server is to close
// the connection after it.
func (c textCase) Want() []string { return []string{c.want + closedNote(c.closed)} }

func closedNote(closed bool) string {
	if closed {
		return "(closed)"
	}
	return ""
}

// Run makes c's writes on s and returns the normalised replies, noting
// whether the server closed the connection.
func (c textCase) Run(cs *conformance.Session) ([]string, error) {
	s := &textSession{Session: cs}
	// Each case starts from an empty cache. memcached keeps what is stored
	// after a flush_all, even within the same second.
	s.write("flush_all noreply\r\n")
	for i, w := range c.req {
		switch {
		case w == barrier:
			s.barrier()
		case strings.HasPrefix(w, sleepMarker):
			d, _ := time.ParseDuration(strings.TrimPrefix(w, sleepMarker))
			time.Sleep(d)
		default:
			s.write(s.fillCAS(w))
			if i+1 < len(c.req) {
				// Give the server a chance to read this write on its own.
				time.Sleep(time.Millisecond)
			}
		}
	}
	if c.closed {
		s.readToEOF(3 * time.Second)
	} else {
		s.barrier()
	}
	return []string{normalise(s.out) + closedNote(s.closed)}, s.err
}

// replyLines walks a reply stream: fn gets each line (without "\r\n") and,
// for a VALUE line, the data block after it. A trailing partial line is
// passed with complete=false.
func replyLines(b []byte, fn func(line, data []byte, complete bool)) {
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			fn(b, nil, false)
			return
		}
		line := b[:i]
		b = b[i+2:]
		var data []byte
		if f := strings.Fields(string(line)); len(f) >= 4 && f[0] == "VALUE" {
			if n, err := strconv.Atoi(f[3]); err == nil && n >= 0 && n+2 <= len(b) {
				data, b = b[:n+2], b[n+2:]
			}
		}
		fn(line, data, true)
	}
}

// casValues lists the distinct CAS uniques of VALUE lines, in order.
func casValues(b []byte) []string {
	var out []string
	seen := map[string]bool{}
	replyLines(b, func(line, _ []byte, complete bool) {
		if f := strings.Fields(string(line)); complete && len(f) == 5 && f[0] == "VALUE" && !seen[f[4]] {
			seen[f[4]] = true
			out = append(out, f[4])
		}
	})
	return out
}

var versionLine = regexp.MustCompile(`^VERSION [0-9]+\.[0-9]+\.[0-9]+$`)

// normalise rewrites what legitimately differs between servers: the Nth
// distinct CAS unique of VALUE lines becomes cN (a zero stays 0, so a
// missing CAS shows), and a well-formed version string becomes <v>.
func normalise(b []byte) string {
	var out strings.Builder
	ordinal := map[string]int{}
	replyLines(b, func(line, data []byte, complete bool) {
		s := string(line)
		if f := strings.Split(s, " "); len(f) == 5 && f[0] == "VALUE" && f[4] != "0" {
			if ordinal[f[4]] == 0 {
				ordinal[f[4]] = len(ordinal) + 1
			}
			f[4] = "c" + strconv.Itoa(ordinal[f[4]])
			s = strings.Join(f, " ")
		} else if versionLine.MatchString(s) {
			s = "VERSION <v>"
		}
		out.WriteString(s)
		if complete {
			out.WriteString("\r\n")
		}
		out.Write(data)
	})
	return out.String()
}

// peer is a server a case runs against.
type peer struct{ name, addr string }

// checkCases runs every case against every peer and reports any peer whose
// reply is not the expected one.
func checkCases[C conformance.Case](t *testing.T, peers []peer, cases []C) {
	t.Helper()
	ps := make([]conformance.Peer, len(peers))
	for i, p := range peers {
		ps[i] = conformance.Peer{Name: p.name, Addr: p.addr}
	}
	conformance.Check(t, ps, conformance.Exact, cases)
}

func bytewise(s string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i : i+1]
	}
	return out
}

func TestTextProtocolMatchesMemcached(t *testing.T) {
	peers := []peer{
		{"shoal", node.StartTestNode(t)},
		{"memcached", conformance.Memcached(t)},
	}
	checkCases(t, peers, textCases(time.Now()))
}

func textCases(now time.Time) []textCase {
	k250 := strings.Repeat("k", 250)
	k251 := strings.Repeat("k", 251)
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }

	// 30 keys, so that a get spans memcached's token batches; the even
	// ones are stored.
	var keys30, set30, hits30, gets30 strings.Builder
	for i := range 30 {
		k := "key" + strconv.Itoa(i)
		keys30.WriteString(" " + k)
		if i%2 == 0 {
			v := strings.Repeat("v", i)
			fmt.Fprintf(&set30, "set %s %d 0 %d noreply\r\n%s\r\n", k, i, len(v), v)
			fmt.Fprintf(&hits30, "VALUE %s %d %d\r\n%s\r\n", k, i, len(v), v)
			fmt.Fprintf(&gets30, "VALUE %s %d %d c%d\r\n%s\r\n", k, i, len(v), i/2+1, v)
		}
	}

	// 100 commands in one write.
	var pipeReq, pipeWant strings.Builder
	for i := range 25 {
		v := strconv.Itoa(i * i)
		fmt.Fprintf(&pipeReq, "set p%d %d 0 %d\r\n%s\r\nget p%d\r\nincr p%d 1\r\ndelete p%d noreply\r\n", i, i, len(v), v, i, i, i)
		fmt.Fprintf(&pipeWant, "STORED\r\nVALUE p%d %d %d\r\n%s\r\nEND\r\n%d\r\n", i, i, len(v), v, i*i+1)
	}
	pipeReq.WriteString("get p0 p24\r\n")
	pipeWant.WriteString("END\r\n")

	big := strings.Repeat("0123456789", 10_000) // 100 KB, sent in ten writes
	var bigReq []string
	bigReq = append(bigReq, "set big 1 0 100000\r\n")
	for i := 0; i < len(big); i += 10_000 {
		bigReq = append(bigReq, big[i:i+10_000])
	}
	bigReq = append(bigReq, "\r\nget big\r\n")

	return []textCase{
		// Storage and retrieval.
		{name: "set get", req: []string{"set foo 5 0 3\r\nbar\r\nget foo\r\n"},
			want: "STORED\r\nVALUE foo 5 3\r\nbar\r\nEND\r\n"},
		{name: "get miss", req: []string{"get nothing\r\n"}, want: "END\r\n"},
		{name: "empty value", req: []string{"set e 0 0 0\r\n\r\nget e\r\n"},
			want: "STORED\r\nVALUE e 0 0\r\n\r\nEND\r\n"},
		{name: "binary value with CRLF inside", req: []string{"set b 0 0 8\r\na\r\nb\x00c\r\n\r\nget b\r\n"},
			want: "STORED\r\nVALUE b 0 8\r\na\r\nb\x00c\r\n\r\nEND\r\n"},
		{name: "largest flags", req: []string{"set f 4294967295 0 1\r\nx\r\nget f\r\n"},
			want: "STORED\r\nVALUE f 4294967295 1\r\nx\r\nEND\r\n"},
		{name: "overwrite", req: []string{"set o 1 0 3\r\none\r\nset o 2 0 3\r\ntwo\r\nget o\r\n"},
			want: "STORED\r\nSTORED\r\nVALUE o 2 3\r\ntwo\r\nEND\r\n"},
		{name: "get many keys in order with repeats",
			req:  []string{"set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a x b y a\r\n"},
			want: "STORED\r\nSTORED\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nVALUE a 0 1\r\n1\r\nEND\r\n"},
		{name: "get 30 keys across token batches", req: []string{set30.String(), "get" + keys30.String() + "\r\n"},
			want: hits30.String() + "END\r\n"},
		{name: "gets 30 keys", req: []string{set30.String(), "gets" + keys30.String() + "\r\n"},
			want: gets30.String() + "END\r\n"},
		{name: "gets unique changes on every change only",
			req:  []string{"set g 0 0 1\r\nx\r\ngets g nothing\r\ngets g\r\nset g 0 0 1\r\ny\r\ngets g\r\ntouch g 100\r\ngets g\r\n"},
			want: "STORED\r\nVALUE g 0 1 c1\r\nx\r\nEND\r\nVALUE g 0 1 c1\r\nx\r\nEND\r\nSTORED\r\nVALUE g 0 1 c2\r\ny\r\nEND\r\nTOUCHED\r\nVALUE g 0 1 c2\r\ny\r\nEND\r\n"},
		{name: "gat and gats", req: []string{"set t 3 0 2\r\nhi\r\ngat 100 t nothing t\r\ngats 0 t\r\n"},
			want: "STORED\r\nVALUE t 3 2\r\nhi\r\nVALUE t 3 2\r\nhi\r\nEND\r\nVALUE t 3 2 c1\r\nhi\r\nEND\r\n"},
		{name: "gat 30 keys", req: []string{set30.String(), "gat 100" + keys30.String() + "\r\n"},
			want: hits30.String() + "END\r\n"},
		{name: "retrieval errors",
			req: []string{"get\r\ngets\r\ngat\r\ngats\r\ngat 10\r\ngat x a\r\ngats 1.5 a\r\n"},
			// memcached answers a gat without keys with an empty result.
			want: "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\nCLIENT_ERROR invalid exptime argument\r\n"},
		{name: "add", req: []string{"add a 0 0 1\r\nx\r\nadd a 0 0 1\r\ny\r\nget a\r\n"},
			want: "STORED\r\nNOT_STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"},
		{name: "replace", req: []string{"replace r 0 0 1\r\nx\r\nget r\r\nset r 0 0 1\r\nx\r\nreplace r 4 0 1\r\ny\r\nget r\r\n"},
			want: "NOT_STORED\r\nEND\r\nSTORED\r\nSTORED\r\nVALUE r 4 1\r\ny\r\nEND\r\n"},
		{name: "append and prepend keep flags",
			req:  []string{"append a 0 0 1\r\nx\r\nprepend a 0 0 1\r\nx\r\nset a 5 0 2\r\nbb\r\nappend a 9 0 1\r\nc\r\nprepend a 7 100 1\r\na\r\nget a\r\n"},
			want: "NOT_STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nVALUE a 5 4\r\nabbc\r\nEND\r\n"},
		{name: "append beyond the item size limit",
			req:  []string{"set a 0 0 1048000\r\n" + strings.Repeat("a", 1048000) + "\r\nappend a 0 0 1000\r\n" + strings.Repeat("b", 1000) + "\r\nprepend a 0 0 1000\r\n" + strings.Repeat("b", 1000) + "\r\nget nothing\r\n"},
			want: "STORED\r\nNOT_STORED\r\nNOT_STORED\r\nEND\r\n"},
		{name: "storage noreply",
			req:  []string{"set n 0 0 1 noreply\r\na\r\nadd n 0 0 1 noreply\r\nb\r\nadd m 0 0 1 noreply\r\nm\r\nreplace n 0 0 1 noreply\r\nc\r\nreplace z 0 0 1 noreply\r\nz\r\nappend n 0 0 1 noreply\r\nd\r\nprepend n 0 0 1 noreply\r\ne\r\nget n m z\r\n"},
			want: "VALUE n 0 3\r\necd\r\nVALUE m 0 1\r\nm\r\nEND\r\n"},
		{name: "cas",
			req: []string{"set c 0 0 1\r\nx\r\ngets c\r\n", barrier,
				"cas c 3 0 1 {CAS1}\r\ny\r\ncas c 0 0 1 {CAS1}\r\nz\r\ncas nothing 0 0 1 {CAS1}\r\nz\r\ngets c\r\n"},
			want: "STORED\r\nVALUE c 0 1 c1\r\nx\r\nEND\r\nSTORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE c 3 1 c2\r\ny\r\nEND\r\n"},
		{name: "cas noreply",
			req:  []string{"set c 0 0 1\r\nx\r\ngets c\r\n", barrier, "cas c 0 0 1 {CAS1} noreply\r\ny\r\ncas c 0 0 1 {CAS1} noreply\r\nz\r\nget c\r\n"},
			want: "STORED\r\nVALUE c 0 1 c1\r\nx\r\nEND\r\nVALUE c 0 1\r\ny\r\nEND\r\n"},
		{name: "cas errors",
			req:  []string{"cas c 0 0 1\r\ncas c 0 0 1 x\r\ncas c 0 0 1 -1\r\ncas c 0 0 1 2 3 4\r\ncas c 0 0 1 x noreply\r\n"},
			want: "ERROR\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n"},

		// Malformed storage commands.
		{name: "storage token counts", req: []string{"set\r\nset a\r\nset a 0 0\r\nset a 0 0 1 noreply x\r\nappend a 0\r\n"},
			want: "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n"},
		{name: "the data line after ERROR is a command", req: []string{"set a 0 0\r\nx\r\nget a\r\n"},
			want: "ERROR\r\nERROR\r\nEND\r\n"},
		{name: "storage bad numbers",
			req: []string{"set a x 0 1\r\nset a -1 0 1\r\nset a 18446744073709551616 0 1\r\nset a 0 x 1\r\nset a 0 1.5 1\r\n" +
				"set a 0 0 x\r\nset a 0 0 -1\r\nset a 0 0 2147483646\r\nset a 0 0 2147483647\r\nget a\r\n"},
			want: strings.Repeat("CLIENT_ERROR bad command line format\r\n", 9) + "END\r\n"},
		{name: "storage bad numbers noreply", req: []string{"set a 0 0 x noreply\r\nadd a x 0 1 noreply\r\n"}, want: ""},
		{name: "storage numbers read as strtoul does",
			req:  []string{"set a +1 -0 +1\r\nx\r\nget a\r\nset b 4294967296 0 1\r\nx\r\nget b\r\nset c 18446744073709551615 0 1\r\nx\r\nget c\r\nset d 0 0 4294967297\r\nx\r\nget d\r\n"},
			want: "STORED\r\nVALUE a 1 1\r\nx\r\nEND\r\nSTORED\r\nVALUE b 0 1\r\nx\r\nEND\r\nSTORED\r\nVALUE c 4294967295 1\r\nx\r\nEND\r\nSTORED\r\nVALUE d 0 1\r\nx\r\nEND\r\n"},
		{name: "bad data chunk", req: []string{"set a 0 0 1\r\nxy\r\nget a\r\n"},
			want: "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n"},
		{name: "bad data chunk keeps the old value", req: []string{"set a 0 0 3\r\nold\r\nset a 0 0 1\r\nxyz\r\nappend a 0 0 1\r\nxy\r\nget a\r\n"},
			want: "STORED\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nVALUE a 0 3\r\nold\r\nEND\r\n"},
		{name: "bad data chunk noreply", req: []string{"set a 0 0 1 noreply\r\nxy\r\n"}, want: "ERROR\r\n"},

		// Item size.
		{name: "too large value is swallowed",
			req:  []string{"set big 0 0 1048577\r\n", strings.Repeat("x", 1048577) + "\r\n", "get big\r\n"},
			want: "SERVER_ERROR object too large for cache\r\nEND\r\n"},
		{name: "too large value noreply",
			req:  []string{"set big 0 0 2000000 noreply\r\n", strings.Repeat("x", 2000000) + "\r\n", "get big\r\n"},
			want: "END\r\n"},
		{name: "too large set removes the old value",
			req:  []string{"set big 0 0 1\r\nx\r\nset big 0 0 1048576\r\n", strings.Repeat("x", 1048576) + "\r\n", "get big\r\n"},
			want: "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n"},
		{name: "value at the -I boundary",
			req:  []string{"set big 0 0 1048514\r\n" + strings.Repeat("x", 1048514) + "\r\nset big 0 0 1048515\r\n" + strings.Repeat("x", 1048515) + "\r\n"},
			want: "STORED\r\nSERVER_ERROR object too large for cache\r\n"},
		{name: "100 KB value over ten writes", req: bigReq,
			want: "STORED\r\nVALUE big 1 100000\r\n" + big + "\r\nEND\r\n"},

		// Keys.
		{name: "250-byte key", req: []string{"set " + k250 + " 0 0 1\r\nx\r\nget " + k250 + "\r\n"},
			want: "STORED\r\nVALUE " + k250 + " 0 1\r\nx\r\nEND\r\n"},
		{name: "251-byte key in a set", req: []string{"set " + k251 + " 0 0 1\r\nx\r\n"},
			want: "CLIENT_ERROR bad command line format\r\nERROR\r\n"},
		{name: "251-byte key in a set noreply", req: []string{"set " + k251 + " 0 0 1 noreply\r\nx\r\n"},
			want: "ERROR\r\n"},
		{name: "251-byte key in a get", req: []string{"get " + k251 + "\r\n"},
			want: "CLIENT_ERROR bad command line format\r\n"},
		{name: "251-byte key among hits",
			req:  []string{"set a 0 0 1\r\nx\r\n", barrier, "get a " + k251 + " a\r\n", barrier, "gets a a a a a a a a a a a a a a a a a a a a a a a a a a " + k251 + "\r\n", barrier, "gat 0 a " + k251 + "\r\n"},
			want: "STORED\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n"},
		{name: "251-byte key elsewhere", req: []string{"delete " + k251 + "\r\n", barrier, "incr " + k251 + " 1\r\n", barrier,
			"decr " + k251 + " 1\r\n", barrier, "touch " + k251 + " 1\r\n", barrier, "delete " + k251 + " noreply\r\nincr " + k251 + " 1 noreply\r\ntouch " + k251 + " 1 noreply\r\n"},
			want: strings.Repeat("CLIENT_ERROR bad command line format\r\n", 4)},
		{name: "control bytes in keys", req: []string{"set a\tb 0 0 1\r\nx\r\nget a\tb a\r\n"},
			want: "STORED\r\nVALUE a\tb 0 1\r\nx\r\nEND\r\n"},

		// incr and decr.
		{name: "incr decr", req: []string{"set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 3\r\ndecr n 100\r\nincr n 18446744073709551615\r\nincr n 1\r\nget n\r\n"},
			want: "STORED\r\n15\r\n12\r\n0\r\n18446744073709551615\r\n0\r\nVALUE n 0 20\r\n0                   \r\nEND\r\n"},
		{name: "decr pads in place with spaces",
			req:  []string{"set n 0 0 4\r\n1000\r\ndecr n 1\r\nget n\r\nincr n 1\r\nget n\r\ndecr n 999999\r\nget n\r\nincr n 7\r\ngets n\r\n"},
			want: "STORED\r\n999\r\nVALUE n 0 4\r\n999 \r\nEND\r\n1000\r\nVALUE n 0 4\r\n1000\r\nEND\r\n0\r\nVALUE n 0 4\r\n0   \r\nEND\r\n7\r\nVALUE n 0 4 c1\r\n7   \r\nEND\r\n"},
		{name: "incr grows the value", req: []string{"set n 3 0 2\r\n99\r\nincr n 1\r\nget n\r\n"},
			want: "STORED\r\n100\r\nVALUE n 3 3\r\n100\r\nEND\r\n"},
		{name: "incr wraps at 64 bits", req: []string{"set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\nget n\r\n"},
			want: "STORED\r\n1\r\nVALUE n 0 20\r\n1" + strings.Repeat(" ", 19) + "\r\nEND\r\n"},
		{name: "incr decr errors",
			req: []string{"incr nothing 1\r\ndecr nothing 1\r\nset s 0 0 2\r\nab\r\nincr s 1\r\ndecr s 1\r\nset e 0 0 0\r\n\r\nincr e 1\r\n" +
				"set m 0 0 2\r\n-1\r\nincr m 1\r\nset h 0 0 20\r\n99999999999999999999\r\nincr h 1\r\nset x 0 0 3\r\n12a\r\nincr x 1\r\n" +
				"incr s x\r\nincr s -1\r\nincr s 18446744073709551616\r\nincr s 1.0\r\nincr\r\nincr s\r\nincr s 1 2 3\r\ndecr s\r\n"},
			want: "NOT_FOUND\r\nNOT_FOUND\r\nSTORED\r\n" +
				strings.Repeat("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", 2) + "STORED\r\n" +
				"CLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\n" +
				"CLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\n" +
				"CLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\n" +
				"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n" +
				strings.Repeat("CLIENT_ERROR invalid numeric delta argument\r\n", 4) + strings.Repeat("ERROR\r\n", 4)},
		{name: "incr decr noreply", req: []string{"set n 0 0 1\r\n5\r\nincr n 10 noreply\r\ndecr n 1 noreply\r\nincr nothing 1 noreply\r\nincr n x noreply\r\nget n\r\n"},
			want: "STORED\r\nVALUE n 0 2\r\n14\r\nEND\r\n"},
		{name: "incr values read as strtoull does",
			req: []string{"set a 0 0 3\r\n 12\r\nincr a 1\r\nset b 0 0 3\r\n12 \r\nincr b 1\r\nset c 0 0 3\r\n1 2\r\nincr c 1\r\n" +
				"set d 0 0 2\r\n+1\r\nincr d 1\r\nset e 0 0 22\r\n0000000000000000000001\r\nincr e 1\r\nset f 0 0 3\r\n1\t \r\nincr f 1\r\nget c e\r\n"},
			want: "STORED\r\n13\r\nSTORED\r\n13\r\nSTORED\r\n2\r\nSTORED\r\n2\r\nSTORED\r\n2\r\nSTORED\r\n2\r\n" +
				"VALUE c 0 3\r\n2  \r\nVALUE e 0 22\r\n2" + strings.Repeat(" ", 21) + "\r\nEND\r\n"},
		{name: "incr deltas read as strtoull does", req: []string{"set n 0 0 2\r\n10\r\nincr n +5\r\ndecr n -0\r\nincr n 000000000000000000000001\r\n"},
			want: "STORED\r\n15\r\n15\r\n16\r\n"},

		// touch and delete.
		{name: "touch", req: []string{"set t 0 0 1\r\nx\r\ntouch t 100\r\ntouch nothing 0\r\ntouch t 0 noreply\r\nget t\r\n"},
			want: "STORED\r\nTOUCHED\r\nNOT_FOUND\r\nVALUE t 0 1\r\nx\r\nEND\r\n"},
		{name: "touch errors", req: []string{"touch\r\ntouch t\r\ntouch t x\r\ntouch t 0 1 2\r\ntouch t x noreply\r\n"},
			want: "ERROR\r\nERROR\r\nCLIENT_ERROR invalid exptime argument\r\nERROR\r\n"},
		{name: "delete", req: []string{"set d 0 0 1\r\nx\r\ndelete d\r\ndelete d\r\ndelete d 0\r\nset d 0 0 1\r\nx\r\ndelete d noreply\r\nget d\r\nset d 0 0 1\r\nx\r\ndelete d 0 noreply\r\nget d\r\n"},
			want: "STORED\r\nDELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\nSTORED\r\nEND\r\nSTORED\r\nEND\r\n"},
		{name: "delete errors", req: []string{"set d 0 0 1\r\nx\r\ndelete d 1\r\ndelete d x y\r\ndelete d 0 x\r\ndelete d 1 noreply\r\ndelete\r\ndelete a b c d\r\nget d\r\n"},
			want: "STORED\r\n" + strings.Repeat("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n", 3) +
				"ERROR\r\nERROR\r\nVALUE d 0 1\r\nx\r\nEND\r\n"},

		// Expiry.
		{name: "exptime negative absolute and relative",
			req: []string{"set neg 0 -1 1\r\nx\r\nset rel 0 2592000 1\r\nx\r\nset abs30 0 2592001 1\r\nx\r\n" +
				"set future 0 " + unix(100*time.Second) + " 1\r\nx\r\nset past 0 " + unix(-100*time.Second) + " 1\r\nx\r\nget neg rel abs30 future past\r\n"},
			want: "STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nVALUE rel 0 1\r\nx\r\nVALUE future 0 1\r\nx\r\nEND\r\n"},
		{name: "touch and gat with negative exptime expire",
			req:  []string{"set a 0 0 1\r\nx\r\ntouch a -1\r\nget a\r\nset b 0 0 1\r\nx\r\ngat -1 b\r\nget b\r\n"},
			want: "STORED\r\nTOUCHED\r\nEND\r\nSTORED\r\nVALUE b 0 1\r\nx\r\nEND\r\nEND\r\n"},
		{name: "relative exptime passes",
			req: []string{"set ttl 0 2 1\r\nx\r\nset forever 0 0 1\r\nx\r\nset touched 0 2 1\r\nx\r\ntouch touched 100\r\nset gat 0 2 1\r\nx\r\ngat 100 gat\r\nget ttl forever touched gat\r\n",
				barrier, sleepFor(2500 * time.Millisecond), "get ttl forever touched gat\r\n"},
			want: "STORED\r\nSTORED\r\nSTORED\r\nTOUCHED\r\nSTORED\r\nVALUE gat 0 1\r\nx\r\nEND\r\n" +
				"VALUE ttl 0 1\r\nx\r\nVALUE forever 0 1\r\nx\r\nVALUE touched 0 1\r\nx\r\nVALUE gat 0 1\r\nx\r\nEND\r\n" +
				"VALUE forever 0 1\r\nx\r\nVALUE touched 0 1\r\nx\r\nVALUE gat 0 1\r\nx\r\nEND\r\n"},

		// flush_all.
		{name: "flush_all", req: []string{"set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\nset a 0 0 1\r\ny\r\nget a\r\nflush_all 0\r\nflush_all noreply\r\nflush_all 0 noreply\r\nget a\r\n"},
			want: "STORED\r\nOK\r\nEND\r\nSTORED\r\nVALUE a 0 1\r\ny\r\nEND\r\nOK\r\nEND\r\n"},
		{name: "flush_all errors", req: []string{"flush_all x\r\nflush_all -1\r\nflush_all 0 x\r\nflush_all 1 2 3\r\nflush_all x noreply\r\n"},
			want: "CLIENT_ERROR invalid exptime argument\r\nOK\r\nOK\r\nERROR\r\n"},
		{name: "flush_all with a delay",
			req:  []string{"set a 0 0 1\r\nx\r\nflush_all 2\r\nget a\r\n", barrier, sleepFor(2500 * time.Millisecond), "get a\r\n"},
			want: "STORED\r\nOK\r\nVALUE a 0 1\r\nx\r\nEND\r\nEND\r\n"},
		{name: "flush_all 1 flushes at once", req: []string{"set a 0 0 1\r\nx\r\nflush_all 1\r\nget a\r\n"},
			want: "STORED\r\nOK\r\nEND\r\n"},

		// Other commands.
		{name: "version", req: []string{"version\r\nversion extra\r\n"}, want: "VERSION <v>\r\nVERSION <v>\r\n"},
		{name: "verbosity", req: []string{"verbosity 1\r\nverbosity 0 noreply\r\nverbosity\r\nverbosity x\r\nverbosity 1 2 3\r\nverbosity 0\r\n"},
			want: "OK\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nERROR\r\nOK\r\n"},
		{name: "quit", req: []string{"set q 0 0 1\r\nx\r\nquit\r\nget q\r\n"}, want: "STORED\r\n", closed: true},
		{name: "quit with arguments", req: []string{"quit now\r\n"}, want: "", closed: true},
		{name: "stats subcommands", req: []string{"stats sizes\r\nstats reset\r\nstats nonsense\r\n"},
			want: "STAT sizes_status disabled\r\nEND\r\nRESET\r\nERROR\r\n"},
		{name: "cache_memlimit",
			req: []string{"cache_memlimit 100\r\ncache_memlimit 64 noreply\r\ncache_memlimit 7\r\ncache_memlimit 2000000000\r\n" +
				"cache_memlimit\r\ncache_memlimit x\r\ncache_memlimit 64 1 2\r\ncache_memlimit 64\r\n"},
			want: "OK\r\nMEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\nMEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n" +
				"ERROR\r\nERROR\r\nERROR\r\nOK\r\n"},
		{name: "shutdown is refused", req: []string{"shutdown\r\nshutdown graceful\r\nset s 0 0 1\r\nx\r\n"},
			want: "ERROR: shutdown not enabled\r\nERROR: shutdown not enabled\r\nSTORED\r\n"},
		{name: "unknown commands", req: []string{"foo\r\nGET a\r\n\r\nx\r\n   \r\nget_a\r\nsets a 0 0 1\r\n"},
			want: strings.Repeat("ERROR\r\n", 7)},

		// Cross-protocol safety: an HTTP request line closes the connection
		// with no reply, so a web page can never talk to the cache.
		{name: "HTTP GET closes", req: []string{"GET / HTTP/1.1\r\nHost: cache\r\n\r\n"}, closed: true},
		{name: "HTTP PUT closes", req: []string{"PUT /x HTTP/1.0\r\n"}, closed: true},
		{name: "HTTP DELETE without a path closes", req: []string{"DELETE HTTP/1.1\r\n"}, closed: true},
		{name: "a one-letter command is no HTTP method", req: []string{"G / HTTP/1.0\r\n"}, want: "ERROR\r\n"},
		{name: "HTTP after a command closes", req: []string{"set h 0 0 1\r\nx\r\n", barrier, "POST /api HTTP/1.1\r\nget h\r\n"},
			want: "STORED\r\n", closed: true},
		{name: "a get of keys named like HTTP is a get", req: []string{"get / HTTP/1.0\r\n"}, want: "END\r\n"},
		{name: "HTTP/ only counts last", req: []string{"FOO HTTP/1.1 x\r\n"}, want: "ERROR\r\n"},

		// Framing.
		{name: "bare newlines end lines", req: []string{"set a 0 0 1\nx\r\nget a\n"},
			want: "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"},
		{name: "runs of spaces separate tokens", req: []string{"  set   a  2  0  1  \r\nx\r\n  get   a   \r\n"},
			want: "STORED\r\nVALUE a 2 1\r\nx\r\nEND\r\n"},
		{name: "pipelined commands in one write", req: []string{pipeReq.String()}, want: pipeWant.String()},
		{name: "one command byte by byte", req: bytewise("set bb 0 0 5\r\nhello\r\nget bb\r\ndelete bb\r\nincr nothing 1\r\n"),
			want: "STORED\r\nVALUE bb 0 5\r\nhello\r\nEND\r\nDELETED\r\nNOT_FOUND\r\n"},
		{name: "split at awkward places", req: []string{"se", "t a 0 0 5\r", "\nhel", "lo\r", "\n", "get a", "\r", "\n"},
			want: "STORED\r\nVALUE a 0 5\r\nhello\r\nEND\r\n"},
		{name: "long get line", req: []string{"set k 0 0 1\r\nx\r\nget" + strings.Repeat(" k", 1500) + "\r\n"},
			want: "STORED\r\n" + strings.Repeat("VALUE k 0 1\r\nx\r\n", 1500) + "END\r\n"},
		{name: "long gat line", req: []string{"set k 0 0 1\r\nx\r\ngat 0" + strings.Repeat(" k", 1500) + "\r\n"},
			want: "STORED\r\n" + strings.Repeat("VALUE k 0 1\r\nx\r\n", 1500) + "END\r\n"},
		{name: "long line without newline closes", req: []string{strings.Repeat("x", 3000)}, closed: true},
		{name: "long unknown line with its newline", req: []string{strings.Repeat("x", 2100) + "\r\nget nothing\r\n"},
			want: "ERROR\r\nEND\r\n"},
		{name: "long key in a set line with its newline", req: []string{"set " + strings.Repeat("k", 3000) + " 0 0 1\r\n"},
			want: "CLIENT_ERROR bad command line format\r\n"},
	}
}

// do sends req and returns the raw replies to it.
func (s *textSession) do(t *testing.T, req string) string {
	t.Helper()
	before := len(s.out)
	s.write(req)
	s.barrier()
	if s.err != nil || s.closed {
		t.Fatalf("%.60q: connection failed (closed %v): %v", req, s.closed, s.err)
	}
	return string(s.out[before:])
}

// parseStats reads a stats reply: "STAT <name> <value>\r\n" lines, in
// order, then "END\r\n".
func parseStats(t *testing.T, who, reply string) (names []string, values map[string]string) {
	t.Helper()
	body, ok := strings.CutSuffix(reply, "END\r\n")
	if !ok {
		t.Fatalf("%s: stats reply does not end in END: %.200q", who, reply)
	}
	values = map[string]string{}
	for _, line := range strings.SplitAfter(body, "\r\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(strings.TrimSuffix(line, "\r\n"), " ", 3)
		if len(f) != 3 || f[0] != "STAT" || f[1] == "" || !strings.HasSuffix(line, "\r\n") {
			t.Fatalf("%s: malformed stats line %q", who, line)
		}
		if _, dup := values[f[1]]; dup {
			t.Errorf("%s: stat %s repeated", who, f[1])
		}
		names = append(names, f[1])
		values[f[1]] = f[2]
	}
	return names, values
}

// statsPeer is a fresh server and a connection to it.
type statsPeer struct {
	name string
	s    *textSession
}

func freshStatsPeers(t *testing.T) []statsPeer {
	var peers []statsPeer
	for _, p := range []peer{{"shoal", node.StartTestNode(t)}, {"memcached", conformance.Memcached(t)}} {
		s, err := dialText(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		peers = append(peers, statsPeer{p.name, s})
	}
	return peers
}

var uintValue = regexp.MustCompile(`^[0-9]+$`)

func TestTextStatsMatchMemcached(t *testing.T) {
	peers := freshStatsPeers(t)
	// What each counter must read after the workload below.
	want := map[string]string{
		"cmd_get": "7", "get_hits": "3", "get_misses": "4", "get_expired": "1", "get_flushed": "1",
		"cmd_set": "8", "cas_misses": "1", "cas_badval": "1", "cas_hits": "1",
		"delete_hits": "2", "delete_misses": "1", "incr_hits": "1", "incr_misses": "1",
		"decr_hits": "1", "decr_misses": "1", "cmd_touch": "4", "touch_hits": "2", "touch_misses": "2",
		"cmd_flush": "1", "curr_connections": "1", "evictions": "0", "limit_maxbytes": "67108864",
		"curr_items": "1", "total_items": "6",
	}
	for _, p := range peers {
		s := p.s
		steps := []struct{ req, reply string }{
			{"set a 0 0 1\r\nx\r\nget a\r\nget nothing\r\ngets a nothing\r\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nEND\r\n"},
			{"delete a\r\ndelete a\r\nincr n 1\r\nset n 0 0 1\r\n5\r\nincr n 2\r\ndecr n 1\r\ndecr nothing 1\r\n",
				"DELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\nSTORED\r\n7\r\n6\r\nNOT_FOUND\r\n"},
			{"touch n 0\r\ntouch nothing 0\r\ngat 0 n nothing\r\ncas nothing 0 0 1 1\r\nx\r\n",
				"TOUCHED\r\nNOT_FOUND\r\nVALUE n 0 1\r\n6\r\nEND\r\nNOT_FOUND\r\n"},
		}
		for _, st := range steps {
			got := s.do(t, st.req)
			if st.reply != "" && !strings.HasPrefix(got, st.reply[:min(len(st.reply), 8)]) {
				t.Fatalf("%s: %q replied %q", p.name, st.req, got)
			}
		}
		cas := casValues([]byte(s.do(t, "gets n\r\n")))
		if len(cas) != 1 {
			t.Fatalf("%s: no CAS for n", p.name)
		}
		casN, _ := strconv.ParseUint(cas[0], 10, 64)
		got := s.do(t, fmt.Sprintf("cas n 0 0 1 %d\r\nx\r\ncas n 0 0 1 %d\r\ny\r\nset e 0 -1 1\r\nx\r\nget e\r\nset f 0 0 1\r\nx\r\ndelete n\r\nflush_all\r\nget f\r\nset g 0 0 1\r\nx\r\n", casN+1000, casN))
		if got != "EXISTS\r\nSTORED\r\nSTORED\r\nEND\r\nSTORED\r\nDELETED\r\nOK\r\nEND\r\nSTORED\r\n" {
			t.Fatalf("%s: cas and flush replied %q", p.name, got)
		}
	}
	stats := make([]map[string]string, len(peers))
	for i, p := range peers {
		_, stats[i] = parseStats(t, p.name, p.s.do(t, "stats\r\n"))
		for name, v := range want {
			if stats[i][name] != v {
				t.Errorf("%s: stat %s = %q, want %q", p.name, name, stats[i][name], v)
			}
		}
	}
	// Counters whose value this workload fixes, but not by hand above.
	for _, name := range []string{"curr_items", "total_items", "reclaimed", "expired_unfetched", "evicted_unfetched",
		"rejected_connections", "store_too_large", "store_no_memory"} {
		if stats[0][name] != stats[1][name] {
			t.Errorf("stat %s: shoal %q, memcached %q", name, stats[0][name], stats[1][name])
		}
	}

	// stats reset zeroes the counters, not the gauges.
	for i, p := range peers {
		if got := p.s.do(t, "stats reset\r\n"); got != "RESET\r\n" {
			t.Fatalf("%s: stats reset replied %q", p.name, got)
		}
		_, after := parseStats(t, p.name, p.s.do(t, "stats\r\n"))
		for _, name := range []string{"cmd_get", "get_hits", "get_misses", "get_expired", "get_flushed", "cmd_set",
			"cas_misses", "cas_badval", "cas_hits", "delete_hits", "delete_misses", "incr_hits", "incr_misses",
			"decr_hits", "decr_misses", "cmd_touch", "touch_hits", "touch_misses", "cmd_flush", "total_items", "evictions"} {
			if after[name] != "0" {
				t.Errorf("%s: after stats reset %s = %q, want 0", p.name, name, after[name])
			}
		}
		for _, name := range []string{"curr_items", "curr_connections", "limit_maxbytes"} {
			if after[name] != stats[i][name] {
				t.Errorf("%s: stats reset changed %s from %q to %q", p.name, name, stats[i][name], after[name])
			}
		}
	}
}

func TestTextStatsFields(t *testing.T) {
	peers := freshStatsPeers(t)
	// The fields issue 2 names; monitoring built for memcached reads them.
	required := []string{"pid", "uptime", "time", "version", "rusage_user", "rusage_system", "curr_connections",
		"total_connections", "cmd_get", "cmd_set", "cmd_touch", "get_hits", "get_misses", "get_expired",
		"delete_misses", "delete_hits", "incr_misses", "incr_hits", "decr_misses", "decr_hits", "cas_misses",
		"cas_hits", "cas_badval", "touch_hits", "touch_misses", "threads", "limit_maxbytes", "bytes",
		"curr_items", "total_items", "evictions", "reclaimed"}
	// shoal's additions: ElastiCache's discovery counters, total_malloced,
	// which memcached reports under stats slabs, shoal's own version, and
	// the allow list's refusals (--allow).
	extensions := map[string]bool{"cmd_config_get": true, "curr_config": true, "total_malloced": true,
		"shoal_version": true, "allow_refused": true}
	names := make([][]string, len(peers))
	for i, p := range peers {
		p.s.do(t, "set a 0 0 5\r\nhello\r\n")
		var values map[string]string
		names[i], values = parseStats(t, p.name, p.s.do(t, "stats\r\n"))
		for _, name := range required {
			v, ok := values[name]
			switch {
			case !ok:
				t.Errorf("%s: stats has no %s", p.name, name)
			case name == "version" && !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`).MatchString(v):
				t.Errorf("%s: version %q", p.name, v)
			case strings.HasPrefix(name, "rusage_") && !regexp.MustCompile(`^[0-9]+\.[0-9]{6}$`).MatchString(v):
				t.Errorf("%s: %s = %q, want seconds.microseconds", p.name, name, v)
			case name != "version" && !strings.HasPrefix(name, "rusage_") && !uintValue.MatchString(v):
				t.Errorf("%s: %s = %q, not a number", p.name, name, v)
			}
		}
		if now, _ := strconv.ParseInt(values["time"], 10, 64); now < time.Now().Unix()-5 || now > time.Now().Unix()+5 {
			t.Errorf("%s: time %s is not now", p.name, values["time"])
		}
		if up, _ := strconv.Atoi(values["uptime"]); up > 600 {
			t.Errorf("%s: uptime %d of a server just started", p.name, up)
		}
		if values["curr_items"] != "1" || values["total_items"] != "1" {
			t.Errorf("%s: curr_items %s total_items %s after one set", p.name, values["curr_items"], values["total_items"])
		}
		if b, _ := strconv.Atoi(values["bytes"]); b < len("a")+len("hello") || b > 200 {
			t.Errorf("%s: bytes %d for one small item", p.name, b)
		}
	}
	if pid, _ := strconv.Atoi(statsValue(t, peers[0], "pid")); pid != os.Getpid() {
		t.Errorf("shoal: pid %d, want this process's %d", pid, os.Getpid())
	}
	memcachedNames := map[string]bool{}
	for _, n := range names[1] {
		memcachedNames[n] = true
	}
	for _, n := range names[0] {
		if !memcachedNames[n] && !extensions[n] {
			t.Errorf("shoal's stat %s is not one of memcached's", n)
		}
	}
}

func statsValue(t *testing.T, p statsPeer, name string) string {
	_, v := parseStats(t, p.name, p.s.do(t, "stats\r\n"))
	return v[name]
}

// classless replaces the slab class in a per-class stat name
// ("items:5:number", "5:chunk_size") by N.
var classNumber = regexp.MustCompile(`(^|:)[0-9]+:`)

func classless(name string) string { return classNumber.ReplaceAllString(name, "${1}N:") }

func TestTextStatsSubcommands(t *testing.T) {
	peers := freshStatsPeers(t)
	settingsExtensions := map[string]bool{"go_version": true, "slab_page_size": true}
	sameSettings := []string{"maxbytes", "maxconns", "udpport", "inter", "verbosity", "evictions", "growth_factor",
		"chunk_size", "cas_enabled", "binding_protocol", "auth_enabled_sasl", "item_size_max", "shutdown_command",
		"slab_reassign", "slab_automove", "flush_enabled"}
	sets := "set a 0 0 1\r\nx\r\nset b 0 0 1\r\ny\r\nset c 0 0 3000\r\n" + strings.Repeat("z", 3000) + "\r\n"
	type view struct {
		names  map[string]bool
		values map[string]string
		sums   map[string]int // per-class counters summed over classes
	}
	read := func(p statsPeer, cmd string) view {
		names, values := parseStats(t, p.name, p.s.do(t, cmd))
		v := view{names: map[string]bool{}, values: values, sums: map[string]int{}}
		for _, n := range names {
			c := classless(n)
			v.names[c] = true
			if c != n {
				x, _ := strconv.Atoi(values[n])
				v.sums[c] += x
			}
		}
		return v
	}
	var settings, items, slabs [2]view
	for i, p := range peers {
		if got := p.s.do(t, sets); got != "STORED\r\nSTORED\r\nSTORED\r\n" {
			t.Fatalf("%s: sets replied %q", p.name, got)
		}
		// A hit of every kind stats slabs counts by class (a CAS unique no
		// item has: a cas_badval), then c deleted: three items stay.
		ops := "get a b c nope\r\ntouch a 100\r\nset n 0 0 1\r\n5\r\nincr n 2\r\ndecr n 1\r\n" +
			"cas b 0 0 1 999999\r\nq\r\ndelete c\r\n"
		if got := p.s.do(t, ops); !strings.HasSuffix(got, "TOUCHED\r\nSTORED\r\n7\r\n6\r\nEXISTS\r\nDELETED\r\n") {
			t.Fatalf("%s: ops replied %q", p.name, got)
		}
		settings[i] = read(p, "stats settings\r\n")
		items[i] = read(p, "stats items\r\n")
		slabs[i] = read(p, "stats slabs\r\n")
		if got := p.s.do(t, "stats sizes\r\n"); got != "STAT sizes_status disabled\r\nEND\r\n" {
			t.Errorf("%s: stats sizes replied %q", p.name, got)
		}

		// stats conns lists this connection, by its address.
		local := "tcp:" + p.s.Conn().LocalAddr().String()
		names, values := parseStats(t, p.name, p.s.do(t, "stats conns\r\n"))
		found := false
		for _, n := range names {
			if strings.HasSuffix(n, ":addr") && values[n] == local {
				found = true
				prefix := strings.TrimSuffix(n, "addr")
				for _, field := range []string{"state", "secs_since_last_cmd", "listen_addr"} {
					if _, ok := values[prefix+field]; !ok {
						t.Errorf("%s: stats conns has no %s%s", p.name, prefix, field)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: stats conns does not list this connection %s:\n%v", p.name, local, values)
		}
	}
	for _, name := range sameSettings {
		if settings[0].values[name] != settings[1].values[name] {
			t.Errorf("stats settings %s: shoal %q, memcached %q", name, settings[0].values[name], settings[1].values[name])
		}
	}
	// stats slabs has every per-class field memcached's has, with the same
	// counts for the same commands (memcached_exporter reads them).
	for n := range slabs[1].names {
		if !slabs[0].names[n] {
			t.Errorf("memcached's stats slabs field %s is missing from shoal's", n)
		}
	}
	for _, n := range []string{"N:cmd_set", "N:get_hits", "N:cas_hits", "N:cas_badval", "N:touch_hits", "N:delete_hits", "N:incr_hits", "N:decr_hits"} {
		if slabs[0].sums[n] != slabs[1].sums[n] {
			t.Errorf("stats slabs %s sums to %d on shoal, %d on memcached", n, slabs[0].sums[n], slabs[1].sums[n])
		}
	}
	// stats settings lists every setting memcached does, but extstore's.
	for n := range settings[1].names {
		if !settings[0].names[n] && !strings.HasPrefix(n, "ext_") && n != "slab_automove_freeratio" {
			t.Errorf("memcached's stats settings field %s is missing from shoal's", n)
		}
	}
	for _, kind := range []struct {
		what       string
		v          [2]view
		extensions map[string]bool
	}{{"settings", settings, settingsExtensions}, {"items", items, nil}, {"slabs", slabs, nil}} {
		for n := range kind.v[0].names {
			if !kind.v[1].names[n] && !kind.extensions[n] {
				t.Errorf("shoal's stats %s field %s is not one of memcached's", kind.what, n)
			}
		}
	}
	for i, p := range peers {
		if items[i].sums["items:N:number"] != 3 {
			t.Errorf("%s: stats items numbers sum to %d, want 3", p.name, items[i].sums["items:N:number"])
		}
		if slabs[i].sums["N:used_chunks"] != 3 {
			t.Errorf("%s: stats slabs used_chunks sum to %d, want 3", p.name, slabs[i].sums["N:used_chunks"])
		}
		if n, _ := strconv.Atoi(slabs[i].values["active_slabs"]); n != 2 {
			t.Errorf("%s: active_slabs %d, want 2 (a small and a 3 KB class)", p.name, n)
		}
		if slabs[i].values["total_malloced"] == "" {
			t.Errorf("%s: stats slabs has no total_malloced", p.name)
		}
	}
}
