// Package model finds, checks and builds the decoder models pipe runs.
//
// It takes a stand on one layout: the Hugging Face optimum
// decoder-with-past graph. Inputs input_ids [b, s] int64, attention_mask
// [b, past+s] int64, optional position_ids [b, s] int64 and
// past_key_values.{i}.key|value [b, kv_heads, past, head_dim] float32;
// outputs logits [b, s, vocab] and present.{i}.key|value
// [b, kv_heads, past+s, head_dim]. One graph serves prefill (past length 0)
// and decode; the merged form with a use_cache_branch input is recognised.
// Anything else is refused with a message naming what is missing.
//
// Load reads a model directory without loading its weights: the graph's
// inputs and outputs come from positioned reads of the protobuf, sizes from
// config.json (Hugging Face keys) or, without one, from the graph's shapes,
// so grouped-query models (kv_heads < heads) work.
//
// Builtin builds the GPT-2 architecture in that same layout with seeded
// random weights (optimum-benchmark calls this no_weights): the exact
// compute of the real model, no download, gibberish text. Two graph styles:
// StyleOptimum (plain ONNX ops, what torch.onnx.export gives) and
// StyleFused (ONNX Runtime contrib ops, what its transformer optimizer
// gives); DefaultStyle says which one pipe uses and RATIONALE.md why. Built
// models are cached on disk by config, seed, style and BuilderVersion.
//
// The Llama family (model_type llama, mistral, qwen2, qwen3, phi3) is built
// the same way from a Hugging Face config.json: the embedded presets
// (smollm2-135m, qwen2.5-0.5b, llama-3.2-1b) and any directory with a
// config.json and no ONNX file, with seeded random weights or, when the
// directory holds safetensors weights, with those (BuildFromDir), cached by
// the checkpoint's hash. One graph style, plain ONNX ops; models past
// protobuf's 2 GB limit keep their weights in model.onnx.data.
//
// ReferenceLogits and LlamaReferenceLogits are independent plain-Go forward
// passes of the same architectures and weights, the oracles the tests
// compare ONNX Runtime against.
package model

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
)

// Model is a decoder model on disk, checked against the optimum layout.
type Model struct {
	Dir  string // directory holding the model
	Path string // the ONNX file
	// Name is the built-in model's name ("gpt2"), else Dir.
	Name   string
	Config Config
	// Style is StyleOptimum or StyleFused: from pipe's config.json section
	// when pipe built the model, else StyleFused when the graph imports the
	// com.microsoft opset, else StyleOptimum.
	Style string
	// Seed is the weight seed of a built-in model (0 otherwise).
	Seed uint64
	// Merged is set for the merged decoder: the graph takes a
	// use_cache_branch bool [1] input (false for prefill, true for decode).
	Merged bool
	// HasPositionIDs is set when the graph takes position_ids.
	HasPositionIDs bool
	// InputNames and OutputNames list the graph's inputs and outputs in
	// graph order.
	InputNames, OutputNames []string
	// SHA256 is the hex digest of the ONNX file (not of external data).
	SHA256 string
	// Bytes is the size of the ONNX file plus its external data files.
	Bytes int64
	// Params counts the elements of the graph's initializers (weights stored
	// as Constant nodes are not counted).
	Params int64
}

// KVInput names layer i's cache inputs.
func (m *Model) KVInput(i int) (key, value string) { return PastKey(i), PastValue(i) }

// KVOutput names layer i's cache outputs.
func (m *Model) KVOutput(i int) (key, value string) { return PresentKey(i), PresentValue(i) }

// ModelFileNames are the file names Load looks for in a directory, in order.
var ModelFileNames = []string{"model.onnx", "decoder_model_merged.onnx", "decoder_with_past_model.onnx"}

// layoutHint ends every layout error.
const layoutHint = "pipe needs the Hugging Face optimum decoder-with-past layout (inputs input_ids, attention_mask, [position_ids], past_key_values.{i}.key|value; outputs logits, present.{i}.key|value): export with `optimum-cli export onnx --task text-generation-with-past`"

// Load opens the model in dir (a directory, or an .onnx file directly),
// checks its layout and reads its sizes. It reads the graph's inputs and
// outputs, not its weights, and hashes the file by streaming it.
func Load(dir string) (*Model, error) {
	path, err := findModelFile(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	h, err := readGraphHeader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("model %s: not an ONNX model (%v): point --model at an .onnx file or a directory holding one", path, err)
	}
	m := &Model{Dir: filepath.Dir(path), Path: path, Bytes: st.Size(), Params: h.params}
	m.Name = m.Dir
	for _, loc := range h.externalFiles {
		est, err := os.Stat(filepath.Join(m.Dir, loc))
		if err != nil {
			return nil, fmt.Errorf("model %s: its weights live in %q, which is missing: copy it beside the model", path, loc)
		}
		m.Bytes += est.Size()
	}
	if err := m.checkLayout(h); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if err := m.readConfig(h); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if m.SHA256, err = fileSHA256(f, st); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return m, nil
}

func findModelFile(dir string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("model %s: no such file or directory: pass a model directory, an .onnx file, or a built-in name (%s)", dir, strings.Join(PresetNames(), ", "))
		}
		return "", fmt.Errorf("model %s: %w", dir, err)
	}
	if !st.IsDir() {
		return dir, nil
	}
	for _, name := range ModelFileNames {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("model %s: no ONNX decoder in the directory (looked for %s): export one with `optimum-cli export onnx --task text-generation-with-past`, or give pipe the Hugging Face config.json (and safetensors weights) of a %s model to build",
		dir, strings.Join(ModelFileNames, ", "), strings.Join(LlamaFamilies, "/"))
}

var pastRE = regexp.MustCompile(`^past_key_values\.(\d+)\.(key|value)$`)

// shapeOf returns the element type and dims (-1 where symbolic) of vi.
func shapeOf(vi *onnxpb.ValueInfoProto) (onnxpb.TensorProto_DataType, []int64) {
	t := vi.GetType().GetTensorType()
	var dims []int64
	for _, d := range t.GetShape().GetDim() {
		if dv, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
			dims = append(dims, dv.DimValue)
		} else {
			dims = append(dims, -1)
		}
	}
	return onnxpb.TensorProto_DataType(t.GetElemType()), dims
}

// checkLayout verifies the optimum layout and fills what the graph tells:
// layers, kv heads, head dim, vocab.
func (m *Model) checkLayout(h *graphHeader) error {
	ins := map[string]*onnxpb.ValueInfoProto{}
	for _, vi := range h.inputs {
		ins[vi.GetName()] = vi
		m.InputNames = append(m.InputNames, vi.GetName())
	}
	outs := map[string]*onnxpb.ValueInfoProto{}
	for _, vi := range h.outputs {
		outs[vi.GetName()] = vi
		m.OutputNames = append(m.OutputNames, vi.GetName())
	}
	for _, name := range []string{InputIDs, AttentionMask} {
		if ins[name] == nil {
			return fmt.Errorf("graph has no input %q (inputs: %s); %s", name, list(m.InputNames), layoutHint)
		}
	}
	if outs[Logits] == nil {
		return fmt.Errorf("graph has no output %q (outputs: %s); %s", Logits, list(m.OutputNames), layoutHint)
	}
	_, m.HasPositionIDs = ins[PositionIDs]
	_, m.Merged = ins[UseCacheFlag]
	layers := 0
	for name := range ins {
		if sm := pastRE.FindStringSubmatch(name); sm != nil {
			i, _ := strconv.Atoi(sm[1])
			layers = max(layers, i+1)
		}
	}
	if layers == 0 {
		return fmt.Errorf("graph has no past_key_values.{i}.key|value inputs, so it cannot decode with a KV cache; %s", layoutHint)
	}
	c := &m.Config
	c.Layers, c.KVHeads, c.HeadDim = layers, -1, -1
	for i := 0; i < layers; i++ {
		for _, names := range [][2]string{{PastKey(i), PresentKey(i)}, {PastValue(i), PresentValue(i)}} {
			in, out := ins[names[0]], outs[names[1]]
			if in == nil {
				return fmt.Errorf("graph has past_key_values up to layer %d but no input %q; %s", layers-1, names[0], layoutHint)
			}
			if out == nil {
				return fmt.Errorf("graph has input %q but no output %q; %s", names[0], names[1], layoutHint)
			}
			elem, dims := shapeOf(in)
			if elem != onnxpb.TensorProto_FLOAT {
				return fmt.Errorf("input %q is %s; pipe runs float32 models only: export with --dtype fp32", names[0], elem)
			}
			if len(dims) != 4 {
				return fmt.Errorf("input %q has %d dims, want 4 [batch, kv_heads, past, head_dim]; %s", names[0], len(dims), layoutHint)
			}
			if c.KVHeads == -1 {
				c.KVHeads, c.HeadDim = int(dims[1]), int(dims[3])
			} else if int(dims[1]) != c.KVHeads || int(dims[3]) != c.HeadDim {
				return fmt.Errorf("input %q is [b, %d, past, %d] but %q is [b, %d, past, %d]: layers disagree on the cache shape",
					names[0], dims[1], dims[3], PastKey(0), c.KVHeads, c.HeadDim)
			}
		}
	}
	if _, dims := shapeOf(outs[Logits]); len(dims) == 3 {
		c.Vocab = int(dims[2])
	} else {
		return fmt.Errorf("output %q has %d dims, want 3 [batch, seq, vocab]; %s", Logits, len(dims), layoutHint)
	}
	m.Style = StyleOptimum
	if _, ok := h.opsets[msDomain]; ok {
		m.Style = StyleFused
	}
	return nil
}

// readConfig merges config.json (when present) with what the graph said.
// The graph wins on what it states; config.json must agree with it.
func (m *Model) readConfig(h *graphHeader) error {
	c := &m.Config
	hc, ok, err := readHFConfig(filepath.Join(m.Dir, "config.json"))
	if err != nil {
		return err
	}
	fc := hc.cfg
	if !ok {
		fc = Config{BOS: -1, EOS: -1}
	}
	if err := hc.checkPositions(h); err != nil {
		return fmt.Errorf("config.json: %w", err)
	}
	if ok && hc.present["layers"] && fc.Layers != c.Layers {
		return fmt.Errorf("config.json says %d layers but the graph has past_key_values for %d: the config belongs to another model", fc.Layers, c.Layers)
	}
	if !hc.present["kv_heads"] {
		fc.KVHeads = fc.Heads
	}
	graphKV, graphHD := c.KVHeads, c.HeadDim
	c.Heads, c.Hidden, c.Intermediate, c.MaxPositions = fc.Heads, fc.Hidden, fc.Intermediate, fc.MaxPositions
	c.BOS, c.EOS, c.LayerNormEps = fc.BOS, fc.EOS, fc.LayerNormEps
	if fc.HeadDim == 0 && fc.Heads > 0 && fc.Hidden > 0 {
		fc.HeadDim = fc.Hidden / fc.Heads
	}
	// Symbolic cache dims: take them from config.json, or give up.
	if graphKV <= 0 {
		if fc.KVHeads <= 0 {
			return fmt.Errorf("input %q has a symbolic kv_heads dim and no config.json gives num_key_value_heads or num_attention_heads: add config.json beside the model", PastKey(0))
		}
		c.KVHeads = fc.KVHeads
	} else if fc.KVHeads > 0 && fc.KVHeads != graphKV {
		return fmt.Errorf("config.json says %d key/value heads but the graph's cache has %d", fc.KVHeads, graphKV)
	}
	if graphHD <= 0 {
		if fc.HeadDim <= 0 {
			return fmt.Errorf("input %q has a symbolic head_dim and config.json gives no head_dim (or hidden_size and num_attention_heads): add config.json beside the model", PastKey(0))
		}
		c.HeadDim = fc.HeadDim
	} else if fc.HeadDim > 0 && fc.HeadDim != graphHD {
		return fmt.Errorf("config.json implies head_dim %d but the graph's cache has %d", fc.HeadDim, graphHD)
	}
	if c.Vocab <= 0 {
		if fc.Vocab <= 0 {
			return fmt.Errorf("output %q has a symbolic vocab dim and config.json gives no vocab_size: add config.json beside the model", Logits)
		}
		c.Vocab = fc.Vocab
	}
	// Without config.json the graph cannot tell query heads from kv heads;
	// assume multi-head attention.
	if c.Heads <= 0 {
		c.Heads = c.KVHeads
	}
	if c.Hidden <= 0 {
		c.Hidden = c.Heads * c.HeadDim
	}
	if hc.pipe != nil {
		m.Style, m.Seed, m.Name = hc.pipe.Style, hc.pipe.Seed, hc.pipe.Name
	}
	return nil
}

// digestSuffix names the file beside a model that holds its SHA-256 in
// sha256sum's format (`sha256sum -c model.onnx.sha256` checks it). Builtin
// writes it; Load trusts it only when it is at least as new as the model.
const digestSuffix = ".sha256"

// fileSHA256 returns the hex SHA-256 of f: from its digest file when one is
// current, else by streaming the file (about 0.3 s for GPT-2 124M).
func fileSHA256(f *os.File, st os.FileInfo) (string, error) {
	if b, err := os.ReadFile(f.Name() + digestSuffix); err == nil {
		if dst, err := os.Stat(f.Name() + digestSuffix); err == nil && !dst.ModTime().Before(st.ModTime()) {
			if fields := strings.Fields(string(b)); len(fields) == 2 && len(fields[0]) == 64 && fields[1] == filepath.Base(f.Name()) {
				if _, err := hex.DecodeString(fields[0]); err == nil {
					return fields[0], nil
				}
			}
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) > 8 {
		return strings.Join(names[:8], ", ") + fmt.Sprintf(", … (%d in all)", len(names))
	}
	return strings.Join(names, ", ")
}
