package settings

import (
	"github.com/spf13/pflag"
)

// value is an option whose text parse turns into its target, for types
// pflag has no flag of (sizes, ratios, lists with their own syntax).
type value[T any] struct {
	p     *T
	parse func(string) (T, error)
	show  func(T) string
	typ   string
}

// Value binds *p to an option: parse reads the option's text, show writes
// *p back as text (for --help defaults), typ names the kind of value in
// --help.
func Value[T any](p *T, parse func(string) (T, error), show func(T) string, typ string) pflag.Value {
	return &value[T]{p: p, parse: parse, show: show, typ: typ}
}

func (v *value[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

func (v *value[T]) String() string { return v.show(*v.p) }
func (v *value[T]) Type() string   { return v.typ }

// ignored is an option accepted for compatibility that has no effect.
type ignored struct {
	s     *Set
	label string
	why   string
	check func(string) error // nil: any value
	arg   bool
	val   string
}

// Ignored declares an option that is accepted and does nothing: setting it
// records the warning "LABEL is ignored: why". An option with arg takes a
// value, which check (when not nil) validates as memcached would.
func (s *Set) Ignored(name, short string, arg bool, check func(string) error, usage, why string) {
	label := "--" + name
	if short != "" {
		label = "-" + short + " (--" + name + ")"
	}
	v := &ignored{s: s, label: label, why: why, check: check, arg: arg}
	f := s.Flags.VarPF(v, name, short, usage+" (ignored: "+why+")")
	if !arg {
		f.NoOptDefVal = "true"
	}
}

func (v *ignored) Set(x string) error {
	if v.check != nil {
		if err := v.check(x); err != nil {
			return err
		}
	}
	v.val = x
	if !v.arg && x == "false" {
		return nil // an ignored switch turned off is as good as absent
	}
	v.s.Warn("%s is ignored: %s", v.label, v.why)
	return nil
}

func (v *ignored) String() string { return v.val }

func (v *ignored) Type() string {
	if v.arg {
		return "string"
	}
	return "bool"
}

// Text binds *p, of a named string type, to an option; what the value may
// be is for the config's Validate to say.
func Text[T ~string](p *T, typ string) pflag.Value {
	return Value(p, func(s string) (T, error) { return T(s), nil }, func(t T) string { return string(t) }, typ)
}
