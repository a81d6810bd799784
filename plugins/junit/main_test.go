package main

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"path/filepath"
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *sdktest.Result)
	}{
		{"fixture", func(*sdktest.Result) {}},
		{"invalid case", func(r *sdktest.Result) {
			r.Valid = false
			r.Problems = []string{"p64-n32-b1 run 2: E2E 10 ms < TTFT 70 ms"}
			r.Cases[1].Valid = false
			r.Cases[1].Problems = []string{"run 2: E2E 10 ms < TTFT 70 ms", `a message with <xml> & "quotes"`}
		}},
		{"no targets", func(r *sdktest.Result) { r.Targets = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sdktest.FixtureResult()
			tt.change(r)
			got, err := sdktest.Report(t, r)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Base(t.Name())+".golden.xml", got)
		})
	}
}
