package ortgen

import (
	"context"
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
