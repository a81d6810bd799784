package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/peer/llamacpp"
	"github.com/pipe-bench/pipe/host/internal/roofline"
)

func benchCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "bench",
		Usage:     "measure the generator against a bare ONNX Runtime loop and the memory-bandwidth roofline",
		ArgsUsage: " ",
		Description: `Writes figures, not a verdict. For one model (default the built-in GPT-2) and each
prompt length, runs pipe's generator and a bare ONNX Runtime loop (the least Go code
that decodes with a session) interleaved, one warm-up then --reps timed runs each, and
prints median TTFT and decode tok/s beside the roofline: the STREAM-style triad
bandwidth measured here divided by the weight bytes one decode step reads.
--compare-spinning adds both engines with the runtime's thread spinning flipped.

--run-path asks instead whether the harness moves what it measures: for each prompt
length it decodes --new-tokens through the path of ` + "`pipe run`" + ` (the engine, with its RSS
sampler, collection after each run and journal), pipe's generator alone and the bare
loop, interleaved round by round, and prints the medians, the run path's ratios to the
bare loop and the other processes' CPU use beside each figure.`,
		Flags: append(engineFlags(),
			&ucli.StringFlag{Name: "prompts", Value: "128,512,768", Usage: "prompt lengths in tokens, comma-separated"},
			&ucli.IntFlag{Name: "new-tokens", Value: 32, Usage: "tokens generated per run"},
			&ucli.IntFlag{Name: "reps", Value: 3, Usage: "timed runs per engine and prompt length"},
			&ucli.BoolFlag{Name: "compare-spinning", Usage: "also run both engines with spinning flipped"},
			&ucli.BoolFlag{Name: "compare-share-buffer", Usage: "for a model with a shared past/present cache (GenAI's past_present_share_buffer), also run pipe with the concat cache (\"pipe concat\")"},
			&ucli.BoolFlag{Name: "run-path", Usage: "compare pipe run's path with the generator alone and the bare loop, interleaved (no roofline)"},
			&ucli.IntFlag{Name: "triad-threads", Value: 0, Usage: "goroutines for the triad (0: one per CPU)"},
			&ucli.IntFlag{Name: "triad-mib", Value: 128, Usage: "size of each of the triad's three arrays in MiB (keep it ≫ the last-level cache)"},
			&ucli.BoolFlag{Name: "no-bare", Usage: "leave the bare loop out: pipe's figures alone (scripts/bench-matrix.sh)"},
			&ucli.StringFlag{Name: "profile", Usage: "after the timed runs, profile pipe's generator at each prompt length with ONNX Runtime's profiler, write its JSON into `DIR` and print the top kernels of prefill and decode"},
			&ucli.StringFlag{Name: "peer", Usage: "also time `ENGINE` (llama.cpp: fetched and built on first use) on the same weights, interleaved rep by rep, with pipe's rows spinning and not, and print pipe ÷ peer at equal precision"},
			&ucli.StringFlag{Name: "peer-precisions", Value: llamacpp.DefaultPrecisions, Usage: "the peer's weight types, comma-separated (f32, f16, q8_0)"},
			&ucli.StringFlag{Name: "out", Usage: "write the figures as JSON into `DIR` (bench-<UTC time>.json)"},
			&ucli.BoolFlag{Name: "quiet", Usage: "no progress lines on stderr"},
		),
		Action: runBench,
	}
}

func runBench(c *ucli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("bench takes no arguments, got %q", c.Args().First())
	}
	var prompts []int
	for _, f := range strings.Split(c.String("prompts"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--prompts: %q is not a token count: give positive integers like 128,512,768", f)
		}
		prompts = append(prompts, n)
	}
	if c.Int("triad-mib") < 1 {
		return fmt.Errorf("--triad-mib %d: need at least 1 (the default 128 is ≫ any last-level cache)", c.Int("triad-mib"))
	}
	m, err := loadModel(c)
	if err != nil {
		return err
	}
	if c.Bool("run-path") && c.String("profile") != "" {
		return fmt.Errorf("--profile profiles the roofline bench, not --run-path: drop one of them")
	}
	if c.Bool("run-path") {
		return runBenchRunPath(c, m, prompts)
	}
	opts := roofline.BenchOptions{
		Model: m, Engine: engineOptions(c), PromptTokens: prompts,
		NewTokens: c.Int("new-tokens"), Reps: c.Int("reps"), CompareSpinning: c.Bool("compare-spinning"),
		CompareShareBuffer: c.Bool("compare-share-buffer"),
		ProfileDir:         c.String("profile"),
		NoBare:             c.Bool("no-bare"),
		Triad:              roofline.TriadOptions{Threads: c.Int("triad-threads"), Elems: c.Int("triad-mib") << 20 / 8},
	}
	if !c.Bool("quiet") {
		opts.Progress = func(format string, args ...any) {
			fmt.Fprintf(c.App.ErrWriter, "bench: "+format+"\n", args...)
		}
	}
	if peer := c.String("peer"); peer != "" {
		closePeers, err := llamacpp.ForBench(peer, c.String("peer-precisions"), m, &opts, c.App.ErrWriter)
		if err != nil {
			return err
		}
		defer closePeers()
	}
	f, err := roofline.Bench(c.Context, opts)
	if err != nil {
		return err
	}
	printBench(c.App.Writer, f)
	llamacpp.PrintRatios(c.App.Writer, f)
	for _, p := range f.Profiles {
		fmt.Fprintf(c.App.Writer, "\nprofile  %s, %s, prompt %d (%s)\n", p.Engine, p.Precision, p.PromptTokens, p.File)
		p.Prefill.WriteText(c.App.Writer, 8)
		p.Decode.WriteText(c.App.Writer, 8)
	}
	if dir := c.String("out"); dir != "" {
		return writeBenchFigures(c, dir, "bench-", f)
	}
	return nil
}

// writeBenchFigures writes v as JSON into dir/PREFIX<UTC time>.json.
func writeBenchFigures(c *ucli.Context, dir, prefix string, v any) error {
	path := filepath.Join(dir, prefix+time.Now().UTC().Format("20060102T150405Z")+".json")
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	fmt.Fprintf(c.App.Writer, "figures  %s\n", path)
	return nil
}

// runBenchRunPath is `pipe bench --run-path`: roofline.RunPath per prompt
// length. The run path's journal goes into a scratch directory in pipe's
// cache, removed afterwards (pipe writes nowhere else).
func runBenchRunPath(c *ucli.Context, m *model.Model, prompts []int) error {
	scratch, err := os.MkdirTemp(assets.CacheDir(), "bench-run-path-")
	if err != nil {
		return fmt.Errorf("bench --run-path: a scratch directory for the journal in the cache: %w", err)
	}
	defer os.RemoveAll(scratch)
	var all []roofline.RunPathFigures
	for _, p := range prompts {
		o := roofline.RunPathOptions{Model: m, Engine: engineOptions(c), PromptTokens: p, NewTokens: c.Int("new-tokens"), Reps: c.Int("reps"), Dir: scratch}
		if !c.Bool("quiet") {
			o.Progress = func(format string, args ...any) {
				fmt.Fprintf(c.App.ErrWriter, "bench: prompt %d, "+format+"\n", append([]any{p}, args...)...)
			}
		}
		f, err := roofline.RunPath(c.Context, o)
		if err != nil {
			return err
		}
		printRunPath(c.App.Writer, f)
		all = append(all, f)
	}
	if dir := c.String("out"); dir != "" {
		return writeBenchFigures(c, dir, "bench-run-path-", all)
	}
	return nil
}

func printRunPath(w io.Writer, f roofline.RunPathFigures) {
	e, mi := f.Env, f.Model
	fmt.Fprintf(w, "machine  %s, %d cores; other processes used %.2f cores meanwhile (load %.2f)\n", e.CPUModel, e.Cores, f.ForeignCPU, f.LoadMean)
	fmt.Fprintf(w, "case     %s, %d → %d tokens, %s, intra-op threads %s; median of %d interleaved runs per engine after one warm-up\n",
		mi.Model, f.PromptTokens, f.NewTokens, mi.Runtime, threadsText(mi.Threads.IntraOp), f.Reps)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tTTFT ms\tdecode tok/s\tforeign CPU (cores)\tvoluntary switches\tminor faults\t")
	for _, r := range f.Rows {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t\n", r.Engine, r.TTFTms, r.DecodeTPS, r.ForeignCPU, r.VoluntarySwitches, r.MinorFaults)
	}
	tw.Flush()
	fmt.Fprintf(w, "pipe run / bare: decode ×%.3f (paired ×%.3f, target ≥ 0.99), TTFT ×%.3f (paired ×%.3f, target ≤ 1.01); the bare loop ran on %s\n\n",
		f.DecodeRatio, f.PairedDecodeRatio, f.TTFTRatio, f.PairedTTFTRatio, f.BareSession)
}

func printBench(w io.Writer, f roofline.Figures) {
	e, mi := f.Env, f.Model
	fmt.Fprintf(w, "machine  %s, %d cores; other processes used %.2f cores meanwhile (load %.2f)\n", e.CPUModel, e.Cores, f.ForeignCPU, f.LoadMean)
	fmt.Fprintf(w, "model    %s (%s graph, %.1fM params), %.1f MB of weights read per token\n", mi.Model, mi.GraphStyle, float64(mi.Parameters)/1e6, float64(f.WeightRead)/1e6)
	fmt.Fprintln(w, precisionLine(mi))
	fmt.Fprintf(w, "runtime  %s, intra-op threads %s\n", mi.Runtime, threadsText(mi.Threads.IntraOp))
	fmt.Fprintf(w, "triad    %.1f GB/s best, %.1f median (%d goroutines, 3 × %d MiB, %d reps) → roofline %.1f tok/s\n",
		f.Triad.BestGBps, f.Triad.MedianGBps, f.Triad.Threads, f.Triad.ArrayBytes>>20, f.Triad.Reps, f.RooflineTPS)
	fmt.Fprintf(w, "runs     %d new tokens, median of %d runs after one warm-up\n\n", f.NewTokens, f.Reps)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "prompt\tengine\tprecision\tTTFT ms\tdecode tok/s\tof roofline\troofline with KV\toutside Run\t")
	for _, r := range f.Rows {
		out := "–"
		if strings.HasPrefix(r.Engine, "pipe") {
			out = fmt.Sprintf("%.2f %%", r.OutsideRunPct)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.1f\t%.1f\t%.0f %%\t%.1f\t%s\t\n", r.PromptTokens, r.Engine, r.Precision, r.TTFTms, r.DecodeTPS, 100*r.OfRoofline, r.KVRooflineTPS, out)
	}
	tw.Flush()
	for _, fl := range f.Flatness {
		fmt.Fprintf(w, "flatness %s %s: decode at %d tokens ÷ at %d, paired rep by rep ×%.3f\n", fl.Engine, fl.Precision, fl.LongTokens, fl.ShortTokens, fl.Ratio)
	}
}
