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
