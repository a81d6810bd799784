package finalreport

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// Markdown renders a merged result as the final report for host/internal/report's
// "md" format (host/internal/registry gives it to report.Builtin); opt.Title overrides the title. A baseline is not compared:
// each input carries its own comparison.
func Markdown(m *result.Result, opt report.Options) ([]byte, error) {
	var b bytes.Buffer
	if err := writeMarkdown(&b, m, opt.Title); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteMarkdown renders a merged result (one with Inputs) as the final
// report in Markdown.
func WriteMarkdown(w io.Writer, m *result.Result) error { return writeMarkdown(w, m, "") }

func writeMarkdown(w io.Writer, m *result.Result, title string) error {
	a := Analyze(m)
	if title == "" {
		title = a.Title + " — final report"
	}
	b := bufio.NewWriter(w)
	md := &mdWriter{w: b}
	md.title(m, a, title)
	md.overview(a)
	md.headlines(a)
	md.comparison(a)
	md.scaling(a)
	md.variance(a)
	md.memory(a)
	md.throughput(a)
	md.targets(a)
	md.list("Findings", a.Findings, "No input holds data to draw findings from.")
	md.list("Recommendations", a.Recommendations, "None: every check above came out clean.")
	md.problems(m)
	md.definitions(m)
	return b.Flush()
}

type mdWriter struct{ w *bufio.Writer }

func (md *mdWriter) p(format string, args ...any) { fmt.Fprintf(md.w, format+"\n", args...) }

func (md *mdWriter) table(head []string, rows [][]string) {
	report.MarkdownTable(md.w, head, "", rows)
}

func (md *mdWriter) title(m *result.Result, a Analysis, title string) {
	md.p("# %s", title)
	md.p("")
	if m.Pipeline.Description != "" {
		md.p("%s", m.Pipeline.Description)
		md.p("")
	}
	present := 0
	for _, in := range a.Inputs {
		if in.Present {
			present++
		}
	}
	status := "valid"
	if !m.Valid {
		status = "**invalid** (see Problems)"
	}
	md.p("Merged %d of %d phase results at %s; merged result %s.", present, len(a.Inputs), m.StartedAt, status)
	if m.Model.Model != "" || m.Env.CPUModel != "" {
		md.p("Model %s on %s (%d cores).", orDash(m.Model.Model), orDash(m.Env.CPUModel), m.Env.Cores)
	}
	md.p("")
}

func (md *mdWriter) overview(a Analysis) {
	md.p("## Overview")
	md.p("")
	var rows [][]string
	for _, in := range a.Inputs {
		if !in.Present {
			rows = append(rows, []string{in.Role, "`" + in.Ref + "`", "missing", "–", "–", "–", "–", in.Missing})
			continue
		}
		valid := "valid"
		if !in.Valid {
			valid = "**invalid**"
		}
		tg := "–"
		if in.TargetsTotal > 0 {
			tg = fmt.Sprintf("%d/%d", in.TargetsPassed, in.TargetsTotal)
		}
		rows = append(rows, []string{in.Role, "`" + in.Ref + "`", in.Pipeline, in.StartedAt, fmt.Sprint(in.Cases), fmt.Sprint(in.Runs), tg, valid})
	}
	md.table([]string{"Role", "Reference", "Pipeline", "Started (UTC)", "Cases", "Runs", "Targets passed", "Status"}, rows)
}

func (md *mdWriter) headlines(a Analysis) {
	if !md.section("Headline figures per phase", len(a.Headline) > 0, "No input holds measured cases.") {
		return
	}
	md.p("Means with [95 %% Student-t interval]; percentiles are %s.", stats.PercentileMethod)
	md.p("")
	var rows [][]string
	for _, h := range a.Headline {
		valid := ""
		if !h.Valid {
			valid = " ⚠ invalid"
		}
		rows = append(rows, []string{h.Role, h.Case + valid, fmt.Sprintf("%d→%d", h.Prompt, h.NewTok), fmt.Sprintf("%d×%d", h.Batch, h.Streams), fmt.Sprint(h.Runs),
			EstimateText(h.TTFT, h.HasTTFT), EstimateText(h.Decode, h.HasDec), EstimateText(h.E2E, h.HasE2E), numIf(h.E2Ep95, h.HasE2E), numIf(h.PeakRSS, h.HasPeakR)})
	}
	md.table([]string{"Phase", "Case", "Tokens", "Batch×streams", "Runs", "TTFT ms", "Decode tok/s", "E2E ms", "E2E p95 ms", "Peak RSS MiB"}, rows)
}

func numIf(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	return Num(v)
}

func (md *mdWriter) comparison(a Analysis) {
	c := a.Comparison
	if !md.section("Phase 1 against phase 2", c != nil, "Needs both the quick and the latency results; at least one is missing.") {
		return
	}
	md.p("%s `%s` (%d→%d tokens) against %s `%s` (%d→%d tokens).", c.A.Role, c.A.Case, c.A.Prompt, c.A.NewTok, c.B.Role, c.B.Case, c.B.Prompt, c.B.NewTok)
	md.p("")
	md.p("%s.", ComparisonMethod)
	md.p("")
	var rows [][]string
	for _, r := range c.Test.Rows {
		rows = append(rows, []string{metric.ShortName(r.Metric), r.Unit, Center(r.Old), Center(r.New), Pct(r.Delta), r.PN(), Significance(r)})
	}
	md.table([]string{"Metric", "Unit", c.A.Role + " median [95 % CI]", c.B.Role + " median [95 % CI]", "Change", "p, Holm, n", "Significant"}, rows)
}

func (md *mdWriter) scaling(a Analysis) {
	s := a.Scaling
	if !md.section("Scaling with prompt length", s != nil, "Needs a latency result with at least two prompt lengths.") {
		return
	}
	md.p("Medians against the shortest prompt; the exponent b of TTFT ∝ prompt^b between the two cases describes them, and the shape of the growth is claimed only from the fit over every run (Findings).")
	md.p("")
	var rows [][]string
	for _, r := range s.Rows {
		exp := "–"
		if isFinite(r.Exponent) {
			exp = fmt.Sprintf("%.2f", r.Exponent)
		}
		rows = append(rows, []string{r.Case, fmt.Sprintf("%d→%d", r.PromptTokens, r.NewTokens), Ratio(r.PromptRatio), Num(r.TTFT), Ratio(r.TTFTRatio), exp,
			Num(r.Decode), Pct(r.DecodeChange), Num(r.E2E), Ratio(r.E2ERatio)})
	}
	md.table([]string{"Case", "Tokens", "Prompt ×", "TTFT p50 ms", "TTFT ×", "Exponent", "Decode p50 tok/s", "Decode change", "E2E p50 ms", "E2E ×"}, rows)
}

func (md *mdWriter) variance(a Analysis) {
	if !md.section("Variance", len(a.Variance) > 0, "No input holds measured cases.") {
		return
	}
	md.p("Coefficient of variation (std / mean) per case; above %.0f %% (bold) the likely cause is named. Foreign CPU is other processes' mean load during the case.", 100*report.HighCV)
	md.p("")
	var rows [][]string
	for _, v := range a.Variance {
		outliers := 0
		for _, n := range v.Outliers {
			outliers += n
		}
		rows = append(rows, []string{v.Role, v.Case, fmt.Sprint(v.Runs), mdCV(v.CV, metric.TTFT), mdCV(v.CV, metric.DecodeTPS), mdCV(v.CV, metric.E2E),
			fmt.Sprint(outliers), fmt.Sprintf("%.2f", v.ForeignCPU), orDash(v.Cause)})
	}
	md.table([]string{"Phase", "Case", "Runs", "TTFT CV", "Decode CV", "E2E CV", "Outlier runs", "Foreign CPU (cores)", "Likely cause"}, rows)
}

func (md *mdWriter) memory(a Analysis) {
	mem := a.Memory
	if !md.section("Memory", mem != nil, "Needs the memory result; it is missing.") {
		return
	}
	rows := [][]string{
		{"Model load: RSS after − before", stats.FormatBytes(float64(mem.LoadRSSDelta))},
		{"Model load: peak RSS", stats.FormatBytes(float64(mem.LoadPeakRSS))},
		{"Peak RSS over all runs", numIf(mem.PeakRSSMiB, mem.PeakRSSMiB > 0) + " MiB"},
	}
	if mem.GPUPeakBytes > 0 {
		rows = append(rows, []string{"GPU memory peak", stats.FormatBytes(float64(mem.GPUPeakBytes))})
	}
	md.table([]string{"Figure", "Value"}, rows)
	if len(mem.Leaks) > 0 {
		rows = nil
		for _, lk := range mem.Leaks {
			rows = append(rows, []string{lk.Case, fmt.Sprint(len(lk.RSSAfter) - lk.SkipRuns), fmt.Sprint(lk.SkipRuns), stats.FormatBytes(lk.Slope) + "/run",
				byteInterval(lk.SlopeCI), report.LeakSteps(lk), stats.FormatBytes(lk.Threshold) + "/run", "**" + lk.Verdict + "**"})
		}
		md.p("%s", "Leak detection: RSS after each run, its slope fitted by Theil–Sen within the segments between level steps, with Sen's 95 % interval widened for the residuals' autocorrelation; a step (an arena growing or being trimmed) is reported apart from the slope.")
		md.p("")
		md.table([]string{"Case", "Fitted runs", "Skipped", "Slope", "95 % CI", "Steps", "Threshold", "Verdict"}, rows)
	}
}

func (md *mdWriter) throughput(a Analysis) {
	t := a.Throughput
	if !md.section("Throughput", t != nil, "Needs the throughput result; it is missing.") {
		return
	}
	var rows [][]string
	for _, p := range t.Points {
		mark := ""
		if p.Case == t.Saturation {
			mark = " (saturation)"
		}
		rows = append(rows, []string{p.Case + mark, fmt.Sprint(p.Batch), fmt.Sprint(p.Streams), fmt.Sprint(p.Concurrency), fmt.Sprintf("%d/%d", p.ValidRuns, p.Runs),
			Num(p.OutputTPS) + numInterval(p.OutputTPSCI), Num(p.RequestsPS), Pct(p.Gain) + pctInterval(p.GainCI), Num(p.TTFTp50), Num(p.TPOTp50), Num(p.E2Ep50)})
	}
	md.p("Output tok/s: the tokens of a case's valid runs over the wall span of its runs (the longest stream's summed E2E), with its 95 %% interval from a bootstrap over runs; gain is over the best case at any lower concurrency.")
	md.p("")
	md.table([]string{"Case", "Batch", "Streams", "Concurrency", "Valid runs", "Output tok/s", "Requests/s", "Gain", "TTFT p50 ms", "TPOT p50 ms", "E2E p50 ms"}, rows)
	switch {
	case t.Saturation != "":
		md.p("Saturation: beyond %s throughput gains %s%s, below %.0f %% by the whole interval.", t.Saturation, Pct(t.BeyondGain), pctInterval(t.BeyondGainCI), 100*t.Gain)
	case t.Undecided != "":
		md.p("No saturation called: %s.", t.Undecided)
	default:
		md.p("No saturation within the measured range (every step gained at least %.0f %%).", 100*t.Gain)
	}
	md.p("")
}

func (md *mdWriter) targets(a Analysis) {
	if !md.section("Targets of all phases", len(a.Targets) > 0, "No phase set a target.") {
		return
	}
	var rows [][]string
	for _, t := range a.Targets {
		role := t.Role
		if role == "" {
			role = "final"
		}
		status := "✅ pass"
		if !t.Pass {
			status = "❌ fail"
		}
		observed := Num(t.Observed) + " " + t.Unit
		if t.Message != "" && t.Observed == 0 && !t.Pass {
			observed = t.Message
		}
		rows = append(rows, []string{role, "`" + t.Target + "`", orDash(t.Case), strings.TrimSpace(observed), status})
	}
	md.table([]string{"Phase", "Target", "Case", "Achieved", "Status"}, rows)
}

// section writes a section's heading and, where the section has nothing
// to show (!present), the sentence saying why; it reports present.
func (md *mdWriter) section(title string, present bool, absent string) bool {
	md.p("## %s", title)
	md.p("")
	if !present {
		md.p("%s", absent)
		md.p("")
	}
	return present
}

func (md *mdWriter) list(title string, items []string, empty string) {
	if !md.section(title, len(items) > 0, empty) {
		return
	}
	for i, s := range items {
		md.p("%d. %s", i+1, s)
	}
	md.p("")
}

func (md *mdWriter) problems(m *result.Result) {
	if len(m.Problems) == 0 && len(m.Warnings) == 0 {
		return
	}
	md.p("## Problems and warnings")
	md.p("")
	for _, p := range m.Problems {
		md.p("- ⚠ problem: %s", p)
	}
	for _, w := range m.Warnings {
		md.p("- warning: %s", w)
	}
	md.p("")
}

func (md *mdWriter) definitions(m *result.Result) {
	md.p("## Metric definitions")
	md.p("")
	for _, d := range m.MetricDefs() {
		md.p("- **%s** (%s, %s is better): %s", d.ID, d.Unit, d.Better, d.Description)
	}
	md.p("- Percentiles: %s.", stats.PercentileMethod)
	md.p("")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// mdCV formats metric id's coefficient of variation from a map of them, in
// bold above report.HighCV; a dash when absent.
func mdCV(cvs map[string]float64, id string) string {
	v, ok := cvs[id]
	if !ok {
		return "–"
	}
	s := fmt.Sprintf("%.1f %%", 100*v)
	if v > report.HighCV {
		s = "**" + s + "**"
	}
	return s
}
