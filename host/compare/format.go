package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pipe-bench/pipe/host/stats"
)

// Formats lists the renderings WriteFormat knows.
var Formats = []string{"text", "md", "json"}

// WriteFormat renders r as "text" (benchstat-style tables), "md" or "json".
func (r *Report) WriteFormat(w io.Writer, format string) error {
	switch format {
	case "text", "":
		return r.WriteText(w)
	case "md", "markdown":
		return r.WriteMarkdown(w, "##")
	case "json":
		data, err := json.MarshalIndent(r, "", "  ")
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
// the signed percentage change of the medians.
func (row Row) DeltaString() string {
	if !row.Significant {
		return "~"
	}
	return fmt.Sprintf("%+.2f%%", row.Delta*100)
}

// PN is the p-value and sample sizes: "p<0.001 n=8" or "p=0.872 n=8+7".
func (row Row) PN() string {
	n := fmt.Sprintf("n=%d", row.Old.N)
	if row.Old.N != row.New.N {
		n = fmt.Sprintf("n=%d+%d", row.Old.N, row.New.N)
	}
	if row.P < 0.001 {
		return "p<0.001 " + n
	}
	return fmt.Sprintf("p=%.3f %s", row.P, n)
}

func (r *Report) legend() string {
	return fmt.Sprintf("medians ± 95 %% CI; Mann-Whitney U at α=%g, noise threshold %g %%; ~ = no significant change", r.Alpha, r.Noise*100)
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
		fmt.Fprintln(tw, "case\told\tnew\tdelta\t\t")
		for _, row := range rows {
			verdict := row.Verdict
			if row.Verdict == Same {
				verdict = row.Note
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t(%s)\t%s\n", row.Case, row.Old, row.New, row.DeltaString(), row.PN(), verdict)
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

// Summary is one line: how many rows improved, regressed or held.
func (r *Report) Summary() string {
	return fmt.Sprintf("%d improvement(s), %d regression(s), %d changed, %d without significant change, over %d case·metric pairs",
		r.Count(Improvement), r.Count(Regression), r.Count(Changed), r.Count(Same), len(r.Rows))
}

// WriteMarkdown writes one table of every row under a heading of the
// given level ("##").
func (r *Report) WriteMarkdown(w io.Writer, heading string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s Comparison with baseline\n\n", heading)
	fmt.Fprintf(&b, "Old: %s · New: %s  \n%s.\n\n", r.Old, r.New, r.legend())
	b.WriteString("| Case | Metric | Old | New | Δ | p, n | Verdict |\n|---|---|---:|---:|---:|---|---|\n")
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
		fmt.Fprintf(&b, "| %s | %s (%s) | %s | %s | %s | %s | %s |\n", row.Case, row.Metric, row.Unit, row.Old, row.New, row.DeltaString(), row.PN(), verdict)
	}
	r.writeOnly(&b, "- ")
	fmt.Fprintf(&b, "\n%s.\n", r.Summary())
	_, err := w.Write(b.Bytes())
	return err
}
