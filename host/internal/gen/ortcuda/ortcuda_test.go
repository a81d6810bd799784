package ortcuda_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/pipe-bench/pipe/host/internal/gen/ortcuda"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/safetensors"
)

// tiny loads the runtime and returns the built-in tiny GPT-2 (whose LM
// head runs on the last position only) and its layout.
func tiny(t *testing.T) (*model.Model, ortcuda.Layout) {
	t.Helper()
	dir, err := model.Builtin("gpt2-tiny", 7, model.StyleOptimum)
	if err != nil {
		t.Fatal(err)
	}
	return layoutOf(t, dir)
}

// torchFixture is ortgen's model from torch.onnx.export: logits for every
// position, as optimum's exports.
const torchFixture = "../ortgen/testdata/torch-gpt2-tiny-gqa"

// layoutOf loads the runtime and the model in dir and returns its layout.
func layoutOf(t *testing.T, dir string) (*model.Model, ortcuda.Layout) {
	t.Helper()
	rt, err := ortgen.Init("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ortcuda.Load(rt.Path); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config
	l := ortcuda.Layout{InputIDs: m.IO.InputIDs, AttentionMask: m.IO.AttentionMask, Logits: m.IO.Logits, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Vocab: c.Vocab,
		LogitsLastOnly: m.LogitsLastOnly}
	if m.HasPositionIDs {
		l.PositionIDs = "position_ids"
	}
	for i := range c.Layers {
		k, v := m.KVInput(i)
		pk, pv := m.KVOutput(i)
		l.Past, l.Present = append(l.Past, k, v), append(l.Present, pk, pv)
	}
	return m, l
}

func oneLine(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	t.Logf("error: %v", err)
	if msg := err.Error(); !strings.Contains(msg, want) || strings.Contains(msg, "\n") || strings.Contains(msg, "onnxruntime_src") {
		t.Errorf("error %q: want one line containing %q, without the runtime's source location", msg, want)
	}
}

func TestOpenErrors(t *testing.T) {
	m, good := tiny(t)
	noLogits := good
	noLogits.Logits = ""
	odd := good
	odd.Past = good.Past[:len(good.Past)-1]
	zeroVocab := good
	zeroVocab.Vocab = 0
	wrongName := good
	wrongName.Present = append([]string{"present.nope"}, good.Present[1:]...)
	tests := []struct {
		name  string
		path  string
		l     ortcuda.Layout
		o     ortcuda.Options
		want  string
		isErr error
	}{
		{"no logits name", m.Path, noLogits, ortcuda.Options{}, "input_ids, attention_mask and logits names are required", nil},
		{"odd past names", m.Path, odd, ortcuda.Options{}, "need key and value per layer", nil},
		{"zero vocab", m.Path, zeroVocab, ortcuda.Options{}, "vocab 0: each must be ≥ 1", nil},
		{"negative device", m.Path, good, ortcuda.Options{DeviceID: -1}, "device id -1 < 0", nil},
		{"missing model", filepath.Join(t.TempDir(), "model.onnx"), good, ortcuda.Options{}, "create session: ", nil},
		{"bad session entry", m.Path, good, ortcuda.Options{Config: map[string]string{"session.intra_op.allow_spinning": "maybe"}}, "", nil},
		{"cuda without provider", m.Path, good, ortcuda.Options{CUDA: true}, "CUDA execution provider not available: ", ortcuda.ErrNoCUDA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ortcuda.Open(tc.path, tc.l, tc.o)
			if err == nil {
				d.Close()
				if tc.o.CUDA || tc.want == "" {
					t.Skip("accepted here (a GPU, or a runtime that checks the entry only when it runs)")
				}
			}
			oneLine(t, err, tc.want)
			if tc.isErr != nil && !errors.Is(err, tc.isErr) {
				t.Errorf("error does not wrap %v", tc.isErr)
			}
		})
	}
	t.Run("unknown output name", func(t *testing.T) {
		d, err := ortcuda.Open(m.Path, wrongName, ortcuda.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ids, mask := []int64{1, 2, 3}, []int64{1, 1, 1}
		_, err = d.Step(1, 3, 0, ids, mask, []int64{0, 1, 2}, make([]float32, 3*good.Vocab))
		oneLine(t, err, "present.nope")
	})
}

func TestStepErrors(t *testing.T) {
	m, l := tiny(t)
	d, err := ortcuda.Open(m.Path, l, ortcuda.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p := d.LogitsPath(); p != "cpu" {
		t.Errorf("logits path %q on the CPU provider", p)
	}
	V := l.Vocab
	ids, mask, pos := []int64{5, 6, 7}, []int64{1, 1, 1}, []int64{0, 1, 2}
	tests := []struct {
		name             string
		batch, seq, past int
		ids, mask, pos   []int64
		logits           []float32
		want             string
	}{
		{"zero batch", 0, 3, 0, ids, mask, pos, make([]float32, 3*V), "need batch ≥ 1, seq ≥ 1, past ≥ 0"},
		{"short ids", 1, 4, 0, ids, append(mask, 1), append(pos, 3), make([]float32, 4*V), "3 ids"},
		{"short mask", 1, 3, 2, ids, mask, pos, make([]float32, 3*V), "3 mask"},
		{"short logits", 1, 3, 0, ids, mask, pos, make([]float32, V-1), "logits buffer holds 511 values, need 512"},
		{"short logits for the batch", 2, 1, 0, append(ids, 8), append(mask, 1), append(pos, 0), make([]float32, V), "logits buffer holds 512 values, need 1024"},
		{"past without a cache", 1, 1, 3, ids[:1], append(mask, 1), pos[:1], make([]float32, V), "no cached past"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Step(tc.batch, tc.seq, tc.past, tc.ids, tc.mask, tc.pos, tc.logits)
			oneLine(t, err, tc.want)
		})
	}
	t.Run("cache then decode", func(t *testing.T) {
		logits := make([]float32, 3*V)
		if _, err := d.Step(1, 3, 0, ids, mask, pos, logits); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Step(1, 1, 3, []int64{9}, []int64{1, 1, 1, 1}, []int64{3}, logits); err != nil {
			t.Errorf("decode on the cached prefill: %v", err)
		}
		// A wrong past length is the runtime's to refuse, in one line.
		_, err := d.Step(1, 1, 7, []int64{9}, make([]int64, 8), []int64{3}, logits)
		oneLine(t, err, "run: ")
	})
	d.Close()
	_, err = d.Step(1, 3, 0, ids, mask, pos, make([]float32, 3*V))
	oneLine(t, err, "decoder is closed")
}

func TestLoadMissingLibrary(t *testing.T) {
	if _, err := ortgen.Init(""); err != nil {
		t.Skip(err)
	}
	// Once bound, Load keeps the first library: a second path is ignored
	// rather than mixing two runtimes in one process.
	if _, err := ortcuda.Load(filepath.Join(t.TempDir(), "nope.so")); err != nil && !strings.Contains(err.Error(), "nope.so") {
		t.Errorf("error %v does not name the library", err)
	}
}

// TestStepLastPositionLogits: on a graph whose LM head runs on the last
// position only (every graph pipe builds), a step fills a batch×vocab
// buffer — the prefill of two rows and the cached decode step after it —
// with the plain-Go reference's last-position logits (within 1e-4). A
// graph with every position's logits (torch's export) still needs
// batch×seq×vocab, and the same graph described as last-position-only is
// refused in one line instead of written past the buffer.
func TestStepLastPositionLogits(t *testing.T) {
	m, l := tiny(t)
	if !l.LogitsLastOnly {
		t.Fatal("the built-in tiny GPT-2 computes every position's logits: want the last position only")
	}
	d, err := ortcuda.Open(m.Path, l, ortcuda.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	V := l.Vocab
	rows := [][]int64{{17, 300, 4, 99}, {5, 6, 400, 2}}
	ids := append(append([]int64(nil), rows[0]...), rows[1]...)
	mask := []int64{1, 1, 1, 1, 1, 1, 1, 1}
	pos := []int64{0, 1, 2, 3, 0, 1, 2, 3}
	logits := make([]float32, 2*V)
	check := func(step string, seqs [][]int64) {
		t.Helper()
		for r, seq := range seqs {
			ref := model.ReferenceLogits(m.Config, 7, seq)
			want, got := ref[len(ref)-1], logits[r*V:(r+1)*V]
			worst := 0.0
			for j := range want {
				worst = max(worst, math.Abs(float64(got[j]-want[j])))
			}
			if worst > 1e-4 {
				t.Errorf("%s, row %d: logits differ from the reference by up to %g", step, r, worst)
			}
		}
	}
	if _, err := d.StepRows(2, 4, 0, ids, mask, pos, nil, f32Bytes(logits)); err != nil {
		t.Fatalf("prefill into a batch×vocab buffer: %v", err)
	}
	check("prefill", rows)
	next := []int64{33, 44}
	if _, err := d.Step(2, 1, 4, next, append(mask, 1, 1), []int64{4, 4}, logits); err != nil {
		t.Fatalf("decode: %v", err)
	}
	check("decode", [][]int64{append(rows[0], next[0]), append(rows[1], next[1])})

	tm, tl := layoutOf(t, torchFixture)
	if tl.LogitsLastOnly {
		t.Fatal("torch's export reads as last-position-only")
	}
	all, err := ortcuda.Open(tm.Path, tl, ortcuda.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	TV := tl.Vocab
	tids, tmask, tpos := []int64{1, 2, 3}, []int64{1, 1, 1}, []int64{0, 1, 2}
	_, err = all.Step(1, 3, 0, tids, tmask, tpos, make([]float32, TV))
	oneLine(t, err, fmt.Sprintf("logits buffer holds %d values, need %d", TV, 3*TV))
	if _, err := all.Step(1, 3, 0, tids, tmask, tpos, make([]float32, 3*TV)); err != nil {
		t.Errorf("every-position graph with a batch×seq×vocab buffer: %v", err)
	}
	tl.LogitsLastOnly = true
	wrong, err := ortcuda.Open(tm.Path, tl, ortcuda.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	_, err = wrong.Step(1, 3, 0, tids, tmask, tpos, make([]float32, TV))
	oneLine(t, err, fmt.Sprintf("%d logits for batch x vocab: %d", TV, 3*TV))
}

func f32Bytes(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// TestStepFP16: the decoder runs an fp16 build (float16 cache and logits,
// model.PrecisionFP16) on the CPU provider: a 2-row prefill and a decode
// step write 2-byte logits that, widened, equal the fp32 build's within
// 2⁻⁶ of the logits' scale (float16's 11 bits through a two-layer model;
// host/internal/model's TestFP16MatchesFP32 derives the bound), in every
// graph style.
func TestStepFP16(t *testing.T) {
	for _, style := range model.Styles {
		t.Run(style, func(t *testing.T) {
			open := func(precision string) (*ortcuda.Decoder, ortcuda.Layout) {
				dir, err := model.BuiltinWith("gpt2-tiny", model.BuildOptions{Seed: 7, Style: style, Precision: precision})
				if err != nil {
					t.Fatal(err)
				}
				m, l := layoutOf(t, dir)
				if precision == model.PrecisionFP16 {
					if m.KVType != "float16" || m.LogitsType != "float16" {
						t.Fatalf("fp16 build: cache %s, logits %s", m.KVType, m.LogitsType)
					}
					l.KVType, l.LogitsType = ortcuda.ElemFloat16, ortcuda.ElemFloat16
				}
				d, err := ortcuda.Open(m.Path, l, ortcuda.Options{IntraOpThreads: 1})
				if err != nil {
					t.Fatalf("%s: %v", precision, err)
				}
				t.Cleanup(func() { d.Close() })
				return d, l
			}
			d32, l := open(model.PrecisionFP32)
			d16, _ := open(model.PrecisionFP16)
			V := l.Vocab
			ids := []int64{17, 300, 4, 99, 5, 6, 400, 2}
			mask := []int64{1, 1, 1, 1, 1, 1, 1, 1}
			pos := []int64{0, 1, 2, 3, 0, 1, 2, 3}
			if l.PositionIDs == "" {
				pos = nil
			}
			compare := func(step string, run func(d *ortcuda.Decoder, logits []byte) error) {
				t.Helper()
				want := make([]float32, 2*V)
				if err := run(d32, f32Bytes(want)); err != nil {
					t.Fatalf("%s fp32: %v", step, err)
				}
				// 2×vocab float16 logits, then a guard the decoder must not
				// write (a 4-byte element size would).
				half := make([]uint16, 4*V)
				for j := 2 * V; j < len(half); j++ {
					half[j] = 0xffff
				}
				if err := run(d16, unsafe.Slice((*byte)(unsafe.Pointer(&half[0])), 2*2*V)); err != nil {
					t.Fatalf("%s fp16: %v", step, err)
				}
				for j := 2 * V; j < len(half); j++ {
					if half[j] != 0xffff {
						t.Fatalf("%s fp16: the decoder wrote past the 2×vocab logits (element %d)", step, j)
					}
				}
				worst, scale := 0.0, 1.0
				for j, w := range want {
					worst = max(worst, math.Abs(float64(safetensors.F16ToFloat32(half[j])-w)))
					scale = max(scale, math.Abs(float64(w)))
				}
				if worst/scale > 1.0/64 {
					t.Errorf("%s: fp16 logits differ from fp32 by %.3g of the scale", step, worst/scale)
				}
			}
			compare("prefill", func(d *ortcuda.Decoder, logits []byte) error {
				_, err := d.StepRows(2, 4, 0, ids, mask, pos, nil, logits)
				return err
			})
			var npos []int64
			if pos != nil {
				npos = []int64{4, 4}
			}
			compare("decode", func(d *ortcuda.Decoder, logits []byte) error {
				_, err := d.StepRows(2, 1, 4, []int64{33, 44}, append(mask, 1, 1), npos, nil, logits)
				return err
			})
		})
	}
}
