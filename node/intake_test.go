package node_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// An append or prepend whose joined value is too large is NOT_STORED on
// every protocol, as memcached 1.6.18 has it: watch logs it not_stored with
// the appended item's class and size, and it is no failed allocation
// (store_too_large and store_no_memory stay 0). Only a data block that
// cannot be reserved is one.
func TestJoinTooLargeIsNotStored(t *testing.T) {
	value := strings.Repeat("v", 600000)
	binAppend := "\x80\x0e\x00\x01\x00\x00\x00\x00\x00\x09\x27\xc1\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x00k" + value
	binNoop := "\x80\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x00"
	for _, p := range []peer{{"shoal", node.StartTestNode(t)}, {"memcached", conformance.Memcached(t)}} {
		wc, r := openWatcher(t, p.addr, "watch mutations")
		s, err := dialText(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		block := " 0 0 600000\r\n" + value + "\r\n"
		if got := s.do(t, "set k"+block+"append k"+block+"prepend k"+block); got != "STORED\r\nNOT_STORED\r\nNOT_STORED\r\n" {
			t.Errorf("%s: %q", p.name, got)
		}
		// memcached logs each worker thread's lines in turn: a line from
		// another connection may come first unless these are read now.
		want := []string{
			"type=item_store key=k status=stored cmd=set ttl=0 clsid=N size=600000",
			"type=item_store key=k status=not_stored cmd=append ttl=0 clsid=N size=600000",
			"type=item_store key=k status=not_stored cmd=prepend ttl=0 clsid=N size=600000",
		}
		if lines := watchClassless(watchLines(t, p.name, r, wc, len(want))); !slices.Equal(lines, want) {
			t.Errorf("%s: watch lines\n  %q\nwant\n  %q", p.name, lines, want)
		}
		b := conformance.DialTB(t, p.addr)
		if err := b.Send([]byte(binAppend + binNoop)); err != nil {
			t.Fatal(err)
		}
		const notStored = "\x81\x0e\x00\x00\x00\x00\x00\x05\x00\x00\x00\x0b\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x00Not stored."
		got, _, err := b.Await(5*time.Second, func(got []byte) bool { return len(got) >= len(notStored)+len(binNoop) })
		if err != nil || !strings.HasPrefix(string(got), notStored) {
			t.Errorf("%s: binary append: %q, %v; want %q", p.name, got, err, notStored)
		}
		want = want[1:2]
		if lines := watchClassless(watchLines(t, p.name, r, wc, 1)); !slices.Equal(lines, want) {
			t.Errorf("%s: binary watch line\n  %q\nwant\n  %q", p.name, lines, want)
		}
		_, stats := parseStats(t, p.name, s.do(t, "stats\r\n"))
		if stats["store_too_large"] != "0" || stats["store_no_memory"] != "0" {
			t.Errorf("%s: store_too_large %s, store_no_memory %s, want 0 and 0", p.name, stats["store_too_large"], stats["store_no_memory"])
		}
	}
}

// watchClassless takes the class out of watch lines: shoal's store classes a
// 600000-byte item 40, memcached 39.
func watchClassless(lines []string) []string {
	for i, l := range lines {
		lines[i] = watchClass.ReplaceAllString(l, "clsid=N")
	}
	return lines
}

var watchClass = regexp.MustCompile(`clsid=[0-9]+`)

// A binary set whose value is longer than the read buffer is reported to
// watch (and stats detail) under its key, which the value's read moves out
// of the buffer, as memcached reports it.
func TestBinaryLongSetIsWatchedByKey(t *testing.T) {
	value := strings.Repeat("v", 20000) // the read buffer holds 16 KB
	set := "\x80\x01\x00\x02\x08\x00\x00\x00\x00\x00\x4e\x2a\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00\x00\x00bk" + value
	for _, p := range []peer{{"shoal", node.StartTestNode(t)}, {"memcached", conformance.Memcached(t)}} {
		wc, r := openWatcher(t, p.addr, "watch mutations")
		b := conformance.DialTB(t, p.addr)
		if err := b.Send([]byte(set)); err != nil {
			t.Fatal(err)
		}
		if got, _, err := b.Await(5*time.Second, func(got []byte) bool { return len(got) >= 24 }); err != nil || got[0] != 0x81 || got[7] != 0 {
			t.Fatalf("%s: set replied %q, %v", p.name, got, err)
		}
		want := []string{"type=item_store key=bk status=stored cmd=set ttl=0 clsid=N size=20000"}
		if lines := watchClassless(watchLines(t, p.name, r, wc, 1)); !slices.Equal(lines, want) {
			t.Errorf("%s: watch lines\n  %q\nwant\n  %q", p.name, lines, want)
		}
	}
}
