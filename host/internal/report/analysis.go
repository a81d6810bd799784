package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/analysis"
	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/memmodel"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/sysinfo"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// Thresholds the analysis judges by.
const (
	// HighCV is the coefficient of variation above which a metric's spread
	// is a finding.
	HighCV = 0.10
	// NotableForeignCPU is the other processes' CPU use (or the
	// hypervisor's steal), in cores, above which it is named as the likely
	// cause of noise: host/internal/sysinfo's threshold, which the engine's outlier
	// warnings use too.
	NotableForeignCPU = sysinfo.NotableCores
	// linearBand: TTFT ∝ prompt^b is "linear" when the whole 95 % interval
	// of b lies within 1 ± linearBand.
	linearBand = 0.1
	// decodeStableBand: decode rate is "stable" when both cases' 95 %
	// intervals lie within ± decodeStableBand of the first case's centre.
	decodeStableBand = 0.05
)

// KeyMetrics are the metrics the scaling and variance analyses follow.
var KeyMetrics = []string{metric.TTFT, metric.DecodeTPS, metric.E2E}

// ScalingRow compares one case with the first case. Centers are medians,
// which the outliers a noisy run produces do not drag. A row makes no
// claim: the shape of the growth is ScalingFit's, over all the rows.
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
}

// ScalingFit is TTFT ∝ prompt^Exponent fitted by least squares on the logs
// of every valid run of the comparable cases (the scaling rows), with the
// exponent's 95 % interval.
type ScalingFit struct {
	Exponent float64
	CI       [2]float64
	// Bounded is false when the fit has no interval (fewer than three runs,
	// or one prompt length).
	Bounded     bool
	Runs, Cases int
	// Shape is what the interval says: "sub-linear" (within 0…1),
	// "linear" (within 1 ± 0.1), "super-linear" (above 1), "falling"
	// (below 0), or "" when it does not tell.
	Shape string
	// Varied names every parameter that differs among the cases.
	Varied []string
}

// VarianceRow holds one case's spread.
type VarianceRow struct {
	Case       string
	Runs       int
	CV         map[string]float64 // by metric ID, fractions
	Outliers   map[string]int     // by metric ID, the runs stats counts as outliers
	ForeignCPU float64
	// Cause names the likely cause when a key metric's CV exceeds HighCV;
	// CauseKind classifies it: "steal", "foreign", "oversubscribed",
	// "load", "outliers", "governor" or "unexplained".
	Cause     string
	CauseKind string
}

// Finding is one conclusion drawn from the data.
type Finding struct {
	Kind string // "invalid", "error", "load", "runs", "scaling", "decode", "variance", "memory", "throughput", "targets", "baseline", "ok"
	Text string
}

// Analysis is pipe's one model of what a result says: the run report
// renders it, phase 5 (host/internal/finalreport) builds each input's with
// Analyze and renders those, and the HTML report uses both. A difference
// between cases is called significant only by compare's test (Comparison,
// and the decode finding).
type Analysis struct {
	Headline   []Headline // one per case, in the result's order
	Memory     *Memory    // nil without a memory phase
	Throughput *Throughput
	Scaling    []ScalingRow
	Fit        *ScalingFit // nil without two comparable prompt lengths
	Variance   []VarianceRow
	Comparison *compare.Report // nil without a baseline
	// MemoryFlags are the cases whose memory-model comparisons
	// (memmodel.Gaps) are off by more than memmodel.GapLimit.
	MemoryFlags []MemoryFlag
	Findings    []Finding
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
	for i := range r.Cases {
		a.Headline = append(a.Headline, HeadlineOf(&r.Cases[i]))
	}
	a.Memory, a.Throughput = memoryOf(r), throughputOf(r)
	a.Scaling = scaling(r)
	a.Fit = scalingFit(r, a.Scaling)
	a.Variance = variance(r)
	a.MemoryFlags = memoryFlags(r)
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

// Ratio is a / b, NaN where b is 0 (a factor that does not exist, which
// the formatters print as a dash).
func Ratio(a, b float64) float64 {
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
			PromptRatio: Ratio(float64(c.Params.PromptTokens), float64(first.Params.PromptTokens)),
			TTFT:        ttft, TTFTRatio: Ratio(ttft, ttft0), Decode: dec, DecodeChange: Ratio(dec, dec0) - 1,
			E2E: e2e, E2ERatio: Ratio(e2e, e2e0), Exponent: math.NaN()}
		if row.PromptRatio > 0 && row.PromptRatio != 1 && row.TTFTRatio > 0 {
			row.Exponent = math.Log(row.TTFTRatio) / math.Log(row.PromptRatio)
		}
		rows = append(rows, row)
	}
	return rows
}

// scalingFit fits log TTFT on log prompt tokens over every valid run of
// the scaling rows' cases.
func scalingFit(r *result.Result, rows []ScalingRow) *ScalingFit {
	var x, y []float64
	var cases []*result.Case
	prompts := map[int]bool{}
	for _, row := range rows {
		c, ok := r.Case(row.Case)
		if !ok || c.Params.PromptTokens <= 0 {
			continue
		}
		cases = append(cases, c)
		prompts[c.Params.PromptTokens] = true
		for _, run := range c.Runs {
			if v, ok := run.Values[metric.TTFT]; ok && run.Valid && v > 0 && !math.IsInf(v, 0) {
				x = append(x, math.Log(float64(c.Params.PromptTokens)))
				y = append(y, math.Log(v))
			}
		}
	}
	if len(prompts) < 2 || len(x) < 2 {
		return nil
	}
	fit := stats.Regress(x, y)
	f := &ScalingFit{Exponent: fit.Slope, Runs: len(x), Cases: len(cases), Varied: VariedAxes(cases...)}
	if fit.Bounded() && !math.IsNaN(fit.SlopeCI[0]) && !math.IsNaN(fit.SlopeCI[1]) {
		f.CI, f.Bounded = fit.SlopeCI, true
		switch lo, hi := f.CI[0], f.CI[1]; {
		case hi < 0:
			f.Shape = "falling"
		case lo > 1:
			f.Shape = "super-linear"
		case lo > 0 && hi < 1:
			f.Shape = "sub-linear"
		case lo >= 1-linearBand && hi <= 1+linearBand:
			f.Shape = "linear"
		}
	}
	return f
}

// VariedAxes names every case parameter that differs among cases: "prompt
// 128 → 768 tokens" between two cases (in their order), "prompt 128–768
// tokens" among more; the findings name each, so that no change is
// credited to one axis while another also moved.
func VariedAxes(cases ...*result.Case) []string {
	var out []string
	axis := func(name, unit string, get func(p result.CaseParams) int) {
		lo, hi, differ := 0, 0, false
		for i, c := range cases {
			v := get(c.Params)
			if i == 0 {
				lo, hi = v, v
				continue
			}
			differ = differ || v != get(cases[0].Params)
			lo, hi = min(lo, v), max(hi, v)
		}
		if !differ {
			return
		}
		span := fmt.Sprintf("%d–%d", lo, hi)
		if len(cases) == 2 {
			span = fmt.Sprintf("%d → %d", get(cases[0].Params), get(cases[1].Params))
		}
		out = append(out, strings.TrimSpace(name+" "+span+" "+unit))
	}
	axis("prompt", "tokens", func(p result.CaseParams) int { return p.PromptTokens })
	axis("output", "tokens", func(p result.CaseParams) int { return p.NewTokens })
	axis("batch", "", func(p result.CaseParams) int { return max(p.Batch, 1) })
	axis("streams", "", func(p result.CaseParams) int { return max(p.Streams, 1) })
	axis("intra-op threads", "", func(p result.CaseParams) int { return p.Threads })
	for _, c := range cases[min(1, len(cases)):] {
		if c.Params.Sampling != cases[0].Params.Sampling {
			out = append(out, "sampling")
			break
		}
	}
	return out
}

func variance(r *result.Result) []VarianceRow {
	var rows []VarianceRow
	for i := range r.Cases {
		c := &r.Cases[i]
		row := VarianceRow{Case: c.ID, Runs: len(c.Runs), CV: map[string]float64{}, Outliers: map[string]int{}, ForeignCPU: c.ForeignCPU}
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
	case c.StealCPU >= NotableForeignCPU && c.StealCPU >= foreign:
		return "steal", fmt.Sprintf("the hypervisor stole %.2f cores (steal time) during the case, other processes used %.2f — rerun on a dedicated or quieter host", c.StealCPU, foreign)
	case foreign >= NotableForeignCPU:
		return "foreign", fmt.Sprintf("foreign CPU load %.2f cores during the case — rerun on an idle machine", foreign)
	case cores > 0 && c.Params.Streams > 1 && own > cores:
		return "oversubscribed", fmt.Sprintf("%d streams × %d intra-op threads = %d threads on %d cores: the requests contend with each other, not with other processes (%.2f cores of foreign CPU) — expected under concurrency; intra_op_threads = cores / streams separates the two", c.Params.Streams, threads, own, cores, foreign)
	case cores > 0 && r.Env.LoadDuring-float64(max(cores, own)) > 0.5:
		return "load", fmt.Sprintf("load average %.1f on %d cores during the run (this case measured %.2f cores of foreign CPU) — rerun on an idle machine", r.Env.LoadDuring, r.Env.Cores, foreign)
	case outliers > 0:
		return "outliers", fmt.Sprintf("%d outlier run(s) (%s) without measured foreign load or steal — rerun, or add runs so they weigh less", outliers, OutlierRule(r))
	case r.Env.Governor != "" && r.Env.Governor != "performance":
		return "governor", fmt.Sprintf("no foreign load or outliers measured; the CPU governor is %q — set it to performance, or add runs", r.Env.Governor)
	}
	return "unexplained", "no foreign load, steal or outliers measured, so the cause was not measured — add runs or pin threads"
}

// outlierZ is the outlier threshold the run used (its aggregate settings),
// 0 for the default.
// OutlierRule states the outlier rule the result's runs were judged by
// (stats.DescribeOutlierRule at the pipeline's aggregate.outlier_z), for
// every report that explains its outlier counts.
func OutlierRule(r *result.Result) string { return stats.DescribeOutlierRule(outlierZ(r)) }

func outlierZ(r *result.Result) float64 {
	switch v := r.Pipeline.Settings["outlier_z"].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return 0
}

func pct(f float64) string { return fmt.Sprintf("%.0f %%", f*100) }

func times(f float64) string {
	if f >= 10 {
		return fmt.Sprintf("%.0f×", f)
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".") + "×"
}

// findings draws the report's sentences. None may contradict the data: a
// shape is claimed only where its 95 % interval says so (the scaling fit's
// exponent), a change between cases only where compare's test calls it
// significant (decodeChange), a sentence that
// compares cases names every parameter that differs between them, and "No
// anomaly" is written only when nothing else needs attention and every case
// had enough runs to judge (RATIONALE.md, "Findings that never contradict
// the data").
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
	if f := a.Fit; f != nil {
		first, last := a.Scaling[0], a.Scaling[len(a.Scaling)-1]
		fit := fmt.Sprintf("TTFT ∝ prompt^%.2f", f.Exponent)
		if f.Bounded {
			fit += fmt.Sprintf(" [%.2f, %.2f]", f.CI[0], f.CI[1])
		}
		basis := fmt.Sprintf("log-log least squares over %d runs of %d cases; varied: %s; medians %s → %s ms from %s to %s",
			f.Runs, f.Cases, strings.Join(f.Varied, ", "), stats.Format(first.TTFT), stats.Format(last.TTFT), first.Case, last.Case)
		switch {
		case f.Shape == "falling":
			add("scaling", "TTFT falls as the prompt grows: %s (%s) — look for a warm-up or cache effect in the first cases.", fit, basis)
		case f.Shape != "":
			add("scaling", "TTFT grows %sly with prompt length: %s (%s).", f.Shape, fit, basis)
		case !f.Bounded:
			add("scaling", "TTFT against prompt length: %s (%s); too few runs for an interval, so no shape is claimed.", fit, basis)
		default:
			add("scaling", "TTFT against prompt length: %s (%s); the interval does not tell sub-linear, linear and super-linear apart — add runs or prompt lengths.", fit, basis)
		}
	}
	if n := len(a.Scaling); n >= 2 && a.Scaling[n-1].PromptTokens != a.Scaling[0].PromptTokens {
		ca, _ := r.Case(a.Scaling[0].Case)
		cb, _ := r.Case(a.Scaling[n-1].Case)
		if sentence := decodeChange(r, ca, cb); sentence != "" {
			add("decode", "%s", sentence)
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
	// Spread and outliers are judged only on enough runs (the minimum a
	// std or cv target is judged on).
	var few []string
	for i := range r.Cases {
		if n := validRuns(&r.Cases[i]); n < target.MinSpreadRuns {
			few = append(few, fmt.Sprintf("%s (%d)", r.Cases[i].ID, n))
		}
	}
	if len(few) > 0 {
		add("runs", "Too few runs to judge the spread: %d of %d case(s) have fewer than %d valid runs — %s; their CV and outliers say little, so no anomaly can be ruled out — add runs.",
			len(few), len(r.Cases), target.MinSpreadRuns, strings.Join(few, ", "))
	}
	concern := false // something in the memory, target or baseline findings a reader must act on
	if m := a.Memory; m != nil {
		for _, l := range m.Leaks {
			ci := "no interval"
			if in := kibInterval(l.SlopeCI); in != "unbounded" {
				ci = "95 % CI " + in + " KiB/run"
			}
			text := fmt.Sprintf("Leak check at %s: %s (RSS slope %s KiB/run, %s, threshold %s KiB/run, over %d runs",
				l.Case, l.Verdict, stats.Format(l.Slope/1024), ci, stats.Format(l.Threshold/1024), len(l.RSSAfter)-l.SkipRuns)
			if len(l.Steps) > 0 {
				text += "; steps, apart from the slope: " + LeakSteps(l)
			}
			text += ")"
			if l.Reason != "" {
				text += ": " + l.Reason
			}
			add("memory", "%s.", text)
			concern = concern || l.Verdict != analysis.NoLeak
		}
	}
	for _, f := range a.MemoryFlags {
		parts := make([]string, len(f.Gaps))
		for i, g := range f.Gaps {
			parts[i] = gapText(g)
		}
		add("memory", "Memory model off at %s: %s.", f.Case, strings.Join(parts, "; "))
		concern = true
	}
	if t := a.Throughput; t != nil {
		switch {
		case t.Saturation != "":
			add("throughput", "Throughput saturates after %s: beyond it throughput gains %s, below %s by the whole interval.", t.Saturation, gainWithInterval(t.BeyondGain, t.BeyondGainCI), pct(t.Gain))
		case t.Undecided != "":
			add("throughput", "No saturation called: %s.", t.Undecided)
		}
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
			c.ChangeCount(compare.Improvement), c.ChangeCount(compare.Regression), largestChange(c))
	}
	concern = concern || a.TargetsFailed > 0 || (a.Comparison != nil && a.Comparison.ChangeCount(compare.Regression) > 0) ||
		(a.Fit != nil && a.Fit.Shape == "falling")
	// "No anomaly" only when nothing else needs a reader's attention and
	// every case had enough runs to judge.
	if !concern && onlyKinds(out, "targets", "decode", "scaling", "baseline", "memory", "throughput") {
		add("ok", "No anomaly: every run kept its invariants, and no key metric varied by more than %s.", pct(HighCV))
	}
	return out
}

// MemoryFlag is one case's memory-model comparisons beyond
// memmodel.GapLimit.
type MemoryFlag struct {
	Case string
	Gaps []memmodel.Gap // the flagged ones, in memmodel.Gaps' order
}

// memoryFlags are r's cases with a flagged memory-model comparison, in the
// result's order.
func memoryFlags(r *result.Result) []MemoryFlag {
	var out []MemoryFlag
	for _, c := range r.Cases {
		if c.MemoryModel == nil {
			continue
		}
		var flagged []memmodel.Gap
		for _, g := range memmodel.Gaps(*c.MemoryModel) {
			if g.Flagged {
				flagged = append(flagged, g)
			}
		}
		if len(flagged) > 0 {
			out = append(out, MemoryFlag{Case: c.ID, Gaps: flagged})
		}
	}
	return out
}

// gapText is a flagged comparison as the findings and phase 3's memory
// section state it: the quantity, measured, predicted, the gap and what
// the prediction leaves out.
func gapText(g memmodel.Gap) string {
	return fmt.Sprintf("%s: %s measured against %s predicted (%s), beyond %s — %s", g.What, mib(g.Measured), mib(g.Predicted), g, pct(memmodel.GapLimit), g.Why)
}

func validRuns(c *result.Case) int {
	n := 0
	for _, r := range c.Runs {
		if r.Valid {
			n++
		}
	}
	return n
}

// decodeChange says how the decode rate changed from case a to case b of
// r. A change is claimed only where pipe compare would call it one
// (compare.CompareCases: Mann–Whitney U on the two cases' runs, Holm over
// the claims of this finding, the noise threshold), so the run report and
// phase 5 call a difference significant one way; stability is claimed only
// where both 95 % intervals lie within ± decodeStableBand of a's centre.
// The sentence names every parameter that differs between the cases.
func decodeChange(r *result.Result, a, b *result.Case) string {
	if a == nil || b == nil {
		return ""
	}
	sa, sb := a.Stats[metric.DecodeTPS], b.Stats[metric.DecodeTPS]
	what, ca, cb, ia, ib, ok := centres(sa, sb)
	if !ok || ca <= 0 {
		return ""
	}
	test := compare.CompareCases(r, a, r, b, compare.Options{Metrics: []string{metric.DecodeTPS}})
	if len(test.Rows) != 1 {
		return ""
	}
	row := test.Rows[0]
	d := cb/ca - 1
	where := fmt.Sprintf("from %s to %s (%s)", a.ID, b.ID, strings.Join(VariedAxes(a, b), ", "))
	figures := fmt.Sprintf("%s %s %s → %s %s tok/s", what, stats.Format(ca), ciText(ia), stats.Format(cb), ciText(ib))
	lo, hi := ca*(1-decodeStableBand), ca*(1+decodeStableBand)
	switch {
	case row.Significant:
		verb := "falls"
		if d > 0 {
			verb = "rises"
		}
		return fmt.Sprintf("Decode rate %s %s %s: %s, significant (Mann–Whitney U, %s).", verb, pct(math.Abs(d)), where, figures, row.PN())
	case ia[0] >= lo && ia[1] <= hi && ib[0] >= lo && ib[1] <= hi:
		return fmt.Sprintf("Decode rate is stable %s: %s, both intervals within ±%s of the first.", where, figures, pct(decodeStableBand))
	}
	why := row.PN()
	if row.Note != "" {
		why = row.Note + "; " + why
	}
	return fmt.Sprintf("Decode rate %s → %s tok/s (%+.1f %%) %s, not significant (Mann–Whitney U, %s; %s %s, %s; CV %s, %s): no change can be claimed — add runs.",
		stats.Format(ca), stats.Format(cb), d*100, where, why, what, ciText(ia), ciText(ib), pct(sa.CV), pct(sb.CV))
}

// centres picks the estimates a change claim compares: the medians with
// their distribution-free intervals where both samples have them (6 runs
// or more), else the means with their t intervals (2 runs or more).
func centres(a, b stats.Summary) (what string, ca, cb float64, ia, ib [2]float64, ok bool) {
	switch {
	case a.P50CI != [2]float64{} && b.P50CI != [2]float64{}:
		return "medians", a.P50, b.P50, a.P50CI, b.P50CI, true
	case a.N >= 2 && b.N >= 2:
		return "means", a.Mean, b.Mean, a.MeanCI, b.MeanCI, true
	}
	return "", 0, 0, [2]float64{}, [2]float64{}, false
}

func ciText(ci [2]float64) string {
	return fmt.Sprintf("[%s, %s]", stats.Format(ci[0]), stats.Format(ci[1]))
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
