// Package abi is pipe's plugin ABI v1: the names, status codes, documents and
// wire encodings that the host (host/internal/plugin) and the Go SDK (sdk) share, over
// the result types of sdk/schema. It is plain Go with no build tags, so the
// same code encodes on one side and decodes on the other, and it compiles for
// GOOS=linux and GOOS=wasip1 alike.
//
// The package takes a stand on encoding, chosen by measurement: small
// documents (the manifest, the configuration, verdicts, a whole result for a
// report) are JSON; the one document that carries bulk numbers — a metric
// batch with per-token timestamps — is a compact little-endian frame with a
// small JSON header, because Go's encoding/json inside wasm costs 30–45× its
// native speed. sdk/README.md documents every byte for authors in other
// languages.
package abi

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pipe-bench/pipe/sdk/schema"
)

// Version is the plugin ABI version this package speaks.
const Version = 1

// MarkerPrefix starts the marker export that names a module's ABI version:
// a module built for ABI v1 exports a function called "pipe_abi_v1".
const MarkerPrefix = "pipe_abi_v"

// Marker is the marker export of this ABI version. It is never called.
var Marker = fmt.Sprintf("%s%d", MarkerPrefix, Version)

// ImportModule is the module name of the host functions a plugin imports.
const ImportModule = "pipe"

// Host functions (module "pipe"). All parameters and results are i32.
const (
	// ImportInputLen: input_len() -> i32, the byte length of the current
	// call's input.
	ImportInputLen = "input_len"
	// ImportInputRead: input_read(ptr, len) -> i32 copies min(len,
	// input_len) input bytes to guest memory at ptr and returns the count.
	ImportInputRead = "input_read"
	// ImportOutputWrite: output_write(ptr, len) -> i32 appends len bytes to
	// the call's output; it returns len, or -1 when the output cap would be
	// exceeded (the call then fails whatever it returns).
	ImportOutputWrite = "output_write"
	// ImportErrorSet: error_set(ptr, len) sets the call's error message.
	ImportErrorSet = "error_set"
	// ImportLog: log(level, ptr, len) sends one log line to the host;
	// levels are LogDebug … LogError.
	ImportLog = "log"
)

// Log levels for the log import.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// WASIModule is the WASI preview 1 module name; Go's wasip1 port needs it.
const WASIModule = "wasi_snapshot_preview1"

// Guest exports. Every function export takes no parameters and returns an
// i32 status; input and output move through the host functions.
const (
	ExportDescribe   = "pipe_describe"  // → Manifest JSON
	ExportConfigure  = "pipe_configure" // configuration JSON object → nothing
	ExportMetric     = "pipe_metric"    // batch frame → metric output frame
	ExportTarget     = "pipe_target"    // result JSON → TargetOutput JSON
	ExportReport     = "pipe_report"    // result JSON → the report file's bytes
	ExportInitialize = "_initialize"    // optional; called once, first
	ExportStart      = "_start"         // a WASI command's entry: never called
	ExportMemory     = "memory"
)

// Status codes returned by every pipe_* export.
const (
	StatusOK       = 0 // success; the output is the result
	StatusError    = 1 // the plugin failed; error_set holds why
	StatusBadInput = 2 // the plugin could not decode its input
)

// Kinds a module may implement (several at once).
const (
	KindMetric = "metric"
	KindTarget = "target"
	KindReport = "report"
)

// KindExport maps a kind to the export that implements it.
var KindExport = map[string]string{
	KindMetric: ExportMetric,
	KindTarget: ExportTarget,
	KindReport: ExportReport,
}

// Inputs a plugin may ask for besides built-in metric values (which it names
// by metric ID, e.g. "ttft_ms"). Only what a plugin asks for is sent.
const (
	InputTokenMS = "token_ms" // each token's time since request start, ms
	InputITL     = "itl_ms"   // the gaps between consecutive tokens, ms
)

// Manifest is what pipe_describe returns: who the plugin is and what it
// does.
type Manifest struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	// SDK names the SDK that built the plugin, e.g. "pipe-go-sdk/1".
	SDK   string   `json:"sdk,omitempty"`
	Kinds []string `json:"kinds"`
	// Metrics are the per-run and corpus values a metric plugin produces.
	// IDs are namespaced by the plugin's name: "<name>.<metric>".
	Metrics []schema.MetricDef `json:"metrics,omitempty"`
	// Inputs lists what the plugin reads: InputTokenMS, InputITL and
	// built-in metric IDs for metric batches; InputTokenMS/InputITL also
	// keep the per-run arrays in the result a target or report receives.
	Inputs []string `json:"inputs,omitempty"`
	// Report describes the file a report plugin writes.
	Report *ReportFormat `json:"report,omitempty"`
}

// ReportFormat describes a report plugin's output file. A pipeline's
// report.formats and `pipe report --format` name the plugin itself (its
// manifest name), not Format.
type ReportFormat struct {
	Format    string `json:"format"`     // the file format's name for readers (pipe plugin inspect), e.g. "junit"
	FileName  string `json:"file_name"`  // e.g. "junit.xml"
	MediaType string `json:"media_type"` // e.g. "application/xml"
}

// ValidName reports whether name may be a plugin's name (schema.ValidName:
// lowercase letters, digits and '_', starting with a letter); it namespaces
// the plugin's metric IDs, as in a pipeline's [[plugin]] name.
func ValidName(name string) bool { return schema.ValidName(name) }

// Has reports whether m declares kind.
func (m *Manifest) Has(kind string) bool { return slices.Contains(m.Kinds, kind) }

// Wants reports whether m asks for input.
func (m *Manifest) Wants(input string) bool { return slices.Contains(m.Inputs, input) }

// Validate reports the first thing wrong with m, in words that name the fix.
func (m *Manifest) Validate() error {
	if !ValidName(m.Name) {
		return fmt.Errorf("manifest name %q: want lowercase letters, digits and '_', starting with a letter", m.Name)
	}
	if len(m.Kinds) == 0 {
		return fmt.Errorf("manifest %s: no kinds: declare at least one of metric, target, report", m.Name)
	}
	for _, k := range m.Kinds {
		if _, ok := KindExport[k]; !ok {
			return fmt.Errorf("manifest %s: unknown kind %q: want metric, target or report", m.Name, k)
		}
	}
	if m.Has(KindMetric) && len(m.Metrics) == 0 {
		return fmt.Errorf("manifest %s: a metric plugin must declare its metrics", m.Name)
	}
	seen := map[string]bool{}
	for _, d := range m.Metrics {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("manifest %s: %w", m.Name, err)
		}
		if !strings.HasPrefix(d.ID, m.Name+".") {
			return fmt.Errorf("manifest %s: metric %s: IDs must start with the plugin's name, e.g. %s.%s", m.Name, d.ID, m.Name, d.ID)
		}
		if seen[d.ID] {
			return fmt.Errorf("manifest %s: metric %s declared twice", m.Name, d.ID)
		}
		seen[d.ID] = true
	}
	for _, in := range m.Inputs {
		if in != InputTokenMS && in != InputITL && schema.ValidateMetricID(in) != nil {
			return fmt.Errorf("manifest %s: input %q: want %q, %q or a built-in metric ID such as %q", m.Name, in, InputTokenMS, InputITL, schema.TTFT)
		}
	}
	if m.Has(KindReport) {
		r := m.Report
		if r == nil || r.Format == "" || r.FileName == "" || r.MediaType == "" {
			return fmt.Errorf("manifest %s: a report plugin must declare report.format, report.file_name and report.media_type", m.Name)
		}
		if strings.ContainsAny(r.FileName, `/\`) || r.FileName == "." || r.FileName == ".." {
			return fmt.Errorf("manifest %s: report file_name %q: want a plain file name such as report.xml", m.Name, r.FileName)
		}
	}
	return nil
}

// Finite reports whether v is neither NaN nor ±Inf.
func Finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
