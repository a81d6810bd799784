package stats

import (
	"math"
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
	// bounds the slope: the interval is the whole float64 line
	// [−MaxFloat64, +MaxFloat64] (finite, so it encodes); Bounded says so.
	SlopeCI [2]float64 `json:"slope_ci"`
	// R2 is the coefficient of determination. For a flat y (no variation
	// to explain) it is 1 when the line fits every point and 0 otherwise
	// (scikit-learn's force_finite convention), never NaN.
	R2 float64 `json:"r2"`
	// Dropped counts the (x, y) pairs left out because either was NaN or ±Inf.
	Dropped int `json:"dropped,omitempty"`
}

// unbounded is the interval of a slope nothing bounds.
var unbounded = [2]float64{-math.MaxFloat64, math.MaxFloat64}

// Bounded reports whether the slope's interval is bounded (narrower than
// the whole float64 line).
func (f Fit) Bounded() bool {
	return f.SlopeCI[0] > -math.MaxFloat64 && f.SlopeCI[1] < math.MaxFloat64
}

// Regress fits y on x by least squares and adds the slope's 95 % interval,
// which phase 3's leak detector judges: RSS after each run regressed on the
// run index gives bytes per run. x and y must have equal lengths. Pairs with
// a non-finite member are left out (Fit.Dropped). The sums are taken on x
// and y scaled by powers of two (exact), so values near MaxFloat64 do not
// overflow; every field of the Fit is finite.
func Regress(x, y []float64) Fit {
	if len(x) != len(y) {
		panic("stats.Regress: x and y differ in length")
	}
	var xs, ys []float64
	dropped := 0
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			dropped++
			continue
		}
		xs, ys = append(xs, x[i]), append(ys, y[i])
	}
	f := Fit{N: len(xs), SlopeCI: unbounded, Dropped: dropped}
	if f.N == 0 {
		return f
	}
	ex, ey := scaleExp(xs), scaleExp(ys)
	sx, sy := scaled(xs, ex), scaled(ys, ey)
	xMean, _ := meanStd(sx)
	yMean, _ := meanStd(sy)
	var sxx, sxy, syy float64
	for i := range sx {
		dx, dy := sx[i]-xMean, sy[i]-yMean
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if f.N < 2 || sxx == 0 {
		f.Intercept = saturate(math.Ldexp(yMean, ey))
		return f
	}
	// In scaled units: slope b = Sxy/Sxx, intercept a = ȳ − b·x̄.
	b := sxy / sxx
	a := yMean - b*xMean
	var sse float64
	for i := range sx {
		r := sy[i] - (a + b*sx[i])
		sse += r * r
	}
	f.Slope = saturate(math.Ldexp(b, ey-ex))
	f.Intercept = saturate(math.Ldexp(a, ey))
	switch {
	case syy > 0:
		f.R2 = max(0, 1-sse/syy)
	case sse == 0:
		f.R2 = 1
	}
	if f.N < 3 {
		return f
	}
	se := math.Sqrt(sse / float64(f.N-2) / sxx)
	f.SlopeSE = saturate(math.Ldexp(se, ey-ex))
	half := saturate(tQuantile(f.N-2) * f.SlopeSE)
	f.SlopeCI = [2]float64{saturate(f.Slope - half), saturate(f.Slope + half)}
	return f
}
