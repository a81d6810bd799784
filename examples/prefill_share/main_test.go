package main

import (
	"math"
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestMeasure(t *testing.T) {
	res := sdktest.FixtureResult()
	perRun, _, err := sdktest.Metric(t, sdktest.RunsOf(res))
	if err != nil {
		t.Fatal(err)
	}
	run := res.Cases[0].Runs[0]
	ttft, e2e := run.Values["ttft_ms"], run.Values["e2e_ms"]
	if got, want := perRun[0][SharePct], 100*ttft/e2e; math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", SharePct, got, want)
	}
	if got, want := perRun[0][DecodeMS], e2e-ttft; math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", DecodeMS, got, want)
	}
}

func TestMissingValues(t *testing.T) {
	tests := []struct {
		name string
		run  sdktest.Run
	}{
		{"no values", sdktest.Run{}},
		{"no e2e", sdktest.Run{Values: map[string]float64{"ttft_ms": 5}}},
		{"zero e2e", sdktest.Run{Values: map[string]float64{"ttft_ms": 0, "e2e_ms": 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perRun, _, err := sdktest.Metric(t, []sdktest.Run{tt.run})
			if err != nil {
				t.Fatal(err)
			}
			if len(perRun[0]) != 0 {
				t.Errorf("got %v, want no values", perRun[0])
			}
		})
	}
}
