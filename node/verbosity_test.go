package node

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// verbosity N moves the log's level for real: 1 and up log at debug
// level, 2 also every command line, 0 back to info.
func TestVerbosityMovesTheLogLevel(t *testing.T) {
	level := zap.NewAtomicLevelAt(zap.InfoLevel)
	core, logs := observer.New(level)
	cfg := DefaultConfig()
	cfg.Listen, cfg.Port, cfg.LogLevel = []string{"127.0.0.1"}, 0, &level
	s, err := NewServer(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	send := func(line, want string) {
		t.Helper()
		if _, err := nc.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if got, err := r.ReadString('\n'); got != want {
			t.Fatalf("%q answered %q, %v", line, got, err)
		}
	}
	commands := func() int { return logs.FilterMessage("command").Len() }

	send("get a\r\n", "END\r\n")
	send("verbosity 2\r\n", "OK\r\n")
	if level.Level() != zapcore.DebugLevel {
		t.Errorf("after verbosity 2 the log level is %v, want debug", level.Level())
	}
	send("get logged-key\r\n", "END\r\n")
	found := false
	for _, e := range logs.FilterMessage("command").All() {
		if e.ContextMap()["line"] == "get logged-key" {
			found = true
		}
	}
	if !found {
		t.Errorf("at verbosity 2 the command line was not logged: %v", logs.All())
	}
	send("verbosity 0\r\n", "OK\r\n")
	if level.Level() != zapcore.InfoLevel {
		t.Errorf("after verbosity 0 the log level is %v, want info", level.Level())
	}
	before := commands()
	send("get quiet\r\n", "END\r\n")
	if commands() != before {
		t.Errorf("at verbosity 0 command lines are still logged")
	}
	send("verbosity 1\r\n", "OK\r\n")
	if level.Level() != zapcore.DebugLevel {
		t.Errorf("after verbosity 1 the log level is %v, want debug", level.Level())
	}
}
