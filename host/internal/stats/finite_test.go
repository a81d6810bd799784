package stats

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// allFinite reports the first non-finite float64 field in v (a Summary or
// a Fit, with arrays and maps), or "".
func allFinite(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return path
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if p := allFinite(v.Field(i), path+"."+v.Type().Field(i).Name); p != "" {
				return p
			}
		}
	case reflect.Array, reflect.Slice:
		for i := range v.Len() {
			if p := allFinite(v.Index(i), path); p != "" {
				return p
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if p := allFinite(v.MapIndex(k), path+"["+k.String()+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// TestSummaryAlwaysFinite: no input makes a Summary non-finite, so it
// always encodes. Before issue 9 a mean of three 1e308 values was +Inf.
func TestSummaryAlwaysFinite(t *testing.T) {
	max := math.MaxFloat64
	tests := []struct {
		name     string
		xs       []float64
		mean     float64
		std      float64
		dropped  int
		outliers int
	}{
		{"flat", []float64{5, 5, 5, 5}, 5, 0, 0, 0},
		{"three 1e308", []float64{1e308, 1e308, 1e308}, 1e308, 0, 0, 0},
		{"1e308 and small", []float64{1e308, 1e308, 1}, 2e308 / 3, 5.773502691896258e307, 0, 0},
		// The spread of ±MaxFloat64 exceeds float64: it saturates.
		{"both extremes", []float64{max, -max, max}, max / 3, max, 0, 0},
		{"n = 1", []float64{7}, 7, 0, 0, 0},
		{"n = 2", []float64{7, 9}, 8, math.Sqrt2, 0, 0},
		{"NaN and Inf dropped and counted", []float64{1, math.NaN(), 2, math.Inf(1), math.Inf(-1), 3}, 2, 1, 3, 0},
		{"only non-finite", []float64{math.NaN(), math.Inf(1)}, 0, 0, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := SummarizeWith(tt.xs, Options{Percentiles: []float64{75, math.NaN()}})
			if p := allFinite(reflect.ValueOf(s), "Summary"); p != "" {
				t.Fatalf("%s is not finite: %+v", p, s)
			}
			if _, err := json.Marshal(s); err != nil {
				t.Fatalf("summary does not encode: %v", err)
			}
			if !near(s.Mean, tt.mean, 1e-12) || !near(s.Std, tt.std, 1e-12) || s.Dropped != tt.dropped || s.Outliers != tt.outliers {
				t.Errorf("mean %v std %v dropped %d outliers %d; want %v %v %d %d", s.Mean, s.Std, s.Dropped, s.Outliers, tt.mean, tt.std, tt.dropped, tt.outliers)
			}
			if got := RelCIHalfWidth(tt.xs); math.IsNaN(got) {
				t.Errorf("RelCIHalfWidth = NaN")
			}
		})
	}
	if got := RelCIHalfWidth([]float64{1e308, 1e308, 1e308}); got != 0 {
		t.Errorf("RelCIHalfWidth of a flat 1e308 series = %v, want 0", got)
	}
	if p := Percentile([]float64{-max, max}, 50); p != 0 {
		t.Errorf("median of ±MaxFloat64 = %v, want 0", p)
	}
	if !math.IsNaN(Percentile([]float64{1, 2}, math.NaN())) {
		t.Error("Percentile at p = NaN should be NaN, not panic or a number")
	}
}

// TestRegressAlwaysFinite: a flat series, one or two points, huge values
// and non-finite inputs give a finite Fit. Before issue 9 gonum's R² of a
// flat series was NaN and cost the whole result.json.
func TestRegressAlwaysFinite(t *testing.T) {
	tests := []struct {
		name      string
		x, y      []float64
		slope, r2 float64
		bounded   bool
		dropped   int
	}{
		{"flat", []float64{0, 1, 2, 3, 4}, []float64{7, 7, 7, 7, 7}, 0, 1, true, 0},
		{"flat at 1e308", []float64{0, 1, 2}, []float64{1e308, 1e308, 1e308}, 0, 1, true, 0},
		{"huge slope", []float64{0, 1, 2}, []float64{0, 5e307, 1e308}, 5e307, 1, true, 0},
		{"n = 1", []float64{0}, []float64{3}, 0, 0, false, 0},
		{"n = 2", []float64{0, 1}, []float64{1, 3}, 2, 1, false, 0},
		{"all x equal", []float64{2, 2, 2}, []float64{1, 2, 3}, 0, 0, false, 0},
		{"non-finite pairs dropped", []float64{0, 1, math.NaN(), 3, 4}, []float64{1, 2, 5, math.Inf(1), 5}, 1, 1, true, 2},
		{"empty", nil, nil, 0, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Regress(tt.x, tt.y)
			if p := allFinite(reflect.ValueOf(f), "Fit"); p != "" {
				t.Fatalf("%s is not finite: %+v", p, f)
			}
			if _, err := json.Marshal(f); err != nil {
				t.Fatalf("fit does not encode: %v", err)
			}
			if !near(f.Slope, tt.slope, 1e-12) || !near(f.R2, tt.r2, 1e-12) || f.Bounded() != tt.bounded || f.Dropped != tt.dropped {
				t.Errorf("slope %v r2 %v bounded %v dropped %d; want %v %v %v %d", f.Slope, f.R2, f.Bounded(), f.Dropped, tt.slope, tt.r2, tt.bounded, tt.dropped)
			}
		})
	}
}
