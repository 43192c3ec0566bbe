package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The client half of auto-discovery: asking a server for its cluster
// configuration and reading the reply. The caller dials, sets deadlines and
// decides which requests to try.

// ErrNoConfig reports that a server has no configuration under the key
// asked for: it answered END, ERROR or CLIENT_ERROR, as a plain memcached
// or an older shoal does.
var ErrNoConfig = errors.New("protocol: no cluster configuration")

// MaxConfigBody bounds the configuration payload a client reads: ten
// thousand nodes fit in it, and a peer cannot make the client allocate more.
const MaxConfigBody = 1 << 20

// ConfigRequest is one way of asking for the node list: the command, and the
// first word and key of the reply it gets.
type ConfigRequest struct {
	Cmd, Reply, Key string
}

// The requests a discovering client knows, as ElastiCache documents them
// (plus shoal's extension).
var (
	// ShoalConfigRequest asks for the list with positions and states.
	ShoalConfigRequest = ConfigRequest{"config get " + ShoalClusterKey, "CONFIG", ShoalClusterKey}
	// ClusterConfigRequest is ElastiCache's request from engine 1.4.14 on.
	ClusterConfigRequest = ConfigRequest{"config get " + ClusterKey, "CONFIG", ClusterKey}
	// LegacyConfigRequest is the request of earlier engines.
	LegacyConfigRequest = ConfigRequest{"get " + LegacyClusterKey, "VALUE", LegacyClusterKey}
)

// DiscoveryRequests are the requests a client tries in turn, best first.
var DiscoveryRequests = []ConfigRequest{ShoalConfigRequest, ClusterConfigRequest, LegacyConfigRequest}

// RequestConfig sends req and reads its reply,
// "<reply> <key> <flags> <n>\r\n<n bytes>\r\nEND\r\n", returning the n bytes.
func RequestConfig(rw *bufio.ReadWriter, req ConfigRequest) ([]byte, error) {
	if _, err := rw.WriteString(req.Cmd + "\r\n"); err != nil {
		return nil, err
	}
	if err := rw.Flush(); err != nil {
		return nil, err
	}
	return ReadConfigReply(rw.Reader, req)
}

// ReadConfigReply reads the reply to req, as RequestConfig does, from a
// reader the request was already written for.
func ReadConfigReply(r *bufio.Reader, req ConfigRequest) ([]byte, error) {
	line, err := readReplyLine(r)
	if err != nil {
		return nil, err
	}
	if string(line) == "END" || string(line) == "ERROR" || bytes.HasPrefix(line, []byte("CLIENT_ERROR")) {
		return nil, ErrNoConfig
	}
	f := bytes.Fields(line)
	if len(f) != 4 || string(f[0]) != req.Reply || string(f[1]) != req.Key {
		return nil, fmt.Errorf("%w: reply %q", ErrBadClusterConfig, line)
	}
	n, err := strconv.Atoi(string(f[3]))
	if err != nil || n < 0 || n > MaxConfigBody {
		return nil, fmt.Errorf("%w: length in %q", ErrBadClusterConfig, line)
	}
	body := make([]byte, n+2)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		return nil, fmt.Errorf("%w: payload not followed by CRLF", ErrBadClusterConfig)
	}
	if end, err := readReplyLine(r); err != nil || string(end) != "END" {
		return nil, fmt.Errorf("%w: payload not followed by END: %q, %v", ErrBadClusterConfig, end, err)
	}
	return body[:n], nil
}

// FetchClusterConfig tries each of reqs in turn and parses the first
// configuration a server answers with; ErrNoConfig when it answers none.
func FetchClusterConfig(rw *bufio.ReadWriter, reqs ...ConfigRequest) (ClusterConfig, error) {
	for _, req := range reqs {
		body, err := RequestConfig(rw, req)
		if errors.Is(err, ErrNoConfig) {
			continue
		}
		if err != nil {
			return ClusterConfig{}, fmt.Errorf("%s: %w", req.Cmd, err)
		}
		return ParseClusterBody(body)
	}
	return ClusterConfig{}, ErrNoConfig
}

// readReplyLine reads one reply line of at most the reader's buffer size,
// without its CRLF.
func readReplyLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(line, []byte("\r\n")), nil
}
