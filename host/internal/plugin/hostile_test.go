package plugin_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
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
		cmd.Dir = filepath.Join(repoRoot(), "host/internal/plugin/testdata/command")
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
	p, err := load(t, h, "host/internal/plugin/testdata/hostile", pipeline.PluginSpec{MemoryMiB: 64, Timeout: 2 * time.Second, MaxOutput: 1 << 20})
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
	p, err := load(t, newHost(t), "host/internal/plugin/testdata/hostile", pipeline.PluginSpec{})
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
	p, err := load(t, h, "host/internal/plugin/testdata/hostile", pipeline.PluginSpec{})
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
	p, err := load(t, newHost(t), "host/internal/plugin/testdata/hostile", pipeline.PluginSpec{Grant: pipeline.PluginGrant{
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

// grantedTree builds a granted directory whose links try every way out:
// an absolute link to /etc/passwd and to /etc, a relative chain that climbs
// out through ../, and links that stay inside (which must keep working).
// It returns the granted directory and the text of a file beside it that
// no plugin may read.
func grantedTree(t *testing.T) (granted, secret string) {
	t.Helper()
	root := t.TempDir()
	granted = filepath.Join(root, "granted")
	secret = "outside-secret-7f3a"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(granted, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(granted, "inside.txt"), []byte("inside-text"), 0o644))
	must(os.WriteFile(filepath.Join(root, "outside.txt"), []byte(secret), 0o644))
	for link, to := range map[string]string{
		"passwd":      "/etc/passwd",
		"etc":         "/etc",
		"hop":         "sub/hop2",
		"sub/hop2":    "../../outside.txt",
		"alias":       "inside.txt",
		"sub/back":    "../inside.txt",
		"sub/dirlink": "..",
	} {
		must(os.Symlink(to, filepath.Join(granted, link)))
	}
	return granted, secret
}

// TestGrantedTreeConfined: a read grant gives the granted tree and
// nothing beyond it — no link, absolute or relative, and no ".." leads out
// — while links that stay inside still work. Each refusal is one line and
// carries none of the outside file's text.
func TestGrantedTreeConfined(t *testing.T) {
	granted, secret := grantedTree(t)
	p, err := load(t, newHost(t), "host/internal/plugin/testdata/hostile", pipeline.PluginSpec{Grant: pipeline.PluginGrant{Read: []string{granted}}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(rel string) string { return granted + "/" + rel }
	tests := []struct {
		name, mode, want, refuse string
	}{
		{"link to /etc/passwd", "read:" + at("passwd"), "could not read", "root:"},
		{"link to /etc, listed", "list:" + at("etc"), "could not list", "passwd"},
		{"link to /etc, a file through it", "read:" + at("etc/passwd"), "could not read", "root:"},
		{"relative ../ chain", "read:" + at("hop"), "could not read", secret},
		{"dot-dot in the path", "read:" + at("../outside.txt"), "could not read", secret},
		{"dot-dot through a subdirectory", "read:" + at("sub/../../outside.txt"), "could not read", secret},
		{"link inside the tree", "read:" + at("alias"), `"inside-text"`, ""},
		{"relative link inside the tree", "read:" + at("sub/back"), `"inside-text"`, ""},
		{"directory link inside the tree", "list:" + at("sub/dirlink"), "inside.txt", ""},
		{"a write to a granted file", "write:" + at("inside.txt"), "could not write", ""},
		{"a new file in the tree", "write:" + at("new.txt"), "could not write", ""},
		{"a write through a link out", "write:" + at("hop"), "could not write", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := p.Metric(context.Background(), []plugin.RunInput{{Case: tt.mode}})
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if tt.refuse != "" && strings.Contains(err.Error(), tt.refuse) {
				t.Errorf("the guest got out of %s: %v", granted, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	// read-only: the writes above changed nothing
	if b, err := os.ReadFile(filepath.Join(granted, "inside.txt")); err != nil || string(b) != "inside-text" {
		t.Errorf("inside.txt = %q, %v after the guest's write", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(granted, "..", "outside.txt")); err != nil || string(b) != secret {
		t.Errorf("outside.txt = %q, %v after the guest's write", b, err)
	}
	if _, err := os.Stat(filepath.Join(granted, "new.txt")); err == nil {
		t.Error("the guest created new.txt in a read-only grant")
	}
}

// TestGrantFSBeneath: the mounted file system itself — below the guest's
// own path cleaning — refuses every way out of the granted tree, and
// follows the links that stay inside.
func TestGrantFSBeneath(t *testing.T) {
	granted, secret := grantedTree(t)
	fsys, closeFS, err := plugin.GrantFS(granted)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFS()
	for _, name := range []string{"passwd", "etc", "etc/passwd", "hop", "sub/hop2", "../outside.txt", "sub/../../outside.txt", "sub/dirlink/../outside.txt"} {
		b, err := fs.ReadFile(fsys, name)
		if err == nil || strings.Contains(string(b), "root:") || strings.Contains(string(b), secret) {
			t.Errorf("ReadFile(%q) = %q, %v; want a refusal", name, b, err)
		}
	}
	if _, err := fs.ReadDir(fsys, "etc"); err == nil {
		t.Errorf("ReadDir(etc) lists /etc")
	}
	for _, name := range []string{"alias", "sub/back", "sub/dirlink/inside.txt"} {
		if b, err := fs.ReadFile(fsys, name); err != nil || string(b) != "inside-text" {
			t.Errorf("ReadFile(%q) = %q, %v; want the file inside the tree", name, b, err)
		}
	}
}
