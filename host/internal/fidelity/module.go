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
//
// The reference variant is opened when the first case is scored, which the
// engine does after every case's timed runs: neither its load nor its
// memory is in any measured run (peak RSS included).
type Module struct {
	cand, ref Scorer
	open      func() (Scorer, error)
	opened    bool
	openErr   error
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
// runs ≤ 0) of candidate against the reference openRef opens, once, when
// the first case is scored.
func New(candidate Scorer, openRef func() (Scorer, error), runs int) *Module {
	return &Module{cand: candidate, open: openRef, runs: runs, stash: map[string][]observed{}}
}

// Close closes the reference, when it was opened.
func (m *Module) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ref == nil || m.open == nil {
		return nil
	}
	err := m.ref.Close()
	m.ref = nil
	return err
}

// active reports whether m measures (New, or Score's).
func (m *Module) active() bool { return m.open != nil || m.ref != nil }

// reference opens the reference once.
func (m *Module) reference() (Scorer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ref == nil && !m.opened {
		m.opened = true
		m.ref, m.openErr = m.open()
	}
	return m.ref, m.openErr
}

// Name implements the module's name.
func (*Module) Name() string { return Name }

// Metrics lists the fidelity definitions.
func (*Module) Metrics() []metric.Def { return slices.Clone(Defs) }

// MeasureRun keeps what the first runs of each case need for scoring (the
// ids only: the scoring waits until the case has finished, outside its
// timed runs).
func (m *Module) MeasureRun(o measure.RunObservation) measure.Run {
	if !m.active() || o.Warmup || o.Trace == nil {
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
	if !m.active() {
		return nil
	}
	m.mu.Lock()
	kept := m.stash[c.ID]
	delete(m.stash, c.ID)
	m.mu.Unlock()
	if len(kept) == 0 {
		return nil
	}
	ref, err := m.reference()
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	for _, o := range kept {
		v, err := score(ctx, m.cand, ref, o.prompts, o.outputs)
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
	return score(ctx, candidate, ref, prompts, outputs)
}

func score(ctx context.Context, candidate, ref Scorer, prompts, outputs [][]int64) (map[string]float64, error) {
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
		err := candidate.Score(ctx, prompt, out, func(i int, row []float32) error {
			cand[i] = slices.Clone(row)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("candidate: %w", err)
		}
		err = ref.Score(ctx, prompt, out, func(i int, row []float32) error {
			if len(row) != len(cand[i]) {
				return fmt.Errorf("reference vocabulary %d, candidate's %d: the reference must be a variant of the same model", len(row), len(cand[i]))
			}
			s.Add(row, cand[i])
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
		tr, err := ref.Generate(ctx, gen.Request{Prompts: [][]int64{prompt}, NewTokens: len(out)})
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
