package compare

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchmath"

	"github.com/pipe-bench/pipe/host/internal/fidelity"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// A fleet comparison sets the same pipeline's cases on several machines
// side by side: per case and metric, each machine's median with its 95 %
// interval and its ratio to the first machine. It takes no stand on which
// machine is "better" and runs no test: machines differ by design, so every
// difference is the finding (a regression test between two runs of one
// machine is Compare's job).

// FleetMetrics are the metrics a fleet comparison shows unless told
// otherwise (those the results measured): the fidelity ones set precisions
// side by side (pipelines/compare-precisions.toml).
var FleetMetrics = []string{metric.TTFT, metric.TPOT, metric.DecodeTPS, metric.E2E, metric.OutputTPS, metric.PeakRSS,
	fidelity.Top1Agreement, fidelity.KL, fidelity.FirstDivergence}

// Member is one machine of a fleet: a result of one run, or the cases one
// machine ran of a merged result.
type Member struct {
	Name   string            `json:"name"`   // the hostname, made unique
	Source string            `json:"source"` // the result (Label) and, for a merged one, its shards
	Env    result.Env        `json:"env"`
	Labels map[string]string `json:"labels,omitempty"`
	Cases  []string          `json:"cases"`

	res   *result.Result
	cases map[string]*result.Case
}

// Members splits a result into fleet members: a result of one run is one
// member; a merged result is one member per machine type (CPU model, cores,
// GPU and labels) among its environments — the hosts of one pool that
// shared a sweep are one member, named by the host when there is one, else
// by the labels or the CPU model.
func Members(r *result.Result) []Member {
	label := Label(r)
	if len(r.Environments) == 0 {
		m := Member{Name: r.Env.Hostname, Source: label, Env: r.Env, Labels: r.Labels, res: r, cases: map[string]*result.Case{}}
		for i := range r.Cases {
			m.add(&r.Cases[i])
		}
		return []Member{m}
	}
	var out []Member
	var hosts [][]string
	var envs [][]string
	index := map[string]int{}
	for _, e := range r.Environments {
		key := fmt.Sprint(e.Env.CPUModel, "\x00", e.Env.Cores, "\x00", e.Env.GPU, "\x00", result.LabelString(e.Labels))
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Member{Env: e.Env, Labels: e.Labels, res: r, cases: map[string]*result.Case{}})
			hosts, envs = append(hosts, nil), append(envs, nil)
		}
		if !slices.Contains(hosts[i], e.Env.Hostname) {
			hosts[i] = append(hosts[i], e.Env.Hostname)
		}
		envs[i] = append(envs[i], e.ID)
	}
	for i := range out {
		m := &out[i]
		switch {
		case len(hosts[i]) == 1:
			m.Name = hosts[i][0]
		case len(m.Labels) > 0:
			m.Name = result.LabelString(m.Labels)
		default:
			m.Name = m.Env.CPUModel
		}
		m.Source = fmt.Sprintf("%s (%s on %s)", label, strings.Join(envs[i], ", "), strings.Join(hosts[i], ", "))
		for j := range r.Cases {
			if slices.Contains(envs[i], r.Cases[j].Environment) {
				m.add(&r.Cases[j])
			}
		}
	}
	return out
}

func (m *Member) add(c *result.Case) {
	m.cases[c.ID] = c
	m.Cases = append(m.Cases, c.ID)
}

// Fleet is a fleet comparison.
type Fleet struct {
	Members []Member    `json:"members"`
	Cases   []FleetCase `json:"cases"`
}

// FleetCase is one case across the fleet.
type FleetCase struct {
	Case string     `json:"case"`
	Rows []FleetRow `json:"rows"`
}

// FleetRow is one metric of a case: one cell per member, in member order.
type FleetRow struct {
	Metric string        `json:"metric"`
	Unit   string        `json:"unit"`
	Better metric.Better `json:"better,omitempty"`
	Cells  []FleetCell   `json:"cells"`
}

// FleetCell is one member's figure: its median with the 95 % interval, and
// the median over the first member's (that holds the case); nil Center
// where the member did not run the case or measured nothing valid.
type FleetCell struct {
	Center *Center `json:"center"`
	// Ratio is the median over the reference member's; 0 when either is
	// missing or the reference is 0.
	Ratio float64 `json:"ratio,omitempty"`
}

// NewFleet sets members side by side over every case any of them ran (in
// the order they first appear) and the metrics given — FleetMetrics when
// none is. It needs two members that share a case.
func NewFleet(members []Member, metrics []string) (*Fleet, error) {
	if len(members) < 2 {
		return nil, fmt.Errorf("a fleet needs two machines or more; got %d (give several results, or a merged result of several machines)", len(members))
	}
	seen := map[string]int{}
	for i := range members {
		m := &members[i]
		if m.Name == "" {
			m.Name = "machine"
		}
		if seen[m.Name]++; seen[m.Name] > 1 {
			m.Name = fmt.Sprintf("%s#%d", m.Name, seen[m.Name])
		}
	}
	explicit := len(metrics) > 0
	if !explicit {
		metrics = FleetMetrics
	}
	f := &Fleet{Members: members}
	var ids []string
	for _, m := range members {
		for _, id := range m.Cases {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	shared := false
	for _, id := range ids {
		fc := FleetCase{Case: id}
		holders := 0
		for _, m := range members {
			if _, ok := m.cases[id]; ok {
				holders++
			}
		}
		shared = shared || holders > 1
		for _, mid := range metrics {
			row := FleetRow{Metric: mid, Cells: make([]FleetCell, len(members))}
			any := false
			ref := -1
			for i, m := range members {
				c, ok := m.cases[id]
				if !ok {
					continue
				}
				vs := c.RunValues(mid)
				if len(vs) == 0 {
					continue
				}
				if def, ok := m.res.Metric(mid); ok {
					row.Unit, row.Better = def.Unit, def.Better
				}
				ctr := center(benchmath.NewSample(append([]float64(nil), vs...), &benchmath.DefaultThresholds))
				row.Cells[i].Center = &ctr
				any = true
				if ref < 0 {
					ref = i
				}
				if r := row.Cells[ref].Center.Median; r != 0 {
					row.Cells[i].Ratio = ctr.Median / r
				}
			}
			if any {
				fc.Rows = append(fc.Rows, row)
			}
		}
		if len(fc.Rows) > 0 {
			f.Cases = append(f.Cases, fc)
		}
	}
	if !shared {
		return nil, fmt.Errorf("the machines share no case; compare results of the same pipeline")
	}
	if explicit && len(f.Cases) == 0 {
		return nil, fmt.Errorf("no machine measured %s", strings.Join(metrics, ", "))
	}
	return f, nil
}

func (c FleetCell) String() string {
	if c.Center == nil {
		return "—"
	}
	s := c.Center.String()
	if c.Ratio != 0 {
		s += " (" + stats.Format(c.Ratio) + "×)"
	}
	return s
}

// describe is a member's environment in one line: CPU, cores, GPU, labels.
func (m Member) describe() string {
	s := fmt.Sprintf("%s, %d cores", orDash(m.Env.CPUModel), m.Env.Cores)
	if m.Env.GPU != "" {
		s += ", " + m.Env.GPU
	}
	if l := result.LabelString(m.Labels); l != "" {
		s += "; " + l
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// WriteFormat renders f as "text", "md" or "json" (Formats).
func (f *Fleet) WriteFormat(w io.Writer, format string) error { return writeFormat(w, format, f) }

const fleetLegend = "median ± the 95 % interval's half-width, (×) the median over the first machine's"

// WriteText writes one aligned table per case, the machines as columns,
// each machine's environment listed first.
func (f *Fleet) WriteText(w io.Writer) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "fleet of %d machines: %s\n", len(f.Members), fleetLegend)
	for _, m := range f.Members {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.Name, m.describe(), m.Source)
	}
	for _, fc := range f.Cases {
		fmt.Fprintf(tw, "\n%s\n  metric\tunit", fc.Case)
		for _, m := range f.Members {
			fmt.Fprintf(tw, "\t%s", m.Name)
		}
		fmt.Fprintln(tw)
		for _, row := range fc.Rows {
			fmt.Fprintf(tw, "  %s\t%s", row.Metric, orDash(row.Unit))
			for _, c := range row.Cells {
				fmt.Fprintf(tw, "\t%s", c)
			}
			fmt.Fprintln(tw)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(trimLineEnds(b.Bytes()))
	return err
}

// WriteMarkdown writes the fleet under heading (e.g. "##"): the machines'
// environments, then one table per case.
func (f *Fleet) WriteMarkdown(w io.Writer, heading string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s Fleet: %d machines\n\n%s.\n\n", heading, len(f.Members), strings.ToUpper(fleetLegend[:1])+fleetLegend[1:])
	b.WriteString("| machine | CPU | cores | GPU | labels | result |\n|---|---|---:|---|---|---|\n")
	for _, m := range f.Members {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", m.Name, orDash(m.Env.CPUModel), m.Env.Cores, orDash(m.Env.GPU), orDash(result.LabelString(m.Labels)), m.Source)
	}
	for _, fc := range f.Cases {
		fmt.Fprintf(&b, "\n%s# %s\n\n| metric |", heading, fc.Case)
		for _, m := range f.Members {
			fmt.Fprintf(&b, " %s |", m.Name)
		}
		b.WriteString("\n|---|" + strings.Repeat("---:|", len(f.Members)) + "\n")
		for _, row := range fc.Rows {
			name := row.Metric
			if row.Unit != "" {
				name += " (" + row.Unit + ")"
			}
			fmt.Fprintf(&b, "| %s |", name)
			for _, c := range row.Cells {
				fmt.Fprintf(&b, " %s |", c)
			}
			b.WriteString("\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
