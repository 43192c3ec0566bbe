package testproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	dir  string // removed by Main
	path string
	err  error
}

// ShoalBinary builds cmd/shoal, once per test binary, and returns its path.
func ShoalBinary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "shoal-test-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "shoal")
		// go test puts its own toolchain first in PATH.
		out, err := exec.Command("go", "build", "-o", build.path, "github.com/shoal-cache/shoal/cmd/shoal").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build ./cmd/shoal: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

// Main runs the tests, removes the binary ShoalBinary built, and exits with
// the tests' status. A package's TestMain calls it.
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// Tool is the path of a program a test talks to (memcached, memccapable,
// memcslap, prlimit...). When it is missing the test fails, since `make
// test` installs it; under -short it is skipped instead, so that `go test
// -short ./...` passes on a machine with Go alone.
func Tool(tb testing.TB, name, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if testing.Short() {
		tb.Skipf("%s is not installed (package %s; make deps installs it)", name, pkg)
	}
	tb.Fatalf("%s is needed (package %s; make deps installs it): %v", name, pkg, err)
	return ""
}
