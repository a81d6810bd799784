package htmlreport_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/htmlreport"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// setRuns sets metric id to v in every run of every case of r, and the
// case statistics' mean, median and extremes with it.
func setRuns(r *result.Result, id string, v func(caseIdx, run int) float64) {
	for ci := range r.Cases {
		c := &r.Cases[ci]
		for i := range c.Runs {
			c.Runs[i].Values[id] = v(ci, i)
		}
		s := c.Stats[id]
		s.Mean, s.P50, s.Min, s.Max = v(ci, 0), v(ci, 0), v(ci, 0), v(ci, 0)
		s.MeanCI = [2]float64{v(ci, 0), v(ci, 0)}
		c.Stats[id] = s
	}
}

var (
	svgElement = regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`)
	// badNumber is a non-finite number where a coordinate or a length
	// belongs: what a chart drawn from NaN or ±Inf data holds.
	badNumber = regexp.MustCompile(`(?i)[ ,"(:ML-]([+-]?inf|nan)\b`)
	unplotted = regexp.MustCompile(`<figure class="unplotted">.*?</figure>`)
)

// TestUnplottableData: data that gonum/plot cannot draw as it comes — huge
// or non-finite values, all-equal values, a single point, values ≤ 0 on a
// log axis, empty series — never costs the report. Each case writes the
// HTML report through report.Write, the path `pipe report --format html`
// takes, and finds every chart either drawn from finite numbers (a valid
// SVG) or replaced by a note that says why.
func TestUnplottableData(t *testing.T) {
	tests := []struct {
		name   string
		phase  string
		mutate func(*result.Result)
		// notes are substrings of the notes expected in place of charts, in
		// page order; none means every chart is drawn.
		notes []string
		// drawn is a chart title (substring) the page must still draw.
		drawn string
	}{
		{
			// The reproducer: panicked in gonum's tick labelling.
			name: "1e20 in every run", phase: "phase2-latency",
			mutate: func(r *result.Result) { setRuns(r, "ttft_ms", func(int, int) float64 { return 1e20 }) },
			drawn:  "TTFT distribution per case",
		},
		{
			name: "1e20 beside ordinary values", phase: "phase2-latency",
			mutate: func(r *result.Result) { r.Cases[1].Runs[2].Values["e2e_ms"] = 1e20 },
			drawn:  "E2E distribution per case",
		},
		{
			name: "every value near the float64 limit", phase: "phase2-latency",
			mutate: func(r *result.Result) {
				setRuns(r, "ttft_ms", func(c, i int) float64 { return math.MaxFloat64 / float64(1+c+i) })
			},
			drawn: "TTFT distribution per case",
		},
		{
			name: "values spanning more than float64 holds", phase: "phase2-latency",
			mutate: func(r *result.Result) {
				setRuns(r, "e2e_ms", func(c, i int) float64 {
					if (c+i)%2 == 0 {
						return -math.MaxFloat64
					}
					return math.MaxFloat64
				})
			},
			notes: []string{"too far apart"},
		},
		{
			// The box's whiskers (quartile − 1.5 IQR) overflow to −Inf.
			name: "one run at −MaxFloat64 among ordinary values", phase: "phase2-latency",
			mutate: func(r *result.Result) { r.Cases[0].Runs[1].Values["ttft_ms"] = -math.MaxFloat64 },
			notes:  []string{"too far apart"},
		},
		{
			// mean − lower bound overflows: the bar would reach −Inf.
			name: "an interval wider than float64 holds", phase: "phase2-latency",
			mutate: func(r *result.Result) {
				s := r.Cases[1].Stats["ttft_ms"]
				s.Mean, s.MeanCI = math.MaxFloat64/2, [2]float64{-math.MaxFloat64, math.MaxFloat64}
				r.Cases[1].Stats["ttft_ms"] = s
			},
			drawn: "TTFT vs prompt length",
		},
		{
			name: "NaN and ±Inf run values and gaps", phase: "phase2-latency",
			mutate: func(r *result.Result) {
				c := &r.Cases[0]
				c.Runs[0].Values["ttft_ms"] = math.NaN()
				c.Runs[1].Values["ttft_ms"] = math.Inf(1)
				c.Runs[2].Values["e2e_ms"] = math.Inf(-1)
				c.Runs[0].ITLms[3] = math.NaN()
				c.Runs[1].ITLms[0] = math.Inf(1)
			},
			drawn: "Inter-token latency",
		},
		{
			name: "non-finite means and intervals", phase: "phase2-latency",
			mutate: func(r *result.Result) {
				s := r.Cases[0].Stats["ttft_ms"]
				s.Mean = math.NaN()
				r.Cases[0].Stats["ttft_ms"] = s
				s = r.Cases[1].Stats["decode_tps"]
				s.MeanCI = [2]float64{math.Inf(-1), math.Inf(1)}
				r.Cases[1].Stats["decode_tps"] = s
				s = r.Cases[2].Stats["decode_tps"]
				s.Mean = math.Inf(1)
				r.Cases[2].Stats["decode_tps"] = s
			},
			drawn: "TTFT vs prompt length",
		},
		{
			name: "all-equal values", phase: "phase2-latency",
			mutate: func(r *result.Result) {
				setRuns(r, "ttft_ms", func(int, int) float64 { return 0 })
				setRuns(r, "decode_tps", func(int, int) float64 { return 7 })
				for ci := range r.Cases {
					for i := range r.Cases[ci].Runs {
						for j := range r.Cases[ci].Runs[i].ITLms {
							r.Cases[ci].Runs[i].ITLms[j] = 12.5
						}
					}
				}
			},
			drawn: "decode tok/s vs prompt length",
		},
		{
			name: "all-equal latencies on the log axis", phase: "phase4-throughput",
			mutate: func(r *result.Result) {
				for i := range r.Throughput.Points {
					r.Throughput.Points[i].TTFTp50, r.Throughput.Points[i].E2Ep50 = 0.5, 0.5
				}
			},
			drawn: "Latency cost of concurrency",
		},
		{
			name: "a single point", phase: "phase4-throughput",
			mutate: func(r *result.Result) {
				r.Throughput.Points = r.Throughput.Points[:1]
				r.Throughput.Points[0].TTFTp50, r.Throughput.Points[0].E2Ep50 = 0.5, 0.5
				r.Throughput.Saturation = ""
			},
			drawn: "Latency cost of concurrency",
		},
		{
			name: "values ≤ 0 on the log axis", phase: "phase4-throughput",
			mutate: func(r *result.Result) {
				for i := range r.Throughput.Points {
					r.Throughput.Points[i].TTFTp50, r.Throughput.Points[i].E2Ep50 = -3, 0
				}
			},
			notes: []string{"no value above zero to draw on its log axis"},
			drawn: "Output tokens/s vs concurrency",
		},
		{
			name: "non-finite throughput", phase: "phase4-throughput",
			mutate: func(r *result.Result) {
				r.Throughput.Points[1].OutputTPS = math.Inf(1)
				r.Throughput.Points[2].E2Ep50 = math.NaN()
				r.Throughput.Points[3].TTFTp50 = math.Inf(1)
			},
			drawn: "Output tokens/s vs concurrency",
		},
		{
			name: "a flat RSS series with a NaN fit", phase: "phase3-memory",
			mutate: func(r *result.Result) {
				lk := &r.Memory.Leak[0]
				for i := range lk.RSSAfter {
					lk.RSSAfter[i] = 300 << 20
				}
				lk.Slope, lk.Intercept, lk.R2 = 0, 300<<20, math.NaN()
				lk.SlopeCI = [2]float64{math.NaN(), math.NaN()}
			},
			drawn: "RSS after each run",
		},
		{
			name: "a non-finite leak fit", phase: "phase3-memory",
			mutate: func(r *result.Result) {
				lk := &r.Memory.Leak[0]
				lk.Slope, lk.Intercept = math.NaN(), math.Inf(1)
			},
			drawn: "RSS after each run",
		},
		{
			name: "empty series", phase: "phase3-memory",
			mutate: func(r *result.Result) {
				lk := &r.Memory.Leak[0]
				lk.SkipRuns = len(lk.RSSAfter) + 5 // every point is a warm-up run
				r.Memory.Leak = append(r.Memory.Leak, result.Leak{Case: "empty", Verdict: "inconclusive"})
				for i := range r.Cases[0].Runs {
					r.Cases[0].Runs[i].ITLms = nil
				}
			},
			drawn: "RSS after each run",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := phase(t, tt.phase)
			tt.mutate(r)
			dir := t.TempDir()
			paths, err := registry.New().Formats().Write(dir, "html", r, report.Options{})
			if err != nil {
				t.Fatalf("pipe report --format html fails: %v", err)
			}
			data, err := os.ReadFile(paths[0])
			if err != nil || filepath.Base(paths[0]) != htmlreport.FileName {
				t.Fatalf("report %v not written: %v", paths, err)
			}
			page := string(data)
			svgs := svgElement.FindAllString(page, -1)
			for _, svg := range svgs {
				if m := badNumber.FindString(svg); m != "" {
					t.Errorf("a chart holds a non-finite number %q", m)
				}
				if err := wellFormed(svg); err != nil {
					t.Errorf("a chart is not well-formed SVG: %v", err)
				}
			}
			notes := unplotted.FindAllString(page, -1)
			if len(notes) != len(tt.notes) {
				t.Errorf("%d chart(s) replaced by a note, want %d: %q", len(notes), len(tt.notes), notes)
			}
			for i := range min(len(notes), len(tt.notes)) {
				if !strings.Contains(notes[i], tt.notes[i]) {
					t.Errorf("note %d = %q, want it to say %q", i, notes[i], tt.notes[i])
				}
			}
			if tt.drawn != "" && !strings.Contains(strings.Join(svgs, ""), `aria-label="`+tt.drawn) {
				t.Errorf("the page does not draw %q", tt.drawn)
			}
		})
	}
}

func wellFormed(svg string) error {
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestChartPanicBecomesNote: a chart whose drawing panics (the last resort
// for a cause not yet fixed) becomes a note naming why, and the rest of the
// report renders.
func TestChartPanicBecomesNote(t *testing.T) {
	c := htmlreport.DrawForTest("a chart that panics", func() { panic("illegal range") })
	if c.SVG != "" || !strings.Contains(c.Note, "illegal range") || !strings.Contains(c.Note, "gonum/plot") {
		t.Errorf("chart = %+v; want no SVG and a note naming the panic", c)
	}
	var b bytes.Buffer
	if err := htmlreport.Render(&b, phase(t, "phase2-latency")); err != nil {
		t.Fatal(err)
	}
}
