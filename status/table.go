package status

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteTable writes s as a table, a row per node in position order.
func (s Snapshot) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "cluster version %d, %d nodes, %s\n", s.Version, len(s.Nodes), s.Taken.UTC().Format("2006-01-02 15:04:05Z"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "POS\tSTATE\tADDRESS\tITEMS\tMEMORY\tHIT%\tOPS/S\tCONNS\tEVICTIONS\tP99\t")
	for _, r := range s.Nodes {
		if r.Err != "" {
			fmt.Fprintf(tw, "%d\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\t  %s\n", r.Position, r.State, r.Addr, r.Err)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s / %s\t%.1f\t%.0f\t%d\t%d\t%s\t\n", r.Position, r.State, r.Addr,
			r.Items, mib(r.Bytes), mib(r.LimitBytes), 100*r.HitRatio, r.OpsPerSec, r.Connections, r.Evictions, p99(r.P99us))
	}
	return tw.Flush()
}

func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + "M" }

func p99(us float64) string {
	switch {
	case us < 0:
		return "-"
	case us >= 1000:
		return strconv.FormatFloat(us/1000, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(us, 'f', 1, 64) + "µs"
}
