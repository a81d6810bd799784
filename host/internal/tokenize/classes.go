package tokenize

// runeRanges is a sorted list of inclusive, disjoint character ranges.
type runeRanges [][2]rune

// contains reports whether r falls in one of the ranges (binary search).
func (rs runeRanges) contains(r rune) bool {
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if rs[m][1] < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(rs) && rs[lo][0] <= r
}

// isLetter is \p{L} and isNumber is \p{N}, in the reference encoder's Unicode
// version (unicode_tables.go) rather than Go's.
func isLetter(r rune) bool { return letterRanges.contains(r) }
func isNumber(r rune) bool { return numberRanges.contains(r) }
