package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/node"
)

// storeOptions declares a node's storage options, as memcached names them,
// bound to c. ext is -o, for the storage suboptions.
func storeOptions(s *settings.Set, c *node.Config, ext *settings.Extended) {
	f := s.Flags
	f.VarP(settings.Value(&c.MemoryLimitMB, parseMegabytes, strconv.Itoa, "megabytes"), "memory-limit", "m", "item memory in megabytes")
	f.VarP(settings.Value(&c.MaxItemSize, parseItemSize, showItemSize, "size"), "max-item-size", "I", "max item size, in bytes or with a k, m or g suffix, 1k to 1g")
	f.Float64VarP(&c.GrowthFactor, "slab-growth-factor", "f", c.GrowthFactor, "chunk size growth factor")
	f.IntVarP(&c.MinChunk, "slab-min-size", "n", c.MinChunk, "min space used for key+value+flags in the smallest chunk")
	f.BoolVarP(&c.DisableCAS, "disable-cas", "C", c.DisableCAS, "disable use of CAS")
	f.BoolVarP(&c.DisableEvictions, "disable-evictions", "M", c.DisableEvictions, "return an error on memory exhausted instead of evicting")
	f.VarPF(&disableFlushValue{c: c}, "disable-flush-all", "F", "disable the flush_all command").NoOptDefVal = "true"
	f.BoolVarP(&c.DisableDumping, "disable-dumping", "X", c.DisableDumping, "disable stats cachedump and lru_crawler metadump")
	s.Ignored("enable-largepages", "L", false, nil, "try to use large memory pages",
		"the item arena is one anonymous mapping; the kernel's transparent huge pages apply to it")
	s.Ignored("memory-file", "e", true, nil, "mmap a file for item memory (restartable cache)",
		"items live in anonymous memory; a restarted node starts empty")
	f.VarP(settings.Value(&c.PrefixDelimiter, parseDelimiter(&c.Detail), func(b byte) string { return string(b) }, "char"),
		"prefix-delimiter", "D", "delimiter of key prefixes for stats detail; turns stats detail on")
	storeSuboptions(ext, c)
}

// parseMegabytes reads -m as memcached 1.6 does: a number of megabytes. It
// takes an M suffix too, which memcached's atoi skips; any other suffix is
// refused, since memcached would read "1g" as 1 megabyte.
func parseMegabytes(s string) (int, error) {
	digits := strings.TrimRight(s, "MmBb")
	suffix := strings.ToLower(s[len(digits):])
	n, err := strconv.Atoi(digits)
	if err != nil || (suffix != "" && suffix != "m" && suffix != "mb") {
		return 0, fmt.Errorf("-m takes megabytes: memcached 1.6 reads only the number in front, so it would take %q as %d MB; for a gigabyte write 1024", s, leadingNumber(s))
	}
	return n, nil
}

// leadingNumber is C's atoi: the number at the start of s, 0 if none.
func leadingNumber(s string) int {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// parseItemSize reads -I: bytes, or a k, m or g suffixed size (memcached
// takes k and m; g is shoal's, for the largest -I, 1g).
func parseItemSize(s string) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult, t = 1<<10, t[:n-1]
		case 'm':
			mult, t = 1<<20, t[:n-1]
		case 'g':
			mult, t = 1<<30, t[:n-1]
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q: want bytes or a k, m or g suffixed size", s)
	}
	return n * mult, nil
}

func showItemSize(n int) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "m"
	case n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "k"
	}
	return strconv.Itoa(n)
}

// disableFlushValue is -F: flush_all joins the disabled commands.
type disableFlushValue struct{ c *node.Config }

func (v *disableFlushValue) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	i := slices.Index(v.c.DisabledCommands, "flush_all")
	switch {
	case on && i < 0:
		v.c.DisabledCommands = append(v.c.DisabledCommands, "flush_all")
	case !on && i >= 0:
		v.c.DisabledCommands = slices.Delete(v.c.DisabledCommands, i, i+1)
	}
	return nil
}

func (v *disableFlushValue) String() string {
	return strconv.FormatBool(slices.Contains(v.c.DisabledCommands, "flush_all"))
}
func (v *disableFlushValue) Type() string { return "bool" }

// parseDelimiter reads -D as memcached does: its first character, which
// also turns stats detail on.
func parseDelimiter(detail *bool) func(string) (byte, error) {
	return func(s string) (byte, error) {
		if s == "" {
			return 0, errors.New("no delimiter specified")
		}
		*detail = true
		return s[0], nil
	}
}
