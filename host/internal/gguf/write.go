package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// KV is one metadata pair. Value is one of uint32, int32, uint64, float32,
// bool, string, []string or []int32 (GGUF's types of the same names).
type KV struct {
	Key   string
	Value any
}

// Tensor is one tensor's header: Dims in ggml's order (ne[0], the row, first:
// a PyTorch [out, in] weight is Dims {in, out}).
type Tensor struct {
	Name string
	Dims []uint64
	Type Type
}

// Elems is the number of values.
func (t Tensor) Elems() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// Bytes is the size of the tensor's data.
func (t Tensor) Bytes() (int64, error) {
	if t.Type == Q8_0 && (len(t.Dims) == 0 || t.Dims[0]%QK8_0 != 0) {
		return 0, fmt.Errorf("tensor %s: q8_0 needs rows (ne0 = %v) of whole blocks of %d", t.Name, t.Dims, QK8_0)
	}
	return t.Type.Bytes(t.Elems())
}

// GGUF value types (gguf.h's enum gguf_type).
const (
	typeUint32  = 4
	typeInt32   = 5
	typeFloat32 = 6
	typeBool    = 7
	typeString  = 8
	typeArray   = 9
	typeUint64  = 10
)

// Write writes a GGUF v3 file to w: kvs, then the tensors' headers, then
// each tensor's data as data(i) returns it (already encoded, exactly
// tensors[i].Bytes() long), aligned to Alignment. Only one tensor's data is
// held at a time.
func Write(w io.Writer, kvs []KV, tensors []Tensor, data func(i int) ([]byte, error)) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	e := &encoder{w: bw}
	e.raw([]byte(magic))
	e.u32(Version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		if err := e.value(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	var off int64
	sizes := make([]int64, len(tensors))
	for i, t := range tensors {
		n, err := t.Bytes()
		if err != nil {
			return err
		}
		sizes[i] = n
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(uint64(off))
		off = align(off + n)
	}
	e.pad()
	for i, t := range tensors {
		b, err := data(i)
		if err != nil {
			return fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		if int64(len(b)) != sizes[i] {
			return fmt.Errorf("tensor %s: %d bytes of data, its header says %d", t.Name, len(b), sizes[i])
		}
		e.raw(b)
		e.pad()
	}
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

func align(n int64) int64 { return (n + Alignment - 1) / Alignment * Alignment }

// encoder writes GGUF's little-endian scalars, keeping the first error.
type encoder struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	var n int
	n, e.err = e.w.Write(b)
	e.n += int64(n)
}

func (e *encoder) u32(v uint32) { binary.LittleEndian.PutUint32(e.buf[:4], v); e.raw(e.buf[:4]) }
func (e *encoder) u64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:8], v); e.raw(e.buf[:8]) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }

// pad writes zeros up to the next multiple of Alignment.
func (e *encoder) pad() {
	var zeros [Alignment]byte
	e.raw(zeros[:align(e.n)-e.n])
}

func (e *encoder) value(key string, v any) error {
	switch x := v.(type) {
	case uint32:
		e.u32(typeUint32)
		e.u32(x)
	case int32:
		e.u32(typeInt32)
		e.u32(uint32(x))
	case uint64:
		e.u32(typeUint64)
		e.u64(x)
	case float32:
		e.u32(typeFloat32)
		e.u32(math.Float32bits(x))
	case bool:
		e.u32(typeBool)
		b := byte(0)
		if x {
			b = 1
		}
		e.raw([]byte{b})
	case string:
		e.u32(typeString)
		e.str(x)
	case []string:
		e.u32(typeArray)
		e.u32(typeString)
		e.u64(uint64(len(x)))
		for _, s := range x {
			e.str(s)
		}
	case []int32:
		e.u32(typeArray)
		e.u32(typeInt32)
		e.u64(uint64(len(x)))
		for _, n := range x {
			e.u32(uint32(n))
		}
	default:
		return fmt.Errorf("gguf: key %s: value of type %T is not one the writer knows", key, v)
	}
	return nil
}
