package model

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseHFConfig(t *testing.T) {
	cases := []struct {
		name    string
		json    string
		want    Config
		wantErr string
	}{
		{"gpt2 keys", `{"n_layer": 12, "n_head": 12, "n_embd": 768, "n_inner": null, "vocab_size": 50257,
			"n_positions": 1024, "eos_token_id": 50256, "bos_token_id": 50256, "layer_norm_epsilon": 1e-5}`,
			Config{Layers: 12, Heads: 12, Hidden: 768, Vocab: 50257, MaxPositions: 1024, BOS: 50256, EOS: 50256, LayerNormEps: 1e-5}, ""},
		{"llama keys, grouped-query, EOS list", `{"num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
			"hidden_size": 2048, "head_dim": 64, "intermediate_size": 8192, "vocab_size": 128256,
			"max_position_embeddings": 131072, "eos_token_id": [128001, 128008, 128009], "rms_norm_eps": 1e-5}`,
			Config{Layers: 16, Heads: 32, KVHeads: 8, HeadDim: 64, Hidden: 2048, Intermediate: 8192, Vocab: 128256,
				MaxPositions: 131072, BOS: -1, EOS: 128001, LayerNormEps: 1e-5}, ""},
		{"first alias wins", `{"num_hidden_layers": 4, "n_layer": 9}`, Config{Layers: 4, BOS: -1, EOS: -1}, ""},
		{"empty object", `{}`, Config{BOS: -1, EOS: -1}, ""},
		{"not an object", `[1, 2]`, Config{}, "not a JSON object"},
		{"string layer count", `{"n_layer": "12"}`, Config{}, `n_layer: want an integer, got "12"`},
		{"bad eos", `{"eos_token_id": "x"}`, Config{}, "eos_token_id: want an integer or a list"},
		{"negative positions", `{"n_positions": -1}`, Config{}, "n_positions = -1: a size must be ≥ 0 (0: unknown)"},
		{"negative layers", `{"num_hidden_layers": -2}`, Config{}, "num_hidden_layers = -2: a size must be > 0"},
		{"zero heads", `{"n_head": 0}`, Config{}, "n_head = 0: a size must be > 0"},
		{"negative vocab", `{"vocab_size": -50257}`, Config{}, "vocab_size = -50257: a size must be > 0"},
		{"negative eps", `{"layer_norm_epsilon": -1e-5}`, Config{}, "layer_norm_epsilon = -1e-05: want ≥ 0"},
		{"zero positions: unknown", `{"n_positions": 0}`, Config{BOS: -1, EOS: -1}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hc, err := parseHFConfig([]byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, hc.cfg); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	mut := func(f func(*Config)) Config { c := GPT2Tiny(); f(&c); return c }
	cases := []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"gpt2", GPT2(), ""},
		{"gpt2-tiny", GPT2Tiny(), ""},
		{"grouped-query", gqaTiny(), ""},
		{"no layers", mut(func(c *Config) { c.Layers = 0 }), "layers = 0"},
		{"kv heads not dividing heads", mut(func(c *Config) { c.KVHeads = 3 }), "not a multiple"},
		{"zero head dim", mut(func(c *Config) { c.HeadDim = 0 }), "head_dim = 0"},
		{"no vocab", mut(func(c *Config) { c.Vocab = 0 }), "vocab = 0"},
		{"negative positions", mut(func(c *Config) { c.MaxPositions = -1 }), "max_positions = -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	if got, want := GPT2().Params(), int64(124439808); got != want {
		t.Errorf("GPT2().Params() = %d, want %d (Hugging Face's count for gpt2)", got, want)
	}
}

// FuzzReadGraphHeader: no input makes the ONNX header reader or the layout
// check panic; a header it accepts has its inputs and outputs.
func FuzzReadGraphHeader(f *testing.F) {
	f.Add(buildBytes(f, GPT2Tiny(), StyleOptimum)[:4096])
	f.Add([]byte{0x08, 0x08, 0x3a, 0x02, 0x5a, 0x00})
	f.Add([]byte("not onnx"))
	var buf bytes.Buffer
	tiny := GPT2Tiny()
	tiny.Vocab, tiny.MaxPositions, tiny.Intermediate = 8, 4, 8
	if err := Build(&buf, tiny, 0, StyleFused); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readGraphHeader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		m := &Model{}
		if err := m.checkLayout(h, nil); err == nil && (m.Config.Layers < 1 || len(m.InputNames) < 2+2*m.Config.Layers) {
			t.Errorf("accepted a layout with %d layers and inputs %v", m.Config.Layers, m.InputNames)
		}
	})
}
