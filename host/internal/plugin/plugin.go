// Package plugin runs pipe's WebAssembly plugins (ABI v1, see sdk/README.md)
// in wazero: metric plugins that add values per run, target plugins that
// judge a result, report plugins that render one.
//
// The package takes a stand on distrust. A module is checked on its compiled
// form before it is instantiated (marker export, build mode, imports, export
// signatures), and answered in one line when it is not a pipe plugin. A
// running plugin gets no files, environment, network or real clock, a memory
// cap (256 MiB unless the pipeline says otherwise), a timeout per call
// enforced by wazero's termination checks (unless the pipeline marks it
// trusted), and a cap on what it may write. What a pipeline grants by name
// is lifted and nothing more; a granted directory is a root the guest cannot
// leave, by a link or by "..". A trap, a timeout or an
// out-of-memory discards the instance; the next call gets a fresh one. Every
// failure is an error naming the plugin, the call and the fix, with the
// guest's own panic text where there is one.
//
// Use:
//
//	h, err := plugin.NewHost(ctx, plugin.HostOptions{CacheDir: filepath.Join(assets.CacheDir(), "wazero")})
//	defer h.Close(ctx)
//	p, err := h.Load(ctx, spec) // spec is a pipeline.PluginSpec
//	perRun, corpus, err := p.Metric(ctx, batch)
//	verdicts, err := p.Target(ctx, res)
//	rep, err := p.Report(ctx, res)
//
// A Plugin is safe for concurrent use; its calls run one at a time.
package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/tailbuf"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// Defaults for the limits a PluginSpec leaves at zero.
const (
	DefaultMemoryMiB       = 256
	DefaultMaxOutput       = 16 << 20  // describe, metric and target output
	DefaultMaxReportOutput = 256 << 20 // a report file
	MaxErrorMessage        = 4 << 10   // error_set text is cut here
	MaxLogLine             = 64 << 10  // a log line is cut here
	stderrKept             = 64 << 10  // the tail of the guest's stderr kept for messages
)

// DefaultTimeouts bound one call of each export when a PluginSpec sets no
// Timeout.
var DefaultTimeouts = map[string]time.Duration{
	abi.ExportInitialize: 10 * time.Second,
	abi.ExportDescribe:   10 * time.Second,
	abi.ExportConfigure:  10 * time.Second,
	abi.ExportMetric:     60 * time.Second,
	abi.ExportTarget:     10 * time.Second,
	abi.ExportReport:     120 * time.Second,
}

// Errors a caller may branch on; each is wrapped in a message that names
// the plugin and the fix.
var (
	ErrNotPlugin     = errors.New("not a pipe plugin")
	ErrCommand       = errors.New("built as a WASI command")
	ErrABIVersion    = errors.New("plugin ABI version mismatch")
	ErrUnknownImport = errors.New("unknown import")
	ErrBadModule     = errors.New("bad plugin module")
	ErrTimeout       = errors.New("timed out")
	ErrMemory        = errors.New("out of memory")
	ErrTrap          = errors.New("crashed")
	ErrOutputCap     = errors.New("output over its cap")
	ErrBadOutput     = errors.New("bad output")
	ErrFailed        = errors.New("failed")
	ErrKind          = errors.New("kind not implemented")
)

// HostOptions configures a Host.
type HostOptions struct {
	// CacheDir holds wazero's compilation cache, shared by every plugin and
	// every pipe process: conventionally <assets.CacheDir()>/wazero. Empty
	// means an in-memory cache (every process compiles again).
	CacheDir string
	// Logger receives plugins' log lines and stdout; nil discards them.
	Logger *slog.Logger
}

// Host loads plugins. It owns the compilation cache and every runtime it
// creates; Close releases them.
type Host struct {
	opts    HostOptions
	cache   wazero.CompilationCache
	log     *slog.Logger
	mu      sync.Mutex
	plugins []*Plugin
}

// NewHost returns a Host with its compilation cache opened.
func NewHost(ctx context.Context, opts HostOptions) (*Host, error) {
	h := &Host{opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if opts.CacheDir == "" {
		h.cache = wazero.NewCompilationCache()
		return h, nil
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("plugin cache %s: %w", opts.CacheDir, err)
	}
	c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("plugin cache %s: %w", opts.CacheDir, err)
	}
	h.cache = c
	return h, nil
}

// Close closes every plugin and the cache.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	ps := h.plugins
	h.plugins = nil
	h.mu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Close(ctx))
	}
	errs = append(errs, h.cache.Close(ctx))
	return errors.Join(errs...)
}

// ResolvePath returns the .wasm file a spec names, Path or else Name, by
// pipeline.FirstPartyPlugin's rule: a path as it is, a bare name in the
// plugin cache.
func ResolvePath(spec pipeline.PluginSpec) string {
	p := spec.Path
	if p == "" {
		p = spec.Name
	}
	path, _ := pipeline.FirstPartyPlugin(p)
	return path
}

// Load reads, compiles, checks, instantiates, describes and configures the
// plugin spec names.
func (h *Host) Load(ctx context.Context, spec pipeline.PluginSpec) (*Plugin, error) {
	return h.load(ctx, spec, true)
}

func (h *Host) load(ctx context.Context, spec pipeline.PluginSpec, configure bool) (*Plugin, error) {
	path := ResolvePath(spec)
	label := spec.Name
	if label == "" {
		label = strings.TrimSuffix(filepath.Base(path), ".wasm")
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("plugin %s: %s does not exist: build it with `pipe plugin build DIR -o %s` (or `make plugins`)", label, path, path)
		}
		return nil, fmt.Errorf("plugin %s: %w", label, err)
	}
	sum := sha256.Sum256(wasm)
	p := &Plugin{
		label:        label,
		path:         path,
		sha256:       hex.EncodeToString(sum[:]),
		spec:         spec,
		log:          h.log.With("plugin", label),
		stderr:       &tailbuf.Buffer{Max: stderrKept},
		memPage:      uint32(memoryMiB(spec)) * 16,
		unconfigured: !configure,
	}
	if err := p.load(ctx, h.cache, wasm); err != nil {
		p.Close(ctx)
		return nil, fmt.Errorf("plugin %s: %w", label, err)
	}
	h.mu.Lock()
	h.plugins = append(h.plugins, p)
	h.mu.Unlock()
	return p, nil
}

// Inspect loads the plugin at path with default limits for `pipe plugin
// inspect`: checked, instantiated and described (its manifest checked
// against its exports), but not configured — a plugin that needs
// configuration can still be inspected. Its kinds can then not be called.
func (h *Host) Inspect(ctx context.Context, path string) (*Plugin, error) {
	return h.load(ctx, pipeline.PluginSpec{Path: path}, false)
}

func memoryMiB(spec pipeline.PluginSpec) int {
	if spec.MemoryMiB > 0 {
		return spec.MemoryMiB
	}
	return DefaultMemoryMiB
}

// Info describes the plugin for the result's plugin list.
func (p *Plugin) Info() result.PluginInfo {
	return result.PluginInfo{Name: p.manifest.Name, File: p.path, SHA256: p.sha256, Kinds: p.manifest.Kinds}
}

// Manifest returns what the plugin declared, its metrics' Source set to
// its name: the engine registers them in the one metric registry.
func (p *Plugin) Manifest() Manifest { return p.manifest }

// Manifest is a plugin's declaration (see abi.Manifest).
type Manifest = abi.Manifest

// Path returns the .wasm file the plugin came from.
func (p *Plugin) Path() string { return p.path }

// SHA256 returns the hex digest of the .wasm file.
func (p *Plugin) SHA256() string { return p.sha256 }

// Trusted reports whether the plugin runs without termination checks.
func (p *Plugin) Trusted() bool { return p.spec.Trusted }

// MemoryMiB returns the plugin's memory cap.
func (p *Plugin) MemoryMiB() int { return memoryMiB(p.spec) }
