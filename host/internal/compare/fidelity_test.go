package compare

import (
	"slices"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/fidelity"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// withKL is the fixture with fidelity.kl measured on every run (kl nats).
func withKL(kl float64) *result.Result {
	r := resulttest.Phase2()
	for i := range r.Cases {
		c := &r.Cases[i]
		var xs []float64
		for j := range c.Runs {
			c.Runs[j].Values[fidelity.KL] = kl
			xs = append(xs, kl)
		}
		c.Stats[fidelity.KL] = stats.Summarize(xs)
	}
	return r
}

// TestFleetShowsFidelity: precisions side by side show the fidelity
// metrics the results measured, and none they did not.
func TestFleetShowsFidelity(t *testing.T) {
	rowsOf := func(a, b *result.Result) []string {
		f, err := NewFleet(append(Members(a), Members(b)...), nil)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, row := range f.Cases[0].Rows {
			ids = append(ids, row.Metric)
		}
		return ids
	}
	plain := rowsOf(resulttest.Phase2(), resulttest.Phase2())
	if slices.Contains(plain, fidelity.KL) || slices.Contains(plain, fidelity.Top1Agreement) {
		t.Errorf("rows %v: fidelity without fidelity measured", plain)
	}
	got := rowsOf(withKL(0), withKL(0.011))
	if !slices.Contains(got, fidelity.KL) || slices.Contains(got, fidelity.Top1Agreement) {
		t.Errorf("rows %v: want fidelity.kl (measured) and not fidelity.top1_agreement", got)
	}
}
