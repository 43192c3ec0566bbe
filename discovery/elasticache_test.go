package discovery

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

// A parser written from ElastiCache's documentation of auto-discovery
// ("Adding Auto Discovery to your client library", Output Format), as
// strict as the text allows, with nothing borrowed from shoal's own
// formatter:
//
//	CONFIG cluster 0 <length>\r\n
//	<version>\n
//	<host>|<ip>|<port> <host>|<ip>|<port> ...\n
//	\r\n
//	END\r\n
//
// where <length> counts the bytes from the version through the LF that ends
// the node list. The legacy `get AmazonElastiCache:cluster` gives the same
// payload in a VALUE block.

var (
	ecHeader = regexp.MustCompile(`\A(CONFIG cluster|VALUE AmazonElastiCache:cluster) 0 (0|[1-9][0-9]*)\r\n`)
	ecBody   = regexp.MustCompile(`\A([1-9][0-9]*)\n(` + ecNode + `(?: ` + ecNode + `)*)\n\z`)
)

const ecNode = `[A-Za-z0-9.-]+\|(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3})?\|[1-9][0-9]{0,4}`

// ecConfig is a configuration as an ElastiCache client sees it.
type ecConfig struct {
	version uint64
	nodes   []string // host|ip|port, in list order
	payload string
}

// parseECReply parses the complete reply to `config get cluster` (legacy
// false) or `get AmazonElastiCache:cluster` (legacy true): every byte must
// be accounted for.
func parseECReply(reply []byte, legacy bool) (ecConfig, error) {
	var c ecConfig
	m := ecHeader.FindSubmatch(reply)
	if m == nil {
		return c, fmt.Errorf("bad header in %q", reply)
	}
	if want := map[bool]string{false: "CONFIG cluster", true: "VALUE AmazonElastiCache:cluster"}[legacy]; string(m[1]) != want {
		return c, fmt.Errorf("header %q; want %q", m[1], want)
	}
	n, err := strconv.Atoi(string(m[2]))
	if err != nil {
		return c, err
	}
	rest := reply[len(m[0]):]
	if len(rest) != n+len("\r\nEND\r\n") || !bytes.Equal(rest[n:], []byte("\r\nEND\r\n")) {
		return c, fmt.Errorf("length %d does not frame the payload: %q", n, rest)
	}
	payload := rest[:n]
	b := ecBody.FindSubmatch(payload)
	if b == nil {
		return c, fmt.Errorf("payload %q is not <version>\\n<host>|<ip>|<port> ...\\n", payload)
	}
	c.version, err = strconv.ParseUint(string(b[1]), 10, 64)
	if err != nil {
		return c, err
	}
	for _, f := range bytes.Split(b[2], []byte{' '}) {
		parts := bytes.Split(f, []byte{'|'})
		if port, _ := strconv.Atoi(string(parts[2])); port > 65535 {
			return c, fmt.Errorf("port out of range in %q", f)
		}
		c.nodes = append(c.nodes, string(f))
	}
	c.payload = string(payload)
	return c, nil
}

func TestParseECReply(t *testing.T) {
	// The example of ElastiCache's documentation.
	good := "CONFIG cluster 0 136\r\n12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n\r\nEND\r\n"
	c, err := parseECReply([]byte(good), false)
	if err != nil || c.version != 12 || len(c.nodes) != 2 || c.nodes[1] != "myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211" {
		t.Fatalf("documented example: %+v, %v", c, err)
	}
	legacy := "VALUE AmazonElastiCache:cluster 0 19\r\n1\nh|10.0.0.1|11211\n\r\nEND\r\n"
	if _, err := parseECReply([]byte(legacy), true); err != nil {
		t.Fatalf("legacy form: %v", err)
	}
	bad := []string{
		"CONFIG cluster 0 20\r\n1\nh|10.0.0.1|11211\n\r\nEND\r\n",                  // length too long
		"CONFIG cluster 0 18\r\n1\nh|10.0.0.1|11211\n\r\nEND\r\n",                  // length too short
		"CONFIG cluster 0 19\r\n1\nh|10.0.0.1|11211\n\r\nEND\r\nX",                 // trailing byte
		"CONFIG cluster 0 19\r\n1\nh|10.0.0.1|11211\n\nEND\r\n",                    // no CRLF before END
		"CONFIG cluster 0 20\r\n1\r\nh|10.0.0.1|11211\n\r\nEND\r\n",                // CR after the version
		"CONFIG cluster 0 20\r\n1\nh|10.0.0.1|11211 \n\r\nEND\r\n",                 // trailing space
		"CONFIG cluster 0 19\r\n1\nh|10.0.0.1|99999\n\r\nEND\r\n",                  // port out of range
		"CONFIG cluster 0 18\r\n1\nh|10.0.0.1|11211\r\nEND\r\n",                    // no LF after the list
		"CONFIG cluster 1 19\r\n1\nh|10.0.0.1|11211\n\r\nEND\r\n",                  // flags
		"CONFIG cluster 0 019\r\n1\nh|10.0.0.1|11211\n\r\nEND\r\n",                 // leading zero
		"CONFIG cluster 0 23\r\n1\nh|10.0.0.1|11211|0|x\n\r\nEND\r\n",              // extra fields
		"CONFIG cluster 0 3\r\n1\n\n\r\nEND\r\n",                                   // no nodes
		"VALUE AmazonElastiCache:cluster 0 19\r\n1\nh|10.0.0.1|11211\n\r\nEND\r\n", // legacy header for config
	}
	for _, b := range bad {
		if c, err := parseECReply([]byte(b), false); err == nil {
			t.Errorf("accepted %q as %+v", b, c)
		}
	}
	// The well-formed twin of the cases above passes.
	if _, err := parseECReply([]byte("CONFIG cluster 0 19\r\n1\nh|10.0.0.1|11211\n\r\nEND\r\n"), false); err != nil {
		t.Errorf("the corrected case fails: %v", err)
	}
}
