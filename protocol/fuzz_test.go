package protocol

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Fuzz targets for the text parser. Their seeds run in every `go test`;
// `go test -fuzz FuzzParseStore ./protocol/` explores further.

var textSeeds = []string{
	"",
	" ",
	"get a",
	"  get   a  b  ",
	"gets a b c d e f g h i j k l m n o p q r s t u v w x y z",
	"set k 0 0 1",
	"set k 0 0 1 noreply",
	"set k 4294967295 -1 1048576",
	"set k 4294967296 0 1",
	"set k +1 -0 +1",
	"set k 0 2592001 5",
	"set k 0 0 -1",
	"set k 0 0 2147483645",
	"set k 0 0 2147483647",
	"set k\t0 0 1",
	"set " + strings.Repeat("k", 250) + " 0 0 1",
	"set " + strings.Repeat("k", 251) + " 0 0 1",
	"add k 0 0 1 junk",
	"cas k 0 0 1 18446744073709551615 noreply",
	"cas k 0 0 1 18446744073709551616",
	"cas k 0 0 1",
	"set k 0 0 1 noreply extra",
	"incr k 18446744073709551615",
	"delete k 0 noreply",
	"flush_all 10 noreply",
	"set \x00 0 0 1",
	"set k 0 0 1\r",
	strings.Repeat("a ", 40),
}

func FuzzTokens(f *testing.F) {
	for _, s := range textSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := bytes.Clone(line)
		var dst [MaxTokens][]byte
		tokens, rest := Tokens(dst[:0], line)
		if !bytes.Equal(line, orig) {
			t.Fatalf("Tokens modified its input")
		}
		if len(tokens) > MaxTokens-1 {
			t.Fatalf("%d tokens, more than %d", len(tokens), MaxTokens-1)
		}
		for _, tok := range tokens {
			if len(tok) == 0 || bytes.IndexByte(tok, ' ') >= 0 {
				t.Fatalf("token %q is empty or holds a space", tok)
			}
		}
		if len(rest) > 0 {
			if len(tokens) != MaxTokens-1 {
				t.Fatalf("rest %q left with only %d tokens", rest, len(tokens))
			}
			if rest[0] == ' ' || !bytes.HasSuffix(line, rest) {
				t.Fatalf("rest %q does not start a token at the end of %q", rest, line)
			}
		}
		// Tokens plus the fields of rest are exactly the line split on
		// runs of spaces.
		all := strs(tokens)
		for _, f := range bytes.Split(rest, []byte{' '}) {
			if len(f) > 0 {
				all = append(all, string(f))
			}
		}
		var want []string
		for _, f := range strings.Split(string(line), " ") {
			if f != "" {
				want = append(want, f)
			}
		}
		if len(all) != len(want) || (len(want) > 0 && !reflect.DeepEqual(all, want)) {
			t.Fatalf("Tokens(%q) = %q + rest %q; want fields %q", line, tokens, rest, want)
		}
	})
}

var storeVerbs = [...]string{ModeSet: "set", ModeAdd: "add", ModeReplace: "replace",
	ModeAppend: "append", ModePrepend: "prepend", ModeCAS: "cas"}

// formatStore writes cmd back as a command line.
func formatStore(cmd StoreCommand) string {
	s := storeVerbs[cmd.Mode] + " " + string(cmd.Key) + " " +
		strconv.FormatUint(uint64(cmd.Flags), 10) + " " +
		strconv.FormatInt(int64(cmd.Exptime), 10) + " " + strconv.Itoa(cmd.Bytes)
	if cmd.Mode == ModeCAS {
		s += " " + strconv.FormatUint(cmd.CAS, 10)
	}
	if cmd.NoReply {
		s += " noreply"
	}
	return s
}

func FuzzParseStore(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var dst [MaxTokens][]byte
		tokens, _ := Tokens(dst[:0], []byte(line))
		if len(tokens) == 0 {
			return
		}
		mode := ModeSet
		for m, v := range storeVerbs {
			if string(tokens[0]) == v {
				mode = StoreMode(m)
			}
		}
		want := 5
		if mode == ModeCAS {
			want = 6
		}
		var cmd StoreCommand
		err := ParseStore(tokens, mode, &cmd)
		countOK := len(tokens) == want || len(tokens) == want+1
		switch {
		case !countOK:
			if !bytes.Equal(err, RespError) {
				t.Fatalf("ParseStore(%q) with %d tokens = %q, want ERROR", line, len(tokens), err)
			}
			return
		case err != nil:
			if !bytes.Equal(err, RespBadFormat) {
				t.Fatalf("ParseStore(%q) = %q, want nil or bad command line format", line, err)
			}
			return
		}
		if cmd.Mode != mode || !bytes.Equal(cmd.Key, tokens[1]) || !ValidKey(cmd.Key) {
			t.Fatalf("ParseStore(%q) = %+v: wrong mode or key", line, cmd)
		}
		if cmd.Bytes < 0 || cmd.Bytes > math.MaxInt32-2 {
			t.Fatalf("ParseStore(%q) accepted length %d", line, cmd.Bytes)
		}
		if cmd.NoReply != (string(tokens[len(tokens)-1]) == "noreply") {
			t.Fatalf("ParseStore(%q) NoReply = %v", line, cmd.NoReply)
		}
		if mode != ModeCAS && cmd.CAS != 0 {
			t.Fatalf("ParseStore(%q) set CAS %d on a %s", line, cmd.CAS, storeVerbs[mode])
		}
		// The parsed command, written back canonically, parses the same.
		canon := formatStore(cmd)
		tokens2, _ := Tokens(dst[:0], []byte(canon))
		var cmd2 StoreCommand
		if err := ParseStore(tokens2, mode, &cmd2); err != nil {
			t.Fatalf("canonical %q of %q: %q", canon, line, err)
		}
		if !reflect.DeepEqual(cmd, cmd2) {
			t.Fatalf("%q parsed as %+v, its canonical form %q as %+v", line, cmd, canon, cmd2)
		}
	})
}

// FuzzParseNumbers checks the number parsers against strconv where the two
// agree by definition: plain decimal digits in range.
func FuzzParseNumbers(f *testing.F) {
	for _, s := range []string{"0", "1", "-1", "+1", "4294967295", "4294967296", "2147483647",
		"-2147483648", "18446744073709551615", "18446744073709551616", "00000000000000000000007", "1a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		v64, ok64 := ParseUint64(b)
		v32, ok32 := ParseUint32(b)
		i32, oki := ParseInt32(b)
		if ok32 && !ok64 {
			t.Fatalf("%q: ParseUint32 accepts what ParseUint64 refuses", s)
		}
		if ok32 && uint64(v32) != v64&math.MaxUint32 {
			t.Fatalf("%q: ParseUint32 = %d, ParseUint64 = %d", s, v32, v64)
		}
		digits := s != "" && strings.Trim(s, "0123456789") == ""
		if !digits {
			return
		}
		if want, err := strconv.ParseUint(s, 10, 64); (err == nil) != ok64 || (err == nil && want != v64) {
			t.Fatalf("ParseUint64(%q) = %d, %v; strconv says %d, %v", s, v64, ok64, want, err)
		}
		if want, err := strconv.ParseUint(s, 10, 32); err == nil && (!ok32 || uint64(v32) != want) {
			t.Fatalf("ParseUint32(%q) = %d, %v; want %d", s, v32, ok32, want)
		}
		if want, err := strconv.ParseInt(s, 10, 32); err == nil && (!oki || int64(i32) != want) {
			t.Fatalf("ParseInt32(%q) = %d, %v; want %d", s, i32, oki, want)
		}
		if want, err := strconv.ParseInt("-"+s, 10, 32); err == nil {
			if got, ok := ParseInt32([]byte("-" + s)); !ok || int64(got) != want {
				t.Fatalf("ParseInt32(%q) = %d, %v; want %d", "-"+s, got, ok, want)
			}
		}
	})
}

func FuzzParseClusterBody(f *testing.F) {
	for _, s := range []string{
		"12\nh1|10.0.0.1|11211 h2|10.0.0.2|11212\n",
		"12\nh1|10.0.0.1|11211|0|active h2|10.0.0.2|11212|1|joining\n\r\n",
		"1\n|::1|11211\n",
		"1\nh||1\n",
		"0\n",
		"\n",
		"x\n",
		"1\nh|i|65536\n",
		"1\nh|i|1|-1|active\n",
		"1\nh|i|1 h|i|2|3|leaving\n",
		"1\na|b|c|d\n",
		"1\n\xc2\x85h|i|1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseClusterBody(body)
		if err != nil {
			if !errors.Is(err, ErrBadClusterConfig) {
				t.Fatalf("error %v does not wrap ErrBadClusterConfig", err)
			}
			return
		}
		std, ext := 0, 0
		for _, n := range c.Nodes {
			if n.Port < 1 || n.Port > 65535 || (n.Host == "" && n.IP == "") {
				t.Fatalf("ParseClusterBody(%q) accepted node %+v", body, n)
			}
			if n.Position < 0 {
				if n.Position != -1 || n.State != StateActive {
					t.Fatalf("standard entry parsed as %+v", n)
				}
				std++
			} else {
				ext++
			}
		}
		if std > 0 && ext > 0 {
			return // mixed forms have no single written form
		}
		out := AppendClusterBody(nil, c, ext > 0)
		c2, err := ParseClusterBody(out)
		if err != nil {
			t.Fatalf("%q parsed as %+v, written as %q, which fails: %v", body, c, out, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("%q parsed as %+v, written as %q, parsed back as %+v", body, c, out, c2)
		}
		reply := AppendConfigReply(nil, ClusterKey, out)
		head := "CONFIG cluster 0 " + strconv.Itoa(len(out)) + "\r\n"
		if !bytes.HasPrefix(reply, []byte(head)) || !bytes.HasSuffix(reply, []byte("\r\nEND\r\n")) ||
			len(reply) != len(head)+len(out)+len("\r\nEND\r\n") {
			t.Fatalf("config reply %q for body %q", reply, out)
		}
	})
}
