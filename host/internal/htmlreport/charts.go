package htmlreport

import (
	"bytes"
	"fmt"
	"image/color"
	"iter"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/pipe-bench/pipe/host/internal/finalreport"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// Chart is one figure: an inline SVG and what it shows, or, where the data
// cannot be drawn, a note in its place that says why.
type Chart struct {
	Title string
	// Caption says how to read the chart, computed from the data it draws.
	Caption string
	// SVG is the figure, ready to inline (no XML prolog, scalable).
	SVG string
	// Note, when set, stands in place of the figure (SVG is empty): why
	// this chart was not drawn.
	Note string
}

// chartWidth and chartHeight size every figure; the page scales them.
const (
	chartWidth  vg.Length = 480 // points
	chartHeight vg.Length = 280
	mib                   = 1 << 20
)

// palette is Tableau 10, readable on white and distinguishable in print.
var palette = []color.NRGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff},
	{0x76, 0xb7, 0xb2, 0xff}, {0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff},
	{0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff}, {0x9c, 0x75, 0x5f, 0xff},
	{0xba, 0xb0, 0xac, 0xff},
}

var grey = color.NRGBA{0x99, 0x99, 0x99, 0xff}

func colorAt(i int) color.Color { return palette[i%len(palette)] }

// sans is the charts' typeface: Liberation Sans, metric-compatible with
// Arial, which the page falls back to.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// plainTicks are gonum's default ticks labelled without trailing zeros
// ("2500", not "2500.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label == "" {
			continue
		}
		label := strconv.FormatFloat(ts[i].Value, 'g', 6, 64)
		if strings.ContainsRune(label, 'e') {
			label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
		ts[i].Label = label
	}
	return ts
}

// newPlot returns a plot with the report's common styling.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 12)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
		a.Color = grey
		a.Tick.Color = grey
	}
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.TextStyle.Font = font.From(sans, 9)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.ThumbnailWidth = vg.Points(14)
	g := plotter.NewGrid()
	g.Vertical.Color = color.NRGBA{0xe5, 0xe5, 0xe5, 0xff}
	g.Horizontal.Color = color.NRGBA{0xe5, 0xe5, 0xe5, 0xff}
	p.Add(g)
	return p
}

var (
	svgProlog  = regexp.MustCompile(`(?s)^<\?xml.*?\?>\s*<!--.*?-->\s*`)
	svgSize    = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*"`)
	fontFamily = regexp.MustCompile(`font-family:([^;"]+);`)
)

// drawChart is the one way a chart is drawn. build returns the plot and its
// caption; drawChart fits the plot's axes to what gonum/plot can draw
// (fitAxis) and renders it. Data it cannot draw — no finite value, values
// too far apart for one axis, nothing above zero on a log axis — becomes a
// Note in place of the figure, so no chart can cost the report. A panic
// inside gonum/plot is the last resort for a cause not yet known: it too
// becomes a note, naming the panic.
func drawChart(title, label string, build func() (*plot.Plot, string, error)) (c Chart) {
	defer func() {
		if v := recover(); v != nil {
			c = Chart{Title: title, Note: fmt.Sprintf("not drawn: gonum/plot panicked on this data (%v)", v)}
		}
	}()
	p, caption, err := build()
	if err == nil {
		err = fitAxis(&p.X, "x")
	}
	if err == nil {
		err = fitAxis(&p.Y, "y")
	}
	var svg string
	if err == nil {
		svg, err = svgOf(p, label)
	}
	if err != nil {
		return Chart{Title: title, Note: "not drawn: " + err.Error()}
	}
	return Chart{Title: title, Caption: caption, SVG: svg}
}

// fitAxis makes a's range one that gonum/plot draws: finite, lower below
// upper, wide enough that its ticks differ (gonum widens an empty range by
// ±1, which is nothing at 1e20, and panics in its tick labelling when the
// ends stay equal), and above zero on a log axis. It returns why it cannot
// when no range would show the data.
func fitAxis(a *plot.Axis, name string) error {
	lo, hi := a.Min, a.Max
	_, log := a.Scale.(plot.LogScale)
	switch {
	case math.IsInf(lo, 1) && math.IsInf(hi, -1): // no data at all
		if log {
			return fmt.Errorf("no value above zero to draw on its log axis")
		}
		return fmt.Errorf("no finite value to draw on its %s axis", name)
	case math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0):
		// Finite data whose drawn extent (a whisker, a bar) overflows.
		return fmt.Errorf("its values are too far apart to draw on one axis (the %s axis would reach %g to %g)", name, lo, hi)
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if log {
		if lo <= 0 {
			return fmt.Errorf("its log %s axis would reach %g, and a log axis holds only values above zero", name, lo)
		}
		if hi/lo < 1+1e-9 { // one value: a decade around it
			lo, hi = lo/math.Sqrt(10), hi*math.Sqrt(10)
		}
		a.Min, a.Max = lo, hi
		return nil
	}
	if span := hi - lo; math.IsInf(span, 0) {
		return fmt.Errorf("its values, %s to %s, are too far apart to draw on one axis (their difference exceeds the largest float64)",
			strconv.FormatFloat(lo, 'g', 3, 64), strconv.FormatFloat(hi, 'g', 3, 64))
	}
	if mag := math.Max(math.Abs(lo), math.Abs(hi)); hi-lo <= 1e-9*mag {
		pad := math.Max(1, 0.05*mag) // gonum's ±1 where that widens the range
		lo, hi = math.Max(lo-pad, -math.MaxFloat64), math.Min(hi+pad, math.MaxFloat64)
	}
	a.Min, a.Max = lo, hi
	return nil
}

// padAxis widens a by fractions of its span, below and above, where the
// span and the widened ends are finite and the span is not zero (fitAxis
// deals with the others).
func padAxis(a *plot.Axis, below, above float64) {
	span := a.Max - a.Min
	if span <= 0 || !isFinite(span) {
		return
	}
	if lo := a.Min - below*span; isFinite(lo) {
		a.Min = lo
	}
	if hi := a.Max + above*span; isFinite(hi) {
		a.Max = hi
	}
}

// finitePoints returns the points of xys whose coordinates are both finite,
// and how many it left out: no NaN or ±Inf reaches gonum/plot, which
// refuses them.
func finitePoints(xys plotter.XYs) (plotter.XYs, int) {
	kept := make(plotter.XYs, 0, len(xys))
	for _, xy := range xys {
		if isFinite(xy.X) && isFinite(xy.Y) {
			kept = append(kept, xy)
		}
	}
	return kept, len(xys) - len(kept)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// leftOut is the caption's sentence for n values a chart could not draw.
func leftOut(n int, what string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" %d %s not finite (NaN or ±Inf), left out of the chart.", n, what)
}

// svgOf renders p as inline SVG: no prolog, sized by its viewBox so CSS can
// scale it, and with the chart font falling back to metric-compatible system
// fonts (Liberation Sans has Arial's metrics).
func svgOf(p *plot.Plot, label string) (string, error) {
	c := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("render chart %q: %w", label, err)
	}
	s := svgProlog.ReplaceAllString(b.String(), "")
	s = svgSize.ReplaceAllString(s, fmt.Sprintf(`<svg class="chart" role="img" aria-label="%s"`, attrEscape(label)))
	s = fontFamily.ReplaceAllString(s, "font-family:'$1',Arial,Helvetica,sans-serif;")
	return s, nil
}

func attrEscape(s string) string {
	r := strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;", `>`, "&gt;")
	return r.Replace(s)
}

// Charts returns the figures one result supports, in report order: scaling
// with prompt length, distributions per case, ITL ECDFs, RSS over runs with
// the leak fit, and the throughput curve. A result that holds no data for a
// figure simply has none of it; a figure whose data cannot be drawn is a
// Chart with a Note instead of an SVG (drawChart), so Charts cannot fail.
func Charts(r *result.Result) []Chart {
	var out []Chart
	for _, b := range []func(*result.Result) []Chart{
		promptScalingCharts, distributionCharts, itlChart, leakCharts, throughputCharts,
	} {
		out = append(out, b(r)...)
	}
	return out
}

// promptScalingCharts draws TTFT and decode tok/s means with their 95 %
// t intervals against prompt length, one series per output length and
// batch × streams. It needs two distinct prompt lengths.
func promptScalingCharts(r *result.Result) []Chart {
	lengths := map[int]bool{}
	for _, c := range r.Cases {
		lengths[c.Params.PromptTokens] = true
	}
	if len(lengths) < 2 {
		return nil
	}
	var out []Chart
	for _, id := range []string{metric.TTFT, metric.DecodeTPS} {
		def := metricDef(r, id)
		type point struct {
			x      float64
			s      seriesKey
			mean   float64
			lo, hi float64
			label  string
		}
		var pts []point
		nonFinite := 0
		for _, c := range r.Cases {
			s, ok := c.Stats[id]
			if !ok || s.N == 0 {
				continue
			}
			if !isFinite(s.Mean) {
				nonFinite++
				continue
			}
			lo, hi := s.MeanCI[0], s.MeanCI[1]
			// No bar where the interval is missing or its arms overflow
			// (mean − lower bound is +Inf for an interval wider than
			// float64 holds).
			if lo == 0 && hi == 0 || !isFinite(s.Mean-lo) || !isFinite(hi-s.Mean) {
				lo, hi = s.Mean, s.Mean
			}
			pts = append(pts, point{float64(c.Params.PromptTokens), keyOf(c.Params), s.Mean, lo, hi, fmt.Sprintf("→%d", c.Params.NewTokens)})
		}
		title := fmt.Sprintf("%s vs prompt length (mean, 95 %% CI; labels: new tokens)", metric.ShortName(id))
		if len(pts) < 2 {
			if len(pts)+nonFinite >= 2 {
				out = append(out, Chart{Title: title, Note: fmt.Sprintf("not drawn: %d of %d cases have a finite mean %s", len(pts), len(pts)+nonFinite, metric.ShortName(id))})
			}
			continue
		}
		series := map[seriesKey][]point{}
		var keys []seriesKey
		for _, p := range pts {
			if _, ok := series[p.s]; !ok {
				keys = append(keys, p.s)
			}
			series[p.s] = append(series[p.s], p)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
		out = append(out, drawChart(title, title, func() (*plot.Plot, string, error) {
			p := newPlot(title, "prompt tokens", unitLabel(def))
			for i, k := range keys {
				ps := series[k]
				sort.Slice(ps, func(a, b int) bool { return ps[a].x < ps[b].x })
				xys := make(plotter.XYs, len(ps))
				errs := make(plotter.YErrors, len(ps))
				for j, q := range ps {
					xys[j] = plotter.XY{X: q.x, Y: q.mean}
					errs[j] = struct{ Low, High float64 }{q.mean - q.lo, q.hi - q.mean}
				}
				line, scatter, err := plotter.NewLinePoints(xys)
				if err != nil {
					return nil, "", err
				}
				line.Color, scatter.Color = colorAt(i), colorAt(i)
				scatter.GlyphStyle.Shape = draw.CircleGlyph{}
				scatter.GlyphStyle.Radius = vg.Points(3)
				eb, err := plotter.NewYErrorBars(struct {
					plotter.XYs
					plotter.YErrors
				}{xys, errs})
				if err != nil {
					return nil, "", err
				}
				eb.Color = colorAt(i)
				eb.CapWidth = vg.Points(8)
				p.Add(line, scatter, eb)
				texts := make([]string, len(ps))
				for j, q := range ps {
					texts[j] = q.label
				}
				labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
				if err != nil {
					return nil, "", err
				}
				for j := range labels.TextStyle {
					labels.TextStyle[j].Font = font.From(sans, 8)
					labels.TextStyle[j].Color = grey
				}
				labels.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(3)}
				p.Add(labels)
				if len(keys) > 1 {
					p.Legend.Add(k.String(), line, scatter)
				}
			}
			p.Y.Min = math.Min(p.Y.Min, 0)
			padAxis(&p.Y, 0, 0.05)
			xTicks(p, pts[0].x, func(yield func(float64) bool) {
				for _, q := range pts {
					if !yield(q.x) {
						return
					}
				}
			})
			first, last := pts[0], pts[0]
			for _, q := range pts {
				if q.x < first.x {
					first = q
				}
				if q.x > last.x {
					last = q
				}
			}
			caption := fmt.Sprintf("From %g to %g prompt tokens the mean %s goes from %s to %s %s (%s for ×%.2f tokens). Bars are 95 %% Student-t intervals of the mean.",
				first.x, last.x, metric.ShortName(id), finalreport.Num(first.mean), finalreport.Num(last.mean), def.Unit, finalreport.Ratio(ratio(last.mean, first.mean)), last.x/first.x)
			return p, caption + leftOut(nonFinite, "case mean(s) were"), nil
		}))
	}
	return out
}

// xTicks puts one x tick at each distinct value, labelled as an integer,
// and pads the axis so points at the ends are not cut.
func xTicks(p *plot.Plot, first float64, xs iter.Seq[float64]) {
	seen := map[float64]bool{}
	var ticks plot.ConstantTicks
	lo, hi := first, first
	for x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
		if !seen[x] {
			seen[x] = true
			ticks = append(ticks, plot.Tick{Value: x, Label: fmt.Sprintf("%g", x)})
		}
	}
	sort.Slice(ticks, func(i, j int) bool { return ticks[i].Value < ticks[j].Value })
	p.X.Tick.Marker = ticks
	pad := 0.06 * (hi - lo)
	if pad == 0 {
		pad = 1
	}
	p.X.Min, p.X.Max = lo-pad, hi+pad
}

// seriesKey groups cases by how many sequences run at once; the prompt
// length is the x axis, and each point is labelled with its output length.
type seriesKey struct{ batch, streams int }

func keyOf(p result.CaseParams) seriesKey {
	return seriesKey{max(p.Batch, 1), max(p.Streams, 1)}
}

func (k seriesKey) less(o seriesKey) bool {
	if k.batch != o.batch {
		return k.batch < o.batch
	}
	return k.streams < o.streams
}

func (k seriesKey) String() string {
	return fmt.Sprintf("batch %d × %d stream(s)", k.batch, k.streams)
}

// distributionCharts draws, per latency metric, a Tukey box per case with
// every run as a point beside it (a strip), so five runs are not hidden
// behind a box.
func distributionCharts(r *result.Result) []Chart {
	var out []Chart
	for _, id := range []string{metric.TTFT, metric.E2E} {
		def := metricDef(r, id)
		var names []string
		var runs [][]float64
		var invalid plotter.XYs
		nonFinite := 0
		for _, c := range r.Cases {
			vs, bad := runValues(c, id, true)
			nonFinite += bad
			if len(vs) == 0 {
				continue
			}
			ivs, bad := runValues(c, id, false)
			nonFinite += bad
			for _, v := range ivs {
				invalid = append(invalid, plotter.XY{X: float64(len(names)) + 0.22, Y: v})
			}
			names = append(names, c.ID)
			runs = append(runs, vs)
		}
		title := fmt.Sprintf("%s distribution per case (box: quartiles, whiskers: 1.5 IQR; dots: runs)", metric.ShortName(id))
		if len(runs) == 0 {
			if nonFinite > 0 {
				out = append(out, Chart{Title: title, Note: fmt.Sprintf("not drawn: none of the %d %s values is finite", nonFinite, metric.ShortName(id))})
			}
			continue
		}
		out = append(out, drawChart(title, title, func() (*plot.Plot, string, error) {
			p := newPlot(metric.ShortName(id)+" distribution per case", "", unitLabel(def))
			widest, widestCase := -1.0, ""
			for i, vs := range runs {
				b, err := plotter.NewBoxPlot(vg.Points(22), float64(i), plotter.Values(vs))
				if err != nil {
					return nil, "", err
				}
				b.Offset = -vg.Points(8)
				b.FillColor = withAlpha(colorAt(i), 0x40)
				b.BoxStyle.Color = colorAt(i)
				b.MedianStyle.Color = colorAt(i)
				b.MedianStyle.Width = vg.Points(1.5)
				b.WhiskerStyle.Color = colorAt(i)
				b.GlyphStyle.Color = colorAt(i)
				strip, err := plotter.NewScatter(stripXYs(float64(i)+0.22, vs))
				if err != nil {
					return nil, "", err
				}
				strip.GlyphStyle.Color = colorAt(i)
				strip.GlyphStyle.Radius = vg.Points(1.8)
				strip.GlyphStyle.Shape = draw.CircleGlyph{}
				p.Add(b, strip)
				sorted := append([]float64(nil), vs...)
				sort.Float64s(sorted)
				if med := sorted[len(sorted)/2]; med > 0 {
					if spread := (sorted[len(sorted)-1] - sorted[0]) / med; spread > widest {
						widest, widestCase = spread, names[i]
					}
				}
			}
			if len(invalid) > 0 {
				bad, err := plotter.NewScatter(invalid)
				if err != nil {
					return nil, "", err
				}
				bad.GlyphStyle.Shape = draw.CrossGlyph{}
				bad.GlyphStyle.Radius = vg.Points(4)
				bad.GlyphStyle.Color = color.NRGBA{0xcf, 0x22, 0x2e, 0xff}
				p.Add(bad)
				p.Legend.Add(fmt.Sprintf("invalid run (%d), left out of the box", len(invalid)), bad)
			}
			labels, shared := axisLabels(names)
			p.NominalX(labels...)
			p.X.Tick.Label.Font.Size = vg.Points(8)
			if shared != "" {
				p.X.Label.Text = "cases " + shared + "-…"
			}
			if len(labels) > 6 {
				p.X.Tick.Label.Rotation = math.Pi / 4
				p.X.Tick.Label.XAlign = draw.XRight
				p.X.Tick.Label.YAlign = draw.YCenter
			}
			// Each case owns one unit of x: its box left of centre, its runs right.
			p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
			// The spread is the point here, so the axis fits the runs rather
			// than starting at zero; the top band keeps the legend clear.
			padAxis(&p.Y, 0.05, 0.15)
			caption := fmt.Sprintf("Every valid run of every case. Box: quartiles and median; whiskers reach the last run within 1.5 IQR, rings beyond; dots right of each box are the %d runs themselves.", totalLen(runs))
			if len(invalid) > 0 {
				caption += fmt.Sprintf(" Red crosses: %d run(s) that broke an invariant, kept out of the statistics.", len(invalid))
			}
			if widestCase != "" {
				caption += fmt.Sprintf(" Widest spread: %s, whose runs span %.0f %% of its median.", widestCase, 100*widest)
			}
			return p, caption + leftOut(nonFinite, "run value(s) were"), nil
		}))
	}
	return out
}

// stripXYs spreads n points at x, each at its value, offset sideways by
// rank so equal values do not hide each other (deterministic, no jitter).
func stripXYs(x float64, vs []float64) plotter.XYs {
	xys := make(plotter.XYs, len(vs))
	for i, v := range vs {
		xys[i] = plotter.XY{X: x + 0.06*float64(i%3-1), Y: v}
	}
	return xys
}

// itlChart draws the empirical CDF of every inter-token gap, per case.
func itlChart(r *result.Result) []Chart {
	title := "Inter-token latency, empirical CDF per case"
	type caseGaps struct {
		i    int
		id   string
		gaps []float64
	}
	var drawn []caseGaps
	nonFinite := 0
	for i, c := range r.Cases {
		var gaps []float64
		for _, run := range c.Runs {
			for _, g := range run.ITLms {
				if isFinite(g) {
					gaps = append(gaps, g)
				} else {
					nonFinite++
				}
			}
		}
		if len(gaps) >= 2 {
			drawn = append(drawn, caseGaps{i, c.ID, gaps})
		}
	}
	if len(drawn) == 0 {
		if nonFinite > 0 {
			return []Chart{{Title: title, Note: fmt.Sprintf("not drawn: no case has two finite inter-token gaps (%d gaps are NaN or ±Inf)", nonFinite)}}
		}
		return nil
	}
	return []Chart{drawChart(title, title, func() (*plot.Plot, string, error) {
		p := newPlot(title, "inter-token gap (ms)", "share of gaps ≤ x")
		var tail string
		var tailRatio float64
		for _, d := range drawn {
			i, gaps := d.i, d.gaps
			sort.Float64s(gaps)
			xys := ecdf(gaps)
			line, err := plotter.NewLine(xys)
			if err != nil {
				return nil, "", err
			}
			line.StepStyle = plotter.PostStep
			line.Color = colorAt(i)
			line.Width = vg.Points(1.5)
			p.Add(line)
			p.Legend.Add(fmt.Sprintf("%s (%d gaps)", d.id, len(gaps)), line)
			med := gaps[len(gaps)/2]
			p99 := gaps[int(math.Ceil(0.99*float64(len(gaps))))-1]
			if med > 0 && p99/med > tailRatio {
				tailRatio, tail = p99/med, d.id
			}
		}
		p.Y.Min, p.Y.Max = 0, 1
		p.Legend.Top, p.Legend.Left = false, false
		caption := "Each step is one inter-token gap; a long right tail means stalls during decoding."
		if tail != "" {
			caption += fmt.Sprintf(" Heaviest tail: %s, whose 99th-percentile gap is %.2f× its median gap.", tail, tailRatio)
		}
		return p, caption + leftOut(nonFinite, "gap(s) were"), nil
	})}
}

// ecdf returns the steps of the empirical CDF of sorted xs, one point per
// distinct value.
func ecdf(sorted []float64) plotter.XYs {
	var xys plotter.XYs
	n := float64(len(sorted))
	for i := 0; i < len(sorted); i++ {
		if i+1 < len(sorted) && sorted[i+1] == sorted[i] {
			continue
		}
		xys = append(xys, plotter.XY{X: sorted[i], Y: float64(i+1) / n})
	}
	// Start the curve at zero so the first step is visible.
	return append(plotter.XYs{{X: sorted[0], Y: 0}}, xys...)
}

// leakCharts draws RSS after each run with the fitted line, per case the
// memory phase analysed.
func leakCharts(r *result.Result) []Chart {
	if r.Memory == nil {
		return nil
	}
	var out []Chart
	for _, lk := range r.Memory.Leak {
		if len(lk.RSSAfter) == 0 {
			continue
		}
		title := fmt.Sprintf("RSS after each run, %s: %s", lk.Case, lk.Verdict)
		out = append(out, drawChart(title, title, func() (*plot.Plot, string, error) {
			p := newPlot(title, "run index", "RSS after run (MiB)")
			var skipped, fitted plotter.XYs
			for i, b := range lk.RSSAfter {
				xy := plotter.XY{X: float64(i), Y: float64(b) / mib}
				if i < lk.SkipRuns {
					skipped = append(skipped, xy)
				} else {
					fitted = append(fitted, xy)
				}
			}
			if len(skipped) > 0 {
				s, err := plotter.NewScatter(skipped)
				if err != nil {
					return nil, "", err
				}
				s.GlyphStyle.Color = grey
				s.GlyphStyle.Radius = vg.Points(2)
				p.Add(s)
				p.Legend.Add(fmt.Sprintf("warm-up runs left out (%d)", len(skipped)), s)
			}
			if len(fitted) > 0 {
				s, err := plotter.NewScatter(fitted)
				if err != nil {
					return nil, "", err
				}
				s.GlyphStyle.Color = colorAt(0)
				s.GlyphStyle.Radius = vg.Points(2)
				s.GlyphStyle.Shape = draw.CircleGlyph{}
				p.Add(s)
				p.Legend.Add("RSS after run", s)
				x0, x1 := fitted[0].X, fitted[len(fitted)-1].X
				fit, bad := finitePoints(plotter.XYs{
					{X: x0, Y: (lk.Intercept + lk.Slope*x0) / mib},
					{X: x1, Y: (lk.Intercept + lk.Slope*x1) / mib},
				})
				if bad == 0 {
					l, err := plotter.NewLine(fit)
					if err != nil {
						return nil, "", err
					}
					l.Color = colorAt(2)
					l.Width = vg.Points(2)
					p.Add(l)
					p.Legend.Add(fmt.Sprintf("fit: %s/run", stats.FormatBytes(lk.Slope)), l)
				}
			}
			// Leave a band above the runs for the legend.
			padAxis(&p.Y, 0, 0.3)
			caption := fmt.Sprintf("Theil–Sen slope %s per run within the segments between steps, 95 %% CI [%s, %s], over runs %d–%d; steps: %s; the leak threshold is %s per run, so the verdict is %q.",
				stats.FormatBytes(lk.Slope), stats.FormatBytes(lk.SlopeCI[0]), stats.FormatBytes(lk.SlopeCI[1]), lk.SkipRuns, len(lk.RSSAfter)-1, report.LeakSteps(lk), stats.FormatBytes(lk.Threshold), lk.Verdict)
			if lk.Reason != "" {
				caption += " Why: " + lk.Reason + "."
			}
			if !isFinite(lk.Slope) || !isFinite(lk.Intercept) {
				caption += " The fit is not finite, so no line is drawn."
			}
			return p, caption, nil
		}))
	}
	return out
}

// fixed2 formats v with two decimals, or "–" when it is not finite.
func fixed2(v float64) string {
	if !isFinite(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// throughputCharts draws output tok/s against concurrency (batch × streams)
// and the latency each step costs.
func throughputCharts(r *result.Result) []Chart {
	if r.Throughput == nil || len(r.Throughput.Points) == 0 {
		return nil
	}
	pts := append([]result.ThroughputPoint(nil), r.Throughput.Points...)
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Concurrency < pts[j].Concurrency })
	groups := throughputGroups(pts)
	concurrency := func(yield func(float64) bool) {
		for _, q := range pts {
			if !yield(float64(q.Concurrency)) {
				return
			}
		}
	}

	title := "Output tokens/s vs concurrency (batch × streams)"
	out := []Chart{drawChart(title, title, func() (*plot.Plot, string, error) {
		p := newPlot(title, "concurrency (batch × streams)", "output tok/s (all requests)")
		nonFinite := 0
		for gi, g := range groups {
			xys := make(plotter.XYs, len(g.points))
			for i, q := range g.points {
				xys[i] = plotter.XY{X: float64(q.Concurrency), Y: q.OutputTPS}
			}
			xys, bad := finitePoints(xys)
			nonFinite += bad
			if len(xys) == 0 {
				continue
			}
			line, scatter, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, "", err
			}
			line.Color, scatter.Color = colorAt(gi), colorAt(gi)
			scatter.GlyphStyle.Shape = draw.CircleGlyph{}
			scatter.GlyphStyle.Radius = vg.Points(3)
			p.Add(line, scatter)
			p.Legend.Add(g.name, line, scatter)
		}
		var first, best *result.ThroughputPoint
		for i, q := range pts {
			if !isFinite(q.OutputTPS) {
				continue
			}
			if first == nil {
				first = &pts[i]
			}
			if best == nil || q.OutputTPS > best.OutputTPS {
				best = &pts[i]
			}
		}
		if first == nil {
			return nil, "", fmt.Errorf("no case has a finite output tok/s")
		}
		if sat := r.Throughput.Saturation; sat != "" {
			for _, q := range pts {
				if q.Case == sat && isFinite(q.OutputTPS) {
					s, err := plotter.NewScatter(plotter.XYs{{X: float64(q.Concurrency), Y: q.OutputTPS}})
					if err != nil {
						return nil, "", err
					}
					s.GlyphStyle.Shape = draw.RingGlyph{}
					s.GlyphStyle.Radius = vg.Points(7)
					s.GlyphStyle.Color = colorAt(2)
					p.Add(s)
					p.Legend.Add("saturation: "+sat, s)
				}
			}
		}
		p.Legend.Top, p.Legend.Left = false, false
		p.Y.Min = math.Min(p.Y.Min, 0)
		xTicks(p, float64(pts[0].Concurrency), concurrency)
		caption := fmt.Sprintf("Peak %s output tok/s at %s (concurrency %d), %s× the %s of %s.",
			finalreport.Num(best.OutputTPS), best.Case, best.Concurrency, fixed2(ratio(best.OutputTPS, first.OutputTPS)), finalreport.Num(first.OutputTPS), first.Case)
		switch t := r.Throughput; {
		case t.Saturation != "":
			caption += fmt.Sprintf(" After %s, a further step gains less than %.0f %% by the whole interval of its gain: throughput has saturated.", t.Saturation, 100*t.SaturationGain)
		case t.Undecided != "":
			caption += " No saturation called: " + t.Undecided + "."
		default:
			caption += " Throughput never stopped growing over the measured range."
		}
		return p, caption + leftOut(nonFinite, "output tok/s value(s) were"), nil
	})}

	title = "Latency cost of concurrency (medians per request, log scale; dashed: TTFT)"
	out = append(out, drawChart(title, title, func() (*plot.Plot, string, error) {
		p := newPlot(title, "concurrency (batch × streams)", "ms (log scale)")
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		series := []struct {
			name string
			get  func(result.ThroughputPoint) float64
			dash []vg.Length
		}{
			{"E2E p50", func(q result.ThroughputPoint) float64 { return q.E2Ep50 }, nil},
			{"TTFT p50", func(q result.ThroughputPoint) float64 { return q.TTFTp50 }, []vg.Length{vg.Points(4), vg.Points(3)}},
		}
		undrawable := 0
		for gi, g := range groups {
			for _, s := range series {
				var xys plotter.XYs
				for _, q := range g.points {
					if v := s.get(q); v > 0 && !math.IsInf(v, 0) { // a log axis has no zero
						xys = append(xys, plotter.XY{X: float64(q.Concurrency), Y: v})
					} else {
						undrawable++
					}
				}
				if len(xys) == 0 {
					continue
				}
				line, scatter, err := plotter.NewLinePoints(xys)
				if err != nil {
					return nil, "", err
				}
				line.Color, scatter.Color = colorAt(gi), colorAt(gi)
				line.Dashes = s.dash
				scatter.GlyphStyle.Shape = draw.CircleGlyph{}
				scatter.GlyphStyle.Radius = vg.Points(2.5)
				p.Add(line, scatter)
				label := s.name
				if len(groups) > 1 {
					label += ", " + g.name
				}
				p.Legend.Add(label, line, scatter)
			}
		}
		p.Legend.Top, p.Legend.Left = false, false
		xTicks(p, float64(pts[0].Concurrency), concurrency)
		last := pts[len(pts)-1]
		caption := fmt.Sprintf("From concurrency %d to %d the median E2E goes from %s to %s ms (%s) and median TTFT from %s to %s ms (%s).",
			pts[0].Concurrency, last.Concurrency, finalreport.Num(pts[0].E2Ep50), finalreport.Num(last.E2Ep50), finalreport.Ratio(ratio(last.E2Ep50, pts[0].E2Ep50)),
			finalreport.Num(pts[0].TTFTp50), finalreport.Num(last.TTFTp50), finalreport.Ratio(ratio(last.TTFTp50, pts[0].TTFTp50)))
		if undrawable > 0 {
			caption += fmt.Sprintf(" %d median(s) at or below zero or not finite have no place on the log axis and are left out.", undrawable)
		}
		return p, caption, nil
	}))
	return out
}

type throughputGroup struct {
	name   string
	points []result.ThroughputPoint
}

// throughputGroups draws one line per number of concurrent streams, over
// growing batch sizes: in a batch × streams matrix, points of different
// stream counts at the same concurrency are different machines' worth of
// scheduling, and one line through all of them would zigzag.
func throughputGroups(pts []result.ThroughputPoint) []throughputGroup {
	byStreams := map[int][]result.ThroughputPoint{}
	var streams []int
	for _, q := range pts {
		s := max(q.Streams, 1)
		if _, ok := byStreams[s]; !ok {
			streams = append(streams, s)
		}
		byStreams[s] = append(byStreams[s], q)
	}
	sort.Ints(streams)
	var out []throughputGroup
	for _, s := range streams {
		g := byStreams[s]
		sort.SliceStable(g, func(i, j int) bool { return g[i].Concurrency < g[j].Concurrency })
		name := fmt.Sprintf("%d stream(s), batch %d", s, max(g[0].Batch, 1))
		if last := max(g[len(g)-1].Batch, 1); last != max(g[0].Batch, 1) {
			name += fmt.Sprintf("–%d", last)
		}
		out = append(out, throughputGroup{name, g})
	}
	return out
}

func withAlpha(c color.Color, a uint8) color.Color {
	n := c.(color.NRGBA)
	n.A = a
	return n
}

// runValues returns metric id's finite values in the valid runs (valid
// true) or in the invalid ones (valid false), and how many it left out as
// not finite.
func runValues(c result.Case, id string, valid bool) (vs []float64, nonFinite int) {
	for _, r := range c.Runs {
		v, ok := r.Values[id]
		switch {
		case !ok || r.Valid != valid:
		case isFinite(v):
			vs = append(vs, v)
		default:
			nonFinite++
		}
	}
	return vs, nonFinite
}

func totalLen(xss [][]float64) int {
	n := 0
	for _, xs := range xss {
		n += len(xs)
	}
	return n
}

// metricDef is id's definition (result.Metric), or a unitless one for a
// metric the result does not define.
func metricDef(r *result.Result, id string) metric.Def {
	if d, ok := r.Metric(id); ok {
		return d
	}
	return metric.Def{ID: id, Unit: "1"}
}

func unitLabel(d metric.Def) string {
	if d.Unit == "1" {
		return metric.ShortName(d.ID)
	}
	return fmt.Sprintf("%s (%s)", metric.ShortName(d.ID), d.Unit)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// axisLabels drops the dash-separated parts that every case ID shares
// ("p128-n64-b1-s2", "p128-n64-b2-s1" → "b1-s2", "b2-s1"), so a dozen cases
// fit under one axis; it returns the labels and the shared prefix.
func axisLabels(ids []string) ([]string, string) {
	if len(ids) < 2 {
		return ids, ""
	}
	split := make([][]string, len(ids))
	for i, id := range ids {
		split[i] = strings.Split(id, "-")
	}
	common := 0
	for ; ; common++ {
		if common >= len(split[0])-1 {
			break
		}
		same := true
		for _, parts := range split[1:] {
			if common >= len(parts)-1 || parts[common] != split[0][common] {
				same = false
				break
			}
		}
		if !same {
			break
		}
	}
	if common == 0 {
		return ids, ""
	}
	labels := make([]string, len(ids))
	for i, parts := range split {
		labels[i] = strings.Join(parts[common:], "-")
	}
	return labels, strings.Join(split[0][:common], "-")
}
