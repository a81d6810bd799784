package ortgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/gen"
)

func openFixture(t *testing.T) *Generator {
	t.Helper()
	g, err := openLayout(fixtureLayout(t, torchFixture), Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func generate(t *testing.T, g *Generator, req gen.Request) *gen.Trace {
	t.Helper()
	tr, err := g.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestPrefillLogitsMatchTorch compares the last position's logits after the
// prefill with the ones PyTorch computed.
func TestPrefillLogitsMatchTorch(t *testing.T) {
	g := openFixture(t)
	for i, c := range readExpected(t, torchFixture).Cases {
		generate(t, g, gen.Request{Prompts: [][]int64{c.Prompt}, NewTokens: 1})
		p := len(c.Prompt)
		got := g.buf.logits[(p-1)*g.lay.vocab : p*g.lay.vocab]
		worst := 0.0
		for j, want := range c.PrefillLastLogits {
			worst = max(worst, math.Abs(float64(got[j])-want))
		}
		if worst > 1e-4 {
			t.Errorf("case %d: logits differ from PyTorch's by up to %g", i, worst)
		}
	}
}

// TestCacheEqualsRecompute: the token decoded with the KV cache after k steps
// is the token a fresh prefill of prompt + k generated tokens predicts.
func TestCacheEqualsRecompute(t *testing.T) {
	g := openFixture(t)
	c := readExpected(t, torchFixture).Cases[0]
	for k := 1; k < len(c.Greedy); k += 3 {
		prompt := append(slices.Clone(c.Prompt), c.Greedy[:k]...)
		tr := generate(t, g, gen.Request{Prompts: [][]int64{prompt}, NewTokens: 1})
		if tr.OutputIDs[0][0] != c.Greedy[k] {
			t.Errorf("after %d tokens: recompute gives %d, cached decoding gave %d", k, tr.OutputIDs[0][0], c.Greedy[k])
		}
	}
}

// TestBatchLeftPadding: rows of different lengths in one batch give each the
// tokens it gets alone.
func TestBatchLeftPadding(t *testing.T) {
	g := openFixture(t)
	exp := readExpected(t, torchFixture)
	var prompts, want [][]int64
	for _, c := range exp.Cases {
		prompts = append(prompts, c.Prompt)
		want = append(want, c.Greedy)
	}
	for name, order := range map[string][]int{"long first": {0, 1}, "short first": {1, 0}} {
		t.Run(name, func(t *testing.T) {
			req := gen.Request{NewTokens: exp.NewTokens}
			var w [][]int64
			for _, i := range order {
				req.Prompts = append(req.Prompts, prompts[i])
				w = append(w, want[i])
			}
			tr := generate(t, g, req)
			if d := cmp.Diff(w, tr.OutputIDs); d != "" {
				t.Errorf("batch output differs from each row alone (-alone +batch):\n%s", d)
			}
			if d := cmp.Diff([]int{len(req.Prompts[0]), len(req.Prompts[1])}, tr.PromptTokens); d != "" {
				t.Errorf("prompt tokens (-want +got):\n%s", d)
			}
		})
	}
}

func TestTraceTiming(t *testing.T) {
	g := openFixture(t)
	for _, n := range []int{1, 2, 17} {
		tr := generate(t, g, gen.Request{Prompts: [][]int64{{1, 2, 3}, {4}}, NewTokens: n, TokenizeNS: 5})
		if len(tr.TokenNS) != n || len(tr.RunNS) != n {
			t.Fatalf("n=%d: %d timestamps, %d run times", n, len(tr.TokenNS), len(tr.RunNS))
		}
		for r, row := range tr.OutputIDs {
			if len(row) != n {
				t.Errorf("n=%d: row %d has %d tokens", n, r, len(row))
			}
		}
		if tr.TokenNS[0] <= 0 || tr.TokenizeNS != 5 || tr.StartUnixNano == 0 {
			t.Errorf("n=%d: first token at %d ns, tokenize %d, start %d", n, tr.TokenNS[0], tr.TokenizeNS, tr.StartUnixNano)
		}
		var inRun int64
		for i, ts := range tr.TokenNS {
			if i > 0 && ts < tr.TokenNS[i-1] {
				t.Errorf("n=%d: timestamp %d goes backwards", n, i)
			}
			inRun += tr.RunNS[i]
			if inRun > ts {
				t.Errorf("n=%d: %d ns inside Run before token %d at %d ns", n, inRun, i, ts)
			}
		}
	}
}

func TestStopAtEOS(t *testing.T) {
	g := openFixture(t)
	c := readExpected(t, torchFixture).Cases[0]
	g.lay.eos = c.Greedy[3] // pretend the 4th greedy token is EOS
	tr := generate(t, g, gen.Request{Prompts: [][]int64{c.Prompt}, NewTokens: 10, StopAtEOS: true})
	if d := cmp.Diff(c.Greedy[:4], tr.OutputIDs[0]); d != "" {
		t.Errorf("StopAtEOS (-want +got):\n%s", d)
	}
	tr = generate(t, g, gen.Request{Prompts: [][]int64{c.Prompt}, NewTokens: 10})
	if len(tr.OutputIDs[0]) != 10 {
		t.Errorf("EOS not ignored by default: %d tokens", len(tr.OutputIDs[0]))
	}
}

func TestSampling(t *testing.T) {
	g := openFixture(t)
	c := readExpected(t, torchFixture).Cases[0]
	run := func(s gen.Sampling) []int64 {
		return generate(t, g, gen.Request{Prompts: [][]int64{c.Prompt}, NewTokens: 12, Sampling: s}).OutputIDs[0]
	}
	hot := gen.Sampling{Temperature: 1.5, Seed: 7}
	a, b := run(hot), run(hot)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different tokens: %v vs %v", a, b)
	}
	differs := false
	for seed := uint64(8); seed < 12 && !differs; seed++ {
		differs = !slices.Equal(a, run(gen.Sampling{Temperature: 1.5, Seed: seed}))
	}
	if !differs {
		t.Errorf("four other seeds all gave %v: the seed is not used", a)
	}
	for name, s := range map[string]gen.Sampling{
		"top_k=1":     {Temperature: 1, TopK: 1, Seed: 3},
		"tiny top_p":  {Temperature: 1, TopP: 1e-9, Seed: 3},
		"temperature": {Temperature: 1e-4, Seed: 3},
	} {
		if got := run(s); !slices.Equal(got, c.Greedy) {
			t.Errorf("%s must reduce to greedy %v, got %v", name, c.Greedy, got)
		}
	}
}

func TestSamplerTopK(t *testing.T) {
	logits := []float32{0.1, 5, 3, 4, -1, 4.5}
	sm := newSampler(gen.Sampling{Temperature: 100, TopK: 3, Seed: 1}, len(logits))
	seen := map[int64]int{}
	for range 3000 {
		seen[sm.next(logits)]++
	}
	for id := range seen {
		if id != 1 && id != 5 && id != 3 {
			t.Errorf("top_k=3 drew id %d (logit %g), outside the three best", id, logits[id])
		}
	}
	if len(seen) != 3 {
		t.Errorf("a flat temperature should reach all three candidates, saw %v", seen)
	}
}

func TestRequestErrors(t *testing.T) {
	g := openFixture(t)
	long := make([]int64, 60)
	tests := []struct {
		name string
		req  gen.Request
		want string
	}{
		{"context overflow", gen.Request{Prompts: [][]int64{long}, NewTokens: 5}, "prompt of 60 tokens + 5 new tokens = 65 exceeds the model's 64 positions"},
		{"no rows", gen.Request{NewTokens: 5}, "no prompt rows"},
		{"empty row", gen.Request{Prompts: [][]int64{{1}, {}}, NewTokens: 5}, "prompt row 1 is empty"},
		{"zero tokens", gen.Request{Prompts: [][]int64{{1}}}, "new tokens 0 < 1"},
		{"id outside vocab", gen.Request{Prompts: [][]int64{{1, 96}}, NewTokens: 1}, "token id 96 outside the model's vocabulary [0, 96)"},
		{"negative id", gen.Request{Prompts: [][]int64{{-1}}, NewTokens: 1}, "token id -1"},
		{"bad top_p", gen.Request{Prompts: [][]int64{{1}}, NewTokens: 1, Sampling: gen.Sampling{Temperature: 1, TopP: 2}}, "0 ≤ top_p ≤ 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Generate(context.Background(), tc.req)
			checkErr(t, err, tc.want)
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := g.Generate(ctx, gen.Request{Prompts: [][]int64{{1}}, NewTokens: 3})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

// checkErr wants a one-line error containing want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	t.Logf("error: %v", err)
	if msg := err.Error(); !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line containing %q", msg, want)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notLib := filepath.Join(dir, "libonnxruntime.so")
	os.WriteFile(notLib, []byte("not a library\n"), 0o644)
	self, _ := os.Executable()
	lay := fixtureLayout(t, torchFixture)
	tests := []struct {
		name string
		opts Options
		env  map[string]string
		want string
	}{
		{"missing library", Options{}, map[string]string{"PIPE_CACHE": dir, "PIPE_ORT_LIB": ""}, assets.ErrORTMissing.Error()},
		{"missing explicit library", Options{LibPath: filepath.Join(dir, "nope.so")}, nil, "nope.so"},
		{"text file", Options{LibPath: notLib}, nil, "is not an ONNX Runtime library (not an ELF shared object)"},
		{"ELF without ORT", Options{LibPath: self}, nil, "is not an ONNX Runtime library (no "},
		{"unknown device", Options{Device: "tpu"}, nil, `unknown device "tpu": use "cpu" or "cuda"`},
		{"negative intra threads", Options{IntraOpThreads: -1}, nil, "intra-op threads -1 < 0"},
		{"negative inter threads", Options{InterOpThreads: -2}, nil, "inter-op threads -2 < 0"},
		{"unknown opt level", Options{OptLevel: "max"}, nil, `unknown graph optimization level "max"`},
		{"cuda without provider", Options{Device: "cuda"}, nil, "CUDA execution provider not available: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			g, err := openLayout(lay, tc.opts)
			if err == nil {
				g.Close()
			}
			checkErr(t, err, tc.want)
		})
	}
	t.Run("not an onnx file", func(t *testing.T) {
		bad := lay
		bad.path = notLib
		_, err := openLayout(bad, Options{})
		checkErr(t, err, "open model "+notLib)
	})
}

func TestVersionLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1.23.2", "1.24.0", true},
		{"1.24.0", "1.24.0", false},
		{"1.29.0", "1.24.0", false},
		{"1.9", "1.24", true},
		{"2.0", "1.24.0", false},
	}
	for _, tc := range tests {
		if got := versionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("versionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestInfo(t *testing.T) {
	g := openFixture(t)
	info := g.Info()
	if info.KVHeads != 2 || info.Heads != 4 || info.Layers != 2 || info.Vocab != 96 {
		t.Errorf("shape: %+v", info)
	}
	if !strings.HasPrefix(info.Runtime, "onnxruntime 1.") || info.RuntimePath == "" || info.LoadNS <= 0 || info.Device != "cpu" {
		t.Errorf("runtime: %q at %q, load %d ns, device %q", info.Runtime, info.RuntimePath, info.LoadNS, info.Device)
	}
}

func TestArgmax(t *testing.T) {
	tests := []struct {
		name string
		xs   []float32
		want int64
	}{
		{"one", []float32{3}, 0},
		{"last of five", []float32{1, 2, 3, 4, 5}, 4},
		{"first of ties across lanes", []float32{1, 9, 0, 0, 0, 9, 9, 0}, 1},
		{"tie in the tail", []float32{0, 0, 0, 0, 7, 7}, 4},
		{"tail beats lanes", []float32{1, 1, 1, 1, 1, 1, 1, 1, 2}, 8},
		{"negative", []float32{-5, -3, -4, -3.5, -9}, 1},
		{"lane 3", []float32{0, 0, 0, 8, 1, 1, 1, 1}, 3},
	}
	for _, tc := range tests {
		if got := argmax(tc.xs); got != tc.want {
			t.Errorf("%s: argmax(%v) = %d, want %d", tc.name, tc.xs, got, tc.want)
		}
	}
}

// TestConcurrentRequests: requests from several goroutines on one generator
// (streams sharing the session) give what each gives alone.
func TestConcurrentRequests(t *testing.T) {
	g := openFixture(t)
	if !g.ConcurrentSafe() {
		t.Fatal("the Go-memory cache path must be safe for concurrent use")
	}
	reqs := []gen.Request{
		{Prompts: [][]int64{{5, 17, 42, 8, 91, 3, 60}}, NewTokens: 12},
		{Prompts: [][]int64{{11, 2, 77}, {1, 2, 3, 4, 5, 6}}, NewTokens: 9},
		{Prompts: [][]int64{{9}}, NewTokens: 30, Sampling: gen.Sampling{Temperature: 0.9, TopK: 10, Seed: 5}},
		{Prompts: [][]int64{make([]int64, 40)}, NewTokens: 20},
	}
	want := make([][][]int64, len(reqs))
	for i, r := range reqs {
		want[i] = generate(t, g, r).OutputIDs
	}
	const streams = 4
	errs := make(chan string, streams*len(reqs)*3)
	var wg sync.WaitGroup
	for s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 3 * len(reqs) {
				i := (s + k) % len(reqs)
				tr, err := g.Generate(context.Background(), reqs[i])
				if err != nil {
					errs <- err.Error()
					return
				}
				if d := cmp.Diff(want[i], tr.OutputIDs); d != "" {
					errs <- fmt.Sprintf("stream %d, request %d (-alone +concurrent):\n%s", s, i, d)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestCloseWaitsAndRefuses(t *testing.T) {
	g, err := openLayout(fixtureLayout(t, torchFixture), Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := g.Generate(context.Background(), gen.Request{Prompts: [][]int64{{1, 2, 3}}, NewTokens: 50})
		done <- err
	}()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil && err.Error() != "generator is closed" {
		t.Errorf("request beside Close: %v", err)
	}
	_, err = g.Generate(context.Background(), gen.Request{Prompts: [][]int64{{1}}, NewTokens: 1})
	checkErr(t, err, "generator is closed")
}
