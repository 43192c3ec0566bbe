// Command shoal is a memcached-compatible distributed cache.
//
//	shoal node      a cache node (drop-in for memcached)
//	shoal endpoint  a configuration endpoint for auto-discovery
//	shoal up        a local cluster on loopback
//	shoal bench     a load generator for memcached-protocol servers
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/shoal-cache/shoal/node"
)

func main() {
	root := &cobra.Command{
		Use:           "shoal",
		Short:         "shoal is a memcached-compatible distributed cache",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       node.VersionLine(),
	}
	root.SetVersionTemplate("{{.Version}}\n") // the line shoal node -V prints
	root.AddCommand(subcommands...)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "shoal:", err)
		os.Exit(1)
	}
}

// subcommands is filled by each subcommand's file in its init function, so
// that the files stay independent of one another.
var subcommands []*cobra.Command
