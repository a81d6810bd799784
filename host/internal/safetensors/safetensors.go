// Package safetensors reads Hugging Face checkpoints in the safetensors
// format: an 8-byte little-endian header length N, N bytes of JSON header
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, …, optional
// "__metadata__": {string: string}}), then the raw little-endian tensor bytes,
// offsets relative to the end of the header.
//
// It takes a stand on trust: a checkpoint is untrusted input, so Open
// validates the whole header before any tensor is read — the header size
// limit, every dtype, shape × dtype size = byte length, offsets inside the
// file, no two tensors overlapping and no unindexed bytes (the format's own
// rules) — and every error is one line naming the file and the tensor. Tensor
// bytes are read on demand with positioned reads, one tensor at a time, and
// converted to float32 (from F32, F16, BF16 or F64), so memory stays at one
// tensor however large the checkpoint. OpenCheckpoint adds the sharded form
// (model.safetensors.index.json and its model-0000i-of-0000n.safetensors).
//
// It is a small reader of its own rather than a Go module: the format is a
// page of spec, and the few Go packages for it either load whole files into
// memory or validate less than the reference implementation does.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"unsafe"
)

// MaxHeaderBytes bounds the JSON header (the reference implementation's
// limit): a corrupt length cannot make Open allocate gigabytes.
const MaxHeaderBytes = 100 << 20

// DType sizes in bytes, by the format's dtype names.
var dtypeSize = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// FloatDTypes are the dtypes ReadFloat32 converts.
var FloatDTypes = []string{"F32", "F16", "BF16", "F64"}

// Tensor describes one tensor of a file.
type Tensor struct {
	Name  string
	DType string
	Shape []int64
	// Begin and End are byte offsets into the data section.
	Begin, End int64
}

// Elems is the number of elements (1 for a scalar).
func (t Tensor) Elems() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is one open safetensors file.
type File struct {
	Path     string
	Metadata map[string]string
	tensors  map[string]Tensor
	order    []string // by offset
	f        *os.File
	data     int64 // file offset of the data section
}

type rawEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Open opens and validates path.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	sf, err := parse(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	sf.Path, sf.f = path, f
	return sf, nil
}

// parse reads and validates the header of a file of size bytes.
func parse(r io.ReaderAt, size int64) (*File, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length: not a safetensors file", size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit: not a safetensors file, or a corrupt one", n, MaxHeaderBytes)
	}
	if int64(n) > size-8 {
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file: the file is truncated", n, size)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("header is not a JSON object (%v): not a safetensors file, or a corrupt one", oneLine(err))
	}
	sf := &File{tensors: map[string]Tensor{}, data: 8 + int64(n)}
	dataLen := size - sf.data
	for name, v := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &sf.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ is not an object of strings (%v)", oneLine(err))
			}
			continue
		}
		var e rawEntry
		dec := json.NewDecoder(strings.NewReader(string(v)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("tensor %q: entry is not {dtype, shape, data_offsets} (%v)", name, oneLine(err))
		}
		t, err := checkEntry(name, e, dataLen)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		sf.tensors[name] = t
		sf.order = append(sf.order, name)
	}
	slices.SortFunc(sf.order, func(a, b string) int {
		ta, tb := sf.tensors[a], sf.tensors[b]
		if ta.Begin != tb.Begin {
			return int(ta.Begin - tb.Begin)
		}
		return int(ta.End - tb.End)
	})
	var end int64
	prev := ""
	for _, name := range sf.order {
		t := sf.tensors[name]
		switch {
		case t.Begin < end:
			return nil, fmt.Errorf("tensors %q [%d, %d) and %q [%d, %d) overlap: a corrupt header", prev, sf.tensors[prev].Begin, end, name, t.Begin, t.End)
		case t.Begin > end:
			return nil, fmt.Errorf("bytes [%d, %d) before tensor %q belong to no tensor: a corrupt header", end, t.Begin, name)
		}
		end, prev = t.End, name
	}
	if end != dataLen {
		return nil, fmt.Errorf("the tensors cover %d of the %d data bytes: the file is corrupt or has trailing bytes", end, dataLen)
	}
	return sf, nil
}

func checkEntry(name string, e rawEntry, dataLen int64) (Tensor, error) {
	size, ok := dtypeSize[e.DType]
	if !ok {
		return Tensor{}, fmt.Errorf("unknown dtype %q", e.DType)
	}
	if len(e.DataOffsets) != 2 {
		return Tensor{}, fmt.Errorf("data_offsets has %d values, want [begin, end]", len(e.DataOffsets))
	}
	t := Tensor{Name: name, DType: e.DType, Shape: e.Shape, Begin: e.DataOffsets[0], End: e.DataOffsets[1]}
	if t.Begin < 0 || t.End < t.Begin {
		return Tensor{}, fmt.Errorf("data_offsets [%d, %d] are not 0 ≤ begin ≤ end", t.Begin, t.End)
	}
	if t.End > dataLen {
		return Tensor{}, fmt.Errorf("data_offsets end %d runs past the %d data bytes: the file is truncated", t.End, dataLen)
	}
	bytes := size
	for _, d := range e.Shape {
		if d < 0 {
			return Tensor{}, fmt.Errorf("shape %v has a negative dim", e.Shape)
		}
		if d != 0 && bytes > math.MaxInt64/d {
			return Tensor{}, fmt.Errorf("shape %v overflows", e.Shape)
		}
		bytes *= d
	}
	if bytes != t.End-t.Begin {
		return Tensor{}, fmt.Errorf("shape %v × %s (%d bytes each) = %d bytes, but data_offsets span %d", e.Shape, e.DType, size, bytes, t.End-t.Begin)
	}
	return t, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Names lists the tensors in file order.
func (f *File) Names() []string { return slices.Clone(f.order) }

// Tensor returns the named tensor's description.
func (f *File) Tensor(name string) (Tensor, bool) {
	t, ok := f.tensors[name]
	return t, ok
}

// chunkBytes is the read unit of conversions.
const chunkBytes = 4 << 20

// ReadFloat32 reads the named tensor into dst (len(dst) = its element
// count), converting F16, BF16 and F64 to float32 (exactly for the first
// two; F64 rounds to nearest).
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, ok := f.tensors[name]
	if !ok {
		return fmt.Errorf("safetensors %s: no tensor %q", f.Path, name)
	}
	if int64(len(dst)) != t.Elems() {
		return fmt.Errorf("safetensors %s: tensor %q has %d elements, the destination %d", f.Path, name, t.Elems(), len(dst))
	}
	size := dtypeSize[t.DType]
	var conv func(src []byte, dst []float32)
	switch t.DType {
	case "F32":
		if isLittleEndian && len(dst) > 0 {
			b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))
			if _, err := f.f.ReadAt(b, f.data+t.Begin); err != nil {
				return fmt.Errorf("safetensors %s: tensor %q: %w", f.Path, name, err)
			}
			return nil
		}
		conv = func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
		}
	case "F16":
		conv = func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = F16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		}
	case "BF16":
		conv = func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
			}
		}
	case "F64":
		conv = func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
			}
		}
	default:
		return fmt.Errorf("safetensors %s: tensor %q is %s; pipe reads float tensors only (%s)", f.Path, name, t.DType, strings.Join(FloatDTypes, ", "))
	}
	per := int(chunkBytes / size)
	buf := make([]byte, min(len(dst), per)*int(size))
	for lo := 0; lo < len(dst); lo += per {
		hi := min(lo+per, len(dst))
		b := buf[:(hi-lo)*int(size)]
		if _, err := f.f.ReadAt(b, f.data+t.Begin+int64(lo)*size); err != nil {
			return fmt.Errorf("safetensors %s: tensor %q: %w", f.Path, name, err)
		}
		conv(b, dst[lo:hi])
	}
	return nil
}

// F16ToFloat32 converts an IEEE 754 half-precision value exactly.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: frac · 2^-24.
	v := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

var isLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
