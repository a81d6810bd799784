package pipeline

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestDescribe compares Describe's output for every shipped pipeline and
// the full testdata pipeline with golden files (go test -update rewrites
// them; a mismatch leaves NAME.got beside the golden file).
func TestDescribe(t *testing.T) {
	t.Setenv("PIPE_CACHE", filepath.Join("testdata", "cache")) // first-party plugins: not built
	shipped, _ := filepath.Glob(filepath.Join("..", "..", "..", "pipelines", "*.toml"))
	tests := []struct {
		name  string
		file  string
		quick bool
	}{
		{"full", filepath.Join("testdata", "full.toml"), false},
		{"tiny", filepath.Join("..", "..", "..", "pipelines", "testdata", "gpt2-tiny.toml"), false},
		{"phase2-latency-quick", filepath.Join("..", "..", "..", "pipelines", "phase2-latency.toml"), true},
		{"llama-dir", filepath.Join("testdata", "llama-dir.toml"), false},
	}
	for _, f := range shipped {
		tests = append(tests, struct {
			name  string
			file  string
			quick bool
		}{strings.TrimSuffix(filepath.Base(f), ".toml"), f, false})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Load(tt.file, LoadOptions{Names: testNames, Quick: tt.quick, CPUs: 2})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := plan.Describe(&got); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("describe", tt.name+".golden"), got.Bytes())
		})
	}
}
