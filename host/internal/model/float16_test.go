package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/safetensors"
)

// TestFloat16Bits: the builder's float32 → float16 rounding gives back
// every float16 exactly (all 65,536 bit patterns; NaNs stay NaN), and for
// a million random float32s across float16's range (subnormals, ties and
// overflow included) the float16 it picks is a nearest one, ties to even.
func TestFloat16Bits(t *testing.T) {
	f16 := safetensors.F16ToFloat32
	for h := range 1 << 16 {
		f := f16(uint16(h))
		got := float16Bits(f)
		if math.IsNaN(float64(f)) {
			if !math.IsNaN(float64(f16(got))) {
				t.Fatalf("NaN %#04x rounds to %#04x, not a NaN", h, got)
			}
			continue
		}
		if got != uint16(h) {
			t.Fatalf("float16 %#04x (%g) rounds back to %#04x", h, f, got)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 1_000_000 {
		var f float32
		switch i % 4 {
		case 0: // any magnitude float16 holds, and past it
			f = float32(math.Ldexp(r.Float64()+0.5, r.IntN(46)-30))
		case 1: // exact ties: halfway between neighbouring float16s
			h := uint16(r.IntN(0x7bff))
			f = float32((float64(f16(h)) + float64(f16(h+1))) / 2)
		case 2: // subnormals
			f = float32(r.Float64() * math.Ldexp(1, -14))
		default:
			f = float32(r.NormFloat64())
		}
		if r.IntN(2) == 0 {
			f = -f
		}
		got := float16Bits(f)
		d := math.Abs(float64(f16(got)) - float64(f))
		if math.Abs(float64(f)) >= 65520 { // rounds to ±Inf (65504 + half a step)
			if !math.IsInf(float64(f16(got)), 0) {
				t.Fatalf("%g rounds to %g, want ±Inf", f, f16(got))
			}
			continue
		}
		for _, nb := range []uint16{got - 1, got + 1} {
			if nb&0x7c00 == 0x7c00 { // past the finite range
				continue
			}
			nd := math.Abs(float64(f16(nb)) - float64(f))
			if nd < d || nd == d && got&1 == 1 {
				t.Fatalf("%g rounds to %#04x (%g), but %#04x (%g) is nearer or the even tie", f, got, f16(got), nb, f16(nb))
			}
		}
	}
}
