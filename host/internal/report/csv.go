package report

import (
	"bytes"
	"encoding/csv"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// CSV file names.
const (
	RunsCSV  = "runs.csv"
	CasesCSV = "cases.csv"
)

// renderCSV writes runs.csv (one row per measured run: case parameters, then
// every metric, full precision) and cases.csv (one row per case and metric:
// every statistic and interval). A merged result's rows also say where each
// case ran (machine and shard columns after the case's parameters), so a
// spreadsheet of a fleet can be split by machine.
func renderCSV(r *result.Result, _ Options) ([]File, error) {
	ids := r.MetricIDs()
	columns, caseFields := caseColumnsOf(r)
	runs, err := writeCSV(func(w *csv.Writer) error {
		head := append(append([]string{}, columns...), "run", "stream", "valid", "problems")
		if err := w.Write(append(head, ids...)); err != nil {
			return err
		}
		for _, c := range r.Cases {
			for _, run := range c.Runs {
				row := append(caseFields(c), strconv.Itoa(run.Index+1), strconv.Itoa(run.Stream),
					strconv.FormatBool(run.Valid), strings.Join(run.Problems, "; "))
				for _, id := range ids {
					v, ok := run.Values[id]
					row = append(row, csvNumber(v, ok))
				}
				if err := w.Write(row); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	extra := extraPercentiles(r)
	cases, err := writeCSV(func(w *csv.Writer) error {
		head := append(append([]string{}, columns...), "valid", "metric", "unit", "n")
		head = append(head, stats.Statistics...)
		head = append(head, extra...)
		head = append(head, "mean_ci_lo", "mean_ci_hi", "p50_ci_lo", "p50_ci_hi", "p95_ci_lo", "p95_ci_hi", "outliers")
		if err := w.Write(head); err != nil {
			return err
		}
		for _, c := range r.Cases {
			for _, id := range ids {
				s, ok := c.Stats[id]
				if !ok {
					continue
				}
				def, _ := r.Metric(id)
				row := append(caseFields(c), strconv.FormatBool(c.Valid), id, def.Unit, strconv.Itoa(s.N))
				for _, st := range append(append([]string{}, stats.Statistics...), extra...) {
					v, ok := s.Get(st)
					row = append(row, csvNumber(v, ok))
				}
				row = append(row, csvInterval(s.MeanCI, s.N >= 2)...)
				row = append(row, csvInterval(s.P50CI, s.P50CI != [2]float64{})...)
				row = append(row, csvInterval(s.P95CI, s.P95CI != [2]float64{})...)
				row = append(row, strconv.Itoa(s.Outliers))
				if err := w.Write(row); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []File{{Name: RunsCSV, Data: runs}, {Name: CasesCSV, Data: cases}}, nil
}

var caseColumns = []string{"case", "prompt_tokens", "new_tokens", "batch", "streams", "threads"}

// caseColumnsOf returns the leading columns of r's rows and the function
// that fills them for a case: the case's ID and parameters, and for a merged
// result its machine and shard.
func caseColumnsOf(r *result.Result) ([]string, func(result.Case) []string) {
	fields := func(c result.Case) []string {
		p := c.Params
		return []string{c.ID, strconv.Itoa(p.PromptTokens), strconv.Itoa(p.NewTokens), strconv.Itoa(p.Batch), strconv.Itoa(p.Streams), strconv.Itoa(p.Threads)}
	}
	machineOf := result.MachineOfEnvironment(r)
	if machineOf == nil {
		return caseColumns, fields
	}
	return append(slices.Clone(caseColumns), "machine", "shard"), func(c result.Case) []string {
		return append(fields(c), machineOf[c.Environment], c.Environment)
	}
}

// csvNumber is a value at full precision, or empty when absent.
func csvNumber(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// csvInterval is two cells, empty when the interval is unknown.
func csvInterval(ci [2]float64, known bool) []string {
	return []string{csvNumber(ci[0], known), csvNumber(ci[1], known)}
}

// extraPercentiles lists the percentile names beyond the fixed ones that
// any summary carries, sorted by value.
func extraPercentiles(r *result.Result) []string {
	seen := map[string]float64{}
	for _, c := range r.Cases {
		for _, s := range c.Stats {
			for name := range s.Percentiles {
				if p, err := stats.ParsePercentileName(name); err == nil && !isFixed(name) {
					seen[name] = p
				}
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return seen[names[i]] < seen[names[j]] })
	return names
}

func isFixed(stat string) bool {
	for _, s := range stats.Statistics {
		if s == stat {
			return true
		}
	}
	return false
}

func writeCSV(fill func(*csv.Writer) error) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := fill(w); err != nil {
		return nil, err
	}
	w.Flush()
	return b.Bytes(), w.Error()
}
