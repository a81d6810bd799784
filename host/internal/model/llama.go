package model

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// llamaWeightSpecs lists the tensors of c under their Hugging Face names
// and shapes (LlamaForCausalLM's state dict: linear weights [out, in]), in
// file order. Norm scales start at 1; everything else is random.
func llamaWeightSpecs(c LlamaConfig) []weightSpec {
	h, q, kv, in := int64(c.Hidden), int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim), int64(c.Intermediate)
	hd := int64(c.HeadDim)
	specs := []weightSpec{{"model.embed_tokens.weight", []int64{int64(c.Vocab), h}, initRandom}}
	for i := 0; i < c.Layers; i++ {
		p := llamaLayerPrefix(i)
		add := func(name string, init weightInit, dims ...int64) {
			specs = append(specs, weightSpec{p + name, dims, init})
		}
		add("input_layernorm.weight", initOnes, h)
		if c.Fused {
			add("self_attn.qkv_proj.weight", initRandom, q+2*kv, h)
		} else {
			add("self_attn.q_proj.weight", initRandom, q, h)
			add("self_attn.k_proj.weight", initRandom, kv, h)
			add("self_attn.v_proj.weight", initRandom, kv, h)
		}
		if c.QKVBias {
			add("self_attn.q_proj.bias", initRandom, q)
			add("self_attn.k_proj.bias", initRandom, kv)
			add("self_attn.v_proj.bias", initRandom, kv)
		}
		if c.QKNorm {
			add("self_attn.q_norm.weight", initOnes, hd)
			add("self_attn.k_norm.weight", initOnes, hd)
		}
		add("self_attn.o_proj.weight", initRandom, h, q)
		if c.OBias {
			add("self_attn.o_proj.bias", initRandom, h)
		}
		add("post_attention_layernorm.weight", initOnes, h)
		if c.Fused {
			add("mlp.gate_up_proj.weight", initRandom, 2*in, h)
		} else {
			add("mlp.gate_proj.weight", initRandom, in, h)
			add("mlp.up_proj.weight", initRandom, in, h)
		}
		add("mlp.down_proj.weight", initRandom, h, in)
		if c.MLPBias {
			add("mlp.gate_proj.bias", initRandom, in)
			add("mlp.up_proj.bias", initRandom, in)
			add("mlp.down_proj.bias", initRandom, h)
		}
	}
	specs = append(specs, weightSpec{"model.norm.weight", []int64{h}, initOnes})
	if !c.TiedHead {
		specs = append(specs, weightSpec{"lm_head.weight", []int64{int64(c.Vocab), h}, initRandom})
	}
	return specs
}

func llamaLayerPrefix(i int) string { return fmt.Sprintf("model.layers.%d.", i) }

// Packed projections: the graph multiplies each layer's normed input once
// for q·k·v and once for gate·up (GenAI's model builder packs them the
// same way), so a decode step runs 4 MatMul(NBits) per layer, not 7 (o_proj
// and down_proj take other inputs), and ONNX Runtime quantises the
// activations (accuracy_level 4) 4 times. The
// packed matrix stacks the parts' rows, q then k then v (gate then up), as
// phi3's checkpoints store qkv_proj and gate_up_proj; biases likewise.
// Quantisation is per row along the input axis, so a packed matrix
// quantises to its parts' blocks stacked.
var llamaPacks = []struct {
	packed string
	parts  []string
}{
	{"self_attn.qkv_proj.weight", []string{"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"}},
	{"self_attn.qkv_proj.bias", []string{"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"}},
	{"mlp.gate_up_proj.weight", []string{"mlp.gate_proj.weight", "mlp.up_proj.weight"}},
	{"mlp.gate_up_proj.bias", []string{"mlp.gate_proj.bias", "mlp.up_proj.bias"}},
}

// llamaGraphSpecs lists the tensors the built graph holds, in file order:
// llamaWeightSpecs with the parts of each of llamaPacks stacked into one
// tensor where the first part was (a fused checkpoint's already are), and,
// by packed name, the checkpoint tensors it is made of.
func llamaGraphSpecs(c LlamaConfig) ([]weightSpec, map[string][]weightSpec) {
	packOf := map[string]string{} // part suffix → packed suffix
	for _, p := range llamaPacks {
		for _, part := range p.parts {
			packOf[part] = p.packed
		}
	}
	var specs []weightSpec
	parts := map[string][]weightSpec{}
	at := map[string]int{} // packed name → index in specs
	for _, ws := range llamaWeightSpecs(c) {
		prefix, suffix, ok := splitLayerName(ws.name)
		packed, packs := packOf[suffix]
		if !ok || !packs {
			specs = append(specs, ws)
			continue
		}
		name := prefix + packed
		i, seen := at[name]
		if !seen {
			at[name] = len(specs)
			specs = append(specs, weightSpec{name, append([]int64(nil), ws.dims...), ws.init})
		} else {
			specs[i].dims[0] += ws.dims[0]
		}
		parts[name] = append(parts[name], ws)
	}
	return specs, parts
}

// splitLayerName splits a layer tensor's name into its layer prefix
// ("model.layers.3.") and the rest.
func splitLayerName(name string) (prefix, suffix string, ok bool) {
	rest, found := strings.CutPrefix(name, "model.layers.")
	if !found {
		return "", "", false
	}
	i := strings.IndexByte(rest, '.')
	if i < 0 {
		return "", "", false
	}
	return name[:len("model.layers.")+i+1], rest[i+1:], true
}

// packedFill fills each packed tensor of parts from its parts in order
// (rows stacked: the parts' [out, in] buffers are consecutive), any other
// tensor from fill itself; a checkpoint's fill reads the parts by their
// own names, the seeded one draws them as it would unpacked.
func packedFill(fill weightFill, parts map[string][]weightSpec) weightFill {
	return func(ws weightSpec, dst []float32) error {
		ps, ok := parts[ws.name]
		if !ok {
			return fill(ws, dst)
		}
		off := 0
		for _, p := range ps {
			n := p.elems()
			if err := fill(p, dst[off:off+n]); err != nil {
				return err
			}
			off += n
		}
		return nil
	}
}

// lmHeadName is the tensor the LM head multiplies by.
func (c LlamaConfig) lmHeadName() string {
	if c.TiedHead {
		return "model.embed_tokens.weight"
	}
	return "lm_head.weight"
}

// llamaParams counts the weights of c.
func llamaParams(c LlamaConfig) int64 {
	var n int64
	for _, s := range llamaWeightSpecs(c) {
		n += int64(s.elems())
	}
	return n
}

// llamaGraphVersion is part of every Llama-family cache key; bump it
// whenever the graph buildLlama lays out changes (BuilderVersion covers the
// shared writer and weight generator).
const llamaGraphVersion = 5 // 5: a partial last block's padding sliced off the quantised embedding

// maxInlineBytes is the largest weight total written inside model.onnx;
// above it the weights go to model.onnx.data (protobuf messages stop at
// 2 GiB).
const maxInlineBytes = 1800 << 20

// externalDataName is the external data file beside model.onnx.
const externalDataName = "model.onnx.data"

// buildLlama writes the ONNX decoder for c with weights from fill to w (and
// to data, external, when the weights pass maxInlineBytes; data may be nil
// only for models under it). The graph is the optimum layout of the package
// doc in plain ONNX ops: the hidden state flattened to [batch·seq, hidden]
// so every projection is one Gemm against an [out, in] matrix (transB), no
// transposed copy, q·k·v and gate·up packed (llamaPacks) and split after; RMSNorm spelled out as
// Pow/ReduceMean/Add/Sqrt/Div/Mul (ONNX Runtime fuses it); rotary
// embeddings from position_ids and the config's inverse frequencies
// (rotate-half, as transformers); grouped-query attention by MatMul
// broadcasting over the group axis (the cache is never copied per query
// head); the KV cache grown with Concat; the LM head at the last position
// (at every one with allLogits; head.go).
func buildLlama(w, data io.Writer, c LlamaConfig, fill weightFill, q Quant, style string, allLogits bool) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := llamaStyleErr(c, style, allLogits); err != nil {
		return err
	}
	outs := llamaOuts(c, fill, q)
	var ext *externalData
	if bytes := outsBytes(outs); bytes > maxInlineBytes {
		if data == nil {
			return fmt.Errorf("%d weights (%.1f GB) need external data, and no file for it was given", llamaParams(c), float64(bytes)/1e9)
		}
		ext = &externalData{w: data, location: externalDataName}
	}
	g := newLlamaGraph(c, q)
	g.allLogits = allLogits
	if style == StyleGQA {
		return writeModel(w, ext, g.buildGQA(), outs, true)
	}
	return writeModel(w, ext, g.build(), outs, q.quantized())
}

// llamaOuts plans the initializers of c's graph (llamaGraphSpecs, packed)
// from fill, which is asked for the checkpoint's tensors, stored as q.
func llamaOuts(c LlamaConfig, fill weightFill, q Quant) []tensorOut {
	specs, parts := llamaGraphSpecs(c)
	return tensorOuts(specs, packedFill(fill, parts), q, llamaRole)
}

// llamaRole says how a Llama-family weight is stored when quantising: every
// matrix (projections, embedding, LM head; all [out, in]) as MatMulNBits
// blocks, norms and biases float.
func llamaRole(ws weightSpec) weightRole {
	if len(ws.dims) == 2 {
		return roleLinear
	}
	return roleFloat
}

// outsBytes is the total raw size of outs.
func outsBytes(outs []tensorOut) int64 {
	var n int64
	for _, o := range outs {
		n += o.size
	}
	return n
}

type llamaGraph struct {
	*graphBuilder
	lc   LlamaConfig
	dims map[string][]int64 // weight shapes by name
}

func newLlamaGraph(c LlamaConfig, q Quant) *llamaGraph {
	b := newGraphBuilder(c.Shape())
	b.g.Name = proto.String(c.ModelType)
	b.quant = q
	dims := map[string][]int64{}
	specs, _ := llamaGraphSpecs(c)
	for _, ws := range specs {
		dims[ws.name] = ws.dims
	}
	return &llamaGraph{graphBuilder: b, lc: c, dims: dims}
}

// gemm is y = x·Wᵀ (+ bias) for x [n, in] and W [out, in]: one Gemm, or
// MatMulNBits (and an Add for the bias) when the weights are quantised.
func (b *llamaGraph) gemm(name, x, weight string, bias bool) string {
	if b.quant.quantized() {
		d := b.dims[weight+".weight"]
		y := b.matmulNBits(name, x, weight+".weight", int(d[0]), int(d[1]))
		if bias {
			y = b.onnx("Add", name+"/bias", []string{y, weight + ".bias"})
		}
		return y
	}
	in := []string{x, weight + ".weight"}
	if bias {
		in = append(in, weight+".bias")
	}
	return b.onnx("Gemm", name, in, attrInt("transB", 1))
}

// rmsNorm is x / √(mean(x²) + eps) · weight over the last axis. In an
// fp16 build it is ONNX Runtime's SimplifiedLayerNormalization, which
// accumulates in float32 (stash_type 1): spelled out in float16, x² passes
// 65504 once |x| > 256, and real checkpoints' hidden states get there.
func (b *llamaGraph) rmsNorm(name, x, weight string) string {
	if b.quant.Float16 {
		return b.onnx("SimplifiedLayerNormalization", name, []string{x, weight},
			attrInt("axis", -1), attrFloat("epsilon", float32(b.lc.RMSNormEps)), attrInt("stash_type", 1))
	}
	sq := b.onnx("Pow", name+"/pow", []string{x, "/const/two"})
	ms := b.onnx("ReduceMean", name+"/mean", []string{sq}, attrInts("axes", -1), attrInt("keepdims", 1))
	rms := b.onnx("Sqrt", name+"/sqrt", []string{b.onnx("Add", name+"/add_eps", []string{ms, "/const/eps"})})
	return b.onnx("Mul", name+"/scale", []string{b.onnx("Div", name+"/div", []string{x, rms}), weight})
}

// rope rotates x [b, n, s, hd] by the position angles: x·cos + rotate_half(x)·sin
// with rotate_half(x) = [−x₂, x₁] for the halves x₁, x₂.
func (b *llamaGraph) rope(name, x, cos, sin string) string {
	half := int64(b.lc.HeadDim / 2)
	parts := b.op("", "Split", name+"/split", 2, []string{x, b.constInt64(name+"/halves", []int64{2}, half, half)}, attrInt("axis", -1))
	rot := b.onnx("Concat", name+"/rotate_half", []string{b.onnx("Neg", name+"/neg", []string{parts[1]}), parts[0]}, attrInt("axis", -1))
	return b.onnx("Add", name+"/add", []string{
		b.onnx("Mul", name+"/cos", []string{x, cos}),
		b.onnx("Mul", name+"/sin", []string{rot, sin}),
	})
}

// normConsts adds the constants rmsNorm spells RMSNorm out with (none in
// an fp16 build, whose norm is one op).
func (b *llamaGraph) normConsts() {
	if b.quant.Float16 {
		return
	}
	b.constFloat("/const/two", 2)
	b.constFloat("/const/eps", float32(b.lc.RMSNormEps))
}

// floatTensor adds a float32 initializer of the given values.
func (b *llamaGraph) floatTensor(name string, dims []int64, v []float32) string {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: float32Bytes(v),
	})
	return name
}

// toHeads reshapes x [b·s, n·hd] to [b, s, n, hd].
func (b *llamaGraph) toHeads(name, x, batchSeq string, n int) string {
	shape := b.onnx("Concat", name+"/shape", []string{batchSeq, b.constInt64(name+"/heads", []int64{2}, int64(n), int64(b.lc.HeadDim))}, attrInt("axis", 0))
	return b.onnx("Reshape", name+"/reshape", []string{x, shape})
}

func (b *llamaGraph) build() *onnxpb.GraphProto {
	c := b.lc
	b.io()
	b.normConsts()
	batchSeq, x := b.embedTokens()

	// Masks: causal + padding for full layers, and the window for sliding
	// ones (key j visible to query i when i − j < window, in cache slots).
	allowed := b.causalMask()
	windowed := ""
	if c.SlidingWindow > 0 {
		// causalMask's own key positions and query column (by name).
		dist := b.onnx("Sub", "/mask/distance", []string{"/mask/query_col", "/mask/key_pos"})
		in := b.onnx("Less", "/mask/in_window", []string{dist, b.constInt64("/mask/window", nil, int64(c.SlidingWindow))})
		windowed = b.onnx("And", "/mask/allowed_windowed", []string{allowed, in})
	}
	// The masks with a group axis: [b, 1, 1, s, total].
	axis2 := b.constInt64("/attn/axis2", []int64{1}, 2)
	allowed5 := b.onnx("Unsqueeze", "/mask/allowed_groups", []string{allowed, axis2})
	windowed5 := ""
	if windowed != "" {
		windowed5 = b.onnx("Unsqueeze", "/mask/allowed_windowed_groups", []string{windowed, axis2})
	}
	group := int64(c.Heads / c.KVHeads)
	groupShape := b.constInt64("/attn/group_shape", []int64{5}, 0, int64(c.KVHeads), group, -1, int64(c.HeadDim))
	headsShape := b.constInt64("/attn/heads_shape", []int64{4}, 0, int64(c.Heads), -1, int64(c.HeadDim))
	lowest := b.constFloat("/mask/lowest", -math.MaxFloat32)
	scale := b.constFloat("/attn/scale", float32(1/math.Sqrt(float64(c.HeadDim))))

	// Rotary angles [b, 1, s, hd]: position · inv_freq, the halves repeated.
	inv := c.InvFreq()
	inv32 := make([]float32, len(inv))
	for i, f := range inv {
		inv32[i] = float32(f)
	}
	invFreq := b.floatTensor("/rope/inv_freq", []int64{int64(len(inv32))}, inv32)
	pos := b.onnx("Cast", "/rope/positions", []string{PositionIDs}, attrInt("to", int64(onnxpb.TensorProto_FLOAT)))
	pos = b.onnx("Unsqueeze", "/rope/positions3", []string{pos, b.constInt64("/rope/axis2", []int64{1}, 2)})
	freqs := b.onnx("Mul", "/rope/freqs", []string{pos, invFreq})
	angles := b.onnx("Concat", "/rope/angles", []string{freqs, freqs}, attrInt("axis", -1))
	angles = b.onnx("Unsqueeze", "/rope/angles4", []string{angles, b.constInt64("/rope/axis1", []int64{1}, 1)})
	cos := b.onnx("Cos", "/rope/cos", []string{angles})
	sin := b.onnx("Sin", "/rope/sin", []string{angles})
	if b.quant.Float16 { // angles in float32 (a float16 position is exact only to 2048), rotated in float16
		to16 := attrInt("to", int64(onnxpb.TensorProto_FLOAT16))
		cos = b.onnx("Cast", "/rope/cos16", []string{cos}, to16)
		sin = b.onnx("Cast", "/rope/sin16", []string{sin}, to16)
	}

	qw := int64(c.Heads * c.HeadDim)
	for i := 0; i < c.Layers; i++ {
		p, n := llamaLayerPrefix(i), fmt.Sprintf("/layers.%d", i)
		q, k, v := b.splitQKV(i, b.qkvProj(i, x))
		q = b.toHeads(n+"/attn/q", q, batchSeq, c.Heads)
		k = b.toHeads(n+"/attn/k", k, batchSeq, c.KVHeads)
		v = b.toHeads(n+"/attn/v", v, batchSeq, c.KVHeads)
		if c.QKNorm {
			q = b.rmsNorm(n+"/attn/q_norm", q, p+"self_attn.q_norm.weight")
			k = b.rmsNorm(n+"/attn/k_norm", k, p+"self_attn.k_norm.weight")
		}
		perm := attrInts("perm", 0, 2, 1, 3)
		q = b.rope(n+"/attn/q_rope", b.onnx("Transpose", n+"/attn/q/transpose", []string{q}, perm), cos, sin)
		k = b.rope(n+"/attn/k_rope", b.onnx("Transpose", n+"/attn/k/transpose", []string{k}, perm), cos, sin)
		v = b.onnx("Transpose", n+"/attn/v/transpose", []string{v}, perm)
		presentK := b.op("", "Concat", PresentKey(i), 1, []string{PastKey(i), k}, attrInt("axis", 2))[0]
		presentV := b.op("", "Concat", PresentValue(i), 1, []string{PastValue(i), v}, attrInt("axis", 2))[0]
		// Grouped-query attention without copying the cache per query head:
		// q [b, kv, group, s, hd] against k and v [b, kv, 1, t, hd], the
		// group axis broadcast by MatMul (query head h reads kv head
		// h / group, so the split of h is kv-major).
		q = b.onnx("Reshape", n+"/attn/q_groups", []string{q, groupShape})
		kT := b.onnx("Transpose", n+"/attn/k_t", []string{presentK}, attrInts("perm", 0, 1, 3, 2))
		kT = b.onnx("Unsqueeze", n+"/attn/k_groups", []string{kT, axis2})
		scores := b.onnx("MatMul", n+"/attn/qk", []string{q, kT})
		scores = b.onnx("Mul", n+"/attn/scale", []string{scores, scale})
		mask := allowed5
		if c.SlidingWindow > 0 && c.SlidingLayer[i] {
			mask = windowed5
		}
		scores = b.onnx("Where", n+"/attn/mask", []string{mask, scores, lowest})
		probs := b.onnx("Softmax", n+"/attn/softmax", []string{scores}, attrInt("axis", -1))
		ctx := b.onnx("MatMul", n+"/attn/pv", []string{probs, b.onnx("Unsqueeze", n+"/attn/v_groups", []string{presentV, axis2})})
		ctx = b.onnx("Reshape", n+"/attn/merge/heads", []string{ctx, headsShape})
		ctx = b.onnx("Transpose", n+"/attn/merge/transpose", []string{ctx}, perm)
		ctx = b.onnx("Reshape", n+"/attn/merge/reshape", []string{ctx, b.constInt64(n+"/attn/merge/shape", []int64{2}, -1, qw)})
		x = b.outAndMLP(i, x, ctx)
	}
	if b.allLogits {
		b.llamaHead(x, batchSeq, nil)
	} else {
		b.llamaHead(x, batchSeq, b.lastColumn)
	}
	return b.g
}

// embedTokens returns the shape [b, s] of input_ids and the token
// embeddings flattened to [b·s, hidden].
func (b *llamaGraph) embedTokens() (batchSeq, x string) {
	c := b.lc
	batchSeq = b.onnx("Shape", "/batch_seq", []string{InputIDs})
	emb := b.embedLookup("/embed_tokens", InputIDs, "model.embed_tokens.weight", c.Vocab, c.Hidden)
	return batchSeq, b.onnx("Reshape", "/embed/flatten", []string{emb, b.constInt64("/embed/flat_shape", []int64{2}, -1, int64(c.Hidden))})
}

// qkvProj is layer i's input RMSNorm and packed q·k·v projection of x
// [b·s, hidden]: one product, [b·s, (heads + 2·kv_heads)·head_dim], q's
// columns first, then k's, then v's.
func (b *llamaGraph) qkvProj(i int, x string) string {
	c := b.lc
	p, n := llamaLayerPrefix(i), fmt.Sprintf("/layers.%d", i)
	h := b.rmsNorm(n+"/input_layernorm", x, p+"input_layernorm.weight")
	return b.gemm(n+"/attn/qkv_proj", h, p+"self_attn.qkv_proj", c.QKVBias)
}

// splitQKV splits layer i's packed projection into q [b·s, heads·hd] and
// k, v [b·s, kv_heads·hd].
func (b *llamaGraph) splitQKV(i int, qkv string) (q, k, v string) {
	c := b.lc
	n := fmt.Sprintf("/layers.%d", i)
	qw, kvw := int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim)
	outs := b.op("", "Split", n+"/attn/qkv_split", 3, []string{qkv, b.constInt64(n+"/attn/qkv_sizes", []int64{3}, qw, kvw, kvw)}, attrInt("axis", 1))
	return outs[0], outs[1], outs[2]
}

// outAndMLP is the rest of layer i after attention: x + o_proj(ctx), then
// the SwiGLU MLP block with its residual; ctx and x are [b·s, ·].
func (b *llamaGraph) outAndMLP(i int, x, ctx string) string {
	c := b.lc
	p, n := llamaLayerPrefix(i), fmt.Sprintf("/layers.%d", i)
	attn := b.gemm(n+"/attn/o_proj", ctx, p+"self_attn.o_proj", c.OBias)
	x = b.onnx("Add", n+"/attn/residual", []string{x, attn})
	h := b.rmsNorm(n+"/post_attention_layernorm", x, p+"post_attention_layernorm.weight")
	// gate·up packed: one product, then Split.
	outs := b.op("", "Split", n+"/mlp/gate_up_split", 2, []string{
		b.gemm(n+"/mlp/gate_up_proj", h, p+"mlp.gate_up_proj", c.MLPBias),
		b.constInt64(n+"/mlp/gate_up_sizes", []int64{2}, int64(c.Intermediate), int64(c.Intermediate)),
	}, attrInt("axis", 1))
	gate, up := outs[0], outs[1]
	act := b.onnx("Mul", n+"/mlp/silu", []string{gate, b.onnx("Sigmoid", n+"/mlp/sigmoid", []string{gate})})
	down := b.gemm(n+"/mlp/down_proj", b.onnx("Mul", n+"/mlp/gated", []string{act, up}), p+"mlp.down_proj", c.MLPBias)
	return b.onnx("Add", n+"/mlp/residual", []string{x, down})
}
