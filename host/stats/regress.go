package stats

import (
	"math"

	"gonum.org/v1/gonum/stat"
)

// Fit is an ordinary least-squares line y = Intercept + Slope·x.
type Fit struct {
	N         int     `json:"n"`
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	// SlopeSE is the standard error of the slope.
	SlopeSE float64 `json:"slope_se"`
	// SlopeCI is the 95 % Student-t interval (n − 2 degrees of freedom) for
	// the slope. With fewer than three points, or all x equal, nothing
	// bounds the slope: the interval is (−Inf, +Inf); check Bounded before
	// encoding it as JSON.
	SlopeCI [2]float64 `json:"slope_ci"`
	R2      float64    `json:"r2"`
}

// Bounded reports whether the slope's interval is finite.
func (f Fit) Bounded() bool {
	return !math.IsInf(f.SlopeCI[0], 0) && !math.IsInf(f.SlopeCI[1], 0)
}

// Regress fits y on x by least squares (gonum's stat.LinearRegression) and
// adds the slope's 95 % interval, which phase 3's leak detector judges: RSS
// after each run regressed on the run index gives bytes per run. x and y
// must have equal lengths.
func Regress(x, y []float64) Fit {
	if len(x) != len(y) {
		panic("stats.Regress: x and y differ in length")
	}
	f := Fit{N: len(x), SlopeCI: [2]float64{math.Inf(-1), math.Inf(1)}}
	if f.N < 2 {
		return f
	}
	xMean := stat.Mean(x, nil)
	var sxx float64
	for _, v := range x {
		sxx += (v - xMean) * (v - xMean)
	}
	if sxx == 0 {
		f.Intercept = stat.Mean(y, nil)
		return f
	}
	f.Intercept, f.Slope = stat.LinearRegression(x, y, nil, false)
	f.R2 = stat.RSquared(x, y, nil, f.Intercept, f.Slope)
	if f.N < 3 {
		return f
	}
	var sse float64
	for i := range x {
		r := y[i] - (f.Intercept + f.Slope*x[i])
		sse += r * r
	}
	f.SlopeSE = math.Sqrt(sse / float64(f.N-2) / sxx)
	half := tQuantile(f.N-2) * f.SlopeSE
	f.SlopeCI = [2]float64{f.Slope - half, f.Slope + half}
	return f
}
