package finalreport

import (
	"fmt"
	"math"
	"strings"

	"github.com/pipe-bench/pipe/host/result"
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
			finds = append(finds, fmt.Sprintf("The %s result (%s) is invalid: %s.", in.Role, in.Pipeline, firstProblem(m, in.Role)))
			recs = append(recs, fmt.Sprintf("Do not quote the %s figures until a rerun is valid; the broken invariant is listed under problems.", in.Role))
		}
	}
	if c := a.Comparison; c != nil {
		var parts []string
		for _, row := range c.Rows {
			overlap := "95 % intervals overlap"
			if !row.Overlaps {
				overlap = "intervals disjoint"
			}
			parts = append(parts, fmt.Sprintf("%s %s → %s %s (%s, %s)", row.Metric, Num(row.A.Mean), Num(row.B.Mean), row.Unit, Pct(row.Change), overlap))
		}
		finds = append(finds, fmt.Sprintf("%s %s (%d→%d tokens) against %s %s (%d→%d tokens, ×%.2f prompt): %s.",
			c.A.Role, c.A.Case, c.A.Prompt, c.A.NewTok, c.B.Role, c.B.Case, c.B.Prompt, c.B.NewTok,
			safeRatio(float64(c.B.Prompt), float64(c.A.Prompt)), strings.Join(parts, "; ")))
	}
	if s := a.Scaling; s != nil && len(s.Rows) >= 2 {
		first, last := s.Rows[0], s.Rows[len(s.Rows)-1]
		shape := "linearly"
		switch {
		case s.TTFTExponent < 0.9:
			shape = "sub-linearly"
		case s.TTFTExponent > 1.1:
			shape = "super-linearly"
		}
		finds = append(finds, fmt.Sprintf("TTFT grows %s with prompt length: ×%.2f tokens (%d→%d) → ×%.2f time (%s → %s ms); log-log slope %.2f.",
			shape, last.TokenFactor, first.Prompt, last.Prompt, last.TTFTFactor, Num(first.TTFT), Num(last.TTFT), s.TTFTExponent))
		if first.Decode > 0 && last.Decode > 0 {
			finds = append(finds, fmt.Sprintf("Decode rate changes %s from %d to %d prompt tokens (%s → %s tok/s): each step attends over a longer context.",
				Pct(last.DecodeChange), first.Prompt, last.Prompt, Num(first.Decode), Num(last.Decode)))
		}
	}
	noisy := 0
	var calmest *VarianceRow
	for i := range a.Variance {
		v := &a.Variance[i]
		if v.MaxCVMetric == "" {
			continue
		}
		if v.MaxCV <= HighCV {
			if calmest == nil || v.MaxCV > calmest.MaxCV {
				calmest = v
			}
			continue
		}
		noisy++
		if v.ForeignCPU >= BusyCores {
			finds = append(finds, fmt.Sprintf("CV %.0f %% on %s at %s/%s: foreign CPU load %.2f cores during the case.",
				100*v.MaxCV, ShortName(v.MaxCVMetric), v.Role, v.Case, v.ForeignCPU))
			recs = append(recs, fmt.Sprintf("Rerun %s/%s on an idle machine: other processes used %.2f cores while it ran.", v.Role, v.Case, v.ForeignCPU))
		} else {
			finds = append(finds, fmt.Sprintf("CV %.0f %% on %s at %s/%s with the machine otherwise idle (foreign CPU %.2f cores), %d outlier run(s): the spread is the engine's own.",
				100*v.MaxCV, ShortName(v.MaxCVMetric), v.Role, v.Case, v.ForeignCPU, v.Outliers))
			recs = append(recs, fmt.Sprintf("Raise the run count of %s/%s beyond %d, or report its median rather than its mean.", v.Role, v.Case, v.Runs))
		}
	}
	if noisy == 0 && calmest != nil {
		finds = append(finds, fmt.Sprintf("Every case's coefficient of variation is at most %.0f %% (largest: %.1f %% on %s at %s/%s).",
			100*HighCV, 100*calmest.MaxCV, ShortName(calmest.MaxCVMetric), calmest.Role, calmest.Case))
	}
	if mem := a.Memory; mem != nil {
		if mem.LoadRSSDelta > 0 {
			finds = append(finds, fmt.Sprintf("Loading the model costs %s of RSS (peak %s during the load).",
				Bytes(float64(mem.LoadRSSDelta)), Bytes(float64(mem.LoadPeakRSS))))
		}
		for _, lk := range mem.Leaks {
			fitted := len(lk.RSSAfter) - lk.SkipRuns
			finds = append(finds, fmt.Sprintf("Leak check %s/%s: %s — RSS slope %s/run, 95 %% CI [%s, %s] over %d runs, threshold %s/run.",
				mem.Role, lk.Case, lk.Verdict, Bytes(lk.Slope), Bytes(lk.SlopeCI[0]), Bytes(lk.SlopeCI[1]), fitted, Bytes(lk.Threshold)))
			switch lk.Verdict {
			case "leak":
				recs = append(recs, fmt.Sprintf("Find the leak in %s: at %s/run, 10,000 requests add %s of RSS.",
					lk.Case, Bytes(lk.Slope), Bytes(lk.Slope*1e4)))
			case "inconclusive":
				recs = append(recs, fmt.Sprintf("Settle the leak check of %s with more runs: %d fitted runs leave an interval %s wide around the %s/run threshold.",
					lk.Case, fitted, Bytes(lk.SlopeCI[1]-lk.SlopeCI[0]), Bytes(lk.Threshold)))
			}
		}
	}
	if t := a.Throughput; t != nil {
		base := t.Points[0]
		finds = append(finds, fmt.Sprintf("Peak throughput %s output tok/s at %s (batch %d × %d streams), ×%.2f the %s tok/s of %s.",
			Num(t.Best.OutputTPS), t.Best.Case, t.Best.Batch, t.Best.Streams, safeRatio(t.Best.OutputTPS, base.OutputTPS), Num(base.OutputTPS), base.Case))
		if t.Saturation != "" {
			for _, p := range t.Points {
				if p.Case != t.Saturation {
					continue
				}
				finds = append(finds, fmt.Sprintf("Throughput saturates after %s (concurrency %d): the next step gains less than %.0f %%, while median E2E there is ×%.2f that of %s.",
					p.Case, p.Concurrency, 100*t.Gain, safeRatio(p.E2Ep50, base.E2Ep50), base.Case))
				recs = append(recs, fmt.Sprintf("Serve at concurrency ≤ %d on this machine: beyond %s throughput gains less than %.0f %% per step and only latency grows.",
					p.Concurrency, p.Case, 100*t.Gain))
			}
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

func firstProblem(m *result.Result, role string) string {
	for _, p := range m.Problems {
		if rest, ok := strings.CutPrefix(p, role+": "); ok {
			return rest
		}
	}
	return "a run broke an invariant"
}

// isFinite reports whether v is a real number.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
