package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/protocol"
)

// viewStates are the node states a member's view reports, each exported
// (0 when no node is in it) so that a dashboard's series do not come and go.
var viewStates = []string{string(protocol.StateJoining), string(protocol.StateActive), string(protocol.StateLeaving),
	discovery.ViewFailed, discovery.ViewLeft}

// clusterCollector exports the cluster as one member sees it.
type clusterCollector struct {
	m                             *discovery.Member
	members, version, coordinator *prometheus.Desc
	gossipMembers, listAge        *prometheus.Desc
}

func newClusterCollector(m *discovery.Member) *clusterCollector {
	return &clusterCollector{
		m:             m,
		members:       newDesc("shoal_cluster_members", "Nodes in this member's view of the cluster, by state.", "state"),
		version:       newDesc("shoal_cluster_list_version", "Version of the node list this member holds (0: none yet)."),
		coordinator:   newDesc("shoal_cluster_coordinator", "The member deciding node lists, as this member sees the membership (always 1).", "name"),
		gossipMembers: newDesc("shoal_cluster_gossip_members", "Live gossip members this member knows, itself included."),
		listAge:       newDesc("shoal_cluster_list_age_seconds", "Seconds since this member's node list last changed."),
	}
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.members, c.version, c.coordinator, c.gossipMembers, c.listAge} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.m.View()
	by := map[string]int{}
	for _, n := range v.Nodes {
		by[n.State]++
	}
	for _, s := range viewStates {
		ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(by[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(c.version, prometheus.GaugeValue, float64(v.Version))
	if v.Coordinator != "" {
		// A name comes from gossip: a label must be UTF-8.
		ch <- prometheus.MustNewConstMetric(c.coordinator, prometheus.GaugeValue, 1, strings.ToValidUTF8(v.Coordinator, "\uFFFD"))
	}
	ch <- prometheus.MustNewConstMetric(c.gossipMembers, prometheus.GaugeValue, float64(v.Members))
	if !v.Changed.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.listAge, prometheus.GaugeValue, time.Since(v.Changed).Seconds())
	}
}
