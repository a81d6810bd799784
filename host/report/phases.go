package report

import (
	"fmt"
	"math"
	"sort"

	"github.com/pipe-bench/pipe/host/result"
	"github.com/pipe-bench/pipe/host/stats"
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
	keys := make([]string, 0, len(m.ArenaSettings))
	for k := range m.ArenaSettings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rows = append(rows, []string{"Runtime option " + k, m.ArenaSettings[k]})
	}
	w.table([]string{"", ""}, "lr", rows)
	if len(m.Leak) == 0 {
		return
	}
	w.f("Leak check: RSS after each run regressed on the run index (least squares); the verdict follows the slope's 95 %% interval against the threshold.\n\n")
	var lrows [][]string
	for _, l := range m.Leak {
		ci := "unbounded"
		if !math.IsInf(l.SlopeCI[0], 0) && !math.IsInf(l.SlopeCI[1], 0) && l.SlopeCI != [2]float64{} {
			ci = fmt.Sprintf("[%s, %s]", stats.Format(l.SlopeCI[0]/1024), stats.Format(l.SlopeCI[1]/1024))
		}
		lrows = append(lrows, []string{l.Case, fmt.Sprint(len(l.RSSAfter)), fmt.Sprint(l.SkipRuns), stats.Format(l.Slope / 1024), ci,
			stats.Format(l.Threshold / 1024), fmt.Sprintf("%.3f", l.R2), "**" + l.Verdict + "**"})
	}
	w.table([]string{"Case", "Runs", "Skipped", "Slope (KiB/run)", "95 % CI (KiB/run)", "Threshold (KiB/run)", "R²", "Verdict"}, "lrrrrrrl", lrows)
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
		rows = append(rows, []string{p.Case, fmt.Sprint(p.Batch), fmt.Sprint(p.Streams), fmt.Sprint(p.Concurrency), stats.Format(p.OutputTPS),
			stats.Format(p.RequestsPS), fmt.Sprintf("%+.0f %%", p.Gain*100), stats.Format(p.TTFTp50), stats.Format(p.TPOTp50), stats.Format(p.E2Ep50)})
	}
	w.table([]string{"Case", "Batch", "Streams", "Concurrency", "Output tok/s", "Requests/s", "Gain", "TTFT p50 (ms)", "TPOT p50 (ms)", "E2E p50 (ms)"}, "lrrrrrrrrr", rows)
	if t.Saturation != "" {
		w.f("Throughput saturates after **%s**: more concurrency gains less than %s.\n\n", t.Saturation, pct(t.SaturationGain))
	} else {
		w.f("Throughput did not saturate within the cases run.\n\n")
	}
	for _, x := range t.Warnings {
		w.f("- ⚠️ %s\n", x)
	}
	if len(t.Warnings) > 0 {
		w.f("\n")
	}
}
