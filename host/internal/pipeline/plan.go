package pipeline

import (
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// Plan is a validated, fully resolved pipeline: defaults applied, --set and
// --quick folded in, the matrix expanded into cases. The engine runs a Plan
// and never sees TOML.
type Plan struct {
	Name        string
	Description string
	File        string // the pipeline file, as given
	SHA256      string // of the file's bytes
	Quick       bool

	Model     ModelSpec
	Cases     []CaseSpec
	Warmup    WarmupSpec
	Generate  GenerateSpec
	Measure   MeasureSpec
	Aggregate AggregateSpec
	Report    ReportSpec
	Targets   []TargetSpec
	Plugins   []PluginSpec
	Fidelity  FidelitySpec
	// Inputs names earlier results a report-only phase reads (phase 5),
	// by role: "latency" → "latest:phase2-latency" or a path.
	Inputs map[string]string
	// InputOrder lists the Inputs' roles in the order the file gives them.
	InputOrder []string

	// Dir is the directory of the pipeline file; relative paths in the
	// file were resolved against it.
	Dir string
	// MatrixMode is how Cases were built: "zip", "cartesian" or "cases"
	// (explicit [[case]] tables); "" for a report-only pipeline.
	MatrixMode string
	// Warnings are doubts that do not stop a run (oversubscribed cores,
	// a plugin not built yet); reports print them.
	Warnings []string
}

// ReportOnly reports whether the pipeline generates nothing and only reads
// earlier results (phase 5).
func (p *Plan) ReportOnly() bool { return len(p.Cases) == 0 && len(p.Inputs) > 0 }

// FidelitySpec asks for the fidelity metrics (host/internal/fidelity):
// each case's first Runs measured runs (0: every one) scored against the
// model built at precision Reference. Reference "" means none.
type FidelitySpec struct {
	Reference string `json:"reference"`
	Runs      int    `json:"runs"`
}

// ModelSpec says what to load and how to run it.
type ModelSpec struct {
	// Source is "gpt2" (the built-in synthetic GPT-2 124M), "gpt2-tiny"
	// (2 layers, 64 wide: tests), or a model directory.
	Source     string
	Variant    string // a Transformers.js folder's variant (model.VariantPath); "" when it holds one
	Seed       uint64 // weights seed for built-in models
	GraphStyle string // "optimum", "fused" or "gqa"; model.DefaultStyle when the file says nothing
	// Precision of a built model's weights (model.Precisions; "fp32" when
	// the file says nothing) and the int8/int4 block size (0: the default).
	Precision string
	BlockSize int
	Tokenizer string // directory, "gpt2", or "" (none: token-id prompts only)
	Device    string // "cpu" (default) or "cuda"
	DeviceID  int
	// IntraOpThreads 0 means the runtime's default (one per core).
	IntraOpThreads int
	InterOpThreads int
	Spinning       bool   // session.intra_op.allow_spinning
	OptLevel       string // "disable", "basic", "extended", "all"
	ORTLib         string // explicit runtime library, else assets' lookup
	// ArenaExtendStrategy etc. travel as runtime options.
	Options map[string]string
	// MaxPositions is the model's context length as far as validation
	// knows it (built-in models, config.json); 0 when unknown.
	MaxPositions int
}

// CaseSpec is one point of the matrix.
type CaseSpec struct {
	ID           string // e.g. "p128-n64-b1", unique within the plan
	PromptTokens int
	NewTokens    int
	Batch        int // default 1
	Streams      int // concurrent requests sharing one session; default 1
	Sampling     gen.Sampling
	// PromptFile, when set, gives the prompt text, cut at exactly
	// PromptTokens tokens; else prompts are seeded random token ids.
	PromptFile string
	PromptSeed uint64
	Line       int // line of the case in the pipeline file, for messages
	// Threads overrides Model.IntraOpThreads for this case (0: keep it);
	// set by a matrix "threads" axis.
	Threads int
}

// WarmupSpec: runs executed and thrown away before each case.
type WarmupSpec struct {
	Runs int
}

// GenerateSpec: how many measured runs per case.
type GenerateSpec struct {
	Runs int // fixed count when MaxRuns == 0
	// Adaptive run count: keep running while the 95 % CI half-width of
	// StopMetric's mean exceeds StopRelCI × mean, between MinRuns and
	// MaxRuns runs and at least MinSeconds.
	MinRuns    int
	MaxRuns    int
	MinSeconds float64
	StopMetric string  // metric ID, default "e2e_ms"
	StopRelCI  float64 // e.g. 0.05
	// Timeout bounds one whole case (0: none).
	Timeout time.Duration
	// SampleRSS enables the RSS sampler; Interval ≤ 10 ms.
	RSSInterval time.Duration
}

// MeasureSpec: which built-in metrics to compute (all when empty).
type MeasureSpec struct {
	Metrics []string
}

// AggregateSpec: statistics settings.
type AggregateSpec struct {
	Percentiles []float64 // reported percentiles, e.g. 50, 90, 95, 99
	// OutlierZ is the robust z-score (stats.RobustZ) above which a run is an outlier.
	OutlierZ float64
	// LeakThreshold is the RSS growth per run, in bytes, above which the
	// leak detector calls a leak (phase 3); 0 disables the verdict.
	LeakThreshold float64
}

// ReportSpec: where and what to write.
type ReportSpec struct {
	OutDir   string   // parent of the per-run directory, default data/benchmarks
	Formats  []string // "md", "json", "csv", "html", or a report plugin's format
	Baseline string   // a result path or "latest:NAME"
	// Title overrides the report title.
	Title string
}

// TargetSpec is one target expression, e.g. "ttft_ms.p95 < 2500ms".
type TargetSpec struct {
	Expr string
	Case string // case ID selector ("" or "*": every case); a path.Match glob
	Line int
	// Target is Expr parsed by package target, with Case set: what the
	// report stage evaluates.
	Target target.Target
}

// PluginSpec names a WebAssembly plugin and its configuration.
type PluginSpec struct {
	Name    string
	Path    string         // .wasm file (relative paths resolve against the pipeline file)
	Config  map[string]any // the plugin's TOML table, passed as JSON
	Trusted bool           // skip per-call termination checks
	// Limits.
	MemoryMiB int
	Timeout   time.Duration
	MaxOutput int
	Line      int
	// FirstParty is true when Path was a bare name resolved to the
	// plugin cache (built by `make plugins`).
	FirstParty bool
	// Grant lifts parts of the sandbox; the zero value grants nothing.
	Grant PluginGrant
}

// PluginGrant is what a pipeline explicitly lets a plugin reach.
type PluginGrant struct {
	Clock bool     // the real wall clock and monotonic clock
	Env   []string // these environment variables, with pipe's values
	Read  []string // these directories, read-only, at their absolute paths
}
