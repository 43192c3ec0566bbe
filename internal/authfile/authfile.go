// Package authfile reads memcached's authentication file, the one `-Y`
// names: one user:password per line. The node checks ASCII authentication
// (and SASL PLAIN) against it. A check compares every entry in constant
// time, so that its duration tells an attacker nothing about which user
// exists or how much of a password was right.
package authfile

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
)

// ErrMalformed reports a line that is not user:password.
var ErrMalformed = errors.New("authfile: malformed entry, want user:password")

// maxFileSize bounds the file read: a credentials file is a few lines.
const maxFileSize = 1 << 20

// File is a set of credentials. It is immutable: a reload makes a new one.
type File struct {
	entries []entry
}

type entry struct{ user, pass []byte }

// Load reads the file at path.
func Load(path string) (*File, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("authfile: %w", err)
	}
	if info.Size() > maxFileSize {
		return nil, fmt.Errorf("authfile: %s is %d bytes, over the %d a credentials file may have", path, info.Size(), maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authfile: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse reads credentials as memcached does: the user ends at the first
// colon, the password at the end of the line (the first CR or LF). Blank lines are
// skipped (memcached refuses them); a line without a colon is malformed.
func Parse(data []byte) (*File, error) {
	f := &File{}
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		user, pass, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return nil, fmt.Errorf("line %d: %w", n+1, ErrMalformed)
		}
		pass, _, _ = bytes.Cut(pass, []byte("\r"))
		f.entries = append(f.entries, entry{bytes.Clone(user), bytes.Clone(pass)})
	}
	return f, nil
}

// Len is the number of entries.
func (f *File) Len() int { return len(f.entries) }

// Check reports whether user and pass match an entry. It looks at every
// entry, whatever matches.
func (f *File) Check(user, pass []byte) bool {
	found := 0
	for _, e := range f.entries {
		found |= subtle.ConstantTimeCompare(user, e.user) & subtle.ConstantTimeCompare(pass, e.pass)
	}
	return found == 1
}
