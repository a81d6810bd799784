package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// File is a GGUF file read whole into memory (see the package doc: the
// reader exists to check the writer).
type File struct {
	Version uint32
	KV      map[string]any // values as KV.Value documents
	Keys    []string       // in file order
	Tensors []Tensor
	offsets []int64 // absolute, per tensor
	data    []byte
}

// Read reads the GGUF file at path.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse reads a GGUF file from its bytes.
func Parse(b []byte) (*File, error) {
	d := &decoder{b: b}
	if string(d.raw(4)) != magic {
		return nil, fmt.Errorf("not a GGUF file (no %q magic)", magic)
	}
	f := &File{Version: d.u32(), KV: map[string]any{}, data: b}
	if f.Version != Version {
		return nil, fmt.Errorf("GGUF version %d, the reader knows %d", f.Version, Version)
	}
	nt, nkv := d.u64(), d.u64()
	for i := uint64(0); i < nkv && d.err == nil; i++ {
		k := d.str()
		f.KV[k] = d.value(d.u32())
		f.Keys = append(f.Keys, k)
	}
	rel := make([]int64, 0, nt)
	for i := uint64(0); i < nt && d.err == nil; i++ {
		t := Tensor{Name: d.str()}
		nd := d.u32()
		for range nd {
			t.Dims = append(t.Dims, d.u64())
		}
		t.Type = Type(d.u32())
		f.Tensors = append(f.Tensors, t)
		rel = append(rel, int64(d.u64()))
	}
	if d.err != nil {
		return nil, d.err
	}
	start := align(d.off)
	for i, t := range f.Tensors {
		n, err := t.Bytes()
		if err != nil {
			return nil, err
		}
		off := start + rel[i]
		if rel[i]%Alignment != 0 || off+n > int64(len(b)) {
			return nil, fmt.Errorf("tensor %s: data at %d (+%d bytes) is unaligned or past the file's %d bytes", t.Name, off, n, len(b))
		}
		f.offsets = append(f.offsets, off)
	}
	return f, nil
}

// Tensor returns the named tensor's header and its data's bytes.
func (f *File) Tensor(name string) (Tensor, []byte, bool) {
	for i, t := range f.Tensors {
		if t.Name == name {
			n, _ := t.Bytes()
			return t, f.data[f.offsets[i] : f.offsets[i]+n], true
		}
	}
	return Tensor{}, nil, false
}

// Floats returns the named tensor's values, decoded.
func (f *File) Floats(name string) (Tensor, []float32, error) {
	t, b, ok := f.Tensor(name)
	if !ok {
		return t, nil, fmt.Errorf("no tensor %s", name)
	}
	v, err := Decode(t.Type, b, int(t.Elems()))
	return t, v, err
}

// decoder reads GGUF's little-endian scalars, keeping the first error.
type decoder struct {
	b   []byte
	off int64
	err error
}

func (d *decoder) raw(n int64) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || d.off+n > int64(len(d.b)) {
		d.err = fmt.Errorf("truncated at byte %d (want %d more)", d.off, n)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u32() uint32 {
	if p := d.raw(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if p := d.raw(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) str() string { return string(d.raw(int64(d.u64()))) }

func (d *decoder) value(typ uint32) any {
	switch typ {
	case typeUint32:
		return d.u32()
	case typeInt32:
		return int32(d.u32())
	case typeUint64:
		return d.u64()
	case typeFloat32:
		return math.Float32frombits(d.u32())
	case typeBool:
		p := d.raw(1)
		return p != nil && p[0] != 0
	case typeString:
		return d.str()
	case typeArray:
		et, n := d.u32(), d.u64()
		switch et {
		case typeString:
			v := make([]string, 0, min(n, 1<<20))
			for i := uint64(0); i < n && d.err == nil; i++ {
				v = append(v, d.str())
			}
			return v
		case typeInt32:
			v := make([]int32, 0, min(n, 1<<20))
			for i := uint64(0); i < n && d.err == nil; i++ {
				v = append(v, int32(d.u32()))
			}
			return v
		}
		if d.err == nil {
			d.err = fmt.Errorf("array of GGUF type %d: not one the reader knows", et)
		}
		return nil
	}
	if d.err == nil {
		d.err = fmt.Errorf("GGUF value type %d: not one the reader knows", typ)
	}
	return nil
}
