package client

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/protocol"
)

// shoalBin is the shoal binary TestMain builds, or shoalBuildErr why not.
var (
	shoalBin      string
	shoalBuildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shoal-client-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shoalBin = filepath.Join(dir, "shoal")
	out, err := exec.Command("go", "build", "-o", shoalBin, "github.com/shoal-cache/shoal/cmd/shoal").CombinedOutput()
	if err != nil {
		shoalBuildErr = fmt.Errorf("go build ./cmd/shoal: %v\n%s", err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A shoalProc is a shoal endpoint or node process on loopback.
type shoalProc struct {
	t      testing.TB
	role   string // "endpoint" or "node"
	addr   string // memcached protocol
	gossip string
	join   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

// Fast failure detection, so that tests see a dead node within a second.
var gossipFlags = []string{
	"--probe-interval", "100ms", "--probe-timeout", "50ms",
	"--suspicion-mult", "2", "--suspicion-max-mult", "2",
	"--push-pull-interval", "1s", "--leave-grace", "200ms", "--join-timeout", "5s",
}

func startEndpoint(t testing.TB) *shoalProc {
	return startShoal(t, "endpoint", "")
}

func startShoalNode(t testing.TB, join string) *shoalProc {
	return startShoal(t, "node", join)
}

func startShoal(t testing.TB, role, join string) *shoalProc {
	t.Helper()
	if shoalBuildErr != nil {
		t.Fatal(shoalBuildErr)
	}
	p := &shoalProc{t: t, role: role, addr: freeAddr(t), gossip: freeAddr(t), join: join}
	p.log = filepath.Join(t.TempDir(), role+"-"+strings.ReplaceAll(p.addr, ":", "_")+".log")
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *shoalProc) start() {
	p.t.Helper()
	host, port, _ := net.SplitHostPort(p.addr)
	args := append([]string{p.role, "-l", host, "-p", port, "--gossip", p.gossip}, gossipFlags...)
	if p.join != "" {
		args = append(args, "--join", p.join)
	}
	logf, err := os.Create(p.log)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(shoalBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() {
		p.cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.exited:
			p.t.Fatalf("shoal %s on %s exited:\n%s", p.role, p.addr, p.tail())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("shoal %s on %s does not answer:\n%s", p.role, p.addr, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process at once, as a crash would.
func (p *shoalProc) kill() { p.signal(syscall.SIGKILL) }

// stop ends the process as an operator would: it leaves the list, then
// stops.
func (p *shoalProc) stop() { p.signal(syscall.SIGTERM) }

func (p *shoalProc) signal(sig syscall.Signal) {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *shoalProc) tail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// published reads the shoal-cluster list a member publishes.
func published(t testing.TB, addr string) protocol.ClusterConfig {
	t.Helper()
	cfg, err := (&Client{cfg: Config{Timeout: testTimeout}}).fetch(context.Background(), addr)
	if err != nil {
		t.Fatalf("config from %s: %v", addr, err)
	}
	return cfg
}

// activeAddrs lists the active nodes of a list, sorted.
func activeAddrs(cfg protocol.ClusterConfig) []string {
	var a []string
	for _, n := range cfg.Nodes {
		if n.State == protocol.StateActive {
			a = append(a, n.Addr())
		}
	}
	slices.Sort(a)
	return a
}

// liveAddrs lists the nodes of the client's ring, sorted.
func liveAddrs(c *Client) []string {
	var a []string
	for _, n := range c.cur.Load().live {
		a = append(a, n.String())
	}
	slices.Sort(a)
	return a
}

func shoalAddrs(procs ...*shoalProc) []string {
	var a []string
	for _, p := range procs {
		a = append(a, p.addr)
	}
	slices.Sort(a)
	return a
}

// cluster is an endpoint and nodes joined to it.
type cluster struct {
	endpoint *shoalProc
	nodes    []*shoalProc
}

// startCluster starts an endpoint and n nodes, and waits until the endpoint
// publishes them all as active.
func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	cl := &cluster{endpoint: startEndpoint(t)}
	for range n {
		cl.nodes = append(cl.nodes, startShoalNode(t, cl.endpoint.gossip))
	}
	cl.waitActive(t, cl.nodes...)
	return cl
}

// addNode starts a node that joins the cluster and waits until it is active.
func (cl *cluster) addNode(t testing.TB) *shoalProc {
	t.Helper()
	n := startShoalNode(t, cl.endpoint.gossip)
	cl.nodes = append(cl.nodes, n)
	cl.waitActive(t, cl.nodes...)
	return n
}

// waitActive waits until the endpoint publishes exactly nodes, as active.
func (cl *cluster) waitActive(t testing.TB, nodes ...*shoalProc) {
	t.Helper()
	want := shoalAddrs(nodes...)
	waitFor(t, 10*time.Second, fmt.Sprintf("endpoint publishes %v", want), func() bool {
		return slices.Equal(activeAddrs(published(t, cl.endpoint.addr)), want)
	})
}

// newDiscovering is a client of the cluster's endpoint, polling fast.
func newDiscovering(t testing.TB, endpoints []string, tune func(*Config)) *Client {
	t.Helper()
	cfg := Config{Endpoints: endpoints, PollInterval: 50 * time.Millisecond, ProbeInterval: 50 * time.Millisecond, Timeout: testTimeout}
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitLive waits until the client's ring holds exactly nodes.
func waitLive(t testing.TB, c *Client, nodes ...*shoalProc) {
	t.Helper()
	want := shoalAddrs(nodes...)
	waitFor(t, 10*time.Second, fmt.Sprintf("client routes to %v", want), func() bool {
		return slices.Equal(liveAddrs(c), want)
	})
}
