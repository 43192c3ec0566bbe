package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/client"
	"github.com/shoal-cache/shoal/internal/selfcert"
	"github.com/shoal-cache/shoal/internal/testproc"
)

// freePorts finds n consecutive loopback ports free for TCP and UDP. It
// looks below Linux's ephemeral range (32768 and up): there, under many
// tests' connections, the ports next to a free one are often some
// client's, and 50 tries were seen to find no run of 3.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 200 {
		base := 20000 + rand.IntN(32768-20000-n)
		if portsFree(base, n) {
			return base
		}
	}
	t.Fatalf("found no %d consecutive free ports", n)
	return 0
}

func portsFree(base, n int) bool {
	for port := base; port < base+n; port++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		ln.Close()
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		pc.Close()
	}
	return true
}

// startUp runs shoal up with 2 nodes and args, and waits until it reports
// the cluster formed. It returns the process and the nodes' addresses.
func startUp(t *testing.T, args ...string) (*testproc.Proc, []string) {
	t.Helper()
	port, gossip, metrics := freePorts(t, 3), freePorts(t, 3), freePorts(t, 3)
	all := append([]string{"up", "--nodes", "2", "--port", strconv.Itoa(port), "--gossip-port", strconv.Itoa(gossip),
		"--metrics-port", strconv.Itoa(metrics)}, args...)
	p := testproc.Start(t, "shoal up", testproc.ShoalBinary(t), all...)
	waitOutput(t, p, fmt.Sprintf("config endpoint: 127.0.0.1:%d\n", port), 30*time.Second)
	return p, []string{fmt.Sprintf("127.0.0.1:%d", port+1), fmt.Sprintf("127.0.0.1:%d", port+2)}
}

// waitOutput waits until p has written want.
func waitOutput(t *testing.T, p *testproc.Proc, want string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); !strings.Contains(p.Output(), want); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.Exited():
			t.Fatalf("%s exited (%v) before writing %q:\n%s", p.Name, p.Err(), want, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not write %q within %v:\n%s", p.Name, want, within, p.Output())
		}
	}
}

// killNode kills the node at addr (its pid from stats) and returns the pid.
func killNode(t *testing.T, addr string) int {
	t.Helper()
	pid, _ := strconv.Atoi(statsOf(t, addr, "")["pid"])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing node %s (pid %d): %v", addr, pid, err)
	}
	return pid
}

// Options after -- reach every node; a node that dies is reported and left
// down, and the rest of the cluster keeps running.
func TestUpKeepsRunningWhenANodeExits(t *testing.T) {
	p, nodes := startUp(t, "--", "-I", "2m", "-c", "4096")
	for _, n := range nodes {
		if st := statsOf(t, n, "settings"); st["item_size_max"] != "2097152" || st["maxconns"] != "4096" {
			t.Errorf("node %s: item_size_max %s maxconns %s, want -I 2m -c 4096", n, st["item_size_max"], st["maxconns"])
		}
	}
	killNode(t, nodes[0])
	waitOutput(t, p, "[up] node-1 exited (signal: killed); leaving it down\n", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	select {
	case <-p.Exited():
		t.Fatalf("shoal up exited (%v) when a node died", p.Err())
	default:
	}
	if st := statsOf(t, nodes[1], ""); st["pid"] == "" {
		t.Errorf("node-2 no longer answers")
	}
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(t, 30*time.Second); err != nil {
		t.Errorf("shoal up after SIGTERM: %v", err)
	}
}

// With --restart a node that dies comes back at its address.
func TestUpRestartsANodeThatExits(t *testing.T) {
	p, nodes := startUp(t, "--restart")
	old := killNode(t, nodes[0])
	waitOutput(t, p, "[up] node-1 exited (signal: killed); starting it again in 1s\n", 10*time.Second)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", nodes[0], time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node-1 did not come back at %s:\n%s", nodes[0], p.Output())
		}
	}
	if pid, _ := strconv.Atoi(statsOf(t, nodes[0], "")["pid"]); pid == old || pid == 0 {
		t.Errorf("node-1 has pid %d after the restart, was %d", pid, old)
	}
}

// Mistaken node options fail shoal up before it starts anything.
func TestUpChecksNodeOptions(t *testing.T) {
	for args, want := range map[string]string{
		"-- -m 1g":   `shoal: node options after --: invalid argument "1g" for "-m, --memory-limit" flag: -m takes megabytes: memcached 1.6 reads only the number in front, so it would take "1g" as 1 MB; for a gigabyte write 1024` + "\n",
		"-- -p 5000": "shoal: node options after --: shoal up sets --port of each node itself\n",
		"-I 2m":      "shoal: unknown shorthand flag: 'I' in -I\n",
	} {
		p := testproc.Start(t, "shoal up", testproc.ShoalBinary(t), append([]string{"up"}, strings.Fields(args)...)...)
		if err := p.Wait(t, 10*time.Second); err == nil || p.Output() != want {
			t.Errorf("shoal up %s: %v %q, want %q", args, err, p.Output(), want)
		}
	}
}

// make run passes ARGS to shoal up.
func TestMakeRunPassesArgs(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out, err := exec.Command(testproc.Tool(t, "make", "make"), "-n", "--no-print-directory", "-C", root, "run", "ARGS=--restart -- -I 2m").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "./bin/shoal up --nodes 3 --restart -- -I 2m\n"; !strings.HasSuffix(string(out), want) {
		t.Errorf("make -n run ARGS=...:\n%s\nwant it to end with %q", out, want)
	}
}

// shoal up --tls serves TLS everywhere with a throwaway CA, and prints how
// to connect: the Go client discovers the cluster over TLS through the
// endpoint, trusting that CA, and stores and reads a key.
func TestUpTLS(t *testing.T) {
	p, _ := startUp(t, "--tls")
	waitOutput(t, p, "Ctrl-C stops the cluster\n", 10*time.Second)
	m := regexp.MustCompile(`openssl s_client -quiet -CAfile (\S+) -connect (\S+)\n`).FindStringSubmatch(p.Output())
	if m == nil {
		t.Fatalf("no openssl s_client line:\n%s", p.Output())
	}
	files := selfcert.Files{CAFile: m[1]}
	cfg, err := files.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{Endpoints: []string{m[2]}, TLS: cfg})
	if err != nil {
		t.Fatalf("discovering over TLS: %v", err)
	}
	defer c.Close()
	if err := c.Set(ctx, &client.Item{Key: "k", Value: []byte("tls")}); err != nil {
		t.Fatal(err)
	}
	if it, err := c.Get(ctx, "k"); err != nil || string(it.Value) != "tls" {
		t.Fatalf("get over TLS: %v", err)
	}
}
