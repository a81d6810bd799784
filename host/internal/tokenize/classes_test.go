package tokenize

import (
	"testing"
	"unicode"
)

// TestClassTables checks the generated tables (scripts/tokenizer-unicode.js):
// well formed, newer than Go's (every Go letter and number is in them, the
// reverse only for characters Go's Unicode does not know yet), and classes
// that the pattern needs disjoint.
func TestClassTables(t *testing.T) {
	tables := []struct {
		name string
		rs   runeRanges
		goIs func(rune) bool
	}{
		{"letters", letterRanges, unicode.IsLetter},
		{"numbers", numberRanges, unicode.IsNumber},
		{"javascript spaces", jsSpaceRanges, nil},
	}
	for _, tb := range tables {
		t.Run(tb.name, func(t *testing.T) {
			if len(tb.rs) == 0 {
				t.Fatal("empty table")
			}
			for i, r := range tb.rs {
				if r[0] > r[1] || (i > 0 && r[0] <= tb.rs[i-1][1]) {
					t.Fatalf("range %d %x..%x is out of order", i, r[0], r[1])
				}
			}
			if tb.goIs == nil {
				return
			}
			newer := 0
			for r := rune(0); r <= unicode.MaxRune; r++ {
				in, goIn := tb.rs.contains(r), tb.goIs(r)
				switch {
				case goIn && !in:
					t.Fatalf("U+%04X is %s in Go's Unicode %s but not in the tables", r, tb.name, unicode.Version)
				case in && !goIn:
					if unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Cs) {
						t.Fatalf("U+%04X is assigned in Go's Unicode and not %s there, but is in the tables", r, tb.name)
					}
					newer++
				}
			}
			t.Logf("%d %s newer than Go's Unicode %s (tables: %s)", newer, tb.name, unicode.Version, tablesUnicodeVersion)
		})
	}
	for _, r := range []rune{' ', '\t', '\n', 0xA0, 0x3000, 0xFEFF} {
		if !spaceJS.isSpace(r) {
			t.Errorf("U+%04X should be JavaScript \\s", r)
		}
	}
	if spaceJS.isSpace(0x85) || !spaceWhiteSpace.isSpace(0x85) || spaceWhiteSpace.isSpace(0xFEFF) {
		t.Error("U+0085 and U+FEFF must follow their references")
	}
}
