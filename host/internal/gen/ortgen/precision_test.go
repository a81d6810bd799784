package ortgen

import (
	"math"
	"testing"
)

// TestToFloat32: the 16-bit rows the generator widens (float16 caches
// and logits through safetensors.F16ToFloat32, bfloat16 by shifting)
// equal the value each of the 65,536 bit patterns encodes, computed here
// from the IEEE 754 definition (sign, exponent, fraction; subnormals,
// infinities; NaNs stay NaN).
func TestToFloat32(t *testing.T) {
	f16, _ := elemTypeOf("float16")
	bf16, _ := elemTypeOf("bfloat16")
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	got16, gotBF := make([]float32, len(src)), make([]float32, len(src))
	f16.toFloat32(got16, src)
	bf16.toFloat32(gotBF, src)
	decode := func(h uint16, expBits, fracBits int) float64 {
		sign := 1.0
		if h>>15 == 1 {
			sign = -1
		}
		e := int(h>>fracBits) & (1<<expBits - 1)
		f := float64(int(h) & (1<<fracBits - 1))
		bias := 1<<(expBits-1) - 1
		switch {
		case e == 1<<expBits-1 && f == 0:
			return math.Inf(int(sign))
		case e == 1<<expBits-1:
			return math.NaN()
		case e == 0:
			return sign * math.Ldexp(f, 1-bias-fracBits)
		}
		return sign * math.Ldexp(1+f/float64(int(1)<<fracBits), e-bias)
	}
	for i, h := range src {
		for _, c := range []struct {
			name string
			got  float32
			want float64
		}{{"float16", got16[i], decode(h, 5, 10)}, {"bfloat16", gotBF[i], decode(h, 8, 7)}} {
			if math.IsNaN(c.want) {
				if !math.IsNaN(float64(c.got)) {
					t.Fatalf("%s %#04x: %g, want NaN", c.name, h, c.got)
				}
				continue
			}
			if float64(c.got) != c.want || math.Signbit(float64(c.got)) != math.Signbit(c.want) {
				t.Fatalf("%s %#04x: %g, want %g", c.name, h, c.got, c.want)
			}
		}
	}
}
