package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/shoal-cache/shoal/internal/connect"
	"github.com/shoal-cache/shoal/protocol"
)

// child is one process of the local cluster.
type child struct {
	name    string
	args    []string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed when it has exited
	err     error         // its exit status, once done
}

// cluster is shoal up's processes: the endpoint first, then the nodes.
type cluster struct {
	exe      string
	restart  bool
	connect  connect.Options // how to reach the endpoint (TLS under --tls)
	tlsArgs  []string        // the TLS options of every process, under --tls
	tlsHint  string          // how to connect, under --tls
	children []*child        // the current run of each
	exited   chan *child
}

// restartDelay is the wait before a process that exited starts again; it
// doubles, up to restartDelayMax, while the process keeps exiting within
// restartHealthy of its start.
const (
	restartDelay    = time.Second
	restartDelayMax = 30 * time.Second
	restartHealthy  = 10 * time.Second
)

// start runs `shoal args...` as the child name, in the place of its
// previous run if it had one.
func (c *cluster) start(name string, args ...string) error {
	ch, err := startChild(name, c.exe, args...)
	if err != nil {
		return err
	}
	go func() { <-ch.done; c.exited <- ch }()
	for i, old := range c.children {
		if old.name == name {
			c.children[i] = ch
			return nil
		}
	}
	c.children = append(c.children, ch)
	return nil
}

// supervise reports each process that exits, and starts it again with
// --restart, until ctx ends or no process is left.
func (c *cluster) supervise(ctx context.Context) error {
	delays := map[string]time.Duration{}
	again := make(chan *child, cap(c.exited))
	for {
		select {
		case <-ctx.Done():
			upSay("stopping the cluster")
			return nil
		case ch := <-c.exited:
			if !c.restart {
				upSay("%s exited (%v); leaving it down", ch.name, ch.err)
				if c.running() == 0 {
					return errors.New("every process of the cluster has exited")
				}
				continue
			}
			d := nextRestartDelay(delays[ch.name], time.Since(ch.started))
			delays[ch.name] = d
			upSay("%s exited (%v); starting it again in %v", ch.name, ch.err, d)
			time.AfterFunc(d, func() { again <- ch })
		case ch := <-again:
			if err := c.start(ch.name, ch.args...); err != nil {
				upSay("%v", err)
			}
		}
	}
}

func nextRestartDelay(last, ran time.Duration) time.Duration {
	if last == 0 || ran >= restartHealthy {
		return restartDelay
	}
	return min(2*last, restartDelayMax)
}

// running counts the processes that have not exited.
func (c *cluster) running() int {
	n := 0
	for _, ch := range c.children {
		select {
		case <-ch.done:
		default:
			n++
		}
	}
	return n
}

// stop stops the nodes (they leave the list and drain), then the endpoint,
// killing whatever has not exited after a while.
func (c *cluster) stop() {
	if len(c.children) == 0 {
		return
	}
	stopAll(c.children[1:], 15*time.Second)
	stopAll(c.children[:1], 5*time.Second)
}

// upSay reports on the cluster, between the children's lines.
func upSay(format string, a ...any) {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	fmt.Fprintf(os.Stderr, "[up] "+format+"\n", a...)
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
	c := &child{name: name, args: args, cmd: cmd, started: time.Now(), done: make(chan struct{})}
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
func waitForNodes(ctx context.Context, endpoint string, opts connect.Options, n int, children []*child) (protocol.ClusterConfig, error) {
	var last error
	for {
		cfg, err := fetchCluster(ctx, endpoint, opts)
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
func fetchCluster(ctx context.Context, addr string, opts connect.Options) (protocol.ClusterConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := connect.Dial(ctx, opts, "tcp", addr)
	if err != nil {
		return protocol.ClusterConfig{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	rw := bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn))
	return protocol.FetchClusterConfig(rw, protocol.ClusterConfigRequest)
}
