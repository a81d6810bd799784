package main

import (
	"math"
	"sort"
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestMeasure(t *testing.T) {
	res := sdktest.FixtureResult()
	perRun, corpus, err := sdktest.Metric(t, sdktest.RunsOf(res))
	if err != nil {
		t.Fatal(err)
	}
	// Gaps are 10 + 0.1 j, j = 0..30: three gaps make 10 %.
	want := map[string]float64{
		DecodeSlowdown: (12.8 + 12.9 + 13.0) / (10.0 + 10.1 + 10.2),
		TimeTo10th:     res.Cases[0].Runs[0].TokenMS[9],
	}
	for id, w := range want {
		if got := perRun[0][id]; math.Abs(got-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", id, got, w)
		}
	}
	if cv := perRun[0][ITLCV]; cv <= 0 || cv > 0.1 {
		t.Errorf("%s = %v, want a small positive spread", ITLCV, cv)
	}
	if got := corpus[PooledP99]; got != 13 {
		t.Errorf("%s = %v, want 13 (the largest gap, nearest rank over 310)", PooledP99, got)
	}
}

func TestShortRuns(t *testing.T) {
	tests := []struct {
		name    string
		run     sdktest.Run
		missing []string
	}{
		{"no tokens", sdktest.Run{}, []string{ITLCV, DecodeSlowdown, TimeTo10th}},
		{"one gap", sdktest.Run{TokenMS: []float64{5, 9}, ITLms: []float64{4}}, []string{ITLCV, DecodeSlowdown, TimeTo10th}},
		{"zero gaps", sdktest.Run{ITLms: []float64{0, 0, 0}}, []string{ITLCV, DecodeSlowdown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perRun, _, err := sdktest.Metric(t, []sdktest.Run{tt.run})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tt.missing {
				if v, ok := perRun[0][id]; ok {
					t.Errorf("%s = %v, want no value", id, v)
				}
			}
		})
	}
}

func TestNth(t *testing.T) {
	xs := []float64{5, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9}
	sorted := append([]float64(nil), xs...)
	sort.Float64s(sorted)
	for k := range xs {
		if got := nth(append([]float64(nil), xs...), k); got != sorted[k] {
			t.Errorf("nth(%d) = %v, want %v", k, got, sorted[k])
		}
	}
}
