package pipeline

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Overlays: --quick merges the file's [quick] table over the file, and each
// --set merges one value over that, all before validation. The merged tree
// remembers where each overlaid value came from, so a problem with it names
// the [quick] line or the --set argument, not the line it replaced.

// origin is where an overlaid value came from.
type origin struct {
	filePath string // key path in the file, e.g. "quick.generate.runs"
	set      string // or the --set argument, e.g. "generate.runs=0"
}

// tree is the document being decoded, with the origins of overlaid values.
type tree struct {
	root    map[string]any
	origins map[string]origin // tree path → origin, for overlaid subtrees
}

// originOf returns where the value at path came from: the origin of its
// nearest overlaid ancestor, extended by the rest of the path.
func (t *tree) originOf(path string) (origin, bool) {
	for p := path; p != ""; {
		if o, ok := t.origins[p]; ok {
			if o.set == "" {
				o.filePath += path[len(p):]
			}
			return o, true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return origin{}, false
}

// exclusive lists, per table path and key, the keys that setting it in an
// overlay clears from the table below, so that `--set generate.runs=3` turns
// an adaptive run count into a fixed one instead of contradicting it.
var exclusive = map[string]map[string][]string{
	"generate": {
		"runs":        {"min_runs", "max_runs", "min_seconds", "stop_metric", "stop_rel_ci"},
		"min_runs":    {"runs"},
		"max_runs":    {"runs"},
		"min_seconds": {"runs"},
		"stop_metric": {"runs"},
		"stop_rel_ci": {"runs"},
	},
	"": {
		"matrix": {"case"},
		"case":   {"matrix"},
	},
}

// overlay merges src over dst (the table at path): tables merge key by key,
// anything else replaces. mark is called with the path of every value taken
// from src.
func overlay(dst, src map[string]any, path string, mark func(string)) {
	for k := range src {
		for _, c := range exclusive[indexless(path)][k] {
			if _, also := src[c]; !also {
				delete(dst, c)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(src)) {
		p := join(path, k)
		if sm, ok := src[k].(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				overlay(dm, sm, p, mark)
				continue
			}
		}
		dst[k] = deepCopy(src[k])
		mark(p)
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e).(map[string]any)
		}
		return out
	}
	return v
}

// parseSet splits a --set argument into its key path and TOML value. A
// value that is not valid TOML is taken as a string, so `--set
// model.source=gpt2` needs no quotes; the schema types it afterwards.
func parseSet(arg string) (path []string, value any, err error) {
	key, raw, ok := strings.Cut(arg, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return nil, nil, fmt.Errorf("want key.path=value, e.g. generate.runs=3")
	}
	path = strings.Split(key, ".")
	for _, p := range path {
		if p == "" {
			return nil, nil, fmt.Errorf("key %q has an empty part; write it like generate.runs", key)
		}
	}
	if len(path) > MaxNesting {
		return nil, nil, fmt.Errorf("key %q has %d parts, more than %d", key, len(path), MaxNesting)
	}
	raw = strings.TrimSpace(raw)
	if ps := prescan("", []byte("v = "+raw)); len(ps) > 0 {
		return nil, nil, fmt.Errorf("value: %s", ps[0].Msg) // the same bounds as the file's
	}
	var m map[string]any
	if _, err := toml.Decode("v = "+raw, &m); err == nil && len(m) == 1 {
		if v, ok := m["v"]; ok {
			if _, isString := v.(string); isString || !stringKey(path) {
				return path, v, nil
			}
		}
	}
	return path, raw, nil // a string key takes the text as it is: report.title=2025-01-01
}

// schemaTypeAt returns the schema type of the key at path, or nil when the
// path leaves the schema (unknown keys, free-form tables).
func schemaTypeAt(path []string) reflect.Type {
	t := reflect.TypeOf(fileDoc{})
	for _, part := range path {
		switch t.Kind() {
		case reflect.Struct:
			i, ok := schemaFields(t)[part]
			if !ok {
				return nil
			}
			t = t.Field(i).Type
		case reflect.Slice:
			if _, err := strconv.Atoi(part); err != nil {
				return nil
			}
			t = t.Elem()
		case reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	return t
}

// stringKey reports whether the schema types the key at path as a string.
func stringKey(path []string) bool {
	t := schemaTypeAt(path)
	return t != nil && t.Kind() == reflect.String
}

// set stores value at path in root, creating tables as needed; numeric
// parts index arrays of tables ("case.0.new_tokens").
func set(root map[string]any, path []string, value any) error {
	var cur any = root
	for i, part := range path {
		last := i == len(path)-1
		here := strings.Join(path[:i], ".")
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[part] = value
				return nil
			}
			next, ok := c[part]
			if _, err := strconv.Atoi(path[i+1]); !ok && err == nil {
				return fmt.Errorf("there is no %s: the pipeline has no %s entries", strings.Join(path[:i+2], "."), join(here, part))
			}
			if !ok {
				next = map[string]any{}
				c[part] = next
			}
			cur = next
		case []map[string]any, []any:
			arr, _ := asArray(c)
			idx, err := strconv.Atoi(part)
			if err != nil || idx < 0 || idx >= len(arr) {
				return fmt.Errorf("%s has %d entries: index them from 0, e.g. %s.0.%s", here, len(arr), here, strings.Join(path[i+1:], "."))
			}
			if last {
				if m, ok := c.([]map[string]any); ok {
					vm, ok := value.(map[string]any)
					if !ok {
						return fmt.Errorf("%s.%d: want a table, got %s", here, idx, tomlType(value))
					}
					m[idx] = vm
				} else {
					c.([]any)[idx] = value
				}
				return nil
			}
			cur = arr[idx]
		default:
			return fmt.Errorf("%s is %s, not a table: cannot set %s inside it", here, tomlType(c), strings.Join(path[i:], "."))
		}
	}
	return nil
}
