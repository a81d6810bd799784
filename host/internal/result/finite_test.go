package result

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/stats"
)

// A non-finite number anywhere — a statistic, a leak fit, a case value, a
// plugin value, a setting — costs only itself: result.json is written, the
// number is null (or left out of its map), and a warning names the field.
func TestEncodeWritesNonFiniteAsNull(t *testing.T) {
	r := sample("phase3", "2026-01-01T00:00:00Z")
	c := &r.Cases[0]
	s := c.Stats["ttft_ms"]
	s.Mean = math.NaN()
	s.MeanCI = [2]float64{math.Inf(-1), math.Inf(1)}
	c.Stats["ttft_ms"] = s
	c.Values = map[string]float64{"throughput.output_tps": math.Inf(1), "ok": 2}
	c.Runs[0].Values["jitter.itl_cv"] = math.NaN()
	c.Runs[0].ITLms[1] = math.Inf(1)
	r.Memory = &Memory{Leak: []Leak{{Case: c.ID, R2: math.NaN(), Slope: 12}}}
	r.Pipeline.Settings = map[string]any{"outlier_z": math.NaN(), "percentiles": []any{50.0, math.Inf(1)}}
	// A value that happens to equal the first stand-in number survives.
	r.Env.LoadBefore = sentinels[0]

	data, err := Encode(r)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !json.Valid(data) {
		t.Fatalf("not JSON:\n%s", data)
	}
	got, err := Decode("test", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"cases[0].stats.ttft_ms.mean is NaN, not a finite number; written as null",
		"cases[0].stats.ttft_ms.mean_ci[0] is -Inf, not a finite number; written as null",
		"cases[0].stats.ttft_ms.mean_ci[1] is +Inf, not a finite number; written as null",
		"cases[0].runs[0].values.jitter.itl_cv is NaN, not a finite number; left out",
		"cases[0].runs[0].itl_ms[1] is +Inf, not a finite number; written as null",
		"cases[0].values.throughput.output_tps is +Inf, not a finite number; left out",
		"memory.leak[0].r2 is NaN, not a finite number; written as null",
		"pipeline.settings.outlier_z is NaN, not a finite number; left out",
		"pipeline.settings.percentiles[1] is +Inf, not a finite number; written as null",
	}
	for _, w := range want {
		if !slices.Contains(got.Warnings, FileName+": "+w) {
			t.Errorf("no warning %q in %q", w, got.Warnings)
		}
	}
	if len(got.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d: %q", len(got.Warnings), len(want), got.Warnings)
	}
	for _, frag := range []string{`"mean": null`, `"r2": null`, `"itl_ms": [`, `null`} {
		if !strings.Contains(string(data), frag) {
			t.Errorf("result.json lacks %s", frag)
		}
	}
	gc := got.Cases[0]
	if _, ok := gc.Values["throughput.output_tps"]; ok || gc.Values["ok"] != 2 {
		t.Errorf("case values = %v, want the infinite one left out and ok = 2", gc.Values)
	}
	if _, ok := gc.Runs[0].Values["jitter.itl_cv"]; ok || gc.Runs[0].Values["ttft_ms"] != 12.5 {
		t.Errorf("run values = %v, want the NaN left out and the rest kept", gc.Runs[0].Values)
	}
	if got.Memory.Leak[0].Slope != 12 || got.Env.LoadBefore != sentinels[0] {
		t.Errorf("finite numbers changed: slope %v, load %v", got.Memory.Leak[0].Slope, got.Env.LoadBefore)
	}
	// The caller's result keeps its numbers; a second encoding warns once.
	if !math.IsNaN(r.Cases[0].Stats["ttft_ms"].Mean) || !math.IsNaN(r.Memory.Leak[0].R2) {
		t.Error("Encode changed the result's numbers")
	}
	n := len(r.Warnings)
	if _, err := Encode(r); err != nil || len(r.Warnings) != n {
		t.Errorf("second Encode: %v, %d warnings (want %d)", err, len(r.Warnings), n)
	}
}

func TestEncodeFiniteLeavesFiniteValuesAlone(t *testing.T) {
	r := sample("x", "2026-01-01T00:00:00Z")
	r.Cases[0].Stats["e2e_ms"] = stats.Summarize([]float64{1, 2, 3})
	plain, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data, found, err := EncodeFinite(r, "  ")
	if err != nil || len(found) != 0 || string(data) != string(plain) {
		t.Errorf("EncodeFinite of a finite result differs from encoding/json (found %v, err %v)", found, err)
	}
}
