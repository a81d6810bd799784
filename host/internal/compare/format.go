package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pipe-bench/pipe/host/internal/stats"
)

// Formats lists the renderings WriteFormat knows.
var Formats = []string{"text", "md", "json"}

// WriteFormat renders r as "text" (benchstat-style tables), "md" or "json".
func (r *Report) WriteFormat(w io.Writer, format string) error { return writeFormat(w, format, r) }

// tables is what WriteFormat renders: a Report or a Fleet.
type tables interface {
	WriteText(w io.Writer) error
	WriteMarkdown(w io.Writer, heading string) error
}

// writeFormat renders t in one of Formats, JSON as t's own encoding.
func writeFormat(w io.Writer, format string, t tables) error {
	switch format {
	case "text", "":
		return t.WriteText(w)
	case "md", "markdown":
		return t.WriteMarkdown(w, "##")
	case "json":
		data, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		_, err = w.Write(append(data, '\n'))
		return err
	}
	return fmt.Errorf("compare: unknown format %q; want one of %s", format, strings.Join(Formats, ", "))
}

func (c Center) String() string {
	return stats.Format(c.Median) + " ± " + c.PctRange()
}

// DeltaString is benchstat's delta column: "~" when not significant, else
// the signed percentage change of the medians, or the absolute change with
// its unit when the old median is 0.
func (row Row) DeltaString() string {
	if !row.Significant {
		return "~"
	}
	if row.Old.Median == 0 {
		return signed(row.Diff) + " " + row.Unit
	}
	return fmt.Sprintf("%+.2f%%", row.Delta*100)
}

// signed formats v with stats.Format and an explicit sign.
func signed(v float64) string {
	if v > 0 {
		return "+" + stats.Format(v)
	}
	return stats.Format(v)
}

// String is the Hodges–Lehmann shift with its interval: "-6.20 [-6.50, -5.90]",
// "[-∞, ∞]" when the samples are too small to bound it.
func (s Shift) String() string {
	if s.Lo == nil || s.Hi == nil {
		return signed(s.Estimate) + " [-∞, ∞]"
	}
	return fmt.Sprintf("%s [%s, %s]", signed(s.Estimate), signed(*s.Lo), signed(*s.Hi))
}

// PN is the p-value, Holm's adjusted p-value and the sample sizes:
// "p<0.001 holm<0.001 n=8" or "p=0.872 holm=1.000 n=8+7".
func (row Row) PN() string {
	n := fmt.Sprintf("n=%d", row.Old.N)
	if row.Old.N != row.New.N {
		n = fmt.Sprintf("n=%d+%d", row.Old.N, row.New.N)
	}
	return pString("p", row.P) + " " + pString("holm", row.PHolm) + " " + n
}

func pString(name string, p float64) string {
	if p < 0.001 {
		return name + "<0.001"
	}
	return fmt.Sprintf("%s=%.3f", name, p)
}

// thresholdString says what the noise threshold is: "2 % of the old
// median: 1.37 ms" or "the floor for ms: 0.1 ms".
func (row Row) thresholdString(noise float64) string {
	unit := ""
	if row.Unit != "1" && row.Unit != "" {
		unit = " " + row.Unit
	}
	if f := NoiseFloor(row.Unit); f > 0 && row.Threshold == f {
		return "the floor for " + row.Unit + ": " + stats.FormatExact(f) + unit
	}
	return fmt.Sprintf("%g %% of the old median: %s%s", noise*100, stats.Format(row.Threshold), unit)
}

func (r *Report) legend() string {
	noise := "no noise threshold"
	if r.Noise > 0 {
		noise = fmt.Sprintf("noise threshold %g %% of the old median or the unit's absolute floor, the larger", r.Noise*100)
	}
	return fmt.Sprintf("medians ± 95 %% CI; shift = Hodges-Lehmann new − old [95 %% CI]; %s; ~ = no significant change\n"+
		"two-sided Mann-Whitney U, exact given the ties up to %d runs in all; p Holm-adjusted over %d tests at α=%g",
		noise, ExactLimit, len(r.Rows), r.Alpha)
}

// byMetric groups rows by metric, in first-seen order.
func (r *Report) byMetric() ([]string, map[string][]Row) {
	var order []string
	groups := map[string][]Row{}
	for _, row := range r.Rows {
		if _, ok := groups[row.Metric]; !ok {
			order = append(order, row.Metric)
		}
		groups[row.Metric] = append(groups[row.Metric], row)
	}
	return order, groups
}

// WriteText writes benchstat-style tables, one per metric.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old: %s\nnew: %s\n%s\n", r.Old, r.New, r.legend())
	order, groups := r.byMetric()
	for _, id := range order {
		rows := groups[id]
		fmt.Fprintf(&b, "\n%s (%s", id, rows[0].Unit)
		if rows[0].Better != "" {
			fmt.Fprintf(&b, ", %s is better", rows[0].Better)
		}
		b.WriteString(")\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "case\told\tnew\tdelta\tshift [95 % CI]\t\t")
		for _, row := range rows {
			verdict := row.Verdict
			if row.Verdict == Same {
				verdict = row.Note
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t(%s)\t%s\n", row.Case, row.Old, row.New, row.DeltaString(), row.Shift, row.PN(), verdict)
		}
		tw.Flush()
	}
	r.writeOnly(&b, "")
	fmt.Fprintf(&b, "\n%s\n", r.Summary())
	_, err := w.Write(trimLineEnds(b.Bytes()))
	return err
}

// trimLineEnds drops the spaces tabwriter leaves before newlines.
func trimLineEnds(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i := range lines {
		lines[i] = bytes.TrimRight(lines[i], " ")
	}
	return bytes.Join(lines, []byte("\n"))
}

func (r *Report) writeOnly(b *bytes.Buffer, bullet string) {
	if len(r.OnlyOld) > 0 {
		fmt.Fprintf(b, "\n%sonly in old: %s\n", bullet, strings.Join(r.OnlyOld, ", "))
	}
	if len(r.OnlyNew) > 0 {
		if bullet == "" || len(r.OnlyOld) == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%sonly in new: %s\n", bullet, strings.Join(r.OnlyNew, ", "))
	}
}

// Summary is one line: how many changes improved, regressed or changed
// (a case's TPOT, ITL and decode rate moving together count once), each
// named, and how many rows held.
func (r *Report) Summary() string {
	return fmt.Sprintf("%s, %s, %s; %d of %d case·metric tests without significant change",
		r.Describe(Improvement), r.Describe(Regression), r.Describe(Changed), r.Count(Same), len(r.Rows))
}

// Describe counts and names the changes with one verdict: "2 regressions
// (ttft_ms at p128; decode speed at p128: tpot_ms, itl_ms, decode_tps)".
func (r *Report) Describe(verdict string) string {
	var named []string
	for _, c := range r.Changes {
		if c.Verdict != verdict {
			continue
		}
		s := c.Name + " at " + c.Case
		if len(c.Metrics) > 1 || c.Metrics[0] != c.Name {
			s += ": " + strings.Join(c.Metrics, ", ")
		}
		named = append(named, s)
	}
	words := map[string][2]string{ // one, many
		Improvement: {"improvement", "improvements"},
		Regression:  {"regression", "regressions"},
		Changed:     {"change without a direction", "changes without a direction"},
	}[verdict]
	word := words[1]
	if len(named) == 1 {
		word = words[0]
	}
	out := fmt.Sprintf("%d %s", len(named), word)
	if len(named) > 0 {
		const show = 6
		if len(named) > show {
			named = append(named[:show], fmt.Sprintf("and %d more", len(named)-show))
		}
		out += " (" + strings.Join(named, "; ") + ")"
	}
	return out
}

// WriteMarkdown writes one table of every row under a heading of the
// given level ("##").
func (r *Report) WriteMarkdown(w io.Writer, heading string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s Comparison with baseline\n\n", heading)
	fmt.Fprintf(&b, "Old: %s · New: %s  \n%s.\n\n", r.Old, r.New, strings.ReplaceAll(r.legend(), "\n", ";  \n"))
	b.WriteString("| Case | Metric | Old | New | Δ | Shift [95 % CI] | p, Holm, n | Verdict |\n|---|---|---:|---:|---:|---:|---|---|\n")
	for _, row := range r.Rows {
		verdict := row.Verdict
		switch {
		case row.Verdict == Improvement:
			verdict = "✅ improvement"
		case row.Verdict == Regression:
			verdict = "⚠️ regression"
		case row.Verdict == Same && row.Note != "":
			verdict = "~ " + row.Note
		}
		fmt.Fprintf(&b, "| %s | %s (%s) | %s | %s | %s | %s | %s | %s |\n", row.Case, row.Metric, row.Unit, row.Old, row.New, row.DeltaString(), row.Shift, row.PN(), verdict)
	}
	r.writeOnly(&b, "- ")
	fmt.Fprintf(&b, "\n%s.\n", r.Summary())
	_, err := w.Write(b.Bytes())
	return err
}
