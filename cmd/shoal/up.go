package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-cache/shoal/protocol"
)

func init() { subcommands = append(subcommands, upCommand()) }

type upOptions struct {
	nodes      int
	host       string
	port       int
	gossipPort int
	memoryMB   int
	wait       time.Duration
}

func upCommand() *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a local cluster on loopback: a configuration endpoint and N nodes",
		Long: `Run a local cluster: a configuration endpoint on HOST:PORT and N nodes on
HOST:PORT+1 ... HOST:PORT+N, gossiping on HOST:GOSSIP-PORT, GOSSIP-PORT+1, ...
Each runs as a child process (shoal endpoint, shoal node) and logs to stderr
with its name in front. Once every node is listed, prints
"config endpoint: HOST:PORT"; point an ElastiCache-aware client there.
Ctrl-C (or SIGTERM) stops the nodes, then the endpoint.

The default ports (21211 and up, 27946 and up) stay clear of a memcached on
11211 and a gossip agent on 7946.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.nodes < 1 || o.nodes > 100 {
				return fmt.Errorf("--nodes %d: want 1 to 100", o.nodes)
			}
			if o.port < 1 || o.port+o.nodes > 65535 || o.gossipPort < 1 || o.gossipPort+o.nodes > 65535 {
				return fmt.Errorf("ports out of range")
			}
			return runUp(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.nodes, "nodes", 3, "number of cache nodes")
	f.StringVar(&o.host, "host", "127.0.0.1", "address everything listens on")
	f.IntVar(&o.port, "port", 21211, "memcached port of the configuration endpoint; nodes take the next ones")
	f.IntVar(&o.gossipPort, "gossip-port", 27946, "gossip port of the endpoint; nodes take the next ones")
	f.IntVarP(&o.memoryMB, "memory-limit", "m", 64, "item memory of each node in megabytes")
	f.DurationVar(&o.wait, "wait", 30*time.Second, "how long to wait for the cluster to form")
	return cmd
}

// child is one process of the local cluster.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // its exit status, once done
}

func runUp(ctx context.Context, o upOptions) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the shoal binary: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	addr := func(port int) string { return net.JoinHostPort(o.host, strconv.Itoa(port)) }
	endpoint := addr(o.port)
	seed := addr(o.gossipPort)
	ep, err := startChild("endpoint", exe, "endpoint", "-l", o.host, "-p", strconv.Itoa(o.port),
		"--gossip", seed, "--name", "endpoint")
	if err != nil {
		return err
	}
	nodes := make([]*child, 0, o.nodes)
	defer func() { stopChildren(nodes, ep) }()
	wctx, cancel := context.WithTimeout(ctx, o.wait)
	defer cancel()
	var cfg protocol.ClusterConfig
	for i := 1; i <= o.nodes; i++ {
		name := "node-" + strconv.Itoa(i)
		c, err := startChild(name, exe, "node", "-l", o.host, "-p", strconv.Itoa(o.port+i),
			"-m", strconv.Itoa(o.memoryMB), "--gossip", addr(o.gossipPort+i), "--join", seed, "--name", name)
		if err != nil {
			return err
		}
		nodes = append(nodes, c)
		// One at a time, so that node-i takes position i-1.
		if cfg, err = waitForNodes(wctx, endpoint, i, append([]*child{ep}, nodes...)); err != nil {
			return err
		}
	}
	fmt.Printf("config endpoint: %s\n", endpoint)
	for _, n := range cfg.Nodes {
		fmt.Printf("node: %s\n", n.Addr())
	}
	fmt.Println("Ctrl-C stops the cluster")

	exited := make(chan *child, o.nodes+1)
	for _, c := range append([]*child{ep}, nodes...) {
		go func() { <-c.done; exited <- c }()
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "stopping the cluster")
		return nil
	case c := <-exited:
		return fmt.Errorf("%s exited: %v", c.name, c.err)
	}
}

// startChild runs the shoal binary with args, copying its output to
// stderr line by line behind "[name] ".
func startChild(name, exe string, args ...string) (*child, error) {
	cmd := exec.Command(exe, args...)
	cmd.SysProcAttr = childProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		prefixLines(os.Stderr, out, "["+name+"] ")
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

var stderrMu sync.Mutex

func prefixLines(w io.Writer, r io.Reader, prefix string) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		stderrMu.Lock()
		fmt.Fprintf(w, "%s%s\n", prefix, s.Bytes())
		stderrMu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r) // a line too long: drain, do not block the child
}

// stopChildren stops the nodes (they leave the list and drain), then the
// endpoint, killing whatever has not exited after a while.
func stopChildren(nodes []*child, ep *child) {
	stopAll(nodes, 15*time.Second)
	stopAll([]*child{ep}, 5*time.Second)
}

func stopAll(cs []*child, grace time.Duration) {
	for _, c := range cs {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for _, c := range cs {
		select {
		case <-c.done:
		case <-deadline:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}

// waitForNodes polls the endpoint until it lists n active nodes.
func waitForNodes(ctx context.Context, endpoint string, n int, children []*child) (protocol.ClusterConfig, error) {
	var last error
	for {
		cfg, err := fetchCluster(ctx, endpoint)
		if err == nil && len(cfg.Nodes) == n {
			return cfg, nil
		}
		if err == nil {
			err = fmt.Errorf("%d of %d nodes listed", len(cfg.Nodes), n)
		}
		last = err
		for _, c := range children {
			select {
			case <-c.done:
				return cfg, fmt.Errorf("%s exited: %v", c.name, c.err)
			default:
			}
		}
		select {
		case <-ctx.Done():
			return cfg, fmt.Errorf("waiting for the cluster at %s: %w (%v)", endpoint, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fetchCluster asks a member for `config get cluster`.
func fetchCluster(ctx context.Context, addr string) (protocol.ClusterConfig, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return protocol.ClusterConfig{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "config get cluster\r\n"); err != nil {
		return protocol.ClusterConfig{}, err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return protocol.ClusterConfig{}, err
	}
	var n int
	if _, err := fmt.Sscanf(line, "CONFIG cluster 0 %d\r\n", &n); err != nil || n < 0 || n > 1<<20 {
		return protocol.ClusterConfig{}, fmt.Errorf("unexpected reply %q", line)
	}
	body := make([]byte, n+len("\r\nEND\r\n"))
	if _, err := io.ReadFull(r, body); err != nil {
		return protocol.ClusterConfig{}, err
	}
	if string(body[n:]) != "\r\nEND\r\n" {
		return protocol.ClusterConfig{}, errors.New("configuration reply not terminated by END")
	}
	return protocol.ParseClusterBody(body[:n])
}
