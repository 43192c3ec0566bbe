package protocol

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestRequestStats(t *testing.T) {
	tests := []struct {
		name, group, reply string
		want               Stats
		err                error
	}{
		{"stats", "", "STAT pid 42\r\nSTAT version 1.6.18\r\nEND\r\n",
			Stats{{"pid", "42"}, {"version", "1.6.18"}}, nil},
		{"a value with spaces", "settings", "STAT inter some thing\r\nSTAT empty \r\nEND\r\n",
			Stats{{"inter", "some thing"}, {"empty", ""}}, nil},
		{"latency", "latency", "STAT all:count 3\r\nSTAT all:p99_us 12\r\nEND\r\n",
			Stats{{"all:count", "3"}, {"all:p99_us", "12"}}, nil},
		{"empty group", "conns", "END\r\n", nil, nil},
		{"unknown group", "latency", "ERROR\r\n", nil, ErrUnknownCommand},
		{"refused", "cachedump 1 1", "CLIENT_ERROR stats cachedump not allowed\r\n", nil, ErrClientReply},
		{"server error", "", "SERVER_ERROR out of memory writing stats\r\n", nil, ErrServerReply},
		{"not a STAT line", "", "STAT pid 1\r\nVALUE x 0 1\r\nEND\r\n", nil, ErrMalformedStats},
		{"no value", "", "STAT pid\r\nEND\r\n", nil, ErrMalformedStats},
		{"no name", "", "STAT  1\r\nEND\r\n", nil, ErrMalformedStats},
		{"ERROR after STAT lines", "", "STAT pid 1\r\nERROR\r\n", nil, ErrMalformedStats},
		{"cut short", "", "STAT pid 1\r\n", nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw, sent := fakeServer(tt.reply)
			got, err := RequestStats(rw, tt.group)
			if want := StatsCommand(tt.group) + "\r\n"; sent.String() != want {
				t.Errorf("sent %q, want %q", sent, want)
			}
			if !errors.Is(err, tt.err) || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// A hostile server cannot make the client read without bound: not one
// endless line, nor endless short ones.
func TestReadStatsBounds(t *testing.T) {
	tests := []struct {
		name  string
		reply io.Reader
	}{
		{"a line longer than the buffer", io.MultiReader(strings.NewReader("STAT a "), endless('x'))},
		{"lines without end", endlessLines("STAT a 1\r\n")},
		{"long lines without end", endlessLines("STAT a " + strings.Repeat("y", 3000) + "\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadStats(bufio.NewReaderSize(tt.reply, 4096))
			if !errors.Is(err, ErrMalformedStats) {
				t.Fatalf("err %v, want ErrMalformedStats", err)
			}
		})
	}
}

func TestStatsLookup(t *testing.T) {
	s := Stats{{"a", "1"}, {"b", "2"}, {"a", "3"}}
	if v, ok := s.Lookup("a"); !ok || v != "1" {
		t.Errorf("Lookup(a) = %q, %v", v, ok)
	}
	if _, ok := s.Lookup("c"); ok {
		t.Error("Lookup(c) found")
	}
	if m := s.Map(); !reflect.DeepEqual(m, map[string]string{"a": "3", "b": "2"}) {
		t.Errorf("Map = %v", m)
	}
}

// endless is a reader of the same byte for ever.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// endlessLines is a reader of the same line for ever.
func endlessLines(line string) io.Reader { return &repeater{line: line} }

type repeater struct {
	line string
	off  int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}
