package runner

import (
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/fidelity"
	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
)

// withFidelity puts a live fidelity module in the place of the registry's
// declaring one when the plan has [fidelity]: the candidate is g, the
// reference the plan's model built at the reference precision, opened by
// the module after the timed runs.
func withFidelity(plan *pipeline.Plan, g gen.Generator, ms []registry.Measurer) ([]registry.Measurer, error) {
	f := plan.Fidelity
	if f.Reference == "" {
		return ms, nil
	}
	cand, ok := g.(fidelity.Scorer)
	if !ok {
		return nil, fmt.Errorf("fidelity.reference: the generator %T cannot score tokens teacher-forced: remove [fidelity]", g)
	}
	spec := plan.Model
	spec.Precision = f.Reference
	// Built now (or found in the cache), before the timed runs, so that a
	// precision the builder refuses stops the run before it starts; the
	// session opens after them.
	src, err := model.VariantPath(spec.Source, spec.Variant)
	dir := src
	if err == nil {
		dir, err = model.ResolveWith(src, spec.BuildOptions())
	}
	if err != nil {
		return nil, fmt.Errorf("fidelity.reference = %q: %w", f.Reference, err)
	}
	if own := g.Info().WeightPrecision; dir == src && f.Reference != own {
		return nil, notBuilt(f.Reference, plan.Model.Source, own)
	}
	open := func() (fidelity.Scorer, error) {
		ref, _, err := OpenGenerator(spec)
		if err != nil {
			return nil, fmt.Errorf("fidelity.reference = %q: %w", f.Reference, err)
		}
		if got := ref.Info().WeightPrecision; got != f.Reference {
			ref.Close()
			return nil, notBuilt(f.Reference, plan.Model.Source, got)
		}
		return ref, nil
	}
	out := make([]registry.Measurer, len(ms))
	for i, m := range ms {
		out[i] = m
		if m.Name() == fidelity.Name {
			out[i] = fidelity.New(cand, open, f.Runs)
		}
	}
	return out, nil
}

// closeFidelity closes the reference a live fidelity module opened.
func closeFidelity(ms []registry.Measurer) {
	for _, m := range ms {
		if f, ok := m.(*fidelity.Module); ok {
			f.Close()
		}
	}
}

// notBuilt is the error for a reference precision of a model pipe does not
// build (an ONNX model on disk has the weights it has).
func notBuilt(reference, source, own string) error {
	return fmt.Errorf("fidelity.reference = %q: model %s is an ONNX model on disk with its own weights (%s); pipe builds other precisions only of a built-in model or a checkpoint directory: remove [fidelity] or use such a source", reference, source, own)
}
