package merge

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/shard"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// peakEnv makes the test binary a merge-only subprocess: it merges the
// directories listed (one a line) in the file the variable names, writes
// the result, prints its peak RSS (VmHWM) and exits. The benchmark reads
// the peak from a fresh process, so nothing it generated counts.
const peakEnv = "PIPE_MERGE_PEAK_DIRS"

func TestMain(m *testing.M) {
	if list := os.Getenv(peakEnv); list != "" {
		os.Exit(mergeAndReportPeak(list))
	}
	os.Exit(m.Run())
}

func mergeAndReportPeak(list string) int {
	data, err := os.ReadFile(list)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	res, err := Dirs(strings.Fields(string(data)))
	merged := vmHWM()
	if err == nil {
		err = result.Write(filepath.Dir(list), res)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("cases %d vmhwm_kib %d %d\n", len(res.Cases), merged, vmHWM())
	return 0
}

// vmHWM is this process's peak resident set, KiB (Linux).
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return -1
}

// synthShard is shard k of n of a plan of n × cases cases, each with runs
// runs of tokens tokens: the values, per-token times and statistics a real
// shard's result holds.
func synthShard(k, n, cases, runs, tokens int) *result.Result {
	var plan []result.CaseRef
	for s := 1; s <= n; s++ {
		for i := range cases {
			plan = append(plan, result.CaseRef{ID: fmt.Sprintf("s%d-c%d", s, i), Key: fmt.Sprintf("%016x", s*100000+i)})
		}
	}
	r := &result.Result{Schema: result.Schema, PlanHash: "plan1:bench", Valid: true,
		Pipeline:  result.PipelineInfo{Name: "bench"},
		StartedAt: "2026-12-02T10:00:00Z", FinishedAt: "2026-12-02T11:00:00Z", WallNS: 3600e9,
		Env:   result.Env{Hostname: fmt.Sprintf("node-%d", k), CPUModel: "bench CPU", Cores: 8},
		Shard: &result.Shard{Index: k, Count: n, Plan: plan}, Labels: map[string]string{"pool": "bench"}}
	ids := []string{metric.TTFT, metric.TPOT, metric.ITL, metric.E2E, metric.DecodeTPS, metric.PrefillTPS, metric.OutputTPS, metric.PeakRSS}
	for _, d := range metric.Builtin {
		if slices.Contains(ids, d.ID) {
			r.Metrics = append(r.Metrics, d)
		}
	}
	for i := range cases {
		ref := plan[(k-1)*cases+i]
		c := result.Case{ID: ref.ID, Key: ref.Key, Valid: true, Params: result.CaseParams{PromptTokens: 128, NewTokens: tokens, Batch: 1, Streams: 1}}
		for j := range runs {
			run := result.Run{Index: j, Valid: true, Values: map[string]float64{}}
			for m, id := range ids {
				run.Values[id] = float64(1+m) * (1 + 0.01*float64((i*runs+j)%17))
			}
			for t := range tokens {
				run.TokenMS = append(run.TokenMS, 10+float64(t)*2.5)
				if t > 0 {
					run.ITLms = append(run.ITLms, 2.5+0.001*float64(t%7))
				}
			}
			c.Runs = append(c.Runs, run)
		}
		c.Stats = map[string]stats.Summary{}
		for _, id := range ids {
			c.Stats[id] = stats.Summarize(c.RunValues(id))
		}
		r.Cases = append(r.Cases, c)
	}
	return r
}

// BenchmarkMerge merges n synthetic shards of 100 cases × 100 runs (32
// tokens each) from their result.json files, as pipe merge does, and
// reports the peak RSS of a process that only merges them (peak-merge-MiB)
// and then writes the merged result (peak-write-MiB), the merged result.json's size (out-MiB) and
// one shard's (shard-MiB):
//
//	go test ./host/internal/merge -run '^$' -bench BenchmarkMerge -benchtime 3x
func BenchmarkMerge(b *testing.B) {
	const cases, runs, tokens = 100, 100, 32
	for _, n := range []int{8, 16, 32, 64} {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			root := b.TempDir()
			var dirs []string
			for k := 1; k <= n; k++ {
				dir := filepath.Join(root, fmt.Sprintf("shard-%d", k))
				if err := result.Write(dir, synthShard(k, n, cases, runs, tokens)); err != nil {
					b.Fatal(err)
				}
				dirs = append(dirs, dir)
			}
			b.ResetTimer()
			for b.Loop() {
				res, err := Dirs(dirs)
				if err != nil || len(res.Cases) != n*cases || res.Incomplete != "" {
					b.Fatalf("merged %v cases, incomplete %q: %v", len(res.Cases), res.Incomplete, err)
				}
			}
			b.StopTimer()
			out := filepath.Join(root, "merged")
			if err := os.MkdirAll(out, 0o755); err != nil {
				b.Fatal(err)
			}
			list := filepath.Join(out, "dirs")
			if err := os.WriteFile(list, []byte(strings.Join(dirs, "\n")), 0o644); err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), peakEnv+"="+list)
			stdout, err := cmd.Output()
			var got, mergedKiB, writtenKiB int64
			if _, serr := fmt.Sscanf(string(stdout), "cases %d vmhwm_kib %d %d", &got, &mergedKiB, &writtenKiB); err != nil || serr != nil || got != int64(n*cases) {
				b.Fatalf("merge subprocess: %v %v: %q", err, serr, stdout)
			}
			b.ReportMetric(float64(mergedKiB)/1024, "peak-merge-MiB")
			b.ReportMetric(float64(writtenKiB)/1024, "peak-write-MiB")
			b.ReportMetric(fileMiB(b, filepath.Join(out, result.FileName)), "out-MiB")
			b.ReportMetric(fileMiB(b, filepath.Join(dirs[0], result.FileName)), "shard-MiB")
		})
	}
}

func fileMiB(b *testing.B, path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return float64(fi.Size()) / (1 << 20)
}

// BenchmarkShardBalance reports how evenly shard.Partition spreads the
// shipped phase pipelines' estimated cost: the largest shard's cost over
// the mean (1 is perfect; a plan with fewer cases than shards cannot do
// better than its largest case allows):
//
//	go test ./host/internal/merge -run '^$' -bench BenchmarkShardBalance
func BenchmarkShardBalance(b *testing.B) {
	files, _ := filepath.Glob("../../../pipelines/phase[1-4]-*.toml")
	if len(files) == 0 {
		b.Fatal("no phase pipelines found")
	}
	for _, f := range files {
		plan, err := pipeline.Load(f, pipeline.LoadOptions{Names: registry.New().Names(), CPUs: 64})
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{2, 4, 8} {
			b.Run(fmt.Sprintf("%s/N=%d", plan.Name, n), func(b *testing.B) {
				var parts [][]int
				for b.Loop() {
					parts = shard.Partition(plan, n)
				}
				total, largest := 0.0, 0.0
				for _, part := range parts {
					cost := 0.0
					for _, i := range part {
						cost += shard.Cost(plan, plan.Cases[i])
					}
					total += cost
					largest = max(largest, cost)
				}
				biggest := 0.0
				for _, c := range plan.Cases {
					biggest = max(biggest, shard.Cost(plan, c))
				}
				mean := total / float64(n)
				b.ReportMetric(largest/mean, "max/mean")
				// No partition can do better than the largest case allows.
				b.ReportMetric(max(1, biggest/mean), "floor")
				b.ReportMetric(float64(len(plan.Cases)), "cases")
			})
		}
	}
}
