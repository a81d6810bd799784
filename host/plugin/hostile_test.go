package plugin_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/assets"
	"github.com/pipe-bench/pipe/host/pipeline"
	"github.com/pipe-bench/pipe/host/plugin"
)

// TestModuleChecks: modules that are not ABI v1 plugins are refused before
// they are instantiated, each with one line that names the fix.
func TestModuleChecks(t *testing.T) {
	good := map[string]string{"pipe_abi_v1": "v", "pipe_describe": "i"}
	with := func(extra map[string]string, drop ...string) map[string]string {
		out := map[string]string{}
		for k, v := range good {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		for _, k := range drop {
			delete(out, k)
		}
		return out
	}
	tests := []struct {
		name   string
		module []byte
		is     error
		want   string
	}{
		{"not wasm at all", []byte("#!/bin/sh\necho hi\n"), plugin.ErrNotPlugin, "is not a WebAssembly module"},
		{"wasm without the marker", fakeModule{exports: with(nil, "pipe_abi_v1"), memory: true}.bytes(), plugin.ErrNotPlugin, "exports no pipe_abi_v1 marker"},
		{"wrong ABI version", fakeModule{exports: with(map[string]string{"pipe_abi_v2": "v"}, "pipe_abi_v1"), memory: true}.bytes(), plugin.ErrABIVersion, "ABI version 2, this pipe speaks 1"},
		{"built as a command (hand-made)", fakeModule{exports: with(map[string]string{"_start": "v"}), memory: true}.bytes(), plugin.ErrCommand, "rebuild with -buildmode=c-shared"},
		{"unknown import", fakeModule{imports: []string{"env.abort"}, exports: good, memory: true}.bytes(), plugin.ErrUnknownImport, "unknown import env.abort"},
		{"unknown pipe import", fakeModule{imports: []string{"pipe.clock_now"}, exports: good, memory: true}.bytes(), plugin.ErrUnknownImport, "unknown import pipe.clock_now"},
		{"unknown WASI import", fakeModule{imports: []string{"wasi_snapshot_preview1.sock_open"}, exports: good, memory: true}.bytes(), plugin.ErrUnknownImport, "wasi_snapshot_preview1.sock_open"},
		{"wrong import signature", fakeModule{imports: []string{"pipe.input_len"}, exports: good, memory: true}.bytes(), plugin.ErrBadModule, "import pipe.input_len has signature ()->(), want ()->(i32)"},
		{"missing export", fakeModule{exports: with(nil, "pipe_describe"), memory: true}.bytes(), plugin.ErrBadModule, "missing export pipe_describe"},
		{"no memory", fakeModule{exports: good}.bytes(), plugin.ErrBadModule, `exports no memory named "memory"`},
		{"wrong export signature", fakeModule{exports: with(map[string]string{"pipe_metric": "v"}), memory: true}.bytes(), plugin.ErrBadModule, "export pipe_metric has signature ()->(), want ()->(i32)"},
		{"describe writes nothing", fakeModule{exports: good, memory: true}.bytes(), plugin.ErrBadOutput, "manifest is not JSON"},
	}
	h := newHost(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.wasm")
			if err := os.WriteFile(path, tt.module, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := h.Load(context.Background(), pipeline.PluginSpec{Name: "m", Path: path})
			t.Log(err)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v\nwant %v containing %q", err, tt.is, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestBuiltAsCommand(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out := filepath.Join(assets.CacheDir(), "plugins-test", "command-mode.wasm")
	if _, err := os.Stat(out); err != nil {
		cmd := exec.Command("go", "build", "-o", out, ".") // no -buildmode=c-shared: a WASI command
		cmd.Dir = filepath.Join(repoRoot(), "host/plugin/testdata/command")
		cmd.Env = append(os.Environ(), plugin.BuildEnv...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
	}
	_, err := newHost(t).Load(context.Background(), pipeline.PluginSpec{Name: "command", Path: out})
	if !errors.Is(err, plugin.ErrCommand) || !strings.Contains(err.Error(), "exports _start): rebuild with -buildmode=c-shared") {
		t.Fatalf("Load error = %v, want ErrCommand", err)
	}
}

// TestHostile: a plugin that misbehaves in each way is contained with a
// clear error, and the next call gets a working instance.
func TestHostile(t *testing.T) {
	h := newHost(t)
	p, err := load(t, h, "host/plugin/testdata/hostile", pipeline.PluginSpec{MemoryMiB: 64, Timeout: 2 * time.Second, MaxOutput: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode   string
		is     error
		want   string
		refuse string // must not appear in the error
	}{
		{"loop", plugin.ErrTimeout, "pipe_metric: timed out after 2s", ""},
		{"alloc", plugin.ErrMemory, "hit its 64 MiB cap (raise memory_mib for this plugin): runtime: out of memory", ""},
		{"panic", plugin.ErrFailed, "panic: assignment to entry in nil map at main.go:", ""},
		{"goroutine_panic", plugin.ErrTrap, "panic: hostile goroutine gave up at main.go:", "unreachable"},
		{"garbage", plugin.ErrBadOutput, "not a metric output frame", ""},
		{"flood", plugin.ErrOutputCap, "wrote more than 1048576 bytes", ""},
		{"undeclared", plugin.ErrBadOutput, `undeclared metric "hostile.secret"`, ""},
		{"passwd", plugin.ErrFailed, "could not read /etc/passwd", "root:"},
		{"env", plugin.ErrFailed, `environment: ""`, ""},
		{"exit", plugin.ErrTrap, "exited with code 3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			_, _, err := p.Metric(context.Background(), []plugin.RunInput{{Case: tt.mode}})
			t.Log(err)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Metric error = %v\nwant %v containing %q", err, tt.is, tt.want)
			}
			if tt.refuse != "" && strings.Contains(err.Error(), tt.refuse) {
				t.Errorf("error shows %q: %v", tt.refuse, err)
			}
			if !strings.HasPrefix(err.Error(), "plugin hostile: pipe_metric: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("want one line starting with the plugin and call, got %q", err)
			}
			perRun, _, err := p.Metric(context.Background(), []plugin.RunInput{{Case: "ok"}, {Case: "ok"}})
			if err != nil || len(perRun) != 2 || perRun[1]["hostile.n"] != 1 {
				t.Fatalf("after %s, a good call = %v, %v", tt.mode, perRun, err)
			}
		})
	}
}

// TestSandboxClock: the guest sees wazero's fake clock, not the host's.
func TestSandboxClock(t *testing.T) {
	p, err := load(t, newHost(t), "host/plugin/testdata/hostile", pipeline.PluginSpec{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Metric(context.Background(), []plugin.RunInput{{Case: "clock"}})
	if err == nil || !strings.Contains(err.Error(), "clock: ") {
		t.Fatalf("error = %v", err)
	}
	if now := time.Now().UTC().Format("2006-01-02"); strings.Contains(err.Error(), now) {
		t.Errorf("guest saw the real date %s: %v", now, err)
	}
}

// TestPluginLog: the log import and the guest's stdout reach the host's
// logger, tagged with the plugin's name.
func TestPluginLog(t *testing.T) {
	var buf bytes.Buffer
	h, err := plugin.NewHost(context.Background(), plugin.HostOptions{
		CacheDir: filepath.Join(assets.CacheDir(), "wazero"),
		Logger:   slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	p, err := load(t, h, "host/plugin/testdata/hostile", pipeline.PluginSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Metric(context.Background(), []plugin.RunInput{{Case: "log"}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`level=WARN msg="hello from hostile" plugin=hostile`, `level=DEBUG msg="\"a line on stdout\"" plugin=hostile`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, buf.String())
		}
	}
}

// TestGrants: what a pipeline grants — the clock, named environment
// variables, read-only directories — reaches the guest, and nothing more.
func TestGrants(t *testing.T) {
	t.Setenv("PIPE_GRANTED", "yes")
	t.Setenv("PIPE_SECRET", "no")
	p, err := load(t, newHost(t), "host/plugin/testdata/hostile", pipeline.PluginSpec{Grant: pipeline.PluginGrant{
		Clock: true, Env: []string{"PIPE_GRANTED"}, Read: []string{"/etc"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode, want, refuse string
	}{
		{"clock", "clock: " + time.Now().UTC().Format("2006-01-02"), ""},
		{"env", "PIPE_GRANTED=yes", "PIPE_SECRET"},
		{"passwd", "read /etc/passwd: \"root:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			_, _, err := p.Metric(context.Background(), []plugin.RunInput{{Case: tt.mode}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if tt.refuse != "" && strings.Contains(err.Error(), tt.refuse) {
				t.Errorf("the guest saw %s, which was not granted: %v", tt.refuse, err)
			}
		})
	}
}
