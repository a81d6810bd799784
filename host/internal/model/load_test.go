package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pipe-bench/pipe/host/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// torchFixture is the grouped-query decoder exported by torch.onnx.export
// (scripts/make-torch-fixture.py) that the generation engine's tests use.
const torchFixture = "../gen/ortgen/testdata/torch-gpt2-tiny-gqa"

func TestLoadInfersShapes(t *testing.T) {
	tiny, gqa := GPT2Tiny(), gqaTiny()
	cases := []struct {
		name       string
		dir        func(t *testing.T) string
		want       Config
		style      string
		params     int64
		positionID bool
	}{
		{
			name: "built tiny, no config.json",
			dir:  func(t *testing.T) string { return buildTo(t, tiny, 1, StyleOptimum, false) },
			// The graph tells layers, kv heads, head dim and vocab; query
			// heads are assumed equal to kv heads; the rest is unknown.
			want:   Config{Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 16, Hidden: 64, Vocab: 512, BOS: -1, EOS: -1},
			style:  StyleOptimum,
			params: tiny.Params(),
		},
		{
			name:   "built grouped-query, no config.json",
			dir:    func(t *testing.T) string { return buildTo(t, gqa, 1, StyleOptimum, false) },
			want:   Config{Layers: 2, Heads: 2, KVHeads: 2, HeadDim: 16, Hidden: 32, Vocab: 512, BOS: -1, EOS: -1},
			style:  StyleOptimum,
			params: gqa.Params(),
		},
		{
			name:   "built grouped-query with config.json",
			dir:    func(t *testing.T) string { return buildTo(t, gqa, 1, StyleOptimum, true) },
			want:   gqa,
			style:  StyleOptimum,
			params: gqa.Params(),
		},
		{
			name:   "built fused, no config.json",
			dir:    func(t *testing.T) string { return buildTo(t, tiny, 1, StyleFused, false) },
			want:   Config{Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 16, Hidden: 64, Vocab: 512, BOS: -1, EOS: -1},
			style:  StyleFused,
			params: tiny.Params(),
		},
		{
			name: "torch.onnx.export fixture, no config.json",
			dir: func(t *testing.T) string {
				return copyFile(t, filepath.Join(torchFixture, "model.onnx"), "model.onnx")
			},
			want:   Config{Layers: 2, Heads: 2, KVHeads: 2, HeadDim: 8, Hidden: 16, Vocab: 96, BOS: -1, EOS: -1},
			style:  StyleOptimum,
			params: 22976, // sum of initializer sizes, counted with python3-onnx
		},
		{
			name: "torch.onnx.export fixture with config.json",
			dir:  func(t *testing.T) string { return torchFixture },
			want: Config{Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 8, Hidden: 32, Intermediate: 64, Vocab: 96,
				MaxPositions: 64, BOS: 0, EOS: 95, LayerNormEps: 1e-5},
			style:  StyleOptimum,
			params: 22976,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.dir(t))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, m.Config); diff != "" {
				t.Errorf("Config (-want +got):\n%s", diff)
			}
			if m.Style != tc.style {
				t.Errorf("Style = %q, want %q", m.Style, tc.style)
			}
			if m.Params != tc.params {
				t.Errorf("Params = %d, want %d", m.Params, tc.params)
			}
			if !m.HasPositionIDs || m.Merged {
				t.Errorf("HasPositionIDs = %v, Merged = %v; want true, false", m.HasPositionIDs, m.Merged)
			}
			b, err := os.ReadFile(m.Path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if m.SHA256 != hex.EncodeToString(sum[:]) || m.Bytes != int64(len(b)) {
				t.Errorf("SHA256, Bytes = %s, %d; want %x, %d", m.SHA256, m.Bytes, sum, len(b))
			}
			wantIn := []string{InputIDs, AttentionMask, PositionIDs}
			for i := 0; i < m.Config.Layers; i++ {
				k, v := m.KVInput(i)
				wantIn = append(wantIn, k, v)
			}
			if diff := cmp.Diff(wantIn, m.InputNames); diff != "" {
				t.Errorf("InputNames (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMergedAndFileNames(t *testing.T) {
	cases := []struct {
		name     string
		file     string
		inputs   []*onnxpb.ValueInfoProto
		merged   bool
		position bool
	}{
		{"merged decoder", "decoder_model_merged.onnx", append(optimumInputs(1, false), valueInfo(UseCacheFlag, onnxpb.TensorProto_BOOL, 1)), true, false},
		{"with-past decoder", "decoder_with_past_model.onnx", optimumInputs(1, true), false, true},
		{"model.onnx without position_ids", "model.onnx", optimumInputs(1, false), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeGraph(t, filepath.Join(dir, tc.file), tc.inputs, optimumOutputs(1, 96))
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m.Merged != tc.merged || m.HasPositionIDs != tc.position || filepath.Base(m.Path) != tc.file {
				t.Errorf("Merged, HasPositionIDs, file = %v, %v, %s; want %v, %v, %s", m.Merged, m.HasPositionIDs, filepath.Base(m.Path), tc.merged, tc.position, tc.file)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T) string // returns the path to Load
		want  []string                  // substrings of the one-line error
	}{
		{"missing path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
			[]string{"no such file or directory", "built-in name"}},
		{"directory without a model", func(t *testing.T) string { return t.TempDir() },
			[]string{"no ONNX decoder", "model.onnx, decoder_model_merged.onnx, decoder_with_past_model.onnx", "optimum-cli"}},
		{"text file", func(t *testing.T) string { return writeFile(t, "model.onnx", []byte("hello, this is not a model\n")) },
			[]string{"not an ONNX model", "point --model"}},
		{"empty file", func(t *testing.T) string { return writeFile(t, "model.onnx", nil) },
			[]string{"not an ONNX model"}},
		{"truncated model", func(t *testing.T) string {
			b := buildBytes(t, GPT2Tiny(), StyleOptimum)
			return writeFile(t, "model.onnx", b[:len(b)/2])
		}, []string{"not an ONNX model", "claims"}},
		{"no input_ids", func(t *testing.T) string {
			return graphFile(t, optimumInputs(2, true)[1:], optimumOutputs(2, 96))
		}, []string{`no input "input_ids"`, "inputs: attention_mask", "decoder-with-past layout"}},
		{"no logits", func(t *testing.T) string {
			return graphFile(t, optimumInputs(2, true), optimumOutputs(2, 96)[1:])
		}, []string{`no output "logits"`, "decoder-with-past layout"}},
		{"no past inputs", func(t *testing.T) string {
			return graphFile(t, optimumInputs(0, true), optimumOutputs(0, 96))
		}, []string{"no past_key_values", "cannot decode with a KV cache", "text-generation-with-past"}},
		{"missing present output", func(t *testing.T) string {
			outs := optimumOutputs(2, 96)
			return graphFile(t, optimumInputs(2, true), outs[:len(outs)-1])
		}, []string{`no output "present.1.value"`}},
		{"missing a layer's past", func(t *testing.T) string {
			ins := optimumInputs(3, true)
			return graphFile(t, append(ins[:5], ins[7:]...), optimumOutputs(3, 96)) // drops layer 1
		}, []string{`no input "past_key_values.1.key"`}},
		{"float16 past, float32 present", func(t *testing.T) string {
			ins := optimumInputs(1, true)
			ins[3] = valueInfo(PastKey(0), onnxpb.TensorProto_FLOAT16, "b", 2, "p", 8)
			return graphFile(t, ins, optimumOutputs(1, 96))
		}, []string{`"past_key_values.0.key" is FLOAT16 but output "present.0.key" is FLOAT`, "must share a type"}},
		{"int32 cache", func(t *testing.T) string {
			ins := optimumInputs(1, true)
			ins[3] = valueInfo(PastKey(0), onnxpb.TensorProto_INT32, "b", 2, "p", 8)
			return graphFile(t, ins, optimumOutputs(1, 96))
		}, []string{`"past_key_values.0.key" is INT32`, "float32, float16 or bfloat16"}},
		{"unknown input", func(t *testing.T) string {
			ins := append(optimumInputs(1, true), valueInfo("token_type_ids", onnxpb.TensorProto_INT64, "b", "s"))
			return graphFile(t, ins, optimumOutputs(1, 96))
		}, []string{`graph input "token_type_ids" is not one pipe feeds`}},
		{"config.json for another model", func(t *testing.T) string {
			dir := filepath.Dir(graphFile(t, optimumInputs(2, true), optimumOutputs(2, 96)))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"n_layer": 12, "n_head": 2}`), 0o644)
			return dir
		}, []string{"config.json says 12 layers", "graph has past_key_values for 2"}},
		{"config.json that is not JSON", func(t *testing.T) string {
			dir := filepath.Dir(graphFile(t, optimumInputs(2, true), optimumOutputs(2, 96)))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`n_layer = 2`), 0o644)
			return dir
		}, []string{"config.json: not a JSON object", "fix it or remove it"}},
		{"symbolic vocab, no config.json", func(t *testing.T) string {
			outs := optimumOutputs(1, 96)
			outs[0] = valueInfo(Logits, onnxpb.TensorProto_FLOAT, "b", "s", "vocab")
			return graphFile(t, optimumInputs(1, true), outs)
		}, []string{"symbolic vocab", "add config.json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.setup(t))
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want an error", m.Config)
			}
			checkOneLineError(t, err, tc.want)
		})
	}
}

// optimumInputs returns the optimum-layout inputs for layers layers (kv 2,
// head dim 8).
func optimumInputs(layers int, positionIDs bool) []*onnxpb.ValueInfoProto {
	i64, f32 := onnxpb.TensorProto_INT64, onnxpb.TensorProto_FLOAT
	ins := []*onnxpb.ValueInfoProto{
		valueInfo(InputIDs, i64, "b", "s"),
		valueInfo(AttentionMask, i64, "b", "t"),
	}
	if positionIDs {
		ins = append(ins, valueInfo(PositionIDs, i64, "b", "s"))
	}
	for i := 0; i < layers; i++ {
		ins = append(ins, valueInfo(PastKey(i), f32, "b", 2, "p", 8), valueInfo(PastValue(i), f32, "b", 2, "p", 8))
	}
	return ins
}

func optimumOutputs(layers, vocab int) []*onnxpb.ValueInfoProto {
	f32 := onnxpb.TensorProto_FLOAT
	outs := []*onnxpb.ValueInfoProto{valueInfo(Logits, f32, "b", "s", vocab)}
	for i := 0; i < layers; i++ {
		outs = append(outs, valueInfo(PresentKey(i), f32, "b", 2, "t", 8), valueInfo(PresentValue(i), f32, "b", 2, "t", 8))
	}
	return outs
}

// writeGraph writes a node-less ONNX model with the given interface: enough
// for Load, which never looks at nodes.
func writeGraph(t testing.TB, path string, ins, outs []*onnxpb.ValueInfoProto) {
	t.Helper()
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(irVersion),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opsetONNX)}},
		Graph:       &onnxpb.GraphProto{Name: proto.String("g"), Input: ins, Output: outs},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func graphFile(t *testing.T, ins, outs []*onnxpb.ValueInfoProto) string {
	path := filepath.Join(t.TempDir(), "model.onnx")
	writeGraph(t, path, ins, outs)
	return path
}

func writeFile(t *testing.T, name string, b []byte) string {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func copyFile(t *testing.T, src, name string) string {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(writeFile(t, name, b))
}

func buildBytes(t testing.TB, cfg Config, style string) []byte {
	var buf bytes.Buffer
	if err := Build(&buf, cfg, 1, style); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLoadExternalData: weights stored in a side file count in Params and
// Bytes; a missing side file is a one-line error naming it.
func TestLoadExternalData(t *testing.T) {
	dir := t.TempDir()
	ext := func(name string, dims ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{
			Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
			ExternalData: []*onnxpb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String("weights.bin")},
				{Key: proto.String("offset"), Value: proto.String("0")},
			},
		}
	}
	m := &onnxpb.ModelProto{
		IrVersion: proto.Int64(irVersion),
		Graph: &onnxpb.GraphProto{Name: proto.String("g"), Input: optimumInputs(1, true), Output: optimumOutputs(1, 96),
			Initializer: []*onnxpb.TensorProto{ext("a", 96, 16), ext("b", 16)}},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "model.onnx"), b, 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `"weights.bin", which is missing`) {
		t.Errorf("missing side file: err = %v", err)
	}
	os.WriteFile(filepath.Join(dir, "weights.bin"), make([]byte, 4*(96*16+16)), 0o644)
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Params != 96*16+16 || got.Bytes != int64(len(b)+4*(96*16+16)) {
		t.Errorf("Params, Bytes = %d, %d; want %d, %d", got.Params, got.Bytes, 96*16+16, len(b)+4*(96*16+16))
	}
}
