package plugin_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
)

// repoRoot is the checkout, two levels up from this package.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// buildPlugin builds the plugin in dir (relative to the checkout) once per
// change of its sources, into the test plugin cache, and returns the .wasm
// path. Builds are real: GOOS=wasip1 go build -buildmode=c-shared.
func buildPlugin(t testing.TB, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH to build plugins")
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if out, ok := built[dir]; ok {
		return out
	}
	out := filepath.Join(assets.CacheDir(), "plugins-test", filepath.Base(dir)+".wasm")
	if _, err := plugin.Build(context.Background(), filepath.Join(repoRoot(), dir), out); err != nil {
		t.Fatal(err)
	}
	built[dir] = out
	return out
}

// newHost returns a host on the shared on-disk compilation cache, closed
// when the test ends.
func newHost(t testing.TB) *plugin.Host {
	t.Helper()
	h, err := plugin.NewHost(context.Background(), plugin.HostOptions{CacheDir: filepath.Join(assets.CacheDir(), "wazero")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// load builds dir and loads it with spec (Path filled in).
func load(t testing.TB, h *plugin.Host, dir string, spec pipeline.PluginSpec) (*plugin.Plugin, error) {
	t.Helper()
	spec.Path = buildPlugin(t, dir)
	if spec.Name == "" {
		spec.Name = filepath.Base(dir)
	}
	return h.Load(context.Background(), spec)
}
