// Package discovery keeps shoal's cluster membership and publishes it the
// way Amazon ElastiCache for Memcached does, for `config get cluster`.
//
// Members (cache nodes and configuration endpoints) find one another by
// SWIM gossip (hashicorp/memberlist). Gossip says who is alive; it does not
// make members agree on positions or versions. So one member at a time, the
// coordinator, turns the membership into a table: each node's stable
// position, its state and the configuration version. The coordinator is the
// first live member in a fixed order (endpoints before nodes, then by name),
// so every member that sees the same membership picks the same one. It sends
// each new table to every member; members keep the newest table they have
// seen (higher version, or on a tie the table of the earlier coordinator)
// and answer discovery requests from it, so every member answers alike and
// losing the endpoint loses nothing.
//
// Positions: a node keeps its position as long as it lives; a node that
// comes back under the same name gets its old position back when it is free;
// a new node takes the lowest free position. Versions only grow: a member
// that becomes coordinator first pulls the tables of every other member and
// numbers its first table above all of them.
package discovery
