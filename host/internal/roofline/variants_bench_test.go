package roofline

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/sysinfo"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

// variant is one way of running a built-in model: how it is built, the
// session's options and the prompt length.
type variant struct {
	name   string
	build  model.BuildOptions
	opts   ortgen.Options
	prompt int
}

// openVariant builds (or finds in the cache) and opens v of built-in name.
func openVariant(b *testing.B, name string, v variant) (*ortgen.Generator, *model.Model) {
	b.Helper()
	if v.build.Seed == 0 {
		v.build.Seed = model.DefaultSeed
	}
	dir, err := model.BuiltinWith(name, v.build)
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	if v.opts.IntraOpThreads == 0 {
		v.opts.IntraOpThreads = 2
	}
	g, err := ortgen.Open(m, v.opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	return g, m
}

// decodeTPS runs one request of newTokens after v.prompt seeded tokens.
func decodeTPS(b *testing.B, g *ortgen.Generator, m *model.Model, prompt, newTokens int) float64 {
	b.Helper()
	tr, err := g.Generate(context.Background(), gen.Request{Start: time.Now(),
		Prompts: [][]int64{tokenize.SeededIDs(prompt, m.Config.Vocab, 1)}, NewTokens: newTokens})
	if err != nil {
		b.Fatal(err)
	}
	return measure.FromTrace(tr, measure.Expect{NewTokens: newTokens, Batch: 1}).Values[metric.DecodeTPS]
}

// compareVariants opens every variant of built-in name, warms each up once,
// then per iteration runs one request of each in turn (the order rotating
// each round, so drift and placement hit all alike) and reports each
// variant's median decode tok/s, its median paired ratio to variant 0 and
// the other processes' CPU use (cores) meanwhile.
func compareVariants(b *testing.B, name string, newTokens int, vs []variant) {
	type open struct {
		g   *ortgen.Generator
		m   *model.Model
		tps []float64
	}
	runs := make([]*open, len(vs))
	for i, v := range vs {
		g, m := openVariant(b, name, v)
		runs[i] = &open{g: g, m: m}
		decodeTPS(b, g, m, v.prompt, newTokens)
	}
	mon := sysinfo.StartMonitor()
	round := 0
	for b.Loop() {
		for k := range vs {
			i := (k + round) % len(vs)
			runs[i].tps = append(runs[i].tps, decodeTPS(b, runs[i].g, runs[i].m, vs[i].prompt, newTokens))
		}
		round++
	}
	foreign, _ := mon.Stop()
	b.ReportMetric(foreign, "foreign-cores")
	for i, v := range vs {
		b.ReportMetric(stats.Percentile(runs[i].tps, 50), v.name+"-tok/s")
		if i > 0 {
			ratios := make([]float64, len(runs[i].tps))
			for r := range ratios {
				ratios[r] = runs[i].tps[r] / runs[0].tps[r]
			}
			b.ReportMetric(stats.Percentile(ratios, 50), v.name+"/"+vs[0].name)
		}
	}
}

// BenchmarkFlatness is `pipe bench`'s decode at 128 and at 768 prompt
// tokens (32 new: contexts 128–160 and 768–800) on one session, the two
// prompts interleaved request by request instead of one block after the
// other, with the paired ratio 768/128: the cache's flatness measured so
// that drift in other processes' load cannot land in it
// (`go test -run X -bench Flatness -benchtime 7x ./host/internal/roofline`).
func BenchmarkFlatness(b *testing.B) {
	for _, tc := range []struct{ name, precision string }{{"gpt2", "fp32"}, {"smollm2-135m", "fp32"}} {
		b.Run(tc.name+"-"+tc.precision, func(b *testing.B) {
			requireRuntime(b)
			g, m := openVariant(b, tc.name, variant{build: model.BuildOptions{Precision: tc.precision}})
			prompts := []int{128, 512, 768}
			tps := make([][]float64, len(prompts))
			for _, p := range prompts {
				decodeTPS(b, g, m, p, 32)
			}
			mon := sysinfo.StartMonitor()
			round := 0
			for b.Loop() {
				for k := range prompts {
					i := (k + round) % len(prompts)
					tps[i] = append(tps[i], decodeTPS(b, g, m, prompts[i], 32))
				}
				round++
			}
			foreign, _ := mon.Stop()
			b.ReportMetric(foreign, "foreign-cores")
			for i, p := range prompts {
				b.ReportMetric(stats.Percentile(tps[i], 50), fmt.Sprintf("p%d-tok/s", p))
				if i > 0 {
					ratios := make([]float64, len(tps[i]))
					for r := range ratios {
						ratios[r] = tps[i][r] / tps[0][r]
					}
					b.ReportMetric(stats.Percentile(ratios, 50), fmt.Sprintf("p%d/p128", p))
				}
			}
		})
	}
}

// BenchmarkQuantDecode compares, at int4 and int8 on smollm2-135m and
// gpt2, what pipe controls of a quantised decode: spinning, one intra-op
// thread instead of two, prepacking off, blocks of 64 and 128 instead of
// 32; "again" reopens the baseline last, the spread two sessions of one
// model show (`go test -run X -bench QuantDecode -benchtime 5x ./host/internal/roofline`).
func BenchmarkQuantDecode(b *testing.B) {
	for _, name := range []string{"smollm2-135m", "gpt2"} {
		for _, precision := range []string{"int4", "int8"} {
			b.Run(name+"-"+precision, func(b *testing.B) {
				requireRuntime(b)
				q := model.BuildOptions{Precision: precision}
				with := func(bs int) model.BuildOptions { o := q; o.BlockSize = bs; return o }
				vs := []variant{
					{name: "base", build: q, prompt: 128},
					{name: "spinning", build: q, opts: ortgen.Options{Spinning: true}, prompt: 128},
					{name: "threads1", build: q, opts: ortgen.Options{IntraOpThreads: 1}, prompt: 128},
					{name: "noprepack", build: q, opts: ortgen.Options{SessionConfig: map[string]string{"session.disable_prepacking": "1"}}, prompt: 128},
					{name: "block64", build: with(64), prompt: 128},
				}
				if name == "gpt2" { // smollm2's 576 is no multiple of 128 (a padded embedding row)
					vs = append(vs, variant{name: "block128", build: with(128), prompt: 128})
				}
				compareVariants(b, name, 32, append(vs, variant{name: "again", build: q, prompt: 128}))
			})
		}
	}
}

// busyLoops starts n CPU-bound shell loops (the competing processes of a
// busy machine) and returns the function that kills them, each by its id.
func busyLoops(b *testing.B, n int) func() {
	b.Helper()
	var cmds []*exec.Cmd
	for range n {
		c := exec.Command("sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	return func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}
}

// BenchmarkSpinPolicy measures decode with the runtime's spinning off and
// on, side by side, on a quiet machine and with 1 and 2 competing
// CPU-bound processes started for the occasion, conditions and settings
// interleaved round by round: the measurement behind pipe's default
// (`go test -run X -bench SpinPolicy -benchtime 4x ./host/internal/roofline`).
func BenchmarkSpinPolicy(b *testing.B) {
	for _, tc := range []struct{ name, precision string }{{"gpt2", "fp32"}, {"smollm2-135m", "int4"}} {
		b.Run(tc.name+"-"+tc.precision, func(b *testing.B) {
			requireRuntime(b)
			build := model.BuildOptions{Precision: tc.precision}
			off, m := openVariant(b, tc.name, variant{build: build})
			on, _ := openVariant(b, tc.name, variant{build: build, opts: ortgen.Options{Spinning: true}})
			gens := []*ortgen.Generator{off, on}
			for _, g := range gens {
				decodeTPS(b, g, m, 128, 32)
			}
			busy := []int{0, 1, 2}
			tps := map[[2]int][]float64{}
			var quietForeign []float64 // other processes' cores while none of ours ran
			round := 0
			for b.Loop() {
				for _, n := range busy {
					stop := busyLoops(b, n)
					mon := sysinfo.StartMonitor()
					for k := range gens {
						i := (k + round) % len(gens)
						tps[[2]int{n, i}] = append(tps[[2]int{n, i}], decodeTPS(b, gens[i], m, 128, 32))
					}
					if f, _ := mon.Stop(); n == 0 {
						quietForeign = append(quietForeign, f)
					}
					stop()
				}
				round++
			}
			b.ReportMetric(stats.Percentile(quietForeign, 50), "quiet-foreign-cores")
			for _, n := range busy {
				offT, onT := tps[[2]int{n, 0}], tps[[2]int{n, 1}]
				ratios := make([]float64, len(offT))
				for r := range ratios {
					ratios[r] = onT[r] / offT[r]
				}
				b.ReportMetric(stats.Percentile(offT, 50), fmt.Sprintf("busy%d-off-tok/s", n))
				b.ReportMetric(stats.Percentile(onT, 50), fmt.Sprintf("busy%d-spin-tok/s", n))
				b.ReportMetric(stats.Percentile(ratios, 50), fmt.Sprintf("busy%d-spin/off", n))
			}
		})
	}
}

// requireRuntime skips a benchmark on a machine without ONNX Runtime.
func requireRuntime(b *testing.B) {
	b.Helper()
	if _, err := ortgen.Init(""); err != nil {
		b.Skipf("no ONNX Runtime: %v (run make setup)", err)
	}
}

// BenchmarkPrecisions decodes one model at fp32, int8 and int4 side by side
// (one request of each per round, order rotating): issue 12's "int4 ≥ 2 ×
// fp32 on smollm2-135m" as a paired ratio (`go test -run X -bench
// Precisions -benchtime 5x ./host/internal/roofline`).
func BenchmarkPrecisions(b *testing.B) {
	for _, name := range []string{"smollm2-135m", "gpt2"} {
		b.Run(name, func(b *testing.B) {
			requireRuntime(b)
			compareVariants(b, name, 32, []variant{
				{name: "fp32", build: model.BuildOptions{Precision: "fp32"}, prompt: 128},
				{name: "int8", build: model.BuildOptions{Precision: "int8"}, prompt: 128},
				{name: "int4", build: model.BuildOptions{Precision: "int4"}, prompt: 128},
			})
		})
	}
}
