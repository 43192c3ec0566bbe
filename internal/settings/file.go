package settings

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// loadFile applies the config file at path to the options no higher source
// set.
func (s *Set) loadFile(path string) error {
	s.loading = FromFile
	defer func() { s.loading = "" }()
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".toml", ".json":
		err = s.loadStructured(path)
	default:
		err = s.loadMemcachedStyle(path)
	}
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// loadStructured reads a YAML, TOML or JSON file of option: value keys.
func (s *Set) loadStructured(path string) error {
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return err
	}
	keys := v.AllKeys()
	slices.Sort(keys)
	for _, k := range keys {
		f, err := s.lookup("key", k)
		if err != nil {
			return err
		}
		if err := s.setValues(f, fileValues(v.Get(k))); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// lookup finds the option a file names; the file may not name another
// config file.
func (s *Set) lookup(what, name string) (*pflag.Flag, error) {
	f := s.Flags.Lookup(name)
	switch {
	case name == ConfigOption:
		return nil, fmt.Errorf("%s %q: a config file cannot name another", what, name)
	case f == nil:
		return nil, unknown(s.Flags, what, name)
	}
	return f, nil
}

// setValues applies a file key's values: one, or a list for an option that
// takes several.
func (s *Set) setValues(f *pflag.Flag, vals []string) error {
	if !s.settable(f.Name) {
		return nil
	}
	if _, list := f.Value.(pflag.SliceValue); len(vals) != 1 && !list && !s.merged[f.Name] {
		return fmt.Errorf("takes one value, not %d", len(vals))
	}
	for _, v := range vals {
		if err := s.set(f, v); err != nil {
			return err
		}
	}
	return nil
}

// fileValues turns what viper decoded into option values.
func fileValues(x any) []string {
	list, ok := x.([]any)
	if !ok {
		return []string{fileValue(x)}
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = fileValue(e)
	}
	return out
}

func fileValue(x any) string {
	if f, ok := x.(float64); ok { // JSON numbers: 1000000, not 1e+06
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(x)
}

// loadMemcachedStyle reads a file of command-line options, as
// /etc/memcached.conf.
func (s *Set) loadMemcachedStyle(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for n, line := range strings.Split(string(b), "\n") {
		if err := s.applyWords(lineWords(line)); err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
	}
	return nil
}

// lineWords splits a memcached-style line into command-line words. A line
// that does not start with '-' is a long option and its value, as Debian's
// "logfile FILE" directive.
func lineWords(line string) []string {
	words := strings.Fields(stripComment(line))
	switch {
	case len(words) == 0 || strings.HasPrefix(words[0], "-"):
		return words
	case len(words) == 1:
		return []string{"--" + words[0]}
	}
	return []string{"--" + words[0] + "=" + strings.Join(words[1:], " ")}
}

// stripComment cuts a line at its first '#' not escaped by a backslash, as
// Debian's memcached wrapper does, and unescapes the others.
func stripComment(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '#':
			b.WriteByte('#')
			i++
		case line[i] == '#':
			return b.String()
		default:
			b.WriteByte(line[i])
		}
	}
	return b.String()
}

// applyWords parses command-line words as pflag would (--name=value,
// --name value, -m64, -m 64, -vv, -dM) and applies them.
func (s *Set) applyWords(words []string) error {
	for i := 0; i < len(words); i++ {
		w := words[i]
		next := func() (string, error) {
			if i+1 == len(words) {
				return "", fmt.Errorf("%s needs a value", w)
			}
			i++
			return words[i], nil
		}
		var err error
		switch {
		case strings.HasPrefix(w, "--") && len(w) > 2:
			err = s.applyLong(w[2:], next)
		case strings.HasPrefix(w, "-") && len(w) > 1:
			err = s.applyShort(w[1:], next)
		default:
			err = fmt.Errorf("%q is not an option", w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Set) applyLong(word string, next func() (string, error)) error {
	name, val, hasVal := strings.Cut(word, "=")
	f, err := s.lookup("option", name)
	if err != nil {
		return err
	}
	switch {
	case hasVal:
	case f.NoOptDefVal != "":
		val = f.NoOptDefVal
	default:
		if val, err = next(); err != nil {
			return err
		}
	}
	return s.applyWord(f, val)
}

// applyShort applies a cluster of short options (-dM, -vv, -m64).
func (s *Set) applyShort(cluster string, next func() (string, error)) error {
	for j := 0; j < len(cluster); j++ {
		f := s.Flags.ShorthandLookup(cluster[j : j+1])
		if f == nil {
			return unknown(s.Flags, "option", "-"+cluster[j:j+1])
		}
		if f.NoOptDefVal != "" {
			if err := s.applyWord(f, f.NoOptDefVal); err != nil {
				return err
			}
			continue
		}
		val := strings.TrimPrefix(cluster[j+1:], "=")
		if val == "" {
			var err error
			if val, err = next(); err != nil {
				return err
			}
		}
		return s.applyWord(f, val)
	}
	return nil
}

func (s *Set) applyWord(f *pflag.Flag, val string) error {
	if !s.settable(f.Name) {
		return nil
	}
	if err := s.set(f, val); err != nil {
		return fmt.Errorf("%s %s: %w", Label(f), val, err)
	}
	return nil
}
