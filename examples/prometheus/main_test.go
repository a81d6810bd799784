package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.prom from the current output")

func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]any
		change func(r *sdktest.Result)
	}{
		{"fixture", map[string]any{}, func(*sdktest.Result) {}},
		{"prefix and awkward labels", map[string]any{"prefix": "bench"}, func(r *sdktest.Result) {
			r.Pipeline.Name = `quote " and \ backslash`
			r.Valid = false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := sdktest.Configure(t, tt.config); err != nil {
				t.Fatal(err)
			}
			r := sdktest.FixtureResult()
			tt.change(r)
			got, err := sdktest.Report(t, r)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", strings.ReplaceAll(filepath.Base(t.Name()), " ", "_")+".golden.prom")
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

func TestConfigureRefusesBadPrefix(t *testing.T) {
	for _, prefix := range []string{"", "Bad-Prefix", "with space"} {
		if err := sdktest.Configure(t, map[string]any{"prefix": prefix}); err == nil {
			t.Errorf("prefix %q: want an error", prefix)
		}
	}
}
