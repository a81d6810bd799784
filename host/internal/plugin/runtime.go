package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/tailbuf"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// Plugin is a loaded plugin: one wazero runtime (its own memory cap and
// termination setting), one compiled module, and at most one live instance.
type Plugin struct {
	label    string
	path     string
	sha256   string
	spec     pipeline.PluginSpec
	log      *slog.Logger
	memPage  uint32
	manifest Manifest
	proj     abi.Projection
	// unconfigured: loaded for inspection; pipe_configure was not called,
	// so the plugin's kinds must not be called either.
	unconfigured bool

	mu       sync.Mutex
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	inst     api.Module
	stderr   *tailbuf.Buffer
	grants   []*os.Root // the read grants, in spec order (openGrants)

	// The current call's state, read by the host functions.
	input    []byte
	output   []byte
	maxOut   int
	overflow bool
	errMsg   string
	logBytes int
}

// hostFunc is one function of the "pipe" host module.
type hostFunc struct {
	params, results []api.ValueType
	fn              func(p *Plugin, m api.Module, stack []uint64)
}

var i32 = api.ValueTypeI32

// hostFuncs is ABI v1's host module, by import name.
var hostFuncs = map[string]hostFunc{
	abi.ImportInputLen: {nil, []api.ValueType{i32}, func(p *Plugin, _ api.Module, s []uint64) {
		s[0] = api.EncodeU32(uint32(len(p.input)))
	}},
	abi.ImportInputRead: {[]api.ValueType{i32, i32}, []api.ValueType{i32}, func(p *Plugin, m api.Module, s []uint64) {
		ptr, n := api.DecodeU32(s[0]), api.DecodeU32(s[1])
		n = min(n, uint32(len(p.input)))
		if !m.Memory().Write(ptr, p.input[:n]) {
			panic(fmt.Errorf("input_read(%d, %d): outside the plugin's memory", ptr, n))
		}
		s[0] = api.EncodeU32(n)
	}},
	abi.ImportOutputWrite: {[]api.ValueType{i32, i32}, []api.ValueType{i32}, func(p *Plugin, m api.Module, s []uint64) {
		ptr, n := api.DecodeU32(s[0]), api.DecodeU32(s[1])
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			panic(fmt.Errorf("output_write(%d, %d): outside the plugin's memory", ptr, n))
		}
		if len(p.output)+len(b) > p.maxOut {
			p.overflow = true
			s[0] = api.EncodeI32(-1)
			return
		}
		p.output = append(p.output, b...) // Read is a view: copy now
		s[0] = api.EncodeU32(n)
	}},
	abi.ImportErrorSet: {[]api.ValueType{i32, i32}, nil, func(p *Plugin, m api.Module, s []uint64) {
		ptr, n := api.DecodeU32(s[0]), min(api.DecodeU32(s[1]), MaxErrorMessage)
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			panic(fmt.Errorf("error_set(%d, %d): outside the plugin's memory", ptr, n))
		}
		p.errMsg = strings.ToValidUTF8(string(b), "?")
	}},
	abi.ImportLog: {[]api.ValueType{i32, i32, i32}, nil, func(p *Plugin, m api.Module, s []uint64) {
		level, ptr, n := api.DecodeU32(s[0]), api.DecodeU32(s[1]), min(api.DecodeU32(s[2]), MaxLogLine)
		if p.logBytes > 16*MaxLogLine {
			return // a chatty plugin loses its log, not its run
		}
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			panic(fmt.Errorf("log(%d, %d): outside the plugin's memory", ptr, n))
		}
		p.logBytes += len(b)
		lv := map[uint32]slog.Level{abi.LogDebug: slog.LevelDebug, abi.LogInfo: slog.LevelInfo, abi.LogWarn: slog.LevelWarn, abi.LogError: slog.LevelError}[level]
		p.log.Log(context.Background(), lv, strings.ToValidUTF8(string(b), "?"))
	}},
}

// load builds the runtime, compiles and checks the module, and starts the
// first instance (which describes and configures the plugin).
func (p *Plugin) load(ctx context.Context, cache wazero.CompilationCache, wasm []byte) error {
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(p.memPage).
		WithCloseOnContextDone(!p.spec.Trusted)
	p.runtime = wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.runtime); err != nil {
		return fmt.Errorf("instantiate WASI: %w", err)
	}
	b := p.runtime.NewHostModuleBuilder(abi.ImportModule)
	names := make([]string, 0, len(hostFuncs))
	for name := range hostFuncs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		hf := hostFuncs[name]
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, m api.Module, s []uint64) { hf.fn(p, m, s) }), hf.params, hf.results).
			Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate host module: %w", err)
	}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return fmt.Errorf("%w: %s is not a WebAssembly module (no \\0asm header)", ErrNotPlugin, p.path)
	}
	compiled, err := p.runtime.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("%w: %s does not compile: %v", ErrBadModule, p.path, err)
	}
	p.compiled = compiled
	wasi := p.runtime.Module(abi.WASIModule).ExportedFunctionDefinitions()
	if err := checkModule(compiled, wasi); err != nil {
		return err
	}
	if p.grants, err = openGrants(p.spec.Grant.Read); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.start(ctx)
}

// checkModule checks a compiled module against ABI v1 before anything of
// it runs.
func checkModule(m wazero.CompiledModule, wasi map[string]api.FunctionDefinition) error {
	exports := m.ExportedFunctions()
	var markers []string
	for name := range exports {
		if strings.HasPrefix(name, abi.MarkerPrefix) {
			markers = append(markers, name)
		}
	}
	if len(markers) == 0 {
		return fmt.Errorf("%w (it exports no %s marker): build it with the pipe SDK, e.g. `pipe plugin build DIR`", ErrNotPlugin, abi.Marker)
	}
	if _, ok := exports[abi.ExportStart]; ok {
		return fmt.Errorf("%w (it exports _start): rebuild with -buildmode=c-shared, e.g. `pipe plugin build DIR`", ErrCommand)
	}
	if !slices.Contains(markers, abi.Marker) {
		sort.Strings(markers)
		v := strings.TrimPrefix(markers[len(markers)-1], abi.MarkerPrefix)
		return fmt.Errorf("%w: ABI version %s, this pipe speaks %d: rebuild it with this pipe's SDK (or use the pipe it was built for)", ErrABIVersion, v, abi.Version)
	}
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case abi.ImportModule:
			hf, ok := hostFuncs[name]
			if !ok {
				return fmt.Errorf("%w %s.%s: this pipe provides pipe.{%s}; was it built with a newer SDK?", ErrUnknownImport, mod, name, strings.Join(slices.Sorted(maps.Keys(hostFuncs)), ","))
			}
			if !slices.Equal(f.ParamTypes(), hf.params) || !slices.Equal(f.ResultTypes(), hf.results) {
				return fmt.Errorf("%w: import %s.%s has signature %s, want %s", ErrBadModule, mod, name, signature(f.ParamTypes(), f.ResultTypes()), signature(hf.params, hf.results))
			}
		case abi.WASIModule:
			def, ok := wasi[name]
			if !ok {
				return fmt.Errorf("%w %s.%s: not a WASI preview 1 function", ErrUnknownImport, mod, name)
			}
			if !slices.Equal(f.ParamTypes(), def.ParamTypes()) || !slices.Equal(f.ResultTypes(), def.ResultTypes()) {
				return fmt.Errorf("%w: import %s.%s has signature %s, want %s", ErrBadModule, mod, name, signature(f.ParamTypes(), f.ResultTypes()), signature(def.ParamTypes(), def.ResultTypes()))
			}
		default:
			return fmt.Errorf("%w %s.%s: plugins may import only pipe.* and %s.*", ErrUnknownImport, mod, name, abi.WASIModule)
		}
	}
	if len(m.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: it imports a memory; a plugin must export its own", ErrBadModule)
	}
	if _, ok := m.ExportedMemories()[abi.ExportMemory]; !ok {
		return fmt.Errorf("%w: it exports no memory named %q", ErrBadModule, abi.ExportMemory)
	}
	if _, ok := exports[abi.ExportDescribe]; !ok {
		return fmt.Errorf("%w: missing export %s: build it with the pipe SDK", ErrBadModule, abi.ExportDescribe)
	}
	for _, name := range slices.Sorted(maps.Keys(exports)) {
		f := exports[name]
		var want []api.ValueType
		switch {
		case name == abi.ExportInitialize || strings.HasPrefix(name, abi.MarkerPrefix):
		case strings.HasPrefix(name, "pipe_"):
			want = []api.ValueType{i32}
		default:
			continue
		}
		if len(f.ParamTypes()) != 0 || !slices.Equal(f.ResultTypes(), want) {
			return fmt.Errorf("%w: export %s has signature %s, want %s", ErrBadModule, name, signature(f.ParamTypes(), f.ResultTypes()), signature(nil, want))
		}
	}
	return nil
}

// start instantiates the module and runs _initialize, pipe_describe (the
// first time) and pipe_configure. p.mu is held.
func (p *Plugin) start(ctx context.Context) (err error) {
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // _initialize runs below, under a timeout; _start never
		WithStderr(p.stderr).
		WithStdout(logWriter{p.log})
	mc = withGrant(mc, p.spec.Grant, p.grants)
	inst, err := p.runtime.InstantiateModule(ctx, p.compiled, mc)
	if err != nil {
		return fmt.Errorf("instantiate: %v", err)
	}
	p.inst = inst
	defer func() {
		if err != nil { // an instance that failed to start (or to configure) is never used
			p.discard(ctx)
		}
	}()
	if inst.ExportedFunction(abi.ExportInitialize) != nil {
		if _, err := p.invoke(ctx, abi.ExportInitialize, nil, DefaultMaxOutput); err != nil {
			return err
		}
	}
	if p.manifest.Name == "" {
		out, err := p.invoke(ctx, abi.ExportDescribe, nil, DefaultMaxOutput)
		if err != nil {
			return err
		}
		if err := p.setManifest(out); err != nil {
			return err
		}
	}
	if p.unconfigured {
		return nil
	}
	cfg, err := json.Marshal(p.spec.Config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if p.spec.Config == nil {
		cfg = []byte("{}")
	}
	if inst.ExportedFunction(abi.ExportConfigure) == nil {
		if len(p.spec.Config) > 0 {
			return fmt.Errorf("%w: it takes no configuration (no %s export): remove its config table", ErrKind, abi.ExportConfigure)
		}
		return nil
	}
	_, err = p.invoke(ctx, abi.ExportConfigure, cfg, DefaultMaxOutput)
	return err
}

func (p *Plugin) setManifest(out []byte) error {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%s: %w: manifest is not JSON: %v", abi.ExportDescribe, ErrBadOutput, err)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("%s: %w: %v", abi.ExportDescribe, ErrBadOutput, err)
	}
	for _, k := range m.Kinds {
		if p.inst.ExportedFunction(abi.KindExport[k]) == nil {
			return fmt.Errorf("%s: %w: it declares kind %s but exports no %s", abi.ExportDescribe, ErrBadOutput, k, abi.KindExport[k])
		}
	}
	if p.spec.Name != "" && p.spec.Name != m.Name {
		// The name namespaces a plugin's metrics and names its report
		// format, so the pipeline and the module must agree on it.
		return fmt.Errorf("%s: the pipeline names it %q but the module calls itself %q: use name = %q (and path = the .wasm file)", abi.ExportDescribe, p.spec.Name, m.Name, m.Name)
	}
	for i := range m.Metrics {
		m.Metrics[i].Source = m.Name
	}
	p.manifest = m
	p.proj = abi.ProjectionOf(&m)
	return nil
}

// call runs one export with input, starting a fresh instance first when the
// last one was discarded.
func (p *Plugin) call(ctx context.Context, export string, input []byte, maxOut int) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runtime == nil {
		return nil, fmt.Errorf("plugin %s: closed", p.label)
	}
	if p.unconfigured {
		return nil, fmt.Errorf("plugin %s: loaded for inspection only: load it with Host.Load to call it", p.label)
	}
	if p.inst == nil {
		if err := p.start(ctx); err != nil {
			return nil, fmt.Errorf("plugin %s: restart: %w", p.label, err)
		}
	}
	out, err := p.invoke(ctx, export, input, maxOut)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", p.label, err)
	}
	return out, nil
}

// invoke calls export on the live instance; p.mu is held. Any trap,
// timeout or exit discards the instance.
func (p *Plugin) invoke(ctx context.Context, export string, input []byte, maxOut int) ([]byte, error) {
	fn := p.inst.ExportedFunction(export)
	if fn == nil {
		return nil, fmt.Errorf("%w: it does not export %s", ErrKind, export)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", export, err)
	}
	if maxOut <= 0 {
		maxOut = DefaultMaxOutput
	}
	p.input, p.output, p.maxOut, p.overflow, p.errMsg, p.logBytes = input, nil, maxOut, false, "", 0
	p.stderr.Reset()
	timeout := p.spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeouts[export]
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	res, err := fn.Call(cctx)
	cancel()
	p.input = nil
	out := p.output
	p.output = nil
	if err != nil {
		p.discard(ctx)
		return nil, fmt.Errorf("%s: %w", export, p.explain(ctx, err, timeout))
	}
	if p.overflow {
		return nil, fmt.Errorf("%s: %w: it wrote more than %d bytes (raise max_output for this plugin)", export, ErrOutputCap, maxOut)
	}
	if len(res) == 0 { // _initialize
		return out, nil
	}
	switch status := api.DecodeI32(res[0]); status {
	case abi.StatusOK:
		return out, nil
	case abi.StatusBadInput:
		return nil, fmt.Errorf("%s: %w: it could not read its input: %s", export, ErrFailed, orNoMessage(p.errMsg))
	default:
		return nil, fmt.Errorf("%s: %w: %s", export, ErrFailed, orNoMessage(p.errMsg))
	}
}

func orNoMessage(s string) string {
	if s == "" {
		return "(no message: the plugin called no error_set)"
	}
	return s
}

// explain turns a trap into one line: a timeout, an out-of-memory, the
// guest's panic text, or the trap with the last line of stderr.
func (p *Plugin) explain(ctx context.Context, err error, timeout time.Duration) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			if ctx.Err() == nil {
				return fmt.Errorf("%w after %s: the plugin is stuck or too slow; raise timeout for this plugin if it needs longer", ErrTimeout, timeout)
			}
			return ctx.Err()
		case sys.ExitCodeContextCanceled:
			return context.Canceled
		}
		return fmt.Errorf("%w: it exited with code %d; a plugin must return a status, not exit%s", ErrTrap, exit.ExitCode(), p.stderrHint())
	}
	stderr := p.stderr.String()
	if strings.Contains(stderr, "out of memory") {
		return fmt.Errorf("%w: it hit its %d MiB cap (raise memory_mib for this plugin): %s", ErrMemory, p.memPage/16, firstLine(stderr, "runtime: out of memory", "fatal error"))
	}
	if msg := panicText(stderr); msg != "" {
		return fmt.Errorf("%w: %s", ErrTrap, msg)
	}
	return fmt.Errorf("%w: %s%s", ErrTrap, strings.SplitN(err.Error(), "\n", 2)[0], p.stderrHint())
}

func (p *Plugin) stderrHint() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	return "; stderr: " + strings.TrimSpace(lines[len(lines)-1])
}

// panicText finds a Go panic or fatal error in stderr and returns its
// message and the first frame in the plugin's own code.
func panicText(stderr string) string {
	lines := strings.Split(stderr, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "panic: ") && !strings.HasPrefix(l, "fatal error: ") {
			continue
		}
		msg := strings.TrimSuffix(l, " [recovered]")
		for j := i + 1; j+1 < len(lines); j++ {
			fn := lines[j]
			if strings.HasPrefix(fn, "main.") || (strings.Contains(fn, ".") && !strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "panic(") && !strings.HasPrefix(fn, "\t") && !strings.HasPrefix(fn, "goroutine ") && strings.HasSuffix(fn, ")")) {
				loc := strings.TrimSpace(lines[j+1])
				if k := strings.LastIndex(loc, " +0x"); k >= 0 {
					loc = loc[:k]
				}
				if k := strings.LastIndexByte(loc, '/'); k >= 0 {
					loc = loc[k+1:]
				}
				return msg + " at " + loc
			}
		}
		return msg
	}
	return ""
}

func firstLine(s string, prefixes ...string) string {
	for _, l := range strings.Split(s, "\n") {
		for _, pre := range prefixes {
			if strings.HasPrefix(l, pre) {
				return l
			}
		}
	}
	return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0]
}

// discard closes the live instance; its runtime state is undefined.
func (p *Plugin) discard(ctx context.Context) {
	if p.inst != nil {
		p.inst.Close(context.WithoutCancel(ctx))
		p.inst = nil
	}
}

// Close releases the plugin's runtime.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runtime == nil {
		return nil
	}
	err := p.runtime.Close(ctx)
	closeRoots(p.grants)
	p.runtime, p.inst, p.grants = nil, nil, nil
	return err
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ",") + ")"
	}
	return names(params) + "->" + names(results)
}

// logWriter sends a plugin's stdout to the log at debug level.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.log.Debug(strconv.Quote(l))
	}
	return len(b), nil
}

// withGrant lifts what the pipeline granted, and nothing else: by default a
// module has no clock (wazero's is fake), no environment and no files. A
// read grant mounts the directory's os.Root (see openGrants), read-only.
func withGrant(mc wazero.ModuleConfig, g pipeline.PluginGrant, roots []*os.Root) wazero.ModuleConfig {
	if g.Clock {
		mc = mc.WithSysWalltime().WithSysNanotime()
	}
	for _, name := range g.Env {
		if v, ok := os.LookupEnv(name); ok {
			mc = mc.WithEnv(name, v)
		}
	}
	if len(roots) > 0 {
		fs := wazero.NewFSConfig()
		for _, root := range roots {
			fs = fs.WithFSMount(beneath{root.FS()}, root.Name())
		}
		mc = mc.WithFSConfig(fs)
	}
	return mc
}

// openGrants opens each granted read directory as an os.Root. A root
// resolves every path beneath its directory one component at a time
// (openat, following a link only while it stays inside), so a symlink to
// /etc, a relative ../ chain or a ".." in the path fails inside the guest
// as an ordinary open error, and nothing outside the granted tree is ever
// opened; links that stay inside still work. wazero's own directory mount
// (sysfs.DirFS) follows links anywhere, which is why it is not used. The
// roots live as long as the plugin; Close closes them.
func openGrants(dirs []string) ([]*os.Root, error) {
	var roots []*os.Root
	for _, dir := range dirs {
		root, err := os.OpenRoot(dir)
		if err != nil {
			closeRoots(roots)
			return nil, fmt.Errorf("grant.read %s: %w (grant an existing directory)", dir, err)
		}
		roots = append(roots, root)
	}
	return roots, nil
}

// beneath is an os.Root's fs.FS whose refusal of a path that leaves the
// root reads, in the guest, as "operation not permitted" (EPERM) rather
// than wazero's fallback for an error it does not know, "I/O error" (EIO),
// which would blame the disk.
type beneath struct{ fs.FS }

func (b beneath) Open(name string) (fs.File, error) {
	f, err := b.FS.Open(name)
	var pe *fs.PathError
	var errno syscall.Errno
	if errors.As(err, &pe) && !errors.As(err, &errno) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) {
		return nil, &fs.PathError{Op: pe.Op, Path: pe.Path, Err: fs.ErrPermission} // os's own refusal: the path escapes
	}
	return f, err
}

func closeRoots(roots []*os.Root) {
	for _, r := range roots {
		r.Close()
	}
}
