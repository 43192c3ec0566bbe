package settings

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// EnvPrefix starts the environment variable of every option: the option
// --memory-limit is SHOAL_MEMORY_LIMIT.
const EnvPrefix = "SHOAL_"

// ConfigOption is the option that names the config file.
const ConfigOption = "config"

// Sources an option's value can come from, highest precedence first.
const (
	FromCommandLine = "the command line"
	FromEnvironment = "the environment"
	FromFile        = "the config file"
)

// A Set is one command's options and where their values came from.
type Set struct {
	Flags    *pflag.FlagSet
	from     map[string]string // option name: the source that set it
	loading  string            // the source being applied, "" for the command line
	merged   map[string]bool   // options whose values merge across sources (Extended)
	warnings []string
}

// New makes the settings of a command whose options are, or will be,
// declared on flags. It declares --config.
func New(flags *pflag.FlagSet) *Set {
	s := &Set{Flags: flags, from: map[string]string{}, merged: map[string]bool{}}
	flags.String(ConfigOption, "", "config file: YAML, TOML or JSON (by extension, keys named like the long options), or memcached-style (one option a line, as /etc/memcached.conf)")
	return s
}

// Load fills the options the command line did not set from the environment
// and then from the config file. Call it once the command line is parsed.
func (s *Set) Load() error {
	s.Flags.Visit(func(f *pflag.Flag) { s.from[f.Name] = FromCommandLine })
	if err := s.loadEnv(); err != nil {
		return err
	}
	if path := s.Flags.Lookup(ConfigOption).Value.String(); path != "" {
		return s.loadFile(path)
	}
	return nil
}

// EnvName is the environment variable of the option name.
func EnvName(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func (s *Set) loadEnv() error {
	s.loading = FromEnvironment
	defer func() { s.loading = "" }()
	var err error
	s.Flags.VisitAll(func(f *pflag.Flag) {
		v, ok := os.LookupEnv(EnvName(f.Name))
		if !ok || err != nil || !s.settable(f.Name) {
			return
		}
		if serr := s.set(f, v); serr != nil {
			err = fmt.Errorf("%s=%s: %w", EnvName(f.Name), v, serr)
		}
	})
	return err
}

// settable reports whether the source being loaded may set the option: no
// higher source did, or its values merge.
func (s *Set) settable(name string) bool {
	from, done := s.from[name]
	return !done || from == s.loading || s.merged[name]
}

// set applies one value from the source being loaded.
func (s *Set) set(f *pflag.Flag, v string) error {
	if err := s.Flags.Set(f.Name, v); err != nil {
		// pflag's error repeats the option; the caller names it its way.
		if invalid := (*pflag.InvalidValueError)(nil); errors.As(err, &invalid) {
			return invalid.Unwrap()
		}
		return err
	}
	s.from[f.Name] = s.loading
	return nil
}

// Changed reports whether any source set the option.
func (s *Set) Changed(name string) bool {
	if _, ok := s.from[name]; ok {
		return true
	}
	f := s.Flags.Lookup(name)
	return f != nil && f.Changed
}

// Source is where the option's value came from, "" if from nowhere (its
// default).
func (s *Set) Source(name string) string {
	if from, ok := s.from[name]; ok {
		return from
	}
	if f := s.Flags.Lookup(name); f != nil && f.Changed {
		return FromCommandLine
	}
	return ""
}

// Warn records a warning for the command to log at startup; the same
// warning is kept once.
func (s *Set) Warn(format string, a ...any) {
	w := fmt.Sprintf(format, a...)
	if !slices.Contains(s.warnings, w) {
		s.warnings = append(s.warnings, w)
	}
}

// Warnings are the warnings recorded, in order.
func (s *Set) Warnings() []string { return s.warnings }

// Label names an option as a user writes it: "-m (--memory-limit)" or
// "--gossip".
func Label(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand + " (--" + f.Name + ")"
	}
	return "--" + f.Name
}
