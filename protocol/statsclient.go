package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// The client half of stats: asking a server for a stats group and reading
// its "STAT <name> <value>" lines up to END. As with configuration, the
// caller dials, sets deadlines and owns the connection.

// Errors a stats request ends with. The server's own words are in the
// wrapped error's text.
var (
	// ErrUnknownCommand reports a bare ERROR: memcached's answer to a stats
	// group it does not have (and a plain memcached's to `stats latency`).
	ErrUnknownCommand = errors.New("protocol: server answered ERROR")
	// ErrClientReply reports a CLIENT_ERROR reply, such as memcached's
	// "CLIENT_ERROR bad command line" to stats arguments it refuses.
	ErrClientReply = errors.New("protocol: server answered CLIENT_ERROR")
	// ErrServerReply reports a SERVER_ERROR reply, such as memcached's
	// "SERVER_ERROR out of memory writing stats".
	ErrServerReply = errors.New("protocol: server answered SERVER_ERROR")
	// ErrMalformedStats reports a stats reply that is not STAT lines and END,
	// or that is longer than a client reads.
	ErrMalformedStats = errors.New("protocol: malformed stats reply")
)

// Bounds of a stats reply a client reads, beside the line length its reader's
// buffer sets: memcached's longest, `stats slabs` of every class or
// `stats items`, is a few thousand lines and well under a megabyte.
const (
	MaxStatLines = 1 << 14
	MaxStatBytes = 1 << 20
)

// Stat is one line of a stats reply.
type Stat struct {
	Name, Value string
}

// Stats is a stats reply in the order the server sent it.
type Stats []Stat

// Map returns the reply as a map from name to value (the last value of a
// repeated name).
func (s Stats) Map() map[string]string {
	m := make(map[string]string, len(s))
	for _, st := range s {
		m[st.Name] = st.Value
	}
	return m
}

// Lookup returns the value of name and whether the reply has it.
func (s Stats) Lookup(name string) (string, bool) {
	for _, st := range s {
		if st.Name == name {
			return st.Value, true
		}
	}
	return "", false
}

// StatsCommand is the request line for a stats group ("" for plain stats),
// without its CRLF.
func StatsCommand(group string) string {
	if group == "" {
		return "stats"
	}
	return "stats " + group
}

// RequestStats sends `stats [group]` and reads its reply.
func RequestStats(rw *bufio.ReadWriter, group string) (Stats, error) {
	if _, err := rw.WriteString(StatsCommand(group) + "\r\n"); err != nil {
		return nil, err
	}
	if err := rw.Flush(); err != nil {
		return nil, err
	}
	st, err := ReadStats(rw.Reader)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", StatsCommand(group), err)
	}
	return st, nil
}

// ReadStats reads "STAT <name> <value>" lines up to END. A line longer than
// r's buffer, more than MaxStatLines lines or MaxStatBytes bytes end it with
// ErrMalformedStats; an error reply in place of the first line ends it with
// ErrUnknownCommand, ErrClientReply or ErrServerReply.
func ReadStats(r *bufio.Reader) (Stats, error) {
	var out Stats
	total := 0
	for {
		line, err := readReplyLine(r)
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrMalformedStats, r.Size())
		}
		if err != nil {
			return nil, err
		}
		if string(line) == "END" {
			return out, nil
		}
		if len(out) == 0 {
			if err := ReplyError(line); err != nil {
				return nil, err
			}
		}
		total += len(line)
		if len(out) == MaxStatLines || total > MaxStatBytes {
			return nil, fmt.Errorf("%w: more than %d lines or %d bytes", ErrMalformedStats, MaxStatLines, MaxStatBytes)
		}
		st, ok := parseStatLine(line)
		if !ok {
			return nil, fmt.Errorf("%w: line %q", ErrMalformedStats, line)
		}
		out = append(out, st)
	}
}

// parseStatLine splits "STAT <name> <value>"; the value is the rest of the
// line, spaces and all ("STAT version 1.6.18", or a libevent's version).
func parseStatLine(line []byte) (Stat, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("STAT "))
	if !ok {
		return Stat{}, false
	}
	name, value, ok := bytes.Cut(rest, []byte(" "))
	if !ok || len(name) == 0 {
		return Stat{}, false
	}
	return Stat{string(name), string(value)}, true
}

// ReplyError maps a reply line (without CRLF) that is one of memcached's error
// replies to an error value, and any other line to nil.
func ReplyError(line []byte) error {
	switch {
	case string(line) == "ERROR":
		return ErrUnknownCommand
	case bytes.HasPrefix(line, []byte("CLIENT_ERROR")):
		return fmt.Errorf("%w: %s", ErrClientReply, strconv.Quote(string(line)))
	case bytes.HasPrefix(line, []byte("SERVER_ERROR")):
		return fmt.Errorf("%w: %s", ErrServerReply, strconv.Quote(string(line)))
	}
	return nil
}
