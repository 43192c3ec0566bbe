// Package settings gives a command one settings path: its options are
// declared once, as pflag flags bound to the fields of the config structs
// they fill (node.Config, bench.Config, ...), and Load fills the options the
// command line left alone from SHOAL_* environment variables, then from the
// config file named by --config. An option takes its value from the first of
// these sources that sets it; within one source a repeated option
// accumulates as on a command line (-l a -l b, -vv). What the values mean
// together is checked afterwards, once, by the config structs' Validate.
//
// Config files come in two kinds, told apart by their extension:
//
//   - .yaml, .yml, .toml, .json: keys named like the long options
//     (memory-limit: 1024), read with viper;
//   - anything else is memcached-style, as Debian's /etc/memcached.conf:
//     options written as on the command line, one or more a line (-m 64,
//     --memory-limit=64, -vv), comments from '#' to the end of the line,
//     and a line that does not start with '-' read as a long option and
//     its value ("logfile /var/log/memcached.log").
//
// An unknown key or option in a file is an error that names it and the
// nearest known one.
//
// For memcached compatibility, Ignored declares an option that is accepted
// and does nothing, and Extended an option of comma-separated suboptions
// (memcached's -o). Setting an ignored option records a warning, which the
// command logs once at startup (Warnings).
package settings
