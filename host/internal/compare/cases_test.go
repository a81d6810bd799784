package compare_test

import (
	"testing"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/metric"
)

// TestCompareCases: two cases of different IDs compare as the cases of one
// ID in two results do, in a row named after both.
func TestCompareCases(t *testing.T) {
	old, new := oneCase("m", metric.Lower, base), oneCase("m", metric.Lower, shifted(base, 1.1))
	want := compare.Compare(old, new, compare.Options{})
	new.Cases[0].ID = "c2"
	got := compare.CompareCases(old, &old.Cases[0], new, &new.Cases[0], compare.Options{})
	if len(got.Rows) != 1 || len(want.Rows) != 1 {
		t.Fatalf("rows %d, %d; want 1", len(got.Rows), len(want.Rows))
	}
	g, w := got.Rows[0], want.Rows[0]
	if g.Case != "c1 → c2" || g.P != w.P || g.PHolm != w.PHolm || g.Delta != w.Delta || g.Verdict != w.Verdict {
		t.Errorf("CompareCases row %+v, want Compare's %+v named c1 → c2", g, w)
	}
	if new.Cases[0].ID != "c2" || len(old.Cases) != 1 {
		t.Error("CompareCases changed its inputs")
	}
}
