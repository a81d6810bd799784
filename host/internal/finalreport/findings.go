package finalreport

import (
	"fmt"
	"math"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/analysis"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// findings derives the report's findings and recommendations. Each
// sentence is formatted from numbers in the analysis; where the numbers are
// absent, the sentence is not written.
func findings(m *result.Result, a *Analysis) (finds, recs []string) {
	for _, in := range a.Inputs {
		switch {
		case !in.Present:
			finds = append(finds, fmt.Sprintf("Input %s (%s) is missing: %s.", in.Role, in.Ref, strings.TrimSuffix(in.Missing, ".")))
			recs = append(recs, fmt.Sprintf("Run the %s phase (%s) and re-render this report; its sections are empty until then.", in.Role, strings.TrimPrefix(in.Ref, result.LatestPrefix)))
		case !in.Valid:
			recs = append(recs, fmt.Sprintf("Do not quote the %s figures until a rerun is valid; the broken invariant is listed under problems.", in.Role))
		}
	}
	if c := a.Comparison; c != nil {
		// A change is claimed only where the Mann–Whitney test, Holm-
		// adjusted, calls it significant (as pipe compare does); the
		// sentence names every parameter that differs.
		var parts []string
		for _, row := range c.Test.Rows {
			change := "no significant change: " + row.PN()
			if row.Note != "" {
				change = "no significant change: " + row.Note
			}
			if row.Significant {
				change = fmt.Sprintf("%s, significant: %s", Pct(row.Delta), row.PN())
			}
			parts = append(parts, fmt.Sprintf("%s %s → %s %s (%s)", metric.ShortName(row.Metric), Num(row.Old.Median), Num(row.New.Median), row.Unit, change))
		}
		varied := "the same case parameters"
		if len(c.Varied) > 0 {
			varied = "varied: " + strings.Join(c.Varied, ", ")
		}
		finds = append(finds, fmt.Sprintf("%s %s against %s %s (%s), medians: %s.",
			c.A.Role, c.A.Case, c.B.Role, c.B.Case, varied, strings.Join(parts, "; ")))
	}
	// Each phase's own findings, as host/internal/report draws them for one
	// result, so that a claim has one wording: scaling with prompt length
	// from the latency phase only (the other phases hold one prompt
	// length), the leak verdicts from the memory phase and the saturation
	// verdict from the throughput phase; targets are summarised across
	// phases below.
	scalingRole, memoryRole, throughputRole := "", "", ""
	if a.Scaling != nil {
		scalingRole = a.Scaling.Role
	}
	if a.Memory != nil {
		memoryRole = a.Memory.Role
	}
	if a.Throughput != nil {
		throughputRole = a.Throughput.Role
	}
	for _, in := range m.Inputs {
		ra := a.PerInput[in.Role]
		if ra == nil {
			continue
		}
		for _, f := range ra.Findings {
			switch f.Kind {
			case "scaling", "decode":
				if in.Role != scalingRole {
					continue
				}
			case "memory":
				if in.Role != memoryRole {
					continue
				}
			case "throughput":
				if in.Role != throughputRole {
					continue
				}
			case "invalid", "error", "load", "runs", "variance":
			default:
				continue
			}
			finds = append(finds, in.Role+": "+f.Text)
		}
	}
	// One recommendation per remedy: the cases that need it, with their
	// cause when there are few enough to read.
	type remedy struct {
		action string
		cases  []string
		causes []string
	}
	var remedies []*remedy
	byAction := map[string]*remedy{}
	for _, v := range a.Variance {
		reason, action, ok := strings.Cut(v.Cause, " — ")
		if !ok {
			continue
		}
		r := byAction[action]
		if r == nil {
			r = &remedy{action: action}
			byAction[action] = r
			remedies = append(remedies, r)
		}
		r.cases = append(r.cases, v.Role+"/"+v.Case)
		r.causes = append(r.causes, reason)
	}
	for _, r := range remedies {
		if len(r.cases) <= 2 {
			for i := range r.cases {
				recs = append(recs, fmt.Sprintf("%s: %s (%s).", r.cases[i], upperFirst(r.action), r.causes[i]))
			}
			continue
		}
		recs = append(recs, fmt.Sprintf("%s for %d cases: %s (each case's cause is in the variance table).", upperFirst(r.action), len(r.cases), strings.Join(r.cases, ", ")))
	}
	if mem := a.Memory; mem != nil {
		if mem.LoadRSSDelta > 0 {
			finds = append(finds, fmt.Sprintf("Loading the model costs %s of RSS (peak %s during the load).",
				stats.FormatBytes(float64(mem.LoadRSSDelta)), stats.FormatBytes(float64(mem.LoadPeakRSS))))
		}
		for _, lk := range mem.Leaks {
			fitted := len(lk.RSSAfter) - lk.SkipRuns
			switch {
			case lk.Verdict == analysis.Leak:
				recs = append(recs, fmt.Sprintf("Find the leak in %s: at %s/run, 10,000 requests add %s of RSS.",
					lk.Case, stats.FormatBytes(lk.Slope), stats.FormatBytes(lk.Slope*1e4)))
			case lk.Verdict == analysis.Inconclusive && lk.Reason != "":
				recs = append(recs, fmt.Sprintf("Settle the leak check of %s: %s.", lk.Case, lk.Reason))
			case lk.Verdict == analysis.Inconclusive:
				recs = append(recs, fmt.Sprintf("Settle the leak check of %s with more runs: %d fitted runs leave an interval %s wide around the %s/run threshold.",
					lk.Case, fitted, stats.FormatBytes(lk.SlopeCI[1]-lk.SlopeCI[0]), stats.FormatBytes(lk.Threshold)))
			}
		}
	}
	if t := a.Throughput; t != nil {
		base := t.Points[0]
		finds = append(finds, fmt.Sprintf("Peak throughput %s output tok/s%s at %s (batch %d × %d streams), ×%.2f the %s tok/s of %s.",
			Num(t.Best.OutputTPS), numInterval(t.Best.OutputTPSCI), t.Best.Case, t.Best.Batch, t.Best.Streams, report.Ratio(t.Best.OutputTPS, base.OutputTPS), Num(base.OutputTPS), base.Case))
		if t.Saturation != "" {
			for _, p := range t.Points {
				if p.Case != t.Saturation {
					continue
				}
				finds = append(finds, fmt.Sprintf("At the saturation point %s (concurrency %d), median E2E is ×%.2f that of %s.",
					p.Case, p.Concurrency, report.Ratio(p.E2Ep50, base.E2Ep50), base.Case))
				recs = append(recs, fmt.Sprintf("Serve at concurrency ≤ %d on this machine: beyond %s throughput gains less than %.0f %% per step and only latency grows.",
					p.Concurrency, p.Case, 100*t.Gain))
			}
		} else if t.Undecided != "" {
			recs = append(recs, "Add runs to the throughput phase: the gain past the best case is below the saturation gain, but its interval is too wide to call saturation.")
		} else if len(t.Points) > 1 {
			last := t.Points[len(t.Points)-1]
			recs = append(recs, fmt.Sprintf("Throughput still grew %s at the last step (%s): extend the batch/stream matrix to find saturation.", Pct(last.Gain), last.Case))
		}
		for _, w := range t.Warnings {
			finds = append(finds, "Throughput: "+strings.TrimSuffix(w, ".")+".")
		}
	}
	passed, failed := 0, []string{}
	for _, t := range a.Targets {
		if t.Pass {
			passed++
			continue
		}
		where := t.Case
		if t.Role != "" && !strings.HasPrefix(where, t.Role+"/") {
			where = t.Role + "/" + where
		}
		if t.Message != "" && t.Observed == 0 {
			failed = append(failed, fmt.Sprintf("%s at %s (%s)", t.Target, where, t.Message))
		} else {
			failed = append(failed, fmt.Sprintf("%s at %s (observed %s %s)", t.Target, where, Num(t.Observed), t.Unit))
		}
	}
	if len(a.Targets) > 0 {
		s := fmt.Sprintf("%d of %d targets pass", passed, len(a.Targets))
		if len(failed) > 0 {
			s += "; failing: " + strings.Join(failed, "; ")
			recs = append(recs, fmt.Sprintf("Address the %d failing target(s) before shipping, or revise them with a reason.", len(failed)))
		}
		finds = append(finds, s+".")
	}
	return finds, recs
}

// byteInterval formats a byte interval: "[231 B, 3.0 KiB]", or "none"
// where there is no interval.
func byteInterval(ci [2]float64) string {
	if ci == [2]float64{} || !isFinite(ci[0]) || !isFinite(ci[1]) {
		return "none"
	}
	return fmt.Sprintf("[%s, %s]", stats.FormatBytes(ci[0]), stats.FormatBytes(ci[1]))
}

// numInterval formats " [lo, hi]", or "" where there is no interval.
func numInterval(ci [2]float64) string {
	if ci == [2]float64{} {
		return ""
	}
	return fmt.Sprintf(" [%s, %s]", Num(ci[0]), Num(ci[1]))
}

// pctInterval formats " [+5.3 %, +9.2 %]", or "" where there is none.
func pctInterval(ci [2]float64) string {
	if ci == [2]float64{} {
		return ""
	}
	return fmt.Sprintf(" [%s, %s]", Pct(ci[0]), Pct(ci[1]))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// isFinite reports whether v is a real number.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
