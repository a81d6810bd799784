package tokenize

import (
	"unicode"
	"unicode/utf8"
)

// GPT2Pattern is the pre-tokenization pattern of GPT-2 (and of every
// byte-level BPE tokenizer that copied it). Go's regexp has no lookahead, so
// splitGPT2 implements it as a hand-written scanner; a tokenizer.json whose
// Split pre-tokenizer carries exactly this pattern is accepted.
const GPT2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// runeClass is what the GPT-2 pattern distinguishes about a character.
type runeClass uint8

const (
	classOther  runeClass = iota // [^\s\p{L}\p{N}], and every byte of invalid UTF-8
	classLetter                  // \p{L}
	classNumber                  // \p{N}
	classSpace                   // \s
)

// spaceSet selects what \s means. The two references disagree on four
// characters: JavaScript's \s (the npm gpt-3-encoder reference) includes
// U+FEFF and excludes U+0085; Unicode White_Space (Oniguruma in Hugging Face
// tokenizers, Go's unicode.IsSpace) is the reverse.
type spaceSet uint8

const (
	spaceJS         spaceSet = iota // ECMAScript WhiteSpace + LineTerminator
	spaceWhiteSpace                 // Unicode White_Space
)

func (s spaceSet) String() string {
	if s == spaceJS {
		return "javascript"
	}
	return "unicode-white-space"
}

// asciiClass classifies the ASCII range without a table lookup; spaceSet
// does not matter below U+0080.
var asciiClass = func() (t [utf8.RuneSelf]runeClass) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			t[r] = classLetter
		case r >= '0' && r <= '9':
			t[r] = classNumber
		case r == ' ', r >= '\t' && r <= '\r':
			t[r] = classSpace
		}
	}
	return t
}()

func (s spaceSet) isSpace(r rune) bool {
	if s == spaceJS {
		return jsSpaceRanges.contains(r)
	}
	return unicode.IsSpace(r)
}

// classify returns the class of the character starting at text[i] and its
// width in bytes. A byte that does not start valid UTF-8 is one character of
// class other, so every input splits and every byte is kept.
func (s spaceSet) classify(text string, i int) (runeClass, int) {
	if c := text[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(text[i:])
	switch {
	case r == utf8.RuneError && w == 1:
		return classOther, 1
	case isLetter(r):
		return classLetter, w
	case isNumber(r):
		return classNumber, w
	case s.isSpace(r):
		return classSpace, w
	}
	return classOther, w
}

// splitGPT2 calls emit with each piece of text that GPT2Pattern matches, in
// order; the pieces concatenate to text. Alternatives are tried in the
// pattern's order, exactly as a backtracking regex engine would.
func splitGPT2(text string, spaces spaceSet, emit func(piece string)) {
	for i := 0; i < len(text); {
		n := gpt2PieceLen(text, i, spaces)
		emit(text[i : i+n])
		i += n
	}
}

// gpt2PieceLen returns the byte length of the piece that starts at text[i].
func gpt2PieceLen(text string, i int, spaces spaceSet) int {
	// 's|'t|'re|'ve|'m|'ll|'d
	if text[i] == '\'' && i+1 < len(text) {
		switch text[i+1] {
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v':
			if i+2 < len(text) && text[i+2] == 'e' {
				return 3
			}
		case 'l':
			if i+2 < len(text) && text[i+2] == 'l' {
				return 3
			}
		}
	}
	// ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': an optional ASCII space, then a
	// run of one class.
	start := i
	if text[i] == ' ' && i+1 < len(text) {
		if c, _ := spaces.classify(text, i+1); c != classSpace {
			i++
		}
	}
	class, w := spaces.classify(text, i)
	if class != classSpace {
		for i += w; i < len(text); i += w {
			var c runeClass
			if c, w = spaces.classify(text, i); c != class {
				break
			}
		}
		return i - start
	}
	// '\s+(?!\S)|\s+': a whitespace run, less its last character when a
	// non-space follows (that character then starts the next piece, where
	// ' ?X' can take it), unless the run is a single character.
	var last int // start of the run's last character
	for w := 0; i < len(text); i += w {
		var c runeClass
		if c, w = spaces.classify(text, i); c != classSpace {
			break
		}
		last = i
	}
	if i < len(text) && last > start {
		return last - start
	}
	return i - start
}
