package protocol

import (
	"bytes"
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"testing"
)

// parseMetaLine tokenizes a command line (without "\r\n") as a server
// does and parses it.
func parseMetaLine(line string, m *Meta) (errReply []byte, swallow int) {
	var buf [MaxTokens][]byte
	tokens, rest := Tokens(buf[:0], []byte(line))
	return ParseMeta(tokens, len(rest) > 0, m)
}

func TestParseMeta(t *testing.T) {
	long := func(n int, s string) string { return strings.Repeat(s, n) }
	cases := []struct {
		line    string
		err     string // error reply without "\r\n"; "" for none
		swallow int
		check   func(m *Meta) bool
	}{
		{"mg", "ERROR", 0, nil},
		{"mg k", "", 0, func(m *Meta) bool { return string(m.Key) == "k" && len(m.Tokens) == 0 && m.Delta == 1 }},
		{"mg k v f k c", "", 0, func(m *Meta) bool { return m.Value && len(m.Tokens) == 4 && !m.Quiet }},
		{"mg k q u", "", 0, func(m *Meta) bool { return m.Quiet && m.NoBump }},
		{"mg k T30 N-1 R7", "", 0, func(m *Meta) bool {
			return m.HasTTL && m.TTL == 30 && m.Vivify && m.VivifyTTL == -1 && m.HasRecache && m.RecacheTTL == 7
		}},
		{"mg k T4294967297", "", 0, func(m *Meta) bool { return m.TTL == 1 }}, // memcached truncates to 32 bits
		{"mg Zm9v b", "", 0, func(m *Meta) bool { return string(m.Key) == "foo" && m.Base64 }},
		{"mg " + long(251, "k"), "CLIENT_ERROR bad command line format", 0, nil},
		{"mg " + long(250, "k"), "", 0, func(m *Meta) bool { return len(m.Key) == 250 }},
		{"mg k v v", "CLIENT_ERROR duplicate flag", 0, nil},
		{"mg k \x7f", "CLIENT_ERROR duplicate flag", 0, nil},
		{"mg k \x7e", "CLIENT_ERROR invalid flag", 0, nil},
		{"mg k x", "CLIENT_ERROR invalid flag", 0, nil},
		{"mg k Tx v v", "CLIENT_ERROR duplicate flag", 0, nil},
		{"mg k Tx", "CLIENT_ERROR bad token in command line format", 0, nil},
		{"mg k T", "CLIENT_ERROR bad token in command line format", 0, nil},
		{"mg k Fx", "CLIENT_ERROR bad command line format", 0, nil},
		{"mg k Tx Fx", "CLIENT_ERROR bad token in command line format", 0, nil},
		{"mg k Fx Mab", "CLIENT_ERROR incorrect length for M token", 0, nil},
		{"mg k Jx", "CLIENT_ERROR invalid numeric initial value", 0, nil},
		{"mg k D-1", "CLIENT_ERROR invalid numeric delta value", 0, nil},
		{"mg k b", "CLIENT_ERROR error decoding key", 0, nil},
		{"mg k P L k s t c f l h v u O N0 R0 J0 D0 I", "", 0, nil},
		{"mg k P L k s t c f l h v u O N0 R0 J0 D0 I MS", "CLIENT_ERROR options flags are too long", 0, nil},
		{"mg k" + long(30, " v"), "CLIENT_ERROR options flags are too long", 0, nil},
		{"mg k O" + long(31, "o"), "", 0, func(m *Meta) bool { return m.LongOpaque == -1 }},
		{"mg k v O" + long(32, "o"), "", 0, func(m *Meta) bool { return m.LongOpaque == 1 }},
		{"ms k", "CLIENT_ERROR bad command line format", 0, nil},
		{"ms k 5", "", 0, func(m *Meta) bool { return m.DataLen == 5 && m.StoreMode() == ModeSet }},
		{"ms k x", "CLIENT_ERROR bad command line format", 0, nil},
		{"ms k -1", "CLIENT_ERROR bad command line format", 0, nil},
		{"ms k 2147483645", "", 0, func(m *Meta) bool { return m.DataLen == math.MaxInt32-2 }},
		{"ms k 2147483646", "CLIENT_ERROR bad command line format", 0, nil},
		{"ms k 4294967298", "", 0, func(m *Meta) bool { return m.DataLen == 2 }},
		{"ms k 5 T1 T2", "CLIENT_ERROR duplicate flag", 7, nil},
		{"ms k 5 Mx", "CLIENT_ERROR invalid mode for ms M token", 7, nil},
		{"ms k 5 O" + long(32, "o"), "CLIENT_ERROR opaque token too long", 7, nil},
		{"ms k 5 O" + long(32, "o") + " Mx", "CLIENT_ERROR invalid mode for ms M token", 7, nil},
		{"ms k 5 P L s t f l h v u N0 R0 J0 D0 I MS F0", "", 0, nil},
		{"ms k 5 P L s t f l h v u N0 R0 J0 D0 I MS F0 T0", "CLIENT_ERROR options flags too long", 0, nil},
		{"ms k 5 F7 T-1 C9 I q k c O1 b", "CLIENT_ERROR error decoding key", 7, nil},
		{"ms k 5 F7 T-1 C9 I q k c O1", "", 0, func(m *Meta) bool {
			return m.ClientFlags == 7 && m.TTL == -1 && m.HasCAS && m.CAS == 9 && m.Invalidate && m.Quiet &&
				m.StoreMode() == ModeCAS
		}},
		{"ms k 5 ME C9", "", 0, func(m *Meta) bool { return m.StoreMode() == ModeAdd }},
		{"ms k 5 MA C9", "", 0, func(m *Meta) bool { return m.StoreMode() == ModeAppend }},
		{"ms k 5 MP", "", 0, func(m *Meta) bool { return m.StoreMode() == ModePrepend }},
		{"ms k 5 MR", "", 0, func(m *Meta) bool { return m.StoreMode() == ModeReplace }},
		{"ms k 5 MR C1", "", 0, func(m *Meta) bool { return m.StoreMode() == ModeCAS }},
		{"ms k 5 MS E77", "", 0, func(m *Meta) bool { return m.StoreMode() == ModeSet && m.HasNewCAS && m.NewCAS == 77 }},
		{"md", "ERROR", 0, nil},
		{"md k q I T5", "", 0, func(m *Meta) bool { return m.Quiet && m.Invalidate && m.HasTTL && m.TTL == 5 }},
		{"md k Tx", "CLIENT_ERROR invalid or duplicate flag", 0, nil},
		{"md k zz", "CLIENT_ERROR invalid or duplicate flag", 0, nil},
		{"md k O" + long(32, "o"), "CLIENT_ERROR opaque token too long", 0, nil},
		{"ma k", "", 0, func(m *Meta) bool { return m.Incr() && m.Delta == 1 && m.Initial == 0 }},
		{"ma k MD D5 J9 N0", "", 0, func(m *Meta) bool { return !m.Incr() && m.Delta == 5 && m.Initial == 9 && m.Vivify }},
		{"ma k M-", "", 0, func(m *Meta) bool { return !m.Incr() }},
		{"ma k M+", "", 0, func(m *Meta) bool { return m.Incr() }},
		{"ma k MI", "", 0, func(m *Meta) bool { return m.Incr() }},
		{"ma k Md", "CLIENT_ERROR invalid mode for ma M token", 0, nil},
		{"ma k Jx", "CLIENT_ERROR invalid or duplicate flag", 0, nil},
		{"ma k O" + long(32, "o"), "", 0, func(m *Meta) bool { return m.LongOpaque == 0 }},
	}
	for _, c := range cases {
		var m Meta
		e, swallow := parseMetaLine(c.line, &m)
		got := strings.TrimSuffix(string(e), "\r\n")
		if got != c.err || swallow != c.swallow {
			t.Errorf("%.60q: error %q swallow %d, want %q %d", c.line, got, swallow, c.err, c.swallow)
			continue
		}
		if c.check != nil && !c.check(&m) {
			t.Errorf("%.60q: parsed %+v", c.line, m)
		}
	}
}

func TestParseMetaDebug(t *testing.T) {
	cases := []struct {
		line, key string
		binary    bool
		err       string
	}{
		{"me", "", false, "CLIENT_ERROR bad command line format"},
		{"me k", "k", false, ""},
		{"me k x y", "k", false, ""},
		{"me Zm9v b", "foo", true, ""},
		{"me Zm9v bb", "Zm9v", false, ""},
		{"me k b", "", false, "CLIENT_ERROR bad command line format"},
		{"me " + strings.Repeat("k", 251), "", false, "CLIENT_ERROR bad command line format"},
	}
	for _, c := range cases {
		tokens, _ := Tokens(nil, []byte(c.line))
		key, binary, e := ParseMetaDebug(tokens)
		if string(key) != c.key || binary != c.binary || strings.TrimSuffix(string(e), "\r\n") != c.err {
			t.Errorf("%.40q: %q %v %q", c.line, key, binary, e)
		}
	}
}

// TestDecodeBase64 pins memcached's lenient decoder: bytes outside the
// alphabet are skipped, decoding ends after the first padded quantum.
func TestDecodeBase64(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"Zm9v", "foo", true},
		{"Zm8=", "fo", true},
		{"Zg==", "f", true},
		{"AAEC", "\x00\x01\x02", true},
		{"Zm!9v", "foo", true},
		{"Zm9v\x00", "foo", true},
		{"Zm8=Zm8=", "fo", true},
		{"A=AA", "\x00\x00", true},
		{"Zm9", "", false},
		{"Zm9v==", "", false},
		{"====", "", false},
		{"Z===", "", false},
		{"", "", false},
		{"!!!!", "", false},
	}
	for _, c := range cases {
		buf := []byte(c.in)
		n := decodeBase64(buf, buf)
		if (n > 0) != c.ok || string(buf[:n]) != c.want {
			t.Errorf("decode %q: %q (%d), want %q ok=%v", c.in, buf[:n], n, c.want, c.ok)
		}
	}
}

// TestStrto pins memcached's safe_strto* on a 64-bit C library.
func TestStrto(t *testing.T) {
	ull := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"5", 5, true},
		{"+5", 5, true},
		{"\t5", 5, true},
		{"5\t", 5, true},
		{"5 x", 5, true},
		{"5\x00x", 5, true},
		{"-0", 0, true},
		{"-5", 0, false},
		{"-18446744073709551615", 1, true},
		{"18446744073709551615", math.MaxUint64, true},
		{"18446744073709551616", 0, false},
		{"000000000000000000000000001", 1, true},
		{"5x", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{" ", 0, false},
		{"x5", 0, false},
	}
	for _, c := range ull {
		if v, ok := ParseUint64([]byte(c.in)); v != c.want || ok != c.ok {
			t.Errorf("ParseUint64(%q) = %d %v, want %d %v", c.in, v, ok, c.want, c.ok)
		}
	}
	l := []struct {
		in   string
		want int32
		ok   bool
	}{
		{"30", 30, true},
		{"-1", -1, true},
		{"+7", 7, true},
		{"2147483648", math.MinInt32, true},
		{"4294967298", 2, true},
		{"9223372036854775807", -1, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775808", 0, true},
		{"-9223372036854775809", 0, false},
		{"1e3", 0, false},
	}
	for _, c := range l {
		if v, ok := ParseInt32([]byte(c.in)); v != c.want || ok != c.ok {
			t.Errorf("ParseInt32(%q) = %d %v, want %d %v", c.in, v, ok, c.want, c.ok)
		}
	}
	ul := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"4294967295", math.MaxUint32, true},
		{"4294967296", 0, true},
		{"-1", 0, false},
	}
	for _, c := range ul {
		if v, ok := ParseUint32([]byte(c.in)); v != c.want || ok != c.ok {
			t.Errorf("ParseUint32(%q) = %d %v, want %d %v", c.in, v, ok, c.want, c.ok)
		}
	}
}

func TestAppendMetaFlags(t *testing.T) {
	it := &MetaItem{Size: 5, Flags: 7, CAS: 99, TTL: 30, LastAccess: 2, Fetched: true}
	cases := []struct {
		line, show, want string
		it               MetaItem
	}{
		{"mg k s t c f l h O1 k v q", ShowGetHit, " s5 t30 c99 f7 l2 h1 O1 kk\r\n", *it},
		{"mg k k O1 s", ShowMiss, " kk O1\r\n", *it},
		{"mg k t", ShowGetHit, " t-1\r\n", MetaItem{TTL: -1}},
		{"mg k h", ShowGetHit, " h0 Z X W\r\n", MetaItem{TokenSent: true, Stale: true, Won: true}},
		{"mg AAEC b k", ShowGetHit, " kAAEC b\r\n", MetaItem{KeyBinary: true}},
		{"ms k 1 c k Oa t", ShowSet, " c99 kk Oa\r\n", *it},
		{"ma k t c v O2", ShowArithOK, " t30 c99 O2\r\n", *it},
	}
	for _, c := range cases {
		var m Meta
		if e, _ := parseMetaLine(c.line, &m); e != nil {
			t.Fatalf("%q: %s", c.line, e)
		}
		if got := string(AppendMetaFlags(nil, &m, c.show, &c.it)); got != c.want {
			t.Errorf("%q: %q, want %q", c.line, got, c.want)
		}
	}
}

func TestAppendMetaDebug(t *testing.T) {
	got := string(AppendMetaDebug(nil, []byte("foo"), false, -100, 3, 42, true, 1, 53))
	if want := "ME foo exp=-100 la=3 cas=42 fetch=yes cls=1 size=53\r\n"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	got = string(AppendMetaDebug(nil, []byte("\x00\x01\x02"), true, -1, 0, 0, false, 2, 9))
	if want := "ME AAEC exp=-1 la=0 cas=0 fetch=no cls=2 size=9\r\n"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// TestParseMetaAllocatesNothing: the mg hot path, parse and reply line,
// must not allocate.
func TestParseMetaAllocatesNothing(t *testing.T) {
	line := []byte("mg some:key:12345 v f k c t O123")
	dst := make([]byte, 0, 256)
	var tokens [MaxTokens][]byte
	var m Meta
	it := MetaItem{Size: 100, Flags: 3, CAS: 123456789, TTL: -1}
	allocs := testing.AllocsPerRun(1000, func() {
		toks, rest := Tokens(tokens[:0], line)
		if e, _ := ParseMeta(toks, len(rest) > 0, &m); e != nil {
			t.Fatal(string(e))
		}
		dst = AppendMetaFlags(AppendUint(append(dst[:0], RespVA...), 100), &m, ShowGetHit, &it)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per mg, want 0", allocs)
	}
}

// FuzzMetaParse feeds arbitrary command lines to the meta parser and
// formatter. Its seeds run in every go test.
func FuzzMetaParse(f *testing.F) {
	for _, seed := range []string{
		"mg k v f k c t s h l O123 q u",
		"mg Zm9v b k v N30 R10 T5",
		"ms k 5 F7 T-1 C9 I q k c O1 ME",
		"ms k 4294967298 b",
		"ms k -1",
		"md k q I T5 C10 k O",
		"ma k MD D5 J9 N0 v t c",
		"ma k M+ D18446744073709551615",
		"mg k \x80 \x00",
		"mg ==== b",
		"mg Zm8=Zm8= b k",
		"mg k Tx Fx Jx Dx Mab Cx Ex",
		"me Zm9v b",
		"mn",
		"mg k " + strings.Repeat("v ", 30),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) < 2 || line[0] != 'm' || strings.ContainsAny(line[:2], " \r\n") {
			line = "mg " + line
		}
		if i := strings.IndexAny(line, "\r\n"); i >= 0 {
			line = line[:i]
		}
		var buf [MaxTokens][]byte
		tokens, rest := Tokens(buf[:0], []byte(line))
		if len(tokens) == 0 {
			return
		}
		if tokens[0][1] == 'e' {
			key, _, e := ParseMetaDebug(tokens)
			if e == nil && (len(key) == 0 || len(key) > MaxKeyLen) {
				t.Fatalf("me key %q", key)
			}
			return
		}
		var m Meta
		e, swallow := ParseMeta(tokens, len(rest) > 0, &m)
		if e != nil {
			if !bytes.HasSuffix(e, RespCRLF) || bytes.Count(e, RespCRLF) != 1 {
				t.Fatalf("error reply %q", e)
			}
			if swallow < 0 || (swallow > 0 && (m.Cmd != 's' || swallow != m.DataLen+2)) {
				t.Fatalf("swallow %d for %q (data %d)", swallow, line, m.DataLen)
			}
			return
		}
		if len(m.Key) == 0 || len(m.Key) > MaxKeyLen || m.DataLen < 0 || m.DataLen > math.MaxInt32-2 {
			t.Fatalf("parsed %q: key %q data %d", line, m.Key, m.DataLen)
		}
		it := MetaItem{Size: 3, TTL: -1, KeyBinary: m.Base64}
		out := AppendMetaFlags(nil, &m, ShowGetHit, &it)
		if !bytes.HasSuffix(out, RespCRLF) {
			t.Fatalf("reply %q", out)
		}
	})
}

// FuzzBase64 checks the decoder against Go's for canonical input, and that
// decoding in place equals decoding into a separate buffer.
func FuzzBase64(f *testing.F) {
	for _, seed := range []string{"", "f", "fo", "foo", "\x00\x01\x02\xff"} {
		f.Add([]byte(seed), "Zm!9v")
	}
	f.Fuzz(func(t *testing.T, raw []byte, junk string) {
		if len(raw) > 0 {
			enc := []byte(base64.StdEncoding.EncodeToString(raw))
			if n := decodeBase64(enc, enc); !bytes.Equal(enc[:n], raw) {
				t.Fatalf("decode(encode(%q)) = %q", raw, enc[:n])
			}
		}
		in := []byte(junk)
		sep := make([]byte, len(in))
		n1 := decodeBase64(sep, in)
		n2 := decodeBase64(in, in)
		if n1 != n2 || !bytes.Equal(sep[:n1], in[:n2]) {
			t.Fatalf("%q: separate %q, in place %q", junk, sep[:n1], in[:n2])
		}
	})
}

// FuzzParseUint64 checks the strtoull port against strconv on plain
// decimal input.
func FuzzParseUint64(f *testing.F) {
	for _, seed := range []uint64{0, 1, 10, math.MaxInt64, math.MaxUint64} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v uint64) {
		s := strconv.FormatUint(v, 10)
		if got, ok := ParseUint64([]byte(s)); !ok || got != v {
			t.Fatalf("%s: %d %v", s, got, ok)
		}
		if got, ok := ParseUint64([]byte(s + "0")); v > math.MaxUint64/10 && ok {
			t.Fatalf("%s0 overflowed to %d", s, got)
		}
	})
}

// BenchmarkParseMeta is the protocol work of an mg hit: tokenizing and
// parsing "mg <key> v f k c t" and formatting its reply line.
func BenchmarkParseMeta(b *testing.B) {
	line := []byte("mg some:key:12345 v f k c t")
	dst := make([]byte, 0, 256)
	var tokens [MaxTokens][]byte
	var m Meta
	it := MetaItem{Size: 100, Flags: 3, CAS: 123456789, TTL: 3600}
	b.ReportAllocs()
	for b.Loop() {
		toks, rest := Tokens(tokens[:0], line)
		if e, _ := ParseMeta(toks, len(rest) > 0, &m); e != nil {
			b.Fatal(string(e))
		}
		dst = AppendMetaFlags(AppendUint(append(dst[:0], RespVA...), 100), &m, ShowGetHit, &it)
	}
}
