package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
)

// Weight precisions of a built model.
const (
	PrecisionFP32 = "fp32"
	PrecisionFP16 = "fp16"
	PrecisionInt8 = "int8"
	PrecisionInt4 = "int4"
)

// Precisions lists the precisions the builder writes.
var Precisions = []string{PrecisionFP32, PrecisionFP16, PrecisionInt8, PrecisionInt4}

// DefaultBlockSize is the quantisation block of int4 and int8 weights: 32
// consecutive input elements of one output share a scale (ONNX Runtime
// GenAI's builder and llama.cpp's q4_0/q8_0 use 32 too).
const DefaultBlockSize = 32

// DefaultAccuracyLevel is MatMulNBits' accuracy_level: 4 lets ONNX
// Runtime's CPU kernel quantise the activations to int8 per block and
// multiply in integers (VNNI/AMX), 0 dequantises the weights to float32
// first. See RATIONALE.md for the figures.
const DefaultAccuracyLevel = 4

// Quant says how the builder stores the weights of linear layers and
// embeddings: Bits 0 keeps them float (float32, or float16 with Float16),
// 4 or 8 quantises them to MatMulNBits / GatherBlockQuantized blocks of
// BlockSize along the input axis, round-to-nearest, symmetric (the zero
// point is the implicit 2^(bits−1), no zero-point tensor).
type Quant struct {
	Bits          int
	BlockSize     int
	AccuracyLevel int
	// Asymmetric stores a zero point per block (min/max range) instead of
	// the implicit 2^(bits−1). ORT's CPU kernel runs symmetric int4 4 %
	// faster and int8 as fast (BenchmarkQuantSymmetry), so the builder
	// leaves it off; kept for that comparison and tested.
	Asymmetric bool
	// Float16 (fp16, Bits 0) stores every float weight as float16, and
	// the graph computes in float16 too: activations, the KV cache and the
	// logits, as ONNX Runtime GenAI's builder writes a CUDA fp16 model
	// (RATIONALE.md, "fp16 builds").
	Float16 bool `json:",omitempty"`
}

// QuantFor returns the Quant of precision (fp32, fp16, int8, int4) with
// block size block (DefaultBlockSize when 0; float precisions have none).
func QuantFor(precision string, block int) (Quant, error) {
	if block == 0 {
		block = DefaultBlockSize
	}
	var q Quant
	switch precision {
	case "", PrecisionFP32:
		return Quant{}, nil
	case PrecisionFP16:
		return Quant{Float16: true}, nil
	case PrecisionInt8:
		q = Quant{Bits: 8}
	case PrecisionInt4:
		q = Quant{Bits: 4}
	default:
		return Quant{}, unknownPrecision(precision)
	}
	if block < 16 || block&(block-1) != 0 {
		return Quant{}, fmt.Errorf("block_size = %d: MatMulNBits and GatherBlockQuantized take a power of two ≥ 16 (default %d)", block, DefaultBlockSize)
	}
	q.BlockSize, q.AccuracyLevel = block, DefaultAccuracyLevel
	return q, nil
}

func unknownPrecision(p string) error {
	return fmt.Errorf("unknown precision %q: use %s", p, strings.Join(Precisions, ", "))
}

// precision is q's precision name.
func (q Quant) precision() string {
	switch q.Bits {
	case 4:
		return PrecisionInt4
	case 8:
		return PrecisionInt8
	}
	if q.Float16 {
		return PrecisionFP16
	}
	return PrecisionFP32
}

// describe says how q stores the weights, for config.json's weights line
// ("" for float).
func (q Quant) describe() string {
	if q.Float16 {
		return "; stored as float16 (weights, activations, KV cache and logits)"
	}
	if !q.quantized() {
		return ""
	}
	return fmt.Sprintf("; matrices quantised to %s (MatMulNBits/GatherBlockQuantized, block %d, symmetric round-to-nearest, accuracy_level %d)", q.precision(), q.BlockSize, q.AccuracyLevel)
}

// quantized reports whether q quantises weights.
func (q Quant) quantized() bool { return q.Bits != 0 }

// blocks is the number of blocks of a row of k elements.
func (q Quant) blocks(k int) int { return (k + q.BlockSize - 1) / q.BlockSize }

// blobBytes is the packed size of one block.
func (q Quant) blobBytes() int { return q.BlockSize * q.Bits / 8 }

// quantizeRows quantises w, n rows of k (row r is output r of y = W·x: the
// [out, in] layout of a Hugging Face linear weight), into MatMulNBits' B
// input [n, blocks, blob] (uint8; for 4 bits element 2j in the low nibble
// of byte j, 2j+1 in the high one) and scales [n, blocks]. Round to
// nearest, symmetric: scale = max|w| / (2^(bits−1) − 1) per block, the
// stored value round(w/scale) + 2^(bits−1), so the kernel's default zero
// point 2^(bits−1) applies. A last partial block is padded with zeros.
// With q.Asymmetric each block maps [min(w, 0), max(w, 0)] onto 0 … 2^bits−1
// and its zero point goes to zp, [n, zpBytes] (4 bits: block 2j in the low
// nibble); zp is nil otherwise. q, scales and zp are written into the given
// slices when they are large enough (the builder reuses them tensor after
// tensor).
func (q Quant) quantizeRows(w []float32, n, k int, qbuf []byte, sbuf []float32, zbuf []byte) ([]byte, []float32, []byte) {
	nb, blob, zb := q.blocks(k), q.blobBytes(), q.zpBytes(k)
	qbuf = grow(qbuf, n*nb*blob)
	sbuf = grow(sbuf, n*nb)
	if q.Asymmetric {
		zbuf = grow(zbuf, n*zb)
	} else {
		zbuf = nil
	}
	// Rows are independent: split them among the cores (a 1B model's
	// 1.2 G weights take ≈ 12 s on one).
	workers := min(runtime.GOMAXPROCS(0), max(1, n*k/(1<<16)))
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := wk * n / workers; r < (wk+1)*n/workers; r++ {
				if q.Asymmetric {
					q.quantizeRowAsym(w[r*k:(r+1)*k], qbuf[r*nb*blob:(r+1)*nb*blob], sbuf[r*nb:(r+1)*nb], zbuf[r*zb:(r+1)*zb])
				} else {
					q.quantizeRow(w[r*k:(r+1)*k], qbuf[r*nb*blob:(r+1)*nb*blob], sbuf[r*nb:(r+1)*nb])
				}
			}
		}()
	}
	wg.Wait()
	return qbuf, sbuf, zbuf
}

// zpBytes is the packed size of one row's zero points.
func (q Quant) zpBytes(k int) int { return (q.blocks(k)*q.Bits + 7) / 8 }

// quantizeRowAsym quantises one row with a zero point per block.
func (q Quant) quantizeRowAsym(row []float32, out []byte, scales []float32, zps []byte) {
	k, blob := len(row), q.blobBytes()
	clear(out)
	clear(zps)
	maxq := 1<<q.Bits - 1
	for b := range scales {
		lo, hi := b*q.BlockSize, min((b+1)*q.BlockSize, k)
		var vmin, vmax float64
		for _, v := range row[lo:hi] {
			vmin, vmax = min(vmin, float64(v)), max(vmax, float64(v))
		}
		scale := float32((vmax - vmin) / float64(maxq))
		scales[b] = scale
		inv, zp := 0.0, 0
		if scale != 0 {
			inv = 1 / float64(scale)
			zp = max(0, min(maxq, int(math.RoundToEven(-vmin*inv))))
		}
		putPacked(zps, q.Bits, b, zp)
		blk := out[b*blob : (b+1)*blob]
		for j := range q.BlockSize {
			v := zp
			if i := lo + j; i < hi {
				v = max(0, min(maxq, int(math.RoundToEven(float64(row[i])*inv))+zp))
			}
			putPacked(blk, q.Bits, j, v)
		}
	}
}

// quantizeRow quantises one row into its blocks and scales.
func (q Quant) quantizeRow(row []float32, out []byte, scales []float32) {
	k, blob := len(row), q.blobBytes()
	clear(out)
	zero := 1 << (q.Bits - 1)
	maxq := float64(zero - 1)
	for b := range scales {
		lo, hi := b*q.BlockSize, min((b+1)*q.BlockSize, k)
		var amax float64
		for _, v := range row[lo:hi] {
			amax = max(amax, math.Abs(float64(v)))
		}
		scale := float32(amax / maxq)
		scales[b] = scale
		inv := 0.0
		if scale != 0 {
			inv = 1 / float64(scale)
		}
		blk := out[b*blob : (b+1)*blob]
		for j := range q.BlockSize {
			v := zero // padding past k: the zero point
			if i := lo + j; i < hi {
				v = int(math.RoundToEven(float64(row[i])*inv)) + zero
				v = max(0, min(v, 2*zero-1))
			}
			putPacked(blk, q.Bits, j, v)
		}
	}
}

// putPacked stores v (0 … 2^bits−1) as element j of buf, which starts
// cleared: a byte each at 8 bits; at 4, element 2j in the low nibble of
// byte j and 2j+1 in the high one.
func putPacked(buf []byte, bits, j, v int) {
	if bits == 8 {
		buf[j] = byte(v)
		return
	}
	buf[j/2] |= byte(v) << (4 * (j % 2))
}

// packedAt reads element j of buf as putPacked stores it.
func packedAt(buf []byte, bits, j int) int {
	if bits == 8 {
		return int(buf[j])
	}
	return int(buf[j/2]>>(4*(j%2))) & 0xf
}

// dequantizeRows inverts quantizeRows: the float32 weights [n, k] the
// MatMulNBits kernel multiplies by ((stored − zero point) · scale; the zero
// point 2^(bits−1) when zp is nil).
func (q Quant) dequantizeRows(qd []byte, scales []float32, zp []byte, n, k int) []float32 {
	nb, blob, zb := q.blocks(k), q.blobBytes(), q.zpBytes(k)
	w := make([]float32, n*k)
	for r := range n {
		for i := range k {
			b, j := i/q.BlockSize, i%q.BlockSize
			zero := 1 << (q.Bits - 1)
			if zp != nil {
				zero = packedAt(zp[r*zb:(r+1)*zb], q.Bits, b)
			}
			v := packedAt(qd[(r*nb+b)*blob:(r*nb+b+1)*blob], q.Bits, j)
			w[r*k+i] = float32(v-zero) * scales[r*nb+b]
		}
	}
	return w
}

// grow returns b resliced to n elements, or a new slice when b is too
// small: a scratch buffer reused across weights.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// Suffixes of the initializers a quantised weight becomes.
const (
	qweightSuffix = ".qweight" // uint8 [n, blocks, blob]
	scalesSuffix  = ".scales"  // float32 [n, blocks]
	zerosSuffix   = ".qzeros"  // uint8 [n, ⌈blocks·bits/8⌉], asymmetric only
)

// transposed returns w [rows, cols] as [cols, rows] in dst.
func transposed(w []float32, rows, cols int, dst []float32) []float32 {
	dst = grow(dst, rows*cols)
	for r := range rows {
		for c := range cols {
			dst[c*rows+r] = w[r*cols+c]
		}
	}
	return dst
}

// matmulNBits adds y = x·Wᵀ for x [.., k] and the quantised W [n, k] named
// weight (its .qweight and .scales initializers).
func (b *graphBuilder) matmulNBits(name, x, weight string, n, k int) string {
	q := b.quant
	in := []string{x, weight + qweightSuffix, weight + scalesSuffix}
	if q.Asymmetric {
		in = append(in, weight+zerosSuffix)
	}
	return b.op(msDomain, "MatMulNBits", name, 1, in,
		attrInt("K", int64(k)), attrInt("N", int64(n)), attrInt("bits", int64(q.Bits)),
		attrInt("block_size", int64(q.BlockSize)), attrInt("accuracy_level", int64(q.AccuracyLevel)))[0]
}

// embedLookup adds the embedding lookup of ids in the table weight [vocab,
// hidden]: a Gather of float weights; quantised, GatherBlockQuantized over
// its .qweight viewed as [vocab, blocks·blob] with the same scales
// MatMulNBits reads, so a tied LM head and the embedding share one copy.
// ORT's kernel returns rows as wide as that view (its last dim × 8/bits:
// blocks·block_size elements), so when hidden is not a multiple of the
// block (smollm2-135m's 576 at block 128: 640) the gathered rows carry the
// last block's padding, which a Slice cuts back to hidden.
func (b *graphBuilder) embedLookup(name, ids, weight string, vocab, hidden int) string {
	q := b.quant
	if !q.quantized() {
		return b.onnx("Gather", name, []string{weight, ids})
	}
	flat := b.onnx("Reshape", name+"/packed", []string{weight + qweightSuffix,
		b.constInt64(name+"/packed_shape", []int64{2}, int64(vocab), int64(q.blocks(hidden)*q.blobBytes()))})
	in := []string{flat, ids, weight + scalesSuffix}
	if q.Asymmetric {
		in = append(in, weight+zerosSuffix)
	}
	rows := b.op(msDomain, "GatherBlockQuantized", name, 1, in,
		attrInt("bits", int64(q.Bits)), attrInt("block_size", int64(q.BlockSize)),
		attrInt("gather_axis", 0), attrInt("quantize_axis", 1))[0]
	if hidden%q.BlockSize == 0 {
		return rows
	}
	return b.onnx("Slice", name+"/unpad", []string{rows,
		b.constInt64(name+"/unpad_start", []int64{1}, 0),
		b.constInt64(name+"/unpad_end", []int64{1}, int64(hidden)),
		b.constInt64(name+"/unpad_axis", []int64{1}, -1)})
}

// tensorOut is one initializer as the writer streams it: its header fields
// and, called once in file order, its raw bytes.
type tensorOut struct {
	name  string
	dtype onnxpb.TensorProto_DataType
	dims  []int64
	size  int64 // bytes of raw data
	data  func() ([]byte, error)
}

// weightRole says how the builder stores one weight.
type weightRole int

const (
	roleFloat       weightRole = iota // float32 as it is
	roleLinear                        // [out, in] matrix: quantised as is
	roleLinearInOut                   // [in, out] matrix (GPT-2's Conv1D): transposed, then quantised
)

// tensorOuts plans the initializers of weights: float tensors as they are
// (rounded to float16 with q.Float16), and with q quantising, every weight
// role marks as a linear one as its .qweight and .scales pair. Each source tensor is filled once, into one
// buffer reused for all of them, so memory stays at the largest tensor plus
// its quantised form.
func tensorOuts(weights []weightSpec, fill weightFill, q Quant, role func(weightSpec) weightRole) []tensorOut {
	var (
		buf, tbuf, scales []float32
		qbuf, zbuf        []byte
	)
	source := func(ws weightSpec) ([]float32, error) {
		buf = grow(buf, ws.elems())
		err := fill(ws, buf)
		return buf, err
	}
	var outs []tensorOut
	for _, ws := range weights {
		r := roleFloat
		if q.quantized() && role != nil {
			r = role(ws)
		}
		if r == roleFloat && q.Float16 {
			outs = append(outs, tensorOut{name: ws.name, dtype: onnxpb.TensorProto_FLOAT16, dims: ws.dims, size: 2 * int64(ws.elems()),
				data: func() ([]byte, error) {
					v, err := source(ws)
					return float16InPlace(v), err
				}})
			continue
		}
		if r == roleFloat {
			outs = append(outs, tensorOut{name: ws.name, dtype: onnxpb.TensorProto_FLOAT, dims: ws.dims, size: 4 * int64(ws.elems()),
				data: func() ([]byte, error) {
					v, err := source(ws)
					return float32Bytes(v), err
				}})
			continue
		}
		n, k := int(ws.dims[0]), int(ws.dims[1])
		if r == roleLinearInOut {
			n, k = k, n
		}
		nb := q.blocks(k)
		outs = append(outs,
			tensorOut{name: ws.name + qweightSuffix, dtype: onnxpb.TensorProto_UINT8,
				dims: []int64{int64(n), int64(nb), int64(q.blobBytes())}, size: int64(n * nb * q.blobBytes()),
				data: func() ([]byte, error) {
					v, err := source(ws)
					if err != nil {
						return nil, err
					}
					if r == roleLinearInOut {
						tbuf = transposed(v, k, n, tbuf)
						v = tbuf
					}
					qbuf, scales, zbuf = q.quantizeRows(v, n, k, qbuf, scales, zbuf)
					return qbuf, nil
				}},
			tensorOut{name: ws.name + scalesSuffix, dtype: onnxpb.TensorProto_FLOAT,
				dims: []int64{int64(n), int64(nb)}, size: 4 * int64(n*nb),
				data: func() ([]byte, error) { return float32Bytes(scales), nil }},
		)
		if q.Asymmetric {
			outs = append(outs, tensorOut{name: ws.name + zerosSuffix, dtype: onnxpb.TensorProto_UINT8,
				dims: []int64{int64(n), int64(q.zpBytes(k))}, size: int64(n * q.zpBytes(k)),
				data: func() ([]byte, error) { return zbuf, nil }})
		}
	}
	return outs
}

// quantizedFill wraps fill so that every weight role marks as linear reads
// back as the dequantised values ONNX Runtime multiplies by: the weights
// the reference forward pass must run on to check a quantised graph.
func quantizedFill(fill weightFill, q Quant, role func(weightSpec) weightRole) weightFill {
	if !q.quantized() {
		return fill
	}
	return func(ws weightSpec, dst []float32) error {
		if err := fill(ws, dst); err != nil {
			return err
		}
		r := role(ws)
		if r == roleFloat {
			return nil
		}
		n, k := int(ws.dims[0]), int(ws.dims[1])
		v := dst
		if r == roleLinearInOut {
			n, k = k, n
			v = transposed(dst, k, n, nil)
		}
		qd, sc, zp := q.quantizeRows(v, n, k, nil, nil, nil)
		deq := q.dequantizeRows(qd, sc, zp, n, k)
		if r == roleLinearInOut {
			deq = transposed(deq, n, k, nil)
		}
		copy(dst, deq)
		return nil
	}
}

// floatType is the element type of the graph's float values under q:
// float16 with Float16, else float32 (quantised models compute in float32).
func (q Quant) floatType() onnxpb.TensorProto_DataType {
	if q.Float16 {
		return onnxpb.TensorProto_FLOAT16
	}
	return onnxpb.TensorProto_FLOAT
}

// maxFloat16 is the largest finite float16, 65504.
const maxFloat16 = 65504

// float16Bits rounds f to the nearest IEEE 754 binary16 value (ties to
// even, as torch's .half() and ONNX Runtime's Cast do): beyond ±65504 it is
// ±Inf, below 2⁻²⁴ it is ±0, and NaN stays NaN. safetensors.F16ToFloat32 is
// its inverse on every float16.
func float16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	frac := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf stays Inf; any NaN becomes the quiet NaN
		if frac != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15:
		return sign | 0x7c00
	case exp-127 >= -14: // normal: round the 23-bit fraction to 10
		h := uint32(exp-127+15)<<10 | frac>>13
		rest := frac & 0x1fff
		if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
			h++ // may carry into the exponent, up to Inf: still correct
		}
		return sign | uint16(h)
	case exp-127 < -25: // below half the smallest subnormal
		return sign
	}
	// Subnormal: f is m · 2^(e−23) (m with its implicit bit, e the
	// unbiased exponent, −25 … −15), in units of 2⁻²⁴ m >> (−e − 1),
	// rounded to nearest even.
	m := frac | 0x800000
	shift := uint(-(exp - 127) - 1) // 14 … 24
	h := m >> shift
	rest, halfway := m&(1<<shift-1), uint32(1)<<(shift-1)
	if rest > halfway || rest == halfway && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

// float16InPlace rounds v to float16 in v's own memory and returns the
// 2·len(v) little-endian bytes: element i's two bytes land at byte 2i,
// never past the 4i it is read from, so a tensor needs no second buffer
// (llama-3.2-1b's embedding is 1.05 GB as float32). v is clobbered.
func float16InPlace(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	for i, f := range v { // f is read before bytes 2i, 2i+1 are written
		binary.LittleEndian.PutUint16(b[2*i:], float16Bits(f))
	}
	return b[:2*len(v)]
}
