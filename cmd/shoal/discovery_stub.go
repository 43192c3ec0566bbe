package main

import (
	"context"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/node"
)

// addDiscoveryFlags and joinCluster are replaced by the discovery wiring.
func addDiscoveryFlags(f *pflag.FlagSet) {}

func joinCluster(ctx context.Context, srv *node.Server, v *viper.Viper, log *zap.Logger) (leave func(), err error) {
	return func() {}, nil
}
