package model

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Llama-family model types the builder lays out; any other model_type is
// refused by name.
var LlamaFamilies = []string{"llama", "mistral", "qwen2", "qwen3", "phi3"}

// LlamaConfig is a Llama-family decoder as its Hugging Face config.json
// describes it: pre-norm blocks of RMSNorm → grouped-query attention with
// rotary positions → RMSNorm → SwiGLU MLP, a final RMSNorm and an LM head.
// The families differ only in the switches below.
type LlamaConfig struct {
	ModelType    string
	Layers       int
	Heads        int // query heads
	KVHeads      int
	HeadDim      int
	Hidden       int
	Intermediate int
	Vocab        int
	MaxPositions int
	RMSNormEps   float64
	BOS, EOS     int64 // -1 when unknown

	RopeTheta float64
	Rope      RopeScaling

	TiedHead bool // lm_head is embed_tokens (tie_word_embeddings)
	QKVBias  bool // q/k/v projections have biases (qwen2; llama and qwen3 attention_bias)
	OBias    bool // o_proj has a bias (llama and qwen3 attention_bias)
	MLPBias  bool // gate/up/down have biases (llama mlp_bias)
	QKNorm   bool // RMSNorm over each head of q and k before RoPE (qwen3)
	Fused    bool // qkv_proj and gate_up_proj weights (phi3)
	// SlidingWindow is the attention window (a query sees itself and the
	// SlidingWindow − 1 keys before it) of the layers SlidingLayer marks;
	// 0 when every layer attends to the whole past.
	SlidingWindow int
	SlidingLayer  []bool

	// raw is the config.json the config came from, copied into the built
	// model's directory (with a "pipe" section added).
	raw map[string]json.RawMessage
}

// RopeScaling is the config's rope_scaling: Type "" (none), "linear" or
// "llama3".
type RopeScaling struct {
	Type                 string  `json:"type"`
	Factor               float64 `json:"factor"`
	LowFreqFactor        float64 `json:"low_freq_factor"`
	HighFreqFactor       float64 `json:"high_freq_factor"`
	OriginalMaxPositions int     `json:"original_max_position_embeddings"`
}

// supportedRope lists the rope_scaling types the builder computes exactly.
var supportedRope = []string{"default", "linear", "llama3"}

// Shape is the Config (sizes) of c, what Load reads back from the built
// model and the generation loop sizes its buffers by.
func (c LlamaConfig) Shape() Config {
	return Config{
		Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Hidden: c.Hidden,
		Intermediate: c.Intermediate, Vocab: c.Vocab, MaxPositions: c.MaxPositions,
		BOS: c.BOS, EOS: c.EOS, LayerNormEps: c.RMSNormEps,
	}
}

// ReadLlamaConfig reads and checks a Llama-family config.json.
func ReadLlamaConfig(path string) (LlamaConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return LlamaConfig{}, err
	}
	c, err := ParseLlamaConfig(b)
	if err != nil {
		return LlamaConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// hfLlamaConfig holds the config.json keys the families use; pointers tell
// an absent key from a zero.
type hfLlamaConfig struct {
	ModelType           string          `json:"model_type"`
	HiddenSize          int             `json:"hidden_size"`
	IntermediateSize    int             `json:"intermediate_size"`
	NumHiddenLayers     int             `json:"num_hidden_layers"`
	NumAttentionHeads   int             `json:"num_attention_heads"`
	NumKeyValueHeads    *int            `json:"num_key_value_heads"`
	HeadDim             *int            `json:"head_dim"`
	VocabSize           int             `json:"vocab_size"`
	MaxPositions        int             `json:"max_position_embeddings"`
	RMSNormEps          *float64        `json:"rms_norm_eps"`
	RopeTheta           *float64        `json:"rope_theta"`
	RopeScaling         json.RawMessage `json:"rope_scaling"`
	RopeParameters      json.RawMessage `json:"rope_parameters"` // transformers ≥ 5
	PartialRotaryFactor *float64        `json:"partial_rotary_factor"`
	HiddenAct           string          `json:"hidden_act"`
	TieWordEmbeddings   *bool           `json:"tie_word_embeddings"`
	AttentionBias       bool            `json:"attention_bias"`
	MLPBias             bool            `json:"mlp_bias"`
	SlidingWindow       *int            `json:"sliding_window"`
	UseSlidingWindow    bool            `json:"use_sliding_window"`
	MaxWindowLayers     *int            `json:"max_window_layers"`
	LayerTypes          []string        `json:"layer_types"`
	RopeInterleaved     bool            `json:"rope_interleaved"`
}

// ParseLlamaConfig parses config.json bytes. Errors are one line naming the
// key and what pipe accepts.
func ParseLlamaConfig(b []byte) (LlamaConfig, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return LlamaConfig{}, fmt.Errorf("not a JSON object (%s)", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	var h hfLlamaConfig
	if err := json.Unmarshal(b, &h); err != nil {
		return LlamaConfig{}, fmt.Errorf("config.json: %s", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if h.ModelType == "" {
		return LlamaConfig{}, fmt.Errorf("no model_type: pipe builds model_type %s", strings.Join(LlamaFamilies, ", "))
	}
	if !slices.Contains(LlamaFamilies, h.ModelType) {
		hint := ""
		if h.ModelType == "gpt2" {
			hint = " (GPT-2 is the built-in gpt2: model.source = \"gpt2\")"
		}
		return LlamaConfig{}, fmt.Errorf("model_type %q is not an architecture pipe builds%s: use one of %s, or export an ONNX decoder with optimum", h.ModelType, hint, strings.Join(LlamaFamilies, ", "))
	}
	c := LlamaConfig{
		ModelType: h.ModelType, Layers: h.NumHiddenLayers, Heads: h.NumAttentionHeads, Hidden: h.HiddenSize,
		Intermediate: h.IntermediateSize, Vocab: h.VocabSize, MaxPositions: h.MaxPositions,
		RMSNormEps: 1e-6, RopeTheta: 10000, TiedHead: false, BOS: -1, EOS: -1, raw: raw,
	}
	c.KVHeads = c.Heads
	if h.NumKeyValueHeads != nil {
		c.KVHeads = *h.NumKeyValueHeads
	}
	if h.HeadDim != nil && *h.HeadDim > 0 {
		c.HeadDim = *h.HeadDim
	} else if c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if h.RMSNormEps != nil {
		c.RMSNormEps = *h.RMSNormEps
	}
	// Every family's config class defaults tie_word_embeddings to false.
	if h.TieWordEmbeddings != nil {
		c.TiedHead = *h.TieWordEmbeddings
	}
	// BOS and EOS as every config.json is read (a list's first id).
	hc, err := parseHFConfig(b)
	if err != nil {
		return LlamaConfig{}, err
	}
	c.BOS, c.EOS = hc.cfg.BOS, hc.cfg.EOS
	if h.HiddenAct != "" && h.HiddenAct != "silu" {
		return LlamaConfig{}, fmt.Errorf("hidden_act %q: the builder lays out SwiGLU with silu only", h.HiddenAct)
	}
	if h.PartialRotaryFactor != nil && *h.PartialRotaryFactor != 1 {
		return LlamaConfig{}, fmt.Errorf("partial_rotary_factor %g: the builder rotates whole heads only (1.0)", *h.PartialRotaryFactor)
	}
	if h.RopeInterleaved {
		return LlamaConfig{}, fmt.Errorf("rope_interleaved true: the builder lays out Hugging Face's rotate-half RoPE only")
	}
	if h.RopeTheta != nil {
		c.RopeTheta = *h.RopeTheta
	}
	scaling := h.RopeScaling
	if len(h.RopeParameters) > 0 && string(h.RopeParameters) != "null" {
		scaling = h.RopeParameters
		var p struct {
			RopeTheta *float64 `json:"rope_theta"`
		}
		if json.Unmarshal(h.RopeParameters, &p) == nil && p.RopeTheta != nil {
			c.RopeTheta = *p.RopeTheta
		}
	}
	if err := c.parseRope(scaling); err != nil {
		return LlamaConfig{}, err
	}

	switch c.ModelType {
	case "llama":
		c.QKVBias, c.OBias, c.MLPBias = h.AttentionBias, h.AttentionBias, h.MLPBias
	case "qwen2":
		c.QKVBias = true
	case "qwen3":
		c.QKVBias, c.OBias, c.QKNorm = h.AttentionBias, h.AttentionBias, true
	case "phi3":
		c.Fused = true
	}
	// Sliding windows: mistral and phi3 window every layer when the config
	// sets sliding_window; qwen2/qwen3 only with use_sliding_window, and
	// then the layers from max_window_layers on (or as layer_types says).
	c.SlidingLayer = make([]bool, max(c.Layers, 0))
	if h.SlidingWindow != nil && *h.SlidingWindow > 0 {
		w := *h.SlidingWindow
		switch c.ModelType {
		case "mistral", "phi3":
			c.SlidingWindow = w
			for i := range c.SlidingLayer {
				c.SlidingLayer[i] = true
			}
		case "qwen2", "qwen3":
			if h.UseSlidingWindow {
				c.SlidingWindow = w
				from := 0
				if h.MaxWindowLayers != nil {
					from = *h.MaxWindowLayers
				}
				for i := range c.SlidingLayer {
					c.SlidingLayer[i] = i >= from
				}
			}
		}
	}
	if len(h.LayerTypes) > 0 {
		if len(h.LayerTypes) != c.Layers {
			return LlamaConfig{}, fmt.Errorf("layer_types has %d entries but num_hidden_layers is %d", len(h.LayerTypes), c.Layers)
		}
		windowed := false
		for i, t := range h.LayerTypes {
			switch t {
			case "full_attention":
				c.SlidingLayer[i] = false
			case "sliding_attention":
				c.SlidingLayer[i], windowed = true, true
			default:
				return LlamaConfig{}, fmt.Errorf("layer_types[%d] = %q: the builder lays out full_attention and sliding_attention", i, t)
			}
		}
		if windowed && (h.SlidingWindow == nil || *h.SlidingWindow <= 0) {
			return LlamaConfig{}, fmt.Errorf("layer_types has sliding_attention layers but sliding_window is not set")
		}
		if windowed {
			c.SlidingWindow = *h.SlidingWindow
		}
	}
	if !slices.Contains(c.SlidingLayer, true) {
		c.SlidingWindow = 0
	}
	return c, c.Validate()
}

func (c *LlamaConfig) parseRope(v json.RawMessage) error {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	var r struct {
		RopeScaling
		RopeType string `json:"rope_type"`
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return fmt.Errorf("rope_scaling: %s", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	c.Rope = r.RopeScaling
	if r.RopeType != "" {
		c.Rope.Type = r.RopeType
	}
	switch c.Rope.Type {
	case "", "default":
		c.Rope = RopeScaling{}
		return nil
	case "linear":
		if c.Rope.Factor <= 0 {
			return fmt.Errorf("rope_scaling linear: factor = %g, want > 0", c.Rope.Factor)
		}
		return nil
	case "llama3":
		r := c.Rope
		if r.Factor <= 0 || r.LowFreqFactor <= 0 || r.HighFreqFactor <= r.LowFreqFactor || r.OriginalMaxPositions <= 0 {
			return fmt.Errorf("rope_scaling llama3: factor %g, low_freq_factor %g, high_freq_factor %g, original_max_position_embeddings %d: want all > 0 and high > low",
				r.Factor, r.LowFreqFactor, r.HighFreqFactor, r.OriginalMaxPositions)
		}
		return nil
	case "dynamic":
		return fmt.Errorf("rope_scaling type \"dynamic\" is not supported: its frequencies change with the longest sequence seen so far, which a stateless graph cannot reproduce exactly; pipe builds %s", strings.Join(supportedRope, ", "))
	}
	return fmt.Errorf("rope_scaling type %q is not supported: pipe builds %s", c.Rope.Type, strings.Join(supportedRope, ", "))
}

// Validate reports the first inconsistency in c, naming the config key.
func (c LlamaConfig) Validate() error {
	switch {
	case c.Layers <= 0:
		return fmt.Errorf("num_hidden_layers = %d, want > 0", c.Layers)
	case c.Heads <= 0 || c.KVHeads <= 0:
		return fmt.Errorf("num_attention_heads = %d, num_key_value_heads = %d; both must be > 0", c.Heads, c.KVHeads)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("num_attention_heads = %d is not a multiple of num_key_value_heads = %d", c.Heads, c.KVHeads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0:
		return fmt.Errorf("head_dim = %d: RoPE needs an even head_dim > 0", c.HeadDim)
	case c.Hidden <= 0 || c.Intermediate <= 0:
		return fmt.Errorf("hidden_size = %d, intermediate_size = %d; both must be > 0", c.Hidden, c.Intermediate)
	case c.Vocab <= 0:
		return fmt.Errorf("vocab_size = %d, want > 0", c.Vocab)
	case c.MaxPositions <= 0:
		return fmt.Errorf("max_position_embeddings = %d, want > 0", c.MaxPositions)
	case c.RMSNormEps < 0:
		return fmt.Errorf("rms_norm_eps = %g, want ≥ 0", c.RMSNormEps)
	case c.RopeTheta <= 0:
		return fmt.Errorf("rope_theta = %g, want > 0", c.RopeTheta)
	case c.SlidingWindow < 0:
		return fmt.Errorf("sliding_window = %d, want > 0", c.SlidingWindow)
	}
	return nil
}

// InvFreq returns RoPE's inverse frequencies, HeadDim/2 of them: θ^(−2i/d),
// rescaled by rope_scaling as transformers' _compute_linear_scaling_rope_parameters
// and _compute_llama3_parameters do.
func (c LlamaConfig) InvFreq() []float64 {
	d := c.HeadDim
	inv := make([]float64, d/2)
	for i := range inv {
		inv[i] = 1 / math.Pow(c.RopeTheta, float64(2*i)/float64(d))
	}
	r := c.Rope
	switch r.Type {
	case "linear":
		for i := range inv {
			inv[i] /= r.Factor
		}
	case "llama3":
		old := float64(r.OriginalMaxPositions)
		lowWavelen, highWavelen := old/r.LowFreqFactor, old/r.HighFreqFactor
		for i, f := range inv {
			wavelen := 2 * math.Pi / f
			switch {
			case wavelen < highWavelen: // high frequency: kept
			case wavelen > lowWavelen: // low frequency: scaled
				inv[i] = f / r.Factor
			default: // in between: interpolated
				smooth := (old/wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
				inv[i] = (1-smooth)*f/r.Factor + smooth*f
			}
		}
	}
	return inv
}

// The presets: the public Hugging Face config.json files of
// HuggingFaceTB/SmolLM2-135M, Qwen/Qwen2.5-0.5B and meta-llama/Llama-3.2-1B
// (sizes, heads, kv heads, vocab, rope theta and scaling, tied heads,
// positions as published), embedded for offline use.
//
//go:embed presets/*.json
var presetFiles embed.FS

// llamaPreset returns the preset's config; ok is false for other names.
func llamaPreset(name string) (LlamaConfig, bool) {
	b, err := presetFiles.ReadFile("presets/" + name + ".json")
	if err != nil {
		return LlamaConfig{}, false
	}
	c, err := ParseLlamaConfig(b)
	if err != nil {
		panic(fmt.Sprintf("embedded preset %s: %v", name, err)) // a broken build, caught by the tests
	}
	return c, true
}

// llamaPresetShape is the Presets entry of a Llama-family preset.
func llamaPresetShape(name string) func() Config {
	return func() Config {
		c, _ := llamaPreset(name)
		return c.Shape()
	}
}

// LlamaPresetNames lists the embedded Llama-family presets.
func LlamaPresetNames() []string {
	entries, _ := presetFiles.ReadDir("presets")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	return names
}

// hasLlamaConfig reports whether dir holds a config.json and no ONNX
// decoder: a directory the builder turns into one.
func hasLlamaConfig(dir string) bool {
	if st, err := os.Stat(filepath.Join(dir, "config.json")); err != nil || st.IsDir() {
		return false
	}
	return !HasDecoder(dir)
}
