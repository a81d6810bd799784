package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/memmodel"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// writeMemory renders phase 3's analysis, when the result has one.
func writeMemory(w *mdWriter, r *result.Result) {
	m := r.Memory
	if m == nil {
		return
	}
	w.f("## Memory\n\n")
	rows := [][]string{
		{"Load: RSS after − before session creation", mib(m.LoadRSSDelta)},
		{"Load: peak RSS during session creation", mib(m.LoadPeakRSS)},
	}
	if m.GPUPeakBytes > 0 {
		rows = append(rows, []string{"GPU memory, peak (this process)", mib(m.GPUPeakBytes)})
	}
	keys := make([]string, 0, len(m.SessionOptions))
	for k := range m.SessionOptions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rows = append(rows, []string{"Runtime option " + k, m.SessionOptions[k]})
	}
	w.table([]string{"", ""}, "lr", rows)
	writeMemoryModel(w, r)
	if len(m.Leak) == 0 {
		return
	}
	w.f("Leak check: RSS after each run, its slope fitted by Theil–Sen (the median of pairwise slopes) within the segments between level steps, with Sen's 95 %% interval widened for the residuals' autocorrelation; the verdict follows that interval against the threshold. A step is a level shift between two runs (an arena growing or being trimmed), reported apart from the slope.\n\n")
	var lrows [][]string
	for _, l := range m.Leak {
		lrows = append(lrows, []string{l.Case, fmt.Sprint(len(l.RSSAfter)), fmt.Sprint(l.SkipRuns), stats.Format(l.Slope / 1024), kibInterval(l.SlopeCI),
			stats.Format(l.Threshold / 1024), LeakSteps(l), "**" + l.Verdict + "**"})
	}
	w.table([]string{"Case", "Runs", "Skipped", "Slope (KiB/run)", "95 % CI (KiB/run)", "Threshold (KiB/run)", "Steps", "Verdict"}, "lrrrrrll", lrows)
	reasons := false
	for _, l := range m.Leak {
		if l.Reason != "" {
			w.f("- %s, %s: %s.\n", l.Case, l.Verdict, l.Reason)
			reasons = true
		}
	}
	if reasons {
		w.f("\n")
	}
}

// writeMemoryModel renders each case's predicted memory and its
// comparisons with the measured (memmodel.Gaps), flagging a gap beyond
// memmodel.GapLimit.
func writeMemoryModel(w *mdWriter, r *result.Result) {
	var pred, cmp [][]string
	var flagged []string
	for _, c := range r.Cases {
		p := c.MemoryModel
		if p == nil {
			continue
		}
		where := "host"
		if p.OnDevice {
			where = "GPU"
		}
		pred = append(pred, []string{c.ID, mib(p.Weights), mib(p.KVCache) + " (" + where + ")", mib(p.Logits), mib(p.Total)})
		for _, g := range memmodel.Gaps(*p) {
			gap := g.String()
			if g.Flagged {
				gap = "**" + gap + "** ⚠️"
				flagged = append(flagged, c.ID+", "+gapText(g)+".")
			}
			cmp = append(cmp, []string{c.ID, g.What, mib(g.Predicted), mib(g.Measured), gap})
		}
	}
	if len(pred) == 0 {
		return
	}
	w.f("Memory model: the bytes pipe allocates, predicted from the model's shape and precisions — the weights as stored in the graph, the KV cache (2 × layers × batch × kv_heads × (prompt + new − 1) × head_dim × the cache type's size, twice on the concat path, and the buffers the generator keeps from earlier, larger cases) and the logits buffer — not ONNX Runtime's activation arena or code.\n\n")
	w.table([]string{"Case", "Weights", "KV cache", "Logits", "Predicted total"}, "lrrrr", pred)
	if len(cmp) == 0 {
		return
	}
	w.f("Compared: the weights with the RSS growth of session creation; the KV cache and logits with the case's highest sampled RSS over the RSS once the model was opened (its build garbage returned to the system first); on CUDA, the weights and the device cache with the GPU memory peak. A gap beyond %s either way is flagged.\n\n", pct(memmodel.GapLimit))
	w.table([]string{"Case", "Compared", "Predicted", "Measured", "Gap"}, "llrrr", cmp)
	for _, f := range flagged {
		w.f("- ⚠️ %s\n", f)
	}
	if len(flagged) > 0 {
		w.f("\n")
	}
}

// kibInterval formats a byte interval in KiB, or "unbounded".
func kibInterval(ci [2]float64) string {
	if math.IsInf(ci[0], 0) || math.IsInf(ci[1], 0) || math.IsNaN(ci[0]) || math.IsNaN(ci[1]) || ci == [2]float64{} {
		return "unbounded"
	}
	return fmt.Sprintf("[%s, %s]", stats.Format(ci[0]/1024), stats.Format(ci[1]/1024))
}

// LeakSteps lists a leak analysis's level steps ("+8.00 MiB at run 30"),
// or "none"; the run report and the final report both print it.
func LeakSteps(l result.Leak) string {
	if len(l.Steps) == 0 {
		return "none"
	}
	parts := make([]string, len(l.Steps))
	for i, s := range l.Steps {
		sign := "+"
		if s.Bytes < 0 {
			sign = "−"
		}
		parts[i] = fmt.Sprintf("%s%s MiB at run %d", sign, stats.Format(math.Abs(s.Bytes)/(1<<20)), s.Run)
	}
	return strings.Join(parts, "; ")
}

// interval formats a 95 % interval, or "–" where there is none.
func interval(ci [2]float64, format func(float64) string) string {
	if ci == [2]float64{} {
		return "–"
	}
	return fmt.Sprintf("[%s, %s]", format(ci[0]), format(ci[1]))
}

// gainWithInterval formats a gain and its interval: "+45 % [+40 %, +50 %]".
func gainWithInterval(g float64, ci [2]float64) string {
	signed := func(f float64) string { return fmt.Sprintf("%+.0f %%", f*100) }
	if ci == [2]float64{} {
		return signed(g)
	}
	return signed(g) + " " + interval(ci, signed)
}

// writeThroughput renders phase 4's curve, when the result has one.
func writeThroughput(w *mdWriter, r *result.Result) {
	t := r.Throughput
	if t == nil || len(t.Points) == 0 {
		return
	}
	w.f("## Throughput\n\n")
	var rows [][]string
	for _, p := range t.Points {
		rows = append(rows, []string{p.Case, fmt.Sprint(p.Batch), fmt.Sprint(p.Streams), fmt.Sprint(p.Concurrency), fmt.Sprintf("%d/%d", p.ValidRuns, p.Runs),
			stats.Format(p.OutputTPS), interval(p.OutputTPSCI, stats.Format), stats.Format(p.RequestsPS), gainWithInterval(p.Gain, p.GainCI),
			stats.Format(p.TTFTp50), stats.Format(p.TPOTp50), stats.Format(p.E2Ep50)})
	}
	w.f("Output throughput is the tokens of a case's valid runs over the wall span of its runs (the longest stream's summed E2E); intervals are 95 %%, from a bootstrap over runs. Gain is over the best case at any lower concurrency.\n\n")
	w.table([]string{"Case", "Batch", "Streams", "Concurrency", "Valid runs", "Output tok/s", "95 % CI", "Requests/s", "Gain", "TTFT p50 (ms)", "TPOT p50 (ms)", "E2E p50 (ms)"}, "lrrrrrrrrrrr", rows)
	switch {
	case t.Saturation != "":
		w.f("Throughput saturates after **%s**: beyond it throughput gains %s, below %s by the whole interval.\n\n", t.Saturation, gainWithInterval(t.BeyondGain, t.BeyondGainCI), pct(t.SaturationGain))
	case t.Undecided != "":
		w.f("No saturation called: %s.\n\n", t.Undecided)
	default:
		w.f("Throughput did not saturate within the cases run.\n\n")
	}
	for _, x := range t.Warnings {
		w.f("- ⚠️ %s\n", x)
	}
	if len(t.Warnings) > 0 {
		w.f("\n")
	}
}
