package roofline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

// fakePeer answers Generate with scripted timings and records what it was
// fed.
type fakePeer struct {
	prompts [][]int64
	calls   int
}

func (p *fakePeer) Name() string                  { return "fake" }
func (p *fakePeer) Precision() string             { return "q8_0" }
func (p *fakePeer) Spinning() bool                { return true }
func (p *fakePeer) WeightBytesPerToken() int64    { return 1 << 20 }
func (p *fakePeer) KVBytesPerToken(ctx int) int64 { return int64(ctx) << 10 }
func (p *fakePeer) Info() any                     { return "fake info" }
func (p *fakePeer) Generate(prompt []int64, n int) (float64, float64, error) {
	p.prompts = append(p.prompts, prompt)
	p.calls++
	return float64(10 * p.calls), float64(100 * p.calls), nil
}

// TestBenchWithPeer: a peer is run interleaved with pipe's engines, rep by
// rep, on pipe's prompt ids; its rows carry its precision, its medians
// (the warm-up dropped) and a roofline from its own bytes.
func TestBenchWithPeer(t *testing.T) {
	m := tinyModel(t)
	peer := &fakePeer{}
	var order []string
	f, err := Bench(context.Background(), BenchOptions{
		Model: m, Engine: ortgen.Options{IntraOpThreads: 1},
		PromptTokens: []int{4}, NewTokens: 3, Reps: 3, Peers: []Peer{peer},
		Triad:    TriadOptions{Elems: 1 << 16, Reps: 2},
		Progress: func(format string, args ...any) { order = append(order, fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, o := range order {
		if strings.HasPrefix(o, "prompt 4, ") {
			runs = append(runs, strings.TrimPrefix(o, "prompt 4, "))
		}
	}
	var want []string
	for rep := 1; rep <= 4; rep++ {
		for _, e := range []string{"pipe", "bare", "fake"} {
			want = append(want, fmt.Sprintf("%s, run %d of 4", e, rep))
		}
	}
	if !slices.Equal(runs, want) {
		t.Errorf("runs %v, want %v", runs, want)
	}
	ids := tokenize.SeededIDs(4, m.Config.Vocab, 1)
	for _, p := range peer.prompts {
		if !slices.Equal(p, ids) {
			t.Errorf("the peer got prompt %v, pipe's is %v", p, ids)
		}
	}
	r := f.Rows[len(f.Rows)-1]
	if r.Engine != "fake" || r.Precision != "q8_0" || !r.Spinning || r.TTFTms != 30 || r.DecodeTPS != 300 || !slices.Equal(r.DecodeAll, []float64{200, 300, 400}) {
		t.Errorf("peer row %+v", r)
	}
	if want := 300 / TokensPerSecond(f.Triad.BestGBps*1e9, 1<<20); r.OfRoofline != want {
		t.Errorf("peer of roofline %v, want %v", r.OfRoofline, want)
	}
	if want := TokensPerSecond(f.Triad.BestGBps*1e9, 1<<20+(4+3/2)<<10); r.KVRooflineTPS != want {
		t.Errorf("peer KV roofline %v, want %v", r.KVRooflineTPS, want)
	}
	if len(f.Peers) != 1 || f.Peers[0] != "fake info" {
		t.Errorf("peers %v", f.Peers)
	}
}
