package node

import (
	"testing"

	"github.com/shoal-cache/shoal/protocol"
)

func TestTextFramed(t *testing.T) {
	tests := []struct {
		buf  string
		want bool
	}{
		{"get k\r\n", true},
		{"get k", false},
		{"gets a b c\n", true},
		{"mg k v\r\n", true},
		{"version\r\n", true},
		{"\r\n", true},
		{"set k 0 0 5\r\nhello\r\n", true},
		{"set k 0 0 5\r\nhello\r", false},
		{"set k 0 0 5\r\nhel", false},
		{"set k 0 0 5\r\n", false},
		{"set k 0 0 5 noreply\r\nhello\r\nget k\r\n", true},
		{"set  k  0  0  5\r\nhello\r\n", true},
		{"cas k 0 0 2 77\r\nhi\r\n", true},
		{"append k 0 0 0\r\n\r\n", true},
		{"prepend k 0 0 1\r\n", false},
		{"ms k 2 T0\r\nhi\r\n", true},
		{"ms k 2\r\nhi", false},
		{"ms k\r\n", false},         // no length: serve answers it
		{"set k 0 0\r\n", false},    // too few tokens
		{"set k 0 0 -1\r\n", false}, // not a length
		{"set k 0 0 5x\r\n", false}, // not a length
		{"set k 0 0 99999999999\r\n", false},
		{"watch\r\n", false},
		{"watch fetchers\r\n", false},
	}
	for _, tt := range tests {
		if got, _ := textFramed([]byte(tt.buf), make([][]byte, 0, protocol.MaxTokens)); got != tt.want {
			t.Errorf("textFramed(%q) = %v; want %v", tt.buf, got, tt.want)
		}
	}
}

func TestBinaryFramed(t *testing.T) {
	header := func(bodyLen uint32) []byte {
		h := make([]byte, 24)
		h[0] = 0x80
		h[8], h[9], h[10], h[11] = byte(bodyLen>>24), byte(bodyLen>>16), byte(bodyLen>>8), byte(bodyLen)
		return h
	}
	tests := []struct {
		name string
		buf  []byte
		want bool
	}{
		{"no body", header(0), true},
		{"a partial header", header(0)[:23], false},
		{"body all there", append(header(5), "hello"...), true},
		{"body short", append(header(5), "hell"...), false},
		{"and the next request's start", append(append(header(1), 'x'), 0x80), true},
		{"wrong magic", append([]byte{0x81}, header(0)[1:]...), false},
		{"a body longer than any buffer", header(1 << 31), false},
	}
	for _, tt := range tests {
		if got := binaryFramed(tt.buf); got != tt.want {
			t.Errorf("%s: binaryFramed = %v; want %v", tt.name, got, tt.want)
		}
	}
}
