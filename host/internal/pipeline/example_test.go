package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
)

// Every problem comes back at once, one per line, located where it can be
// fixed: the file's line, or the --set argument.
func ExampleParse() {
	src := `
[matrix]
prompt_tokens = [128, 512, 768]
new_tokens = [64, 128, 256]

[generate]
runz = 5
`
	_, err := pipeline.Parse("latency.toml", []byte(src), pipeline.LoadOptions{
		Names: registry.New().Names(), // the metrics and report formats a pipeline may name
		Sets:  []string{"matrix.new_tokens=[64, 128, 512]", "warmup.runs=-1"},
	})
	fmt.Println(err)
	// Output:
	// --set matrix.new_tokens=[64, 128, 512]: matrix.new_tokens: case p768-n512: 768 prompt + 512 new tokens = 1280 exceeds the 1024 positions of gpt2; shorten prompt_tokens or new_tokens
	// --set warmup.runs=-1: warmup.runs: must be ≥ 0, got -1
	// latency.toml:7: generate.runz: unknown key; did you mean generate.runs?
}

// BenchmarkLoad measures loading and validating the phase 2 pipeline with
// --quick and a --set, as `pipe run` does before anything else.
func BenchmarkLoad(b *testing.B) {
	file := filepath.Join("..", "..", "..", "pipelines", "phase2-latency.toml")
	if _, err := os.Stat(file); err != nil {
		b.Fatal(err)
	}
	opts := pipeline.LoadOptions{Names: registry.New().Names(), Quick: true, Sets: []string{"generate.runs=3"}}
	for b.Loop() {
		if _, err := pipeline.Load(file, opts); err != nil {
			b.Fatal(err)
		}
	}
}
