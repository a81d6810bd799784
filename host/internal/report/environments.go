package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/result"
)

// writeEnvironments says where each case of a merged result ran: one row
// per machine (result.Machines), then the cases grouped by machine, each
// with its shard and how it was recorded. A result of one run gets only its
// labels, if it has any.
func writeEnvironments(w *mdWriter, r *result.Result) {
	if len(r.Environments) == 0 {
		if len(r.Labels) > 0 {
			w.f("**Labels**: %s\n\n", result.LabelString(r.Labels))
		}
		return
	}
	machines := result.Machines(r)
	w.f("## Where each case ran\n\n")
	w.f("This result merges %d shard(s) run on %d machine(s); the environment above is %s's.\n\n",
		len(r.Environments), len(machines), r.Environments[0].ID)
	envs := map[string]result.Environment{}
	for _, e := range r.Environments {
		envs[e.ID] = e
	}
	var rows [][]string
	for _, m := range machines {
		e := m.Env
		cases := 0
		for _, id := range m.Environments {
			cases += envs[id].Cases
		}
		rows = append(rows, []string{m.Name, e.CPUModel, fmt.Sprint(e.Cores), orDash(e.GPU), e.ORTVersion + " / " + orDash(e.PipeVersion),
			orDash(result.LabelString(m.Labels)), strings.Join(m.Environments, ", "), fmt.Sprint(cases)})
	}
	w.table([]string{"machine", "CPU", "cores", "GPU", "runtime / pipe", "labels", "shards", "cases"}, "llrllllr", rows)

	rows = rows[:0]
	for _, m := range machines {
		for _, c := range r.Cases {
			if !slices.Contains(m.Environments, c.Environment) {
				continue
			}
			e := envs[c.Environment]
			how := "run"
			switch {
			case e.Rebuilt:
				how = "rebuilt from its journal"
			case e.Resumed != nil:
				how = fmt.Sprintf("resumed (%d runs kept)", e.Resumed.Runs)
			}
			rows = append(rows, []string{m.Name, c.ID, e.ID, orDash(result.LabelString(e.Labels)),
				fmt.Sprintf("%.2f", c.ForeignCPU), how, e.Source})
		}
	}
	w.table([]string{"machine", "case", "shard", "labels", "foreign CPU (cores)", "recorded", "source"}, "llllrll", rows)
}
