package pipeline

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// Describe prints the expanded plan for `pipe run --dry-run` and `pipe
// validate`: the cases, what each stage does, the targets and the plugins,
// and how many generations the run will make at most. The output depends on
// the plan alone (no clock, no machine), so it can be compared with a
// golden file.
func (p *Plan) Describe(w io.Writer) error {
	var b strings.Builder
	mode := ""
	if p.Quick {
		mode = ", --quick"
	}
	fmt.Fprintf(&b, "pipeline  %s  (%s%s)\n", p.Name, p.File, mode)
	if p.Description != "" {
		for _, line := range wrap(p.Description, 90) {
			fmt.Fprintf(&b, "          %s\n", line)
		}
	}
	if p.ReportOnly() {
		b.WriteString("inputs    (report only: no generation)\n")
		for _, role := range p.InputOrder {
			fmt.Fprintf(&b, "  %-10s %s\n", role, p.Inputs[role])
		}
	} else {
		p.describeModel(&b)
		p.describeCases(&b)
		p.describeStages(&b)
		if f := p.Fidelity; f.Reference != "" {
			runs := fmt.Sprintf("the first %d measured run(s)", f.Runs)
			if f.Runs == 0 {
				runs = "every measured run"
			}
			fmt.Fprintf(&b, "fidelity  %s of each case against the %s build, scored teacher-forced after the timed runs\n", runs, f.Reference)
		}
	}
	fmt.Fprintf(&b, "report    %s → %s", strings.Join(p.Report.Formats, ", "), p.Report.OutDir)
	if p.Report.Baseline != "" {
		fmt.Fprintf(&b, "; baseline %s", p.Report.Baseline)
	}
	if p.Report.Title != "" {
		fmt.Fprintf(&b, "; title %q", p.Report.Title)
	}
	b.WriteString("\n")
	if len(p.Targets) == 0 {
		b.WriteString("targets   none\n")
	} else {
		fmt.Fprintf(&b, "targets   %d\n", len(p.Targets))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, t := range p.Targets {
			sel := t.Case
			if sel == "" {
				sel = "*"
			}
			fmt.Fprintf(tw, "  %s\tcases %s\t(line %d)\n", t.Target.String(), sel, t.Line)
		}
		tw.Flush()
	}
	if len(p.Plugins) == 0 {
		b.WriteString("plugins   none\n")
	} else {
		fmt.Fprintf(&b, "plugins   %d\n", len(p.Plugins))
		for _, pl := range p.Plugins {
			where := pl.Path
			if pl.FirstParty {
				where = "first-party (plugin cache)"
			}
			trust := "sandboxed"
			if pl.Trusted {
				trust = "trusted"
			}
			limit := func(set bool, v string) string {
				if !set {
					return "default"
				}
				return v
			}
			fmt.Fprintf(&b, "  %s  %s; %s; memory %s, timeout %s, output cap %s", pl.Name, where, trust,
				limit(pl.MemoryMiB > 0, fmt.Sprintf("%d MiB", pl.MemoryMiB)), limit(pl.Timeout > 0, pl.Timeout.String()),
				limit(pl.MaxOutput > 0, stats.FormatBytes(float64(pl.MaxOutput))))
			if len(pl.Config) > 0 {
				fmt.Fprintf(&b, "; config keys %s", strings.Join(slices.Sorted(maps.Keys(pl.Config)), ", "))
			}
			var grants []string
			if pl.Grant.Clock {
				grants = append(grants, "clock")
			}
			if len(pl.Grant.Env) > 0 {
				grants = append(grants, "env "+strings.Join(pl.Grant.Env, ", "))
			}
			if len(pl.Grant.Read) > 0 {
				grants = append(grants, "read "+strings.Join(pl.Grant.Read, ", "))
			}
			if len(grants) > 0 {
				fmt.Fprintf(&b, "; grants %s", strings.Join(grants, "; "))
			}
			b.WriteString("\n")
		}
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(&b, "warning   %s\n", warn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *Plan) describeModel(b *strings.Builder) {
	m := p.Model
	threads := func(n int) string {
		if n == 0 {
			return "default"
		}
		return strconv.Itoa(n)
	}
	tok := m.Tokenizer
	if tok == "" {
		tok = "none"
	}
	pos := "positions unknown"
	if m.MaxPositions > 0 {
		pos = fmt.Sprintf("%d positions", m.MaxPositions)
	}
	device := m.Device
	if m.Device != "cpu" {
		device = fmt.Sprintf("%s:%d", m.Device, m.DeviceID)
	}
	source := m.Source
	if m.Variant != "" {
		source += " (variant " + m.Variant + ")"
	}
	fmt.Fprintf(b, "model     %s (seed %d, %s); %s graph, %s on %s; threads intra-op %s, inter-op %s",
		source, m.Seed, pos, m.GraphStyle, precisionOf(m), device, threads(m.IntraOpThreads), threads(m.InterOpThreads))
	if m.Spinning {
		b.WriteString(", spinning")
	}
	fmt.Fprintf(b, "; optimization %s; tokenizer %s\n", m.OptLevel, tok)
	if m.ORTLib != "" {
		fmt.Fprintf(b, "runtime   %s\n", m.ORTLib)
	}
	if len(m.Options) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(m.Options)) {
			kv = append(kv, k+"="+m.Options[k])
		}
		fmt.Fprintf(b, "options   %s\n", strings.Join(kv, ", "))
	}
}

// precisionOf is the precision the builder is asked for: fp32 when the file
// says nothing, int8 and int4 with their block size.
func precisionOf(m ModelSpec) string {
	switch m.Precision {
	case "":
		return model.PrecisionFP32
	case model.PrecisionInt8, model.PrecisionInt4:
		return fmt.Sprintf("%s (block %d)", m.Precision, cmp.Or(m.BlockSize, model.DefaultBlockSize))
	}
	return m.Precision
}

func (p *Plan) describeCases(b *strings.Builder) {
	how := map[string]string{
		"zip":       "zip: values paired by position",
		"cartesian": "cartesian: every combination",
		"cases":     "[[case]] tables",
	}[p.MatrixMode]
	fmt.Fprintf(b, "cases     %d (%s)\n", len(p.Cases), how)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  id\tprompt\tnew\tbatch\tstreams\tthreads\n")
	for _, c := range p.Cases {
		th := "model"
		if c.Threads > 0 {
			th = strconv.Itoa(c.Threads)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%s\n", c.ID, c.PromptTokens, c.NewTokens, c.Batch, c.Streams, th)
	}
	tw.Flush()
	if len(p.Cases) > 0 {
		c := p.Cases[0]
		prompt := fmt.Sprintf("seeded random token ids (seed %d)", c.PromptSeed)
		if c.PromptFile != "" {
			prompt = "text from " + c.PromptFile + ", cut to the case's prompt length"
		}
		samp := "greedy"
		if !c.Sampling.Greedy() {
			samp = fmt.Sprintf("temperature %v, top_k %d, top_p %v, seed %d", c.Sampling.Temperature, c.Sampling.TopK, c.Sampling.TopP, c.Sampling.Seed)
		}
		fmt.Fprintf(b, "prompts   %s; sampling %s; output length forced (EOS ignored)\n", prompt, samp)
	}
}

func (p *Plan) describeStages(b *strings.Builder) {
	fmt.Fprintf(b, "warmup    %s per case, excluded from statistics\n", plural(p.Warmup.Runs, "run"))
	g := p.Generate
	if g.MaxRuns == 0 {
		fmt.Fprintf(b, "generate  %s per case", plural(g.Runs, "run"))
	} else {
		fmt.Fprintf(b, "generate  %d–%d runs per case: stop once the 95%% CI of %s's mean is within ±%s of it",
			g.MinRuns, g.MaxRuns, g.StopMetric, strconv.FormatFloat(g.StopRelCI*100, 'f', -1, 64)+"%")
		if g.MinSeconds > 0 {
			fmt.Fprintf(b, " and %vs have passed", g.MinSeconds)
		}
	}
	fmt.Fprintf(b, "; RSS sampled every %v", g.RSSInterval)
	if g.Timeout > 0 {
		fmt.Fprintf(b, "; case timeout %v", g.Timeout)
	}
	b.WriteString("\n")
	if len(p.Measure.Metrics) == 0 {
		b.WriteString("measure   every built-in metric")
	} else {
		fmt.Fprintf(b, "measure   %s", strings.Join(p.Measure.Metrics, ", "))
	}
	if len(p.Plugins) > 0 {
		b.WriteString(", plus the plugins' metrics")
	}
	b.WriteString("\n")
	var pcs []string
	for _, pc := range p.Aggregate.Percentiles {
		pcs = append(pcs, "p"+strconv.FormatFloat(pc, 'f', -1, 64))
	}
	fmt.Fprintf(b, "aggregate n, mean, std, cv, min, max, %s; outliers above robust z %v (Qn, log scale)", strings.Join(pcs, ", "), p.Aggregate.OutlierZ)
	if p.Aggregate.LeakThreshold > 0 {
		fmt.Fprintf(b, "; leak verdict above %s/run of RSS growth", stats.FormatBytes(p.Aggregate.LeakThreshold))
	}
	b.WriteString("\n")
	per := g.Runs
	if g.MaxRuns > 0 {
		per = g.MaxRuns
	}
	n := len(p.Cases)
	fmt.Fprintf(b, "total     at most %d generations: %d warmup + %d measured\n", n*(p.Warmup.Runs+per), n*p.Warmup.Runs, n*per)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// wrap splits text into lines of at most width bytes at spaces, keeping
// the text's own line breaks.
func wrap(text string, width int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			if line != "" && len(line)+1+len(word) > width {
				out = append(out, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += word
		}
		out = append(out, line)
	}
	return out
}
