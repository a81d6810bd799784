package pipeline

import (
	"github.com/pipe-bench/pipe/host/internal/fidelity"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
)

// testNames are the names a pipeline may use in this package's tests: the
// built-in metric and fidelity modules' definitions and the built-in report formats,
// as registry.New holds them. (The registry imports this package, so these
// tests cannot ask it; its own tests load pipelines with its Names.)
var testNames = func() Names {
	b := measure.Builtin{}
	metrics := &metric.Registry{}
	if err := metrics.Define(b.Name(), b.Metrics()); err != nil {
		panic(err)
	}
	if err := metrics.Define(fidelity.Name, fidelity.Defs); err != nil {
		panic(err)
	}
	return Names{Metrics: metrics, Formats: []string{"csv", "html", "json", "md"}}
}()
