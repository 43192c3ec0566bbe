// Package dashboard is the live page an operator opens on a member's
// metrics port: the cluster map (nodes by position, coloured by state) and
// per-node charts of requests per second, hit ratio, memory, evictions and
// p99 latency, redrawn every second.
//
// Everything it serves is embedded in the binary (one HTML file with its
// script and style, no CDN), so it works offline; the page polls one JSON
// document, the cluster as this member sees it.
package dashboard
