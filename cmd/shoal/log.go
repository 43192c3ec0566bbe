package main

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger logs at info level, debug with -v, to stderr or to file. The
// level it returns moves the log's (the verbosity command's).
func newLogger(verbosity int, file string) (*zap.Logger, *zap.AtomicLevel, error) {
	cfg := zap.NewProductionConfig()
	cfg.Encoding = "console"
	cfg.EncoderConfig.EncodeTime = zapISOTime
	cfg.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	if verbosity > 0 {
		cfg.Level = zap.NewAtomicLevelAt(zap.DebugLevel)
	}
	if file != "" {
		cfg.OutputPaths, cfg.ErrorOutputPaths = []string{file}, []string{file}
	}
	log, err := cfg.Build()
	if err != nil {
		return nil, nil, fmt.Errorf("opening the log: %w", err)
	}
	return log, &cfg.Level, nil
}

func zapISOTime(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendString(t.UTC().Format("2006-01-02T15:04:05.000Z"))
}
