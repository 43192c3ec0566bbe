package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testpki"
	"github.com/shoal-cache/shoal/internal/testproc"
)

// A node started with TLS and ASCII authentication (-Z, -Y) is reached
// through the client for data and for discovery alike; a wrong password is
// refused with ErrAuthFailed; and after the credentials file changes and
// the node gets SIGHUP, the new password works and the old one not.
func TestTLSAndAuthentication(t *testing.T) {
	p := testpki.New(t)
	auth := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(auth, []byte("app:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := testproc.StartMember(t, "node", "", "-Y", auth, "-Z", "-o", "ssl_chain_cert="+p.CertFile+",ssl_key="+p.KeyFile)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	use := func(cfg Config) error {
		cfg.TLS, cfg.Timeout = p.ClientTLS(), 2*time.Second
		c, err := New(ctx, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Set(ctx, &Item{Key: "k", Value: []byte("over TLS")}); err != nil {
			return err
		}
		it, err := c.Get(ctx, "k")
		if err == nil && string(it.Value) != "over TLS" {
			err = errors.New("wrong value " + string(it.Value))
		}
		return err
	}
	for _, cfg := range []Config{{Servers: []string{n.Addr}}, {Endpoints: []string{n.Addr}}} {
		cfg.Username, cfg.Password = "app", "s3cret"
		if err := use(cfg); err != nil {
			t.Fatalf("servers %v endpoints %v: %v", cfg.Servers, cfg.Endpoints, err)
		}
	}
	if err := use(Config{Servers: []string{n.Addr}, Username: "app", Password: "wrong"}); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("a wrong password: %v, want ErrAuthFailed", err)
	}
	if err := os.WriteFile(auth, []byte("app:rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for use(Config{Servers: []string{n.Addr}, Username: "app", Password: "rotated"}) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the new password does not work after SIGHUP")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := use(Config{Servers: []string{n.Addr}, Username: "app", Password: "s3cret"}); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("the old password after SIGHUP: %v, want ErrAuthFailed", err)
	}
}
