package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes a safetensors file from a header (marshalled as given)
// and a data section.
func writeFile(t *testing.T, path string, header any, data []byte) {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	b = append(append(b, h...), data...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type entry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func TestReadFloat32Conversions(t *testing.T) {
	var data []byte
	f32 := []float32{1.5, -2.25, 3e-5, 0}
	for _, v := range f32 {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	// F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), +inf.
	f16 := []uint16{0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00}
	for _, v := range f16 {
		data = binary.LittleEndian.AppendUint16(data, v)
	}
	// BF16: 1, -0.5 and 3.140625.
	bf16 := []uint16{0x3f80, 0xbf00, 0x4049}
	for _, v := range bf16 {
		data = binary.LittleEndian.AppendUint16(data, v)
	}
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(0.1))
	path := filepath.Join(t.TempDir(), "m.safetensors")
	writeFile(t, path, map[string]any{
		"__metadata__": map[string]string{"format": "pt"},
		"a":            entry{"F32", []int64{2, 2}, []int64{0, 16}},
		"h":            entry{"F16", []int64{5}, []int64{16, 26}},
		"b":            entry{"BF16", []int64{3}, []int64{26, 32}},
		"d":            entry{"F64", []int64{}, []int64{32, 40}},
	}, data)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata = %v", f.Metadata)
	}
	if got := strings.Join(f.Names(), ","); got != "a,h,b,d" {
		t.Errorf("Names = %s, want file order a,h,b,d", got)
	}
	cases := []struct {
		name string
		want []float32
	}{
		{"a", f32},
		{"h", []float32{1, -2, 65504, float32(math.Ldexp(1, -24)), float32(math.Inf(1))}},
		{"b", []float32{1, -0.5, 3.140625}},
		{"d", []float32{float32(0.1)}},
	}
	for _, tc := range cases {
		got := make([]float32, len(tc.want))
		if err := f.ReadFloat32(tc.name, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s[%d] = %g, want %g", tc.name, i, got[i], tc.want[i])
			}
		}
	}
	if err := f.ReadFloat32("a", make([]float32, 3)); err == nil {
		t.Error("a destination of the wrong length was accepted")
	}
}

func TestF16ToFloat32AllValues(t *testing.T) {
	// Every finite half converts to the value its fields define.
	for h := 0; h < 1<<16; h++ {
		exp, frac := (h>>10)&0x1f, h&0x3ff
		if exp == 0x1f {
			continue
		}
		var want float64
		if exp == 0 {
			want = math.Ldexp(float64(frac), -24)
		} else {
			want = math.Ldexp(1+float64(frac)/1024, exp-15)
		}
		if h>>15 == 1 {
			want = -want
		}
		if got := F16ToFloat32(uint16(h)); float64(got) != want {
			t.Fatalf("F16ToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
	if v := F16ToFloat32(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("0x7e00 = %g, want NaN", v)
	}
}

// TestBadHeaders: every malformed file is refused at Open with one line
// naming the file and what is wrong.
func TestBadHeaders(t *testing.T) {
	ok := entry{"F32", []int64{2}, []int64{0, 8}}
	data8 := make([]byte, 8)
	cases := []struct {
		name   string
		header any
		raw    []byte // the whole file, instead of header + data
		data   []byte
		want   string
	}{
		{name: "short file", raw: []byte{1, 2, 3}, want: "shorter than the 8-byte header length"},
		{name: "header limit", raw: binary.LittleEndian.AppendUint64(nil, MaxHeaderBytes+1), want: "exceeds the"},
		{name: "header past end", raw: append(binary.LittleEndian.AppendUint64(nil, 100), '{', '}'), want: "runs past the end"},
		{name: "not JSON", raw: append(binary.LittleEndian.AppendUint64(nil, 3), "abc"...), want: "not a JSON object"},
		{name: "unknown dtype", header: map[string]any{"w": entry{"F12", []int64{2}, []int64{0, 8}}}, data: data8, want: `tensor "w": unknown dtype "F12"`},
		{name: "shape × dtype", header: map[string]any{"w": entry{"F32", []int64{3}, []int64{0, 8}}}, data: data8, want: `tensor "w": shape [3] × F32 (4 bytes each) = 12 bytes, but data_offsets span 8`},
		{name: "negative dim", header: map[string]any{"w": entry{"F32", []int64{-2}, []int64{0, 8}}}, data: data8, want: "negative dim"},
		{name: "offsets reversed", header: map[string]any{"w": entry{"F32", []int64{2}, []int64{8, 0}}}, data: data8, want: "not 0 ≤ begin ≤ end"},
		{name: "out of bounds", header: map[string]any{"w": entry{"F32", []int64{4}, []int64{0, 16}}}, data: data8, want: "runs past the 8 data bytes"},
		{name: "overlap", header: map[string]any{"a": ok, "b": entry{"F32", []int64{1}, []int64{4, 8}}}, data: data8, want: "overlap"},
		{name: "hole", header: map[string]any{"a": entry{"F32", []int64{1}, []int64{4, 8}}}, data: data8, want: "belong to no tensor"},
		{name: "trailing bytes", header: map[string]any{"a": ok}, data: make([]byte, 12), want: "cover 8 of the 12 data bytes"},
		{name: "bad offsets", header: map[string]any{"a": entry{"F32", []int64{2}, []int64{0}}}, data: data8, want: "data_offsets has 1 values"},
		{name: "unknown field", header: map[string]any{"a": map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}, "x": 1}}, data: data8, want: "entry is not {dtype, shape, data_offsets}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			if tc.raw != nil {
				if err := os.WriteFile(path, tc.raw, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				writeFile(t, path, tc.header, tc.data)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open accepted it")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and containing %q", msg, path, tc.want)
			}
		})
	}
}

func TestNonFloatDTypeRefusedOnRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	writeFile(t, path, map[string]any{"ids": entry{"I64", []int64{1}, []int64{0, 8}}}, make([]byte, 8))
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = f.ReadFloat32("ids", make([]float32, 1))
	if err == nil || !strings.Contains(err.Error(), `tensor "ids" is I64; pipe reads float tensors only`) {
		t.Errorf("err = %v", err)
	}
}

func TestShardedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	one := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1))
	two := binary.LittleEndian.AppendUint32(nil, math.Float32bits(2))
	writeFile(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), map[string]any{"a": entry{"F32", []int64{1}, []int64{0, 4}}}, one)
	writeFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), map[string]any{"b": entry{"F32", []int64{1}, []int64{0, 4}}}, two)
	writeIndex := func(m map[string]string) {
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 8}, "weight_map": m})
		if err := os.WriteFile(filepath.Join(dir, IndexFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeIndex(map[string]string{"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"})
	if !IsCheckpoint(dir) {
		t.Fatal("IsCheckpoint = false")
	}
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float32{"a": 1, "b": 2} {
		v := make([]float32, 1)
		if err := c.ReadFloat32(name, v); err != nil || v[0] != want {
			t.Errorf("%s = %v, %v; want %g", name, v, err, want)
		}
	}
	if len(c.Files) != 2 {
		t.Errorf("Files = %v", c.Files)
	}
	c.Close()

	bad := []struct {
		name string
		m    map[string]string
		want string
	}{
		{"missing shard", map[string]string{"a": "model-00001-of-00002.safetensors", "b": "model-00003-of-00003.safetensors"},
			`tensor "b" lives in model-00003-of-00003.safetensors, which is missing`},
		{"tensor not in shard", map[string]string{"a": "model-00002-of-00002.safetensors"}, `tensor "a" should be in model-00002-of-00002.safetensors, which does not hold it`},
		{"path escape", map[string]string{"a": "../x.safetensors"}, "want a file name in the same directory"},
		{"empty", map[string]string{}, "weight_map is empty"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			writeIndex(tc.m)
			c, err := OpenCheckpoint(dir)
			if err == nil {
				c.Close()
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, IndexFile) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the index and containing %q", msg, tc.want)
			}
		})
	}
}

func TestNoWeights(t *testing.T) {
	dir := t.TempDir()
	if IsCheckpoint(dir) {
		t.Error("IsCheckpoint of an empty directory")
	}
	_, err := OpenCheckpoint(dir)
	if err == nil || !strings.Contains(err.Error(), "neither model.safetensors nor model.safetensors.index.json") {
		t.Errorf("err = %v", err)
	}
}
