package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// fakeServer is a ReadWriter whose reads are a scripted reply and whose
// writes are recorded.
func fakeServer(reply string) (*bufio.ReadWriter, *bytes.Buffer) {
	var sent bytes.Buffer
	return bufio.NewReadWriter(bufio.NewReader(strings.NewReader(reply)), bufio.NewWriter(&sent)), &sent
}

func TestRequestConfig(t *testing.T) {
	body := "12\nh1|127.0.0.1|11211 h2|127.0.0.2|11211\n"
	tests := []struct {
		name, reply string
		req         ConfigRequest
		want        string
		err         error
	}{
		{"config", "CONFIG cluster 0 " + itoa(len(body)) + "\r\n" + body + "\r\nEND\r\n", ClusterConfigRequest, body, nil},
		{"legacy", "VALUE AmazonElastiCache:cluster 0 " + itoa(len(body)) + "\r\n" + body + "\r\nEND\r\n", LegacyConfigRequest, body, nil},
		{"plain memcached", "ERROR\r\n", ClusterConfigRequest, "", ErrNoConfig},
		{"miss", "END\r\n", LegacyConfigRequest, "", ErrNoConfig},
		{"refused", "CLIENT_ERROR bad command line format\r\n", ShoalConfigRequest, "", ErrNoConfig},
		{"other key", "CONFIG shoal-cluster 0 3\r\nabc\r\nEND\r\n", ClusterConfigRequest, "", ErrBadClusterConfig},
		{"length beyond the bound", "CONFIG cluster 0 1048577\r\n", ClusterConfigRequest, "", ErrBadClusterConfig},
		{"negative length", "CONFIG cluster 0 -1\r\n", ClusterConfigRequest, "", ErrBadClusterConfig},
		{"no CRLF after the payload", "CONFIG cluster 0 3\r\nabcdEND\r\n", ClusterConfigRequest, "", ErrBadClusterConfig},
		{"no END", "CONFIG cluster 0 3\r\nabc\r\nSTORED\r\n", ClusterConfigRequest, "", ErrBadClusterConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw, sent := fakeServer(tt.reply)
			got, err := RequestConfig(rw, tt.req)
			if sent.String() != tt.req.Cmd+"\r\n" {
				t.Errorf("sent %q, want %q", sent, tt.req.Cmd+"\r\n")
			}
			if !errors.Is(err, tt.err) || string(got) != tt.want {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// A client falls back from shoal's list to ElastiCache's when a server does
// not know the first.
func TestFetchClusterConfigFallsBack(t *testing.T) {
	body := "7\nh|127.0.0.1|11211\n"
	rw, sent := fakeServer("ERROR\r\nCONFIG cluster 0 " + itoa(len(body)) + "\r\n" + body + "\r\nEND\r\n")
	cfg, err := FetchClusterConfig(rw, DiscoveryRequests...)
	if err != nil || cfg.Version != 7 || len(cfg.Nodes) != 1 || cfg.Nodes[0].Addr() != "127.0.0.1:11211" {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	if want := "config get shoal-cluster\r\nconfig get cluster\r\n"; sent.String() != want {
		t.Fatalf("sent %q, want %q", sent, want)
	}
	rw, _ = fakeServer("ERROR\r\nERROR\r\nEND\r\n")
	if _, err := FetchClusterConfig(rw, DiscoveryRequests...); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("a server with no configuration: %v, want ErrNoConfig", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
