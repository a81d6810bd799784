// Package sdk is what a pipe plugin author imports: register one Plugin in
// init(), build with `pipe plugin build DIR` (GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared), and pipe runs it sandboxed in wazero.
//
//	func init() {
//		sdk.Register(sdk.Plugin{
//			Name:    "slow",
//			Metrics: []sdk.MetricDef{{ID: "slow.last_itl_ms", Unit: "ms", Better: sdk.Lower}},
//			Inputs:  []string{sdk.InputITL},
//			Metric: func(runs []sdk.Run) ([]sdk.Values, sdk.Values, error) { … },
//		})
//	}
//	func main() {} // never called: a plugin is a reactor, its init() is its entry
//
// The package takes a stand on testing: the same code runs natively. Under
// GOOS=wasip1 the exports and host imports of ABI v1 are wired in; elsewhere
// they are stubs, so `go test` exercises a plugin's logic through Handle —
// the dispatcher the wasm exports call — with real encodings (see sdktest).
// sdk/README.md documents the raw ABI for authors in other languages.
package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/pipe-bench/pipe/sdk/abi"
	"github.com/pipe-bench/pipe/sdk/schema"
)

// Name is the SDK's name and ABI version, sent in every manifest.
const Name = "pipe-go-sdk/abi-v1"

// Types a plugin works with, shared with the host (sdk/schema defines the
// result's; the SDK links nothing of the host).
type (
	// Run is one measured run in a metric batch.
	Run = abi.Run
	// Values maps metric IDs to values.
	Values = map[string]float64
	// MetricDef declares a metric: namespaced ID, unit, direction.
	MetricDef = schema.MetricDef
	// ReportFormat declares a report plugin's file.
	ReportFormat = abi.ReportFormat
	// Result is a whole pipeline result, as targets and reports see it.
	Result = schema.Result
	// Verdict is a target's outcome.
	Verdict = schema.Verdict
)

// Directions for MetricDef.Better.
const (
	Higher = schema.Higher
	Lower  = schema.Lower
)

// Inputs a metric plugin may ask for, besides built-in metric IDs
// (e.g. "ttft_ms"), which ask for that per-run value.
const (
	InputTokenMS = abi.InputTokenMS
	InputITL     = abi.InputITL
)

// Plugin is everything a plugin is. Set the functions of the kinds it
// implements: Metric makes it a metric plugin, Target a target plugin,
// Render (with Report) a report plugin; several may be set.
type Plugin struct {
	Name        string // lowercase; metric IDs start with "<Name>."
	Version     string
	Description string
	Metrics     []MetricDef
	Inputs      []string
	Report      *ReportFormat

	// Configure receives the plugin's table from the pipeline, once,
	// before any other call. Nil means the plugin takes no configuration.
	Configure func(Config) error
	// Metric computes values for a batch of runs: one Values per run, in
	// order (nil or a missing key: no value), plus corpus values over the
	// whole batch. NaN and ±Inf mean "no value".
	Metric func(batch []Run) (perRun []Values, corpus Values, err error)
	// Target judges a result and returns verdicts.
	Target func(r *Result) ([]Verdict, error)
	// Render writes the report file for a result to w.
	Render func(r *Result, w io.Writer) error
}

// Manifest returns the manifest that pipe_describe sends for p.
func (p *Plugin) Manifest() abi.Manifest {
	m := abi.Manifest{Name: p.Name, Version: p.Version, Description: p.Description, SDK: Name,
		Metrics: p.Metrics, Inputs: p.Inputs, Report: p.Report}
	if p.Metric != nil {
		m.Kinds = append(m.Kinds, abi.KindMetric)
	}
	if p.Target != nil {
		m.Kinds = append(m.Kinds, abi.KindTarget)
	}
	if p.Render != nil {
		m.Kinds = append(m.Kinds, abi.KindReport)
	}
	return m
}

var registered *Plugin

// Register makes p the module's plugin. Call it once, from init(): a
// reactor's main never runs. It panics on a second call or an invalid
// plugin, so a mistake shows at the first `go test`.
func Register(p Plugin) {
	if registered != nil {
		panic(fmt.Sprintf("sdk.Register: plugin %q already registered; a module holds one plugin", registered.Name))
	}
	m := p.Manifest()
	if err := m.Validate(); err != nil {
		panic("sdk.Register: " + err.Error())
	}
	registered = &p
}

// Registered returns the registered plugin, or nil.
func Registered() *Plugin { return registered }

// Config is the plugin's configuration table, as JSON.
type Config json.RawMessage

// Decode decodes the configuration into v (a pointer to a struct with json
// tags), refusing keys v does not have so a typo is an error, not a
// silently ignored setting.
func (c Config) Decode(v any) error {
	if len(c) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(c))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// Status codes, as Handle returns them.
const (
	StatusOK       = abi.StatusOK
	StatusError    = abi.StatusError
	StatusBadInput = abi.StatusBadInput
)

// errBadInput marks input the plugin could not decode.
type errBadInput struct{ error }

// Handle runs export (e.g. "pipe_metric") of the registered plugin on
// input, writing its output to out. It returns an ABI status and, unless
// the status is StatusOK, the error message. The wasm exports call it; so
// do native tests (sdktest), which then run exactly the plugin's code path
// and encodings. A panic in the plugin becomes StatusError with the panic
// text and the place it happened.
func Handle(export string, input []byte, out io.Writer) (status int32, msg string) {
	defer func() {
		if r := recover(); r != nil {
			status, msg = StatusError, fmt.Sprintf("panic: %v%s", r, panicSite())
		}
	}()
	p := registered
	if p == nil {
		return StatusError, "no plugin registered: call sdk.Register from init()"
	}
	err := dispatch(p, export, input, out)
	var bad errBadInput
	switch {
	case err == nil:
		return StatusOK, ""
	case errors.As(err, &bad):
		return StatusBadInput, err.Error()
	default:
		return StatusError, err.Error()
	}
}

func dispatch(p *Plugin, export string, input []byte, out io.Writer) error {
	switch export {
	case abi.ExportDescribe:
		b, err := json.Marshal(p.Manifest())
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	case abi.ExportConfigure:
		cfg := bytes.TrimSpace(input)
		if p.Configure == nil {
			if len(cfg) == 0 || string(cfg) == "{}" || string(cfg) == "null" {
				return nil
			}
			return fmt.Errorf("plugin %s takes no configuration: remove its config table", p.Name)
		}
		if len(cfg) > 0 && cfg[0] != '{' && string(cfg) != "null" {
			return errBadInput{fmt.Errorf("config: want a JSON object, got %.20q", cfg)}
		}
		return p.Configure(Config(cfg))
	case abi.ExportMetric:
		if p.Metric == nil {
			return fmt.Errorf("plugin %s is not a metric plugin", p.Name)
		}
		runs, err := abi.DecodeBatch(input)
		if err != nil {
			return errBadInput{err}
		}
		perRun, corpus, err := p.Metric(runs)
		if err != nil {
			return err
		}
		if len(perRun) != len(runs) {
			return fmt.Errorf("plugin %s: Metric returned %d values for %d runs", p.Name, len(perRun), len(runs))
		}
		_, err = out.Write(abi.EncodeMetricOutput(abi.MetricOutput{PerRun: perRun, Corpus: corpus}))
		return err
	case abi.ExportTarget:
		if p.Target == nil {
			return fmt.Errorf("plugin %s is not a target plugin", p.Name)
		}
		var r Result
		if err := json.Unmarshal(input, &r); err != nil {
			return errBadInput{fmt.Errorf("result: %w", err)}
		}
		vs, err := p.Target(&r)
		if err != nil {
			return err
		}
		if vs == nil {
			vs = []Verdict{}
		}
		b, err := json.Marshal(abi.TargetOutput{Verdicts: vs})
		if err != nil {
			return fmt.Errorf("encode verdicts: %w (NaN or Inf in observed or threshold?)", err)
		}
		_, err = out.Write(b)
		return err
	case abi.ExportReport:
		if p.Render == nil {
			return fmt.Errorf("plugin %s is not a report plugin", p.Name)
		}
		var r Result
		if err := json.Unmarshal(input, &r); err != nil {
			return errBadInput{fmt.Errorf("result: %w", err)}
		}
		return p.Render(&r, out)
	}
	return errBadInput{fmt.Errorf("unknown export %q", export)}
}

// panicSite names the first frame outside the runtime and this package,
// i.e. where the plugin panicked: " at main.go:12 (main.compute)".
func panicSite() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") && !strings.Contains(f.Function, "pipe-bench/pipe/sdk.") && f.File != "" {
			file := f.File
			if i := strings.LastIndexByte(file, '/'); i >= 0 {
				file = file[i+1:]
			}
			return fmt.Sprintf(" at %s:%d (%s)", file, f.Line, f.Function)
		}
		if !more {
			return ""
		}
	}
}

// Log levels for Logf.
const (
	LevelDebug = abi.LogDebug
	LevelInfo  = abi.LogInfo
	LevelWarn  = abi.LogWarn
	LevelError = abi.LogError
)

// Logf sends one line to pipe's log, tagged with the plugin's name (to
// stderr when running natively).
func Logf(level int, format string, args ...any) {
	hostLog(uint32(level), fmt.Sprintf(format, args...))
}
