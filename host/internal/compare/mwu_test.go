package compare_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/metric"
)

// TestMannWhitneyWithTies holds issue 9's reproducers: small samples with
// ties, where the tie-free exact distribution gave p = 0.026 (significant),
// p = 0 and p = 1.071. Expected: the exact permutation p-value,
// P(|U − n1 n2/2| ≥ observed) over every partition (scripts/mwu-corpus.py
// computes the same with scipy.stats.permutation_test).
func TestMannWhitneyWithTies(t *testing.T) {
	for _, tt := range []struct {
		name     string
		old, new []float64
		p        float64
	}{
		{"tied timings", []float64{950, 900, 950, 950, 950, 950}, []float64{900, 900, 900, 950, 900}, 185.0 / 2310},
		{"all but one tied", []float64{1, 1, 1, 1, 1}, []float64{1, 1, 0, 1}, 56.0 / 126},
		{"p above 1 before", []float64{2, 3, 3, 3, 1}, []float64{2, 3, 3}, 46.0 / 56},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := compare.Compare(oneCase("m", metric.Lower, tt.old), oneCase("m", metric.Lower, tt.new), compare.Options{})
			row := rep.Rows[0]
			if math.Abs(row.P-tt.p) > 1e-12 || row.P < 0 || row.P > 1 {
				t.Errorf("p = %v, want the exact permutation p %.4f", row.P, tt.p)
			}
			if row.Significant {
				t.Errorf("significant at p = %v: %+v", row.P, row)
			}
		})
	}
}

// corpus is testdata/mwu-corpus.json, written by scripts/mwu-corpus.py.
type corpus struct {
	Scipy string `json:"scipy"`
	Seed  int64  `json:"seed"`
	Cases []struct {
		Name   string    `json:"name"`
		Method string    `json:"method"`
		Old    []float64 `json:"old"`
		New    []float64 `json:"new"`
		P      float64   `json:"p"`
	} `json:"cases"`
}

// Tolerances against scipy, by how scipy computed the case: the same exact
// distribution or the same normal formula agree to rounding; a Monte Carlo
// p from 100,000 random partitions has a standard error ≤ 0.0016.
var corpusTolerance = map[string]float64{
	"exact":         1e-9,
	"exact-no-ties": 1e-9,
	"asymptotic":    1e-9,
	"monte-carlo":   0.01,
}

// TestMannWhitneyCorpus compares every case of the scipy corpus, through
// Compare (the p each row reports) and MannWhitney.
func TestMannWhitneyCorpus(t *testing.T) {
	data, err := os.ReadFile("testdata/mwu-corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var c corpus
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Cases) < 1000 {
		t.Fatalf("corpus has %d cases, want ≥ 1000", len(c.Cases))
	}
	worst := map[string]float64{}
	count := map[string]int{}
	for _, k := range c.Cases {
		tol, ok := corpusTolerance[k.Method]
		if !ok {
			t.Fatalf("%s: unknown method %q", k.Name, k.Method)
		}
		rep := compare.Compare(oneCase("m", metric.Lower, k.Old), oneCase("m", metric.Lower, k.New), compare.Options{})
		got := rep.Rows[0].P
		exact := compare.MannWhitney(k.Old, k.New).Exact
		if wantExact := k.Method != "asymptotic"; exact != wantExact {
			t.Errorf("%s (n=%d+%d): exact = %v, but scipy's p is %s", k.Name, len(k.Old), len(k.New), exact, k.Method)
		}
		diff := math.Abs(got - k.P)
		if diff > tol || got < 0 || got > 1 || math.IsNaN(got) {
			t.Errorf("%s (%s, n=%d+%d): p = %.12g, scipy %.12g (|Δ| = %.2g > %g)", k.Name, k.Method, len(k.Old), len(k.New), got, k.P, diff, tol)
		}
		worst[k.Method] = math.Max(worst[k.Method], diff)
		count[k.Method]++
	}
	for m, n := range count {
		t.Logf("%-13s %4d cases, largest |p − scipy %s| = %.2g", m, n, c.Scipy, worst[m])
	}
}

// BenchmarkMannWhitneyExact is the exact test and the shift's interval
// (which needs the tie-free U distribution) at 30 + 30 runs and at the
// limit, 60 + 60, with a few ties.
func BenchmarkMannWhitneyExact(b *testing.B) {
	for _, half := range []int{30, 60} {
		x, y := make([]float64, half), make([]float64, half)
		for i := range x {
			x[i], y[i] = float64(i%20), float64(i%17)+0.5
		}
		b.Run(fmt.Sprintf("U/%d+%d", half, half), func(b *testing.B) {
			for b.Loop() {
				compare.MannWhitney(x, y)
			}
		})
		b.Run(fmt.Sprintf("HodgesLehmann/%d+%d", half, half), func(b *testing.B) {
			for b.Loop() {
				compare.HodgesLehmann(x, y)
			}
		})
	}
}
