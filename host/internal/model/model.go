// Package model finds, checks and builds the decoder models pipe runs.
//
// It takes a stand on one contract, the decoder-with-past graph, found in
// the three layouts people download (layout.go): Hugging Face optimum
// (model.onnx, decoder_model_merged.onnx, decoder_with_past_model.onnx),
// Transformers.js (onnx/model_VARIANT.onnx, one variant per precision) and
// ONNX Runtime GenAI (genai_config.json naming the file, the input and
// output names and the session options). Inputs input_ids [b, s] int64,
// attention_mask [b, past+s] int64, optional position_ids [b, s] int64,
// optional logits_to_keep / num_logits_to_keep and cache_position, and a
// past key and value per layer [b, kv_heads, past, head_dim] in float32,
// float16 or bfloat16; outputs logits [b, s or 1, vocab] and a present key
// and value per layer [b, kv_heads, past+s, head_dim] — or, with GenAI's
// past_present_share_buffer, one max-length buffer bound as both past and
// present. Names come from genai_config.json when there is one, else
// optimum's (past_key_values.{i}.key|value, present.{i}.key|value). One
// graph serves prefill (past length 0) and decode; the merged form with a
// use_cache_branch input is recognised. Anything else is refused with a
// message naming what is missing.
//
// Load reads a model without loading its weights: the graph's inputs,
// outputs, node types and initializer sizes come from positioned reads of
// the protobuf, sizes from the graph's shapes, genai_config.json and
// config.json (Hugging Face keys), which must agree with the graph, so
// grouped-query models (kv_heads < heads) work. It records the precision
// of the weights, the cache and the logits, and the weight bytes one
// decode step reads (WeightBytesPerToken), quantized weights counted as
// stored.
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
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
)

// Model is a decoder model on disk, checked against the decoder-with-past
// contract.
type Model struct {
	Dir  string // directory holding the ONNX file (external data is relative to it)
	Path string // the ONNX file
	// Root is the directory holding config.json and tokenizer.json: Dir,
	// or the folder above onnx/ in the Transformers.js layout.
	Root string
	// Layout is LayoutOptimum, LayoutTransformersJS or LayoutGenAI;
	// Variant the Transformers.js variant ("fp32", "q4f16", …), else "".
	Layout, Variant string
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
	// IO names every input and output the generation loop feeds or reads.
	IO IONames
	// InputNames and OutputNames list the graph's inputs and outputs in
	// graph order.
	InputNames, OutputNames []string
	// KVType and LogitsType are the element types of the cache and the
	// logits: "float32", "float16" or "bfloat16".
	KVType, LogitsType string
	// LogitsLastOnly is set when the graph's logits have a static sequence
	// dim of 1: the LM head runs on the last position only.
	LogitsLastOnly bool
	// LogitsToKeepScalar is set when IO.LogitsToKeep is a rank-0 input
	// (transformers' exports), else it has shape [1].
	LogitsToKeepScalar bool
	// Precision is the weights' precision: "int4" or "int8" when the
	// graph's MatMuls are quantized (MatMulNBits' bits; QDQ or
	// MatMulInteger), else the float type of most bytes a decode step
	// reads ("fp32", "fp16", "bf16").
	Precision string
	// WeightBytes is the bytes of the graph's initializers as stored
	// (external data included); WeightBytesPerToken what one decode step
	// reads of them: all but the tables only gathered from (token and
	// position embeddings not tied to the LM head).
	WeightBytes, WeightBytesPerToken int64
	// Ops counts the graph's top-level nodes by op type.
	Ops map[string]int
	// ShareBuffer is GenAI's search.past_present_share_buffer: one buffer of
	// MaxLength positions per key and value, bound as past and present.
	ShareBuffer bool
	MaxLength   int
	// PadID is the padding token id from genai_config.json, -1 when unknown.
	PadID int64
	// Session holds the model's own session settings (genai_config.json).
	Session SessionHints
	// SHA256 is the hex digest of the ONNX file (not of external data).
	SHA256 string
	// Bytes is the size of the ONNX file plus its external data files.
	Bytes int64
	// Params counts the elements of the graph's float initializers and the
	// weights packed into quantized ones (MatMulNBits, GatherBlockQuantized);
	// weights stored as Constant nodes are not counted.
	Params int64
}

// IONames are the graph names the generation loop uses. PositionIDs,
// UseCacheBranch, LogitsToKeep and CachePosition are "" when the graph has
// no such input.
type IONames struct {
	InputIDs, AttentionMask, PositionIDs string
	UseCacheBranch                       string
	LogitsToKeep                         string // logits_to_keep or num_logits_to_keep: fed 1
	CachePosition                        string // cache_position [s]: past … past+s−1
	Logits                               string
	PastKey, PastValue                   []string // per layer
	PresentKey, PresentValue             []string
}

// KVInput names layer i's cache inputs.
func (m *Model) KVInput(i int) (key, value string) { return m.IO.PastKey[i], m.IO.PastValue[i] }

// KVOutput names layer i's cache outputs.
func (m *Model) KVOutput(i int) (key, value string) { return m.IO.PresentKey[i], m.IO.PresentValue[i] }

// ModelFileNames are the file names Load looks for in a directory, in order.
var ModelFileNames = []string{"model.onnx", "decoder_model_merged.onnx", "decoder_with_past_model.onnx"}

// layoutHint ends every layout error.
const layoutHint = "pipe needs the decoder-with-past layout (inputs input_ids, attention_mask, [position_ids], past_key_values.{i}.key|value; outputs logits, present.{i}.key|value, or the names a genai_config.json gives): export with `optimum-cli export onnx --task text-generation-with-past`"

// Load opens the model in dir (a directory in one of the three layouts, or
// an .onnx file directly), checks its layout and reads its sizes. It reads
// the graph's inputs, outputs, node types and initializer sizes, not its
// weights, and hashes the file by streaming it. A Transformers.js folder
// with several variants needs LoadVariant.
func Load(dir string) (*Model, error) { return LoadVariant(dir, "") }

// LoadVariant is Load choosing a Transformers.js folder's variant ("fp32",
// "fp16", "q4f16", …; "" when the folder holds one).
func LoadVariant(dir, variant string) (*Model, error) {
	loc, err := locate(dir, variant)
	if err != nil {
		return nil, err
	}
	path := loc.path
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
	m := &Model{Dir: filepath.Dir(path), Path: path, Root: loc.root, Layout: loc.layout, Variant: loc.variant, Bytes: st.Size(), Params: h.params, PadID: -1}
	m.Name = m.Dir
	if loc.layout != LayoutOptimum {
		m.Name = loc.root
	}
	for _, loc := range h.externalFiles {
		est, err := os.Stat(filepath.Join(m.Dir, loc))
		if err != nil {
			return nil, fmt.Errorf("model %s: its weights live in %q, which is missing: copy it beside the model", path, loc)
		}
		m.Bytes += est.Size()
	}
	var names *IONames
	if loc.genai != nil {
		n, err := genaiNames(loc.genai, h)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", path, err)
		}
		names = &n
	}
	if err := m.checkLayout(h, names); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if err := m.readConfig(h, loc.genai); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if loc.genai != nil {
		if err := m.applyGenAI(loc.genai); err != nil {
			return nil, fmt.Errorf("model %s: %w", loc.root, err)
		}
	}
	m.weighWeights(h)
	if m.SHA256, err = fileSHA256(f, st); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return m, nil
}

var pastRE = regexp.MustCompile(`^past_key_values\.(\d+)\.(key|value)$`)

// genaiNames resolves genai_config.json's names for the graph h: the layer
// count from the config, else from how many templated past keys the graph
// has; every name the config gives must be in the graph.
func genaiNames(gc *genaiConfig, h *graphHeader) (IONames, error) {
	ins := map[string]bool{}
	for _, vi := range h.inputs {
		ins[vi.GetName()] = true
	}
	layers := gc.Model.Decoder.Layers
	probe := gc.names(1)
	if layers <= 0 {
		for layers = 0; ; layers++ {
			if !ins[gc.names(layers + 1).PastKey[layers]] {
				break
			}
		}
	}
	n := gc.names(layers)
	if layers > 0 && !ins[n.PastKey[layers-1]] {
		return n, fmt.Errorf("%s says num_hidden_layers = %d but the graph has no input %q (its cache inputs: %s): the config belongs to another model", GenAIConfigFile, layers, n.PastKey[layers-1], list(kvLike(h)))
	}
	if layers > 0 && ins[gc.names(layers + 1).PastKey[layers]] {
		return n, fmt.Errorf("%s says num_hidden_layers = %d but the graph also has input %q: the config belongs to another model", GenAIConfigFile, layers, gc.names(layers + 1).PastKey[layers])
	}
	if layers == 0 {
		return n, fmt.Errorf("%s names the cache inputs %q but the graph has none (its inputs: %s): fix model.decoder.inputs.past_key_names", GenAIConfigFile, probe.PastKey[0], list(inputNames(h)))
	}
	if !ins[n.PositionIDs] {
		n.PositionIDs = ""
	}
	return n, nil
}

func inputNames(h *graphHeader) []string {
	var out []string
	for _, vi := range h.inputs {
		out = append(out, vi.GetName())
	}
	return out
}

func kvLike(h *graphHeader) []string {
	var out []string
	for _, n := range inputNames(h) {
		if strings.Contains(n, "past") || strings.Contains(n, "key") || strings.Contains(n, "value") {
			out = append(out, n)
		}
	}
	return out
}

// optimumNames are the names of the optimum layout for the graph h, the
// layer count from its past_key_values inputs.
func optimumNames(h *graphHeader) IONames {
	n := IONames{InputIDs: InputIDs, AttentionMask: AttentionMask, PositionIDs: PositionIDs, Logits: Logits}
	layers := 0
	for _, vi := range h.inputs {
		if sm := pastRE.FindStringSubmatch(vi.GetName()); sm != nil {
			i, _ := strconv.Atoi(sm[1])
			layers = max(layers, i+1)
		}
	}
	for i := range layers {
		n.PastKey, n.PastValue = append(n.PastKey, PastKey(i)), append(n.PastValue, PastValue(i))
		n.PresentKey, n.PresentValue = append(n.PresentKey, PresentKey(i)), append(n.PresentValue, PresentValue(i))
	}
	return n
}

// The optional inputs pipe feeds when a graph has them.
const (
	LogitsToKeep    = "logits_to_keep"
	NumLogitsToKeep = "num_logits_to_keep"
	CachePosition   = "cache_position"
)

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

// floatTypes are the cache and logits element types pipe runs, by the name
// results record.
var floatTypes = map[onnxpb.TensorProto_DataType]string{
	onnxpb.TensorProto_FLOAT: "float32", onnxpb.TensorProto_FLOAT16: "float16", onnxpb.TensorProto_BFLOAT16: "bfloat16",
}

// checkLayout verifies the decoder-with-past contract with names (nil:
// optimum's) and fills what the graph tells: layers, kv heads, head dim,
// vocab, element types.
func (m *Model) checkLayout(h *graphHeader, names *IONames) error {
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
	n := optimumNames(h)
	if names != nil {
		n = *names
	}
	for _, name := range []string{n.InputIDs, n.AttentionMask} {
		if ins[name] == nil {
			return fmt.Errorf("graph has no input %q (inputs: %s); %s", name, list(m.InputNames), layoutHint)
		}
		if elem, _ := shapeOf(ins[name]); elem != onnxpb.TensorProto_INT64 {
			return fmt.Errorf("input %q is %s; pipe feeds int64 ids and masks: export with int64 inputs", name, elem)
		}
	}
	if outs[n.Logits] == nil {
		return fmt.Errorf("graph has no output %q (outputs: %s); %s", n.Logits, list(m.OutputNames), layoutHint)
	}
	if ins[n.PositionIDs] == nil {
		n.PositionIDs = ""
	}
	if ins[UseCacheFlag] != nil {
		n.UseCacheBranch = UseCacheFlag
	}
	for _, k := range []string{LogitsToKeep, NumLogitsToKeep} {
		if vi := ins[k]; vi != nil {
			if _, dims := shapeOf(vi); len(dims) == 0 {
				m.LogitsToKeepScalar = true
			}
			n.LogitsToKeep = k
		}
	}
	if ins[CachePosition] != nil {
		n.CachePosition = CachePosition
	}
	known := map[string]bool{n.InputIDs: true, n.AttentionMask: true, n.PositionIDs: true, n.UseCacheBranch: true, n.LogitsToKeep: true, n.CachePosition: true}
	for i := range n.PastKey {
		known[n.PastKey[i]], known[n.PastValue[i]] = true, true
	}
	layers := len(n.PastKey)
	if layers == 0 {
		return fmt.Errorf("graph has no past_key_values.{i}.key|value inputs, so it cannot decode with a KV cache; %s", layoutHint)
	}
	for _, name := range m.InputNames {
		if !known[name] {
			return fmt.Errorf("graph input %q is not one pipe feeds (it feeds %s, the cache inputs, and logits_to_keep, num_logits_to_keep, cache_position when present): export without it", name, strings.Join([]string{n.InputIDs, n.AttentionMask, PositionIDs, UseCacheFlag}, ", "))
		}
	}
	c := &m.Config
	c.Layers, c.KVHeads, c.HeadDim = layers, -1, -1
	var kvElem onnxpb.TensorProto_DataType
	for i := 0; i < layers; i++ {
		for _, names := range [][2]string{{n.PastKey[i], n.PresentKey[i]}, {n.PastValue[i], n.PresentValue[i]}} {
			in, out := ins[names[0]], outs[names[1]]
			if in == nil {
				return fmt.Errorf("graph has cache inputs up to layer %d but no input %q; %s", layers-1, names[0], layoutHint)
			}
			if out == nil {
				return fmt.Errorf("graph has input %q but no output %q; %s", names[0], names[1], layoutHint)
			}
			elem, dims := shapeOf(in)
			if _, ok := floatTypes[elem]; !ok {
				return fmt.Errorf("input %q is %s; pipe runs caches in float32, float16 or bfloat16", names[0], elem)
			}
			if outElem, _ := shapeOf(out); outElem != elem {
				return fmt.Errorf("input %q is %s but output %q is %s: past and present must share a type", names[0], elem, names[1], outElem)
			}
			if kvElem == 0 {
				kvElem = elem
			} else if elem != kvElem {
				return fmt.Errorf("input %q is %s but %q is %s: layers disagree on the cache type", names[0], elem, n.PastKey[0], kvElem)
			}
			if len(dims) != 4 {
				return fmt.Errorf("input %q has %d dims, want 4 [batch, kv_heads, past, head_dim]; %s", names[0], len(dims), layoutHint)
			}
			if c.KVHeads == -1 {
				c.KVHeads, c.HeadDim = int(dims[1]), int(dims[3])
			} else if int(dims[1]) != c.KVHeads || int(dims[3]) != c.HeadDim {
				return fmt.Errorf("input %q is [b, %d, past, %d] but %q is [b, %d, past, %d]: layers disagree on the cache shape",
					names[0], dims[1], dims[3], n.PastKey[0], c.KVHeads, c.HeadDim)
			}
		}
	}
	m.KVType = floatTypes[kvElem]
	lElem, dims := shapeOf(outs[n.Logits])
	if len(dims) != 3 {
		return fmt.Errorf("output %q has %d dims, want 3 [batch, seq, vocab]; %s", n.Logits, len(dims), layoutHint)
	}
	if m.LogitsType = floatTypes[lElem]; m.LogitsType == "" {
		return fmt.Errorf("output %q is %s; pipe reads logits in float32, float16 or bfloat16", n.Logits, lElem)
	}
	c.Vocab = int(dims[2])
	m.LogitsLastOnly = dims[1] == 1
	m.IO = n
	m.HasPositionIDs = n.PositionIDs != ""
	m.Merged = n.UseCacheBranch != ""
	m.Style = StyleOptimum
	if _, ok := h.opsets[msDomain]; ok {
		m.Style = StyleFused
	}
	return nil
}

// readConfig merges config.json (when present) with what the graph said.
// The graph wins on what it states; config.json must agree with it. Sizes
// neither gives come from genai_config.json (gc, nil outside that layout).
func (m *Model) readConfig(h *graphHeader, gc *genaiConfig) error {
	c := &m.Config
	hc, ok, err := readHFConfig(filepath.Join(m.Root, "config.json"))
	if err != nil {
		return err
	}
	fc := hc.cfg
	if !ok {
		fc = Config{BOS: -1, EOS: -1}
	}
	if gc != nil {
		if hc.present == nil {
			hc.present = map[string]bool{}
		}
		// What the graph leaves symbolic; applyGenAI checks the rest
		// against the graph.
		d := gc.Model.Decoder
		for _, f := range []struct {
			key   string
			dst   *int
			v     int
			graph int
		}{{"heads", &fc.Heads, d.Heads, -1}, {"kv_heads", &fc.KVHeads, d.KVHeads, c.KVHeads}, {"head_dim", &fc.HeadDim, d.HeadSize, c.HeadDim}, {"vocab", &fc.Vocab, gc.Model.VocabSize, c.Vocab}} {
			switch {
			case hc.present[f.key] || f.v <= 0:
			case f.graph > 0:
				*f.dst, hc.present[f.key] = f.graph, true // applyGenAI compares f.v with the graph
			default:
				*f.dst, hc.present[f.key] = f.v, true
			}
		}
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
			return fmt.Errorf("input %q has a symbolic kv_heads dim and no config.json gives num_key_value_heads or num_attention_heads: add config.json beside the model", m.IO.PastKey[0])
		}
		c.KVHeads = fc.KVHeads
	} else if fc.KVHeads > 0 && fc.KVHeads != graphKV {
		return fmt.Errorf("config.json says %d key/value heads but the graph's cache has %d", fc.KVHeads, graphKV)
	}
	if graphHD <= 0 {
		if fc.HeadDim <= 0 {
			return fmt.Errorf("input %q has a symbolic head_dim and config.json gives no head_dim (or hidden_size and num_attention_heads): add config.json beside the model", m.IO.PastKey[0])
		}
		c.HeadDim = fc.HeadDim
	} else if fc.HeadDim > 0 && fc.HeadDim != graphHD {
		return fmt.Errorf("config.json implies head_dim %d but the graph's cache has %d", fc.HeadDim, graphHD)
	}
	if c.Vocab <= 0 {
		if fc.Vocab <= 0 {
			return fmt.Errorf("output %q has a symbolic vocab dim and config.json gives no vocab_size: add config.json beside the model", m.IO.Logits)
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
