package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
)

// StyleGQA is the graph ONNX Runtime GenAI's model builder writes:
// attention as com.microsoft GroupQueryAttention, whose past and present
// caches may be one buffer of search.max_length positions per layer bound
// as both (the new positions are written in place: no copy of the past per
// step), rotary embeddings inside the op from cos/sin tables for the Llama
// family (GPT-2 keeps its learned positions, so its graph takes
// position_ids), and the LM head computed for each row's last position
// only (logits [b, 1, vocab]). The directory is in the GenAI layout:
// model.onnx and genai_config.json (search.past_present_share_buffer =
// true) beside config.json. GroupQueryAttention reads a batch right-padded:
// row r's valid tokens first, its length from attention_mask's sum.
const StyleGQA = "gqa"

// gqaMaxLength caps search.max_length, the shared cache's length, of a
// built GQA model: one buffer of that many positions per layer, key and
// value, is allocated whatever the prompt (llama-3.2-1b's 131072 positions
// would take 8.6 GB of float32 cache; 4096 take 268 MB).
const gqaMaxLength = 4096

// checkGQA refuses a config GroupQueryAttention cannot run.
func checkGQA(c Config) error {
	if c.HeadDim%16 != 0 {
		return fmt.Errorf("style %q: GroupQueryAttention needs head_dim a multiple of 16 (got %d); use style %q", StyleGQA, c.HeadDim, StyleOptimum)
	}
	return nil
}

// gqaLength is the shared cache's length for c.
func gqaLength(c Config) int { return min(c.MaxPositions, gqaMaxLength) }

// gqaIO declares the GenAI layout's inputs and outputs: position_ids only
// for learned positions, past caches of any length (a max-length buffer
// when shared), logits of the last position.
func (b *graphBuilder) gqaIO(positionIDs bool) {
	b.declareIO(positionIDs, 1, "present_sequence_length")
}

// gqaMask derives GroupQueryAttention's lengths from attention_mask, as
// GenAI's builder does: seqlens_k [b] = Σ mask − 1 and
// total_sequence_length = the mask's width, both int32.
func (b *graphBuilder) gqaMask() (seqlensK, total string) {
	sum := b.onnx("ReduceSum", "/mask/sum", []string{AttentionMask, b.constInt64("/mask/axes1", []int64{1}, 1)}, attrInt("keepdims", 0))
	seqlens := b.onnx("Sub", "/mask/seqlens_k64", []string{sum, b.constInt64("/mask/one", nil, 1)})
	seqlensK = b.onnx("Cast", "/mask/seqlens_k", []string{seqlens}, attrInt("to", int64(onnxpb.TensorProto_INT32)))
	width := b.onnx("Gather", "/mask/width", []string{b.onnx("Shape", "/mask/shape", []string{AttentionMask}), b.constInt64("/mask/index1", nil, 1)}, attrInt("axis", 0))
	total = b.onnx("Cast", "/mask/total_sequence_length", []string{width}, attrInt("to", int64(onnxpb.TensorProto_INT32)))
	return seqlensK, total
}

// gqaNode adds layer i's GroupQueryAttention over q [b, s, heads·hd] and k,
// v [b, s, kv_heads·hd] (or q packed, [b, s, (heads + 2·kv_heads)·hd], with
// k and v "": the op's packed-QKV form), with present.i.* as its cache outputs. rotary
// rotates q and k inside by the cos/sin tables; window > 0 limits each
// query to itself and the window − 1 keys before it.
func (b *graphBuilder) gqaNode(name string, i int, q, k, v, seqlensK, total string, rotary bool, cos, sin string, window int) string {
	c := b.cfg
	attrs := []*onnxpb.AttributeProto{attrInt("num_heads", int64(c.Heads)), attrInt("kv_num_heads", int64(c.KVHeads))}
	inputs := []string{q, k, v, PastKey(i), PastValue(i), seqlensK, total}
	if rotary {
		attrs = append(attrs, attrInt("do_rotary", 1))
		inputs = append(inputs, cos, sin)
	}
	if window > 0 {
		// ORT's CPU kernel lets a query see local_window_size keys, itself
		// included (window − 1 there fails TestGQALlamaMatchesReference's
		// sliding families by logits ≈ 5).
		attrs = append(attrs, attrInt("local_window_size", int64(window)))
	}
	outs := b.op(msDomain, "GroupQueryAttention", name, 3, inputs, attrs...)
	b.renameOutput(outs[1], PresentKey(i))
	b.renameOutput(outs[2], PresentValue(i))
	return outs[0]
}

// lastPositions picks each row's last valid position of h [b, s, hidden]
// into [b, 1, hidden]: index min(s − 1, Σ mask − 1), which is s − 1 in
// decode and the last real token of a right-padded prompt in prefill.
func (b *graphBuilder) lastPositions(h string) string {
	seq := b.onnx("Shape", "/last/seq", []string{InputIDs}, attrInt("start", 1), attrInt("end", 2))
	one := b.constInt64("/last/one", []int64{1}, 1)
	lastCol := b.onnx("Sub", "/last/seq_minus_one", []string{seq, one})
	sum := b.onnx("ReduceSum", "/last/mask_sum", []string{AttentionMask, one}, attrInt("keepdims", 1))
	lastReal := b.onnx("Sub", "/last/mask_sum_minus_one", []string{sum, one})
	idx := b.onnx("Min", "/last/index", []string{lastReal, lastCol}) // [b, 1]
	idx = b.onnx("Unsqueeze", "/last/index3", []string{idx, b.constInt64("/last/axis2", []int64{1}, 2)})
	idx = b.onnx("Expand", "/last/index_rows", []string{idx, b.constInt64("/last/expand", []int64{3}, 1, 1, int64(b.cfg.Hidden))})
	return b.onnx("GatherElements", "/last/gather", []string{h, idx}, attrInt("axis", 1))
}

// ropeCaches adds GroupQueryAttention's cos/sin tables [positions, hd/2]
// in the graph's float type (the op wants q's): cos and sin of position ·
// inv_freq, the angle rounded to float32 as the reference and transformers
// form it.
func (b *llamaGraph) ropeCaches(positions int) (cos, sin string) {
	inv := b.lc.InvFreq()
	half := len(inv)
	cv, sv := make([]float32, positions*half), make([]float32, positions*half)
	for p := range positions {
		for i, f := range inv {
			ang := float64(float32(p) * float32(f))
			cv[p*half+i], sv[p*half+i] = float32(math.Cos(ang)), float32(math.Sin(ang))
		}
	}
	dims := []int64{int64(positions), int64(half)}
	return b.floatInit("/rope/cos_cache", dims, cv), b.floatInit("/rope/sin_cache", dims, sv)
}

// buildGQA lays out the Llama-family decoder in StyleGQA: llamaGraph.build's
// projections, norms and MLP around GroupQueryAttention (rotary inside,
// q/k norms before it, each sliding layer's window as local_window_size).
func (b *llamaGraph) buildGQA() *onnxpb.GraphProto {
	c := b.lc
	b.gqaIO(false)
	b.normConsts()
	batchSeq, x := b.embedTokens()
	seqlens, total := b.gqaMask()
	cos, sin := b.ropeCaches(gqaLength(b.cfg))
	to3 := func(name, v string, width int) string { return b.rows3(name, v, batchSeq, width) }
	qw, kvw := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	for i := 0; i < c.Layers; i++ {
		p, n := llamaLayerPrefix(i), fmt.Sprintf("/layers.%d", i)
		qkv := b.qkvProj(i, x)
		// Packed QKV: query [b, s, (heads + 2·kv_heads)·hd], key and value
		// omitted, as GenAI's builder feeds the op; qwen3's q/k norms sit
		// between the projection and attention, so there the product is
		// split first (still one MatMul).
		q, k, v := to3(n+"/attn/qkv3", qkv, qw+2*kvw), "", ""
		if c.QKNorm {
			q, k, v = b.splitQKV(i, qkv)
			q = b.rmsNorm(n+"/attn/q_norm", b.toHeads(n+"/attn/q", q, batchSeq, c.Heads), p+"self_attn.q_norm.weight")
			k = b.rmsNorm(n+"/attn/k_norm", b.toHeads(n+"/attn/k", k, batchSeq, c.KVHeads), p+"self_attn.k_norm.weight")
			q, k, v = to3(n+"/attn/q3", q, qw), to3(n+"/attn/k3", k, kvw), to3(n+"/attn/v3", v, kvw)
		}
		window := 0
		if c.SlidingWindow > 0 && c.SlidingLayer[i] {
			window = c.SlidingWindow
		}
		ctx := b.gqaNode(n+"/attn/gqa", i, q, k, v, seqlens, total, true, cos, sin, window)
		ctx = b.onnx("Reshape", n+"/attn/merge", []string{ctx, b.constInt64(n+"/attn/merge_shape", []int64{2}, -1, int64(qw))})
		x = b.outAndMLP(i, x, ctx)
	}
	b.llamaHead(x, batchSeq, b.lastPositions)
	return b.g
}

// genaiFile is genai_config.json as GenAI's builder writes it, with the
// keys pipe's reader (genai.go) and GenAI's runtime need.
type genaiFile struct {
	Model struct {
		BOS           *int64 `json:"bos_token_id,omitempty"`
		EOS           *int64 `json:"eos_token_id,omitempty"`
		Pad           *int64 `json:"pad_token_id,omitempty"`
		ContextLength int    `json:"context_length"`
		Decoder       struct {
			SessionOptions struct {
				LogID           string `json:"log_id"`
				ProviderOptions []any  `json:"provider_options"`
			} `json:"session_options"`
			Filename string            `json:"filename"`
			HeadSize int               `json:"head_size"`
			Hidden   int               `json:"hidden_size"`
			Inputs   map[string]string `json:"inputs"`
			Outputs  map[string]string `json:"outputs"`
			Heads    int               `json:"num_attention_heads"`
			Layers   int               `json:"num_hidden_layers"`
			KVHeads  int               `json:"num_key_value_heads"`
		} `json:"decoder"`
		Type      string `json:"type"`
		VocabSize int    `json:"vocab_size"`
	} `json:"model"`
	Search struct {
		DoSample    bool `json:"do_sample"`
		MaxLength   int  `json:"max_length"`
		MinLength   int  `json:"min_length"`
		NumBeams    int  `json:"num_beams"`
		ShareBuffer bool `json:"past_present_share_buffer"`
	} `json:"search"`
}

// writeGenAIConfig writes dir/genai_config.json for a StyleGQA model of c
// (model_type modelType; position_ids among the inputs when positionIDs).
func writeGenAIConfig(dir string, c Config, modelType string, positionIDs bool) error {
	var g genaiFile
	id := func(v int64) *int64 {
		if v < 0 {
			return nil
		}
		return &v
	}
	m := &g.Model
	m.BOS, m.EOS, m.Pad = id(c.BOS), id(c.EOS), id(c.EOS)
	m.ContextLength, m.Type, m.VocabSize = c.MaxPositions, modelType, c.Vocab
	d := &m.Decoder
	d.SessionOptions.LogID, d.SessionOptions.ProviderOptions = "onnxruntime-genai", []any{}
	d.Filename, d.HeadSize, d.Hidden, d.Heads, d.Layers, d.KVHeads = "model.onnx", c.HeadDim, c.Hidden, c.Heads, c.Layers, c.KVHeads
	d.Inputs = map[string]string{
		"input_ids": InputIDs, "attention_mask": AttentionMask,
		"past_key_names": pastKeyTemplate, "past_value_names": pastValueTemplate,
	}
	if positionIDs {
		d.Inputs["position_ids"] = PositionIDs
	}
	d.Outputs = map[string]string{"logits": Logits, "present_key_names": presentKeyTemplate, "present_value_names": presentValueTemplate}
	g.Search.MaxLength, g.Search.NumBeams, g.Search.ShareBuffer = gqaLength(c), 1, true
	js, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, GenAIConfigFile), append(js, '\n'), 0o644)
}
