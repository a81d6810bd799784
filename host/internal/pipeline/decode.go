package pipeline

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// decoder fills the schema structs from the generic tree BurntSushi/toml
// parses, and unlike a reflection decoder that stops at the first mismatch
// it keeps going: every wrong type and every unknown key becomes a Problem
// with its location, and the field keeps its zero value.
type decoder struct {
	loc      func(path string) Problem // a Problem located at path, Msg empty
	problems Problems
	seen     map[string]bool // key paths present in the tree
	bad      map[string]bool // key paths whose value could not be decoded
}

func (d *decoder) addf(path, format string, args ...any) {
	d.bad[path] = true
	p := d.loc(path)
	p.Msg = fmt.Sprintf(format, args...)
	d.problems = append(d.problems, p)
}

var (
	durationType = reflect.TypeOf(duration(0))
	sizeType     = reflect.TypeOf(size(0))
	intListType  = reflect.TypeOf(intList(nil))
)

// decode stores the TOML value v (at path) in rv.
func (d *decoder) decode(v any, rv reflect.Value, path string) {
	d.seen[path] = true
	t := rv.Type()
	switch t {
	case durationType:
		dur, err := parseDuration(v)
		if err != nil {
			d.addf(path, "%v", err)
			return
		}
		rv.SetInt(int64(dur))
		return
	case sizeType:
		n, err := parseSize(v)
		if err != nil {
			d.addf(path, "%v", err)
			return
		}
		rv.SetFloat(n)
		return
	case intListType:
		if n, ok := v.(int64); ok {
			if err := checkCount(path, n); err != nil {
				d.addf(path, "%v", err)
				return
			}
			rv.Set(reflect.ValueOf(intList{int(n)}))
			return
		}
		arr, ok := v.([]any)
		if !ok {
			d.addf(path, "want an integer or a list of integers, got %s", tomlType(v))
			return
		}
		list := intList{}
		for i, e := range arr {
			n, ok := e.(int64)
			if !ok {
				d.addf(path, "element %d: want an integer, got %s", i, tomlType(e))
				continue
			}
			if err := checkCount(path, n); err != nil {
				d.addf(path, "element %d: %v", i, err)
				continue
			}
			list = append(list, int(n))
		}
		rv.Set(reflect.ValueOf(list))
		return
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.addf(path, "want a string, got %s", tomlType(v))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.addf(path, "want true or false, got %s", tomlType(v))
			return
		}
		rv.SetBool(b)
	case reflect.Int:
		n, ok := v.(int64)
		if !ok {
			d.addf(path, "want an integer, got %s", tomlType(v))
			return
		}
		if err := checkCount(path, n); err != nil {
			d.addf(path, "%v", err)
			return
		}
		rv.SetInt(n)
	case reflect.Uint64:
		n, ok := v.(int64)
		if !ok {
			d.addf(path, "want a non-negative integer, got %s", tomlType(v))
			return
		}
		if n < 0 {
			d.addf(path, "must be ≥ 0, got %d", n)
			return
		}
		rv.SetUint(uint64(n))
	case reflect.Float64:
		switch n := v.(type) {
		case int64:
			rv.SetFloat(float64(n))
		case float64:
			if math.IsNaN(n) || math.IsInf(n, 0) {
				d.addf(path, "want a finite number, got %v", n)
				return
			}
			rv.SetFloat(n)
		default:
			d.addf(path, "want a number, got %s", tomlType(v))
		}
	case reflect.Slice:
		d.decodeSlice(v, rv, path)
	case reflect.Map:
		d.decodeMap(v, rv, path)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.addf(path, "want a table, got %s", tomlType(v))
			return
		}
		d.decodeStruct(m, rv, path)
	default:
		panic("pipeline: schema field of unsupported type " + t.String()) // a programming error
	}
}

func (d *decoder) decodeSlice(v any, rv reflect.Value, path string) {
	elems, ok := asArray(v)
	if !ok {
		if rv.Type().Elem().Kind() == reflect.Struct {
			d.addf(path, "want an array of tables ([[%s]]), got %s", lastKey(path), tomlType(v))
		} else {
			d.addf(path, "want a list, got %s", tomlType(v))
		}
		return
	}
	out := reflect.MakeSlice(rv.Type(), len(elems), len(elems))
	for i, e := range elems {
		d.decode(e, out.Index(i), path+"."+strconv.Itoa(i))
		if d.bad[path+"."+strconv.Itoa(i)] && rv.Type().Elem().Kind() != reflect.Struct {
			d.bad[path] = true // a list with a bad element is not checked further
		}
	}
	rv.Set(out)
}

func (d *decoder) decodeMap(v any, rv reflect.Value, path string) {
	m, ok := v.(map[string]any)
	if !ok {
		d.addf(path, "want a table, got %s", tomlType(v))
		return
	}
	out := reflect.MakeMapWithSize(rv.Type(), len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ev := reflect.New(rv.Type().Elem()).Elem()
		if rv.Type().Elem().Kind() == reflect.Interface {
			ev.Set(reflect.ValueOf(m[k]))
			d.markSeen(m[k], path+"."+k)
		} else {
			d.decode(m[k], ev, path+"."+k)
		}
		out.SetMapIndex(reflect.ValueOf(k), ev)
	}
	rv.Set(out)
}

// markSeen records the paths of a free-form value (plugin configuration).
func (d *decoder) markSeen(v any, path string) {
	d.seen[path] = true
	if m, ok := v.(map[string]any); ok {
		for k, e := range m {
			d.markSeen(e, path+"."+k)
		}
	}
}

func (d *decoder) decodeStruct(m map[string]any, rv reflect.Value, path string) {
	fields := schemaFields(rv.Type())
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := join(path, k)
		i, ok := fields[k]
		if !ok {
			d.bad[p] = true
			pr := d.loc(p)
			pr.Msg = "unknown key; " + suggest(rv.Type(), path, k, pr.Key)
			d.problems = append(d.problems, pr)
			continue
		}
		d.decode(m[k], rv.Field(i), p)
	}
}

// schemaFields maps a schema struct's TOML keys to field indexes.
func schemaFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if name := t.Field(i).Tag.Get("toml"); name != "" && name != "-" {
			out[name] = i
		}
	}
	return out
}

// schemaKeys lists a struct's TOML keys in declaration order.
func schemaKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if name := t.Field(i).Tag.Get("toml"); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// suggest names the fix for an unknown key k in the table at path (of type
// t): the closest sibling (spelled as shown, where the key is shown as
// shown), else a key of that name elsewhere in the schema, else the list of
// keys the table takes.
func suggest(t reflect.Type, path, k, shown string) string {
	best, bestDist := "", 3
	for _, name := range schemaKeys(t) {
		if dist := editDistance(k, name); dist < bestDist || dist == bestDist && name < best {
			best, bestDist = name, dist
		}
	}
	limit := 2
	if len(k) <= 4 {
		limit = 1
	}
	if best != "" && bestDist <= limit {
		return fmt.Sprintf("did you mean %s?", shown[:len(shown)-len(k)]+best)
	}
	var elsewhere []string
	for _, p := range schemaPaths() {
		if lastKey(p) == k {
			elsewhere = append(elsewhere, p)
		}
	}
	if len(elsewhere) > 0 {
		return fmt.Sprintf("did you mean %s?", strings.Join(elsewhere, " or "))
	}
	where := "[" + indexless(path) + "]"
	if path == "" {
		where = "the top level"
	}
	return fmt.Sprintf("%s takes %s", where, strings.Join(schemaKeys(t), ", "))
}

// schemaPaths lists every key path of the schema, once: suggest looks
// through it for each unknown key (20,000 of them took 4.3 s when each
// walked the schema's reflection anew).
var schemaPaths = sync.OnceValue(func() []string {
	var out []string
	walkSchema(reflect.TypeOf(fileDoc{}), "", func(p string) { out = append(out, p) })
	return out
})

// walkSchema calls f with every key path of the schema (arrays of tables
// without their index: "case.prompt_tokens").
func walkSchema(t reflect.Type, path string, f func(string)) {
	for _, name := range schemaKeys(t) {
		ft := t.Field(schemaFields(t)[name]).Type
		p := join(path, name)
		f(p)
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			walkSchema(ft, p, f)
		}
	}
}

// indexless drops array indexes from a path: "case.1" → "case".
func indexless(path string) string {
	parts := strings.Split(path, ".")
	out := parts[:0]
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func asArray(v any) ([]any, bool) {
	switch a := v.(type) {
	case []any:
		return a, true
	case []map[string]any:
		out := make([]any, len(a))
		for i, m := range a {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// tomlType names a decoded TOML value's type, with the value when short.
func tomlType(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a datetime"
	}
	return fmt.Sprintf("%T", v)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func lastKey(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}

// parseDuration reads a duration: a Go duration string or seconds.
func parseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("want a duration such as \"30s\" or \"500ms\", got %q", x)
		}
		return d, nil
	case int64:
		if x > math.MaxInt64/int64(time.Second) || x < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("duration of %d seconds is out of range", x)
		}
		return time.Duration(x) * time.Second, nil
	case float64:
		if math.IsNaN(x) || math.Abs(x) > float64(math.MaxInt64)/float64(time.Second) {
			return 0, fmt.Errorf("duration of %v seconds is out of range", x)
		}
		return time.Duration(x * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("want a duration such as \"30s\" (or a number of seconds), got %s", tomlType(v))
}

var sizeUnits = map[string]float64{
	"": 1, "b": 1, "bytes": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// parseSize reads a byte count: a number, or a string with a unit.
func parseSize(v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("want a finite size, got %v", x)
		}
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		i := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+') })
		num, unit := s, ""
		if i >= 0 {
			num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
		}
		n, err := strconv.ParseFloat(num, 64)
		mult, okUnit := sizeUnits[unit]
		if err != nil || !okUnit || math.IsInf(n, 0) {
			return 0, fmt.Errorf("want a size such as \"64KiB\", \"16MiB\" or a number of bytes, got %q", x)
		}
		return n * mult, nil
	}
	return 0, fmt.Errorf("want a size such as \"64KiB\" (or a number of bytes), got %s", tomlType(v))
}
