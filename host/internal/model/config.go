package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Config is the shape of a decoder-only transformer: everything the builder
// needs to lay out the graph, the reference forward pass needs to compute it,
// and the generation loop needs to size its buffers.
type Config struct {
	Layers       int     `json:"layers"`
	Heads        int     `json:"heads"`         // query heads
	KVHeads      int     `json:"kv_heads"`      // key/value heads; < Heads for grouped-query attention
	HeadDim      int     `json:"head_dim"`      // width of one head
	Hidden       int     `json:"hidden"`        // residual stream width
	Intermediate int     `json:"intermediate"`  // MLP inner width
	Vocab        int     `json:"vocab"`         // logits width
	MaxPositions int     `json:"max_positions"` // longest sequence (prompt + output); 0 when unknown
	BOS          int64   `json:"bos"`           // -1 when unknown
	EOS          int64   `json:"eos"`           // -1 when unknown
	LayerNormEps float64 `json:"layer_norm_eps"`
}

// GPT2 returns the GPT-2 124M shape: 12 layers, 12 heads of 64, 768 wide,
// MLP 3072, vocab 50257, 1024 positions, EOS 50256. The LM head is tied to
// the token embedding, activations are GELU(tanh), layer norm comes first
// in each block (pre-LN).
func GPT2() Config {
	return Config{
		Layers: 12, Heads: 12, KVHeads: 12, HeadDim: 64, Hidden: 768, Intermediate: 3072,
		Vocab: 50257, MaxPositions: 1024, BOS: 50256, EOS: 50256, LayerNormEps: 1e-5,
	}
}

// GPT2Tiny returns a GPT-2 of the same architecture for tests: 2 layers,
// 4 heads of 16, 64 wide, vocab 512, 128 positions, EOS 511. It builds in
// milliseconds and the plain-Go reference computes it exactly. For tests that
// need real GPT-2 token ids, set Vocab to 50257 and EOS/BOS to 50256.
func GPT2Tiny() Config {
	return Config{
		Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 16, Hidden: 64, Intermediate: 256,
		Vocab: 512, MaxPositions: 128, BOS: 511, EOS: 511, LayerNormEps: 1e-5,
	}
}

// Validate reports the first inconsistency in c, naming the field.
func (c Config) Validate() error {
	switch {
	case c.Layers <= 0:
		return fmt.Errorf("config: layers = %d, want > 0", c.Layers)
	case c.Heads <= 0 || c.KVHeads <= 0 || c.HeadDim <= 0:
		return fmt.Errorf("config: heads = %d, kv_heads = %d, head_dim = %d; all must be > 0", c.Heads, c.KVHeads, c.HeadDim)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("config: heads = %d is not a multiple of kv_heads = %d", c.Heads, c.KVHeads)
	case c.Hidden <= 0 || c.Intermediate <= 0:
		return fmt.Errorf("config: hidden = %d, intermediate = %d; both must be > 0", c.Hidden, c.Intermediate)
	case c.Vocab <= 0:
		return fmt.Errorf("config: vocab = %d, want > 0", c.Vocab)
	case c.MaxPositions < 0:
		return fmt.Errorf("config: max_positions = %d, want ≥ 0", c.MaxPositions)
	case c.LayerNormEps < 0:
		return fmt.Errorf("config: layer_norm_eps = %g, want ≥ 0", c.LayerNormEps)
	}
	return nil
}

// Params is the number of weights of the GPT-2 architecture with this shape
// (tied LM head counted once).
func (c Config) Params() int64 {
	h, q, kv, in := int64(c.Hidden), int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim), int64(c.Intermediate)
	qkv := q + 2*kv
	perLayer := 2*h + h*qkv + qkv + q*h + h + 2*h + h*in + in + in*h + h
	return int64(c.Vocab)*h + int64(c.MaxPositions)*h + int64(c.Layers)*perLayer + 2*h
}

// hfGPT2Config is the Hugging Face GPT2Config as transformers writes it,
// plus a "pipe" section that says how the weights were made. Tools that read
// HF configs (optimum, transformers) ignore the extra section.
type hfGPT2Config struct {
	Architectures      []string `json:"architectures"`
	ModelType          string   `json:"model_type"`
	NLayer             int      `json:"n_layer"`
	NHead              int      `json:"n_head"`
	NumKeyValueHeads   int      `json:"num_key_value_heads"`
	HeadDim            int      `json:"head_dim"`
	NEmbd              int      `json:"n_embd"`
	NInner             int      `json:"n_inner"`
	VocabSize          int      `json:"vocab_size"`
	NPositions         int      `json:"n_positions"`
	NCtx               int      `json:"n_ctx"`
	BOSTokenID         int64    `json:"bos_token_id"`
	EOSTokenID         int64    `json:"eos_token_id"`
	LayerNormEpsilon   float64  `json:"layer_norm_epsilon"`
	ActivationFunction string   `json:"activation_function"`
	TieWordEmbeddings  bool     `json:"tie_word_embeddings"`
	UseCache           bool     `json:"use_cache"`
	TorchDtype         string   `json:"torch_dtype"`
	Pipe               pipeInfo `json:"pipe"`
}

// pipeInfo records how pipe built a model.
type pipeInfo struct {
	Name           string `json:"name"`
	Seed           uint64 `json:"seed"`
	Style          string `json:"style"`
	Precision      string `json:"precision,omitempty"`
	BlockSize      int    `json:"block_size,omitempty"`
	BuilderVersion int    `json:"builder_version"`
	Weights        string `json:"weights"`
	allLogits      bool   // not written: tests' every-position head (head.go)
}

func marshalHFConfig(c Config, info pipeInfo) ([]byte, error) {
	b, err := json.MarshalIndent(hfGPT2Config{
		Architectures: []string{"GPT2LMHeadModel"}, ModelType: "gpt2",
		NLayer: c.Layers, NHead: c.Heads, NumKeyValueHeads: c.KVHeads, HeadDim: c.HeadDim,
		NEmbd: c.Hidden, NInner: c.Intermediate, VocabSize: c.Vocab,
		NPositions: c.MaxPositions, NCtx: c.MaxPositions,
		BOSTokenID: c.BOS, EOSTokenID: c.EOS, LayerNormEpsilon: c.LayerNormEps,
		ActivationFunction: "gelu_new", TieWordEmbeddings: true, UseCache: true, TorchDtype: "float32",
		Pipe: info,
	}, "", "  ")
	return append(b, '\n'), err
}

// hfConfig is what pipe reads from any Hugging Face config.json: the first
// key present among each field's aliases wins.
type hfConfig struct {
	cfg     Config
	present map[string]bool   // which Config fields the file set
	keys    map[string]string // the key that set each present field
	pipe    *pipeInfo
}

var hfAliases = []struct {
	field string
	keys  []string
}{
	{"layers", []string{"num_hidden_layers", "n_layer", "num_layers"}},
	{"heads", []string{"num_attention_heads", "n_head", "num_heads"}},
	{"kv_heads", []string{"num_key_value_heads", "multi_query_group_num"}},
	{"head_dim", []string{"head_dim"}},
	{"hidden", []string{"hidden_size", "n_embd", "d_model"}},
	{"intermediate", []string{"intermediate_size", "n_inner", "ffn_dim"}},
	{"vocab", []string{"vocab_size"}},
	{"max_positions", []string{"max_position_embeddings", "n_positions", "n_ctx", "seq_length"}},
	{"bos", []string{"bos_token_id"}},
	{"eos", []string{"eos_token_id"}},
	{"layer_norm_eps", []string{"layer_norm_epsilon", "layer_norm_eps", "rms_norm_eps"}},
}

// ReadConfig reads dir/config.json (Hugging Face keys, see hfAliases) without
// loading the model: validation uses it for the context length and the
// buffer sizes. A missing file is not an error (found = false); fields the
// file lacks stay zero. Sizes must be positive (max_positions ≥ 0), and when
// dir holds an ONNX decoder with a learned position table, the context
// length may not exceed the table's rows (its header alone is read).
func ReadConfig(dir string) (cfg Config, found bool, err error) {
	path := filepath.Join(dir, "config.json")
	hc, found, err := readHFConfig(path)
	if err != nil || !found {
		return hc.cfg, found, err
	}
	if h := graphHeaderIn(dir); h != nil {
		if err := hc.checkPositions(h); err != nil {
			return hc.cfg, found, fmt.Errorf("%s: %w", path, err)
		}
	}
	return hc.cfg, found, nil
}

// graphHeaderIn reads the header of dir's ONNX decoder, or returns nil when
// there is none or it cannot be read (Load reports why).
func graphHeaderIn(dir string) *graphHeader {
	file, err := findModelFile(dir)
	if err != nil {
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	h, err := readGraphHeader(f, st.Size())
	if err != nil {
		return nil
	}
	return h
}

// checkPositions refuses a context length past the graph's position table:
// position ids beyond its rows would index outside it, which ONNX Runtime
// reports only mid-run, as an index error.
func (hc hfConfig) checkPositions(h *graphHeader) error {
	if !hc.present["max_positions"] || h.positionRows <= 0 || int64(hc.cfg.MaxPositions) <= h.positionRows {
		return nil
	}
	return fmt.Errorf("%s = %d, but the graph's position table %s has %d rows: set %s to %d (or less), or use the config.json that came with the model",
		hc.keys["max_positions"], hc.cfg.MaxPositions, h.positionTable, h.positionRows, hc.keys["max_positions"], h.positionRows)
}

// checkSizes refuses a size that no model has: a negative one, or zero
// where the architecture needs one (max_positions 0 means unknown).
func (hc hfConfig) checkSizes() error {
	c := hc.cfg
	for _, f := range []struct {
		field  string
		v      int
		zeroOK bool
	}{
		{"layers", c.Layers, false}, {"heads", c.Heads, false}, {"kv_heads", c.KVHeads, false},
		{"head_dim", c.HeadDim, false}, {"hidden", c.Hidden, false}, {"intermediate", c.Intermediate, false},
		{"vocab", c.Vocab, false}, {"max_positions", c.MaxPositions, true},
	} {
		if !hc.present[f.field] {
			continue
		}
		if f.v < 0 || f.v == 0 && !f.zeroOK {
			want := "> 0"
			if f.zeroOK {
				want = "≥ 0 (0: unknown)"
			}
			return fmt.Errorf("%s = %d: a size must be %s", hc.keys[f.field], f.v, want)
		}
	}
	if hc.present["layer_norm_eps"] && c.LayerNormEps < 0 {
		return fmt.Errorf("%s = %g: want ≥ 0", hc.keys["layer_norm_eps"], c.LayerNormEps)
	}
	return nil
}

// readHFConfig parses path; a missing file is not an error (ok = false).
func readHFConfig(path string) (hc hfConfig, ok bool, err error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return hc, false, nil
	}
	if err != nil {
		return hc, false, err
	}
	hc, err = parseHFConfig(b)
	if err != nil {
		return hc, false, fmt.Errorf("%s: %w; fix it or remove it", path, err)
	}
	return hc, true, nil
}

func parseHFConfig(b []byte) (hfConfig, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return hfConfig{}, fmt.Errorf("not a JSON object (%v)", err)
	}
	hc := hfConfig{present: map[string]bool{}, keys: map[string]string{}}
	c := &hc.cfg
	c.BOS, c.EOS = -1, -1
	for _, a := range hfAliases {
		for _, k := range a.keys {
			v, ok := raw[k]
			if !ok || string(v) == "null" {
				continue
			}
			if err := setField(c, a.field, v); err != nil {
				return hfConfig{}, fmt.Errorf("%s: %v", k, err)
			}
			hc.present[a.field], hc.keys[a.field] = true, k
			break
		}
	}
	if err := hc.checkSizes(); err != nil {
		return hfConfig{}, err
	}
	if v, ok := raw["pipe"]; ok {
		var p pipeInfo
		if err := json.Unmarshal(v, &p); err == nil && p.Style != "" {
			hc.pipe = &p
		}
	}
	return hc, nil
}

// firstTokenID reads a token id written as an integer or a list of them:
// some configs list several EOS ids, the first is the canonical one. ok is
// false for an empty list.
func firstTokenID(v json.RawMessage) (id int64, ok bool, err error) {
	if strings.HasPrefix(strings.TrimSpace(string(v)), "[") {
		var ids []int64
		if err := json.Unmarshal(v, &ids); err != nil {
			return 0, false, err
		}
		if len(ids) == 0 {
			return 0, false, nil
		}
		return ids[0], true, nil
	}
	if err := json.Unmarshal(v, &id); err != nil {
		return 0, false, fmt.Errorf("want an integer or a list of integers, got %s", v)
	}
	return id, true, nil
}

func setField(c *Config, field string, v json.RawMessage) error {
	if field == "layer_norm_eps" {
		return json.Unmarshal(v, &c.LayerNormEps)
	}
	if field == "bos" || field == "eos" {
		id, ok, err := firstTokenID(v)
		if err != nil || !ok {
			return err
		}
		if field == "bos" {
			c.BOS = id
		} else {
			c.EOS = id
		}
		return nil
	}
	var n int
	if err := json.Unmarshal(v, &n); err != nil {
		return fmt.Errorf("want an integer, got %s", v)
	}
	switch field {
	case "layers":
		c.Layers = n
	case "heads":
		c.Heads = n
	case "kv_heads":
		c.KVHeads = n
	case "head_dim":
		c.HeadDim = n
	case "hidden":
		c.Hidden = n
	case "intermediate":
		c.Intermediate = n
	case "vocab":
		c.Vocab = n
	case "max_positions":
		c.MaxPositions = n
	}
	return nil
}
