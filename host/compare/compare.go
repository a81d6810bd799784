// Package compare says which differences between two results are real. It
// takes benchstat's stand: runs are not normally distributed, so each side
// is summarised by its median with a distribution-free 95 % interval, and a
// change counts only when the Mann-Whitney U test on the raw runs rejects
// "same distribution" at alpha (golang.org/x/perf/benchmath does both) and
// the medians differ by more than a noise threshold. Everything else is
// reported as "~", with the reason when the sample was too small to tell.
package compare

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/perf/benchmath"

	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/result"
)

// Defaults.
const (
	DefaultAlpha = 0.05
	DefaultNoise = 0.02 // medians closer than 2 % are noise, whatever p says
)

// Verdicts.
const (
	Improvement = "improvement"
	Regression  = "regression"
	Changed     = "changed" // significant, but the metric has no direction
	Same        = "~"
)

// Options tune a comparison.
type Options struct {
	Alpha float64 // significance level; 0 means DefaultAlpha
	// Noise is the smallest relative change of the median that counts;
	// 0 means DefaultNoise, a negative value means none.
	Noise float64
	// Metrics restricts the comparison to these IDs; empty means every
	// metric both results measured.
	Metrics []string
}

// Center is one side's median and its 95 % interval.
type Center struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	// Lo and Hi bound the interval; nil when the sample is too small to
	// bound it (fewer than 6 runs).
	Lo *float64 `json:"lo"`
	Hi *float64 `json:"hi"`
}

// PctRange is the interval's half-width as a percentage of the median, or
// "∞" when unbounded (benchstat's ± figure).
func (c Center) PctRange() string {
	if c.Lo == nil || c.Hi == nil {
		return "∞"
	}
	return benchmath.Summary{Center: c.Median, Lo: *c.Lo, Hi: *c.Hi}.PctRangeString()
}

// Row is one metric of one case.
type Row struct {
	Case   string        `json:"case"`
	Metric string        `json:"metric"`
	Unit   string        `json:"unit"`
	Better metric.Better `json:"better,omitempty"`
	Old    Center        `json:"old"`
	New    Center        `json:"new"`
	// Delta is new median / old median − 1; NaN-free: 0 when old is 0.
	Delta float64 `json:"delta"`
	P     float64 `json:"p"`
	// Significant: P < alpha and |Delta| ≥ the noise threshold.
	Significant bool   `json:"significant"`
	Verdict     string `json:"verdict"`
	// Note explains a "~" that is not a finding of sameness (too few
	// runs, below the noise threshold).
	Note string `json:"note,omitempty"`
}

// Report is the comparison of two results.
type Report struct {
	Old   string  `json:"old"` // labels, e.g. "phase2-latency 2026-01-21T09:00:00Z"
	New   string  `json:"new"`
	Alpha float64 `json:"alpha"`
	Noise float64 `json:"noise"`
	Rows  []Row   `json:"rows"`
	// OnlyOld/OnlyNew list cases present in one result only.
	OnlyOld []string `json:"only_old,omitempty"`
	OnlyNew []string `json:"only_new,omitempty"`
}

// Label names a result for headings: pipeline name and start time.
func Label(r *result.Result) string {
	at := r.StartedAt
	if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
		at = t.UTC().Format(time.RFC3339)
	}
	return r.Pipeline.Name + " " + at
}

// Compare compares every case both results hold (matched by ID), metric by
// metric, on the valid runs' raw values.
func Compare(old, new *result.Result, o Options) *Report {
	if o.Alpha <= 0 {
		o.Alpha = DefaultAlpha
	}
	switch {
	case o.Noise == 0:
		o.Noise = DefaultNoise
	case o.Noise < 0:
		o.Noise = 0
	}
	rep := &Report{Old: Label(old), New: Label(new), Alpha: o.Alpha, Noise: o.Noise}
	th := &benchmath.Thresholds{CompareAlpha: o.Alpha}
	ids := new.MetricIDs()
	if len(o.Metrics) > 0 {
		ids = o.Metrics
	}
	for _, oc := range old.Cases {
		if _, ok := new.Case(oc.ID); !ok {
			rep.OnlyOld = append(rep.OnlyOld, oc.ID)
		}
	}
	for i := range new.Cases {
		nc := &new.Cases[i]
		oc, ok := old.Case(nc.ID)
		if !ok {
			rep.OnlyNew = append(rep.OnlyNew, nc.ID)
			continue
		}
		for _, id := range ids {
			ov, nv := oc.RunValues(id), nc.RunValues(id)
			if len(ov) == 0 || len(nv) == 0 {
				continue
			}
			def, _ := new.Metric(id)
			rep.Rows = append(rep.Rows, compareRow(nc.ID, def, id, ov, nv, th, o.Noise))
		}
	}
	return rep
}

func center(s *benchmath.Sample) Center {
	sum := benchmath.AssumeNothing.Summary(s, 0.95)
	c := Center{N: len(s.Values), Median: sum.Center}
	if !math.IsInf(sum.Lo, 0) && !math.IsInf(sum.Hi, 0) {
		lo, hi := sum.Lo, sum.Hi
		c.Lo, c.Hi = &lo, &hi
	}
	return c
}

func compareRow(caseID string, def metric.Def, id string, ov, nv []float64, th *benchmath.Thresholds, noise float64) Row {
	os, ns := benchmath.NewSample(append([]float64(nil), ov...), th), benchmath.NewSample(append([]float64(nil), nv...), th)
	row := Row{Case: caseID, Metric: id, Unit: def.Unit, Better: def.Better, Old: center(os), New: center(ns)}
	cmp := benchmath.AssumeNothing.Compare(os, ns)
	row.P = cmp.P
	if row.Old.Median != 0 {
		row.Delta = row.New.Median/row.Old.Median - 1
	}
	row.Verdict = Same
	switch {
	case cmp.P >= cmp.Alpha:
		if len(cmp.Warnings) > 0 {
			row.Note = "too few runs: " + cmp.Warnings[0].Error()
		}
	case math.Abs(row.Delta) < noise:
		row.Note = fmt.Sprintf("significant (p=%.3f) but below the %.0f %% noise threshold", cmp.P, noise*100)
	default:
		row.Significant = true
		up := row.Delta > 0
		switch def.Better {
		case metric.Higher:
			row.Verdict = map[bool]string{true: Improvement, false: Regression}[up]
		case metric.Lower:
			row.Verdict = map[bool]string{true: Regression, false: Improvement}[up]
		default:
			row.Verdict = Changed
		}
	}
	return row
}

// Count returns how many rows have the given verdict.
func (r *Report) Count(verdict string) int {
	n := 0
	for _, row := range r.Rows {
		if row.Verdict == verdict {
			n++
		}
	}
	return n
}
