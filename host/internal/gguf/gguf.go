// Package gguf writes GGUF v3, the file format llama.cpp loads, so that pipe
// can hand llama.cpp the very model it runs itself (pipe bench --peer).
//
// Its stance: write what llama.cpp's own tools would write for the same
// weights, bit for bit where the format leaves no choice. Tensors are
// encoded as f32, f16 (round to nearest even) or q8_0 (blocks of 32 along
// the row, an fp16 scale d = amax/127 and round(x/d) half away from zero:
// quantize_row_q8_0_ref in llama.cpp's ggml-quants.c); norms, biases and the
// position table stay f32, as convert_hf_to_gguf.py leaves them. The reader
// exists to check the writer (its tests, pipe's own checks); it reads the
// whole file into memory and knows only these three types.
package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/safetensors"
)

// Version is the GGUF version written.
const Version = 3

// Alignment is the default general.alignment: every tensor's data starts
// at a multiple of it.
const Alignment = 32

// magic opens every GGUF file.
const magic = "GGUF"

// Type is a tensor's ggml_type.
type Type uint32

// The tensor types pipe writes (ggml.h's enum ggml_type).
const (
	F32  Type = 0
	F16  Type = 1
	Q8_0 Type = 8
)

// Types lists the writable types by name, as llama.cpp names them.
var Types = []Type{F32, F16, Q8_0}

// QK8_0 is q8_0's block: 32 values, one fp16 scale and 32 int8.
const QK8_0 = 32

// blockQ8_0 is the bytes of one q8_0 block.
const blockQ8_0 = 2 + QK8_0

func (t Type) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case Q8_0:
		return "q8_0"
	}
	return fmt.Sprintf("ggml_type(%d)", uint32(t))
}

// ParseType reads a type's name (f32, f16, q8_0).
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if t.String() == s {
			return t, nil
		}
	}
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = t.String()
	}
	return 0, fmt.Errorf("GGUF type %q: use one of %s", s, strings.Join(names, ", "))
}

// FileType is general.file_type for a model whose matrices are t
// (llama.h's LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q8_0).
func (t Type) FileType() uint32 {
	switch t {
	case F16:
		return 1
	case Q8_0:
		return 7
	}
	return 0
}

// Bytes is the size of n values of type t; a q8_0 row must be a whole
// number of blocks.
func (t Type) Bytes(n int64) (int64, error) {
	switch t {
	case F32:
		return 4 * n, nil
	case F16:
		return 2 * n, nil
	case Q8_0:
		if n%QK8_0 != 0 {
			return 0, fmt.Errorf("q8_0: %d values are not whole blocks of %d", n, QK8_0)
		}
		return n / QK8_0 * blockQ8_0, nil
	}
	return 0, fmt.Errorf("GGUF type %v: not one pipe writes", t)
}

// Encode appends v encoded as t to dst. For q8_0, len(v) must be a multiple
// of QK8_0 and blocks run along v (a tensor's rows, ne0, are whole blocks).
func Encode(dst []byte, t Type, v []float32) ([]byte, error) {
	size, err := t.Bytes(int64(len(v)))
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, int(size))
	switch t {
	case F32:
		for _, x := range v {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
		}
	case F16:
		for _, x := range v {
			dst = binary.LittleEndian.AppendUint16(dst, model.Float16Bits(x))
		}
	case Q8_0:
		for b := 0; b < len(v); b += QK8_0 {
			dst = appendQ8_0Block(dst, v[b:b+QK8_0])
		}
	}
	return dst, nil
}

// appendQ8_0Block is quantize_row_q8_0_ref for one block: amax = max |x|,
// d = amax/127, id = 1/d (0 when d is 0), q = roundf(x·id), all in float32,
// and d stored as fp16 (the scale applied is fp16(d), the rounding used id
// from the float32 d, as llama.cpp does).
func appendQ8_0Block(dst []byte, x []float32) []byte {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	dst = binary.LittleEndian.AppendUint16(dst, model.Float16Bits(d))
	for _, v := range x {
		dst = append(dst, byte(int8(math.Round(float64(v*id))))) // math.Round: half away from zero, as roundf
	}
	return dst
}

// Decode returns n values of type t from b (the inverse of Encode, up to
// its rounding).
func Decode(t Type, b []byte, n int) ([]float32, error) {
	size, err := t.Bytes(int64(n))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < size {
		return nil, fmt.Errorf("%v: %d bytes for %d values, want %d", t, len(b), n, size)
	}
	v := make([]float32, n)
	switch t {
	case F32:
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range v {
			v[i] = safetensors.F16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case Q8_0:
		for blk := 0; blk < n/QK8_0; blk++ {
			p := b[blk*blockQ8_0:]
			d := safetensors.F16ToFloat32(binary.LittleEndian.Uint16(p))
			for j := 0; j < QK8_0; j++ {
				v[blk*QK8_0+j] = float32(int8(p[2+j])) * d
			}
		}
	}
	return v, nil
}
