package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// MarkdownFile is the markdown report's file name.
const MarkdownFile = "report.md"

type mdWriter struct{ bytes.Buffer }

func (w *mdWriter) f(format string, args ...any) { fmt.Fprintf(&w.Buffer, format, args...) }

// table writes a markdown table; align holds one of "l", "r" per column.
func (w *mdWriter) table(head []string, align string, rows [][]string) {
	MarkdownTable(&w.Buffer, head, align, rows)
}

// MarkdownTable writes a markdown table followed by a blank line: the one
// table writer of every markdown report (the run report and phase 5). align
// holds "l" or "r" per column (missing columns are left-aligned); a "|" in a
// cell is escaped.
func MarkdownTable(w io.Writer, head []string, align string, rows [][]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |\n|", strings.Join(head, " | "))
	for i := range head {
		if i < len(align) && align[i] == 'r' {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// markdownFormat is the md format; merged, when set, renders a result that
// merges others (one with Inputs: phase 5) — host/internal/finalreport's Markdown,
// given by host/internal/registry. Without it such a result renders like any other.
type markdownFormat struct {
	merged func(r *result.Result, opt Options) ([]byte, error)
}

func (m markdownFormat) render(r *result.Result, opt Options) ([]File, error) {
	if len(r.Inputs) > 0 && m.merged != nil {
		data, err := m.merged(r, opt)
		if err != nil {
			return nil, err
		}
		return []File{{Name: MarkdownFile, Data: data}}, nil
	}
	return renderMarkdown(r, opt)
}

func renderMarkdown(r *result.Result, opt Options) ([]File, error) {
	a := Analyze(r, opt)
	var w mdWriter
	title := opt.Title
	if title == "" {
		title = "pipe report: " + r.Pipeline.Name
	}
	w.f("# %s\n\n", title)
	if r.Pipeline.Description != "" {
		w.f("%s\n\n", r.Pipeline.Description)
	}
	writeHeader(&w, r, a)
	writeFindings(&w, a)
	writeEnvironment(&w, r)
	writeEnvironments(&w, r)
	writeConfiguration(&w, r)
	writeResults(&w, r)
	writeScaling(&w, a)
	writeVariance(&w, r, a)
	writeMemory(&w, r)
	writeThroughput(&w, r)
	if a.Comparison != nil {
		if err := a.Comparison.WriteMarkdown(&w.Buffer, "##"); err != nil {
			return nil, err
		}
		w.f("\n")
	}
	writeTargets(&w, r)
	writeDefinitions(&w, r)
	return []File{{Name: MarkdownFile, Data: bytes.TrimRight(w.Bytes(), "\n")}}, nil
}

func writeHeader(w *mdWriter, r *result.Result, a *Analysis) {
	date := r.StartedAt
	if t, err := time.Parse(time.RFC3339Nano, r.StartedAt); err == nil {
		date = t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	w.f("**Date**: %s  \n", date)
	w.f("**Duration**: %s  \n", dur(r.WallNS))
	src := "`" + r.Pipeline.File + "`"
	if r.Pipeline.SHA256 != "" {
		src += " (sha256 " + short(r.Pipeline.SHA256) + ")"
	}
	if r.Pipeline.Quick {
		src += ", quick mode"
	}
	w.f("**Pipeline**: %s  \n", src)
	w.f("**Status**: %s\n\n", statusLine(r, a))
}

// statusLine is the report's verdict in one line.
func statusLine(r *result.Result, a *Analysis) string {
	var parts []string
	if r.Valid {
		parts = append(parts, "✅ valid")
	} else {
		parts = append(parts, fmt.Sprintf("❌ INVALID (%d broken invariant(s), see Findings)", len(r.Problems)))
	}
	switch {
	case a.TargetsTotal == 0:
		parts = append(parts, "no targets set")
	case a.TargetsFailed == 0:
		parts = append(parts, fmt.Sprintf("✅ targets: all %d passed", a.TargetsTotal))
	default:
		parts = append(parts, fmt.Sprintf("❌ targets: %d of %d failed", a.TargetsFailed, a.TargetsTotal))
	}
	if len(r.Errors) > 0 {
		parts = append(parts, fmt.Sprintf("⚠️ %d error(s)", len(r.Errors)))
	}
	if len(r.Warnings) > 0 {
		parts = append(parts, fmt.Sprintf("%d warning(s)", len(r.Warnings)))
	}
	return strings.Join(parts, " · ")
}

// dur prints a duration to a precision that suits its size.
func dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func threads(n int) string {
	if n == 0 {
		return "runtime default"
	}
	return fmt.Sprint(n)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func writeFindings(w *mdWriter, a *Analysis) {
	w.f("## Findings\n\n")
	for _, f := range a.Findings {
		w.f("- %s\n", f.Text)
	}
	w.f("\n")
}

func mib(bytes int64) string { return stats.Format(float64(bytes)/(1<<20)) + " MiB" }

func writeEnvironment(w *mdWriter, r *result.Result) {
	e, m := r.Env, r.Model
	cpu := fmt.Sprintf("%s, %d cores", e.CPUModel, e.Cores)
	if e.Governor != "" {
		cpu += ", governor " + e.Governor
	}
	rows := [][]string{
		{"CPU", cpu},
		{"Threads", fmt.Sprintf("intra-op %s, inter-op %s, spinning %s", threads(m.Threads.IntraOp), threads(m.Threads.InterOp), onOff(m.Threads.Spinning))},
	}
	if e.MemTotal > 0 {
		rows = append(rows, []string{"Memory", stats.Format(float64(e.MemTotal)/(1<<30)) + " GiB"})
	}
	if e.GPU != "" {
		rows = append(rows, []string{"GPU", e.GPU})
	}
	osLine := e.OS
	if e.Kernel != "" {
		osLine += ", kernel " + e.Kernel
	}
	rows = append(rows,
		[]string{"OS", osLine},
		[]string{"Runtime", e.ORTVersion},
		[]string{"Go / pipe", e.GoVersion + " / " + orDash(e.PipeVersion)},
		[]string{"Load average", fmt.Sprintf("%.2f before, %.2f during", e.LoadBefore, e.LoadDuring)},
		[]string{"Foreign CPU", fmt.Sprintf("%.2f cores (other processes, mean during the run)", e.ForeignCPU)},
		[]string{"Host", e.Hostname},
	)
	if len(r.Labels) > 0 {
		var kv []string
		for k, v := range r.Labels {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		rows = append(rows, []string{"Labels", strings.Join(kv, ", ")})
	}
	if s := r.Shard; s != nil {
		rows = append(rows, []string{"Shard", fmt.Sprintf("%d/%d: %d of the plan's %d cases", s.Index, s.Count, len(s.Cases), len(s.Plan))})
	}
	if rs := r.Resumed; rs != nil {
		from := ""
		if rs.Env != nil && rs.Env.Hostname != e.Hostname {
			from = ", measured on " + rs.Env.Hostname
		}
		rows = append(rows, []string{"Resumed", fmt.Sprintf("kept runs: %d, of cases: %d, from the interrupted run started %s%s", rs.Runs, rs.Cases, orDash(rs.StartedAt), from)})
	}
	w.f("## Environment\n\n")
	w.table([]string{"", ""}, "ll", rows)
}

func writeConfiguration(w *mdWriter, r *result.Result) {
	m := r.Model
	w.f("## Configuration\n\n### Model\n\n")
	rows := [][]string{{"Model", m.Model}, {"Device", m.Device}}
	if m.Layers > 0 {
		rows = append(rows, []string{"Architecture", fmt.Sprintf("%d layers, %d heads (%d KV), head dim %d, vocab %d, %d positions, %s graph",
			m.Layers, m.Heads, m.KVHeads, m.HeadDim, m.Vocab, m.MaxPositions, m.GraphStyle)})
	}
	if m.Parameters > 0 {
		rows = append(rows, []string{"Parameters", fmt.Sprintf("%.1f M", float64(m.Parameters)/1e6)})
	}
	if m.ModelBytes > 0 || m.ModelHash != "" {
		rows = append(rows, []string{"File", fmt.Sprintf("%s, sha256 %s", mib(m.ModelBytes), short(m.ModelHash))})
	}
	if p := m.PrecisionSummary(); p != "" {
		if m.WeightBytesPerToken > 0 {
			p += fmt.Sprintf("; %s of weights read per token", mib(m.WeightBytesPerToken))
		}
		rows = append(rows, []string{"Precision", p})
	}
	if m.Layout != "" && m.Layout != "optimum" {
		layout := m.Layout
		if m.Variant != "" {
			layout += ", variant " + m.Variant
		}
		if len(m.ModelOptionsApplied) > 0 {
			layout += "; its session options: " + strings.Join(m.ModelOptionsApplied, ", ")
		}
		rows = append(rows, []string{"Layout", layout})
	}
	if m.LoadNS > 0 {
		rows = append(rows, []string{"Load", fmt.Sprintf("%s; RSS +%s (peak %s)", time.Duration(m.LoadNS).Round(time.Millisecond), mib(m.LoadRSSDelta), mib(m.LoadPeakRSS))})
	}
	rows = append(rows, []string{"Runtime", fmt.Sprintf("%s (%s)", m.Runtime, m.RuntimePath)})
	w.table([]string{"Parameter", "Value"}, "ll", rows)

	if len(r.Pipeline.Settings) > 0 {
		w.f("### Stage settings\n\n")
		keys := make([]string, 0, len(r.Pipeline.Settings))
		for k := range r.Pipeline.Settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var rows [][]string
		for _, k := range keys {
			rows = append(rows, []string{k, settingString(r.Pipeline.Settings[k])})
		}
		w.table([]string{"Setting", "Value"}, "ll", rows)
	}
	if len(r.Plugins) > 0 {
		w.f("### Plugins\n\n")
		var rows [][]string
		for _, p := range r.Plugins {
			rows = append(rows, []string{p.Name, strings.Join(p.Kinds, ", "), "`" + p.File + "`", short(p.SHA256)})
		}
		w.table([]string{"Plugin", "Kinds", "File", "sha256"}, "llll", rows)
	}
	w.f("### Cases\n\n")
	var crows [][]string
	for _, c := range r.Cases {
		valid := 0
		for _, run := range c.Runs {
			if run.Valid {
				valid++
			}
		}
		p := c.Params
		crows = append(crows, []string{c.ID, fmt.Sprint(p.PromptTokens), fmt.Sprint(p.NewTokens), fmt.Sprint(p.Batch), fmt.Sprint(p.Streams),
			fmt.Sprintf("%d (%d valid)", len(c.Runs), valid), fmt.Sprintf("%.2f", c.ForeignCPU), dur(c.WallNS)})
	}
	w.table([]string{"Case", "Prompt tokens", "New tokens", "Batch", "Streams", "Runs", "Foreign CPU (cores)", "Wall"}, "lrrrrrrr", crows)
}

// settingString prints a setting the same whether it came from memory
// (int, []float64) or from JSON (float64, []any).
func settingString(v any) string {
	switch x := v.(type) {
	case float64:
		return stats.FormatExact(x)
	case int:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = settingString(e)
		}
		return strings.Join(parts, ", ")
	case []float64:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = settingString(e)
		}
		return strings.Join(parts, ", ")
	case string:
		if x == "" {
			return "—"
		}
		return x
	}
	return fmt.Sprint(v)
}

func withCI(v float64, ci [2]float64, known bool) string {
	if !known {
		return stats.Format(v)
	}
	return fmt.Sprintf("%s [%s, %s]", stats.Format(v), stats.Format(ci[0]), stats.Format(ci[1]))
}

func writeResults(w *mdWriter, r *result.Result) {
	w.f("## Results\n\nPer case and metric over the valid runs: mean with its 95 %% t-interval, median with its distribution-free 95 %% interval (where n allows), percentiles by %s.\n\n", stats.PercentileMethod)
	for i := range r.Cases {
		c := &r.Cases[i]
		p := c.Params
		w.f("### %s — %d → %d tokens, batch %d, %d stream(s)\n\n", c.ID, p.PromptTokens, p.NewTokens, p.Batch, p.Streams)
		var rows [][]string
		for _, id := range r.MetricIDs() {
			s, ok := c.Stats[id]
			if !ok {
				continue
			}
			def, _ := r.Metric(id)
			rows = append(rows, []string{id, def.Unit, fmt.Sprint(s.N), withCI(s.Mean, s.MeanCI, s.N >= 2), stats.Format(s.Std), pct(s.CV),
				stats.Format(s.Min), stats.Format(s.Max), withCI(s.P50, s.P50CI, s.P50CI != [2]float64{}),
				withCI(s.P95, s.P95CI, s.P95CI != [2]float64{}), stats.Format(s.P99)})
		}
		ids := make([]string, 0, len(c.Values))
		for id := range c.Values {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			def, _ := r.Metric(id)
			rows = append(rows, []string{id, def.Unit, "case", stats.Format(c.Values[id]), "", "", "", "", "", "", ""})
		}
		w.table([]string{"Metric", "Unit", "n", "Mean [95 % CI]", "Std", "CV", "Min", "Max", "p50 [95 % CI]", "p95 [95 % CI]", "p99"}, "llrrrrrrrrr", rows)
		for _, p := range c.Problems {
			w.f("- ❌ %s\n", p)
		}
		for _, x := range c.Warnings {
			w.f("- ⚠️ %s\n", x)
		}
		if len(c.Problems)+len(c.Warnings) > 0 {
			w.f("\n")
		}
	}
}

func writeScaling(w *mdWriter, a *Analysis) {
	if len(a.Scaling) < 2 {
		return
	}
	w.f("## Scaling against %s\n\nMedians; b is the exponent of TTFT ∝ prompt^b between the first case and each other, a description of two cases. The shape of the growth is claimed only from the fit over every run (Findings), where its 95 %% interval says so.\n\n", a.Scaling[0].Case)
	var rows [][]string
	for _, s := range a.Scaling {
		b := "—"
		if !math.IsNaN(s.Exponent) {
			b = fmt.Sprintf("%.2f", s.Exponent)
		}
		rows = append(rows, []string{s.Case, fmt.Sprint(s.PromptTokens), fmt.Sprint(s.NewTokens), times(s.PromptRatio), stats.Format(s.TTFT), times(s.TTFTRatio), b,
			stats.Format(s.Decode), fmt.Sprintf("%+.1f %%", s.DecodeChange*100), stats.Format(s.E2E), times(s.E2ERatio)})
	}
	w.table([]string{"Case", "Prompt tokens", "Output tokens", "× prompt", "TTFT (ms)", "× TTFT", "b", "Decode (tok/s)", "Δ decode", "E2E (ms)", "× E2E"}, "lrrrrrrrrrr", rows)
}

func writeVariance(w *mdWriter, r *result.Result, a *Analysis) {
	if len(a.Variance) == 0 {
		return
	}
	w.f("## Variance\n\nCoefficient of variation (std / mean) per case; outliers are runs %s. A CV above %s is explained from what was measured.\n\n", OutlierRule(r), pct(HighCV))
	head := []string{"Case"}
	for _, id := range KeyMetrics {
		head = append(head, "CV "+sentenceName(id))
	}
	head = append(head, "Outlier runs", "Foreign CPU (cores)", "Likely cause")
	var rows [][]string
	for _, v := range a.Variance {
		row := []string{v.Case}
		for _, id := range KeyMetrics {
			if cv, ok := v.CV[id]; ok {
				row = append(row, pct(cv))
			} else {
				row = append(row, "—")
			}
		}
		var out []string
		for _, id := range r.MetricIDs() {
			if n := v.Outliers[id]; n > 0 {
				out = append(out, fmt.Sprintf("%s %d", id, n))
			}
		}
		outs := "none"
		if len(out) > 0 {
			outs = strings.Join(out, ", ")
		}
		cause := v.Cause
		if cause == "" {
			cause = "—"
		}
		rows = append(rows, append(row, outs, fmt.Sprintf("%.2f", v.ForeignCPU), cause))
	}
	w.table(head, "lrrrlrl", rows)
}

func writeTargets(w *mdWriter, r *result.Result) {
	w.f("## Targets\n\n")
	if len(r.Targets) == 0 {
		w.f("No targets were set.\n\n")
		return
	}
	var rows [][]string
	for _, v := range r.Targets {
		achieved := "—"
		if v.Message == "" || v.Observed != 0 {
			achieved = strings.TrimSpace(stats.Format(v.Observed) + " " + v.Unit)
		}
		threshold := strings.TrimSpace(fmt.Sprintf("%s %s %s", v.Op, stats.Format(v.Threshold), v.Unit))
		status := "✅ pass"
		if !v.Pass {
			status = "❌ fail"
		}
		if v.Message != "" {
			status += ": " + v.Message
		}
		where := v.Case
		if where == "" {
			where = "all"
		}
		rows = append(rows, []string{"`" + v.Target + "`", where, achieved, threshold, status, v.Source})
	}
	w.table([]string{"Target", "Case", "Achieved", "Threshold", "Result", "Source"}, "llrrll", rows)
}

func writeDefinitions(w *mdWriter, r *result.Result) {
	w.f("## Metric definitions\n\n")
	for _, id := range r.MetricIDs() {
		def, ok := r.Metric(id)
		if !ok {
			w.f("- **%s**: no definition recorded\n", id)
			continue
		}
		src := ""
		if def.Source != "" && def.Source != "builtin" {
			src = fmt.Sprintf(" — from plugin %s", def.Source)
		}
		w.f("- **%s** (%s, %s is better): %s%s\n", id, def.Unit, def.Better, def.Description, src)
	}
	w.f("\nStatistics: percentiles by %s; mean CI by Student's t; median and p95 CIs from order statistics (binomial, distribution-free); outliers are runs %s; CV = std / mean.\n", stats.PercentileMethod, OutlierRule(r))
}
