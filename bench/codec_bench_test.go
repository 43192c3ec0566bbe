package bench

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// nopSink takes hits and checks them, as a verifying worker does.
type nopSink struct{ bad int }

func (s *nopSink) hit(key, value []byte) {
	if CheckValue(key, value) != nil {
		s.bad++
	}
}
func (s *nopSink) unasked([]byte) { s.bad++ }

// BenchmarkCodec is the generator's own cost of one get of a 100-byte value
// with verification, without the network: encoding the request, decoding
// the reply and checking the value. It bounds how fast one generator core
// can drive a server.
func BenchmarkCodec(b *testing.B) {
	key := []byte("key:12345")
	value := appendFramed(nil, key, 100, newFiller(1, 100))
	for _, p := range []Protocol{Text, Meta, Binary} {
		b.Run(string(p), func(b *testing.B) {
			// A hit's reply, byte for byte as memcached sends it.
			var reply bytes.Buffer
			switch p {
			case Text:
				reply.WriteString("VALUE key:12345 0 100\r\n" + string(value) + "\r\nEND\r\n")
			case Meta:
				reply.WriteString("VA 100 kkey:12345\r\n" + string(value) + "\r\n")
			case Binary:
				reply.WriteString(binGetReply(opGetK, string(key), string(value)))
			}
			canned := bytes.Repeat(reply.Bytes(), 1000)
			src := bytes.NewReader(canned)
			r := bufio.NewReaderSize(src, bufSize)
			w := bufio.NewWriterSize(io.Discard, bufSize)
			c := newCodec(p)
			keys := [][]byte{key}
			var s nopSink
			b.ReportAllocs()
			b.SetBytes(int64(reply.Len()))
			for i := 0; b.Loop(); i++ {
				if i%1000 == 0 {
					src.Reset(canned)
					r.Reset(src)
				}
				c.writeGet(w, keys)
				if _, err := c.readGet(r, keys, &s); err != nil {
					b.Fatal(err)
				}
			}
			if s.bad != 0 {
				b.Fatalf("%d values failed verification", s.bad)
			}
		})
	}
}
