package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// NonFinite is a number that JSON cannot hold (NaN, ±Inf) and EncodeFinite
// wrote as null or left out.
type NonFinite struct {
	Path  string  // JSON path, e.g. "cases[0].stats.ttft_ms.mean"
	Value float64 // the number itself
	// Omitted is true for a map value (the key is left out: "not
	// measured"); otherwise the number is written as null.
	Omitted bool
}

func (n NonFinite) String() string {
	how := "written as null"
	if n.Omitted {
		how = "left out"
	}
	return fmt.Sprintf("%s is %v, not a finite number; %s", n.Path, n.Value, how)
}

// EncodeFinite encodes v as encoding/json does (MarshalIndent with indent
// when indent is not empty), except that it never fails on a non-finite
// float, which encoding/json refuses for the whole value: such a number
// becomes null, or is left out when it is a map value. It says which
// numbers it replaced, so one bad field can never cost a file. v itself is
// not changed.
func EncodeFinite(v any, indent string) ([]byte, []NonFinite, error) {
	// encoding/json refuses any non-finite float, so a value it encodes
	// holds none: the common case (every journal line) needs no walk.
	data, err := marshal(v, indent)
	var unsupported *json.UnsupportedValueError
	if err == nil || !errors.As(err, &unsupported) {
		return data, nil, err
	}
	for _, sentinel := range sentinels {
		s := &finiteWalker{sentinel: sentinel}
		clean := s.walkRoot(v)
		var in any
		if clean.IsValid() {
			in = clean.Interface()
		}
		data, err := marshal(in, indent)
		if err != nil {
			return nil, s.found, err
		}
		nulls := 0
		for _, f := range s.found {
			if !f.Omitted {
				nulls++
			}
		}
		if nulls == 0 {
			return data, s.found, nil
		}
		token, _ := json.Marshal(sentinel)
		if bytes.Count(data, token) == nulls {
			// Each replaced number encodes as the token exactly once, and
			// the token occurs nowhere else, so it marks just those.
			return bytes.ReplaceAll(data, token, []byte("null")), s.found, nil
		}
	}
	return nil, nil, fmt.Errorf("encode: a value holds every stand-in number for non-finite floats")
}

// sentinels stand in for a non-finite float during encoding, to become
// null after; a value that happens to hold one moves to the next.
var sentinels = []float64{-1.2345678901234567e-299, -2.718281828459045e-299, -3.141592653589793e-299}

func marshal(v any, indent string) ([]byte, error) {
	if indent == "" {
		return json.Marshal(v)
	}
	return json.MarshalIndent(v, "", indent)
}

// finiteWalker copies a value where, and only where, it holds a non-finite
// float64, replacing that float by the sentinel (or dropping a map entry).
type finiteWalker struct {
	sentinel float64
	found    []NonFinite
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// walk returns v, or a copy of it with non-finite floats replaced, and
// whether it changed; bad reports that v itself is a non-finite float
// (the caller records it: only the caller knows whether it is a map value).
func (w *finiteWalker) walk(v reflect.Value, path string) (out reflect.Value, changed, bad bool) {
	if !v.IsValid() {
		return v, false, false
	}
	t := v.Type()
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return v, false, false // the type encodes itself
	}
	switch v.Kind() {
	case reflect.Float64, reflect.Float32:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return reflect.ValueOf(w.sentinel).Convert(t), true, true
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return v, false, false
		}
		e, ch, b := w.walk(v.Elem(), path)
		if !ch {
			return v, false, false
		}
		if b && v.Kind() == reflect.Pointer {
			w.record(path, v.Elem().Float(), false)
			b = false
		}
		var nv reflect.Value
		if v.Kind() == reflect.Pointer {
			nv = reflect.New(t.Elem())
			nv.Elem().Set(e)
		} else {
			nv = reflect.New(t).Elem()
			nv.Set(e)
		}
		return nv, true, b
	case reflect.Struct:
		var nv reflect.Value
		for i := range t.NumField() {
			f := t.Field(i)
			name, ok := jsonName(f)
			if !ok {
				continue
			}
			fv := v.Field(i)
			e, ch, b := w.walk(fv, join(path, name))
			if !ch {
				continue
			}
			if b {
				w.record(join(path, name), elemFloat(fv), false)
			}
			if !nv.IsValid() {
				nv = reflect.New(t).Elem()
				nv.Set(v)
			}
			nv.Field(i).Set(e)
		}
		if nv.IsValid() {
			return nv, true, false
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return v, false, false
		}
		var nv reflect.Value
		for i := range v.Len() {
			p := fmt.Sprintf("%s[%d]", path, i)
			e, ch, b := w.walk(v.Index(i), p)
			if !ch {
				continue
			}
			if b {
				w.record(p, elemFloat(v.Index(i)), false)
			}
			if !nv.IsValid() {
				if v.Kind() == reflect.Slice {
					nv = reflect.MakeSlice(t, v.Len(), v.Len())
					reflect.Copy(nv, v)
				} else {
					nv = reflect.New(t).Elem()
					nv.Set(v)
				}
			}
			nv.Index(i).Set(e)
		}
		if nv.IsValid() {
			return nv, true, false
		}
	case reflect.Map:
		if v.IsNil() {
			return v, false, false
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(mapKey(a), mapKey(b)) })
		var nv reflect.Value
		for _, k := range keys {
			p := join(path, mapKey(k))
			e, ch, b := w.walk(v.MapIndex(k), p)
			if !ch {
				continue
			}
			if !nv.IsValid() {
				nv = reflect.MakeMapWithSize(t, v.Len())
				iter := v.MapRange()
				for iter.Next() {
					nv.SetMapIndex(iter.Key(), iter.Value())
				}
			}
			if b {
				w.record(p, elemFloat(v.MapIndex(k)), true)
				nv.SetMapIndex(k, reflect.Value{}) // delete
				continue
			}
			nv.SetMapIndex(k, e)
		}
		if nv.IsValid() {
			return nv, true, false
		}
	}
	return v, false, false
}

// FindNonFinite lists the numbers in v that EncodeFinite would write as
// null or leave out, without encoding.
func FindNonFinite(v any) []NonFinite {
	w := &finiteWalker{sentinel: sentinels[0]}
	w.walkRoot(v)
	return w.found
}

func (w *finiteWalker) walkRoot(v any) reflect.Value {
	rv := reflect.ValueOf(v)
	clean, _, bad := w.walk(rv, "")
	if bad {
		w.record("(the value)", elemFloat(rv), false)
	}
	return clean
}

func (w *finiteWalker) record(path string, f float64, omitted bool) {
	w.found = append(w.found, NonFinite{Path: path, Value: f, Omitted: omitted})
}

// elemFloat is the float inside v, which may be an interface holding one.
func elemFloat(v reflect.Value) float64 {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	return v.Float()
}

// jsonName is the name encoding/json gives field f, and whether it encodes
// the field at all.
func jsonName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, true
}

func mapKey(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	return fmt.Sprint(k.Interface())
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name // metric IDs read as written: values.jitter.itl_cv
}
