package tokenize

import "sort"

// runeRanges is a sorted list of inclusive, disjoint character ranges.
type runeRanges [][2]rune

// contains reports whether r falls in one of the ranges.
func (rs runeRanges) contains(r rune) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i][1] >= r })
	return i < len(rs) && rs[i][0] <= r
}

// isLetter is \p{L} and isNumber is \p{N}, in the reference encoder's Unicode
// version (unicode_tables.go) rather than Go's.
func isLetter(r rune) bool { return letterRanges.contains(r) }
func isNumber(r rune) bool { return numberRanges.contains(r) }
