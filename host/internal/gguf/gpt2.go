package gguf

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/model"
)

// GPT2Options says which GPT-2 WriteGPT2 writes.
type GPT2Options struct {
	Config model.Config // model.GPT2() for GPT-2 124M
	Seed   uint64       // pipe's weight seed (model.DefaultSeed)
	// Type of the matrices and the token embedding (tied LM head); the
	// position table, norms and biases are f32 whatever it is.
	Type Type
	// TokenizerDir holds GPT-2's encoder.json and vocab.bpe
	// (assets.GPT2Tokenizer); its vocabulary must be Config.Vocab long.
	TokenizerDir string
	Name         string // general.name
}

// gpt2Names maps pipe's GPT-2 weights (Hugging Face's names) to llama.cpp's
// (gguf-py's tensor map for MODEL_ARCH.GPT2), per layer suffix.
var gpt2Names = map[string]string{
	"ln_1.weight":        "attn_norm.weight",
	"ln_1.bias":          "attn_norm.bias",
	"attn.c_attn.weight": "attn_qkv.weight",
	"attn.c_attn.bias":   "attn_qkv.bias",
	"attn.c_proj.weight": "attn_output.weight",
	"attn.c_proj.bias":   "attn_output.bias",
	"ln_2.weight":        "ffn_norm.weight",
	"ln_2.bias":          "ffn_norm.bias",
	"mlp.c_fc.weight":    "ffn_up.weight",
	"mlp.c_fc.bias":      "ffn_up.bias",
	"mlp.c_proj.weight":  "ffn_down.weight",
	"mlp.c_proj.bias":    "ffn_down.bias",
}

// GPT2TensorName is llama.cpp's name for one of pipe's GPT-2 weights.
func GPT2TensorName(hf string) (string, error) {
	switch hf {
	case "transformer.wte.weight":
		return "token_embd.weight", nil
	case "transformer.wpe.weight":
		return "position_embd.weight", nil
	case "transformer.ln_f.weight":
		return "output_norm.weight", nil
	case "transformer.ln_f.bias":
		return "output_norm.bias", nil
	}
	var layer int
	var rest string
	if n, _ := fmt.Sscanf(hf, "transformer.h.%d.", &layer); n == 1 {
		rest = strings.TrimPrefix(hf, fmt.Sprintf("transformer.h.%d.", layer))
		if g, ok := gpt2Names[rest]; ok {
			return fmt.Sprintf("blk.%d.%s", layer, g), nil
		}
	}
	return "", fmt.Errorf("gguf: no llama.cpp name for GPT-2 weight %s", hf)
}

// isConv1D: Hugging Face's GPT-2 stores these [in, out]; llama.cpp (like
// convert_hf_to_gguf.py, which transposes them) wants nn.Linear's [out, in].
func isConv1D(hf string) bool {
	return strings.HasSuffix(hf, ".c_attn.weight") || strings.HasSuffix(hf, ".c_proj.weight") || strings.HasSuffix(hf, ".c_fc.weight")
}

// gpt2Type is the stored type of a weight for matrix type t: llama.cpp's
// rule (convert_hf_to_gguf.py) keeps 1-D tensors and the position table f32.
func gpt2Type(hf string, dims []int64, t Type) Type {
	if len(dims) < 2 || hf == "transformer.wpe.weight" {
		return F32
	}
	return t
}

// WriteGPT2 writes pipe's built-in GPT-2 (the seeded weights pipe builds its
// ONNX model from, model.GPT2Weights) as a GGUF of architecture gpt2 with
// GPT-2's tokenizer, as convert_hf_to_gguf.py would write the same weights.
// The weights are generated twice (once for the headers, once for the
// data), so memory stays at one tensor.
func WriteGPT2(w io.Writer, o GPT2Options) error {
	c := o.Config
	if _, err := o.Type.Bytes(0); err != nil {
		return err
	}
	tok, err := gpt2Tokenizer(o.TokenizerDir, c.Vocab)
	if err != nil {
		return err
	}
	name := o.Name
	if name == "" {
		name = fmt.Sprintf("pipe gpt2 seed %d", o.Seed)
	}
	kvs := []KV{
		{"general.architecture", "gpt2"},
		{"general.name", name},
		{"general.file_type", o.Type.FileType()},
		{"gpt2.context_length", uint32(c.MaxPositions)},
		{"gpt2.embedding_length", uint32(c.Hidden)},
		{"gpt2.feed_forward_length", uint32(c.Intermediate)},
		{"gpt2.block_count", uint32(c.Layers)},
		{"gpt2.attention.head_count", uint32(c.Heads)},
		{"gpt2.attention.head_count_kv", uint32(c.KVHeads)},
		{"gpt2.attention.layer_norm_epsilon", float32(c.LayerNormEps)},
	}
	kvs = append(kvs, tok...)

	tensors, err := GPT2Tensors(c, o.Type)
	if err != nil {
		return err
	}

	// The data pass: GPT2Weights calls back in the same order; Write asks
	// for tensor i, which the callback goroutine below hands over.
	type enc struct {
		b   []byte
		err error
	}
	next := make(chan enc)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		var tr []float32
		err := model.GPT2Weights(c, o.Seed, func(n string, dims []int64, v []float32) error {
			if isConv1D(n) {
				tr = transpose(tr, v, int(dims[0]), int(dims[1]))
				v = tr
			}
			// A fresh buffer each time: Write may still be writing the last.
			out, err := Encode(nil, gpt2Type(n, dims, o.Type), v)
			select {
			case next <- enc{out, err}:
			case <-stop:
				return io.ErrClosedPipe
			}
			return err
		})
		if err != nil {
			select {
			case next <- enc{nil, err}:
			case <-stop:
			}
		}
	}()
	return Write(w, kvs, tensors, func(i int) ([]byte, error) {
		e := <-next
		return e.b, e.err
	})
}

// GPT2Tensors are the headers of WriteGPT2's tensors for c at matrix type
// t, in file order (from the weights' shapes: nothing is generated).
func GPT2Tensors(c model.Config, t Type) ([]Tensor, error) {
	shapes, err := model.GPT2WeightShapes(c)
	if err != nil {
		return nil, err
	}
	tensors := make([]Tensor, 0, len(shapes))
	for _, w := range shapes {
		n, dims := w.Name, w.Dims
		g, err := GPT2TensorName(n)
		if err != nil {
			return nil, err
		}
		ne := make([]uint64, len(dims)) // ggml's order is PyTorch's reversed
		for i, d := range dims {
			ne[len(dims)-1-i] = uint64(d)
		}
		if isConv1D(n) { // [in, out] → [out, in]: ne is {in, out}
			ne[0], ne[1] = ne[1], ne[0]
		}
		tt := Tensor{Name: g, Dims: ne, Type: gpt2Type(n, dims, t)}
		if _, err := tt.Bytes(); err != nil {
			return nil, err
		}
		tensors = append(tensors, tt)
	}
	return tensors, nil
}

// GPT2WeightBytesPerToken is what one decode step reads of tensors (as
// GPT2Tensors gives them): every tensor but the position table, of which a
// step reads one row; the token embedding counts once, as the tied LM head
// (model.Load's rule for pipe's ONNX model).
func GPT2WeightBytesPerToken(tensors []Tensor) int64 {
	var n int64
	for _, t := range tensors {
		if t.Name != "position_embd.weight" {
			b, _ := t.Bytes()
			n += b
		}
	}
	return n
}

// transpose writes the [cols, rows] transpose of the rows×cols matrix v into
// dst (grown as needed).
func transpose(dst, v []float32, rows, cols int) []float32 {
	if cap(dst) < len(v) {
		dst = make([]float32, len(v))
	}
	dst = dst[:len(v)]
	for r := 0; r < rows; r++ {
		for c, x := range v[r*cols : (r+1)*cols] {
			dst[c*rows+r] = x
		}
	}
	return dst
}

// GPT-2 token types (llama.h's enum llama_token_type).
const (
	tokenNormal  = 1
	tokenControl = 3
)

// gpt2Tokenizer is the tokenizer.ggml.* metadata convert_hf_to_gguf.py
// writes for GPT-2 (model "gpt2", pre-tokenizer "gpt-2"), from encoder.json
// and vocab.bpe: the tokens by id, <|endoftext|> a control token and BOS and
// EOS, every other token normal, the merges as their lines.
func gpt2Tokenizer(dir string, vocab int) ([]KV, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "encoder.json"))
	if err != nil {
		return nil, fmt.Errorf("gguf: GPT-2 tokenizer: %w (run `pipe setup`)", err)
	}
	var ids map[string]int
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", filepath.Join(dir, "encoder.json"), err)
	}
	if len(ids) != vocab {
		return nil, fmt.Errorf("gguf: the GPT-2 tokenizer has %d tokens and the model %d: GGUF needs one per logit (use a config with vocab %d)", len(ids), vocab, len(ids))
	}
	tokens := make([]string, vocab)
	types := make([]int32, vocab)
	for s, id := range ids {
		if id < 0 || id >= vocab || tokens[id] != "" {
			return nil, fmt.Errorf("gguf: encoder.json: id %d of %q is out of range or taken twice", id, s)
		}
		tokens[id] = s
		types[id] = tokenNormal
	}
	eos, ok := ids["<|endoftext|>"]
	if !ok {
		return nil, fmt.Errorf("gguf: encoder.json has no <|endoftext|>: not GPT-2's")
	}
	types[eos] = tokenControl
	f, err := os.Open(filepath.Join(dir, "vocab.bpe"))
	if err != nil {
		return nil, fmt.Errorf("gguf: GPT-2 tokenizer: %w (run `pipe setup`)", err)
	}
	defer f.Close()
	var merges []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "#version") || strings.TrimSpace(line) == "" {
			continue
		}
		merges = append(merges, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gguf: vocab.bpe: %w", err)
	}
	return []KV{
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "gpt-2"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", merges},
		{"tokenizer.ggml.bos_token_id", uint32(eos)},
		{"tokenizer.ggml.eos_token_id", uint32(eos)},
	}, nil
}
