package testproc

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// listenWithin bounds the wait for a server to accept connections: the
// machine running the tests may be busy.
const listenWithin = 10 * time.Second

// A Proc is a process a test started.
type Proc struct {
	Name string
	Addr string    // where a server accepts connections; "" for Start's
	Cmd  *exec.Cmd // the current run: Restart replaces it

	tb     testing.TB
	bin    string
	args   []string
	out    *output
	exited chan struct{}
	err    error // Cmd.Wait's, once exited is closed
}

// Start runs bin with args, without waiting for anything, until the test
// ends.
func Start(tb testing.TB, name, bin string, args ...string) *Proc {
	tb.Helper()
	p := &Proc{Name: name, tb: tb, bin: bin, args: args, out: &output{}}
	if err := p.launch(); err != nil {
		tb.Fatal(err)
	}
	p.cleanup()
	return p
}

// StartServer runs a memcached-protocol server, bin with args and
// "-l 127.0.0.1 -p PORT" for a free port, until the test ends, and waits
// until it accepts connections there.
func StartServer(tb testing.TB, bin string, args ...string) *Proc {
	tb.Helper()
	var err error
	for range 3 { // a port found free may be taken before the server binds it
		addr := FreeAddr(tb)
		host, port, _ := net.SplitHostPort(addr)
		p := &Proc{Name: filepath.Base(bin), Addr: addr, tb: tb, bin: bin,
			args: slices.Concat(args, []string{"-l", host, "-p", port}), out: &output{}}
		if err = p.launchListening(); err == nil {
			p.cleanup()
			return p
		}
	}
	tb.Fatalf("%s did not start: %v", bin, err)
	return nil
}

// StartShoal runs the shoal binary as a server: args start with the
// subcommand ("node", "endpoint").
func StartShoal(tb testing.TB, args ...string) *Proc {
	tb.Helper()
	return StartServer(tb, ShoalBinary(tb), args...)
}

// StartMemcached runs Debian's memcached as a server with args, as user
// nobody (it refuses to run as root) and without UDP.
func StartMemcached(tb testing.TB, args ...string) *Proc {
	tb.Helper()
	return StartServer(tb, Tool(tb, "memcached", "memcached"), slices.Concat([]string{"-u", "nobody", "-U", "0"}, args)...)
}

// FreeAddr returns a loopback address nothing listens on at the moment.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Exited is closed once the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Err is the process's exit status, once Exited is closed.
func (p *Proc) Err() error { return p.err }

// Output is what the process wrote to stdout and stderr so far.
func (p *Proc) Output() string { return p.out.String() }

// Signal sends sig unless the process has exited.
func (p *Proc) Signal(sig syscall.Signal) {
	select {
	case <-p.exited:
	default:
		_ = p.Cmd.Process.Signal(sig)
	}
}

// Kill stops the process at once (SIGKILL, which ends a stopped process
// too), as a crash would, and waits until it is gone.
func (p *Proc) Kill() {
	p.Signal(syscall.SIGKILL)
	<-p.exited
}

// Wait waits for the process to exit and returns its exit status; the test
// fails if it is still running after within.
func (p *Proc) Wait(tb testing.TB, within time.Duration) error {
	tb.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(within):
		tb.Fatalf("%s did not exit within %v", p.Name, within)
		return nil
	}
}

// Restart kills a server and starts it again, empty, on the same address.
func (p *Proc) Restart() {
	p.tb.Helper()
	p.Kill()
	var err error
	for range 50 { // the port may linger a moment
		if err = p.launchListening(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.tb.Fatalf("restarting %s on %s: %v", p.Name, p.Addr, err)
}

func (p *Proc) launch() error {
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Should the test binary die, its processes die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %v", p.Name, err)
	}
	p.Cmd, p.err, p.exited = cmd, nil, make(chan struct{})
	go func(exited chan struct{}) {
		p.err = cmd.Wait()
		close(exited)
	}(p.exited)
	return nil
}

// launchListening launches the process and waits until it accepts
// connections on p.Addr; if it does not, it is killed.
func (p *Proc) launchListening() error {
	if err := p.launch(); err != nil {
		return err
	}
	err := p.waitListening()
	if err != nil {
		p.Kill()
		err = fmt.Errorf("%v\n%s", err, p.Output())
	}
	return err
}

// waitListening dials p.Addr until it answers, the process exits or
// listenWithin passes.
func (p *Proc) waitListening() error {
	deadline := time.Now().Add(listenWithin)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before listening on %s: %v", p.Name, p.Addr, p.err)
		default:
		}
		if c, err := net.DialTimeout("tcp", p.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %v", p.Name, p.Addr, listenWithin)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cleanup kills the process when the test ends, and logs its output if the
// test failed.
func (p *Proc) cleanup() {
	p.tb.Cleanup(func() {
		p.Kill()
		if p.tb.Failed() {
			p.tb.Logf("--- output of %s %q:\n%s", p.Name, p.args, p.Output())
		}
	})
}

// output collects a process's stdout and stderr, which the exec package
// copies in from another goroutine.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(b)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
