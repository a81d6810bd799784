package stats

import (
	"math"
	"testing"
)

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		b    float64
		want string
	}{
		{0, "0 B"},
		{199.4, "199 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1843.2, "1.8 KiB"},
		{-1843.2, "-1.8 KiB"},
		{64 << 10, "64 KiB"},
		{612 << 20, "612 MiB"},
		{622.71 * (1 << 20), "622.7 MiB"},
		{1073.27 * (1 << 30), "1073 GiB"},
		{12345 * (1 << 30), "12345 GiB"},
		{math.Inf(1), "unbounded"},
		{math.NaN(), "unbounded"},
	} {
		if got := FormatBytes(tc.b); got != tc.want {
			t.Errorf("FormatBytes(%v) = %q, want %q", tc.b, got, tc.want)
		}
	}
}
