package authfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParseAndCheck(t *testing.T) {
	f, err := Parse([]byte("alice:s3cret\r\nbob:hunter2:with:colons\n\ncarol:\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, pass string
		ok         bool
	}{
		{"alice", "s3cret", true},
		{"bob", "hunter2:with:colons", true},
		{"carol", "", true},
		{"alice", "s3cre", false},
		{"alice", "s3cret ", false},
		{"Alice", "s3cret", false},
		{"bob", "s3cret", false},
		{"", "", false},
		{"dave", "x", false},
	}
	for _, tt := range tests {
		if got := f.Check([]byte(tt.user), []byte(tt.pass)); got != tt.ok {
			t.Errorf("Check(%q, %q) = %v, want %v", tt.user, tt.pass, got, tt.ok)
		}
	}
	if f.Len() != 3 {
		t.Errorf("%d entries, want 3", f.Len())
	}
}

func TestParseMalformed(t *testing.T) {
	if _, err := Parse([]byte("alice:s3cret\nnocolon\n")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(path, []byte("u:p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil || !f.Check([]byte("u"), []byte("p")) {
		t.Fatalf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("alice:s3cret\nbob:x\r\n"))
	f.Add([]byte(":\n\n:a:b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, e := range file.entries {
			if !file.Check(e.user, e.pass) {
				t.Fatalf("entry %q:%q does not check", e.user, e.pass)
			}
		}
	})
}
