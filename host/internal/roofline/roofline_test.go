package roofline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

func TestTriad(t *testing.T) {
	tr, err := MeasureTriad(TriadOptions{Threads: 2, Elems: 1 << 16, Reps: 3})
	if err != nil {
		t.Fatal(err)
	}
	if tr.BestGBps <= 0 || tr.MedianGBps > tr.BestGBps || tr.BytesPerRep != 24<<16 || tr.ArrayBytes != 8<<16 {
		t.Errorf("%+v", tr)
	}
}

func TestTriadErrors(t *testing.T) {
	for name, o := range map[string]TriadOptions{
		"negative threads":         {Threads: -1},
		"fewer elems than threads": {Threads: 4, Elems: 3},
		"negative reps":            {Reps: -1},
	} {
		_, err := MeasureTriad(o)
		if err == nil || !strings.HasPrefix(err.Error(), "triad: ") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestKVBytesPerToken(t *testing.T) {
	// GPT-2 124M at 100 positions: 12 layers × key and value × 12 heads × 64.
	for _, tc := range []struct {
		kv   string
		size int64
	}{{"float32", 4}, {"float16", 2}, {"bfloat16", 2}} {
		m := &model.Model{Config: model.GPT2(), KVType: tc.kv}
		if got, want := KVBytesPerToken(m, 100), tc.size*2*12*100*12*64; got != want {
			t.Errorf("%s: got %d, want %d", tc.kv, got, want)
		}
	}
	if got := TokensPerSecond(21e9, 0); got != 0 {
		t.Errorf("zero bytes per token: %g", got)
	}
}

func tinyModel(t *testing.T) *model.Model {
	t.Helper()
	dir, err := model.Builtin("gpt2-tiny", 3, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBareLoopMatchesGenerator: the yardstick decodes the same tokens as
// pipe's generator, so the two are timed doing the same work.
func TestBareLoopMatchesGenerator(t *testing.T) {
	m := tinyModel(t)
	g, err := ortgen.Open(m, ortgen.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	b, err := NewBareLoop(bareModelOf(m), BareOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	prompt := []int64{3, 1, 4, 1, 5, 9, 2, 6}
	tr, err := g.Generate(context.Background(), gen.Request{Prompts: [][]int64{prompt}, NewTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Generate(prompt, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Tokens, tr.OutputIDs[0]) {
		t.Errorf("bare loop %v, generator %v", r.Tokens, tr.OutputIDs[0])
	}
	if r.TTFT <= 0 || r.E2E < r.TTFT || r.DecodeTPS <= 0 {
		t.Errorf("timings %+v", r)
	}
}

func TestBenchTiny(t *testing.T) {
	f, err := Bench(context.Background(), BenchOptions{
		Model: tinyModel(t), Engine: ortgen.Options{IntraOpThreads: 1},
		PromptTokens: []int{4, 16}, NewTokens: 4, Reps: 2, CompareSpinning: true,
		Triad: TriadOptions{Elems: 1 << 16, Reps: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	var engines []string
	for _, r := range f.Rows {
		engines = append(engines, r.Engine)
		if len(r.DecodeAll) != 2 || r.TTFTms <= 0 || r.DecodeTPS <= 0 || r.OfRoofline <= 0 {
			t.Errorf("row %+v", r)
		}
	}
	want := []string{"pipe", "bare", "pipe spinning", "bare spinning", "pipe", "bare", "pipe spinning", "bare spinning"}
	if !slices.Equal(engines, want) {
		t.Errorf("rows %v, want %v", engines, want)
	}
	if f.RooflineTPS <= 0 || f.Model.Runtime == "" || f.WeightRead <= 0 {
		t.Errorf("figures %+v", f)
	}
	_, err = Bench(context.Background(), BenchOptions{Model: tinyModel(t), PromptTokens: []int{120}, NewTokens: 20, Triad: TriadOptions{Elems: 1 << 12, Reps: 1}})
	if err == nil || !strings.Contains(err.Error(), "prompt 120 + 20 new tokens exceeds the model's 128 positions") {
		t.Errorf("overflow: %v", err)
	}
}

// TestBareLoopOnTheGeneratorsSession: the yardstick borrows the generator's
// session when the names match (gqa and fused builds alike), decodes the
// generator's tokens on it, and leaves it open on Close; a session created
// with other names is not borrowed.
func TestBareLoopOnTheGeneratorsSession(t *testing.T) {
	for _, style := range []string{model.StyleGQA, model.StyleFused} {
		m, err := model.OpenWith("gpt2-tiny", model.BuildOptions{Seed: 3, Style: style})
		if err != nil {
			t.Fatal(err)
		}
		g, err := ortgen.Open(m, ortgen.Options{IntraOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		b, session, err := openBare(m, g, BareOptions{IntraOpThreads: 1})
		if err != nil || session != BareOnGeneratorsSession {
			t.Fatalf("%s: openBare = %q, %v; want the generator's session", style, session, err)
		}
		prompt := []int64{5, 9, 77, 3, 200, 41}
		r, err := b.Generate(prompt, 6)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		tr, err := g.Generate(context.Background(), gen.Request{Prompts: [][]int64{prompt}, NewTokens: 6})
		if err != nil {
			t.Fatalf("%s: the generator after the borrowed bare loop closed: %v", style, err)
		}
		if !slices.Equal(r.Tokens, tr.OutputIDs[0]) {
			t.Errorf("%s: bare on the generator's session %v, generator %v", style, r.Tokens, tr.OutputIDs[0])
		}
		sess, in, out := g.Session()
		if _, ok := BareLoopOn(bareModelOf(m), sess, in[:len(in)-1], out); ok {
			t.Errorf("%s: a session whose names differ was borrowed", style)
		}
		g.Close()
	}
}

// TestBenchInterleavesPrompts: every rep runs each prompt length in turn
// (warm-ups first), so the flatness ratio pairs runs of the same rep; it is
// reported per engine from the first to the last prompt length.
func TestBenchInterleavesPrompts(t *testing.T) {
	var order []string
	f, err := Bench(context.Background(), BenchOptions{
		Model: tinyModel(t), Engine: ortgen.Options{IntraOpThreads: 1}, NoBare: true,
		PromptTokens: []int{4, 8, 16}, NewTokens: 3, Reps: 2,
		Triad:    TriadOptions{Elems: 1 << 12, Reps: 1},
		Progress: func(format string, args ...any) { order = append(order, fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, s := range order {
		if strings.HasPrefix(s, "prompt ") {
			runs = append(runs, s)
		}
	}
	want := []string{
		"prompt 4, pipe, run 1 of 3", "prompt 8, pipe, run 1 of 3", "prompt 16, pipe, run 1 of 3",
		"prompt 4, pipe, run 2 of 3", "prompt 8, pipe, run 2 of 3", "prompt 16, pipe, run 2 of 3",
		"prompt 4, pipe, run 3 of 3", "prompt 8, pipe, run 3 of 3", "prompt 16, pipe, run 3 of 3",
	}
	if !slices.Equal(runs, want) {
		t.Errorf("run order\n%v\nwant\n%v", runs, want)
	}
	if len(f.Rows) != 3 || f.Rows[0].PromptTokens != 4 || f.Rows[2].PromptTokens != 16 {
		t.Fatalf("rows %+v", f.Rows)
	}
	if len(f.Flatness) != 1 {
		t.Fatalf("flatness %+v, want one engine", f.Flatness)
	}
	fl := f.Flatness[0]
	lo, hi := f.Rows[2].DecodeAll, f.Rows[0].DecodeAll
	r0, r1 := lo[0]/hi[0], lo[1]/hi[1]
	if fl.Engine != "pipe" || fl.ShortTokens != 4 || fl.LongTokens != 16 || math.Abs(fl.Ratio-(r0+r1)/2) > 1e-12 {
		t.Errorf("flatness %+v, want pipe 4 → 16, the median of the paired ratios %v and %v", fl, r0, r1)
	}
}
