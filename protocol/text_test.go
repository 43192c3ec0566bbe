package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func TestTokens(t *testing.T) {
	many := func(n int) string { // "k0 k1 ... k(n-1)"
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString("k")
			b.WriteString(string(rune('a' + i%26)))
		}
		return b.String()
	}
	tests := []struct {
		line   string
		tokens []string
		rest   string
	}{
		{"", []string{}, ""},
		{"   ", []string{}, ""},
		{"get", []string{"get"}, ""},
		{"get a", []string{"get", "a"}, ""},
		{"  get   a  b  ", []string{"get", "a", "b"}, ""},
		// Only the space separates: memcached's tokenizer leaves tabs and
		// other control bytes inside tokens.
		{"get a\tb", []string{"get", "a\tb"}, ""},
		{"set k 0 0 1 noreply", []string{"set", "k", "0", "0", "1", "noreply"}, ""},
		{"\r", []string{"\r"}, ""},
		// MaxTokens-1 tokens are split off; the rest is left whole, from the
		// start of the next token.
		{many(MaxTokens - 1), strings.Fields(many(MaxTokens - 1)), ""},
		{many(MaxTokens-1) + "   ", strings.Fields(many(MaxTokens - 1)), ""},
		{many(MaxTokens), strings.Fields(many(MaxTokens))[:MaxTokens-1], "kx"},
		{many(MaxTokens-1) + "   x  y ", strings.Fields(many(MaxTokens - 1)), "x  y "},
		{many(30), strings.Fields(many(30))[:MaxTokens-1], strings.Join(strings.Fields(many(30))[MaxTokens-1:], " ")},
	}
	for _, tt := range tests {
		var dst [MaxTokens][]byte
		tokens, rest := Tokens(dst[:0], []byte(tt.line))
		if got := strs(tokens); !reflect.DeepEqual(got, tt.tokens) {
			t.Errorf("Tokens(%q) tokens = %q, want %q", tt.line, got, tt.tokens)
		}
		if string(rest) != tt.rest {
			t.Errorf("Tokens(%q) rest = %q, want %q", tt.line, rest, tt.rest)
		}
	}
}

func TestTokensAliasLineWithoutAllocating(t *testing.T) {
	line := []byte("get alpha beta gamma")
	var dst [MaxTokens][]byte
	allocs := testing.AllocsPerRun(100, func() { Tokens(dst[:0], line) })
	if allocs != 0 {
		t.Errorf("Tokens allocated %v times per call, want 0", allocs)
	}
	tokens, _ := Tokens(dst[:0], line)
	tokens[1][0] = 'A'
	if string(line) != "get Alpha beta gamma" {
		t.Errorf("tokens do not alias the line: line is now %q", line)
	}
}

// The number parsers mirror memcached's safe_strtoul, safe_strtoull and
// safe_strtol (util.c) on a 64-bit build: glibc's strtoul/strtol (leading
// whitespace, an optional sign, decimal digits, overflow checked at 64 bits)
// followed by a whitespace or the end of the token, then a plain C
// conversion to the 32-bit result. Every row marked "memcached:" was checked
// against Debian's memcached 1.6.18 through the command it parses (flags for
// ParseUint32, the incr delta for ParseUint64, the data length for
// ParseInt32).

func TestParseUint32(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"00", 0, true},
		{"4294967295", 4294967295, true},
		{"", 0, false},
		{"a", 0, false},
		{"1a", 0, false},
		{"0x10", 0, false},
		{"1.5", 0, false},
		{"+", 0, false},
		{"-", 0, false},
		{"++1", 0, false},
		{"+-1", 0, false},
		{"-1", 0, false},          // memcached: bad command line format
		{"-4294967296", 0, false}, // memcached: bad command line format
		{"99999999999999999999", 0, false},
		{"18446744073709551616", 0, false},         // overflows 64 bits (ERANGE)
		{"+1", 1, true},                            // memcached: flags 1
		{"-0", 0, true},                            // memcached: flags 0
		{"4294967296", 0, true},                    // memcached: flags 0 (truncated)
		{"18446744073709551615", 4294967295, true}, // memcached: flags 4294967295
		{"000000000000000000000000001", 1, true},   // memcached: flags 1 (27 digits)
		{"\t1", 1, true},                           // memcached: flags 1
		{"1\t", 1, true},                           // memcached: flags 1
		{"\v7", 7, true},                           // memcached: flags 7
	}
	for _, tt := range tests {
		got, ok := ParseUint32([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseUint32(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseUint64(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"4294967296", 4294967296, true},
		{"18446744073709551615", 18446744073709551615, true},
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"184467440737095516150", 0, false},
		{"", 0, false},
		{"x", 0, false},
		{"1e3", 0, false},  // memcached: invalid numeric delta argument
		{"0x10", 0, false}, // memcached: invalid numeric delta argument
		{"-1", 0, false},   // memcached: invalid numeric delta argument
		{"+", 0, false},
		{"+5", 5, true},                          // memcached: delta 5
		{"-0", 0, true},                          // memcached: delta 0
		{"000000000000000000000000001", 1, true}, // memcached: delta 1
		{"\t1", 1, true},                         // memcached: delta 1
		{"7\f", 7, true},                         // memcached: delta 7
		// strtoull negates in unsigned arithmetic, and memcached rejects a
		// minus sign only when the result looks negative as a signed value.
		{"-18446744073709551615", 1, true}, // memcached: delta 1
	}
	for _, tt := range tests {
		got, ok := ParseUint64([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseUint64(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseInt32(t *testing.T) {
	tests := []struct {
		in   string
		want int32
		ok   bool
	}{
		{"0", 0, true},
		{"5", 5, true},
		{"-1", -1, true},
		{"+5", 5, true}, // memcached: a 5-byte data block
		{"-0", 0, true},
		{"2147483647", 2147483647, true},
		{"-2147483648", -2147483648, true},
		{"", 0, false},
		{"-", 0, false},
		{"+", 0, false},
		{"--1", 0, false},
		{"1-", 0, false},
		{"abc", 0, false},
		{"9223372036854775808", 0, false},  // overflows strtol's 64 bits
		{"-9223372036854775809", 0, false}, // likewise
		{"\t3", 3, true},                   // memcached: a 3-byte data block
		{"3\t", 3, true},                   // memcached: a 3-byte data block
		// Within 64 bits, strtol's result is cut to 32 bits as C converts it.
		{"2147483648", -2147483648, true}, // memcached: exptime already passed
		{"4294967296", 0, true},           // memcached: a 0-byte data block
		{"4294967297", 1, true},           // memcached: a 1-byte data block
		{"-4294967295", 1, true},          // memcached: a 1-byte data block
		{"9223372036854775807", -1, true}, // memcached: bad command line format (length -1)
	}
	for _, tt := range tests {
		got, ok := ParseInt32([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseInt32(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidKey(t *testing.T) {
	for _, tt := range []struct {
		n  int
		ok bool
	}{{0, false}, {1, true}, {MaxKeyLen, true}, {MaxKeyLen + 1, false}, {4096, false}} {
		if got := ValidKey(bytes.Repeat([]byte("k"), tt.n)); got != tt.ok {
			t.Errorf("ValidKey(%d bytes) = %v, want %v", tt.n, got, tt.ok)
		}
	}
}

func TestParseStore(t *testing.T) {
	key250 := strings.Repeat("k", MaxKeyLen)
	key251 := strings.Repeat("k", MaxKeyLen+1)
	tests := []struct {
		line string
		mode StoreMode
		want StoreCommand
		err  []byte
	}{
		{"set k 0 0 1", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Bytes: 1}, nil},
		{"add k 5 100 10", ModeAdd, StoreCommand{Mode: ModeAdd, Key: []byte("k"), Flags: 5, Exptime: 100, Bytes: 10}, nil},
		{"replace k 4294967295 -1 0", ModeReplace, StoreCommand{Mode: ModeReplace, Key: []byte("k"), Flags: 4294967295, Exptime: -1}, nil},
		{"append k 0 0 3 noreply", ModeAppend, StoreCommand{Mode: ModeAppend, Key: []byte("k"), Bytes: 3, NoReply: true}, nil},
		{"prepend k 0 0 3", ModePrepend, StoreCommand{Mode: ModePrepend, Key: []byte("k"), Bytes: 3}, nil},
		{"cas k 1 2 3 18446744073709551615", ModeCAS, StoreCommand{Mode: ModeCAS, Key: []byte("k"), Flags: 1, Exptime: 2, Bytes: 3, CAS: 18446744073709551615}, nil},
		{"cas k 1 2 3 0 noreply", ModeCAS, StoreCommand{Mode: ModeCAS, Key: []byte("k"), Flags: 1, Exptime: 2, Bytes: 3, NoReply: true}, nil},
		{"set " + key250 + " 0 0 1", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte(key250), Bytes: 1}, nil},
		{"set k 0 2592001 1", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Exptime: 2592001, Bytes: 1}, nil},
		// The largest length memcached parses; the store refuses it later.
		{"set k 0 0 2147483645", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Bytes: 2147483645}, nil},
		// noreply is only the exact last token; anything else there is
		// ignored, as memcached ignores it.
		{"set k 0 0 1 junk", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Bytes: 1}, nil},
		{"set k 0 0 1 NOREPLY", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Bytes: 1}, nil},
		{"set k 0 0 1 noreply2", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Bytes: 1}, nil},
		{"cas k 0 0 1 7 junk", ModeCAS, StoreCommand{Mode: ModeCAS, Key: []byte("k"), Bytes: 1, CAS: 7}, nil},
		// memcached 1.6.18 reads numbers with strtoul/strtol (see
		// TestParseUint32): these are accepted there.
		{"set k +1 0 1", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Flags: 1, Bytes: 1}, nil},
		{"set k 4294967296 0 1", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Bytes: 1}, nil},
		{"set k 0 2147483648 1", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Exptime: -2147483648, Bytes: 1}, nil},
		{"set k 0 0 4294967297", ModeSet, StoreCommand{Mode: ModeSet, Key: []byte("k"), Bytes: 1}, nil},

		// Wrong token counts: ERROR, and no data block is expected.
		{"set", ModeSet, StoreCommand{}, RespError},
		{"set k", ModeSet, StoreCommand{}, RespError},
		{"set k 0 0", ModeSet, StoreCommand{}, RespError},
		{"set k 0 0 1 noreply x", ModeSet, StoreCommand{}, RespError},
		{"append k 0 0 1 2 3", ModeAppend, StoreCommand{}, RespError},
		{"cas k 0 0 1", ModeCAS, StoreCommand{}, RespError},
		{"cas k 0 0 1 2 noreply x", ModeCAS, StoreCommand{}, RespError},
		{"set " + strings.Repeat("x ", 40), ModeSet, StoreCommand{}, RespError},

		// Malformed fields: CLIENT_ERROR bad command line format.
		{"set " + key251 + " 0 0 1", ModeSet, StoreCommand{}, RespBadFormat},
		{"set " + key251 + " x x x", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k x 0 1", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k -1 0 1", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 18446744073709551616 0 1", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 x 1", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 1.5 1", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 9223372036854775808 1", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 0 x", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 0 -1", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 0 -2147483648", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 0 2147483646", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 0 2147483647", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 0 2147483648", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 0 1x", ModeSet, StoreCommand{}, RespBadFormat},
		{"set k 0 0 ", ModeSet, StoreCommand{}, RespError},
		{"cas k 0 0 1 x", ModeCAS, StoreCommand{}, RespBadFormat},
		{"cas k 0 0 1 -1", ModeCAS, StoreCommand{}, RespBadFormat},
		{"cas k 0 0 1 18446744073709551616", ModeCAS, StoreCommand{}, RespBadFormat},
		{"cas k 0 0 -1 1", ModeCAS, StoreCommand{}, RespBadFormat},
		{"set k 0 0 x noreply", ModeSet, StoreCommand{}, RespBadFormat},
	}
	for _, tt := range tests {
		var dst [MaxTokens][]byte
		tokens, _ := Tokens(dst[:0], []byte(tt.line))
		var cmd StoreCommand
		err := ParseStore(tokens, tt.mode, &cmd)
		if !bytes.Equal(err, tt.err) {
			t.Errorf("ParseStore(%.60q) = %q, want %q", tt.line, err, tt.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(cmd, tt.want) {
			t.Errorf("ParseStore(%.60q) cmd = %+v, want %+v", tt.line, cmd, tt.want)
		}
	}
}

func TestAppendValueHeader(t *testing.T) {
	tests := []struct {
		key     string
		flags   uint32
		n       int
		cas     uint64
		withCAS bool
		want    string
	}{
		{"k", 0, 0, 0, false, "VALUE k 0 0\r\n"},
		{"k", 0, 0, 99, false, "VALUE k 0 0\r\n"},
		{"foo", 7, 10, 0, true, "VALUE foo 7 10 0\r\n"},
		{"foo", 4294967295, 1048576, 18446744073709551615, true, "VALUE foo 4294967295 1048576 18446744073709551615\r\n"},
		{"a\tb", 10, 9, 1234567890, true, "VALUE a\tb 10 9 1234567890\r\n"},
	}
	for _, tt := range tests {
		got := AppendValueHeader([]byte("prefix|"), []byte(tt.key), tt.flags, tt.n, tt.cas, tt.withCAS)
		if string(got) != "prefix|"+tt.want {
			t.Errorf("AppendValueHeader(%q, %d, %d, %d, %v) = %q, want %q", tt.key, tt.flags, tt.n, tt.cas, tt.withCAS, got, "prefix|"+tt.want)
		}
	}
	buf := make([]byte, 0, 128)
	key := []byte("somekey")
	if allocs := testing.AllocsPerRun(100, func() { AppendValueHeader(buf[:0], key, 1, 2, 3, true) }); allocs != 0 {
		t.Errorf("AppendValueHeader allocated %v times into a large enough buffer, want 0", allocs)
	}
}

func TestAppendUintAndStat(t *testing.T) {
	for _, tt := range []struct {
		v    uint64
		want string
	}{{0, "0"}, {9, "9"}, {10, "10"}, {1234567890, "1234567890"}, {18446744073709551615, "18446744073709551615"}} {
		if got := string(AppendUint([]byte("x"), tt.v)); got != "x"+tt.want {
			t.Errorf("AppendUint(%d) = %q, want %q", tt.v, got, "x"+tt.want)
		}
	}
	if got := string(AppendStat(nil, "curr_items", "12")); got != "STAT curr_items 12\r\n" {
		t.Errorf("AppendStat = %q", got)
	}
}

func TestReplyStrings(t *testing.T) {
	// memcached 1.6.18's exact bytes (proto_text.c).
	for _, tt := range []struct {
		got  []byte
		want string
	}{
		{RespStored, "STORED\r\n"},
		{RespNotStored, "NOT_STORED\r\n"},
		{RespExists, "EXISTS\r\n"},
		{RespNotFound, "NOT_FOUND\r\n"},
		{RespDeleted, "DELETED\r\n"},
		{RespTouched, "TOUCHED\r\n"},
		{RespEnd, "END\r\n"},
		{RespError, "ERROR\r\n"},
		{RespBadFormat, "CLIENT_ERROR bad command line format\r\n"},
		{RespBadDataChunk, "CLIENT_ERROR bad data chunk\r\n"},
		{RespTooLarge, "SERVER_ERROR object too large for cache\r\n"},
		{RespOutOfMemory, "SERVER_ERROR out of memory storing object\r\n"},
		{RespNonNumeric, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
		{RespBadDelta, "CLIENT_ERROR invalid numeric delta argument\r\n"},
		{RespBadExptime, "CLIENT_ERROR invalid exptime argument\r\n"},
		{RespDeleteUsage, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"},
		{RespShutdownOff, "ERROR: shutdown not enabled\r\n"},
	} {
		if string(tt.got) != tt.want {
			t.Errorf("reply %q, want %q", tt.got, tt.want)
		}
	}
}

func TestAppendClusterBody(t *testing.T) {
	c := ClusterConfig{Version: 12, Nodes: []ClusterNode{
		{Host: "myCluster.pc4ldq.0001.use1.cache.amazonaws.com", IP: "10.82.235.120", Port: 11211, Position: 0, State: StateActive},
		{Host: "myCluster.pc4ldq.0002.use1.cache.amazonaws.com", IP: "10.80.249.27", Port: 11211, Position: 3, State: StateJoining},
	}}
	const std = "12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n"
	if got := string(AppendClusterBody(nil, c, false)); got != std {
		t.Errorf("standard body = %q, want %q", got, std)
	}
	const ext = "12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211|0|active myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211|3|joining\n"
	if got := string(AppendClusterBody(nil, c, true)); got != ext {
		t.Errorf("extended body = %q, want %q", got, ext)
	}
	if got := string(AppendClusterBody([]byte("x"), ClusterConfig{Version: 1}, false)); got != "x1\n\n" {
		t.Errorf("empty body = %q, want %q", got, "x1\n\n")
	}
	reply := string(AppendConfigReply(nil, ClusterKey, []byte(std)))
	want := "CONFIG cluster 0 136\r\n" + std + "\r\nEND\r\n"
	if reply != want {
		t.Errorf("config reply = %q, want %q", reply, want)
	}
	if got := string(AppendConfigReply([]byte("p"), ShoalClusterKey, nil)); got != "pCONFIG shoal-cluster 0 0\r\n\r\nEND\r\n" {
		t.Errorf("empty config reply = %q", got)
	}
}

func TestParseClusterBody(t *testing.T) {
	tests := []struct {
		body string
		want ClusterConfig
	}{
		{"12\nh1|10.0.0.1|11211 h2|10.0.0.2|11212\n", ClusterConfig{Version: 12, Nodes: []ClusterNode{
			{Host: "h1", IP: "10.0.0.1", Port: 11211, Position: -1, State: StateActive},
			{Host: "h2", IP: "10.0.0.2", Port: 11212, Position: -1, State: StateActive}}}},
		// As it comes inside a CONFIG reply, with its \r\n.
		{"3\r\nh|127.0.0.1|1\n\r\n", ClusterConfig{Version: 3, Nodes: []ClusterNode{
			{Host: "h", IP: "127.0.0.1", Port: 1, Position: -1, State: StateActive}}}},
		{"7\n|127.0.0.2|65535|4|leaving\n", ClusterConfig{Version: 7, Nodes: []ClusterNode{
			{IP: "127.0.0.2", Port: 65535, Position: 4, State: StateLeaving}}}},
		{"7\nhost-only||11211\n", ClusterConfig{Version: 7, Nodes: []ClusterNode{
			{Host: "host-only", Port: 11211, Position: -1, State: StateActive}}}},
		{"18446744073709551615\n", ClusterConfig{Version: 18446744073709551615}},
		{"0\n\n", ClusterConfig{}},
		{"5", ClusterConfig{Version: 5}},
		{"5\n  a|b|1   c|d|2|0|active  \n", ClusterConfig{Version: 5, Nodes: []ClusterNode{
			{Host: "a", IP: "b", Port: 1, Position: -1, State: StateActive},
			{Host: "c", IP: "d", Port: 2, Position: 0, State: StateActive}}}},
	}
	for _, tt := range tests {
		got, err := ParseClusterBody([]byte(tt.body))
		if err != nil {
			t.Errorf("ParseClusterBody(%q): %v", tt.body, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseClusterBody(%q) = %+v, want %+v", tt.body, got, tt.want)
		}
	}
}

func TestParseClusterBodyMalformed(t *testing.T) {
	for _, body := range []string{
		"",
		"\n",
		"x\nh|1.2.3.4|11211\n",
		"-1\nh|1.2.3.4|11211\n",
		"18446744073709551616\n",
		"1\nh\n",
		"1\nh|1.2.3.4\n",
		"1\nh|1.2.3.4|11211|0\n",
		"1\nh|1.2.3.4|11211|0|active|x\n",
		"1\nh|1.2.3.4|port\n",
		"1\nh|1.2.3.4|0\n",
		"1\nh|1.2.3.4|-1\n",
		"1\nh|1.2.3.4|65536\n",
		"1\nh|1.2.3.4|\n",
		"1\n||11211\n",
		"1\nh|1.2.3.4|11211|-1|active\n",
		"1\nh|1.2.3.4|11211|x|active\n",
		"1\nh|1.2.3.4|11211 bad\n",
	} {
		c, err := ParseClusterBody([]byte(body))
		if err == nil {
			t.Errorf("ParseClusterBody(%q) = %+v, want an error", body, c)
			continue
		}
		if !errors.Is(err, ErrBadClusterConfig) {
			t.Errorf("ParseClusterBody(%q) error %v does not wrap ErrBadClusterConfig", body, err)
		}
	}
}

func TestClusterBodyRoundTrip(t *testing.T) {
	for _, c := range []ClusterConfig{
		{Version: 1},
		{Version: 2, Nodes: []ClusterNode{{Host: "a", IP: "127.0.0.1", Port: 11211, Position: -1, State: StateActive}}},
		{Version: 3, Nodes: []ClusterNode{
			{Host: "a.example", IP: "127.0.0.1", Port: 11211, Position: -1, State: StateActive},
			{Host: "", IP: "::1", Port: 11212, Position: -1, State: StateActive},
			{Host: "c", IP: "", Port: 1, Position: -1, State: StateActive}}},
	} {
		for _, extended := range []bool{false, true} {
			in := c
			if extended {
				in.Nodes = append([]ClusterNode(nil), c.Nodes...)
				for i := range in.Nodes {
					in.Nodes[i].Position = 2 * i
					in.Nodes[i].State = []NodeState{StateJoining, StateActive, StateLeaving}[i%3]
				}
			}
			body := AppendClusterBody(nil, in, extended)
			got, err := ParseClusterBody(body)
			if err != nil {
				t.Errorf("ParseClusterBody(%q): %v", body, err)
				continue
			}
			if !reflect.DeepEqual(got, in) {
				t.Errorf("round trip of %+v through %q = %+v", in, body, got)
			}
		}
	}
}

func TestClusterNodeAddr(t *testing.T) {
	for _, tt := range []struct {
		n    ClusterNode
		want string
	}{
		{ClusterNode{Host: "h", IP: "127.0.0.1", Port: 11211}, "127.0.0.1:11211"},
		{ClusterNode{Host: "h.example", Port: 1}, "h.example:1"},
		{ClusterNode{IP: "::1", Port: 11211}, "[::1]:11211"},
	} {
		if got := tt.n.Addr(); got != tt.want {
			t.Errorf("%+v.Addr() = %q, want %q", tt.n, got, tt.want)
		}
	}
}
