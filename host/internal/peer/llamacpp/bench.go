package llamacpp

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pipe-bench/pipe/host/internal/gguf"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/roofline"
)

// DefaultPrecisions is --peer-precisions' default.
const DefaultPrecisions = "f32,f16,q8_0"

// ForBench opens the peers `pipe bench --peer NAME --peer-precisions LIST`
// asks for beside m and adds them to o, with pipe's rows both spinning and
// not (llama.cpp's threads busy-wait; pipe's default does not). close ends
// them.
func ForBench(name, precisions string, m *model.Model, o *roofline.BenchOptions, log io.Writer) (close func(), err error) {
	if name != Name {
		return nil, fmt.Errorf("--peer %q: the one peer is %s", name, Name)
	}
	if m.Name != "gpt2" {
		return nil, fmt.Errorf("--peer %s times pipe's built-in gpt2 (seeded weights, written as GGUF), not %s: use --model gpt2", Name, m.Name)
	}
	var types []gguf.Type
	for _, s := range strings.Split(precisions, ",") {
		t, err := gguf.ParseType(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("--peer-precisions: %w", err)
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	threads := o.Engine.IntraOpThreads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	sized := o.WithDefaults() // the prompts and new tokens Bench will run
	maxCtx := 0
	for _, p := range sized.PromptTokens {
		maxCtx = max(maxCtx, p+sized.NewTokens)
	}
	engines, err := Open(Options{Config: m.Config, Seed: m.Seed, Precisions: types, Threads: threads, MaxContext: maxCtx, Log: log})
	if err != nil {
		return nil, err
	}
	for _, e := range engines {
		o.Peers = append(o.Peers, e)
	}
	o.CompareSpinning = true
	return func() {
		for _, e := range engines {
			e.Close()
		}
	}, nil
}

// peerClass is the llama.cpp precision compared with each of pipe's:
// the same class of weights (int4 has no q4 peer here: q8_0 is the nearest).
var peerClass = map[string]string{"fp32": "f32", "fp16": "f16", "int8": "q8_0", "int4": "q8_0"}

// targets are issue 12's side-by-side targets, by pipe precision:
// decode ratio at least, TTFT ratio at most.
var targets = map[string][2]float64{"fp32": {1.0, 0.75}, "int8": {1.0, 1.0}}

// PrintRatios prints, per prompt, each of pipe's rows against llama.cpp's
// row of the same precision class: decode tok/s and TTFT as pipe ÷
// llama.cpp, with issue 12's targets where it sets one.
func PrintRatios(w io.Writer, f roofline.Figures) {
	if len(f.Peers) == 0 {
		return
	}
	fmt.Fprintf(w, "\npipe ÷ %s, same run, same weights, same prompt ids (decode: higher is pipe's; TTFT: lower is pipe's;\n", Name)
	fmt.Fprintf(w, "best run: each engine's fastest decode, the nearest to a quiet machine when other processes take cores)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "prompt\tpipe\tvs\tdecode ×\tbest run ×\tTTFT ×\ttarget\t")
	for _, r := range f.Rows {
		if !strings.HasPrefix(r.Engine, "pipe") {
			continue
		}
		want := peerClass[r.Precision]
		for _, p := range f.Rows {
			if p.Engine != Name || p.PromptTokens != r.PromptTokens || p.Precision != want {
				continue
			}
			dec, ttft := r.DecodeTPS/p.DecodeTPS, r.TTFTms/p.TTFTms
			target := "–"
			if t, ok := targets[r.Precision]; ok {
				verdict := "met"
				if dec < t[0] || ttft > t[1] {
					verdict = "not met"
				}
				target = fmt.Sprintf("decode ≥ %.2f, TTFT ≤ %.2f: %s", t[0], t[1], verdict)
			}
			best := "–"
			if len(r.DecodeAll) > 0 && len(p.DecodeAll) > 0 {
				best = fmt.Sprintf("%.3f", slices.Max(r.DecodeAll)/slices.Max(p.DecodeAll))
			}
			fmt.Fprintf(tw, "%d\t%s %s\t%s %s\t%.3f\t%s\t%.3f\t%s\t\n", r.PromptTokens, r.Engine, r.Precision, Name, p.Precision, dec, best, ttft, target)
		}
	}
	tw.Flush()
	for _, pi := range f.Peers {
		if i, ok := pi.(Info); ok {
			fmt.Fprintf(w, "%s %s: %s (llama.cpp %s), %d threads (threadpool poll %d), n_ctx %d, n_ubatch %d, KV %s, flash attention %s, max |Δlogit| vs pipe's reference %.2g\n",
				Name, i.Precision, i.Package, i.Tag, i.Threads, i.ThreadpoolPoll, i.NCtx, i.NUbatch, i.KVType, i.FlashAttn, i.MaxAbsLogitDiff)
		}
	}
	if len(f.Peers) > 0 {
		if i, ok := f.Peers[0].(Info); ok {
			fmt.Fprintf(w, "%s system info: %s\n", Name, i.SystemInfo)
		}
	}
}
