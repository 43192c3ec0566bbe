package bench

import (
	"bytes"
	"errors"
	"testing"
)

func TestFramedValueRoundTrip(t *testing.T) {
	filler := newFiller(1, 1000)
	key := []byte("key:42")
	for _, n := range []int{frameOverhead + len(key), 100, 1000} {
		v := appendFramed([]byte("prefix"), key, n, filler[7:])
		v = v[len("prefix"):]
		if len(v) != n {
			t.Fatalf("framed value of %d bytes, want %d", len(v), n)
		}
		if err := CheckValue(key, v); err != nil {
			t.Fatalf("%d bytes: %v (%q)", n, err, v)
		}
	}
	v := appendFramed(nil, key, 40, filler)
	if want := "key:42 " + string(filler[:40-frameOverhead-len(key)]); string(v[9:]) != want {
		t.Fatalf("value %q, want checksum, space, then %q", v, want)
	}
}

func TestCheckValueCatchesEveryCorruption(t *testing.T) {
	key := []byte("key:7")
	good := appendFramed(nil, key, 64, newFiller(2, 64))
	// Any one byte changed, anywhere, is caught.
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		if err := CheckValue(key, bad); err == nil {
			t.Fatalf("byte %d flipped (%q) went unnoticed", i, bad)
		}
	}
	other := appendFramed(nil, []byte("key:8"), 64, newFiller(2, 64))
	for _, c := range []struct {
		name  string
		key   []byte
		value []byte
		want  error
	}{
		{"intact", key, good, nil},
		{"truncated", key, good[:60], ErrValueChecksum},
		{"extended", key, append(bytes.Clone(good), 'x'), ErrValueChecksum},
		{"another key's value", key, other, ErrValueKey},
		{"key is a prefix of the written one", []byte("key:"), good, ErrValueKey},
		{"too short", key, good[:10], ErrValueShort},
		{"unframed", key, bytes.Repeat([]byte("a"), 64), ErrValueFrame},
		{"no space after the key", key, []byte("00000000 key:7xxxxxxxxx"), ErrValueFrame},
		{"checksum not hex", key, append([]byte("g"), good[1:]...), ErrValueFrame},
		{"no space after the checksum", key, append(bytes.Clone(good[:8]), good[9:]...), ErrValueFrame},
	} {
		if err := CheckValue(c.key, c.value); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestFillerIsPrintable(t *testing.T) {
	f := newFiller(3, 10)
	if len(f) != 10+fillerSlack {
		t.Fatalf("filler of %d bytes", len(f))
	}
	for _, b := range f {
		if b < 'a' || b > 'z' {
			t.Fatalf("filler byte %q", b)
		}
	}
}
