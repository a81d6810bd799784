package pipeline

import (
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
)

// The file schema: plain structs the TOML decodes into, before defaults and
// checks. Every `toml` tag is a key users may write; the decoder refuses the
// rest with a did-you-mean. pipelines/README.md is the commented reference.

type fileDoc struct {
	Name        string            `toml:"name"`
	Description string            `toml:"description"`
	Model       modelDoc          `toml:"model"`
	Prompt      promptDoc         `toml:"prompt"`
	Sampling    gen.Sampling      `toml:"sampling"`
	Matrix      matrixDoc         `toml:"matrix"`
	Case        []caseDoc         `toml:"case"`
	Warmup      warmupDoc         `toml:"warmup"`
	Generate    generateDoc       `toml:"generate"`
	Measure     measureDoc        `toml:"measure"`
	Aggregate   aggregateDoc      `toml:"aggregate"`
	Report      reportDoc         `toml:"report"`
	Target      []targetDoc       `toml:"target"`
	Plugin      []pluginDoc       `toml:"plugin"`
	Fidelity    fidelityDoc       `toml:"fidelity"`
	Inputs      map[string]string `toml:"inputs"`
	// Quick is an overlay of this same schema, merged over the file by
	// --quick; see overlay.go.
	Quick map[string]any `toml:"quick"`
}

type modelDoc struct {
	Source         string            `toml:"source"`
	Variant        string            `toml:"variant"`
	Seed           uint64            `toml:"seed"`
	GraphStyle     string            `toml:"graph_style"`
	Precision      string            `toml:"precision"`
	BlockSize      int               `toml:"block_size"`
	Tokenizer      string            `toml:"tokenizer"`
	Device         string            `toml:"device"`
	DeviceID       int               `toml:"device_id"`
	IntraOpThreads int               `toml:"intra_op_threads"`
	InterOpThreads int               `toml:"inter_op_threads"`
	Spinning       bool              `toml:"spinning"`
	OptLevel       string            `toml:"opt_level"`
	ORTLib         string            `toml:"ort_lib"`
	Options        map[string]string `toml:"options"`
}

// fidelityDoc: score the runs against another precision of the model.
type fidelityDoc struct {
	Reference string `toml:"reference"`
	Runs      int    `toml:"runs"`
}

type promptDoc struct {
	File string `toml:"file"`
	Seed uint64 `toml:"seed"`
}

// matrixDoc: every axis takes one integer or a list of them.
type matrixDoc struct {
	Mode         string  `toml:"mode"`
	PromptTokens intList `toml:"prompt_tokens"`
	NewTokens    intList `toml:"new_tokens"`
	Batch        intList `toml:"batch"`
	Streams      intList `toml:"streams"`
	Threads      intList `toml:"threads"`
}

type caseDoc struct {
	ID           string `toml:"id"`
	PromptTokens int    `toml:"prompt_tokens"`
	NewTokens    int    `toml:"new_tokens"`
	Batch        int    `toml:"batch"`
	Streams      int    `toml:"streams"`
	Threads      int    `toml:"threads"`
	PromptFile   string `toml:"prompt_file"`
}

type warmupDoc struct {
	Runs int `toml:"runs"`
}

type generateDoc struct {
	Runs        int      `toml:"runs"`
	MinRuns     int      `toml:"min_runs"`
	MaxRuns     int      `toml:"max_runs"`
	MinSeconds  float64  `toml:"min_seconds"`
	StopMetric  string   `toml:"stop_metric"`
	StopRelCI   float64  `toml:"stop_rel_ci"`
	Timeout     duration `toml:"timeout"`
	RSSInterval duration `toml:"rss_interval"`
}

type measureDoc struct {
	Metrics []string `toml:"metrics"`
}

type aggregateDoc struct {
	Percentiles   []float64 `toml:"percentiles"`
	OutlierZ      float64   `toml:"outlier_z"`
	LeakThreshold size      `toml:"leak_threshold"`
}

type reportDoc struct {
	Formats  []string `toml:"formats"`
	OutDir   string   `toml:"out_dir"`
	Baseline string   `toml:"baseline"`
	Title    string   `toml:"title"`
}

type targetDoc struct {
	Expr string `toml:"expr"`
	Case string `toml:"case"`
}

type pluginDoc struct {
	Name      string         `toml:"name"`
	Path      string         `toml:"path"`
	Trusted   bool           `toml:"trusted"`
	MemoryMiB int            `toml:"memory_mib"`
	Timeout   duration       `toml:"timeout"`
	MaxOutput size           `toml:"max_output"`
	Config    map[string]any `toml:"config"`
	Grant     grantDoc       `toml:"grant"`
}

// grantDoc lifts parts of a plugin's sandbox, each named explicitly.
type grantDoc struct {
	Clock bool     `toml:"clock"`
	Env   []string `toml:"env"`
	Read  []string `toml:"read"`
}

// intList is one integer or a list of integers.
type intList []int

// duration is a TOML string Go's time.ParseDuration reads ("30s",
// "1m30s", "500ms") or a number of seconds.
type duration time.Duration

// size is a byte count: an integer, or a string with a unit ("64KiB",
// "1.5MiB", "2GB", "512B").
type size float64
