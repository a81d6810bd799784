// Command prometheus is an example pipe report plugin: a result as
// Prometheus text exposition, ready for node_exporter's textfile collector
// or a Pushgateway. Every summary statistic of every metric of every case
// becomes one sample; each target verdict another. README.md walks through
// it.
package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/pipe-bench/pipe/sdk"
)

// settings is the plugin's [[plugin]] config table.
type settings struct {
	Prefix string `json:"prefix"` // metric name prefix, default "pipe"
}

var cfg = settings{Prefix: "pipe"}

func init() {
	sdk.Register(sdk.Plugin{
		Name:        "prometheus",
		Version:     "1.0.0",
		Description: "report: Prometheus text exposition of every case statistic and target",
		Report:      &sdk.ReportFormat{Format: "prometheus", FileName: "metrics.prom", MediaType: "text/plain; version=0.0.4"},
		Configure: func(c sdk.Config) error {
			s := settings{Prefix: "pipe"}
			if err := c.Decode(&s); err != nil {
				return err
			}
			if s.Prefix == "" || strings.Trim(s.Prefix, "abcdefghijklmnopqrstuvwxyz_") != "" {
				return fmt.Errorf("prefix %q: use lowercase letters and '_'", s.Prefix)
			}
			cfg = s
			return nil
		},
		Render: render,
	})
}

func render(r *sdk.Result, w io.Writer) error {
	p := cfg.Prefix
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s_case_stat A summary statistic of a metric over a case's runs.\n# TYPE %s_case_stat gauge\n", p, p)
	units := map[string]string{}
	for _, d := range r.Metrics {
		units[d.ID] = d.Unit
	}
	for _, c := range r.Cases {
		ids := make([]string, 0, len(c.Stats))
		for id := range c.Stats {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			s := c.Stats[id]
			for _, st := range []struct {
				name string
				v    float64
			}{{"mean", s.Mean}, {"p50", s.P50}, {"p90", s.P90}, {"p95", s.P95}, {"p99", s.P99}, {"min", s.Min}, {"max", s.Max}} {
				fmt.Fprintf(&b, "%s_case_stat{pipeline=%s,case=%s,metric=%s,stat=%q,unit=%s} %s\n",
					p, label(r.Pipeline.Name), label(c.ID), label(id), st.name, label(units[id]), number(st.v))
			}
		}
	}
	fmt.Fprintf(&b, "# HELP %s_target_pass 1 when the target passed, else 0.\n# TYPE %s_target_pass gauge\n", p, p)
	for _, v := range r.Targets {
		fmt.Fprintf(&b, "%s_target_pass{pipeline=%s,target=%s,case=%s} %d\n", p, label(r.Pipeline.Name), label(v.Target), label(v.Case), boolInt(v.Pass))
	}
	fmt.Fprintf(&b, "# HELP %s_result_valid 1 when no run broke an invariant.\n# TYPE %s_result_valid gauge\n", p, p)
	fmt.Fprintf(&b, "%s_result_valid{pipeline=%s} %d\n", p, label(r.Pipeline.Name), boolInt(r.Valid))
	_, err := io.WriteString(w, b.String())
	return err
}

// label quotes a label value the way the exposition format wants:
// backslash, double quote and newline escaped.
func label(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func number(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return fmt.Sprint(v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func main() {}
