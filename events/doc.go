// Package events tells operators what happens to the cluster, as
// ElastiCache's SNS notifications do: a node joined, became active, is
// leaving, failed or left, got a position, a node list version was
// published. Each event is one structured log line, a count by kind for
// Prometheus, and, when a webhook is given, a small JSON document POSTed to
// it.
//
// Events are derived by diffing consecutive views of one member
// (discovery.Member.View), so each member reports what it saw; the webhook is
// fed through a bounded queue and retried with backoff a bounded number of
// times, so a slow or dead receiver costs dropped events, never the node.
package events
