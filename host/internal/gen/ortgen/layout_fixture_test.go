package ortgen

// Fixtures for the layouts people download, written at test time (the
// Debian Python here has numpy but no onnx or torch package, so the graphs
// are written with pipe's ONNX protobuf types and the reference is
// computed in numpy from the same weights by
// scripts/layout-fixture-reference.py, which shares no code with pipe).
//
// The decoder: token embedding, per layer q/k/v projections into ONNX
// Runtime's GroupQueryAttention (rotary inside, 4 query heads on 2 KV
// heads, its sequence lengths from the attention mask's sum), an output
// projection and a ReLU MLP, both residual, then the LM head. Modes:
//   - fp32: every tensor float32.
//   - f16io: the same float32 weights, the cache, the attention and the
//     logits in float16 (the q/k/v projections cast to float16 before the
//     attention, its output back to float32, the logits cast to float16).
//   - q4: the layer projections as MatMulNBits, 4 bits, blocks of 32,
//     symmetric (no zero points), quantized here by round-to-nearest.
//   - f16: every weight, activation, the cache and the logits in float16
//     (what an fp16 export is; ONNX Runtime's CPU provider runs the ops it
//     has no float16 kernel for in float32 between casts).
//   - bf16io: f16io in bfloat16, for which the CPU provider has no
//     GroupQueryAttention kernel.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
)

// fixtureShape is the fixture decoder's size.
type fixtureShape struct {
	Vocab, Hidden, Heads, KVHeads, HeadDim, Layers, FFN, MaxLen int
}

var layoutShape = fixtureShape{Vocab: 96, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, Layers: 2, FFN: 128, MaxLen: 64}

// fixtureNames are the graph's names: cache names are printf templates.
type fixtureNames struct {
	IDs, Mask, Logits                    string
	PastKey, PastValue, PresKey, PresVal string
}

var optimumFixtureNames = fixtureNames{"input_ids", "attention_mask", "logits", "past_key_values.%d.key", "past_key_values.%d.value", "present.%d.key", "present.%d.value"}

// fixtureSpec says what to write.
type fixtureSpec struct {
	mode  string // fp32, f16io, q4
	names fixtureNames
	// external splits the weights over external data files (one per
	// layer plus one for the rest), named after the file with this suffix
	// (".onnx.data", "_data", …); "" keeps them inside.
	external string
	// keep adds the inputs transformers' exports carry: logits_to_keep [1]
	// (the LM head runs on the last that many positions) and
	// cache_position [seq] (declared, not read: only that it is fed).
	keep bool
	// keepScalar declares logits_to_keep rank 0 instead.
	keepScalar bool
}

// fixtureWeight is one weight as the reference reads it.
type fixtureWeight struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data,omitempty"`
	// For q4: the packed bytes [N, K/32, 16] and scales [N, K/32] as ONNX
	// Runtime's MatMulNBits takes them; Data is empty.
	Packed []int     `json:"packed,omitempty"`
	Scales []float32 `json:"scales,omitempty"`
}

// fixtureWeights are the decoder's weights, seeded.
type fixtureWeights map[string]fixtureWeight

func makeFixtureWeights(s fixtureShape, seed uint64) fixtureWeights {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	mat := func(rows, cols int, scale float64) fixtureWeight {
		d := make([]float32, rows*cols)
		for i := range d {
			d[i] = float32(rng.NormFloat64() * scale)
		}
		return fixtureWeight{Shape: []int{rows, cols}, Data: d}
	}
	w := fixtureWeights{"wte": mat(s.Vocab, s.Hidden, 1)}
	kv := s.KVHeads * s.HeadDim
	for l := range s.Layers {
		p := fmt.Sprintf("l%d.", l)
		w[p+"wq"] = mat(s.Hidden, s.Hidden, 1/math.Sqrt(float64(s.Hidden)))
		w[p+"wk"] = mat(s.Hidden, kv, 1/math.Sqrt(float64(s.Hidden)))
		w[p+"wv"] = mat(s.Hidden, kv, 1/math.Sqrt(float64(s.Hidden)))
		w[p+"wo"] = mat(s.Hidden, s.Hidden, 0.5/math.Sqrt(float64(s.Hidden)))
		w[p+"w1"] = mat(s.Hidden, s.FFN, 1/math.Sqrt(float64(s.Hidden)))
		w[p+"w2"] = mat(s.FFN, s.Hidden, 0.5/math.Sqrt(float64(s.FFN)))
	}
	w["lm_head"] = mat(s.Hidden, s.Vocab, 1/math.Sqrt(float64(s.Hidden)))
	return w
}

// quantize4 turns a [K, N] weight (used as x @ W) into MatMulNBits' form:
// per output column n and block of 32 rows, scale = max|w| / 7 and
// q = round(w / scale) + 8 in [0, 15], two per byte, low nibble first.
func quantize4(w fixtureWeight) fixtureWeight {
	K, N := w.Shape[0], w.Shape[1]
	const block = 32
	nb := K / block
	out := fixtureWeight{Shape: w.Shape, Packed: make([]int, N*nb*block/2), Scales: make([]float32, N*nb)}
	for n := range N {
		for b := range nb {
			amax := float32(0)
			for k := b * block; k < (b+1)*block; k++ {
				amax = max(amax, float32(math.Abs(float64(w.Data[k*N+n]))))
			}
			scale := amax / 7
			if scale == 0 {
				scale = 1
			}
			out.Scales[n*nb+b] = scale
			for j := range block {
				q := int(math.Round(float64(w.Data[(b*block+j)*N+n]/scale))) + 8
				q = min(max(q, 0), 15)
				i := (n*nb+b)*block/2 + j/2
				if j%2 == 0 {
					out.Packed[i] |= q
				} else {
					out.Packed[i] |= q << 4
				}
			}
		}
	}
	return out
}

// ropeCaches are GroupQueryAttention's cos and sin caches [MaxLen, HeadDim/2]
// (theta 10000, rotate-half).
func ropeCaches(s fixtureShape) (cos, sin []float32) {
	half := s.HeadDim / 2
	for p := range s.MaxLen {
		for i := range half {
			inv := math.Pow(10000, -float64(2*i)/float64(s.HeadDim))
			cos = append(cos, float32(math.Cos(float64(p)*inv)))
			sin = append(sin, float32(math.Sin(float64(p)*inv)))
		}
	}
	return cos, sin
}

// fixtureGraph builds the ONNX graph.
type fixtureGraph struct {
	g *onnxpb.GraphProto
	n int
}

func (fg *fixtureGraph) node(op, domain string, inputs []string, nOut int, attrs ...*onnxpb.AttributeProto) []string {
	fg.n++
	var outs []string
	for i := range nOut {
		outs = append(outs, fmt.Sprintf("t%d_%d", fg.n, i))
	}
	nd := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(fmt.Sprintf("n%d_%s", fg.n, op)), Input: inputs, Output: outs, Attribute: attrs}
	if domain != "" {
		nd.Domain = proto.String(domain)
	}
	fg.g.Node = append(fg.g.Node, nd)
	return outs
}

func (fg *fixtureGraph) one(op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	return fg.node(op, "", inputs, 1, attrs...)[0]
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func (fg *fixtureGraph) init(name string, dt onnxpb.TensorProto_DataType, dims []int64, raw []byte) string {
	fg.g.Initializer = append(fg.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw})
	return name
}

func f32Raw(d []float32) []byte {
	b := make([]byte, 4*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func f16Raw(d []float32) []byte {
	b := make([]byte, 2*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint16(b[2*i:], f32ToF16(v))
	}
	return b
}

// f32ToF16 rounds to nearest even (test-side only: the runtime never
// narrows).
func f32ToF16(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23&0xff) - 127 + 15
	mant := bits & 0x7fffff
	switch {
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// bf16Raw rounds to nearest even bfloat16.
func bf16Raw(d []float32) []byte {
	b := make([]byte, 2*len(d))
	for i, v := range d {
		u := math.Float32bits(v)
		u += 0x7fff + (u>>16)&1
		binary.LittleEndian.PutUint16(b[2*i:], uint16(u>>16))
	}
	return b
}

func i64Raw(v ...int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

func fixtureValueInfo(name string, dt onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		switch v := d.(type) {
		case int:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}})
		case string:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape},
	}}}
}

// writeLayoutModel writes the decoder of spec to path and returns the
// weights the reference needs.
func writeLayoutModel(t testing.TB, path string, s fixtureShape, spec fixtureSpec, seed uint64) fixtureWeights {
	t.Helper()
	w := makeFixtureWeights(s, seed)
	fg := &fixtureGraph{g: &onnxpb.GraphProto{Name: proto.String("layout-fixture")}}
	f32, f16, i64 := onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_INT64
	kvT := f32
	raw := f32Raw
	switch spec.mode {
	case "f16io", "f16":
		kvT, raw = f16, f16Raw
	case "bf16io":
		kvT, raw = onnxpb.TensorProto_BFLOAT16, bf16Raw
	}
	wT, wRaw := f32, f32Raw
	if spec.mode == "f16" {
		wT, wRaw = f16, f16Raw
	}
	n := spec.names
	fg.g.Input = append(fg.g.Input,
		fixtureValueInfo(n.IDs, i64, "batch", "seq"),
		fixtureValueInfo(n.Mask, i64, "batch", "total"))
	for l := range s.Layers {
		fg.g.Input = append(fg.g.Input,
			fixtureValueInfo(fmt.Sprintf(n.PastKey, l), kvT, "batch", s.KVHeads, "past", s.HeadDim),
			fixtureValueInfo(fmt.Sprintf(n.PastValue, l), kvT, "batch", s.KVHeads, "past", s.HeadDim))
	}
	logitsT := kvT
	fg.g.Output = append(fg.g.Output, fixtureValueInfo(n.Logits, logitsT, "batch", "seq", s.Vocab))
	for l := range s.Layers {
		fg.g.Output = append(fg.g.Output,
			fixtureValueInfo(fmt.Sprintf(n.PresKey, l), kvT, "batch", s.KVHeads, "present", s.HeadDim),
			fixtureValueInfo(fmt.Sprintf(n.PresVal, l), kvT, "batch", s.KVHeads, "present", s.HeadDim))
	}
	weight := func(name string) string {
		d := w[name]
		return fg.init(name, wT, []int64{int64(d.Shape[0]), int64(d.Shape[1])}, wRaw(d.Data))
	}
	matmul := func(x, name string) string {
		if spec.mode != "q4" || name == "lm_head" {
			return fg.one("MatMul", []string{x, weight(name)})
		}
		q := quantize4(w[name])
		w[name] = q
		K, N := q.Shape[0], q.Shape[1]
		packed := make([]byte, len(q.Packed))
		for i, v := range q.Packed {
			packed[i] = byte(v)
		}
		b := fg.init(name+".q4", onnxpb.TensorProto_UINT8, []int64{int64(N), int64(K / 32), 16}, packed)
		sc := fg.init(name+".scales", f32, []int64{int64(N * K / 32)}, f32Raw(q.Scales))
		return fg.node("MatMulNBits", "com.microsoft", []string{x, b, sc}, 1,
			intAttr("K", int64(K)), intAttr("N", int64(N)), intAttr("bits", 4), intAttr("block_size", 32))[0]
	}
	cos, sin := ropeCaches(s)
	cosName := fg.init("rope.cos", kvT, []int64{int64(s.MaxLen), int64(s.HeadDim / 2)}, raw(cos))
	sinName := fg.init("rope.sin", kvT, []int64{int64(s.MaxLen), int64(s.HeadDim / 2)}, raw(sin))
	one := fg.init("const.one", i64, []int64{1}, i64Raw(1))
	axis1 := fg.init("const.axis1", i64, []int64{1}, i64Raw(1))
	fg.g.Initializer = append(fg.g.Initializer, &onnxpb.TensorProto{Name: proto.String("const.idx1"), DataType: proto.Int32(int32(i64)), RawData: i64Raw(1)}) // scalar 1

	sum := fg.one("ReduceSum", []string{n.Mask, axis1}, intAttr("keepdims", 0))
	seqlens := fg.one("Cast", []string{fg.one("Sub", []string{sum, one})}, intAttr("to", int64(onnxpb.TensorProto_INT32)))
	total := fg.one("Cast", []string{fg.one("Gather", []string{fg.one("Shape", []string{n.Mask}), "const.idx1"})}, intAttr("to", int64(onnxpb.TensorProto_INT32)))

	x := fg.one("Gather", []string{weight("wte"), n.IDs})
	for l := range s.Layers {
		p := fmt.Sprintf("l%d.", l)
		q, k, v := matmul(x, p+"wq"), matmul(x, p+"wk"), matmul(x, p+"wv")
		if spec.mode == "f16io" || spec.mode == "bf16io" {
			to16 := intAttr("to", int64(kvT))
			q, k, v = fg.one("Cast", []string{q}, to16), fg.one("Cast", []string{k}, to16), fg.one("Cast", []string{v}, to16)
		}
		a := fg.node("GroupQueryAttention", "com.microsoft",
			[]string{q, k, v, fmt.Sprintf(n.PastKey, l), fmt.Sprintf(n.PastValue, l), seqlens, total, cosName, sinName}, 3,
			intAttr("num_heads", int64(s.Heads)), intAttr("kv_num_heads", int64(s.KVHeads)), intAttr("do_rotary", 1))[0]
		// The attention's presents are the graph's outputs.
		gqa := fg.g.Node[len(fg.g.Node)-1]
		gqa.Output[1], gqa.Output[2] = fmt.Sprintf(n.PresKey, l), fmt.Sprintf(n.PresVal, l)
		if spec.mode == "f16io" || spec.mode == "bf16io" {
			a = fg.one("Cast", []string{a}, intAttr("to", int64(f32)))
		}
		x = fg.one("Add", []string{x, matmul(a, p+"wo")})
		h := fg.one("Relu", []string{matmul(x, p+"w1")})
		x = fg.one("Add", []string{x, matmul(h, p+"w2")})
	}
	if spec.keep {
		keepIn, start := fixtureValueInfo("logits_to_keep", i64, 1), fg.one("Neg", []string{"logits_to_keep"})
		if spec.keepScalar {
			keepIn = fixtureValueInfo("logits_to_keep", i64)
			start = fg.one("Unsqueeze", []string{start, fg.init("const.axis0", i64, []int64{1}, i64Raw(0))})
		}
		fg.g.Input = append(fg.g.Input, keepIn, fixtureValueInfo("cache_position", i64, "seq"))
		big := fg.init("const.big", i64, []int64{1}, i64Raw(1<<62))
		x = fg.one("Slice", []string{x, start, big, axis1})
	}
	logits := matmul(x, "lm_head")
	if spec.mode == "f16io" || spec.mode == "bf16io" {
		fg.one("Cast", []string{logits}, intAttr("to", int64(kvT)))
	}
	fg.g.Node[len(fg.g.Node)-1].Output[0] = n.Logits

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if spec.external != "" {
		externalize(t, fg.g, path, spec.external)
	}
	m := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("pipe layout fixture"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{
			{Domain: proto.String(""), Version: proto.Int64(17)},
			{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)},
		},
		Graph: fg.g,
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// externalize moves every float initializer with more than 64 elements
// out of the graph: layer l's into FILE<suffix>_l (l ≥ 1) or FILE<suffix>,
// the rest into FILE<suffix>, so one model spans several files.
func externalize(t testing.TB, g *onnxpb.GraphProto, path, suffix string) {
	t.Helper()
	files := map[string][]byte{}
	for _, in := range g.Initializer {
		if len(in.RawData) <= 256 {
			continue
		}
		loc := filepath.Base(path) + suffix
		var l int
		if _, err := fmt.Sscanf(in.GetName(), "l%d.", &l); err == nil && l > 0 {
			loc = fmt.Sprintf("%s_%d", loc, l)
		}
		off := len(files[loc])
		files[loc] = append(files[loc], in.RawData...)
		in.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(loc)},
			{Key: proto.String("offset"), Value: proto.String(fmt.Sprint(off))},
			{Key: proto.String("length"), Value: proto.String(fmt.Sprint(len(in.RawData)))},
		}
		in.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		in.RawData = nil
	}
	if len(files) < 2 {
		t.Fatalf("externalize: %d external files, want several", len(files))
	}
	for loc, b := range files {
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), loc), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// layoutReference runs scripts/layout-fixture-reference.py (numpy) on the
// weights and returns, per prompt, the greedy ids of full recompute.
func layoutReference(t *testing.T, s fixtureShape, mode string, w fixtureWeights, prompts [][]int64, n int) [][]int64 {
	t.Helper()
	in := map[string]any{"shape": s, "mode": mode, "weights": w, "prompts": prompts, "new_tokens": n}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "reference-in.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "../../../../scripts/layout-fixture-reference.py", f).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("layout-fixture-reference.py: %v\n%s", err, stderr)
	}
	var ids [][]int64
	if err := json.Unmarshal(out, &ids); err != nil {
		t.Fatalf("reference output %q: %v", out, err)
	}
	return ids
}
