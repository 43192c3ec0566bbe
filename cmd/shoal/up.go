package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/shoal-cache/shoal/internal/selfcert"
	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/protocol"
)

func init() { subcommands = append(subcommands, upCommand()) }

// upSettings is what `shoal up` is configured with.
type upSettings struct {
	Nodes       int
	Host        string
	Port        int
	GossipPort  int
	MetricsPort int // 0: no metrics
	MemoryMB    int
	Wait        time.Duration
	Restart     bool
	TLS         bool     // a throwaway CA and certificate, TLS everywhere
	nodeArgs    []string // after --, for every node
}

// upOwned are the node options shoal up sets for each node itself.
var upOwned = []string{"listen", "port", "unix-socket", "gossip", "join", "name", "daemon", "pidfile", "metrics"}

func (u *upSettings) Validate() error {
	if u.Nodes < 1 || u.Nodes > 100 {
		return fmt.Errorf("--nodes %d: want 1 to 100", u.Nodes)
	}
	if u.Port < 1 || u.Port+u.Nodes > 65535 || u.GossipPort < 1 || u.GossipPort+u.Nodes > 65535 {
		return fmt.Errorf("--port %d or --gossip-port %d: %d ports from there must be in 1-65535", u.Port, u.GossipPort, u.Nodes+1)
	}
	return validNodeArgs(u.nodeArgs)
}

// validNodeArgs checks the options passed through to the nodes as a node
// would, so that a mistake shows before anything starts.
func validNodeArgs(args []string) error {
	flags := pflag.NewFlagSet("shoal node", pflag.ContinueOnError)
	ns := newNodeSettings(flags)
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("node options after --: %w", err)
	}
	for _, name := range upOwned {
		if flags.Changed(name) {
			return fmt.Errorf("node options after --: shoal up sets --%s of each node itself", name)
		}
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("node options after --: unexpected %q", flags.Arg(0))
	}
	if err := ns.load(); err != nil {
		return fmt.Errorf("node options after --: %w", err)
	}
	return nil
}

func upCommand() *cobra.Command {
	u := upSettings{}
	cmd := &cobra.Command{
		Use:   "up [flags] [-- node options]",
		Short: "Run a local cluster on loopback: a configuration endpoint and N nodes",
		Long: `Run a local cluster: a configuration endpoint on HOST:PORT and N nodes on
HOST:PORT+1 ... HOST:PORT+N, gossiping on HOST:GOSSIP-PORT, GOSSIP-PORT+1, ...
Each runs as a child process (shoal endpoint, shoal node) and logs to stderr
with its name in front. Once every node is listed, prints
"config endpoint: HOST:PORT"; point an ElastiCache-aware client there.
Options after -- go to every node: shoal up --nodes 3 -- -I 2m -c 4096.

A process that exits is reported and the others keep running: the cluster
fails over, as it would in production. With --restart it is started again
(under its name, so a node takes back its position). Ctrl-C (or SIGTERM)
stops the nodes, then the endpoint.

The default ports (21211 and up, 27946 and up) stay clear of a memcached on
11211 and a gossip agent on 7946.`,
		Args: cobra.ArbitraryArgs,
	}
	s := settings.New(cmd.Flags())
	f := s.Flags
	f.IntVar(&u.Nodes, "nodes", 3, "number of cache nodes")
	f.StringVar(&u.Host, "host", "127.0.0.1", "address everything listens on")
	f.IntVar(&u.Port, "port", 21211, "memcached port of the configuration endpoint; nodes take the next ones")
	f.IntVar(&u.GossipPort, "gossip-port", 27946, "gossip port of the endpoint; nodes take the next ones")
	f.IntVar(&u.MetricsPort, "metrics-port", 29150, "metrics and dashboard HTTP port of the endpoint; nodes take the next ones (0: none)")
	f.VarP(settings.Value(&u.MemoryMB, parseMegabytes, strconv.Itoa, "megabytes"), "memory-limit", "m", "item memory of each node in megabytes")
	u.MemoryMB = 64
	f.DurationVar(&u.Wait, "wait", 30*time.Second, "how long to wait for the cluster to form")
	f.BoolVar(&u.Restart, "restart", false, "start a process that exits again")
	f.BoolVar(&u.TLS, "tls", false, "serve TLS everywhere, with a throwaway CA and certificate made in a temporary directory")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if cmd.ArgsLenAtDash() != 0 && len(args) > 0 {
			return fmt.Errorf("unexpected %q: node options go after --", args[0])
		}
		u.nodeArgs = args
		if err := s.Load(); err != nil {
			return err
		}
		if err := u.Validate(); err != nil {
			return err
		}
		return runUp(cmd.Context(), u)
	}
	return cmd
}

func runUp(ctx context.Context, u upSettings) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the shoal binary: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cluster{exe: exe, restart: u.Restart, exited: make(chan *child, 2*u.Nodes+2)}
	defer c.stop()
	if u.TLS {
		dir, err := os.MkdirTemp("", "shoal-up-tls-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		files, err := selfcert.Make(dir, u.Host, "localhost")
		if err != nil {
			return err
		}
		if c.connect.TLS, err = files.ClientConfig(); err != nil {
			return err
		}
		c.tlsArgs = files.ServerOptions()
		c.tlsHint = fmt.Sprintf("TLS everywhere; CA %s. Try:\n  printf 'version\\r\\n' | openssl s_client -quiet -CAfile %s -connect %s\n",
			files.CAFile, files.CAFile, net.JoinHostPort(u.Host, strconv.Itoa(u.Port)))
	}
	if err := c.form(ctx, u); err != nil {
		return err
	}
	fmt.Print(c.tlsHint)
	fmt.Println("Ctrl-C stops the cluster")
	return c.supervise(ctx)
}

// form starts the endpoint, then the nodes one at a time (so that node-i
// takes position i-1), and prints the cluster once every node is listed.
func (c *cluster) form(ctx context.Context, u upSettings) error {
	addr := func(port int) string { return net.JoinHostPort(u.Host, strconv.Itoa(port)) }
	endpoint, seed := addr(u.Port), addr(u.GossipPort)
	metrics := func(i int) []string {
		if u.MetricsPort == 0 {
			return nil
		}
		return []string{"--metrics", addr(u.MetricsPort + i)}
	}
	if err := c.start("endpoint", slices.Concat([]string{"endpoint", "-l", u.Host, "-p", strconv.Itoa(u.Port), "--gossip", seed, "--name", "endpoint"}, metrics(0), c.tlsArgs)...); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, u.Wait)
	defer cancel()
	var cfg protocol.ClusterConfig
	for i := 1; i <= u.Nodes; i++ {
		name := "node-" + strconv.Itoa(i)
		args := slices.Concat([]string{"node", "-l", u.Host, "-p", strconv.Itoa(u.Port + i), "-m", strconv.Itoa(u.MemoryMB),
			"--gossip", addr(u.GossipPort + i), "--join", seed, "--name", name}, metrics(i), u.nodeArgs, c.tlsArgs)
		if err := c.start(name, args...); err != nil {
			return err
		}
		var err error
		if cfg, err = waitForNodes(wctx, endpoint, c.connect, i, c.children); err != nil {
			return err
		}
	}
	fmt.Printf("config endpoint: %s\n", endpoint)
	for _, n := range cfg.Nodes {
		fmt.Printf("node: %s\n", n.Addr())
	}
	if u.MetricsPort != 0 {
		fmt.Printf("dashboard: http://%s/\n", addr(u.MetricsPort))
		for i := 0; i <= u.Nodes; i++ {
			fmt.Printf("metrics: http://%s/metrics\n", addr(u.MetricsPort+i))
		}
	}
	return nil
}
