package ortprof_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/ortprof"
)

// profileTiny runs two requests of newTokens on the built-in tiny GPT-2
// (gqa style) with ONNX Runtime's profiler on and returns the profile's
// path and each request's Run count.
func profileTiny(t *testing.T, newTokens int) (string, []int) {
	t.Helper()
	dir, err := model.Builtin("gpt2-tiny", 7, model.StyleGQA)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(t.TempDir(), "tiny")
	g, err := ortgen.Open(m, ortgen.Options{IntraOpThreads: 1, ProfilePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, p := range [][]int64{{1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11}} {
		tr, err := g.Generate(context.Background(), gen.Request{Prompts: [][]int64{p}, NewTokens: newTokens})
		if err != nil {
			g.Close()
			t.Fatal(err)
		}
		sizes = append(sizes, len(tr.TokenNS))
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	path, err := ortgen.ProfileFile(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return path, sizes
}

// TestRealProfile reads the profile a real session wrote: one model_run
// per Run (a prefill and newTokens − 1 decode steps per request), every Run
// with the graph's kernels, GroupQueryAttention among them, the shares
// adding to 1 and the time outside kernels a fraction of the Run.
func TestRealProfile(t *testing.T) {
	const newTokens = 5
	path, sizes := profileTiny(t, newTokens)
	if len(sizes) != 2 || sizes[0] != newTokens || sizes[1] != newTokens {
		t.Fatalf("requests ran %v steps, want %d each", sizes, newTokens)
	}
	p, err := ortprof.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Runs) != 2*newTokens {
		t.Fatalf("%d Runs in the profile, want %d", len(p.Runs), 2*newTokens)
	}
	nodes := len(p.Runs[0].Kernels)
	for i, r := range p.Runs {
		if len(r.Kernels) == 0 || r.KernelUS() > r.US {
			t.Errorf("run %d: %d kernels, %d µs of kernels in a %d µs Run", i, len(r.Kernels), r.KernelUS(), r.US)
		}
		gqa := 0
		for _, k := range r.Kernels {
			if k.Op == "" || k.Provider != "CPUExecutionProvider" || k.Node == "" || strings.HasSuffix(k.Node, "_kernel_time") {
				t.Fatalf("run %d: kernel %+v: want a node name, an op type and the CPU provider", i, k)
			}
			if k.Op == "GroupQueryAttention" {
				gqa++
			}
		}
		if gqa != 2 { // gpt2-tiny has two layers
			t.Errorf("run %d: %d GroupQueryAttention kernels, want one per layer (2)", i, gqa)
		}
		if len(r.Kernels) != nodes {
			t.Errorf("run %d ran %d kernels, run 0 ran %d: every Run executes the same graph", i, len(r.Kernels), nodes)
		}
	}
	prefill, decode, err := p.Phases(sizes, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(prefill) != 1 || len(decode) != newTokens-1 || prefill[0].Start != p.Runs[newTokens].Start {
		t.Fatalf("phases after one warm-up: %d prefill, %d decode Runs", len(prefill), len(decode))
	}
	for _, s := range []ortprof.Summary{ortprof.Summarize("prefill", prefill), ortprof.Summarize("decode", decode)} {
		sum := 0.0
		for _, o := range s.Ops {
			sum += o.Share
		}
		nodeSum := 0.0
		for _, n := range s.Nodes {
			nodeSum += n.Share
		}
		if math.Abs(sum-1) > 1e-9 || math.Abs(nodeSum-1) > 1e-9 {
			t.Errorf("%s: op shares add to %v, node shares to %v, want 1", s.Phase, sum, nodeSum)
		}
		if s.OutsideKernels < 0 || s.OutsideKernels >= 1 || s.KernelMs <= 0 || s.KernelMs > s.RunMs {
			t.Errorf("%s: %v ms kernels of %v ms Runs, outside %v", s.Phase, s.KernelMs, s.RunMs, s.OutsideKernels)
		}
		if s.OpShare("GroupQueryAttention") <= 0 || len(s.Nodes) != nodes {
			t.Errorf("%s: GroupQueryAttention share %v, %d nodes (want %d)", s.Phase, s.OpShare("GroupQueryAttention"), len(s.Nodes), nodes)
		}
		for i := 1; i < len(s.Ops); i++ {
			if s.Ops[i].MsRun > s.Ops[i-1].MsRun {
				t.Errorf("%s: ops not largest first: %+v before %+v", s.Phase, s.Ops[i-1], s.Ops[i])
			}
		}
		var out bytes.Buffer
		s.WriteText(&out, 3)
		if !strings.Contains(out.String(), s.Phase+": ") || !strings.Contains(out.String(), "more") {
			t.Errorf("%s: text:\n%s", s.Phase, out.String())
		}
	}
	if _, _, err := p.Phases([]int{newTokens}, 0); err == nil || !strings.Contains(err.Error(), "holds 10") {
		t.Errorf("requests that do not account for every Run: %v", err)
	}
}

// TestBadProfiles: a file that is not a profile, and a profile with no Run,
// each get one line.
func TestBadProfiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"not-json": "model_run",
		"object":   `{"cat": "Session"}`,
		"no-run":   `[{"cat": "Session", "name": "model_loading_uri", "ts": 1, "dur": 5}]`,
		"stray-kernel": `[{"cat": "Session", "name": "model_run", "ts": 10, "dur": 5},
			{"cat": "Node", "name": "a_kernel_time", "ts": 40, "dur": 1, "args": {"op_name": "Add"}}]`,
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ortprof.Read(path)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want one line naming the file", name, err)
		}
	}
	if _, err := ortprof.Read(filepath.Join(dir, "absent.json")); err == nil {
		t.Error("a missing file read without error")
	}
}

// TestProfileFileAbsent: ProfileFile before the session wrote anything.
func TestProfileFileAbsent(t *testing.T) {
	_, err := ortgen.ProfileFile(filepath.Join(t.TempDir(), "none"))
	if err == nil || !strings.Contains(err.Error(), "Close") {
		t.Errorf("%v, want the reason (written at Close)", err)
	}
}
