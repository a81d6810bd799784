// Package htmlreport renders a result as one self-contained HTML page: the
// charts a person would rather look at than read (scaling with prompt
// length with 95 % intervals, run distributions, inter-token ECDFs, RSS over
// runs with the leak fit, the throughput curve and its latency cost), the
// tables behind them, and for a merged phase 5 result the final report's
// analysis.
//
// It takes a stand on self-containment and determinism. The page loads
// nothing at view time: charts are SVG drawn in Go by gonum.org/v1/plot and
// inlined, styles are inline, there is no script, and a Content Security
// Policy forbids every fetch, so a page that tried one would show a console
// error. The same result always renders to the same bytes, so the page is
// golden-tested like the markdown.
package htmlreport

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/finalreport"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

//go:embed page.html.tmpl
var pageTemplate string

//go:embed style.css
var styleSheet string

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"num":   finalreport.Num,
	"pct":   finalreport.Pct,
	"bytes": func(v any) string { return stats.FormatBytes(toFloat(v)) },
	"cv":    func(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) },
	"noisy": func(v float64) bool { return v > report.HighCV },
	"cvOf": func(cvs map[string]float64, id string) string {
		v, ok := cvs[id]
		if !ok {
			return "–"
		}
		return fmt.Sprintf("%.1f %%", 100*v)
	},
	"hotOf": func(cvs map[string]float64, id string) bool { return cvs[id] > report.HighCV },
	"sumOf": func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	},
	"finite": func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) },
	"est":    finalreport.EstimateText,
	"center": finalreport.Center,
	"signif": finalreport.Significance,
	"method": func() string { return finalreport.ComparisonMethod },
	"ratio":  finalreport.Ratio,
	"short":  metric.ShortName,
	"svg":    func(s string) template.HTML { return template.HTML(s) }, // rendered by svgOf from our own plot
	"css":    func() template.CSS { return template.CSS(styleSheet) },
	"plus1":  func(i int) int { return i + 1 },
	"sub":    func(a, b int) int { return a - b },
}).Parse(pageTemplate))

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

// FileName is the HTML report's file name.
const FileName = "report.html"

// Format is the "html" report format; host/internal/registry registers it among
// the built-in formats.
type Format struct{}

// Name implements report.Format.
func (Format) Name() string { return "html" }

// Render implements report.Format: one file, report.html.
func (Format) Render(r *result.Result, opt report.Options) ([]report.File, error) {
	var b bytes.Buffer
	if err := RenderWith(&b, r, opt); err != nil {
		return nil, err
	}
	return []report.File{{Name: FileName, Data: b.Bytes()}}, nil
}

var _ report.Format = Format{}

// Render writes r as one HTML page. A result with Inputs (phase 5) gets the
// final report's analysis first, then one section per input.
func Render(w io.Writer, r *result.Result) error { return RenderWith(w, r, report.Options{}) }

// RenderWith is Render with host/internal/report's options: a title, and a baseline
// whose comparison becomes a section.
func RenderWith(w io.Writer, r *result.Result, opt report.Options) error {
	p := newPage(r, opt)
	p.TargetsTotal = p.Passed + p.Failed
	if err := tmpl.Execute(w, p); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	return nil
}

// page is the template's view of a result.
type page struct {
	Title    string
	Subtitle string
	Valid    bool
	Passed   int
	Failed   int
	// TargetsTotal is Passed + Failed.
	TargetsTotal int
	Problems     []string
	Warnings     []string
	Errors       []string
	Merged       *finalreport.Analysis
	// Findings are host/internal/report's findings for a single result.
	Findings []report.Finding
	// Comparison is the baseline comparison, when a baseline was given.
	Comparison *compare.Report
	Sections   []section
	Env        [][2]string
	Metrics    []metric.Def
	Method     string
	Outliers   string // the outlier rule, report.OutlierRule
}

// section is one result's charts and tables: the whole page for a single
// result, one per input for a merged one.
type section struct {
	ID, Heading, Note string
	Missing           string
	Charts            []Chart
	Cases             []caseView
	Targets           []result.Verdict
	Memory            *result.Memory
	Throughput        *result.Throughput
	Settings          [][2]string
}

type caseView struct {
	ID, Params string
	Valid      bool
	Runs       int
	Foreign    float64
	Rows       []statRow
	Problems   []string
	Warnings   []string
}

type statRow struct {
	Metric, Unit                                    string
	N                                               int
	Mean, CI, Std, CV, Min, P50, P90, P95, P99, Max string
	Noisy                                           bool
	Outliers                                        int
}

func newPage(r *result.Result, opt report.Options) *page {
	p := &page{
		Title:    r.Pipeline.Name,
		Valid:    r.Valid,
		Problems: r.Problems, Warnings: r.Warnings, Errors: r.Errors,
		Env:      envRows(r),
		Method:   stats.PercentileMethod,
		Outliers: report.OutlierRule(r),
	}
	if p.Title == "" {
		p.Title = "pipe result"
	}
	if opt.Title != "" {
		p.Title = opt.Title
	}
	p.Subtitle = subtitle(r)
	p.Metrics = r.MetricDefs()
	for _, v := range r.Targets {
		if v.Pass {
			p.Passed++
		} else {
			p.Failed++
		}
	}
	if len(r.Inputs) == 0 {
		a := report.Analyze(r, opt)
		p.Findings, p.Comparison = a.Findings, a.Comparison
		s := sectionOf("result", "", r)
		s.Targets = r.Targets
		p.Sections = []section{s}
		return p
	}
	a := finalreport.Analyze(r)
	p.Merged = &a
	p.Passed, p.Failed = 0, 0
	for _, t := range a.Targets {
		if t.Pass {
			p.Passed++
		} else {
			p.Failed++
		}
	}
	for _, in := range r.Inputs {
		id := "input-" + in.Role
		if in.Result == nil {
			reason := ""
			for _, st := range a.Inputs {
				if st.Role == in.Role {
					reason = st.Missing
				}
			}
			p.Sections = append(p.Sections, section{ID: id, Heading: "Phase “" + in.Role + "”", Missing: reason})
			continue
		}
		s := sectionOf(id, "Phase “"+in.Role+"”: "+in.Result.Pipeline.Name, in.Result)
		s.Note = fmt.Sprintf("%s, started %s, read from %s", in.Ref, in.Result.StartedAt, in.Path)
		p.Sections = append(p.Sections, s)
	}
	return p
}

func subtitle(r *result.Result) string {
	var parts []string
	if r.Pipeline.Description != "" {
		parts = append(parts, r.Pipeline.Description)
	}
	if r.Model.Model != "" {
		parts = append(parts, fmt.Sprintf("model %s on %s", r.Model.Model, orDash(r.Model.Device)))
	}
	if r.StartedAt != "" {
		parts = append(parts, "started "+r.StartedAt)
	}
	if r.WallNS > 0 {
		parts = append(parts, "wall time "+time.Duration(r.WallNS).Round(100*time.Millisecond).String())
	}
	return strings.Join(parts, " · ")
}

func sectionOf(id, heading string, r *result.Result) section {
	s := section{ID: id, Heading: heading, Charts: Charts(r), Memory: r.Memory, Throughput: r.Throughput, Settings: settingsRows(r)}
	if heading != "" {
		s.Targets = r.Targets
	}
	for _, c := range r.Cases {
		s.Cases = append(s.Cases, caseViewOf(r, c))
	}
	return s
}

func caseViewOf(r *result.Result, c result.Case) caseView {
	v := caseView{ID: c.ID, Valid: c.Valid, Runs: len(c.Runs), Foreign: c.ForeignCPU, Problems: c.Problems, Warnings: c.Warnings,
		Params: fmt.Sprintf("%d prompt → %d new tokens, batch %d, %d stream(s)", c.Params.PromptTokens, c.Params.NewTokens, max(c.Params.Batch, 1), max(c.Params.Streams, 1))}
	if machineOf := result.MachineOfEnvironment(r); machineOf != nil { // a fleet's merged result
		v.Params += fmt.Sprintf("; ran on %s (%s)", machineOf[c.Environment], c.Environment)
	}
	ids := make([]string, 0, len(c.Stats))
	for id := range c.Stats {
		ids = append(ids, id)
	}
	order := map[string]int{}
	for i, d := range metric.Builtin {
		order[d.ID] = i
	}
	sort.Slice(ids, func(i, j int) bool {
		oi, iok := order[ids[i]]
		oj, jok := order[ids[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return ids[i] < ids[j]
	})
	n := finalreport.Num
	for _, id := range ids {
		s := c.Stats[id]
		if s.N == 0 {
			continue
		}
		ci := "–"
		if s.N > 1 {
			ci = fmt.Sprintf("[%s, %s]", n(s.MeanCI[0]), n(s.MeanCI[1]))
		}
		v.Rows = append(v.Rows, statRow{Metric: id, Unit: metricDef(r, id).Unit, N: s.N, Mean: n(s.Mean), CI: ci, Std: n(s.Std),
			CV: fmt.Sprintf("%.1f %%", 100*s.CV), Min: n(s.Min), P50: n(s.P50), P90: n(s.P90), P95: n(s.P95), P99: n(s.P99), Max: n(s.Max),
			Noisy: s.CV > report.HighCV, Outliers: s.Outliers})
	}
	return v
}

func envRows(r *result.Result) [][2]string {
	e, m := r.Env, r.Model
	rows := [][2]string{
		{"CPU", fmt.Sprintf("%s, %d cores", orDash(e.CPUModel), e.Cores)},
		{"OS / kernel", strings.TrimSpace(e.OS + " " + e.Kernel)},
		{"CPU governor", orDash(e.Governor)},
		{"Load average before / during", fmt.Sprintf("%.2f / %.2f", e.LoadBefore, e.LoadDuring)},
		{"Foreign CPU during the run", fmt.Sprintf("%.2f cores", e.ForeignCPU)},
		{"Go / runtime / pipe", fmt.Sprintf("%s / %s / %s", orDash(e.GoVersion), orDash(e.ORTVersion), orDash(e.PipeVersion))},
		{"Model", fmt.Sprintf("%s (%s graph, %d layers, %d heads, %d KV heads, vocab %d, %d positions)", orDash(m.Model), orDash(m.GraphStyle), m.Layers, m.Heads, m.KVHeads, m.Vocab, m.MaxPositions)},
		{"Model file", fmt.Sprintf("%s, sha256 %s", stats.FormatBytes(float64(m.ModelBytes)), orDash(m.ModelHash))},
		{"Device / threads", fmt.Sprintf("%s, %d intra-op, %d inter-op", orDash(m.Device), m.Threads.IntraOp, m.Threads.InterOp)},
	}
	if e.MemTotal > 0 {
		rows = append(rows, [2]string{"Memory", stats.FormatBytes(float64(e.MemTotal))})
	}
	if e.GPU != "" {
		rows = append(rows, [2]string{"GPU", e.GPU})
	}
	if e.Hostname != "" {
		rows = append(rows, [2]string{"Host", e.Hostname})
	}
	for _, mc := range result.Machines(r) { // a fleet's merged result: every machine, not only the first shard's
		rows = append(rows, [2]string{"Machine " + mc.Name, fmt.Sprintf("%s, %d cores%s; shards %s", orDash(mc.Env.CPUModel), mc.Env.Cores,
			labelsNote(mc.Labels), strings.Join(mc.Environments, ", "))})
	}
	return rows
}

func labelsNote(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	return " (" + result.LabelString(labels) + ")"
}

func settingsRows(r *result.Result) [][2]string {
	keys := make([]string, 0, len(r.Pipeline.Settings))
	for k := range r.Pipeline.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rows [][2]string
	for _, k := range keys {
		rows = append(rows, [2]string{k, fmt.Sprint(r.Pipeline.Settings[k])})
	}
	if r.Memory != nil {
		opts := make([]string, 0, len(r.Memory.SessionOptions))
		for k := range r.Memory.SessionOptions {
			opts = append(opts, k)
		}
		sort.Strings(opts)
		for _, k := range opts {
			rows = append(rows, [2]string{"session option: " + k, r.Memory.SessionOptions[k]})
		}
	}
	return rows
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
