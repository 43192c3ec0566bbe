package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Configuration keys answered by `config get <key>`.
const (
	// ClusterKey is ElastiCache's key: the standard node list.
	ClusterKey = "cluster"
	// ShoalClusterKey is shoal's extension: the same list with each node's
	// position and state, for clients that partition by stable positions.
	ShoalClusterKey = "shoal-cluster"
	// LegacyClusterKey is the key of the pre-1.4.14 form,
	// `get AmazonElastiCache:cluster`.
	LegacyClusterKey = "AmazonElastiCache:cluster"
)

// NodeState is where a node is in its life in the cluster.
type NodeState string

// The states a node passes through. Only active nodes are published in the
// standard list.
const (
	StateJoining NodeState = "joining"
	StateActive  NodeState = "active"
	StateLeaving NodeState = "leaving"
)

// ClusterNode is one cache node of a cluster configuration.
type ClusterNode struct {
	Host     string
	IP       string
	Port     int
	Position int       // only in the shoal-cluster form; -1 when unknown
	State    NodeState // only in the shoal-cluster form
}

// Addr is the node's dial address: its IP, or its host when it has no IP.
func (n ClusterNode) Addr() string {
	h := n.IP
	if h == "" {
		h = n.Host
	}
	return joinHostPort(h, n.Port)
}

func joinHostPort(h string, port int) string {
	if bytes.IndexByte([]byte(h), ':') >= 0 {
		return "[" + h + "]:" + strconv.Itoa(port)
	}
	return h + ":" + strconv.Itoa(port)
}

// ClusterConfig is a versioned node list, in position order.
type ClusterConfig struct {
	Version uint64
	Nodes   []ClusterNode
}

// AppendClusterBody appends the configuration payload as ElastiCache
// publishes it: "<version>\n<host>|<ip>|<port> ...\n". With extended set, each
// node also carries "|<position>|<state>" (the shoal-cluster form).
func AppendClusterBody(dst []byte, c ClusterConfig, extended bool) []byte {
	dst = strconv.AppendUint(dst, c.Version, 10)
	dst = append(dst, '\n')
	for i, n := range c.Nodes {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, n.Host...)
		dst = append(dst, '|')
		dst = append(dst, n.IP...)
		dst = append(dst, '|')
		dst = strconv.AppendInt(dst, int64(n.Port), 10)
		if extended {
			dst = append(dst, '|')
			dst = strconv.AppendInt(dst, int64(n.Position), 10)
			dst = append(dst, '|')
			dst = append(dst, n.State...)
		}
	}
	return append(dst, '\n')
}

// AppendConfigReply appends the full reply to `config get <key>`:
// "CONFIG <key> 0 <n>\r\n<body>\r\nEND\r\n", where n is len(body).
func AppendConfigReply(dst []byte, key string, body []byte) []byte {
	dst = append(dst, "CONFIG "...)
	dst = append(dst, key...)
	dst = append(dst, " 0 "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, body...)
	return append(dst, "\r\nEND\r\n"...)
}

// ErrBadClusterConfig reports a configuration payload that is not in
// ElastiCache's format.
var ErrBadClusterConfig = errors.New("protocol: malformed cluster configuration")

// ParseClusterBody parses a configuration payload, in the standard form
// (host|ip|port) or the shoal-cluster form (host|ip|port|position|state).
// Standard entries get Position -1 and State active.
func ParseClusterBody(body []byte) (ClusterConfig, error) {
	var c ClusterConfig
	body = bytes.TrimRight(body, "\r\n")
	verLine, list, _ := bytes.Cut(body, []byte{'\n'})
	v, err := strconv.ParseUint(string(bytes.TrimSpace(verLine)), 10, 64)
	if err != nil {
		return c, fmt.Errorf("%w: version %q", ErrBadClusterConfig, verLine)
	}
	c.Version = v
	for _, f := range bytes.Fields(list) {
		n, err := parseClusterNode(f)
		if err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	return c, nil
}

func parseClusterNode(f []byte) (ClusterNode, error) {
	parts := bytes.Split(f, []byte{'|'})
	if len(parts) != 3 && len(parts) != 5 {
		return ClusterNode{}, fmt.Errorf("%w: node %q", ErrBadClusterConfig, f)
	}
	port, err := strconv.Atoi(string(parts[2]))
	if err != nil || port <= 0 || port > 65535 {
		return ClusterNode{}, fmt.Errorf("%w: port in %q", ErrBadClusterConfig, f)
	}
	n := ClusterNode{Host: string(parts[0]), IP: string(parts[1]), Port: port, Position: -1, State: StateActive}
	if n.Host == "" && n.IP == "" {
		return ClusterNode{}, fmt.Errorf("%w: no address in %q", ErrBadClusterConfig, f)
	}
	if len(parts) == 5 {
		pos, err := strconv.Atoi(string(parts[3]))
		if err != nil || pos < 0 {
			return ClusterNode{}, fmt.Errorf("%w: position in %q", ErrBadClusterConfig, f)
		}
		n.Position, n.State = pos, NodeState(parts[4])
	}
	return n, nil
}
