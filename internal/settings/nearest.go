package settings

import (
	"fmt"

	"github.com/spf13/pflag"
)

// unknown is the error for an option or key name that flags do not have,
// with the nearest known name when one is close enough to be a typo.
func unknown(flags *pflag.FlagSet, what, name string) error {
	if len(name) == 1 {
		if f := flags.ShorthandLookup(name); f != nil {
			return fmt.Errorf("%s %q: use the long name %q", what, name, f.Name)
		}
		return fmt.Errorf("unknown %s %q", what, name)
	}
	if near := nearest(flags, name); near != "" {
		return fmt.Errorf("unknown %s %q (nearest known: %q)", what, name, near)
	}
	return fmt.Errorf("unknown %s %q", what, name)
}

// nearest is the option name closest to name by edit distance, if the
// distance is at most a third of name's length (at least 1); "" otherwise.
func nearest(flags *pflag.FlagSet, name string) string {
	return nearestOf(name, func(yield func(string)) {
		flags.VisitAll(func(f *pflag.Flag) { yield(f.Name) })
	})
}

// nearestOf is nearest over the names each visits.
func nearestOf(name string, each func(yield func(string))) string {
	best, bestD := "", max(1, len(name)/3)+1
	each(func(c string) {
		if d := distance(name, c); d < bestD {
			best, bestD = c, d
		}
	})
	return best
}

// distance is the edit distance between a and b, counting a swap of two
// neighbouring letters as one edit (optimal string alignment): typos are
// mostly that.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
