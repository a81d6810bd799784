// Package target parses and evaluates target expressions such as
// "ttft_ms.p95 < 2500ms" or "decode_tps.mean >= 20tok/s". It takes a stand
// on strictness: an expression that cannot be checked (a time unit on a
// memory metric, a statistic that does not exist) is refused when the
// pipeline is validated, and a target whose metric was not measured fails
// with a message at evaluation rather than passing silently.
//
// Grammar:
//
//	METRIC.STAT OP VALUE[UNIT]
//	STAT  = mean | std | cv | min | max | p50 | p90 | p95 | p99 | pNN (any percentile computed)
//	OP    = < | <= | > | >= | == | !=
//	UNIT  = ns | us | µs | ms | s            (time; metrics in ms or s)
//	      | B | KiB | MiB | GiB               (memory; metrics in MiB or bytes)
//	      | tok/s | req/s                     (rates)
//	      | %                                 (percent metrics, and cv)
//
// A value without a unit is in the metric's own unit. The coefficient of
// variation is judged as a percentage ("ttft_ms.cv < 20%") or, bare, as a
// fraction ("ttft_ms.cv < 0.2"); a bare cv above 1 is refused as ambiguous
// ("cv < 5" would read as 500 %). A percentile is written with digits only
// and lies strictly between 0 and 100 (p0 and p100 are min and max); "p95.0"
// is normalised to "p95".
//
// A spread or tail statistic is judged only on enough valid runs (MinRuns):
// std and cv on at least 5, pNN on at least ⌈1/(1 − NN/100)⌉ (p95: 20, p99:
// 100) or, below the median, ⌈100/NN⌉, so that at least one run is expected
// beyond the percentile. On fewer runs the verdict fails as "insufficient
// runs" instead of passing on a statistic that is only the extreme run.
package target

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/sdk/schema"
)

// Target is one parsed target expression.
type Target struct {
	Expr      string  // as written
	Metric    string  // e.g. "ttft_ms"
	Statistic string  // e.g. "p95"
	Op        string  // one of Ops
	Value     float64 // as written
	Unit      string  // as written, "" when none
	// Case selects the cases judged: a case ID or a glob (path.Match);
	// "" or "*" judges every case, one verdict each.
	Case string
}

// Ops lists the comparison operators.
var Ops = []string{"<=", ">=", "==", "!=", "<", ">"}

// dimension groups units that convert into each other.
type dimension string

const (
	dimTime    dimension = "time"
	dimMemory  dimension = "memory"
	dimTokRate dimension = "token rate"
	dimReqRate dimension = "request rate"
	dimPercent dimension = "percent"
)

type unitInfo struct {
	dim    dimension
	factor float64 // in the dimension's base unit: ms, bytes, 1/s, %
}

var units = map[string]unitInfo{
	"ns": {dimTime, 1e-6}, "us": {dimTime, 1e-3}, "µs": {dimTime, 1e-3}, "ms": {dimTime, 1}, "s": {dimTime, 1000},
	"B": {dimMemory, 1}, "bytes": {dimMemory, 1}, "KiB": {dimMemory, 1 << 10}, "MiB": {dimMemory, 1 << 20}, "GiB": {dimMemory, 1 << 30},
	"tok/s": {dimTokRate, 1}, "req/s": {dimReqRate, 1},
	"%": {dimPercent, 1},
}

// unitsOf lists the units of a dimension for messages.
func unitsOf(d dimension) string {
	switch d {
	case dimTime:
		return "ns, us, ms, s"
	case dimMemory:
		return "B, KiB, MiB, GiB"
	case dimTokRate:
		return "tok/s"
	case dimReqRate:
		return "req/s"
	case dimPercent:
		return "%"
	}
	return "none"
}

// Parse parses a target expression. Errors are one line naming the
// column (1-based) of the problem and what to write instead.
func Parse(expr string) (Target, error) {
	t := Target{Expr: strings.TrimSpace(expr)}
	fail := func(col int, format string, args ...any) (Target, error) {
		return Target{}, fmt.Errorf("target %q: column %d: %s", expr, col, fmt.Sprintf(format, args...))
	}
	// Find the operator: the first '<', '>', '=' or '!'.
	opAt := strings.IndexAny(expr, "<>=!")
	if opAt < 0 {
		return fail(len(expr)+1, "no comparison; want METRIC.STAT OP VALUE, e.g. ttft_ms.p95 < 2500ms")
	}
	for _, op := range Ops {
		if strings.HasPrefix(expr[opAt:], op) {
			t.Op = op
			break
		}
	}
	if t.Op == "" {
		return fail(opAt+1, "%q is not an operator; want one of < <= > >= == !=", expr[opAt:opAt+1])
	}
	left := expr[:opAt]
	leftStart := len(left) - len(strings.TrimLeft(left, " \t"))
	left = strings.TrimSpace(left)
	if left == "" {
		return fail(1, "missing METRIC.STAT before %q", t.Op)
	}
	dot := strings.LastIndexByte(left, '.')
	// "p99.9": a digits-only last segment belongs to a percentile (metric
	// ID segments start with a letter).
	if dot > 0 && strings.Trim(left[dot+1:], "0123456789") == "" {
		if prev := strings.LastIndexByte(left[:dot], '.'); prev >= 0 && strings.HasPrefix(left[prev+1:], "p") {
			dot = prev
		}
	}
	if dot < 0 {
		if err := metric.ValidateID(left); err != nil {
			return fail(leftStart+1, "%v", err)
		}
		return fail(leftStart+1, "%q lacks a statistic; write e.g. %s.p95 or %s.mean", left, left, left)
	}
	t.Metric, t.Statistic = left[:dot], left[dot+1:]
	if err := metric.ValidateID(t.Metric); err != nil {
		return fail(leftStart+1, "%v", err)
	}
	stat, err := canonicalStatistic(t.Statistic)
	if err != nil {
		return fail(leftStart+dot+2, "%v", err)
	}
	t.Statistic = stat
	rightAt := opAt + len(t.Op)
	right := expr[rightAt:]
	valAt := rightAt + len(right) - len(strings.TrimLeft(right, " \t"))
	right = strings.TrimSpace(right)
	if right == "" {
		return fail(valAt+1, "missing value after %q", t.Op)
	}
	numEnd := 0
	for numEnd < len(right) && (unicode.IsDigit(rune(right[numEnd])) || strings.ContainsRune(".+-eE_", rune(right[numEnd]))) {
		// Stop an exponent-looking 'e' that is not followed by a digit or sign.
		if c := right[numEnd]; (c == 'e' || c == 'E') && (numEnd+1 >= len(right) || !strings.ContainsRune("0123456789+-", rune(right[numEnd+1]))) {
			break
		}
		numEnd++
	}
	v, err := strconv.ParseFloat(right[:numEnd], 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fail(valAt+1, "%q is not a number; want e.g. 2500ms or 20tok/s", right)
	}
	t.Value = v
	t.Unit = strings.TrimSpace(right[numEnd:])
	unitAt := valAt + len(right) - len(strings.TrimLeft(right[numEnd:], " \t")) + 1
	if t.Unit != "" {
		if _, ok := units[t.Unit]; !ok {
			return fail(unitAt, "unknown unit %q; want one of ns us ms s, B KiB MiB GiB, tok/s req/s, %%", t.Unit)
		}
	}
	// Check the unit against what is known now: the statistic, and a
	// built-in metric's unit. Plugin metrics are checked at evaluation.
	if d, ok := schema.BuiltinMetric(t.Metric); ok {
		if _, err := t.threshold(d.Unit); err != nil {
			return fail(unitAt, "%v", err)
		}
	} else if t.Statistic == "cv" {
		if _, err := t.threshold(""); err != nil {
			return fail(unitAt, "%v", err)
		}
	}
	return t, nil
}

// MustParse is Parse for expressions known to be valid; it panics otherwise.
func MustParse(expr string) Target {
	t, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return t
}

// canonicalStatistic checks a statistic name and returns its normal form:
// a fixed statistic as is, a percentile as stats.PercentileName writes it
// ("p95.0" → "p95"). Percentiles take digits and one decimal point only (no
// sign, exponent, NaN or Inf) and lie strictly within (0, 100).
func canonicalStatistic(s string) (string, error) {
	if slices.Contains(stats.Statistics, s) {
		return s, nil
	}
	num, ok := strings.CutPrefix(s, "p")
	if !ok {
		return "", fmt.Errorf("unknown statistic %q; want one of %s, or pNN", s, strings.Join(stats.Statistics, ", "))
	}
	if num == "" || strings.Trim(num, "0123456789.") != "" || strings.Count(num, ".") > 1 || num[0] == '.' || num[len(num)-1] == '.' {
		return "", fmt.Errorf("percentile %q: want p followed by digits, e.g. p95 or p99.9", s)
	}
	p, err := stats.ParsePercentileName(s)
	switch {
	case err != nil:
		return "", err
	case p == 0:
		return "", fmt.Errorf("percentile %q is the minimum: write min", s)
	case p == 100:
		return "", fmt.Errorf("percentile %q is the maximum: write max", s)
	}
	return stats.PercentileName(p), nil
}

// MinSpreadRuns is the fewest valid runs a std or cv target is judged on:
// with 5 runs the 95 % interval of σ spans 0.60σ–2.87σ, with 2 runs
// 0.45σ–32σ.
const MinSpreadRuns = 5

// MinRuns is the fewest valid runs on which statistic stat (in normal
// form) is judged: 1 for mean, min and max; MinSpreadRuns for std and cv;
// for a percentile pNN, enough runs that at least one is expected beyond
// it, ⌈1/(1 − NN/100)⌉ above the median (p90: 10, p95: 20, p99: 100) and
// ⌈100/NN⌉ below it.
func MinRuns(stat string) int {
	switch stat {
	case "std", "cv":
		return MinSpreadRuns
	}
	p, err := stats.ParsePercentileName(stat)
	if !strings.HasPrefix(stat, "p") || err != nil || !(p > 0 && p < 100) {
		return 1
	}
	tail := math.Min(p, 100-p) / 100
	// The epsilon keeps 1/0.05 = 20.000000000000004 at 20.
	return int(math.Ceil(1/tail - 1e-9))
}

// threshold converts the target's value into the unit the statistic is
// reported in: the metric's unit, or percent for cv.
func (t Target) threshold(metricUnit string) (float64, error) {
	if t.Statistic == "cv" {
		switch {
		case t.Unit == "%":
			return t.Value, nil
		case t.Unit != "":
			return 0, fmt.Errorf("cv is a ratio: write it as a percentage (20%%) or a fraction (0.2), not in %s", t.Unit)
		case math.Abs(t.Value) > 1:
			return 0, fmt.Errorf("a bare cv is a fraction, so %v reads as %v %%; write %v%% for %v percent, or %v as a fraction",
				t.Value, t.Value*100, t.Value, t.Value, t.Value/100)
		}
		return t.Value * 100, nil
	}
	if t.Unit == "" || t.Unit == metricUnit {
		return t.Value, nil
	}
	want, known := units[metricUnit]
	got := units[t.Unit]
	if !known {
		return 0, fmt.Errorf("%s is measured in %q, which converts from no unit; drop %q", t.Metric, metricUnit, t.Unit)
	}
	if got.dim != want.dim {
		return 0, fmt.Errorf("%s is a %s in %s; %q is a %s unit (use %s)", t.Metric, want.dim, metricUnit, t.Unit, got.dim, unitsOf(want.dim))
	}
	return t.Value * got.factor / want.factor, nil
}

// String is the expression, normalised.
func (t Target) String() string {
	return fmt.Sprintf("%s.%s %s %s%s", t.Metric, t.Statistic, t.Op, strconv.FormatFloat(t.Value, 'f', -1, 64), t.Unit)
}

// compare applies op.
func compare(observed float64, op string, threshold float64) bool {
	switch op {
	case "<":
		return observed < threshold
	case "<=":
		return observed <= threshold
	case ">":
		return observed > threshold
	case ">=":
		return observed >= threshold
	case "==":
		return observed == threshold
	case "!=":
		return observed != threshold
	}
	return false
}

// Evaluate judges t against every case it selects, one verdict per case.
// What cannot be judged (no case matches, the metric or statistic is
// missing, units disagree) is a failed verdict with a message.
func Evaluate(t Target, r *result.Result) []result.Verdict {
	base := result.Verdict{Target: t.Expr, Case: t.Case, Metric: t.Metric, Statistic: t.Statistic, Op: t.Op, Source: "builtin"}
	failed := func(v result.Verdict, format string, args ...any) result.Verdict {
		v.Pass = false
		v.Message = fmt.Sprintf(format, args...)
		return v
	}
	// A Target built by hand meets the same statistic rules as a parsed one.
	stat, err := canonicalStatistic(t.Statistic)
	if err != nil {
		return []result.Verdict{failed(base, "%v", err)}
	}
	t.Statistic, base.Statistic = stat, stat
	def, known := r.Metric(t.Metric)
	unit := def.Unit
	if t.Statistic == "cv" {
		unit = "%"
	}
	base.Unit = unit
	threshold, err := t.threshold(def.Unit)
	if !known && t.Statistic != "cv" {
		err = nil // no unit to convert into: judge the value as written
		threshold, base.Unit = t.Value, t.Unit
	}
	base.Threshold = threshold
	if err != nil {
		return []result.Verdict{failed(base, "%v", err)}
	}
	if !known && !measured(r, t.Metric) {
		return []result.Verdict{failed(base, "metric %s is not in this result (it has %s); check the name or configure its plugin",
			t.Metric, strings.Join(r.MetricIDs(), ", "))}
	}
	if err := CheckSelector(t.Case); err != nil {
		return []result.Verdict{failed(base, "%v", err)}
	}
	var out []result.Verdict
	for i := range r.Cases {
		c := &r.Cases[i]
		if !Selects(t.Case, c.ID) {
			continue
		}
		v := base
		v.Case = c.ID
		observed, msg := observe(t, c)
		v.Observed = observed
		if msg != "" {
			out = append(out, failed(v, "%s", msg))
			continue
		}
		v.Pass = compare(observed, t.Op, threshold)
		out = append(out, v)
	}
	if len(out) == 0 {
		ids := make([]string, len(r.Cases))
		for i, c := range r.Cases {
			ids[i] = c.ID
		}
		return []result.Verdict{failed(base, "no case matches %q (cases: %s)", cmp.Or(t.Case, "*"), strings.Join(ids, ", "))}
	}
	return out
}

// measured reports whether any case holds id.
func measured(r *result.Result, id string) bool {
	for _, c := range r.Cases {
		if _, ok := c.Stats[id]; ok {
			return true
		}
		if _, ok := c.Values[id]; ok {
			return true
		}
	}
	return false
}

// observe finds the statistic in a case: its run statistics, or a
// case-level value (plugin corpus metrics, totals), which has no spread.
// A message says why it cannot be judged; the value is kept where there
// is one (too few runs), for the report.
func observe(t Target, c *result.Case) (float64, string) {
	if s, ok := c.Stats[t.Metric]; ok {
		v, ok := s.Get(t.Statistic)
		if !ok {
			p, _ := stats.ParsePercentileName(t.Statistic)
			return 0, fmt.Sprintf("%s was not computed for %s; add %v to the aggregate stage's percentiles", t.Statistic, t.Metric, p)
		}
		if t.Statistic == "cv" {
			v *= 100
		}
		if s.N == 0 {
			return 0, fmt.Sprintf("%s has no valid run in case %s", t.Metric, c.ID)
		}
		if need := MinRuns(t.Statistic); s.N < need {
			return v, fmt.Sprintf("insufficient runs: %s needs ≥ %d valid runs, case %s has %d; raise generate.runs (or judge max/mean)", t.Statistic, need, c.ID, s.N)
		}
		return v, ""
	}
	if v, ok := c.Values[t.Metric]; ok {
		switch t.Statistic {
		case "std", "cv":
			return 0, fmt.Sprintf("%s is one value per case; it has no %s", t.Metric, t.Statistic)
		}
		return v, ""
	}
	return 0, fmt.Sprintf("metric %s was not measured in case %s (is its plugin configured?)", t.Metric, c.ID)
}

// Selects is the one reading of a case selector, for every package that
// asks which cases a target judges: "" and "*" select every case, anything
// else is a case ID or a glob in path.Match syntax. A malformed glob selects
// nothing; CheckSelector says why.
func Selects(sel, caseID string) bool {
	if sel == "" {
		return true
	}
	ok, _ := path.Match(sel, caseID)
	return ok
}

// SelectsAny reports whether sel selects at least one of ids.
func SelectsAny(sel string, ids []string) bool {
	for _, id := range ids {
		if Selects(sel, id) {
			return true
		}
	}
	return false
}

// CheckSelector reports whether sel is a usable case selector: "" (every
// case), a case ID or a glob in path.Match syntax.
func CheckSelector(sel string) error {
	if _, err := path.Match(sel, ""); err != nil {
		return fmt.Errorf("case selector %q is not a valid glob (path.Match syntax: * ? [a-z])", sel)
	}
	return nil
}

// EvaluateAll judges every target, in order.
func EvaluateAll(ts []Target, r *result.Result) []result.Verdict {
	var out []result.Verdict
	for _, t := range ts {
		out = append(out, Evaluate(t, r)...)
	}
	return out
}

// Passed reports whether every verdict passed (true when there are none).
func Passed(vs []result.Verdict) bool {
	for _, v := range vs {
		if !v.Pass {
			return false
		}
	}
	return true
}
