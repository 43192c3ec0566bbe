package settings

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Extended is an option of comma-separated suboptions, key or key=value, as
// memcached's -o. Every suboption takes its value from the highest source
// that sets it, on its own: a command line's -o a=1 keeps a file's a=2 from
// applying, not the file's b=2.
type Extended struct {
	s     *Set
	label string
	subs  map[string]func(val string, hasVal bool) error
	from  map[string]string // suboption: the source that set it
	given []string
}

// Extended declares an option of suboptions, to be declared with Option,
// Switch, Ignored and Accepted.
func (s *Set) Extended(name, short, usage string) *Extended {
	e := &Extended{s: s, label: "-o", subs: map[string]func(string, bool) error{}, from: map[string]string{}}
	if short != "" {
		e.label = "-" + short
	} else {
		e.label = "--" + name
	}
	s.Flags.VarP(e, name, short, usage)
	s.merged[name] = true
	return e
}

// Option declares a suboption that takes a value.
func (e *Extended) Option(key string, set func(string) error) {
	e.subs[key] = func(v string, hasVal bool) error {
		if !hasVal {
			return fmt.Errorf("%s %s needs a value (%s=...)", e.label, key, key)
		}
		if err := set(v); err != nil {
			return fmt.Errorf("%s %s=%s: %w", e.label, key, v, err)
		}
		return nil
	}
}

// Optional declares a suboption whose value may be left out, for def.
func (e *Extended) Optional(key, def string, set func(string) error) {
	e.Option(key, set)
	withValue := e.subs[key]
	e.subs[key] = func(v string, hasVal bool) error {
		if !hasVal {
			v = def
		}
		return withValue(v, true)
	}
}

// Switch declares a suboption without a value; like memcached, it ignores
// one given.
func (e *Extended) Switch(key string, set func()) {
	e.subs[key] = func(string, bool) error { set(); return nil }
}

// Ignored declares a suboption accepted that does nothing here: setting it
// records the warning "-o key is ignored: why".
func (e *Extended) Ignored(key, why string) {
	e.subs[key] = func(string, bool) error {
		e.s.Warn("%s %s is ignored: %s", e.label, key, why)
		return nil
	}
}

// Accepted declares a suboption that needs nothing done: memcached's own
// no-ops, or what shoal always does.
func (e *Extended) Accepted(key string) {
	e.subs[key] = func(string, bool) error { return nil }
}

// Keys are the suboptions declared, sorted.
func (e *Extended) Keys() []string { return slices.Sorted(maps.Keys(e.subs)) }

func (e *Extended) Set(list string) error {
	for _, part := range strings.Split(list, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		key, val, hasVal := strings.Cut(part, "=")
		apply, ok := e.subs[key]
		if !ok {
			return e.unknown(key)
		}
		if from, done := e.from[key]; done && from != e.s.loading {
			continue // a higher source set it
		}
		if err := apply(val, hasVal); err != nil {
			return err
		}
		e.from[key] = e.s.loading
		e.given = append(e.given, part)
	}
	return nil
}

func (e *Extended) unknown(key string) error {
	near := nearestOf(key, func(yield func(string)) {
		for _, k := range e.Keys() {
			yield(k)
		}
	})
	if near != "" {
		return fmt.Errorf("unknown %s suboption %q (nearest known: %q)", e.label, key, near)
	}
	return fmt.Errorf("unknown %s suboption %q", e.label, key)
}

func (e *Extended) String() string { return strings.Join(e.given, ",") }
func (e *Extended) Type() string   { return "key[=value],..." }
