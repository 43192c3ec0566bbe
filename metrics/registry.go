package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/node"
)

// Sources are what a process's metrics are read from. Member is nil for a
// node that does not gossip.
type Sources struct {
	Server *node.Server
	Member *discovery.Member
}

// NewRegistry returns a registry holding the metrics of src and of the Go
// process serving it.
func NewRegistry(src Sources) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.Server != nil {
		reg.MustRegister(newMemcachedCollector(src.Server), newShoalCollector(src.Server))
	}
	if src.Member != nil {
		reg.MustRegister(newClusterCollector(src.Member))
	}
	return reg
}
