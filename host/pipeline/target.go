package pipeline

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/stats"
)

// Target expressions. The grammar, after k6's thresholds:
//
//	target    = metric "." statistic ws* op ws* number ws* unit?
//	metric    = a metric ID: built-in ("ttft_ms"; the unit suffix may be
//	            dropped: "ttft"), or a plugin's namespaced "name.metric"
//	statistic = "n" | "mean" | "std" | "cv" | "min" | "max" | "p" number
//	op        = "<" | "<=" | ">" | ">="
//	unit      = a unit convertible to the metric's: ms s us µs ns for
//	            times, tok/s, %, B KiB MiB GiB KB MB GB for sizes; "%"
//	            on cv (a fraction: 20% = 0.2)
//
// Examples: "ttft_ms.p95 < 2500ms", "decode_tps.mean > 20",
// "ttft_ms.cv < 20%", "peak_rss_mb.max <= 1.5GiB".

var targetPattern = regexp.MustCompile(`^\s*([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*?)\.(n|mean|std|cv|min|max|p[0-9]+(?:\.[0-9]+)?)\s*(<=|>=|<|>)\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*([^\s0-9.][^\s]*)?\s*$`)

// unitScale converts a value in a given unit to the metric's unit, by
// metric unit and then expression unit.
var unitScale = map[string]map[string]float64{
	"ms":    {"ms": 1, "s": 1000, "us": 1e-3, "µs": 1e-3, "ns": 1e-6},
	"tok/s": {"tok/s": 1, "tokens/s": 1, "t/s": 1},
	"req/s": {"req/s": 1, "rps": 1},
	"%":     {"%": 1},
	"MiB":   {"B": 1.0 / (1 << 20), "KiB": 1.0 / (1 << 10), "MiB": 1, "GiB": 1 << 10, "KB": 1e3 / (1 << 20), "MB": 1e6 / (1 << 20), "GB": 1e9 / (1 << 20)},
	"bytes": {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9, "bytes": 1},
}

// ParseTarget parses one target expression. Metrics are looked up in reg;
// a metric outside it is accepted when its namespace (the part before the
// first dot) is one of namespaces (declared plugins, engine sections),
// with its unit kept as written.
func ParseTarget(expr string, reg *metric.Registry, namespaces []string) (TargetSpec, error) {
	m := targetPattern.FindStringSubmatch(expr)
	if m == nil {
		return TargetSpec{}, fmt.Errorf("cannot read target %q: want metric.statistic op value[unit], e.g. \"ttft_ms.p95 < 2500ms\" or \"decode_tps.mean > 20\"", expr)
	}
	t := TargetSpec{Expr: strings.TrimSpace(expr), Metric: m[1], Stat: m[2], Op: m[3], Unit: m[5]}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return TargetSpec{}, fmt.Errorf("target %q: %q is not a number", expr, m[4])
	}
	t.Value = v
	if strings.HasPrefix(t.Stat, "p") {
		if _, err := stats.ParsePercentileName(t.Stat); err != nil {
			return TargetSpec{}, fmt.Errorf("target %q: %v", expr, err)
		}
	}
	def, ok := reg.Lookup(t.Metric)
	if !ok {
		for _, suffix := range []string{"_ms", "_tps", "_mb", "_pct"} {
			if d, found := reg.Lookup(t.Metric + suffix); found {
				def, ok = d, true
				t.Metric = d.ID
				break
			}
		}
	}
	if !ok {
		ns, _, dotted := strings.Cut(t.Metric, ".")
		for _, known := range namespaces {
			if dotted && ns == known {
				return t, nil // a plugin's or the engine's metric: unit checked when it is known
			}
		}
		return TargetSpec{}, fmt.Errorf("target %q: unknown metric %q; %s", expr, t.Metric, suggestMetric(t.Metric, reg))
	}
	switch t.Stat {
	case "n":
		if t.Unit != "" {
			return TargetSpec{}, fmt.Errorf("target %q: n counts runs and takes no unit", expr)
		}
		t.Unit = "1"
		return t, nil
	case "cv":
		switch t.Unit {
		case "":
		case "%":
			t.Value /= 100
		default:
			return TargetSpec{}, fmt.Errorf("target %q: cv is a fraction (0.2) or a percentage (20%%), not %q", expr, t.Unit)
		}
		t.Unit = "1"
		return t, nil
	}
	if t.Unit == "" || t.Unit == def.Unit {
		t.Unit = def.Unit
		return t, nil
	}
	scale, ok := unitScale[def.Unit][t.Unit]
	if !ok {
		var units []string
		for u := range unitScale[def.Unit] {
			units = append(units, u)
		}
		if len(units) == 0 {
			units = []string{def.Unit}
		}
		sort.Strings(units)
		return TargetSpec{}, fmt.Errorf("target %q: %s is in %s; write the value in %s", expr, def.ID, def.Unit, strings.Join(units, ", "))
	}
	t.Value *= scale
	t.Unit = def.Unit
	return t, nil
}

// suggestMetric names the closest built-in metric, or lists them.
func suggestMetric(id string, reg *metric.Registry) string {
	best, bestDist := "", 4
	var all []string
	for _, d := range reg.All() {
		all = append(all, d.ID)
		if dist := editDistance(id, d.ID); dist < bestDist {
			best, bestDist = d.ID, dist
		}
	}
	if best != "" {
		return "did you mean " + best + "?"
	}
	return "built-in metrics are " + strings.Join(all, ", ")
}
