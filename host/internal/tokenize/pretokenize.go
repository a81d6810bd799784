package tokenize

import (
	"unicode"
	"unicode/utf8"
)

// The pre-tokenization patterns pipe implements, as hand-written scanners
// (Go's regexp has no lookahead). A tokenizer.json whose Split pre-tokenizer
// carries exactly one of these patterns is accepted.
const (
	// GPT2Pattern is GPT-2's (and that of every byte-level BPE that copied it).
	GPT2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// Llama3Pattern is tiktoken's cl100k_base pattern as Llama 3 ships it:
	// case-insensitive contractions, numbers in groups of up to three.
	Llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// Qwen2Pattern is Llama3Pattern with every digit its own piece.
	Qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// splitter pre-tokenizes text with one of the patterns above.
type splitter struct {
	spaces spaceSet
	// maxDigits is 0 for GPT2Pattern; for the cl100k family, the most
	// numbers in one piece (3 for Llama3Pattern, 1 for Qwen2Pattern).
	maxDigits int
}

// splitterFor returns the splitter for a pattern, or false if pipe has
// none for it.
func splitterFor(pattern string, spaces spaceSet) (splitter, bool) {
	switch pattern {
	case GPT2Pattern:
		return splitter{spaces: spaces}, true
	case Llama3Pattern:
		return splitter{spaces: spaces, maxDigits: 3}, true
	case Qwen2Pattern:
		return splitter{spaces: spaces, maxDigits: 1}, true
	}
	return splitter{}, false
}

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

// split calls emit with each piece of text that the pattern matches, in
// order; the pieces concatenate to text. Alternatives are tried in the
// pattern's order, exactly as a backtracking regex engine would.
func (sp splitter) split(text string, emit func(piece string)) {
	for i := 0; i < len(text); {
		var n int
		if sp.maxDigits == 0 {
			n = gpt2PieceLen(text, i, sp.spaces)
		} else {
			n = cl100kPieceLen(text, i, sp.spaces, sp.maxDigits)
		}
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

// cl100kPieceLen returns the byte length of the piece that starts at text[i]
// under Llama3Pattern (maxDigits 3) or Qwen2Pattern (maxDigits 1).
func cl100kPieceLen(text string, i int, spaces spaceSet, maxDigits int) int {
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if n := contractionLen(text, i); n > 0 {
		return n
	}
	class, w := spaces.classify(text, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+: letters, or one other character (a space,
	// a tab, punctuation; not a line break) and then letters.
	if class == classLetter {
		return runLen(text, i, spaces, classLetter, -1)
	}
	if class != classNumber && text[i] != '\r' && text[i] != '\n' && i+w < len(text) {
		if c, _ := spaces.classify(text, i+w); c == classLetter {
			return w + runLen(text, i+w, spaces, classLetter, -1)
		}
	}
	// \p{N}{1,maxDigits}
	if class == classNumber {
		return runLen(text, i, spaces, classNumber, maxDigits)
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	j := i
	if text[j] == ' ' && j+1 < len(text) {
		if c, _ := spaces.classify(text, j+1); c == classOther {
			j++
		}
	}
	if c, _ := spaces.classify(text, j); c == classOther {
		j += runLen(text, j, spaces, classOther, -1)
		for j < len(text) && (text[j] == '\r' || text[j] == '\n') {
			j++
		}
		return j - i
	}
	// What is left starts a whitespace run. '\s*[\r\n]+': the run up to and
	// including its last line break, if it has one.
	end, last, lastBreak := i, i, -1
	for end < len(text) {
		c, w := spaces.classify(text, end)
		if c != classSpace {
			break
		}
		if text[end] == '\r' || text[end] == '\n' {
			lastBreak = end
		}
		last = end
		end += w
	}
	if lastBreak >= 0 {
		return lastBreak + 1 - i
	}
	// '\s+(?!\S)|\s+', as in GPT2Pattern.
	if end < len(text) && last > i {
		return last - i
	}
	return end - i
}

// contractionLen matches (?i:'s|'t|'re|'ve|'m|'ll|'d) at text[i]: the
// letters in any case, and U+017F (long s), which case-folds to s.
func contractionLen(text string, i int) int {
	if text[i] != '\'' || i+1 >= len(text) {
		return 0
	}
	fold := func(j int) (rune, int) {
		if j >= len(text) {
			return 0, 0
		}
		r, w := utf8.DecodeRuneInString(text[j:])
		if r == 0x17F {
			return 's', w
		}
		return unicode.ToLower(r), w
	}
	r1, w1 := fold(i + 1)
	switch r1 {
	case 's', 't', 'm', 'd':
		return 1 + w1
	case 'r', 'v', 'l':
		want := 'e'
		if r1 == 'l' {
			want = 'l'
		}
		if r2, w2 := fold(i + 1 + w1); r2 == want {
			return 1 + w1 + w2
		}
	}
	return 0
}

// runLen returns the byte length of the run of class that starts at
// text[i], at most limit characters when limit > 0.
func runLen(text string, i int, spaces spaceSet, class runeClass, limit int) int {
	start := i
	for n := 0; i < len(text) && n != limit; n++ {
		c, w := spaces.classify(text, i)
		if c != class {
			break
		}
		i += w
	}
	return i - start
}
