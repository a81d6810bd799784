package model

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Graph styles.
const (
	// StyleOptimum is the graph torch.onnx.export and optimum produce: plain
	// ONNX ops (MatMul, Softmax, LayerNormalization, a tanh GELU spelled out),
	// the KV cache grown with Concat. Any ONNX runtime runs it. As pipe builds
	// it, the LM head runs on the last position only (head.go).
	StyleOptimum = "optimum"
	// StyleFused is the graph ONNX Runtime's transformer optimizer leaves:
	// com.microsoft MultiHeadAttention (with past_key/past_value),
	// SkipLayerNormalization and FastGelu, biases folded into them. Same
	// inputs and outputs as StyleOptimum; ONNX Runtime only.
	StyleFused = "fused"
)

// Styles lists the graph styles Builtin accepts.
var Styles = []string{StyleOptimum, StyleFused, StyleGQA}

// BuilderVersion is part of every cache key; bump it whenever the graph or
// the weights a given (config, seed, style) produces change.
const BuilderVersion = 3

const (
	opsetONNX      = 17 // LayerNormalization
	opsetMicrosoft = 1
	irVersion      = 8
	msDomain       = "com.microsoft"
)

// BuildOptions are the choices that shape a built model besides its
// config and weights; the cache key covers all of them.
type BuildOptions struct {
	Seed  uint64
	Style string // graph style; "" = DefaultStyle
	// Precision of the weights: PrecisionFP32 ("" too), PrecisionInt8 or
	// PrecisionInt4 (MatMulNBits; see Quant).
	Precision string
	// BlockSize is the int8/int4 quantisation block (0 = DefaultBlockSize).
	BlockSize int
	// allLogits builds the LM head at every position, as optimum exports
	// it, instead of the last one (head.go): for tests that check every
	// prompt position. Not for StyleGQA.
	allLogits bool
}

// quant is the Quant o asks for.
func (o BuildOptions) quant() (Quant, error) {
	return QuantFor(o.Precision, o.BlockSize)
}

// precisionTag names o's precision in a cache entry ("" for fp32; fp16
// has no block).
func (o BuildOptions) precisionTag() string {
	switch o.Precision {
	case "", PrecisionFP32:
		return ""
	case PrecisionFP16:
		return "-" + PrecisionFP16
	}
	q, _ := o.quant()
	return fmt.Sprintf("-%sb%d", o.Precision, q.BlockSize)
}

// Build writes the float32 ONNX model for cfg, seed and style to w: the
// GPT-2 architecture in the optimum decoder-with-past layout (see the
// package doc). BuildWith takes every option.
func Build(w io.Writer, cfg Config, seed uint64, style string) error {
	return BuildWith(w, cfg, BuildOptions{Seed: seed, Style: style})
}

// BuildWith writes the ONNX model for cfg and o to w. Weights are generated
// (and quantised) and written one tensor at a time, so memory stays at one
// tensor however large the model.
func BuildWith(w io.Writer, cfg Config, o BuildOptions) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.MaxPositions == 0 {
		return fmt.Errorf("config: max_positions = 0: the builder needs the position table size")
	}
	q, err := o.quant()
	if err != nil {
		return err
	}
	return buildGPT2(w, cfg, o, q)
}

// buildGPT2 is BuildWith for a checked cfg, with the weights stored as q.
func buildGPT2(w io.Writer, cfg Config, o BuildOptions, q Quant) error {
	return buildGPT2From(w, cfg, o, q, seededWeights(o.Seed))
}

// buildGPT2From is buildGPT2 with the weights from fill.
func buildGPT2From(w io.Writer, cfg Config, o BuildOptions, q Quant, fill weightFill) error {
	b := newGraphBuilder(cfg)
	b.quant, b.allLogits = q, o.allLogits
	if err := gpt2StyleErr(cfg, o.Style, o.allLogits); err != nil {
		return err
	}
	var g *onnxpb.GraphProto
	switch o.Style {
	case StyleOptimum:
		g = b.optimum()
	case StyleFused:
		g = b.fused(false)
	default: // StyleGQA
		g = b.fused(true)
	}
	outs := tensorOuts(weightSpecs(cfg), fill, q, gpt2Role)
	return writeModel(w, nil, g, outs, o.Style != StyleOptimum || q.quantized())
}

// gpt2Role says how a GPT-2 weight is stored when quantising: the Conv1D
// matrices [in, out] transposed into MatMulNBits' [out, in], the tied
// token embedding [vocab, hidden] (already [out, in] for the LM head) as
// it is; position embeddings, norms and biases stay float.
func gpt2Role(ws weightSpec) weightRole {
	switch {
	case ws.name == "transformer.wte.weight":
		return roleLinear
	case len(ws.dims) == 2 && ws.name != "transformer.wpe.weight":
		return roleLinearInOut
	}
	return roleFloat
}

func unknownStyle(style string) error {
	return fmt.Errorf("unknown graph style %q: use %q, %q or %q", style, StyleOptimum, StyleFused, StyleGQA)
}

// weightFill writes the float32 values of ws into dst (len(dst) =
// ws.elems()): the seam between the graph writer and where weights come
// from (seeded random, a checkpoint, later a quantiser wrapping either).
type weightFill func(ws weightSpec, dst []float32) error

// seededWeights fills every tensor from the seeded generator.
func seededWeights(seed uint64) weightFill {
	return func(ws weightSpec, dst []float32) error { ws.fill(seed, dst); return nil }
}

// externalData receives the weight bytes instead of the ONNX file when a
// model would pass protobuf's 2 GB limit: each initializer then names
// location, offset and length in it (ONNX external data).
type externalData struct {
	w        io.Writer
	location string // file name beside model.onnx
}

// externalAlign aligns each tensor in the external file so ONNX Runtime can
// map it.
const externalAlign = 4096

// writeModel streams a ModelProto whose graph is g plus the weight
// initializers, filled on the fly one at a time. Protobuf lets repeated fields
// of a message arrive in several runs, so the weights are appended after the
// marshalled graph body with a precomputed total length. With ext the
// weight bytes go to ext.w and the initializers point there.
func writeModel(w io.Writer, ext *externalData, g *onnxpb.GraphProto, weights []tensorOut, contribOps bool) error {
	m := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(irVersion),
		ProducerName:    proto.String("pipe"),
		ProducerVersion: proto.String(fmt.Sprint(BuilderVersion)),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opsetONNX)}},
	}
	if contribOps {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(msDomain), Version: proto.Int64(opsetMicrosoft)})
	}
	head, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	body, err := proto.Marshal(g)
	if err != nil {
		return err
	}
	headers := make([][]byte, len(weights))
	offsets := make([]int64, len(weights))
	graphLen := len(body)
	var offset int64
	for i, ws := range weights {
		t := &onnxpb.TensorProto{
			Name:     proto.String(ws.name),
			Dims:     ws.dims,
			DataType: proto.Int32(int32(ws.dtype)),
		}
		if ext != nil {
			offset = (offset + externalAlign - 1) / externalAlign * externalAlign
			offsets[i] = offset
			t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			t.ExternalData = []*onnxpb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String(ext.location)},
				{Key: proto.String("offset"), Value: proto.String(fmt.Sprint(offset))},
				{Key: proto.String("length"), Value: proto.String(fmt.Sprint(ws.size))},
			}
			offset += ws.size
		}
		if headers[i], err = proto.Marshal(t); err != nil {
			return err
		}
		n := tensorLen(headers[i], ws, ext != nil)
		graphLen += protowire.SizeTag(5) + protowire.SizeBytes(n)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	out := append(head, protowire.AppendTag(nil, 7, protowire.BytesType)...)
	out = protowire.AppendVarint(out, uint64(graphLen))
	out = append(out, body...)
	if _, err := bw.Write(out); err != nil {
		return err
	}
	var dw *bufio.Writer
	var written int64
	if ext != nil {
		dw = bufio.NewWriterSize(ext.w, 1<<20)
	}
	for i, ws := range weights {
		raw, err := ws.data()
		if err != nil {
			return err
		}
		if int64(len(raw)) != ws.size {
			return fmt.Errorf("builder: tensor %s has %d bytes, planned %d", ws.name, len(raw), ws.size)
		}
		rec := protowire.AppendTag(nil, 5, protowire.BytesType)
		rec = protowire.AppendVarint(rec, uint64(tensorLen(headers[i], ws, ext != nil)))
		rec = append(rec, headers[i]...)
		if ext != nil {
			if _, err := bw.Write(rec); err != nil {
				return err
			}
			if _, err := dw.Write(make([]byte, offsets[i]-written)); err != nil {
				return err
			}
			if _, err := dw.Write(raw); err != nil {
				return err
			}
			written = offsets[i] + int64(len(raw))
			continue
		}
		rec = protowire.AppendTag(rec, 9, protowire.BytesType)
		rec = protowire.AppendVarint(rec, uint64(len(raw)))
		if _, err := bw.Write(rec); err != nil {
			return err
		}
		if _, err := bw.Write(raw); err != nil {
			return err
		}
	}
	if dw != nil {
		if err := dw.Flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// tensorLen is the encoded size of a TensorProto: header plus raw_data
// (header alone when the data is external).
func tensorLen(header []byte, ws tensorOut, external bool) int {
	if external {
		return len(header)
	}
	return len(header) + protowire.SizeTag(9) + protowire.SizeBytes(int(ws.size))
}

// float32Bytes views v as little-endian bytes (copying on big-endian hosts).
func float32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	if isLittleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	}
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

var isLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// graphBuilder accumulates nodes; every value is named after the node that
// makes it, so a graph viewer shows the architecture.
type graphBuilder struct {
	cfg       Config
	quant     Quant // linear weights as MatMulNBits when quantized
	allLogits bool  // the LM head at every position, not the last (head.go)
	g         *onnxpb.GraphProto
}

func newGraphBuilder(cfg Config) *graphBuilder {
	return &graphBuilder{cfg: cfg, g: &onnxpb.GraphProto{Name: proto.String("gpt2")}}
}

// op adds a node named name with outputs name (single) or name:0, name:1 ….
func (b *graphBuilder) op(domain, opType, name string, nOut int, inputs []string, attrs ...*onnxpb.AttributeProto) []string {
	outs := make([]string, nOut)
	for i := range outs {
		if nOut == 1 {
			outs[i] = name
		} else {
			outs[i] = fmt.Sprintf("%s:%d", name, i)
		}
	}
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{
		Name: proto.String(name), OpType: proto.String(opType), Domain: proto.String(domain),
		Input: inputs, Output: outs, Attribute: attrs,
	})
	return outs
}

// onnx adds a default-domain node with one output.
func (b *graphBuilder) onnx(opType, name string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	return b.op("", opType, name, 1, inputs, attrs...)[0]
}

func (b *graphBuilder) constInt64(name string, dims []int64, v ...int64) string {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), RawData: raw,
	})
	return name
}

// constFloat adds a scalar of the graph's float type (float16 in an fp16
// build, v clamped to its finite range: the mask's −MaxFloat32 becomes
// −65504, which Softmax still turns into 0).
func (b *graphBuilder) constFloat(name string, v float32) string {
	return b.floatInit(name, nil, []float32{v})
}

// floatInit adds an initializer of the graph's float type holding v.
func (b *graphBuilder) floatInit(name string, dims []int64, v []float32) string {
	t := b.quant.floatType()
	var raw []byte
	if t == onnxpb.TensorProto_FLOAT16 {
		h := make([]float32, len(v))
		for i, f := range v {
			h[i] = max(-maxFloat16, min(f, maxFloat16))
		}
		raw = float16InPlace(h)
	} else {
		raw = append([]byte(nil), float32Bytes(v)...)
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(t)), RawData: raw,
	})
	return name
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// valueInfo declares a tensor input or output; each dim is a number (int)
// or a symbolic name (string).
func valueInfo(name string, elem onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		case string:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: shape},
	}}}
}

// Names of the optimum layout.
const (
	InputIDs      = "input_ids"
	AttentionMask = "attention_mask"
	PositionIDs   = "position_ids"
	Logits        = "logits"
	UseCacheFlag  = "use_cache_branch"
)

// The optimum cache names as templates over the layer index, as
// genai_config.json writes them (and GenAI's defaults).
const (
	pastKeyTemplate      = "past_key_values.%d.key"
	pastValueTemplate    = "past_key_values.%d.value"
	presentKeyTemplate   = "present.%d.key"
	presentValueTemplate = "present.%d.value"
)

// PastKey and PastValue name layer i's cache inputs; PresentKey and
// PresentValue its outputs.
func PastKey(i int) string      { return fmt.Sprintf(pastKeyTemplate, i) }
func PastValue(i int) string    { return fmt.Sprintf(pastValueTemplate, i) }
func PresentKey(i int) string   { return fmt.Sprintf(presentKeyTemplate, i) }
func PresentValue(i int) string { return fmt.Sprintf(presentValueTemplate, i) }

// io declares the optimum inputs and outputs: logits of the last position
// (of every position with allLogits), present caches of the total length.
func (b *graphBuilder) io() { b.declareIO(true, b.logitsSeq(), "total_sequence_length") }

// declareIO declares input_ids, attention_mask, position_ids when
// positionIDs, logits [batch, logitsSeq, vocab], and each layer's past
// cache (any length) in and present cache [.., presentSeq, ..] out: the
// one home of the decoder's I/O for io and gqaIO.
func (b *graphBuilder) declareIO(positionIDs bool, logitsSeq any, presentSeq string) {
	c := b.cfg
	i64, ft := onnxpb.TensorProto_INT64, b.quant.floatType()
	b.g.Input = append(b.g.Input,
		valueInfo(InputIDs, i64, "batch_size", "sequence_length"),
		valueInfo(AttentionMask, i64, "batch_size", "total_sequence_length"))
	if positionIDs {
		b.g.Input = append(b.g.Input, valueInfo(PositionIDs, i64, "batch_size", "sequence_length"))
	}
	b.g.Output = append(b.g.Output, valueInfo(Logits, ft, "batch_size", logitsSeq, c.Vocab))
	for i := 0; i < c.Layers; i++ {
		b.g.Input = append(b.g.Input,
			valueInfo(PastKey(i), ft, "batch_size", c.KVHeads, "past_sequence_length", c.HeadDim),
			valueInfo(PastValue(i), ft, "batch_size", c.KVHeads, "past_sequence_length", c.HeadDim))
		b.g.Output = append(b.g.Output,
			valueInfo(PresentKey(i), ft, "batch_size", c.KVHeads, presentSeq, c.HeadDim),
			valueInfo(PresentValue(i), ft, "batch_size", c.KVHeads, presentSeq, c.HeadDim))
	}
}

// embed returns token + position embeddings [b, s, hidden].
func (b *graphBuilder) embed() (tok, pos string) {
	tok = b.embedLookup("/embed/wte", InputIDs, "transformer.wte.weight", b.cfg.Vocab, b.cfg.Hidden)
	pos = b.onnx("Gather", "/embed/wpe", []string{"transformer.wpe.weight", PositionIDs})
	return tok, pos
}

// lmHead computes logits = h·wteᵀ with the embedding matrix itself (tied,
// one copy): Gemm with transB on h flattened to [b·s, hidden].
//
// h holds one position per row ([b, 1, hidden]) and the logits are
// [b, 1, vocab], or with allLogits every position ([b, s, ·]).
func (b *graphBuilder) lmHead(h string) {
	flat := b.onnx("Reshape", "/lm_head/flatten", []string{h, b.constInt64("/lm_head/flat_shape", []int64{2}, -1, int64(b.cfg.Hidden))})
	var gemm string
	if b.quant.quantized() {
		gemm = b.matmulNBits("/lm_head/gemm", flat, "transformer.wte.weight", b.cfg.Vocab, b.cfg.Hidden)
	} else {
		gemm = b.onnx("Gemm", "/lm_head/gemm", []string{flat, "transformer.wte.weight"}, attrInt("transB", 1))
	}
	var shape string
	if !b.allLogits {
		shape = b.constInt64("/lm_head/logits_shape", []int64{3}, -1, 1, int64(b.cfg.Vocab))
	} else {
		bs := b.onnx("Shape", "/lm_head/batch_seq", []string{InputIDs})
		shape = b.onnx("Concat", "/lm_head/logits_shape", []string{bs, b.constInt64("/lm_head/vocab", []int64{1}, int64(b.cfg.Vocab))}, attrInt("axis", 0))
	}
	b.op("", "Reshape", Logits, 1, []string{gemm, shape})
}

// causalMask returns allowed[b, 1, s, total] (bool): key j is visible to
// query i when j ≤ past+i and attention_mask[b, j] = 1. Left padding is
// therefore masked for every query, and a padded query sees nothing real.
func (b *graphBuilder) causalMask() string {
	total := b.onnx("Shape", "/mask/total", []string{AttentionMask}, attrInt("start", 1), attrInt("end", 2))
	seq := b.onnx("Shape", "/mask/seq", []string{InputIDs}, attrInt("start", 1), attrInt("end", 2))
	past := b.onnx("Sub", "/mask/past", []string{total, seq})
	zero := b.constInt64("/mask/zero", nil, 0)
	one := b.constInt64("/mask/one", nil, 1)
	axis0 := b.constInt64("/mask/axis0", []int64{1}, 0)
	totalS := b.onnx("Squeeze", "/mask/total_scalar", []string{total, axis0})
	pastS := b.onnx("Squeeze", "/mask/past_scalar", []string{past, axis0})
	keys := b.onnx("Range", "/mask/key_pos", []string{zero, totalS, one})
	queries := b.onnx("Range", "/mask/query_pos", []string{pastS, totalS, one})
	qcol := b.onnx("Unsqueeze", "/mask/query_col", []string{queries, b.constInt64("/mask/axis1", []int64{1}, 1)})
	causal := b.onnx("LessOrEqual", "/mask/causal", []string{keys, qcol})
	pad := b.onnx("Cast", "/mask/pad", []string{AttentionMask}, attrInt("to", int64(onnxpb.TensorProto_BOOL)))
	pad4 := b.onnx("Unsqueeze", "/mask/pad4", []string{pad, b.constInt64("/mask/axes12", []int64{2}, 1, 2)})
	return b.onnx("And", "/mask/allowed", []string{causal, pad4})
}

func (b *graphBuilder) linear(name, x, prefix string, in, out int) string {
	mm := b.matmulInOut(name+"/matmul", x, prefix+".weight", in, out)
	return b.onnx("Add", name+"/add", []string{mm, prefix + ".bias"})
}

// matmulInOut is x·W for a GPT-2 Conv1D weight W [in, out]: MatMul, or
// MatMulNBits over its quantised transpose.
func (b *graphBuilder) matmulInOut(name, x, weight string, in, out int) string {
	if b.quant.quantized() {
		return b.matmulNBits(name, x, weight, out, in)
	}
	return b.onnx("MatMul", name, []string{x, weight})
}

func (b *graphBuilder) layerNorm(name, x, prefix string) string {
	return b.onnx("LayerNormalization", name, []string{x, prefix + ".weight", prefix + ".bias"},
		attrInt("axis", -1), attrFloat("epsilon", float32(b.cfg.LayerNormEps)))
}

// heads reshapes [b, s, n·hd] to [b, n, s, hd].
func (b *graphBuilder) heads(name, x string, n int) string {
	shape := b.constInt64(name+"/shape", []int64{4}, 0, 0, int64(n), int64(b.cfg.HeadDim))
	r := b.onnx("Reshape", name+"/reshape", []string{x, shape})
	return b.onnx("Transpose", name+"/transpose", []string{r}, attrInts("perm", 0, 2, 1, 3))
}

// repeatKV expands [b, kv, t, hd] to [b, heads, t, hd] for grouped-query
// attention (each kv head serves heads/kv query heads).
func (b *graphBuilder) repeatKV(name, x string) string {
	c := b.cfg
	if c.KVHeads == c.Heads {
		return x
	}
	rep := int64(c.Heads / c.KVHeads)
	u := b.onnx("Unsqueeze", name+"/unsqueeze", []string{x, b.constInt64(name+"/axis2", []int64{1}, 2)})
	e := b.onnx("Expand", name+"/expand", []string{u, b.constInt64(name+"/expand_shape", []int64{5}, 1, 1, rep, 1, 1)})
	return b.onnx("Reshape", name+"/merge", []string{e, b.constInt64(name+"/merge_shape", []int64{4}, 0, int64(c.Heads), -1, int64(c.HeadDim))})
}

func (b *graphBuilder) split3(name, x string) (q, k, v string) {
	c := b.cfg
	outs := b.op("", "Split", name, 3, []string{x, b.constInt64(name+"/sizes", []int64{3},
		int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim), int64(c.KVHeads*c.HeadDim))}, attrInt("axis", 2))
	return outs[0], outs[1], outs[2]
}

// optimum lays out the graph torch.onnx.export gives for GPT-2 with past.
func (b *graphBuilder) optimum() *onnxpb.GraphProto {
	c := b.cfg
	b.io()
	tok, pos := b.embed()
	x := b.onnx("Add", "/embed/add", []string{tok, pos})
	allowed := b.causalMask()
	lowest := b.constFloat("/mask/lowest", -math.MaxFloat32)
	scale := b.constFloat("/attn/scale", float32(1/math.Sqrt(float64(c.HeadDim))))
	half := b.constFloat("/gelu/half", 0.5)
	oneF := b.constFloat("/gelu/one", 1)
	cubic := b.constFloat("/gelu/cubic", 0.044715)
	sqrt2pi := b.constFloat("/gelu/sqrt_2_over_pi", float32(math.Sqrt(2/math.Pi)))
	qW, qkvW := c.Heads*c.HeadDim, (c.Heads+2*c.KVHeads)*c.HeadDim
	for i := 0; i < c.Layers; i++ {
		p, n := layerPrefix(i), fmt.Sprintf("/h.%d", i)
		// Attention.
		ln1 := b.layerNorm(n+"/ln_1", x, p+"ln_1")
		qkv := b.linear(n+"/attn/c_attn", ln1, p+"attn.c_attn", c.Hidden, qkvW)
		q, k, v := b.split3(n+"/attn/split", qkv)
		q = b.heads(n+"/attn/q", q, c.Heads)
		k = b.heads(n+"/attn/k", k, c.KVHeads)
		v = b.heads(n+"/attn/v", v, c.KVHeads)
		presentK := b.op("", "Concat", PresentKey(i), 1, []string{PastKey(i), k}, attrInt("axis", 2))[0]
		presentV := b.op("", "Concat", PresentValue(i), 1, []string{PastValue(i), v}, attrInt("axis", 2))[0]
		kT := b.onnx("Transpose", n+"/attn/k_t", []string{b.repeatKV(n+"/attn/k_rep", presentK)}, attrInts("perm", 0, 1, 3, 2))
		scores := b.onnx("MatMul", n+"/attn/qk", []string{q, kT})
		scores = b.onnx("Mul", n+"/attn/scale", []string{scores, scale})
		scores = b.onnx("Where", n+"/attn/mask", []string{allowed, scores, lowest})
		probs := b.onnx("Softmax", n+"/attn/softmax", []string{scores}, attrInt("axis", -1))
		ctx := b.onnx("MatMul", n+"/attn/pv", []string{probs, b.repeatKV(n+"/attn/v_rep", presentV)})
		ctx = b.onnx("Transpose", n+"/attn/merge/transpose", []string{ctx}, attrInts("perm", 0, 2, 1, 3))
		ctx = b.onnx("Reshape", n+"/attn/merge/reshape", []string{ctx, b.constInt64(n+"/attn/merge/shape", []int64{3}, 0, 0, int64(c.Heads*c.HeadDim))})
		attn := b.linear(n+"/attn/c_proj", ctx, p+"attn.c_proj", qW, c.Hidden)
		x = b.onnx("Add", n+"/attn/residual", []string{x, attn})
		// MLP with GELU(tanh): 0.5·u·(1 + tanh(√(2/π)·(u + 0.044715·u³))).
		ln2 := b.layerNorm(n+"/ln_2", x, p+"ln_2")
		u := b.linear(n+"/mlp/c_fc", ln2, p+"mlp.c_fc", c.Hidden, c.Intermediate)
		u3 := b.onnx("Mul", n+"/mlp/gelu/u3", []string{b.onnx("Mul", n+"/mlp/gelu/u2", []string{u, u}), u})
		inner := b.onnx("Add", n+"/mlp/gelu/inner", []string{u, b.onnx("Mul", n+"/mlp/gelu/cubic", []string{u3, cubic})})
		t := b.onnx("Tanh", n+"/mlp/gelu/tanh", []string{b.onnx("Mul", n+"/mlp/gelu/scale", []string{inner, sqrt2pi})})
		g := b.onnx("Mul", n+"/mlp/gelu/out", []string{b.onnx("Mul", n+"/mlp/gelu/half", []string{u, half}), b.onnx("Add", n+"/mlp/gelu/one_plus", []string{t, oneF})})
		mlp := b.linear(n+"/mlp/c_proj", g, p+"mlp.c_proj", c.Intermediate, c.Hidden)
		x = b.onnx("Add", n+"/mlp/residual", []string{x, mlp})
	}
	if !b.allLogits {
		x = b.lastColumn(x)
	}
	b.lmHead(b.layerNorm("/ln_f", x, "transformer.ln_f"))
	return b.g
}

// fused lays out the graph ONNX Runtime's GPT-2 fusions produce: each
// residual Add + LayerNorm pair becomes SkipLayerNormalization (which also
// adds the preceding projection's bias and returns the residual sum),
// attention becomes MultiHeadAttention (causal, with key padding mask and
// past/present, adding the QKV bias itself), the MLP activation FastGelu
// (adding the c_fc bias). With gqa the attention is GroupQueryAttention
// instead, in the GenAI layout (see gqa.go).
func (b *graphBuilder) fused(gqa bool) *onnxpb.GraphProto {
	c := b.cfg
	var mask, seqlens, total string
	if gqa {
		b.gqaIO(true)
		seqlens, total = b.gqaMask()
	} else {
		b.io()
		mask = b.onnx("Cast", "/mask/int32", []string{AttentionMask}, attrInt("to", int64(onnxpb.TensorProto_INT32)))
	}
	tok, pos := b.embed()
	qW, qkvW := c.Heads*c.HeadDim, (c.Heads+2*c.KVHeads)*c.HeadDim
	// x is the residual stream, ln the normalized input of the next block.
	ln, x := b.skipLN("/h.0/ln_1", tok, pos, layerPrefix(0)+"ln_1", "")
	for i := 0; i < c.Layers; i++ {
		p, n := layerPrefix(i), fmt.Sprintf("/h.%d", i)
		qkv := b.matmulInOut(n+"/attn/c_attn/matmul", ln, p+"attn.c_attn.weight", c.Hidden, qkvW)
		var ctx string
		if gqa {
			qkv = b.onnx("Add", n+"/attn/c_attn/add", []string{qkv, p + "attn.c_attn.bias"})
			q, k, v := b.split3(n+"/attn/split", qkv)
			ctx = b.gqaNode(n+"/attn/gqa", i, q, k, v, seqlens, total, false, "", "", 0)
		} else {
			q, k, v := b.split3(n+"/attn/split", qkv)
			outs := b.op(msDomain, "MultiHeadAttention", n+"/attn/mha", 3,
				[]string{q, k, v, p + "attn.c_attn.bias", mask, "", PastKey(i), PastValue(i)},
				attrInt("num_heads", int64(c.Heads)), attrInt("unidirectional", 1))
			b.renameOutput(outs[1], PresentKey(i))
			b.renameOutput(outs[2], PresentValue(i))
			ctx = outs[0]
		}
		attn := b.matmulInOut(n+"/attn/c_proj/matmul", ctx, p+"attn.c_proj.weight", qW, c.Hidden)
		ln2, x2 := b.skipLN(n+"/ln_2", attn, x, p+"ln_2", p+"attn.c_proj.bias")
		u := b.matmulInOut(n+"/mlp/c_fc/matmul", ln2, p+"mlp.c_fc.weight", c.Hidden, c.Intermediate)
		g := b.op(msDomain, "FastGelu", n+"/mlp/gelu", 1, []string{u, p + "mlp.c_fc.bias"})[0]
		mlp := b.matmulInOut(n+"/mlp/c_proj/matmul", g, p+"mlp.c_proj.weight", c.Intermediate, c.Hidden)
		next := "transformer.ln_f"
		if i+1 < c.Layers {
			next = layerPrefix(i+1) + "ln_1"
		}
		name := "/ln_f"
		if i+1 < c.Layers {
			name = fmt.Sprintf("/h.%d/ln_1", i+1)
		}
		ln, x = b.skipLN(name, mlp, x2, next, p+"mlp.c_proj.bias")
	}
	switch {
	case gqa:
		ln = b.lastPositions(ln)
	case !b.allLogits:
		ln = b.lastColumn(ln)
	}
	b.lmHead(ln)
	return b.g
}

// skipLN adds SkipLayerNormalization: LayerNorm(in + skip (+ bias)) with
// the scale and shift of ln, returning the normalized value and the sum.
func (b *graphBuilder) skipLN(name, in, skip, ln, bias string) (normed, sum string) {
	inputs := []string{in, skip, ln + ".weight", ln + ".bias"}
	if bias != "" {
		inputs = append(inputs, bias)
	}
	outs := []string{name, "", "", name + "/residual"}
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{
		Name: proto.String(name), OpType: proto.String("SkipLayerNormalization"), Domain: proto.String(msDomain),
		Input: inputs, Output: outs, Attribute: []*onnxpb.AttributeProto{attrFloat("epsilon", float32(b.cfg.LayerNormEps))},
	})
	return outs[0], outs[3]
}

// renameOutput gives the last node's output old the graph output name new.
func (b *graphBuilder) renameOutput(old, new string) {
	nd := b.g.Node[len(b.g.Node)-1]
	for i, o := range nd.Output {
		if o == old {
			nd.Output[i] = new
		}
	}
}
