package main

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

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
			golden.Check(t, strings.ReplaceAll(filepath.Base(t.Name()), " ", "_")+".golden.prom", got)
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
