package schema

// Model describes a loaded model and the runtime that runs it.
type Model struct {
	Model        string  `json:"model"`       // "gpt2" or the directory
	ModelHash    string  `json:"model_hash"`  // sha256 of the ONNX file, hex
	ModelBytes   int64   `json:"model_bytes"` // size of the ONNX file(s)
	Parameters   int64   `json:"parameters"`  // weight count, when known
	GraphStyle   string  `json:"graph_style"` // "optimum" or "fused"
	Layers       int     `json:"layers"`
	Heads        int     `json:"heads"`
	KVHeads      int     `json:"kv_heads"`
	HeadDim      int     `json:"head_dim"`
	Vocab        int     `json:"vocab"`
	MaxPositions int     `json:"max_positions"`
	EOS          int64   `json:"eos"`
	Device       string  `json:"device"`
	Runtime      string  `json:"runtime"`        // "onnxruntime 1.29.0"
	RuntimePath  string  `json:"runtime_path"`   // the shared library used
	LoadNS       int64   `json:"load_ns"`        // session creation time
	LoadRSSDelta int64   `json:"load_rss_delta"` // RSS after − before loading, bytes
	LoadPeakRSS  int64   `json:"load_peak_rss"`  // peak RSS during loading, bytes
	Threads      Threads `json:"threads"`
	// Layout is the export layout the model was found in (optimum,
	// transformers.js, genai) and Variant the Transformers.js variant.
	Layout  string `json:"layout,omitempty"`
	Variant string `json:"variant,omitempty"`
	// WeightPrecision is the kind of most weight bytes a decode step reads
	// (fp32, fp16, bf16, int8, int4); KVCacheType and LogitsType the
	// element types of the cache and the logits (float32, float16, bfloat16).
	WeightPrecision string `json:"weight_precision,omitempty"`
	KVCacheType     string `json:"kv_cache_type,omitempty"`
	LogitsType      string `json:"logits_type,omitempty"`
	// WeightBytes is the weights as stored (external data included);
	// WeightBytesPerToken what one decode step reads of them (tables only
	// gathered from are left out): the roofline's bytes.
	WeightBytes         int64 `json:"weight_bytes,omitempty"`
	WeightBytesPerToken int64 `json:"weight_bytes_per_token,omitempty"`
	// KVShareBuffer is set when one cache buffer per key and value was
	// bound as both past and present.
	KVShareBuffer bool `json:"kv_share_buffer,omitempty"`
	// LogitsLastOnly is set when each step's logits hold the last
	// position of each row only (the graph says so or takes
	// logits_to_keep), not every prompt position.
	LogitsLastOnly bool `json:"logits_last_only,omitempty"`
	// ModelOptionsApplied lists the model's own session settings
	// (genai_config.json) applied, and those the pipeline overrode.
	ModelOptionsApplied []string `json:"model_options_applied,omitempty"`
}

// PrecisionSummary is one line on the precisions of the weights, the cache
// and the logits and how the cache is bound, as pipe generate, pipe bench
// and the reports print it; "" for a result that does not record them.
func (m Model) PrecisionSummary() string {
	if m.WeightPrecision == "" && m.KVCacheType == "" {
		return ""
	}
	s := "weights " + m.WeightPrecision + ", KV cache " + m.KVCacheType + ", logits " + m.LogitsType
	if m.KVShareBuffer {
		s += ", shared past/present cache"
	}
	return s
}

// Threads records the runtime's threading.
type Threads struct {
	IntraOp  int  `json:"intra_op"`
	InterOp  int  `json:"inter_op"`
	Spinning bool `json:"spinning"`
}

// Sampling configures token selection. Temperature 0 means greedy (argmax).
// The toml tags are the pipeline's keys for it.
type Sampling struct {
	Temperature float64 `json:"temperature,omitempty" toml:"temperature"`
	TopK        int     `json:"top_k,omitempty" toml:"top_k"`
	TopP        float64 `json:"top_p,omitempty" toml:"top_p"`
	Seed        uint64  `json:"seed,omitempty" toml:"seed"`
}

// Greedy reports whether s selects the argmax.
func (s Sampling) Greedy() bool { return s.Temperature <= 0 }
