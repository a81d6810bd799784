package finalreport

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/result"
	"github.com/pipe-bench/pipe/host/stats"
)

// Analysis is what the final report says about a merged result. Markdown
// and HTML render the same Analysis, so both say the same thing.
type Analysis struct {
	Title    string
	Inputs   []InputStatus
	Headline []Headline
	// Comparison is phase 1 against the first case of phase 2, when both
	// are present.
	Comparison *Comparison
	Scaling    *Scaling
	Variance   []VarianceRow
	Memory     *MemoryVerdict
	Throughput *ThroughputCurve
	// Targets holds every verdict: each input's own, then phase 5's.
	Targets []TargetRow
	// Findings and Recommendations are sentences computed from the data.
	Findings        []string
	Recommendations []string
}

// InputStatus is one input of the merged result.
type InputStatus struct {
	Role, Ref, Path, Pipeline, StartedAt string
	Present, Valid                       bool
	// Missing says why an absent input could not be read.
	Missing       string
	Cases, Runs   int
	TargetsPassed int
	TargetsTotal  int
}

// Headline is one case's headline figures, in one phase.
type Headline struct {
	Role, Case       string
	Prompt, NewTok   int
	Batch, Streams   int
	Runs             int
	TTFT, Decode     Estimate
	E2E              Estimate
	E2Ep95, PeakRSS  float64
	Valid            bool
	OutlierRuns      int
	ForeignCPUCores  float64
	HasTTFT, HasDec  bool
	HasE2E, HasPeakR bool
}

// Estimate is a mean with its 95 % interval.
type Estimate struct {
	Mean float64
	CI   [2]float64
	N    int
}

func estimateOf(s stats.Summary) Estimate { return Estimate{s.Mean, s.MeanCI, s.N} }

// Overlaps reports whether two intervals share any value.
func (e Estimate) Overlaps(o Estimate) bool { return e.CI[0] <= o.CI[1] && o.CI[0] <= e.CI[1] }

// Comparison is phase 1 (quick) against the latency phase's shortest case.
type Comparison struct {
	A, B Headline
	Rows []ComparisonRow
}

// ComparisonRow compares one metric.
type ComparisonRow struct {
	Metric   string // short name
	Unit     string
	A, B     Estimate
	Change   float64 // B / A − 1
	Overlaps bool    // the 95 % intervals overlap
}

// Scaling is how the latency phase's figures grow with prompt length.
type Scaling struct {
	Role string
	Rows []ScalingRow
	// TTFTExponent is the slope of log TTFT on log prompt tokens: 1 is
	// linear growth, below 1 sub-linear.
	TTFTExponent float64
}

// ScalingRow is one case against the first (shortest prompt).
type ScalingRow struct {
	Case                    string
	Prompt, NewTok          int
	TokenFactor             float64
	TTFT, TTFTFactor        float64
	Decode, DecodeChange    float64
	E2E, E2EFactor          float64
	PerPromptTokenTTFTMicro float64 // TTFT / prompt tokens, µs
}

// VarianceRow is the spread of one case.
type VarianceRow struct {
	Role, Case          string
	TTFTcv, Decodecv    float64
	E2Ecv               float64
	Outliers            int
	ForeignCPU          float64
	HasTTFT, HasDecode  bool
	HasE2E              bool
	Runs                int
	MaxCV               float64
	MaxCVMetric         string
	RelCIHalfWidthTTFT  float64
	RelCIHalfWidthKnown bool
}

// MemoryVerdict is the memory phase's load cost and leak verdicts.
type MemoryVerdict struct {
	Role         string
	LoadRSSDelta int64
	LoadPeakRSS  int64
	PeakRSSMiB   float64 // the highest case p99... max of peak RSS over runs
	GPUPeakBytes int64
	Leaks        []result.Leak
}

// ThroughputCurve is the throughput phase's curve.
type ThroughputCurve struct {
	Role       string
	Points     []result.ThroughputPoint
	Best       result.ThroughputPoint
	Saturation string
	Gain       float64
	Warnings   []string
}

// TargetRow is one verdict with the phase that judged it.
type TargetRow struct {
	Role string // "" for phase 5's own targets
	result.Verdict
}

// Well-known roles; a role named otherwise is recognised by its content.
const (
	RoleQuick      = "quick"
	RoleLatency    = "latency"
	RoleMemory     = "memory"
	RoleThroughput = "throughput"
)

// Thresholds the findings use, named so the report can print them.
const (
	// HighCV is the coefficient of variation above which a metric is called noisy.
	HighCV = 0.20
	// BusyCores is the foreign CPU load, in cores, that explains noise.
	BusyCores = 0.25
)

// Analyze computes the final report's analysis from a merged result.
func Analyze(m *result.Result) Analysis {
	a := Analysis{Title: m.Pipeline.Name}
	for _, in := range m.Inputs {
		a.Inputs = append(a.Inputs, statusOf(m, in))
		if in.Result == nil {
			continue
		}
		for _, c := range in.Result.Cases {
			a.Headline = append(a.Headline, headlineOf(in.Role, c))
			a.Variance = append(a.Variance, varianceOf(in.Role, c))
		}
		for _, v := range in.Result.Targets {
			a.Targets = append(a.Targets, TargetRow{Role: in.Role, Verdict: v})
		}
	}
	for _, v := range m.Targets {
		a.Targets = append(a.Targets, TargetRow{Verdict: v})
	}
	a.Comparison = compareQuickLatency(m)
	a.Scaling = scalingOf(m)
	a.Memory = memoryOf(m)
	a.Throughput = throughputOf(m)
	a.Findings, a.Recommendations = findings(m, &a)
	return a
}

func statusOf(m *result.Result, in result.Input) InputStatus {
	s := InputStatus{Role: in.Role, Ref: in.Ref, Path: in.Path, Present: in.Result != nil}
	if in.Result == nil {
		prefix := MissingPrefix(in.Role)
		for _, w := range m.Warnings {
			if strings.HasPrefix(w, prefix) {
				s.Missing = strings.TrimPrefix(w, prefix)
			}
		}
		return s
	}
	r := in.Result
	s.Pipeline, s.StartedAt, s.Valid, s.Cases = r.Pipeline.Name, r.StartedAt, r.Valid, len(r.Cases)
	for _, c := range r.Cases {
		s.Runs += len(c.Runs)
	}
	s.TargetsTotal = len(r.Targets)
	for _, v := range r.Targets {
		if v.Pass {
			s.TargetsPassed++
		}
	}
	return s
}

func headlineOf(role string, c result.Case) Headline {
	h := Headline{Role: role, Case: c.ID, Prompt: c.Params.PromptTokens, NewTok: c.Params.NewTokens,
		Batch: max(c.Params.Batch, 1), Streams: max(c.Params.Streams, 1), Runs: len(c.Runs), Valid: c.Valid,
		ForeignCPUCores: c.ForeignCPU}
	if s, ok := c.Stats[metric.TTFT]; ok && s.N > 0 {
		h.TTFT, h.HasTTFT = estimateOf(s), true
		h.OutlierRuns = max(h.OutlierRuns, s.Outliers)
	}
	if s, ok := c.Stats[metric.DecodeTPS]; ok && s.N > 0 {
		h.Decode, h.HasDec = estimateOf(s), true
	}
	if s, ok := c.Stats[metric.E2E]; ok && s.N > 0 {
		h.E2E, h.E2Ep95, h.HasE2E = estimateOf(s), s.P95, true
		h.OutlierRuns = max(h.OutlierRuns, s.Outliers)
	}
	if s, ok := c.Stats[metric.PeakRSS]; ok && s.N > 0 {
		h.PeakRSS, h.HasPeakR = s.Max, true
	}
	return h
}

func varianceOf(role string, c result.Case) VarianceRow {
	v := VarianceRow{Role: role, Case: c.ID, ForeignCPU: c.ForeignCPU, Runs: len(c.Runs)}
	note := func(id string, cv float64) {
		if cv > v.MaxCV {
			v.MaxCV, v.MaxCVMetric = cv, id
		}
	}
	if s, ok := c.Stats[metric.TTFT]; ok && s.N > 1 {
		v.TTFTcv, v.HasTTFT = s.CV, true
		v.Outliers += s.Outliers
		note(metric.TTFT, s.CV)
		if s.Mean > 0 {
			v.RelCIHalfWidthTTFT, v.RelCIHalfWidthKnown = (s.MeanCI[1]-s.MeanCI[0])/2/s.Mean, true
		}
	}
	if s, ok := c.Stats[metric.DecodeTPS]; ok && s.N > 1 {
		v.Decodecv, v.HasDecode = s.CV, true
		note(metric.DecodeTPS, s.CV)
	}
	if s, ok := c.Stats[metric.E2E]; ok && s.N > 1 {
		v.E2Ecv, v.HasE2E = s.CV, true
		v.Outliers += s.Outliers
		note(metric.E2E, s.CV)
	}
	return v
}

// input returns the input playing role: by name, else by what it holds.
func input(m *result.Result, role string) *result.Input {
	for i := range m.Inputs {
		if m.Inputs[i].Role == role && m.Inputs[i].Result != nil {
			return &m.Inputs[i]
		}
	}
	for i := range m.Inputs {
		in := &m.Inputs[i]
		if in.Result == nil || isWellKnown(in.Role) {
			continue
		}
		switch role {
		case RoleMemory:
			if in.Result.Memory != nil {
				return in
			}
		case RoleThroughput:
			if in.Result.Throughput != nil {
				return in
			}
		}
	}
	return nil
}

func isWellKnown(role string) bool {
	switch role {
	case RoleQuick, RoleLatency, RoleMemory, RoleThroughput:
		return true
	}
	return false
}

// shortestPrompt returns the case with the fewest prompt tokens (batch 1,
// one stream preferred).
func shortestPrompt(r *result.Result) *result.Case {
	var best *result.Case
	for i := range r.Cases {
		c := &r.Cases[i]
		if best == nil || c.Params.PromptTokens < best.Params.PromptTokens {
			best = c
		}
	}
	return best
}

func compareQuickLatency(m *result.Result) *Comparison {
	q, l := input(m, RoleQuick), input(m, RoleLatency)
	if q == nil || l == nil {
		return nil
	}
	ca, cb := shortestPrompt(q.Result), shortestPrompt(l.Result)
	if ca == nil || cb == nil {
		return nil
	}
	cmp := &Comparison{A: headlineOf(q.Role, *ca), B: headlineOf(l.Role, *cb)}
	for _, id := range []string{metric.TTFT, metric.DecodeTPS, metric.E2E} {
		sa, oka := ca.Stats[id]
		sb, okb := cb.Stats[id]
		if !oka || !okb || sa.N == 0 || sb.N == 0 || sa.Mean == 0 {
			continue
		}
		ea, eb := estimateOf(sa), estimateOf(sb)
		cmp.Rows = append(cmp.Rows, ComparisonRow{Metric: ShortName(id), Unit: unitOf(m, id), A: ea, B: eb,
			Change: eb.Mean/ea.Mean - 1, Overlaps: ea.Overlaps(eb)})
	}
	if len(cmp.Rows) == 0 {
		return nil
	}
	return cmp
}

func scalingOf(m *result.Result) *Scaling {
	l := input(m, RoleLatency)
	if l == nil {
		return nil
	}
	var cases []result.Case
	for _, c := range l.Result.Cases {
		if _, ok := c.Stats[metric.TTFT]; ok && c.Params.PromptTokens > 0 {
			cases = append(cases, c)
		}
	}
	if len(cases) < 2 {
		return nil
	}
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].Params.PromptTokens < cases[j].Params.PromptTokens })
	base := cases[0]
	s := &Scaling{Role: l.Role}
	var lx, ly []float64
	for _, c := range cases {
		row := ScalingRow{Case: c.ID, Prompt: c.Params.PromptTokens, NewTok: c.Params.NewTokens,
			TokenFactor: float64(c.Params.PromptTokens) / float64(base.Params.PromptTokens)}
		row.TTFT = c.Stats[metric.TTFT].Mean
		row.TTFTFactor = safeRatio(row.TTFT, base.Stats[metric.TTFT].Mean)
		row.PerPromptTokenTTFTMicro = 1000 * row.TTFT / float64(c.Params.PromptTokens)
		row.Decode = c.Stats[metric.DecodeTPS].Mean
		row.DecodeChange = safeRatio(row.Decode, base.Stats[metric.DecodeTPS].Mean) - 1
		row.E2E = c.Stats[metric.E2E].Mean
		row.E2EFactor = safeRatio(row.E2E, base.Stats[metric.E2E].Mean)
		s.Rows = append(s.Rows, row)
		if row.TTFT > 0 {
			lx = append(lx, math.Log(float64(c.Params.PromptTokens)))
			ly = append(ly, math.Log(row.TTFT))
		}
	}
	if len(lx) >= 2 {
		s.TTFTExponent = stats.Regress(lx, ly).Slope
	}
	return s
}

func memoryOf(m *result.Result) *MemoryVerdict {
	in := input(m, RoleMemory)
	if in == nil || in.Result.Memory == nil {
		return nil
	}
	mem := in.Result.Memory
	v := &MemoryVerdict{Role: in.Role, LoadRSSDelta: mem.LoadRSSDelta, LoadPeakRSS: mem.LoadPeakRSS,
		GPUPeakBytes: mem.GPUPeakBytes, Leaks: mem.Leak}
	for _, c := range in.Result.Cases {
		if s, ok := c.Stats[metric.PeakRSS]; ok && s.Max > v.PeakRSSMiB {
			v.PeakRSSMiB = s.Max
		}
	}
	return v
}

func throughputOf(m *result.Result) *ThroughputCurve {
	in := input(m, RoleThroughput)
	if in == nil || in.Result.Throughput == nil || len(in.Result.Throughput.Points) == 0 {
		return nil
	}
	t := in.Result.Throughput
	c := &ThroughputCurve{Role: in.Role, Points: t.Points, Saturation: t.Saturation, Gain: t.SaturationGain, Warnings: t.Warnings}
	c.Best = t.Points[0]
	for _, p := range t.Points {
		if p.OutputTPS > c.Best.OutputTPS {
			c.Best = p
		}
	}
	return c
}

func safeRatio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

func unitOf(m *result.Result, id string) string {
	for _, in := range m.Inputs {
		if in.Result == nil {
			continue
		}
		for _, d := range in.Result.Metrics {
			if d.ID == id {
				return d.Unit
			}
		}
	}
	for _, d := range metric.Builtin {
		if d.ID == id {
			return d.Unit
		}
	}
	return ""
}

// ShortName is the name a reader knows a built-in metric by.
func ShortName(id string) string {
	switch id {
	case metric.TTFT:
		return "TTFT"
	case metric.TPOT:
		return "TPOT"
	case metric.ITL:
		return "ITL"
	case metric.E2E:
		return "E2E"
	case metric.DecodeTPS:
		return "decode tok/s"
	case metric.PrefillTPS:
		return "prefill tok/s"
	case metric.OutputTPS:
		return "output tok/s"
	case metric.PeakRSS:
		return "peak RSS"
	}
	return id
}

// Num formats a measured value: three significant figures for small
// values, whole numbers with thousands separators for large ones.
func Num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	var s string
	switch {
	case a >= 1000:
		s = fmt.Sprintf("%.0f", v)
	case a >= 100:
		s = fmt.Sprintf("%.1f", v)
	case a >= 10:
		s = fmt.Sprintf("%.2f", v)
	case a >= 1:
		s = fmt.Sprintf("%.3f", v)
	default:
		s = fmt.Sprintf("%.3g", v)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if len(intPart) > 3 {
		var b strings.Builder
		for i, ch := range intPart {
			if i > 0 && (len(intPart)-i)%3 == 0 {
				b.WriteRune(',')
			}
			b.WriteRune(ch)
		}
		intPart = b.String()
	}
	if hasFrac {
		intPart += "." + frac
	}
	if neg {
		intPart = "-" + intPart
	}
	return intPart
}

// Pct formats a fraction as a signed percentage: 0.372 → "+37.2 %".
func Pct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.1f %%", 100*f)
}

// Bytes formats a byte count with a binary unit.
func Bytes(b float64) string {
	a := math.Abs(b)
	switch {
	case math.IsInf(b, 0) || math.IsNaN(b):
		return "unbounded"
	case a >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case a >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
