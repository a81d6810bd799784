package main

import (
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name     string
		config   map[string]any
		observed []float64
		pass     []bool
	}{
		{"generous limits", map[string]any{"ttft_ms": 1000, "tpot_ms": 100}, []float64{100, 100}, []bool{true, true}},
		// TTFTs are 50..54 and 70..74 ms; TPOT is 11.5 ms everywhere.
		{"ttft splits the second case", map[string]any{"ttft_ms": 72, "tpot_ms": 12}, []float64{100, 60}, []bool{true, false}},
		{"tpot fails everything", map[string]any{"ttft_ms": 1000, "tpot_ms": 11}, []float64{0, 0}, []bool{false, false}},
		{"lower bar", map[string]any{"ttft_ms": 72, "tpot_ms": 12, "min_pct": 60}, []float64{100, 60}, []bool{true, true}},
		{"one case", map[string]any{"ttft_ms": 72, "tpot_ms": 12, "case": "p64-n32-b1"}, []float64{60}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := sdktest.Configure(t, tt.config); err != nil {
				t.Fatal(err)
			}
			vs, err := sdktest.Target(t, sdktest.FixtureResult())
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != len(tt.pass) {
				t.Fatalf("got %d verdicts, want %d", len(vs), len(tt.pass))
			}
			for i, v := range vs {
				if v.Observed != tt.observed[i] || v.Pass != tt.pass[i] {
					t.Errorf("verdict %d: observed %v pass %v, want %v %v (%s)", i, v.Observed, v.Pass, tt.observed[i], tt.pass[i], v.Message)
				}
			}
		})
	}
}

func TestJudgeSkipsInvalidRuns(t *testing.T) {
	if err := sdktest.Configure(t, map[string]any{"ttft_ms": 1000, "tpot_ms": 100}); err != nil {
		t.Fatal(err)
	}
	r := sdktest.FixtureResult()
	for i := range r.Cases[0].Runs {
		r.Cases[0].Runs[i].Valid = false
	}
	vs, err := sdktest.Target(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if vs[0].Pass || vs[0].Message != "no valid runs to judge" {
		t.Errorf("verdict = %+v, want a failure for a case without valid runs", vs[0])
	}
}

func TestConfigureRefuses(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"no limits", map[string]any{}, "needs ttft_ms and tpot_ms"},
		{"percent above 100", map[string]any{"ttft_ms": 1, "tpot_ms": 1, "min_pct": 120}, "min_pct 120"},
		{"unknown key", map[string]any{"ttft": 1}, `unknown field "ttft"`},
		{"wrong type", map[string]any{"ttft_ms": "fast"}, "ttft_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sdktest.Configure(t, tt.config)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Configure error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestUnknownCase(t *testing.T) {
	if err := sdktest.Configure(t, map[string]any{"ttft_ms": 1, "tpot_ms": 1, "case": "p1-n1-b1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdktest.Target(t, sdktest.FixtureResult()); err == nil || !strings.Contains(err.Error(), `case "p1-n1-b1": no such case`) {
		t.Fatalf("error = %v", err)
	}
}
