package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.xml from the current output")

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
			path := filepath.Join("testdata", filepath.Base(t.Name())+".golden.xml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				os.WriteFile(path+".got", got, 0o644)
				t.Errorf("output differs from %s; see %s.got (go test -update accepts it)", path, path)
			}
		})
	}
}
