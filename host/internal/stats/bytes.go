package stats

import (
	"math"
	"strconv"
)

// FormatBytes renders a byte count (or the bytes of a rate, such as a leak
// slope per run) in the largest binary unit it reaches, with at most four
// significant figures and no trailing zeros: "199 B", "1.8 KiB",
// "612 MiB", "1073 GiB"; a negative count keeps its sign, and a
// non-finite one — an interval with no bound — reads "unbounded". Every
// report, the plan's description and the leak verdict's reasons print
// bytes through it.
func FormatBytes(b float64) string {
	if math.IsInf(b, 0) || math.IsNaN(b) {
		return "unbounded"
	}
	for _, u := range []struct {
		name string
		size float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v := b / u.size; math.Abs(v) >= 1e4 {
			return strconv.FormatFloat(v, 'f', 0, 64) + " " + u.name // 'g' would write 1e+04
		} else if math.Abs(b) >= u.size {
			return strconv.FormatFloat(v, 'g', 4, 64) + " " + u.name
		}
	}
	return strconv.FormatFloat(math.Round(b), 'f', -1, 64) + " B"
}
