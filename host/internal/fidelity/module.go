package fidelity

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// Scorer is a generator that also scores a continuation teacher-forced
// (ortgen.Generator).
type Scorer interface {
	gen.Generator
	Score(ctx context.Context, prompt, continuation []int64, row func(i int, logits []float32) error) error
}

// Module is the fidelity metrics as a metric module (an engine Observer).
// Its zero value declares the definitions and measures nothing, so that
// pipelines may name fidelity.* before a run opens the reference (the
// registry registers it); New makes the one that measures.
type Module struct {
	cand, ref Scorer
	runs      int

	mu    sync.Mutex
	stash map[string][]observed // by case ID, the runs to score
}

type observed struct {
	index, stream int
	prompts       [][]int64
	outputs       [][]int64
}

// New scores the first runs measured runs of each case (every run when
// runs ≤ 0) of candidate against ref.
func New(candidate, ref Scorer, runs int) *Module {
	return &Module{cand: candidate, ref: ref, runs: runs, stash: map[string][]observed{}}
}

// Name implements the module's name.
func (*Module) Name() string { return Name }

// Metrics lists the fidelity definitions.
func (*Module) Metrics() []metric.Def { return slices.Clone(Defs) }

// MeasureRun keeps what the first runs of each case need for scoring (the
// ids only: the scoring waits until the case has finished, outside its
// timed runs).
func (m *Module) MeasureRun(o measure.RunObservation) measure.Run {
	if m.ref == nil || o.Warmup || o.Trace == nil {
		return measure.Run{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runs > 0 && len(m.stash[o.Case]) >= m.runs {
		return measure.Run{}
	}
	m.stash[o.Case] = append(m.stash[o.Case], observed{index: o.Index, stream: o.Stream, prompts: o.Prompts, outputs: o.Trace.OutputIDs})
	return measure.Run{}
}

// MeasureStreams has nothing to add.
func (*Module) MeasureStreams(*result.Case, measure.StreamsObservation) {}

// Measure scores the case's kept runs through both variants and sets each
// one's fidelity values.
func (m *Module) Measure(ctx context.Context, c *result.Case) error {
	if m.ref == nil {
		return nil
	}
	m.mu.Lock()
	kept := m.stash[c.ID]
	delete(m.stash, c.ID)
	m.mu.Unlock()
	for _, o := range kept {
		v, err := m.score(ctx, o.prompts, o.outputs)
		if err != nil {
			return fmt.Errorf("fidelity of run %d: %w", o.index+1, err)
		}
		for i := range c.Runs {
			if r := &c.Runs[i]; r.Index == o.index && r.Stream == o.stream {
				if r.Values == nil {
					r.Values = map[string]float64{}
				}
				for id, x := range v {
					r.Values[id] = x
				}
			}
		}
	}
	return nil
}

// Score compares candidate and reference on each prompt row and the
// candidate's output for it: the fidelity values of one run.
func Score(ctx context.Context, candidate, ref Scorer, prompts, outputs [][]int64) (map[string]float64, error) {
	return (&Module{cand: candidate, ref: ref}).score(ctx, prompts, outputs)
}

func (m *Module) score(ctx context.Context, prompts, outputs [][]int64) (map[string]float64, error) {
	if len(prompts) != len(outputs) {
		return nil, fmt.Errorf("%d prompt rows but %d output rows", len(prompts), len(outputs))
	}
	var s Stats
	first := -1
	for r, prompt := range prompts {
		out := outputs[r]
		if len(out) == 0 {
			continue
		}
		// The candidate's rows first (kept), then the reference's,
		// compared as they come.
		cand := make([][]float32, len(out))
		err := m.cand.Score(ctx, prompt, out, func(i int, row []float32) error {
			cand[i] = slices.Clone(row)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("candidate: %w", err)
		}
		err = m.ref.Score(ctx, prompt, out, func(i int, row []float32) error {
			if len(row) != len(cand[i]) {
				return fmt.Errorf("reference vocabulary %d, candidate's %d: the reference must be a variant of the same model", len(row), len(cand[i]))
			}
			s.Add(row, cand[i])
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
		tr, err := m.ref.Generate(ctx, gen.Request{Prompts: [][]int64{prompt}, NewTokens: len(out)})
		if err != nil {
			return nil, fmt.Errorf("reference generation: %w", err)
		}
		d := FirstDifference(out, tr.OutputIDs[0])
		if first < 0 || d < first {
			first = d
		}
	}
	if s.Positions == 0 {
		return nil, nil
	}
	return map[string]float64{
		Top1Agreement:   s.Top1(),
		KL:              s.MeanKL(),
		MaxAbsDLogit:    s.MaxAbs,
		FirstDivergence: float64(first),
	}, nil
}
