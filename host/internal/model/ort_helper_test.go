package model

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/assets"
	ort "github.com/yalue/onnxruntime_go"
)

var ortEnv struct {
	once sync.Once
	err  error
}

// requireORT loads the ONNX Runtime library once per test binary. A missing
// library fails the test with the fix (`pipe setup`).
func requireORT(t testing.TB) {
	t.Helper()
	ortEnv.once.Do(func() {
		lib, err := assets.ORTLibrary("")
		if err != nil {
			ortEnv.err = err
			return
		}
		ort.SetSharedLibraryPath(lib)
		ortEnv.err = ort.InitializeEnvironment()
	})
	if ortEnv.err != nil {
		t.Fatalf("onnx runtime: %v", ortEnv.err)
	}
}

// ortRunner runs single forward passes of a model in the optimum layout.
type ortRunner struct {
	m     *Model
	sess  *ort.DynamicAdvancedSession
	runNS int64 // the last step's Run call alone, for benchmarks
}

func newRunner(t testing.TB, dir string) *ortRunner {
	t.Helper()
	requireORT(t)
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	outs := []string{Logits}
	for i := 0; i < m.Config.Layers; i++ {
		k, v := m.KVOutput(i)
		outs = append(outs, k, v)
	}
	sess, err := ort.NewDynamicAdvancedSession(m.Path, m.InputNames, outs, opts)
	if err != nil {
		t.Fatalf("session for %s: %v", m.Path, err)
	}
	t.Cleanup(func() { sess.Destroy() })
	return &ortRunner{m: m, sess: sess}
}

// stepOut is one forward pass's result: logits [b][rows][vocab] for the
// positions first … s − 1 (every position, or the last one only when the
// graph's head computes that: first = s − 1) and the present cache (2 per
// layer: key, value), owned by the caller.
type stepOut struct {
	logits  [][][]float32
	first   int
	present []*ort.Tensor[float32]
}

func (o *stepOut) destroy() {
	for _, p := range o.present {
		p.Destroy()
	}
}

// step runs one pass. past is nil for prefill (empty caches).
func (r *ortRunner) step(t testing.TB, ids, mask, pos [][]int64, past []*ort.Tensor[float32]) *stepOut {
	t.Helper()
	c := r.m.Config
	b, s := len(ids), len(ids[0])
	var owned []ort.Value
	defer func() {
		for _, v := range owned {
			v.Destroy()
		}
	}()
	int64Tensor := func(rows [][]int64) ort.Value {
		flat := make([]int64, 0, len(rows)*len(rows[0]))
		for _, row := range rows {
			flat = append(flat, row...)
		}
		v, err := ort.NewTensor(ort.NewShape(int64(len(rows)), int64(len(rows[0]))), flat)
		if err != nil {
			t.Fatal(err)
		}
		owned = append(owned, v)
		return v
	}
	if past == nil {
		for i := 0; i < 2*c.Layers; i++ {
			v, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(b), int64(c.KVHeads), 0, int64(c.HeadDim)))
			if err != nil {
				t.Fatal(err)
			}
			owned = append(owned, v)
			past = append(past, v)
		}
	}
	inputs := make([]ort.Value, len(r.m.InputNames))
	for i, name := range r.m.InputNames {
		switch name {
		case InputIDs:
			inputs[i] = int64Tensor(ids)
		case AttentionMask:
			inputs[i] = int64Tensor(mask)
		case PositionIDs:
			inputs[i] = int64Tensor(pos)
		default:
			sm := pastRE.FindStringSubmatch(name)
			if sm == nil {
				t.Fatalf("unexpected input %q", name)
			}
			var layer int
			for _, ch := range sm[1] {
				layer = 10*layer + int(ch-'0')
			}
			idx := 2 * layer
			if sm[2] == "value" {
				idx++
			}
			inputs[i] = past[idx]
		}
	}
	outputs := make([]ort.Value, 1+2*c.Layers)
	t0 := time.Now()
	err := r.sess.Run(inputs, outputs)
	r.runNS = time.Since(t0).Nanoseconds()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	lt := outputs[0].(*ort.Tensor[float32])
	defer lt.Destroy()
	rows := s
	if r.m.LogitsLastOnly {
		rows = 1
	}
	if got := lt.GetShape(); len(got) != 3 || got[0] != int64(b) || got[1] != int64(rows) || got[2] != int64(c.Vocab) {
		t.Fatalf("logits shape %v, want [%d %d %d]", got, b, rows, c.Vocab)
	}
	data := lt.GetData()
	out := &stepOut{logits: make([][][]float32, b), first: s - rows}
	for i := range b {
		out.logits[i] = make([][]float32, rows)
		for j := range rows {
			off := (i*rows + j) * c.Vocab
			out.logits[i][j] = append([]float32(nil), data[off:off+c.Vocab]...)
		}
	}
	for _, v := range outputs[1:] {
		out.present = append(out.present, v.(*ort.Tensor[float32]))
	}
	return out
}

// maxAbsDiff returns the largest |a[i] − b[i]|.
func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// checkPrefillThenDecode runs ids[:prompt] through r in one step, then the
// rest one token per step (each step's present fed back as past), and
// compares every prefill position the graph computes and every decode step's logits with
// want[position].
func checkPrefillThenDecode(t testing.TB, r *ortRunner, ids []int64, prompt int, want [][]float32) {
	t.Helper()
	in, mask, pos := seqInputs(ids[:prompt])
	out := r.step(t, in, mask, pos, nil)
	for j, row := range out.logits[0] {
		if d := maxAbsDiff(row, want[out.first+j]); d > tol {
			t.Errorf("prefill position %d: max |ort − reference| = %.3g > %g", out.first+j, d, tol)
		}
	}
	for n := prompt; n < len(ids); n++ {
		_, mask, _ = seqInputs(ids[:n+1])
		next := r.step(t, [][]int64{{ids[n]}}, mask, [][]int64{{int64(n)}}, out.present)
		out.destroy()
		out = next
		if d := maxAbsDiff(out.logits[0][0], want[n]); d > tol {
			t.Errorf("decode after %d tokens: max |ort − reference| = %.3g > %g", n+1, d, tol)
		}
	}
	out.destroy()
}

// checkOneLineError fails t unless err's message is one line holding every
// string in want.
func checkOneLineError(t testing.TB, err error, want []string) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
}

// seqInputs returns one row's ids, mask and positions 0..n-1.
func seqInputs(ids []int64) (i, m, p [][]int64) {
	mask := make([]int64, len(ids))
	pos := make([]int64, len(ids))
	for j := range ids {
		mask[j], pos[j] = 1, int64(j)
	}
	return [][]int64{ids}, [][]int64{mask}, [][]int64{pos}
}

// concatStyles are the graph styles ortRunner drives: the optimum layout
// with every position's logits and the cache grown by concatenation
// (StyleGQA has its own runner, gqaRunner).
var concatStyles = []string{StyleOptimum, StyleFused}
