package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pipe-bench/pipe/host/compare"
	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/result"
	"github.com/pipe-bench/pipe/host/stats"
)

// Thresholds the analysis judges by.
const (
	// HighCV is the coefficient of variation above which a metric's spread
	// is a finding.
	HighCV = 0.10
	// NotableForeignCPU is the other processes' CPU use, in cores, above
	// which they are named as the likely cause of noise.
	NotableForeignCPU = 0.25
	// linearBand: TTFT ∝ prompt^b with |b − 1| ≤ linearBand is "linear".
	linearBand = 0.1
	// decodeStableBand: decode rate changes smaller than this are "stable".
	decodeStableBand = 0.05
)

// KeyMetrics are the metrics the scaling and variance analyses follow.
var KeyMetrics = []string{metric.TTFT, metric.DecodeTPS, metric.E2E}

// ScalingRow compares one case with the first case. Centers are medians,
// which the outliers a noisy run produces do not drag.
type ScalingRow struct {
	Case         string
	PromptTokens int
	NewTokens    int
	PromptRatio  float64 // prompt tokens / the first case's
	TTFT         float64 // median, ms
	TTFTRatio    float64
	Decode       float64 // median, tok/s
	DecodeChange float64 // relative to the first case
	E2E          float64 // median, ms
	E2ERatio     float64
	// Exponent b in TTFT ∝ prompt^b between the first case and this one;
	// NaN when the prompt length is the same.
	Exponent float64
	Shape    string // "sub-linear", "linear", "super-linear" or ""
}

// VarianceRow holds one case's spread.
type VarianceRow struct {
	Case       string
	CV         map[string]float64 // by metric ID, fractions
	Outliers   map[string]int     // by metric ID, runs with modified z > 10
	ForeignCPU float64
	// Cause names the likely cause when a key metric's CV exceeds HighCV;
	// CauseKind classifies it: "foreign", "oversubscribed", "load",
	// "outliers", "governor" or "unexplained".
	Cause     string
	CauseKind string
}

// Finding is one conclusion drawn from the data.
type Finding struct {
	Kind string // "invalid", "error", "load", "scaling", "decode", "variance", "memory", "throughput", "targets", "baseline", "ok"
	Text string
}

// Analysis is what a report says beyond the raw tables; the HTML report
// uses it too.
type Analysis struct {
	Scaling    []ScalingRow
	Variance   []VarianceRow
	Comparison *compare.Report // nil without a baseline
	Findings   []Finding
	// TargetsFailed counts failed verdicts; TargetsTotal all of them.
	TargetsFailed, TargetsTotal int
}

// Analyze draws the report's conclusions from r (and opt.Baseline).
func Analyze(r *result.Result, opt Options) *Analysis {
	a := &Analysis{TargetsTotal: len(r.Targets)}
	for _, v := range r.Targets {
		if !v.Pass {
			a.TargetsFailed++
		}
	}
	a.Scaling = scaling(r)
	a.Variance = variance(r)
	if opt.Baseline != nil {
		a.Comparison = compare.Compare(opt.Baseline, r, opt.Compare)
	}
	a.Findings = findings(r, a)
	return a
}

func median(c *result.Case, id string) (float64, bool) {
	s, ok := c.Stats[id]
	if !ok || s.N == 0 {
		return 0, false
	}
	return s.P50, true
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

func scaling(r *result.Result) []ScalingRow {
	if len(r.Cases) < 2 {
		return nil
	}
	first := &r.Cases[0]
	ttft0, ok := median(first, metric.TTFT)
	if !ok {
		return nil
	}
	dec0, _ := median(first, metric.DecodeTPS)
	e2e0, _ := median(first, metric.E2E)
	var rows []ScalingRow
	for i := range r.Cases {
		c := &r.Cases[i]
		// Scaling is about prompt length: cases that also change the batch,
		// the streams or the threads are a different comparison.
		if p, q := c.Params, first.Params; p.Batch != q.Batch || p.Streams != q.Streams || p.Threads != q.Threads {
			continue
		}
		ttft, ok := median(c, metric.TTFT)
		if !ok {
			continue
		}
		dec, _ := median(c, metric.DecodeTPS)
		e2e, _ := median(c, metric.E2E)
		row := ScalingRow{Case: c.ID, PromptTokens: c.Params.PromptTokens, NewTokens: c.Params.NewTokens,
			PromptRatio: ratio(float64(c.Params.PromptTokens), float64(first.Params.PromptTokens)),
			TTFT:        ttft, TTFTRatio: ratio(ttft, ttft0), Decode: dec, DecodeChange: ratio(dec, dec0) - 1,
			E2E: e2e, E2ERatio: ratio(e2e, e2e0), Exponent: math.NaN()}
		if row.PromptRatio > 0 && row.PromptRatio != 1 && row.TTFTRatio > 0 {
			row.Exponent = math.Log(row.TTFTRatio) / math.Log(row.PromptRatio)
			switch {
			case row.Exponent < 1-linearBand:
				row.Shape = "sub-linear"
			case row.Exponent > 1+linearBand:
				row.Shape = "super-linear"
			default:
				row.Shape = "linear"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func variance(r *result.Result) []VarianceRow {
	var rows []VarianceRow
	for i := range r.Cases {
		c := &r.Cases[i]
		row := VarianceRow{Case: c.ID, CV: map[string]float64{}, Outliers: map[string]int{}, ForeignCPU: c.ForeignCPU}
		high, outliers := false, 0
		for _, id := range r.MetricIDs() {
			s, ok := c.Stats[id]
			if !ok {
				continue
			}
			row.CV[id] = s.CV
			if s.Outliers > 0 {
				row.Outliers[id] = s.Outliers
			}
			if isKey(id) {
				high = high || s.CV > HighCV
				outliers = max(outliers, s.Outliers)
			}
		}
		if high {
			row.CauseKind, row.Cause = noiseCause(r, c, outliers)
		}
		rows = append(rows, row)
	}
	return rows
}

func isKey(id string) bool {
	for _, k := range KeyMetrics {
		if k == id {
			return true
		}
	}
	return false
}

// noiseCause names the likely cause of a high CV, from what was measured.
func noiseCause(r *result.Result, c *result.Case, outliers int) (kind, cause string) {
	foreign := c.ForeignCPU
	cores := r.Env.Cores
	// pipe's own runnable threads: intra-op threads (the runtime's default
	// is one per core) times concurrent streams.
	threads := c.Params.Threads
	if threads <= 0 {
		threads = r.Model.Threads.IntraOp
	}
	if threads <= 0 {
		threads = cores
	}
	own := threads * max(c.Params.Streams, 1)
	switch {
	case foreign >= NotableForeignCPU:
		return "foreign", fmt.Sprintf("foreign CPU load %.2f cores during the case — rerun on an idle machine", foreign)
	case cores > 0 && c.Params.Streams > 1 && own > cores:
		return "oversubscribed", fmt.Sprintf("%d streams × %d intra-op threads = %d threads on %d cores: the requests contend with each other, not with other processes (%.2f cores of foreign CPU) — expected under concurrency; intra_op_threads = cores / streams separates the two", c.Params.Streams, threads, own, cores, foreign)
	case cores > 0 && r.Env.LoadDuring-float64(max(cores, own)) > 0.5:
		return "load", fmt.Sprintf("load average %.1f on %d cores during the run (this case measured %.2f cores of foreign CPU) — rerun on an idle machine", r.Env.LoadDuring, r.Env.Cores, foreign)
	case outliers > 0:
		return "outliers", fmt.Sprintf("%d outlier run(s) (modified z-score > 10) without measured foreign load — rerun, or add runs so they weigh less", outliers)
	case r.Env.Governor != "" && r.Env.Governor != "performance":
		return "governor", fmt.Sprintf("no foreign load or outliers measured; the CPU governor is %q — set it to performance, or add runs", r.Env.Governor)
	}
	return "unexplained", "no foreign load or outliers measured: the machine's own variation (frequency, thermal, memory placement) — add runs or pin threads"
}

func pct(f float64) string { return fmt.Sprintf("%.0f %%", f*100) }

func times(f float64) string {
	if f >= 10 {
		return fmt.Sprintf("%.0f×", f)
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".") + "×"
}

func findings(r *result.Result, a *Analysis) []Finding {
	var out []Finding
	add := func(kind, format string, args ...any) { out = append(out, Finding{kind, fmt.Sprintf(format, args...)}) }
	for _, p := range r.Problems {
		add("invalid", "Invalid: %s — the run is left out of the statistics, and the whole result is marked invalid.", p)
	}
	for _, e := range r.Errors {
		add("error", "Error during the run: %s.", e)
	}
	// A high load average before the run is only worth a sentence when
	// the first case then measured foreign CPU: the 1-minute average
	// decays slowly after, say, the build that preceded the run.
	if cores := r.Env.Cores; cores > 0 && r.Env.LoadBefore > 0.5*float64(cores) && len(r.Cases) > 0 && r.Cases[0].ForeignCPU >= NotableForeignCPU {
		add("load", "The machine was busy when the run started: load average %.2f on %d cores, and other processes used %.2f cores during the first case (%s) — it may be slowed.", r.Env.LoadBefore, cores, r.Cases[0].ForeignCPU, r.Cases[0].ID)
	}
	for _, s := range a.Scaling {
		if s.Shape == "" {
			continue
		}
		add("scaling", "TTFT grows %sly with prompt length: %s tokens → %s time (%s → %s; medians %s → %s ms).",
			s.Shape, times(s.PromptRatio), times(s.TTFTRatio), a.Scaling[0].Case, s.Case, stats.Format(a.Scaling[0].TTFT), stats.Format(s.TTFT))
	}
	if n := len(a.Scaling); n >= 2 && a.Scaling[0].Decode > 0 && a.Scaling[n-1].PromptTokens != a.Scaling[0].PromptTokens {
		first, last := a.Scaling[0], a.Scaling[n-1]
		switch d := last.DecodeChange; {
		case math.Abs(d) < decodeStableBand:
			add("decode", "Decode rate is stable across the cases: %s → %s tok/s (%+.1f %%) from %s to %s.",
				stats.Format(first.Decode), stats.Format(last.Decode), d*100, first.Case, last.Case)
		default:
			verb := "falls"
			if d > 0 {
				verb = "rises"
			}
			add("decode", "Decode rate %s %s from %d to %d prompt tokens (%s → %s tok/s, medians).",
				verb, pct(math.Abs(d)), first.PromptTokens, last.PromptTokens, stats.Format(first.Decode), stats.Format(last.Decode))
		}
	}
	var contended []string
	for _, v := range a.Variance {
		if v.Cause == "" {
			continue
		}
		if v.CauseKind == "oversubscribed" {
			contended = append(contended, v.Case)
			continue
		}
		var parts []string
		for _, id := range KeyMetrics {
			if cv, ok := v.CV[id]; ok && cv > HighCV {
				parts = append(parts, fmt.Sprintf("%s on %s", pct(cv), sentenceName(id)))
			}
		}
		add("variance", "CV %s at %s: %s.", strings.Join(parts, ", "), v.Case, v.Cause)
	}
	if len(contended) > 0 {
		add("variance", "CV above %s in %d concurrent case(s) whose streams × intra-op threads exceed the %d cores (%s): the requests contend with each other, not with other processes — expected under concurrency; intra_op_threads = cores / streams separates the two.",
			pct(HighCV), len(contended), r.Env.Cores, strings.Join(contended, ", "))
	}
	if m := r.Memory; m != nil {
		for _, l := range m.Leak {
			add("memory", "Leak check at %s: %s (RSS slope %s KiB/run, threshold %s KiB/run, over %d runs).",
				l.Case, l.Verdict, stats.Format(l.Slope/1024), stats.Format(l.Threshold/1024), len(l.RSSAfter)-l.SkipRuns)
		}
	}
	if t := r.Throughput; t != nil && t.Saturation != "" {
		add("throughput", "Throughput saturates after %s: more concurrency gains less than %s.", t.Saturation, pct(t.SaturationGain))
	}
	if a.TargetsTotal > 0 {
		if a.TargetsFailed == 0 {
			add("targets", "All %d target verdicts passed.", a.TargetsTotal)
		} else {
			var failed []string
			for _, v := range r.Targets {
				if !v.Pass {
					failed = append(failed, verdictBrief(v))
				}
			}
			const show = 4
			more := ""
			if len(failed) > show {
				more = fmt.Sprintf(", and %d more", len(failed)-show)
				failed = failed[:show]
			}
			add("targets", "%d of %d target verdicts failed: %s%s.", a.TargetsFailed, a.TargetsTotal, strings.Join(failed, "; "), more)
		}
	}
	if c := a.Comparison; c != nil {
		add("baseline", "Against the baseline (%s): %d improvement(s), %d regression(s)%s.", c.Old,
			c.Count(compare.Improvement), c.Count(compare.Regression), largestChange(c))
	}
	if len(out) == 0 || onlyKinds(out, "targets", "decode", "scaling", "baseline", "memory", "throughput") && a.TargetsFailed == 0 {
		add("ok", "No anomaly: every run kept its invariants, and no key metric varied by more than %s.", pct(HighCV))
	}
	return out
}

func onlyKinds(fs []Finding, kinds ...string) bool {
	for _, f := range fs {
		found := false
		for _, k := range kinds {
			found = found || f.Kind == k
		}
		if !found {
			return false
		}
	}
	return true
}

func verdictBrief(v result.Verdict) string {
	where := ""
	if v.Case != "" {
		where = " at " + v.Case
	}
	if v.Message != "" {
		return fmt.Sprintf("%s%s (%s)", v.Target, where, v.Message)
	}
	return fmt.Sprintf("%s%s (%s %s)", v.Target, where, stats.Format(v.Observed), v.Unit)
}

// largestChange names the largest significant change, if any.
func largestChange(c *compare.Report) string {
	rows := make([]compare.Row, 0, len(c.Rows))
	for _, row := range c.Rows {
		if row.Significant {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return ""
	}
	sort.SliceStable(rows, func(i, j int) bool { return math.Abs(rows[i].Delta) > math.Abs(rows[j].Delta) })
	r := rows[0]
	return fmt.Sprintf("; the largest: %s at %s %+.1f %% (%s)", sentenceName(r.Metric), r.Case, r.Delta*100, r.Verdict)
}

// sentenceName names a metric in findings: the short name (metric.ShortName)
// for the metrics pipe's sentences are about, the ID for every other one.
func sentenceName(id string) string {
	if id == metric.TPOT || slices.Contains(KeyMetrics, id) {
		return metric.ShortName(id)
	}
	return id
}
