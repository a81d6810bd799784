// Package compare says which differences between two results are real. It
// takes benchstat's stand: runs are not normally distributed, so each side
// is summarised by its median with a distribution-free 95 % interval, and
// the change by the Hodges–Lehmann shift (the median of all pairwise
// new − old differences) with its distribution-free Moses interval. A change
// counts only when the two-sided Mann–Whitney U test on the raw runs — exact
// given the ties for small samples, the tie-corrected normal approximation
// beyond (MannWhitney) — rejects "same distribution" after Holm's step-down
// correction over every case × metric test of the comparison, and the
// medians differ by more than a noise threshold (relative, with an absolute
// floor per unit so that a change from 0 is judged too). Everything else is
// reported as "~", with the reason. The summary counts changes, not rows:
// TPOT, ITL and the decode rate of one case are one change seen three ways.
package compare

import (
	"fmt"
	"math"
	"sort"
	"time"

	"golang.org/x/perf/benchmath"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
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
	// Definitions gives the unit and direction of a metric neither result
	// defines (registry.Registry.Metrics); nil: the results' alone.
	Definitions *metric.Registry
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
	// Delta is new median / old median − 1; NaN-free: 0 when old is 0
	// (Diff then says how much).
	Delta float64 `json:"delta"`
	// Diff is new median − old median, in the unit.
	Diff float64 `json:"diff"`
	// Shift is the Hodges–Lehmann shift new − old with its 95 % interval.
	Shift Shift `json:"shift"`
	// P is the Mann–Whitney U test's two-sided p-value; PHolm the same
	// after Holm's correction over all rows of the report.
	P     float64 `json:"p"`
	PHolm float64 `json:"p_holm"`
	// Exact: P is from the exact permutation distribution given the ties
	// (n1 + n2 ≤ ExactLimit), else the normal approximation.
	Exact bool `json:"exact"`
	// Threshold is the smallest |Diff| that counts: the noise fraction of
	// the old median or the unit's absolute floor, whichever is larger.
	Threshold float64 `json:"threshold"`
	// Significant: PHolm < alpha and |Diff| ≥ Threshold.
	Significant bool   `json:"significant"`
	Verdict     string `json:"verdict"`
	// Note explains a "~" that is not a finding of sameness (too few
	// runs, not significant after Holm's correction, below the noise
	// threshold).
	Note string `json:"note,omitempty"`

	minP     float64 // the smallest p these runs could give
	allEqual bool    // every run of both sides measured the same value
}

// Report is the comparison of two results.
type Report struct {
	Old   string  `json:"old"` // labels, e.g. "phase2-latency 2026-01-21T09:00:00Z"
	New   string  `json:"new"`
	Alpha float64 `json:"alpha"`
	Noise float64 `json:"noise"`
	Rows  []Row   `json:"rows"`
	// Changes are the significant rows grouped into the changes they
	// show: one per row, except that a case's TPOT, ITL and decode rate
	// moving the same way are one change ("decode speed").
	Changes []Change `json:"changes"`
	// OnlyOld/OnlyNew list cases present in one result only.
	OnlyOld []string `json:"only_old,omitempty"`
	OnlyNew []string `json:"only_new,omitempty"`
}

// Change is one significant change of a case, seen in one or more metrics.
type Change struct {
	Case    string   `json:"case"`
	Name    string   `json:"name"` // the metric, or the quantity its metrics share ("decode speed")
	Verdict string   `json:"verdict"`
	Metrics []string `json:"metrics"`
}

// sameQuantity names the quantity several metrics measure: a case's TPOT,
// ITL and decode rate are one change seen three ways.
var sameQuantity = map[string]string{
	metric.TPOT:      "decode speed",
	metric.ITL:       "decode speed",
	metric.DecodeTPS: "decode speed",
}

// NoiseFloor is the smallest absolute change of the median that counts, by
// unit: the relative noise threshold says nothing when the old median is 0
// (or near it). 0 for units without a floor.
func NoiseFloor(unit string) float64 {
	switch unit {
	case "ms":
		return 0.1
	case "s":
		return 0.0001
	case "tok/s", "req/s":
		return 0.1
	case "MiB":
		return 1
	case "bytes":
		return 4096
	case "%":
		return 0.1 // percentage points
	}
	return 0
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
			def := definition(id, old, new, o.Definitions)
			rep.Rows = append(rep.Rows, measureRow(nc.ID, def, id, ov, nv, o.Noise))
		}
	}
	ps := make([]float64, len(rep.Rows))
	for i, row := range rep.Rows {
		ps[i] = row.P
	}
	for i, p := range Holm(ps) {
		rep.Rows[i].PHolm = p
		rep.Rows[i].judge(o.Alpha, o.Noise, len(ps))
	}
	rep.Changes = groupChanges(rep.Rows)
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

// measureRow computes one row's numbers; judge gives the verdict once the
// whole family's p-values are known.
func measureRow(caseID string, def metric.Def, id string, ov, nv []float64, noise float64) Row {
	th := &benchmath.DefaultThresholds
	os, ns := benchmath.NewSample(append([]float64(nil), ov...), th), benchmath.NewSample(append([]float64(nil), nv...), th)
	row := Row{Case: caseID, Metric: id, Unit: def.Unit, Better: def.Better, Old: center(os), New: center(ns)}
	u := MannWhitney(ov, nv)
	row.P, row.Exact, row.minP, row.allEqual = u.P, u.Exact, u.MinP, u.Distinct == 1
	row.Shift = HodgesLehmann(ov, nv)
	row.Diff = row.New.Median - row.Old.Median
	if row.Old.Median != 0 {
		row.Delta = row.New.Median/row.Old.Median - 1
	}
	if noise > 0 {
		row.Threshold = math.Max(noise*math.Abs(row.Old.Median), NoiseFloor(def.Unit))
	}
	return row
}

// judge sets the verdict from PHolm (over tests rows) and the threshold.
func (row *Row) judge(alpha, noise float64, tests int) {
	row.Verdict = Same
	switch {
	case row.allEqual: // a finding of sameness, not too few runs
	case row.minP >= alpha:
		row.Note = fmt.Sprintf("too few runs: with n=%d+%d and these ties the smallest possible p is %.3f, not below α=%g",
			row.Old.N, row.New.N, row.minP, alpha)
	case row.P >= alpha:
	case row.PHolm >= alpha:
		row.Note = fmt.Sprintf("p=%.3f, but %.3f after Holm's correction over %d tests", row.P, row.PHolm, tests)
	case math.Abs(row.Diff) < row.Threshold:
		row.Note = fmt.Sprintf("significant (%s after Holm) but below the noise threshold (%s)", pString("p", row.PHolm), row.thresholdString(noise))
	default:
		row.Significant = true
		up := row.Diff > 0
		switch row.Better {
		case metric.Higher:
			row.Verdict = map[bool]string{true: Improvement, false: Regression}[up]
		case metric.Lower:
			row.Verdict = map[bool]string{true: Regression, false: Improvement}[up]
		default:
			row.Verdict = Changed
		}
	}
}

// Holm returns Holm's step-down adjusted p-values, in the order given:
// the i-th smallest p times (m − i + 1), made monotone and capped at 1.
// Rejecting where the adjusted p is below α keeps the family-wise error
// rate at α under any dependence between the tests.
func Holm(ps []float64) []float64 {
	m := len(ps)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ps[order[a]] < ps[order[b]] })
	adj := make([]float64, m)
	running := 0.0
	for rank, i := range order {
		running = math.Max(running, math.Min(1, float64(m-rank)*ps[i]))
		adj[i] = running
	}
	return adj
}

// groupChanges turns significant rows into changes, in row order.
func groupChanges(rows []Row) []Change {
	var out []Change
	at := map[[3]string]int{}
	for _, row := range rows {
		if !row.Significant {
			continue
		}
		name := row.Metric
		if q, ok := sameQuantity[row.Metric]; ok {
			name = q
		}
		key := [3]string{row.Case, name, row.Verdict}
		if i, ok := at[key]; ok {
			out[i].Metrics = append(out[i].Metrics, row.Metric)
			continue
		}
		at[key] = len(out)
		out = append(out, Change{Case: row.Case, Name: name, Verdict: row.Verdict, Metrics: []string{row.Metric}})
	}
	return out
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

// ChangeCount returns how many changes (Changes) have the given verdict:
// what the summary and --fail-on-regression count.
func (r *Report) ChangeCount(verdict string) int {
	n := 0
	for _, c := range r.Changes {
		if c.Verdict == verdict {
			n++
		}
	}
	return n
}
