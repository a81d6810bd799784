package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

// Reference values below were computed once with numpy 1.24 (Debian
// python3-numpy): xs.mean(), xs.std(ddof=1), np.percentile(xs, p) (its
// default "linear" method is Hyndman–Fan type 7), np.polyfit. Student-t
// quantiles are textbook table values (t₀.₉₇₅ with 4, 8, 11 df: 2.776445,
// 2.306004, 2.200985).

// seedTTFT128 is the seed report's 128-token TTFT sample (ms), in run order.
var seedTTFT128 = []float64{1918.48, 1526.77, 2435.66, 1725.48, 1985.99}

// spiky is a 12-run TTFT sample where three runs met foreign CPU load.
var spiky = []float64{596.64, 4498.26, 4895.96, 612.3, 640.1, 655.8, 701.2, 598.7, 620.4, 633.9, 610.2, 9334.08}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestSummarizeKnownValues(t *testing.T) {
	tests := []struct {
		name   string
		xs     []float64
		want   Summary
		p75    float64
		checkP bool
	}{
		{
			name: "seed 128-token TTFT, n=5",
			xs:   seedTTFT128,
			want: Summary{N: 5, Mean: 1918.476, Std: 340.11706680200564, CV: 0.17728502561512663,
				Min: 1526.77, Max: 2435.66, P50: 1918.48, P90: 2255.792, P95: 2345.726, P99: 2417.6732,
				MeanCI: [2]float64{1496.164882977284, 2340.787117022716},
				// n=5 is too few for a 95 % median interval (needs 6): zeros.
				P50CI: [2]float64{}, P95CI: [2]float64{}, Outliers: 0},
			p75: 1985.99,
		},
		{
			name: "spiky, n=12, one run 180 MADs out",
			xs:   spiky,
			want: Summary{N: 12, Mean: 2033.1283333333333, Std: 2784.802453048701, CV: 1.3697130709319223,
				Min: 596.64, Max: 9334.08, P50: 637.0, P90: 4856.19, P95: 6893.114, P99: 8845.8868,
				MeanCI: [2]float64{263.74926946916776, 3802.507397197499},
				// Order statistics 3 and 10 of 12 cover the median with
				// probability 1 − 2·P(Bin(12, ½) ≤ 2) = 0.9614 (Conover's table).
				P50CI: [2]float64{610.2, 4498.26}, P95CI: [2]float64{},
				// modified z: 80.0, 88.3, 180.2 (numpy) → three above 10.
				Outliers: 3},
			p75: 1650.465,
		},
		{
			name: "single value",
			xs:   []float64{42},
			want: Summary{N: 1, Mean: 42, Min: 42, Max: 42, P50: 42, P90: 42, P95: 42, P99: 42,
				MeanCI: [2]float64{42, 42}},
			p75: 42,
		},
		{
			name: "empty",
			xs:   nil,
			want: Summary{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.xs...)
			got := SummarizeWith(tt.xs, Options{Percentiles: []float64{50, 75, 95}})
			for i := range in {
				if in[i] != tt.xs[i] {
					t.Fatalf("Summarize reordered its input")
				}
			}
			check := func(name string, g, w float64) {
				t.Helper()
				if !near(g, w, 1e-9) {
					t.Errorf("%s = %.12g, want %.12g", name, g, w)
				}
			}
			if got.N != tt.want.N || got.Outliers != tt.want.Outliers {
				t.Errorf("n, outliers = %d, %d; want %d, %d", got.N, got.Outliers, tt.want.N, tt.want.Outliers)
			}
			for _, st := range Statistics {
				g, _ := got.Get(st)
				w, _ := tt.want.Get(st)
				check(st, g, w)
			}
			for i := range 2 {
				check("mean_ci", got.MeanCI[i], tt.want.MeanCI[i])
				check("p50_ci", got.P50CI[i], tt.want.P50CI[i])
				check("p95_ci", got.P95CI[i], tt.want.P95CI[i])
			}
			if tt.want.N > 0 {
				p75, ok := got.Get("p75")
				if !ok {
					t.Fatalf("p75 missing from %v", got.Percentiles)
				}
				check("p75", p75, tt.p75)
				if len(got.Percentiles) != 1 {
					t.Errorf("percentiles map %v: want only p75 (p50 and p95 have fields)", got.Percentiles)
				}
			}
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("summary does not encode: %v", err)
			}
		})
	}
}

// TestOrderStatisticCICoverage checks the distribution-free intervals on a
// large sample: each bound must be a sample value, and the pair of order
// statistics must cover the quantile with binomial probability ≥ 95 %.
func TestOrderStatisticCICoverage(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(i + 1) // order statistic k is k itself
	}
	s := Summarize(xs)
	for _, c := range []struct {
		name string
		q    float64
		ci   [2]float64
	}{{"p50", 0.5, s.P50CI}, {"p95", 0.95, s.P95CI}} {
		lo, hi := int(c.ci[0]), int(c.ci[1])
		if lo < 1 || hi > 100 || lo >= hi || float64(lo) != c.ci[0] {
			t.Fatalf("%s CI %v: want two distinct order statistics", c.name, c.ci)
		}
		// P(lo ≤ B < hi) with B ~ Bin(100, q): the quantile lies between
		// X(lo) and X(hi) when at least lo and fewer than hi values fall below it.
		var cover float64
		for k := lo; k < hi; k++ {
			cover += binomPMF(100, k, c.q)
		}
		if cover < 0.95 {
			t.Errorf("%s CI [X(%d), X(%d)] covers with probability %.4f < 0.95", c.name, lo, hi, cover)
		}
	}
}

func binomPMF(n, k int, p float64) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x + 1)); return v }
	return math.Exp(lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(p) + float64(n-k)*math.Log(1-p))
}

func TestPercentileType7(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		// Hyndman & Fan (1996) type 7 on 1..5: h = 4p/100.
		{"median of odd n is the middle value", []float64{5, 1, 3, 2, 4}, 50, 3},
		{"interpolates", []float64{1, 2, 3, 4, 5}, 90, 4.6},
		{"p0 is the min", []float64{3, 1, 2}, 0, 1},
		{"p100 is the max", []float64{3, 1, 2}, 100, 3},
		{"clamps above 100", []float64{3, 1, 2}, 150, 3},
		{"median of even n", []float64{1, 2, 3, 4}, 50, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.xs, tt.p); !near(got, tt.want, 1e-12) {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.xs, tt.p, got, tt.want)
			}
		})
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("Percentile of nothing should be NaN")
	}
}

func TestRelCIHalfWidth(t *testing.T) {
	// (2340.787117 − 1918.476) / 1918.476 from the t-interval above.
	if got, want := RelCIHalfWidth(seedTTFT128), 422.311117022716/1918.476; !near(got, want, 1e-9) {
		t.Errorf("RelCIHalfWidth = %v, want %v", got, want)
	}
	for name, xs := range map[string][]float64{"one value": {3}, "zero mean": {-1, 1}, "none": nil} {
		if got := RelCIHalfWidth(xs); !math.IsInf(got, 1) {
			t.Errorf("%s: RelCIHalfWidth = %v, want +Inf", name, got)
		}
	}
	// More runs of the same spread narrow the interval.
	var many []float64
	for range 8 {
		many = append(many, seedTTFT128...)
	}
	if RelCIHalfWidth(many) >= RelCIHalfWidth(seedTTFT128) {
		t.Error("40 runs should give a narrower relative interval than 5")
	}
}

func TestRegress(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	y := []float64{100.0, 101.2, 101.9, 103.1, 104.2, 104.8, 106.1, 107.0, 107.8, 109.1}
	f := Regress(x, y)
	// numpy.polyfit(x, y, 1) and the textbook slope standard error
	// sqrt(SSE/(n−2)/Sxx), t₀.₉₇₅,₈ = 2.306004.
	want := Fit{N: 10, Slope: 0.9890909090909127, Intercept: 100.06909090909086, SlopeSE: 0.016795644194607173,
		SlopeCI: [2]float64{0.9503600841275993, 1.027821734054226}, R2: 0.997698504027618}
	for name, gw := range map[string][2]float64{
		"slope": {f.Slope, want.Slope}, "intercept": {f.Intercept, want.Intercept}, "se": {f.SlopeSE, want.SlopeSE},
		"ci lo": {f.SlopeCI[0], want.SlopeCI[0]}, "ci hi": {f.SlopeCI[1], want.SlopeCI[1]}, "r2": {f.R2, want.R2},
	} {
		if !near(gw[0], gw[1], 1e-9) {
			t.Errorf("%s = %.12g, want %.12g", name, gw[0], gw[1])
		}
	}
	if !f.Bounded() {
		t.Error("ten points should bound the slope")
	}

	sad := []struct {
		name string
		x, y []float64
	}{
		{"two points", []float64{0, 1}, []float64{1, 3}},
		{"all x equal", []float64{2, 2, 2}, []float64{1, 2, 3}},
		{"empty", nil, nil},
	}
	for _, tt := range sad {
		t.Run(tt.name, func(t *testing.T) {
			if f := Regress(tt.x, tt.y); f.Bounded() {
				t.Errorf("Regress(%v, %v) bounded the slope: %v", tt.x, tt.y, f.SlopeCI)
			}
		})
	}
}

func TestPercentileNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    float64
		ok   bool
	}{{"p75", 75, true}, {"p99.9", 99.9, true}, {"p0", 0, true}, {"p100", 100, true},
		{"p101", 0, false}, {"q50", 0, false}, {"p", 0, false}, {"p-1", 0, false}, {"p1e2", 0, false},
		{"pNaN", 0, false}, {"pnan", 0, false}, {"pInf", 0, false}, {"pinfinity", 0, false}} {
		p, err := ParsePercentileName(tt.name)
		if (err == nil) != tt.ok || (tt.ok && p != tt.p) {
			t.Errorf("ParsePercentileName(%q) = %v, %v", tt.name, p, err)
		}
		if tt.ok && PercentileName(p) != tt.name {
			t.Errorf("PercentileName(%v) = %q, want %q", p, PercentileName(p), tt.name)
		}
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 2435.66: "2436", -123.456: "-123.5", 62.325: "62.33", 0.1234: "0.123", 0.001234: "0.00123", math.Inf(1): "+Inf"} {
		if got := Format(v); got != want {
			t.Errorf("Format(%v) = %q, want %q", v, got, want)
		}
	}
}

// BenchmarkSummarize measures one metric's aggregation: the engine runs it
// once per case and metric, and the adaptive stop rule once per run.
func BenchmarkSummarize(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 60 + float64((i*7919)%97)/10
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				Summarize(xs)
			}
		})
		b.Run(fmt.Sprintf("RelCIHalfWidth/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				RelCIHalfWidth(xs)
			}
		})
	}
}
