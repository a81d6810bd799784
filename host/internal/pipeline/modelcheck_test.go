package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyLlamaConfig is a Llama config.json small enough to build in a test;
// its head_dim is 8, which GroupQueryAttention (the CPU default style)
// does not take.
const tinyLlamaConfig = `{"model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
	"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 96, "max_position_embeddings": 64}`

// copyDir copies the files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestModelBuildChecked: pipe validate reports what building the model
// would refuse, each in one line at model.source's line, without building:
// config.json's model_type and rope_scaling as the builder reads them, a
// directory with nothing to build from, a style the config cannot take, a
// checkpoint whose tensors disagree with config.json or whose index names
// a missing shard; a bad block size stays at its own key. A config.json
// and a checkpoint the builder takes, and the presets at every precision,
// pass.
func TestModelBuildChecked(t *testing.T) {
	t.Setenv("PIPE_CACHE", t.TempDir()) // nothing may be built into it
	ckpts := filepath.Join("..", "model", "testdata", "llama")
	tests := []struct {
		name  string
		setup func(dir string) // fills dir, model.source
		keys  string           // more [model] keys
		want  string           // the problem after "p.toml:2: model.source: ", with DIR for dir; "" for none
	}{
		{"unknown model_type", func(d string) {
			write(t, d, "config.json", strings.Replace(tinyLlamaConfig, `"llama"`, `"gemma3"`, 1))
		}, `graph_style = "optimum"`, `DIR/config.json: model_type "gemma3" is not an architecture pipe builds: use one of llama, mistral, qwen2, qwen3, phi3, or export an ONNX decoder with optimum`},
		{"unsupported rope_scaling", func(d string) {
			write(t, d, "config.json", strings.Replace(tinyLlamaConfig, `"max_position_embeddings": 64`, `"max_position_embeddings": 64, "rope_scaling": {"rope_type": "yarn", "factor": 4}`, 1))
		}, `graph_style = "optimum"`, `DIR/config.json: rope_scaling type "yarn" is not supported: pipe builds`},
		{"no config.json", func(d string) {
			write(t, d, "README.md", "weights elsewhere")
		}, "", `DIR has no ONNX decoder and no config.json to build one from: add the checkpoint's Hugging Face config.json`},
		{"style the config cannot take", func(d string) {
			write(t, d, "config.json", tinyLlamaConfig)
		}, "", `DIR/config.json: style "gqa": GroupQueryAttention needs head_dim a multiple of 16 (got 8); use style "optimum"`},
		{"config builds", func(d string) { write(t, d, "config.json", tinyLlamaConfig) }, `graph_style = "fused"` + "\nprecision = \"int4\"", ""},
		{"checkpoint builds", func(d string) { copyDir(t, filepath.Join(ckpts, "llama-f32"), d) }, `graph_style = "optimum"`, ""},
		{"checkpoint of another shape", func(d string) {
			copyDir(t, filepath.Join(ckpts, "llama-f32"), d)
			b, _ := os.ReadFile(filepath.Join(d, "config.json"))
			write(t, d, "config.json", strings.Replace(string(b), `"intermediate_size": 48`, `"intermediate_size": 64`, 1))
		}, `graph_style = "optimum"`, `checkpoint DIR: tensor model.layers.0.mlp.gate_proj.weight has shape [48 32], but config.json implies [64 32]: the weights and config.json belong to different models`},
		{"index names a missing shard", func(d string) {
			copyDir(t, filepath.Join(ckpts, "qwen2-f16-sharded"), d)
			os.Remove(filepath.Join(d, "model-00002-of-00002.safetensors"))
		}, `graph_style = "optimum"`, `model-00002-of-00002.safetensors`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "m")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.setup(dir)
			file := filepath.Join(root, "p.toml")
			src := "[model]\nsource = \"m\"\ntokenizer = \"none\"\n" + tc.keys + "\n[matrix]\nprompt_tokens = 8\nnew_tokens = 4\n"
			_, err := Parse(file, []byte(src), LoadOptions{Names: testNames, CPUs: 2})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			prefix := file + ":2: model.source: "
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) {
				t.Errorf("got  %s\nwant one line %s…%s…", msg, prefix, want)
			}
		})
	}
	t.Run("presets and block size", func(t *testing.T) {
		for _, src := range []string{"gpt2-tiny", "smollm2-135m", "llama-3.2-1b"} {
			for _, keys := range []string{`precision = "int4"`, `precision = "int8"` + "\nblock_size = 64", `graph_style = "optimum"`} {
				lines, _ := problemsOf(t, "[model]\nsource = \""+src+"\"\ntokenizer = \"none\"\n"+keys+"\n[matrix]\nprompt_tokens = 8\nnew_tokens = 4\n", LoadOptions{})
				if lines != nil {
					t.Errorf("%s, %s: %v", src, keys, lines)
				}
			}
		}
		lines, _ := problemsOf(t, "[model]\nsource = \"smollm2-135m\"\ntokenizer = \"none\"\nprecision = \"int4\"\nblock_size = 24\n[matrix]\nprompt_tokens = 8\nnew_tokens = 4\n", LoadOptions{})
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "p.toml:5: model.block_size: ") {
			t.Errorf("block size 24: %v, want one line at model.block_size", lines)
		}
	})
	if entries, _ := os.ReadDir(filepath.Join(os.Getenv("PIPE_CACHE"), "models")); len(entries) > 0 {
		t.Errorf("validation built %d models", len(entries))
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
