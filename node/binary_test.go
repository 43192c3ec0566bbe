package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/node/internal/conformance"
	"github.com/shoal-cache/shoal/protocol"
)

// The binary protocol tests send the same request bytes to a shoal node
// served in-process and to a real memcached, and assert that the replies
// are the same bytes, once CAS uniques (numbered by first appearance) and
// the version string are normalised.

// binMsg builds a request by hand (not with the package under test). The
// opaque differs per opcode so that echoing it is checked.
func binMsg(op protocol.Opcode, key, ext, val string) []byte {
	return binMsgCAS(op, key, ext, val, 0)
}

func binMsgCAS(op protocol.Opcode, key, ext, val string, cas uint64) []byte {
	b := binRaw(0x80, op, len(key), len(ext), len(key)+len(ext)+len(val), cas)
	return append(b, ext+key+val...)
}

// binRaw is a request header with any lengths, for malformed requests.
func binRaw(magic byte, op protocol.Opcode, keyLen, extLen, bodyLen int, cas uint64) []byte {
	b := make([]byte, 24)
	b[0], b[1] = magic, byte(op)
	binary.BigEndian.PutUint16(b[2:], uint16(keyLen))
	b[4] = byte(extLen)
	binary.BigEndian.PutUint32(b[8:], uint32(bodyLen))
	binary.BigEndian.PutUint32(b[12:], 0xa5a50000|uint32(op))
	binary.BigEndian.PutUint64(b[16:], cas)
	return b
}

func binFlags(flags, exptime uint32) string {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:], flags)
	binary.BigEndian.PutUint32(b[4:], exptime)
	return string(b[:])
}

func binExptime(exptime uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], exptime)
	return string(b[:])
}

func binArith(delta, initial uint64, exptime uint32) string {
	var b [20]byte
	binary.BigEndian.PutUint64(b[:], delta)
	binary.BigEndian.PutUint64(b[8:], initial)
	binary.BigEndian.PutUint32(b[16:], exptime)
	return string(b[:])
}

func binJoin(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// How a step's reply ends.
const (
	binUntilNoop  = iota // a noop with binSentinel's opaque is appended and awaited
	binUntilClose        // the server closes the connection
	binUntilQuiet        // nothing more arrives for binQuietWait
)

const binQuietWait = 300 * time.Millisecond

var binSentinel = func() []byte {
	b := binRaw(0x80, protocol.OpNoop, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[12:], 0x5e471e1)
	return b
}()

type binStep struct {
	req     []byte
	reqCAS  func(cas uint64) []byte // builds the request from the last CAS seen
	end     int
	trickle bool // send one byte per write
}

type binCase struct {
	name  string
	steps []binStep
	want  string // optional: the normalised reply of shoal and memcached
}

func binStepOf(parts ...[]byte) binStep { return binStep{req: binJoin(parts...)} }
func binClosing(parts ...[]byte) binStep {
	return binStep{req: binJoin(parts...), end: binUntilClose}
}

var (
	binNoopReq = binMsg(protocol.OpNoop, "", "", "")
	binSetReq  = func(key, val string) []byte { return binMsg(protocol.OpSet, key, binFlags(0, 0), val) }
	binGetReq  = func(key string) []byte { return binMsg(protocol.OpGet, key, "", "") }
	binBigVal  = strings.Repeat("v", 2<<20)
	binHalfMeg = strings.Repeat("h", 700<<10)
)

var binCases = []binCase{
	{name: "noop", steps: []binStep{binStepOf(binNoopReq)},
		want: "81 0a k0 e0 t0 s0000 b0 o=a5a5000a c0 \"\"\n" + binSentinelLine},
	{name: "version", steps: []binStep{binStepOf(binMsg(protocol.OpVersion, "", "", ""))},
		want: "81 0b k0 e0 t0 s0000 b<v> o=a5a5000b c0 \"<version>\"\n" + binSentinelLine},
	{name: "set get", steps: []binStep{binStepOf(
		binMsg(protocol.OpSet, "sg", binFlags(0xcafe, 0), "hello"),
		binGetReq("sg"),
		binMsg(protocol.OpGetK, "sg", "", ""),
		binGetReq("sg-missing"),
		binMsg(protocol.OpGetK, "sg-missing", "", ""),
	)}, want: "81 01 k0 e0 t0 s0000 b0 o=a5a50001 c1 \"\"\n" +
		"81 00 k0 e4 t0 s0000 b9 o=a5a50000 c1 \"\\x00\\x00\\xca\\xfehello\"\n" +
		"81 0c k2 e4 t0 s0000 b11 o=a5a5000c c1 \"\\x00\\x00\\xca\\xfesghello\"\n" +
		"81 00 k0 e0 t0 s0001 b9 o=a5a50000 c0 \"Not found\"\n" +
		"81 0c k10 e0 t0 s0001 b10 o=a5a5000c c0 \"sg-missing\"\n" + binSentinelLine},
	{name: "quiet gets", steps: []binStep{binStepOf(
		binSetReq("qg1", "one"),
		binMsg(protocol.OpGetQ, "qg1", "", ""),
		binMsg(protocol.OpGetQ, "qg-missing", "", ""),
		binMsg(protocol.OpGetKQ, "qg1", "", ""),
		binMsg(protocol.OpGetKQ, "qg-missing", "", ""),
	)}},
	{name: "longest key", steps: []binStep{binStepOf(binSetReq(strings.Repeat("k", 250), "v"), binGetReq(strings.Repeat("k", 250)))}},
	{name: "binary key and value", steps: []binStep{binStepOf(binSetReq("a b\r\n\x00", "\x00\r\nEND\r\n"), binMsg(protocol.OpGetK, "a b\r\n\x00", "", ""))}},
	{name: "add", steps: []binStep{binStepOf(
		binMsg(protocol.OpAdd, "add1", binFlags(1, 0), "a"),
		binMsg(protocol.OpAdd, "add1", binFlags(1, 0), "b"),
		binMsg(protocol.OpAddQ, "add1", binFlags(1, 0), "c"),
		binMsg(protocol.OpAddQ, "add2", binFlags(1, 0), "d"),
		binGetReq("add1"), binGetReq("add2"),
	)}},
	{name: "replace", steps: []binStep{binStepOf(
		binMsg(protocol.OpReplace, "rep1", binFlags(0, 0), "a"),
		binMsg(protocol.OpReplaceQ, "rep1", binFlags(0, 0), "a"),
		binSetReq("rep1", "x"),
		binMsg(protocol.OpReplace, "rep1", binFlags(7, 0), "b"),
		binMsg(protocol.OpReplaceQ, "rep1", binFlags(8, 0), "c"),
		binGetReq("rep1"),
	)}},
	{name: "setq", steps: []binStep{binStepOf(
		binMsg(protocol.OpSetQ, "sq", binFlags(3, 0), "quiet"),
		binGetReq("sq"),
	)}},
	{name: "cas", steps: []binStep{
		binStepOf(binSetReq("cas1", "a")),
		{reqCAS: func(cas uint64) []byte {
			return binJoin(
				binMsgCAS(protocol.OpSet, "cas1", binFlags(0, 0), "wrong", cas+1000),
				binMsgCAS(protocol.OpSet, "cas1", binFlags(0, 0), "b", cas),
				binMsgCAS(protocol.OpSet, "cas1", binFlags(0, 0), "stale", cas),
				binMsgCAS(protocol.OpSet, "cas-missing", binFlags(0, 0), "x", cas),
				binMsgCAS(protocol.OpAdd, "cas-missing", binFlags(0, 0), "x", cas),
				binMsgCAS(protocol.OpReplace, "cas-missing", binFlags(0, 0), "x", cas),
				binGetReq("cas1"))
		}},
		{reqCAS: func(cas uint64) []byte {
			return binJoin(
				binMsgCAS(protocol.OpAdd, "cas1", binFlags(0, 0), "add with cas", cas),
				binMsgCAS(protocol.OpReplaceQ, "cas1", binFlags(0, 0), "replaceq stale", cas),
				binGetReq("cas1"))
		}},
	}},
	{name: "append prepend", steps: []binStep{
		binStepOf(
			binMsg(protocol.OpAppend, "ap-missing", "", "x"),
			binMsg(protocol.OpPrependQ, "ap-missing", "", "x"),
			binMsg(protocol.OpSet, "ap", binFlags(5, 0), "mid"),
			binMsg(protocol.OpAppend, "ap", "", "-end"),
			binMsg(protocol.OpPrepend, "ap", "", "start-"),
			binMsg(protocol.OpAppendQ, "ap", "", "!"),
			binMsg(protocol.OpPrependQ, "ap", "", "^"),
			binMsgCAS(protocol.OpAppend, "ap", "", "?", 1),
			binGetReq("ap")),
		{reqCAS: func(cas uint64) []byte {
			return binJoin(binMsgCAS(protocol.OpAppend, "ap", "", "+cas", cas), binGetReq("ap"))
		}},
	}},
	{name: "delete", steps: []binStep{
		binStepOf(
			binSetReq("del1", "a"), binSetReq("del2", "b"), binSetReq("del3", "c"),
			binMsg(protocol.OpDelete, "del1", "", ""),
			binMsg(protocol.OpDelete, "del1", "", ""),
			binMsg(protocol.OpDeleteQ, "del2", "", ""),
			binMsg(protocol.OpDeleteQ, "del2", "", ""),
			binMsgCAS(protocol.OpDelete, "del3", "", "", 1),
			binGetReq("del1"), binGetReq("del2"), binGetReq("del3")),
		{reqCAS: func(cas uint64) []byte {
			return binJoin(binMsgCAS(protocol.OpDelete, "del3", "", "", cas), binGetReq("del3"))
		}},
	}},
	// Counters are read in steps of their own: memcached rewrites a
	// counter in a new item, unpadded, when a reply not yet sent still
	// holds the old one, which shoal, whose replies hold copies, does not.
	{name: "incr decr", steps: []binStep{
		binStepOf(
			binMsg(protocol.OpIncrement, "ctr", binArith(1, 10, 0), ""),
			binMsg(protocol.OpIncrement, "ctr", binArith(5, 10, 0), ""),
			binMsg(protocol.OpDecrement, "ctr", binArith(6, 10, 0), "")),
		binStepOf(binGetReq("ctr")),
		binStepOf(
			binMsg(protocol.OpDecrement, "ctr", binArith(100, 10, 0), ""),
			binMsg(protocol.OpIncrementQ, "ctr", binArith(7, 0, 0), ""),
			binMsg(protocol.OpDecrementQ, "ctr", binArith(2, 0, 0), ""),
			binMsg(protocol.OpIncrement, "ctr", binArith(0, 0, 0), ""),
			binMsg(protocol.OpIncrement, "ctr-nocreate", binArith(1, 10, protocol.NoCreateExptime), ""),
			binMsg(protocol.OpDecrementQ, "ctr-nocreate", binArith(1, 10, protocol.NoCreateExptime), ""),
			binMsg(protocol.OpDecrement, "ctr-create", binArith(1, 1<<63, 3600), ""),
			binSetReq("ctr-text", "ten"),
			binMsg(protocol.OpIncrement, "ctr-text", binArith(1, 0, 0), ""),
			binSetReq("ctr-max", "18446744073709551615"),
			binMsg(protocol.OpIncrement, "ctr-max", binArith(2, 0, 0), ""),
			binGetReq("ctr-max"),
			binMsgCAS(protocol.OpIncrement, "ctr", binArith(1, 0, 0), "", 1)),
		{reqCAS: func(cas uint64) []byte {
			return binJoin(binMsgCAS(protocol.OpIncrement, "ctr", binArith(1, 0, 0), "", cas), binGetReq("ctr"))
		}},
	}},
	{name: "touch gat", steps: []binStep{binStepOf(
		binMsg(protocol.OpSet, "tg", binFlags(9, 0), "value"),
		binMsg(protocol.OpTouch, "tg", binExptime(3600), ""),
		binMsg(protocol.OpTouch, "tg-missing", binExptime(3600), ""),
		binMsg(protocol.OpGAT, "tg", binExptime(3600), ""),
		binMsg(protocol.OpGATK, "tg", binExptime(0), ""),
		binMsg(protocol.OpGATQ, "tg", binExptime(3600), ""),
		binMsg(protocol.OpGATKQ, "tg", binExptime(3600), ""),
		binMsg(protocol.OpGAT, "tg-missing", binExptime(3600), ""),
		binMsg(protocol.OpGATK, "tg-missing", binExptime(3600), ""),
		binMsg(protocol.OpGATQ, "tg-missing", binExptime(3600), ""),
		binMsg(protocol.OpGATKQ, "tg-missing", binExptime(3600), ""),
	)}},
	{name: "decr pads in place", steps: []binStep{binStepOf(
		binSetReq("pad", "100"),
		binMsg(protocol.OpDecrement, "pad", binArith(91, 0, 0), ""),
		binGetReq("pad"),
		binMsg(protocol.OpIncrement, "pad", binArith(991, 0, 0), ""),
		binGetReq("pad"),
	)}},
	{name: "flush", steps: []binStep{binStepOf(
		binSetReq("fl1", "a"),
		binMsg(protocol.OpFlush, "", "", ""),
		binGetReq("fl1"),
		binSetReq("fl2", "b"),
		binMsg(protocol.OpFlushQ, "", binExptime(0), ""),
		binGetReq("fl2"),
		binSetReq("fl3", "c"),
		binMsg(protocol.OpFlush, "", binExptime(0), ""),
		binGetReq("fl3"),
	)}},
	{name: "stat groups", steps: []binStep{binStepOf(
		binMsg(protocol.OpStat, "reset", "", ""),
		binMsg(protocol.OpStat, "resetting", "", ""),
		binMsg(protocol.OpStat, "sizes", "", ""),
		binMsg(protocol.OpStat, "bogus", "", ""),
		binMsg(protocol.OpStat, "conns", "", ""),
		binMsg(protocol.OpStat, "item", "", ""),
	)}},
	{name: "quit", steps: []binStep{binClosing(binSetReq("quit", "v"), binMsg(protocol.OpQuit, "", "", ""), binGetReq("quit"))}},
	{name: "quitq", steps: []binStep{binClosing(binSetReq("quitq", "v"), binMsg(protocol.OpQuitQ, "", "", ""), binGetReq("quitq"))}},
	{name: "quitq sends pending errors", steps: []binStep{binClosing(
		binMsg(protocol.OpAddQ, "quitq", binFlags(0, 0), "v"),
		binMsg(protocol.OpGetKQ, "quitq", "", ""),
		binMsg(protocol.OpQuitQ, "", "", ""))}},
	{name: "sasl off", steps: []binStep{binStepOf(
		binMsg(protocol.OpSASLListMechs, "", "", ""),
		binMsg(protocol.OpSASLAuth, "PLAIN", "", "\x00user\x00pass"),
		binMsg(protocol.OpSASLStep, "PLAIN", "", "more"),
	)}},
	{name: "sasl auth without key", steps: []binStep{binClosing(binMsg(protocol.OpSASLAuth, "", "", "\x00user\x00pass"))}},
	{name: "verbosity is unknown and over-swallows", steps: []binStep{binStepOf(
		binMsg(protocol.OpVerbosity, "", binExptime(1), ""), []byte("JUNK"))}},
	{name: "unknown opcodes", steps: []binStep{binStepOf(
		binMsg(0x50, "", "", ""),
		binMsg(0xfe, "ky", "extr", "value"), []byte("ky"+"extr"),
		binMsg(0x1f, "", "", ""),
	)}},
	{name: "too large", steps: []binStep{binStepOf(
		binSetReq("big", "small"),
		binMsg(protocol.OpSet, "big", binFlags(0, 0), binBigVal),
		binGetReq("big"),
		binMsg(protocol.OpSetQ, "big", binFlags(0, 0), binBigVal),
		binMsg(protocol.OpAdd, "big2", binFlags(0, 0), binBigVal),
		binMsg(protocol.OpAppend, "big2", "", binBigVal),
		binSetReq("big3", "small"),
		binMsg(protocol.OpReplace, "big3", binFlags(0, 0), binBigVal),
		binGetReq("big3"),
	)}},
	{name: "append past the item size", steps: []binStep{binStepOf(
		binSetReq("grow", binHalfMeg),
		binMsg(protocol.OpAppend, "grow", "", binHalfMeg),
		binMsg(protocol.OpPrependQ, "grow", "", binHalfMeg),
		binGetReq("grow"),
	)}},
	{name: "trickled", steps: []binStep{{req: binJoin(binSetReq("trickle", "slowly"), binGetReq("trickle")), trickle: true}}},
	{name: "pipelined quiet batch", steps: []binStep{binStepOf(
		binSetReq("pq1", "1"), binSetReq("pq3", "3"),
		binMsg(protocol.OpGetKQ, "pq1", "", ""),
		binMsg(protocol.OpGetKQ, "pq2", "", ""),
		binMsg(protocol.OpGetKQ, "pq3", "", ""),
		binMsg(protocol.OpSetQ, "pq4", binFlags(0, 0), "4"),
		binMsg(protocol.OpGetKQ, "pq4", "", ""),
	)}},
	{name: "partial header waits", steps: []binStep{{req: binGetReq("x")[:10], end: binUntilQuiet}}},
	{name: "key not yet sent waits", steps: []binStep{{req: binRaw(0x80, protocol.OpGet, 1000, 0, 1000, 0), end: binUntilQuiet}}},
	{name: "long key answered after it arrives", steps: []binStep{binClosing(binGetReq(strings.Repeat("k", 16000)))}},
	{name: "key and extras past the read buffer", steps: []binStep{binClosing(binGetReq(strings.Repeat("k", 16361)))}},
	{name: "large body is swallowed", steps: []binStep{{req: binRaw(0x80, protocol.OpSet, 1, 8, 1<<30, 0), end: binUntilQuiet}}},
	// memcached holds the length it discards after an unknown or SASL
	// request in a C int: from 2 GB on it is negative, so it answers at
	// once, discards nothing and reads what follows as the next request.
	{name: "unknown opcode with a 4 GB body", steps: []binStep{binStepOf(binRaw(0x80, 0x50, 0, 0, 0xffffffff, 0))},
		want: "81 50 k0 e0 t0 s0081 b15 o=a5a50050 c0 \"Unknown command\"\n" + binSentinelLine},
	{name: "unknown opcode with a 2 GB body, extras and key", steps: []binStep{binStepOf(
		binRaw(0x80, 0xfe, 2, 4, 1<<31, 0), []byte("extr"+"ky"), binNoopReq)}},
	{name: "sasl auth with a 2 GB value", steps: []binStep{binStepOf(
		binRaw(0x80, protocol.OpSASLAuth, 5, 0, 1<<31+5, 0), []byte("PLAIN"))}},
	{name: "unknown opcode with a body under 2 GB is swallowed", steps: []binStep{
		{req: binRaw(0x80, 0x50, 0, 0, 1<<31-1, 0), end: binUntilQuiet}}},
	{name: "sasl auth with a value under 2 GB is swallowed", steps: []binStep{
		{req: binJoin(binRaw(0x80, protocol.OpSASLAuth, 5, 0, 1<<31+4, 0), []byte("PLAIN")), end: binUntilQuiet}}},

	// Malformed requests: memcached answers and closes.
	{name: "key past body", steps: []binStep{binClosing(binRaw(0x80, protocol.OpGet, 3, 0, 2, 0), []byte("abc"))}},
	{name: "key past body unknown opcode", steps: []binStep{binClosing(binRaw(0x80, 0x50, 3, 4, 5, 0), []byte("extrkey"))}},
	{name: "key too long", steps: []binStep{binClosing(binGetReq(strings.Repeat("k", 251)))}},
	{name: "key too long set", steps: []binStep{binClosing(binSetReq(strings.Repeat("k", 300), "v"))}},
	{name: "get with extras", steps: []binStep{binClosing(binMsg(protocol.OpGet, "k", "extr", ""))}},
	{name: "get without key", steps: []binStep{binClosing(binMsg(protocol.OpGetQ, "", "", ""))}},
	{name: "get with value", steps: []binStep{binClosing(binMsg(protocol.OpGetK, "k", "", "v"))}},
	{name: "set without extras", steps: []binStep{binClosing(binMsg(protocol.OpSet, "k", "", "v"))}},
	{name: "setq without key", steps: []binStep{binClosing(binMsg(protocol.OpSetQ, "", binFlags(0, 0), "v"))}},
	{name: "append with extras", steps: []binStep{binClosing(binMsg(protocol.OpAppend, "k", binFlags(0, 0), "v"))}},
	{name: "delete with value", steps: []binStep{binClosing(binMsg(protocol.OpDeleteQ, "k", "", "v"))}},
	{name: "incr short extras", steps: []binStep{binClosing(binMsg(protocol.OpIncrement, "k", binFlags(0, 0), ""))}},
	{name: "incr with value", steps: []binStep{binClosing(binMsg(protocol.OpDecrementQ, "k", binArith(1, 0, 0), "v"))}},
	{name: "touch without extras", steps: []binStep{binClosing(binMsg(protocol.OpTouch, "k", "", ""))}},
	{name: "gatkq without key", steps: []binStep{binClosing(binMsg(protocol.OpGATKQ, "", binExptime(0), ""))}},
	{name: "flush with 8 extras", steps: []binStep{binClosing(binMsg(protocol.OpFlush, "", binFlags(0, 0), ""))}},
	{name: "flush with key", steps: []binStep{binClosing(binMsg(protocol.OpFlushQ, "k", "", ""))}},
	{name: "noop with body", steps: []binStep{binClosing(binMsg(protocol.OpNoop, "", "", "v"))}},
	{name: "version with key", steps: []binStep{binClosing(binMsg(protocol.OpVersion, "k", "", ""))}},
	{name: "quit with extras", steps: []binStep{binClosing(binMsg(protocol.OpQuit, "", binExptime(0), ""))}},
	{name: "stat with extras", steps: []binStep{binClosing(binMsg(protocol.OpStat, "", binExptime(0), ""))}},
	{name: "error sends pending replies", steps: []binStep{binClosing(binSetReq("pend", "v"), binGetReq("pend"), binMsg(protocol.OpGet, "pend", "extr", ""))}},

	// A header with a bad magic drops the connection and the replies
	// memcached had not yet sent: successes are batched, errors and noops
	// sent at once.
	{name: "bad magic after noop", steps: []binStep{binClosing(binNoopReq, binRaw(0x00, protocol.OpNoop, 0, 0, 0, 0))}},
	{name: "bad magic drops batched replies", steps: []binStep{binClosing(binSetReq("bm", "v"), binGetReq("bm"), binRaw(0x81, protocol.OpNoop, 0, 0, 0, 0))}},
	{name: "bad magic after an error", steps: []binStep{binClosing(binGetReq("bm-missing"), binRaw(0x81, protocol.OpNoop, 0, 0, 0, 0))}},
	{name: "bad magic after getk miss", steps: []binStep{binClosing(binMsg(protocol.OpGetK, "bm-missing", "", ""), binRaw(0x81, protocol.OpNoop, 0, 0, 0, 0))}},
	{name: "stat value read as a header", steps: []binStep{binClosing(binRaw(0x80, protocol.OpStat, 5, 0, 7, 0), []byte("sizeszz"), binNoopReq)}},
	{name: "text after binary waits for a header", steps: []binStep{{req: binJoin(binNoopReq, []byte("get foo\r\n")), end: binUntilQuiet}}},
	{name: "text after binary", steps: []binStep{binClosing(binNoopReq, []byte("get foo\r\nget bar\r\nget baz\r\n"))}},
}

const binSentinelLine = "81 0a k0 e0 t0 s0000 b0 o=05e471e1 c0 \"\"\n"

func TestBinaryMatchesMemcached(t *testing.T) {
	conformance.Check(t, []conformance.Peer{
		{Name: "shoal", Addr: StartTestNode(t)},
		{Name: "memcached", Addr: conformance.Memcached(t)},
	}, conformance.Exact, binCases)
}

func (tc binCase) Name() string { return tc.name }

// Want is the normalised reply expected, or "" for the one memcached gives.
func (tc binCase) Want() []string { return []string{tc.want} }

// Run runs tc on s and returns its replies, normalised, one packet per
// line, the steps one after another.
func (tc binCase) Run(s *conformance.Session) ([]string, error) {
	var out strings.Builder
	n := binNormaliser{}
	var lastCAS uint64
	for i, st := range tc.steps {
		if i > 0 {
			fmt.Fprintf(&out, "-- step %d\n", i)
		}
		req := st.req
		if st.reqCAS != nil {
			req = st.reqCAS(lastCAS)
		}
		if st.end == binUntilNoop {
			req = binJoin(req, binSentinel)
		}
		// The server may close before reading everything; what it sent
		// is what counts.
		go binSend(s, req, st.trickle)
		raw, end := binReceive(s, st.end)
		lastCAS = n.write(&out, raw, lastCAS)
		out.WriteString(end)
	}
	return []string{out.String()}, nil
}

// runBinaryCase runs tc on a new session to addr and returns its replies.
func runBinaryCase(t *testing.T, addr string, tc binCase) string {
	got, _ := tc.Run(conformance.DialTB(t, addr))
	return got[0]
}

func binSend(s *conformance.Session, req []byte, trickle bool) {
	if trickle {
		_ = s.Trickle(req)
	} else {
		_ = s.Send(req)
	}
}

// binReceive reads a step's reply: up to the sentinel noop's reply, or
// until the server closes, or until it has been quiet for binQuietWait. It
// notes an unexpected ending.
func binReceive(s *conformance.Session, end int) (raw []byte, note string) {
	within := 10 * time.Second
	var done func([]byte) bool
	switch end {
	case binUntilQuiet:
		within = binQuietWait
	case binUntilNoop:
		done = func(raw []byte) bool { return bytes.HasSuffix(raw, binSentinelReply) && binComplete(raw) }
	}
	raw, ending, err := s.Await(within, done)
	switch {
	case ending == conformance.Complete:
		return raw, ""
	case ending == conformance.Silent && end == binUntilQuiet:
		return raw, "(open)\n"
	case ending == conformance.Silent:
		return raw, "(timed out)\n"
	case ending == conformance.Closed && end == binUntilClose:
		return raw, "(closed)\n"
	case ending == conformance.Closed:
		return raw, "(closed unexpectedly)\n"
	}
	return raw, fmt.Sprintf("(error %v)\n", err)
}

var binSentinelReply = func() []byte {
	b := make([]byte, 24)
	b[0], b[1] = 0x81, byte(protocol.OpNoop)
	copy(b[12:], binSentinel[12:16])
	return b
}()

// binComplete reports whether raw is whole packets.
func binComplete(raw []byte) bool {
	for len(raw) >= 24 {
		n := 24 + int(binary.BigEndian.Uint32(raw[8:]))
		if len(raw) < n {
			return false
		}
		raw = raw[n:]
	}
	return len(raw) == 0
}

// binNormaliser numbers CAS uniques in order of appearance, so that two
// servers' replies compare equal when their CAS values relate the same way.
type binNormaliser map[uint64]int

// write formats raw's packets, one a line, with every header field, and
// returns the last nonzero raw CAS.
func (n binNormaliser) write(out *strings.Builder, raw []byte, lastCAS uint64) uint64 {
	for len(raw) >= 24 {
		bodyLen := int(binary.BigEndian.Uint32(raw[8:]))
		if len(raw) < 24+bodyLen {
			break
		}
		cas := binary.BigEndian.Uint64(raw[16:])
		casName := 0
		if cas != 0 {
			lastCAS = cas
			if _, ok := n[cas]; !ok {
				n[cas] = len(n) + 1
			}
			casName = n[cas]
		}
		body := fmt.Sprintf("%q", raw[24:24+bodyLen])
		length := strconv.Itoa(bodyLen)
		status := binary.BigEndian.Uint16(raw[6:])
		switch {
		case raw[1] == byte(protocol.OpVersion) && status == 0:
			body, length = `"<version>"`, "<v>"
		case bodyLen > 64: // long values by digest, to keep failures readable
			body = fmt.Sprintf("%q...sha256:%x", raw[24:24+32], sha256.Sum256(raw[24:24+bodyLen]))
		}
		fmt.Fprintf(out, "%02x %02x k%d e%d t%d s%04x b%s o=%08x c%d %s\n",
			raw[0], raw[1], binary.BigEndian.Uint16(raw[2:]), raw[4], raw[5], status, length,
			binary.BigEndian.Uint32(raw[12:]), casName, body)
		raw = raw[24+bodyLen:]
	}
	if len(raw) > 0 {
		fmt.Fprintf(out, "trailing %q\n", raw)
	}
	return lastCAS
}

// TestBinaryStats checks the stat packets' framing against memcached's, and
// that shoal's are its text stats: same names and order.
func TestBinaryStats(t *testing.T) {
	srv, shoal := StartTestServer(t)
	mc := conformance.Memcached(t)
	for _, group := range []string{"", "settings", "settingsfoo", "items", "slabs"} {
		t.Run("stats "+group, func(t *testing.T) {
			req := binJoin(binSetReq("stat-item", "v"), binMsg(protocol.OpStat, group, "", ""))
			shoalNames := binStatNames(t, shoal, req)
			mcNames := binStatNames(t, mc, req)
			if len(mcNames) == 0 || len(shoalNames) == 0 {
				t.Fatalf("no stats: shoal %d, memcached %d", len(shoalNames), len(mcNames))
			}
			var text []byte
			switch group {
			case "":
				text = srv.appendGeneralStats(nil)
			case "items":
				text = srv.appendItemStats(nil)
			case "slabs":
				text = srv.appendSlabStats(nil)
			default:
				text = srv.appendSettings(nil)
			}
			var want []string
			for _, line := range strings.Split(strings.TrimSuffix(string(text), "\r\n"), "\r\n") {
				want = append(want, strings.Fields(line)[1])
			}
			if strings.Join(shoalNames, " ") != strings.Join(want, " ") {
				t.Errorf("binary stat names\n%v\ntext stat names\n%v", shoalNames, want)
			}
		})
	}
}

// binStatNames sends req (a set, then a stat) and returns the stat names,
// checking every packet's framing.
func binStatNames(t *testing.T, addr string, req []byte) []string {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(req); err != nil {
		t.Fatal(err)
	}
	var hdr [24]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil || hdr[1] != byte(protocol.OpSet) || hdr[7] != 0 {
		t.Fatalf("%s: set reply % x, %v", addr, hdr, err)
	}
	var names []string
	for {
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			t.Fatalf("%s: %v after %v", addr, err, names)
		}
		keyLen := int(binary.BigEndian.Uint16(hdr[2:]))
		body := make([]byte, binary.BigEndian.Uint32(hdr[8:]))
		if _, err := io.ReadFull(nc, body); err != nil {
			t.Fatal(err)
		}
		opaque := binary.BigEndian.Uint32(hdr[12:])
		if hdr[0] != 0x81 || hdr[1] != byte(protocol.OpStat) || hdr[4] != 0 || hdr[5] != 0 ||
			binary.BigEndian.Uint16(hdr[6:]) != 0 || opaque != 0xa5a50010 ||
			binary.BigEndian.Uint64(hdr[16:]) != 0 || keyLen > len(body) {
			t.Fatalf("%s: bad stat packet % x %q", addr, hdr, body)
		}
		if len(body) == 0 {
			return names
		}
		if keyLen == 0 || keyLen == len(body) {
			t.Fatalf("%s: stat packet without name or value: %q", addr, body)
		}
		names = append(names, string(body[:keyLen]))
	}
}

// TestBinaryDeclaredBodyIsNotAllocated sets a 256 MB value: the node
// discards it as it arrives, allocating nothing like its length, then
// answers Too large, as memcached does after swallowing it.
func TestBinaryDeclaredBodyIsNotAllocated(t *testing.T) {
	s := conformance.DialTB(t, StartTestNode(t))
	nc := s.Conn()
	_ = nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	const size = 256 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sent := make(chan error, 1)
	go func() {
		_, err := nc.Write(binJoin(binRaw(0x80, protocol.OpSet, 1, 8, 9+size, 0), []byte(binFlags(0, 0)+"k")))
		chunk := make([]byte, 1<<20)
		for n := 0; n < size && err == nil; n += len(chunk) {
			_, err = nc.Write(chunk)
		}
		if err == nil {
			_, err = nc.Write(binSentinel)
		}
		sent <- err
	}()
	raw, end := binReceive(s, binUntilNoop)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	var got strings.Builder
	binNormaliser{}.write(&got, raw, 0)
	got.WriteString(end)
	want := "81 01 k0 e0 t0 s0003 b10 o=a5a50001 c0 \"Too large.\"\n" + binSentinelLine
	if got.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", got.String(), want)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("allocated %d MB for a %d MB value it discarded", grew>>20, size>>20)
	}
}

// TestBinaryConfigEndpoint checks a node without storage: gets miss,
// storage commands fail with the value discarded.
func TestBinaryConfigEndpoint(t *testing.T) {
	_, addr := StartTestServer(t, func(c *Config) { c.NoStorage = true })
	got := runBinaryCase(t, addr, binCase{steps: []binStep{binStepOf(
		binGetReq("k"),
		binSetReq("k", "value"),
		binMsg(protocol.OpDelete, "k", "", ""),
		binMsg(protocol.OpIncrement, "k", binArith(1, 0, 0), ""),
		binMsg(protocol.OpFlush, "", "", ""),
	)}})
	want := "81 00 k0 e0 t0 s0001 b9 o=a5a50000 c0 \"Not found\"\n" +
		"81 01 k0 e0 t0 s0083 b38 o=a5a50001 c0 \"no storage on a configuration endpoint\"\n" +
		"81 04 k0 e0 t0 s0083 b38 o=a5a50004 c0 \"no storage on a configuration endpoint\"\n" +
		"81 05 k0 e0 t0 s0083 b38 o=a5a50005 c0 \"no storage on a configuration endpoint\"\n" +
		"81 08 k0 e0 t0 s0000 b0 o=a5a50008 c0 \"\"\n" + binSentinelLine
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestMemccapable runs libmemcached's conformance tool, binary and ascii,
// against an in-process node.
func TestMemccapable(t *testing.T) {
	testproc.Tool(t, "memccapable", "libmemcached-tools")
	_, addr := StartTestServer(t)
	host, port, _ := net.SplitHostPort(addr)
	for _, mode := range []string{"-b", "-a"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, "memccapable", mode, "-h", host, "-p", port).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "All tests passed") || strings.Contains(string(out), "[FAIL]") {
				t.Fatalf("memccapable %s: %v\n%s", mode, err, out)
			}
		})
	}
}

// BenchmarkBinaryGetHit times binary gets of a 100-byte value on one
// connection each to an in-process node and to memcached, alternating
// between them: one get per round trip, and 100 pipelined. allocs/op counts
// this process, the node and a client that allocates nothing.
//
//	go test -run '^$' -bench BinaryGetHit -benchmem ./node/
func BenchmarkBinaryGetHit(b *testing.B) {
	b.Run("roundtrip", func(b *testing.B) { benchBinaryGets(b, 1) })
	b.Run("pipelined", func(b *testing.B) { benchBinaryGets(b, 100) })
}

func benchBinaryGets(b *testing.B, depth int) {
	_, shoal := StartTestServer(b)
	mc := conformance.Memcached(b)
	var conns [2]net.Conn
	for i, addr := range []string{shoal, mc} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		conns[i] = nc
		if _, err := nc.Write(binJoin(binSetReq("bench", strings.Repeat("v", 100)), binNoopReq)); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, make([]byte, 48)); err != nil {
			b.Fatal(err)
		}
	}
	req := bytes.Repeat(binGetReq("bench"), depth)
	reply := make([]byte, depth*(24+4+100))
	var took [2]time.Duration
	batch := func(i int) {
		start := time.Now()
		if _, err := conns[i].Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(conns[i], reply); err != nil {
			b.Fatal(err)
		}
		took[i] += time.Since(start)
		if reply[0] != 0x81 || reply[7] != 0 {
			b.Fatalf("reply % x", reply[:24])
		}
	}
	for i := 0; i < 100; i++ { // warm up both
		batch(0)
		batch(1)
	}
	took = [2]time.Duration{}
	b.ReportAllocs()
	b.ResetTimer()
	batches := (b.N + depth - 1) / depth
	for i := 0; i < batches; i++ {
		batch(0)
		batch(1)
	}
	gets := float64(batches * depth)
	b.ReportMetric(float64(took[0].Nanoseconds())/gets, "shoal-ns/get")
	b.ReportMetric(float64(took[1].Nanoseconds())/gets, "memcached-ns/get")
	b.ReportMetric(float64(took[0])/float64(took[1]), "shoal/memcached")
}
