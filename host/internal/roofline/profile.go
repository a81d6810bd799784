package roofline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/ortprof"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

// Profile is where ONNX Runtime's kernels spent one prompt length's Runs:
// pipe's generator on a session of its own with the runtime's profiler on,
// one warm-up request then one profiled request (Bench's BenchOptions.ProfileDir).
type Profile struct {
	Engine       string          `json:"engine"`
	Precision    string          `json:"precision"`
	PromptTokens int             `json:"prompt_tokens"`
	File         string          `json:"file"` // the runtime's profile JSON
	Prefill      ortprof.Summary `json:"prefill"`
	Decode       ortprof.Summary `json:"decode"`
}

// profilePrompts profiles pipe's generator (options eo) at each prompt
// length, after the timed runs so that the profiler's own cost never
// lands in them; the runtime's JSON files stay in dir.
func profilePrompts(ctx context.Context, m *model.Model, eo ortgen.Options, dir string, prompts []int, newTokens int, say func(string, ...any)) ([]Profile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench --profile %s: %w", dir, err)
	}
	engine := "pipe"
	if eo.Spinning {
		engine += " spinning"
	}
	var out []Profile
	for _, p := range prompts {
		name := fmt.Sprintf("%s-%s-%s-p%d", strings.ReplaceAll(engine, " ", "-"), filepath.Base(m.Name), m.Precision, p)
		o := eo
		o.ProfilePrefix = filepath.Join(dir, name)
		say("profile prompt %d: %s", p, o.ProfilePrefix)
		g, err := ortgen.Open(m, o)
		if err != nil {
			return out, err
		}
		prompt := tokenize.SeededIDs(p, m.Config.Vocab, 1)
		var sizes []int
		for range 2 { // a warm-up, then the request profiled
			tr, err := g.Generate(ctx, gen.Request{Start: time.Now(), Prompts: [][]int64{prompt}, NewTokens: newTokens})
			if err != nil {
				g.Close()
				return out, err
			}
			sizes = append(sizes, len(tr.TokenNS))
		}
		precision := g.Info().WeightPrecision
		if err := g.Close(); err != nil {
			return out, err
		}
		file, err := ortgen.ProfileFile(o.ProfilePrefix)
		if err != nil {
			return out, err
		}
		prof, err := ortprof.Read(file)
		if err != nil {
			return out, err
		}
		prefill, decode, err := prof.Phases(sizes, 1)
		if err != nil {
			return out, fmt.Errorf("profile %s: %w", file, err)
		}
		out = append(out, Profile{Engine: engine, Precision: precision, PromptTokens: p, File: file,
			Prefill: ortprof.Summarize("prefill", prefill), Decode: ortprof.Summarize("decode", decode)})
	}
	return out, nil
}
