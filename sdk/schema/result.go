// Package schema is pipe's public result schema: the plain data of
// result.json — a run's pipeline, environment, model, cases, runs,
// per-metric statistics summaries, metric definitions and target verdicts —
// as read by reports, comparisons, later phases and plugins.
//
// The package takes a stand on weight: it is data and nothing else. It
// imports only the standard library (no statistics library: the host
// computes every Summary, this package only holds it), so a WebAssembly
// plugin that links it through the SDK stays small. Methods here only read
// what is stored (Summary.Get, Result.Metric); they never compute a
// statistic.
//
// Versions: Version is written; V1 results differ only in metric IDs renamed
// since (RenamedInV2: peak_rss_mb and rss_after_mb held MiB), which
// MigrateV1 maps.
package schema

// Version names the result format written today. A reader accepts this
// major version and V1 (MigrateV1), and refuses others.
const Version = "pipe.result/v2"

// V1 is the previous major version: the same document but for the metric
// IDs renamed since (RenamedInV2).
const V1 = "pipe.result/v1"

// Result is one pipeline run.
type Result struct {
	Schema   string       `json:"schema"`
	Pipeline PipelineInfo `json:"pipeline"`
	// StartedAt/FinishedAt are RFC 3339 UTC times.
	StartedAt  string      `json:"started_at"`
	FinishedAt string      `json:"finished_at"`
	WallNS     int64       `json:"wall_ns"`
	Env        Env         `json:"env"`
	Model      Model       `json:"model"`
	Metrics    []MetricDef `json:"metrics"`
	Cases      []Case      `json:"cases"`
	Targets    []Verdict   `json:"targets,omitempty"`
	// Valid is false when any run broke an invariant; Problems says which.
	Valid    bool     `json:"valid"`
	Problems []string `json:"problems,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Errors holds failures that did not stop the run (a plugin that failed
	// its stage, say); the result is still written.
	Errors []string `json:"errors,omitempty"`
	// Incomplete says why the result is not a finished run's, e.g. it was
	// rebuilt from the journal of a killed run; "" for a finished run.
	Incomplete string       `json:"incomplete,omitempty"`
	Plugins    []PluginInfo `json:"plugins,omitempty"`
	// Memory is phase 3's analysis: load cost and the leak verdict.
	Memory *Memory `json:"memory,omitempty"`
	// Throughput is phase 4's analysis: the curve over batch × streams.
	Throughput *Throughput `json:"throughput,omitempty"`
	// Inputs are the results a report-only phase (phase 5) merged, by role.
	Inputs []Input `json:"inputs,omitempty"`
	// PlanHash identifies the expanded plan (what the pipeline measures,
	// not where its output goes): runs with equal hashes measured the
	// same pipeline, so their shards merge and one resumes the other.
	PlanHash string `json:"plan_hash,omitempty"`
	// Shard is the part of the plan this run measured (pipe run --shard
	// K/N); nil when it ran the whole plan.
	Shard *Shard `json:"shard,omitempty"`
	// Resumed says that the run continued an interrupted one (pipe run
	// --resume) and what it kept of it; nil for a run started afresh.
	Resumed *Resumed `json:"resumed,omitempty"`
	// Labels are the run's --label key=value pairs (a machine class, a
	// fleet name), for reports and comparisons across machines.
	Labels map[string]string `json:"labels,omitempty"`
	// Environments are where the cases of a merged result ran (pipe
	// merge): one per shard merged, in the order given; each case names
	// its own in Case.Environment. Env is then the first shard's. Empty for
	// the result of one run, whose Env and Labels say it all.
	Environments []Environment `json:"environments,omitempty"`
}

// Environment is one merged shard: the machine and the run that measured
// the cases that name it.
type Environment struct {
	// ID is what Case.Environment holds, e.g. "shard-2" (K of the shard's
	// K/N) or "run-1" for an unsharded input.
	ID string `json:"id"`
	// Source is the run directory as given to pipe merge.
	Source string `json:"source"`
	// ShardIndex/ShardCount are the shard's K/N (0 for an unsharded input).
	ShardIndex int               `json:"shard_index,omitempty"`
	ShardCount int               `json:"shard_count,omitempty"`
	Env        Env               `json:"env"`
	Labels     map[string]string `json:"labels,omitempty"`
	// ModelHash is the model the shard loaded (Model.ModelHash).
	ModelHash  string `json:"model_hash,omitempty"`
	StartedAt  string `json:"started_at"`
	FinishedAt string `json:"finished_at"`
	WallNS     int64  `json:"wall_ns"`
	// Cases is how many cases the shard contributed.
	Cases   int      `json:"cases"`
	Resumed *Resumed `json:"resumed,omitempty"`
	// Rebuilt says the shard had no result.json (it was killed and not
	// restarted): its cases were rebuilt from its samples.jsonl, without
	// plugin metrics, analyses or targets.
	Rebuilt bool `json:"rebuilt,omitempty"`
}

// Shard is one of Count parts of a plan's cases.
type Shard struct {
	// Index is K of K/N, 1-based; Count is N.
	Index int `json:"index"`
	Count int `json:"count"`
	// Cases are the keys (Case.Key) of the cases this shard runs, in plan
	// order.
	Cases []string `json:"cases"`
	// Plan is every case of the whole plan, in plan order, so a merge can
	// name the cases no shard delivered without the pipeline file.
	Plan []CaseRef `json:"plan"`
}

// CaseRef names one case of a plan.
type CaseRef struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Resumed is what a resumed run kept of the interrupted one.
type Resumed struct {
	// Dir is the run directory resumed (its samples.jsonl was read and
	// appended to).
	Dir string `json:"dir"`
	// Runs are the measured runs kept from the journal, over Cases cases;
	// warmups are not kept (a case that continues warms up again).
	Runs  int `json:"runs"`
	Cases int `json:"cases"`
	// Torn is the journal's torn last line, left out, when it had one.
	Torn string `json:"torn,omitempty"`
	// StartedAt is when the interrupted run started; Env the machine it
	// ran on (the result's Env is the machine that finished it; the
	// kept runs were measured on this one).
	StartedAt string `json:"started_at,omitempty"`
	Env       *Env   `json:"env,omitempty"`
}

// Memory is the memory phase's analysis.
type Memory struct {
	// LoadRSSDelta is RSS after session creation − before, bytes;
	// LoadPeakRSS the peak during it.
	LoadRSSDelta int64 `json:"load_rss_delta"`
	LoadPeakRSS  int64 `json:"load_peak_rss"`
	// SessionOptions records every ONNX Runtime session option the
	// pipeline set (the arena's among them); the JSON key is v1's, so
	// results of both versions read alike.
	SessionOptions map[string]string `json:"arena_settings,omitempty"`
	// Leak holds one analysis per case that asked for it.
	Leak []Leak `json:"leak,omitempty"`
	// GPU is this process's GPU memory, when the device is a GPU.
	GPUPeakBytes int64 `json:"gpu_peak_bytes,omitempty"`
}

// Leak is the regression of RSS after each run on the run index.
type Leak struct {
	Case string `json:"case"`
	// RSSAfter[i] is the process RSS right after run i, bytes.
	RSSAfter []int64 `json:"rss_after"`
	// SkipRuns are the first runs left out of the fit (allocator warm-up).
	SkipRuns  int        `json:"skip_runs"`
	Slope     float64    `json:"slope_bytes_per_run"`
	SlopeCI   [2]float64 `json:"slope_ci"`
	Intercept float64    `json:"intercept_bytes"`
	R2        float64    `json:"r2"`
	// Threshold is the slope, bytes/run, above which growth counts as a leak.
	Threshold float64 `json:"threshold_bytes_per_run"`
	// Verdict is "leak" (CI above the threshold), "no leak" (CI below it)
	// or "inconclusive" (CI straddles it, or Reason says why no slope
	// could be judged).
	Verdict string `json:"verdict"`
	// Method names how Slope and SlopeCI were estimated.
	Method string `json:"method,omitempty"`
	// Steps are level shifts of RSS between two runs (an arena growing or
	// being trimmed), reported apart from the slope, which is fitted within
	// the segments between them.
	Steps []LeakStep `json:"steps,omitempty"`
	// Autocorrelation is the lag-1 autocorrelation of the residuals that
	// widened the slope's interval (0: none was needed).
	Autocorrelation float64 `json:"autocorrelation,omitempty"`
	// Reason says why the verdict is inconclusive; "" otherwise.
	Reason string `json:"reason,omitempty"`
}

// LeakStep is one level shift in the RSS series.
type LeakStep struct {
	// Run is the index of the first run at the new level.
	Run int `json:"run"`
	// Bytes is the shift beyond the fitted per-run slope (negative: a trim).
	Bytes float64 `json:"bytes"`
}

// Throughput is the throughput phase's analysis.
type Throughput struct {
	Points []ThroughputPoint `json:"points"`
	// Saturation names the first case after which adding concurrency gains
	// less than SaturationGain of throughput; "" if it never saturated.
	Saturation     string  `json:"saturation,omitempty"`
	SaturationGain float64 `json:"saturation_gain"`
	// BeyondGain is what the best case beyond Saturation gains over the best
	// up to it, with its 95 % interval (bootstrap over runs); saturation is
	// called only when the whole interval lies below SaturationGain.
	BeyondGain   float64    `json:"beyond_gain,omitempty"`
	BeyondGainCI [2]float64 `json:"beyond_gain_ci,omitzero"`
	// Undecided says why no saturation was called where the point estimates
	// alone would have called one; "" otherwise.
	Undecided string   `json:"undecided,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// ThroughputPoint is one case of the curve.
type ThroughputPoint struct {
	Case        string  `json:"case"`
	Batch       int     `json:"batch"`
	Streams     int     `json:"streams"`
	Concurrency int     `json:"concurrency"` // batch × streams
	OutputTPS   float64 `json:"output_tps"`
	RequestsPS  float64 `json:"requests_ps"`
	TTFTp50     float64 `json:"ttft_p50_ms"`
	TPOTp50     float64 `json:"tpot_p50_ms"`
	E2Ep50      float64 `json:"e2e_p50_ms"`
	// Gain is OutputTPS over the best at any lower concurrency, minus 1;
	// GainCI its 95 % interval (bootstrap over runs).
	Gain   float64    `json:"gain"`
	GainCI [2]float64 `json:"gain_ci,omitzero"`
	// OutputTPSCI is the 95 % interval of OutputTPS (bootstrap over runs).
	OutputTPSCI [2]float64 `json:"output_tps_ci,omitzero"`
	// ValidRuns are the runs counted; Runs all measured runs.
	ValidRuns int `json:"valid_runs"`
	Runs      int `json:"runs"`
}

// Input is one result that a report-only phase merged.
type Input struct {
	Role   string  `json:"role"` // e.g. "quick", "latency", "memory", "throughput"
	Ref    string  `json:"ref"`  // as written: a path or latest:NAME
	Path   string  `json:"path"` // resolved result.json
	Result *Result `json:"result"`
}

// PipelineInfo identifies the pipeline that produced a result.
type PipelineInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	File        string `json:"file,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	Quick       bool   `json:"quick,omitempty"`
	// Settings are the resolved stage settings, for the configuration tables.
	Settings map[string]any `json:"settings,omitempty"`
}

// Env describes the machine and the process.
type Env struct {
	Hostname    string  `json:"hostname"`
	OS          string  `json:"os"`
	Kernel      string  `json:"kernel,omitempty"`
	CPUModel    string  `json:"cpu_model"`
	Cores       int     `json:"cores"`
	GoVersion   string  `json:"go_version"`
	ORTVersion  string  `json:"ort_version"`
	PipeVersion string  `json:"pipe_version"`
	Governor    string  `json:"cpu_governor,omitempty"`
	MemTotal    int64   `json:"mem_total_bytes,omitempty"`
	LoadBefore  float64 `json:"load_before"` // 1-minute load average before the first case
	LoadDuring  float64 `json:"load_during"` // mean of load samples during the run
	// ForeignCPU is the mean CPU use of other processes during the run, in
	// cores (from /proc/stat minus this process), the usual cause of noise.
	ForeignCPU float64 `json:"foreign_cpu_cores"`
	// StealCPU is the mean CPU the hypervisor stole from this machine during
	// the run, in cores (/proc/stat's steal column; absent when 0), apart
	// from ForeignCPU.
	StealCPU float64 `json:"steal_cpu_cores,omitempty"`
	GPU      string  `json:"gpu,omitempty"`
}

// Case is one point of the pipeline's matrix.
type Case struct {
	ID string `json:"id"` // stable, e.g. "p128-n64-b1"
	// Key identifies the case by its own parameters (the plan's
	// CaseSpec.Key): equal across shards and resumes of one plan, and
	// unchanged when other cases are added.
	Key    string     `json:"key,omitempty"`
	Params CaseParams `json:"params"`
	Runs   []Run      `json:"runs"`
	// Stats holds one summary per metric ID.
	Stats map[string]Summary `json:"stats"`
	// Values holds case-level values (corpus metrics from plugins,
	// throughput totals), by metric ID.
	Values   map[string]float64 `json:"values,omitempty"`
	Valid    bool               `json:"valid"`
	Problems []string           `json:"problems,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
	// ForeignCPU is the other processes' mean CPU use during this case, in cores.
	ForeignCPU float64 `json:"foreign_cpu_cores"`
	// StealCPU is the hypervisor's mean steal time during this case, in
	// cores (absent when 0), apart from ForeignCPU.
	StealCPU float64 `json:"steal_cpu_cores,omitempty"`
	// PrecisionStop is true when the adaptive rule stopped the case before
	// max_runs because the stop metric's interval was narrow enough; its
	// mean intervals then use the adaptive stop's level (host/internal/stats.AdaptiveMeanLevel).
	PrecisionStop bool  `json:"precision_stop,omitempty"`
	WallNS        int64 `json:"wall_ns"`
	// Environment names the Result.Environments entry that ran the case
	// (a merged result); "" in the result of one run.
	Environment string `json:"environment,omitempty"`
	// MemoryModel is the memory the case should hold, predicted from the
	// model's shape and precisions, beside what was measured; nil where the
	// result does not record one (host/internal/memmodel).
	MemoryModel *MemoryModel `json:"memory_model,omitempty"`
}

// MemoryModel is one case's predicted memory, bytes, beside the measured.
type MemoryModel struct {
	// Weights are the graph's initializers as stored (external data
	// included): what the session holds of them if it keeps each once.
	Weights int64 `json:"weights"`
	// KVCache and Logits are the cache and logits buffers the generator
	// holds during the case (grown only, so the largest need of any case
	// so far, times the buffer sets of concurrent streams); Total is the
	// three together. WeightsOnGPU says the weights live on the GPU
	// (device cuda), OnDevice that the KV cache does too.
	KVCache      int64 `json:"kv_cache"`
	Logits       int64 `json:"logits"`
	Total        int64 `json:"total"`
	WeightsOnGPU bool  `json:"weights_on_gpu,omitempty"`
	OnDevice     bool  `json:"on_device,omitempty"`
	// Measured: the RSS growth of session creation (Model.LoadRSSDelta),
	// the RSS once the model was opened, the case's highest sampled RSS
	// (peak_rss_mib's max, or throughput.peak_rss_mib) and the process's
	// GPU memory peak over the run (Memory.GPUPeakBytes), where measured.
	LoadRSSDelta int64 `json:"load_rss_delta"`
	RSSAfterOpen int64 `json:"rss_after_open,omitempty"`
	PeakRSS      int64 `json:"peak_rss,omitempty"`
	GPUPeak      int64 `json:"gpu_peak,omitempty"`
}

// CaseParams are the knobs that define a case.
type CaseParams struct {
	PromptTokens int      `json:"prompt_tokens"`
	NewTokens    int      `json:"new_tokens"`
	Batch        int      `json:"batch"`
	Streams      int      `json:"streams"`
	Threads      int      `json:"threads,omitempty"`
	Sampling     Sampling `json:"sampling,omitempty"`
}

// Run is one measured (non-warmup) generation.
type Run struct {
	Index int `json:"index"`
	// Stream is the concurrent stream that issued it (phase 4), else 0.
	Stream int                `json:"stream,omitempty"`
	Values map[string]float64 `json:"values"`
	// ITLms holds every inter-token gap of the first row, in ms.
	ITLms []float64 `json:"itl_ms"`
	// TokenMS holds each token's time since request start, in ms.
	TokenMS  []float64 `json:"token_ms"`
	Valid    bool      `json:"valid"`
	Problems []string  `json:"problems,omitempty"`
}

// Verdict is a target's outcome.
type Verdict struct {
	Target    string  `json:"target"`         // as written, e.g. "ttft_ms.p95 < 2500ms"
	Case      string  `json:"case,omitempty"` // case ID, or "" for all
	Metric    string  `json:"metric"`
	Statistic string  `json:"statistic"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
	Observed  float64 `json:"observed"`
	Unit      string  `json:"unit"`
	Pass      bool    `json:"pass"`
	Message   string  `json:"message,omitempty"`
	Source    string  `json:"source"` // "builtin" or a plugin name
}

// PluginInfo records a plugin used by the run.
type PluginInfo struct {
	Name   string   `json:"name"`
	File   string   `json:"file"`
	SHA256 string   `json:"sha256"`
	Kinds  []string `json:"kinds"`
}
