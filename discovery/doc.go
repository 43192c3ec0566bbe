// Package discovery keeps shoal's cluster membership and publishes it the
// way Amazon ElastiCache for Memcached does, for `config get cluster`.
//
// Members (cache nodes and configuration endpoints) find one another by
// SWIM gossip (hashicorp/memberlist). Gossip says who is alive; it does not
// make members agree on positions or versions. So one member at a time, the
// coordinator, turns the membership into a table: each node's stable
// position, its state and the configuration version. The coordinator is the
// first live member in a fixed order (endpoints before nodes, then by name),
// so every member that sees the same membership picks the same one. Every
// member answers discovery requests from its own copy of the table, so
// losing the endpoint loses nothing.
//
// Everything from the network is checked (exchange.go, accept.go). Tables
// are never pushed: the coordinator tells every member its version, and a
// member that hears of a newer one pulls the table, with a fresh nonce,
// from the coordinator as it sees it, at the address gossip knows it by. It
// takes the table only from the reply carrying its nonce, and only if the
// table is well formed, lists nothing but live members at the addresses
// they gossip, and is at most one term ahead of what it knows. Messages
// from hosts that are not live members are dropped. Off loopback, gossip
// needs a key (Config.SecretKey), without which a host cannot join.
//
// Versions (version.go) are unique per coordinator term: each names the
// term's epoch and the coordinator's slot, so two coordinators (two sides
// of a partition) never number two tables alike, and a newer epoch always
// wins. A member that becomes coordinator first pulls the tables of every
// other member and starts its term above all of them.
//
// Positions: a node keeps its position as long as it lives; a node that
// comes back under the same name gets its old position back when it is free;
// a new node takes the lowest free position. Each node is listed with the
// version since which it is active, so a node that was dropped learns it
// even if it never saw the table that dropped it (Config.OnDropped). A node
// that enters the table saying it is active (back from a drop) is listed
// joining until it has flushed and declared itself active again (admit).
package discovery
