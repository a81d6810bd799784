package ortgen

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/pipe-bench/pipe/host/internal/assets"
)

// MinRuntimeVersion is the oldest ONNX Runtime whose C API (version 24)
// onnxruntime_go v1.27.0 speaks.
const MinRuntimeVersion = "1.24.0"

// Runtime is the ONNX Runtime library loaded into this process.
type Runtime struct {
	Path    string // the shared library
	Version string // as the library reports it, e.g. "1.29.0"
}

// Name is the runtime as results record it: "onnxruntime 1.29.0".
func (r Runtime) Name() string { return "onnxruntime " + r.Version }

// telemetryOff is the variable ONNX Runtime reads when it creates its
// environment. Its release builds (the npm onnxruntime-node one included)
// carry Microsoft's 1DS telemetry SDK, which then writes a debug log
// (mat-debug-PID.log) and a session file (.ses) into TMPDIR and an SQLite
// event store and a device ID under $XDG_CACHE_HOME (else ~/.cache)
// /Microsoft/DeveloperTools/.onnxruntime, on every run. pipe writes nothing
// outside its output directory and its cache, so Init sets the variable
// before the runtime starts; the C API's DisableTelemetryEvents alone comes
// after the environment exists, when those files are already written
// (checked with HOME and TMPDIR pointed at empty directories:
// cmd/pipe's TestWritesNothingOutside).
const telemetryOff = "ORT_DISABLE_TELEMETRY"

var loaded struct {
	sync.Mutex
	rt Runtime
}

// Init loads the ONNX Runtime library once per process and returns it.
// explicit is a path from a flag ("" looks up PIPE_ORT_LIB, the cache, then
// the system, as assets.ORTLibrary does). Later calls return the runtime
// already loaded; asking for a different library then is an error, since a
// process holds one runtime.
func Init(explicit string) (Runtime, error) {
	path, err := assets.ORTLibrary(explicit)
	if err != nil {
		if explicit != "" {
			return Runtime{}, fmt.Errorf("%w: fix the path, or drop --ort-lib to use the library `pipe setup` fetches", err)
		}
		return Runtime{}, err
	}
	loaded.Lock()
	defer loaded.Unlock()
	if ort.IsInitialized() {
		if loaded.rt.Path == "" { // initialized by someone else in this process
			loaded.rt = Runtime{Path: path, Version: ort.GetVersion()}
		}
		if explicit != "" && !sameFile(explicit, loaded.rt.Path) {
			if _, err := checkLibrary(path); err != nil {
				return Runtime{}, err
			}
			return Runtime{}, fmt.Errorf("ONNX Runtime is already loaded from %s in this process: drop --ort-lib %s or point it at that file", loaded.rt.Path, explicit)
		}
		return loaded.rt, nil
	}
	if _, err := checkLibrary(path); err != nil {
		return Runtime{}, err
	}
	if err := os.Setenv(telemetryOff, "1"); err != nil {
		return Runtime{}, fmt.Errorf("switch off ONNX Runtime telemetry (%s=1): %w", telemetryOff, err)
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return Runtime{}, fmt.Errorf("load ONNX Runtime %s: %s: run `pipe setup` for onnxruntime %s", path, oneLine(err), assets.ORTVersion)
	}
	// Also stop telemetry events through the C API, for builds whose
	// telemetry ignores the variable; it cannot undo files written at
	// environment creation, hence the variable first.
	if err := ort.DisableTelemetry(); err != nil {
		return Runtime{}, fmt.Errorf("switch off ONNX Runtime telemetry: %s", oneLine(err))
	}
	loaded.rt = Runtime{Path: path, Version: ort.GetVersion()}
	return loaded.rt, nil
}

// checkLibrary reads the file's ELF dynamic symbols, without loading it, and
// returns the runtime version its symbol versions name (VERS_1.29.0). It
// rejects files that are not ONNX Runtime and versions older than
// MinRuntimeVersion, each with a message that names the fix.
func checkLibrary(path string) (string, error) {
	fix := fmt.Sprintf("point --ort-lib / PIPE_ORT_LIB at libonnxruntime.so from onnxruntime %s, or run `pipe setup`", assets.ORTVersion)
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s is not an ONNX Runtime library (not an ELF shared object): %s", path, fix)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return "", fmt.Errorf("%s is not an ONNX Runtime library (no dynamic symbols): %s", path, fix)
	}
	version := ""
	found := false
	for _, s := range syms {
		if s.Name == "OrtGetApiBase" {
			found = true
			version = strings.TrimPrefix(s.Version, "VERS_")
			break
		}
	}
	if !found {
		return "", fmt.Errorf("%s is not an ONNX Runtime library (no OrtGetApiBase symbol): %s", path, fix)
	}
	if version != "" && versionLess(version, MinRuntimeVersion) {
		return "", fmt.Errorf("%s is onnxruntime %s, pipe needs %s or newer: %s", path, version, MinRuntimeVersion, fix)
	}
	return version, nil
}

// versionLess compares dotted numeric versions; a part that is not a
// number compares as 0.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

// oneLine flattens an ONNX Runtime message (which may span lines) to one line.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	// "/onnxruntime_src/…cc:1988 Foo() [ONNXRuntimeError] : 1 : FAIL : what happened"
	if i := strings.Index(msg, "[ONNXRuntimeError] : "); i >= 0 {
		rest := msg[i+len("[ONNXRuntimeError] : "):]
		if parts := strings.SplitN(rest, " : ", 3); len(parts) == 3 {
			return parts[2]
		}
	}
	return msg
}
