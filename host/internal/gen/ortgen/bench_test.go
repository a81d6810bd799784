package ortgen

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

// BenchmarkGenerate times whole requests (prompt 128, 32 new tokens) and
// reports decode speed and the share of time spent outside the runtime's Run
// calls (the target: ≤ 1 % of E2E). gpt2 builds the 124M model into
// the cache on first use.
//
//	go test ./host/gen/ortgen -run - -bench Generate -benchtime 5x
func BenchmarkGenerate(b *testing.B) {
	for _, name := range []string{"gpt2-tiny", "gpt2"} {
		for _, spin := range []bool{false, true} {
			label := name + "/spinning=off"
			if spin {
				label = name + "/spinning=on"
			}
			b.Run(label, func(b *testing.B) {
				dir, err := model.Builtin(name, 0, "")
				if err != nil {
					b.Fatal(err)
				}
				m, err := model.Load(dir)
				if err != nil {
					b.Fatal(err)
				}
				g, err := Open(m, Options{Spinning: spin})
				if err != nil {
					b.Fatal(err)
				}
				defer g.Close()
				req := gen.Request{Prompts: [][]int64{tokenize.SeededIDs(min(128, m.Config.MaxPositions/2), m.Config.Vocab, 1)}, NewTokens: 32}
				if _, err := g.Generate(context.Background(), req); err != nil { // warm-up: buffers, first-run kernels
					b.Fatal(err)
				}
				var decodeNS, outsideNS, e2eNS int64
				b.ResetTimer()
				for b.Loop() {
					tr, err := g.Generate(context.Background(), req)
					if err != nil {
						b.Fatal(err)
					}
					n := len(tr.TokenNS)
					e2e := tr.TokenNS[n-1]
					var inRun int64
					for _, d := range tr.RunNS {
						inRun += d
					}
					decodeNS += e2e - tr.TokenNS[0]
					outsideNS += e2e - inRun
					e2eNS += e2e
				}
				b.ReportMetric(float64(b.N*(req.NewTokens-1))/(float64(decodeNS)/1e9), "decode-tok/s")
				b.ReportMetric(100*float64(outsideNS)/float64(e2eNS), "%outside-run")
			})
		}
	}
}

// gqaBenchShape is a GPT-2-124M-sized decoder (12 layers of 768, 12 heads
// of 64, vocab 50257) in the layout fixture's architecture: a
// GroupQueryAttention graph with rotary inside, in ONNX Runtime GenAI's
// layout with past_present_share_buffer.
var gqaBenchShape = fixtureShape{Vocab: 50257, Hidden: 768, Heads: 12, KVHeads: 12, HeadDim: 64, Layers: 12, FFN: 3072, MaxLen: 1024}

// BenchmarkShareBuffer times decode on one GroupQueryAttention graph with
// the cache as one shared past/present buffer against the concat path (the
// present written into a second buffer each step), at 128, 512 and 768
// positions of context. Each iteration runs both, alternating which goes
// first, so drift and other processes' load hit both alike.
//
//	go test ./host/internal/gen/ortgen -run - -bench ShareBuffer -benchtime 5x
func BenchmarkShareBuffer(b *testing.B) {
	dir := b.TempDir()
	s := gqaBenchShape
	file := "decoder.onnx"
	writeLayoutModel(b, filepath.Join(dir, file), s, fixtureSpec{mode: "fp32", names: genaiFixtureNames, external: ".data"}, 1)
	writeJSON(b, filepath.Join(dir, model.GenAIConfigFile), genaiConfigFor(s, file, genaiFixtureNames, true))
	m, err := model.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	open := func(share string) *Generator {
		g, err := Open(m, Options{SessionConfig: map[string]string{ShareBufferKey: share}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { g.Close() })
		return g
	}
	gens := map[string]*Generator{"share": open("1"), "concat": open("0")}
	const newTokens = 32
	for _, ctxLen := range []int{128, 512, 768} {
		b.Run(fmt.Sprintf("context=%d", ctxLen), func(b *testing.B) {
			req := gen.Request{Prompts: [][]int64{tokenize.SeededIDs(ctxLen-newTokens/2, s.Vocab, 1)}, NewTokens: newTokens}
			decodeNS := map[string]int64{}
			run := func(name string) {
				tr, err := gens[name].Generate(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				decodeNS[name] += tr.TokenNS[len(tr.TokenNS)-1] - tr.TokenNS[0]
			}
			run("share") // warm-up
			run("concat")
			clear(decodeNS)
			i := 0
			for b.Loop() {
				order := []string{"share", "concat"}
				if i%2 == 1 {
					order[0], order[1] = order[1], order[0]
				}
				for _, name := range order {
					run(name)
				}
				i++
			}
			tps := func(name string) float64 { return float64(i*(newTokens-1)) / (float64(decodeNS[name]) / 1e9) }
			b.ReportMetric(tps("share"), "share-decode-tok/s")
			b.ReportMetric(tps("concat"), "concat-decode-tok/s")
			b.ReportMetric(tps("share")/tps("concat"), "share/concat")
		})
	}
}
