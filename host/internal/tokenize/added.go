package tokenize

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// special is an added token: text matched before the model sees the text,
// and the id it stands for. special marks a control token (<s>, <bos>,
// <|endoftext|>); the others are ordinary text that the files want as one
// token (Gemma 3's "\n\n", "<table>").
type special struct {
	text    string
	id      int64
	special bool
	// lstrip and rstrip: the whitespace before (after) a match is part of
	// it, as Hugging Face's AddedToken flags (Phi-3's <|user|> has rstrip).
	lstrip, rstrip bool
}

// addedTokens finds added tokens in a text the way Hugging Face's
// AddedVocabulary does: leftmost first, the longest at a tie. Tokens are
// indexed by their first two bytes (Gemma 3 has 6,415, most of them
// <unusedN>), longest first, so a position is tried against the few that
// can match there.
type addedTokens struct {
	all   []special
	start [256]bool          // first bytes of the texts of all
	byTwo map[uint16][]int32 // first two bytes → indexes into all, longest first
	one   [256][]int32       // one-byte tokens by their byte
	plain bool               // every added token is special
}

func newAddedTokens(all []special) addedTokens {
	a := addedTokens{all: all, byTwo: make(map[uint16][]int32), plain: true}
	for i, s := range all {
		a.plain = a.plain && s.special
		switch {
		case len(s.text) == 1:
			a.one[s.text[0]] = append(a.one[s.text[0]], int32(i))
		case len(s.text) > 1:
			k := uint16(s.text[0])<<8 | uint16(s.text[1])
			a.byTwo[k] = append(a.byTwo[k], int32(i))
		default:
			continue
		}
		a.start[s.text[0]] = true
	}
	for _, list := range a.byTwo {
		slices.SortStableFunc(list, func(x, y int32) int { return len(all[y].text) - len(all[x].text) })
	}
	return a
}

// next finds the leftmost added token in text, the longest at a tie. Only
// positions holding a first byte are tried.
func (a *addedTokens) next(text string) (int, *special) {
	for i := 0; i < len(text); i++ {
		if !a.start[text[i]] {
			continue
		}
		if i+1 < len(text) {
			for _, k := range a.byTwo[uint16(text[i])<<8|uint16(text[i+1])] {
				if s := &a.all[k]; strings.HasPrefix(text[i:], s.text) {
					return i, s
				}
			}
		}
		if k := a.one[text[i]]; len(k) > 0 {
			return i, &a.all[k[0]]
		}
	}
	return len(text), nil
}

// each calls text for every stretch between added tokens (with its byte
// offset in the input; empty stretches are skipped) and token for each
// added token, in order. With withSpecial false a special token's match is
// left in the text, as Hugging Face's encode_special_tokens does: the
// leftmost-longest match is found over every added token and then skipped,
// so no shorter token is looked for inside it.
func (a *addedTokens) each(input string, withSpecial bool, text func(s string, offset int), token func(*special)) {
	if a.plain && !withSpecial {
		if input != "" {
			text(input, 0) // nothing to find: every match would be skipped
		}
		return
	}
	start, from := 0, 0 // the stretch starts at start; the search at from
	for from < len(input) {
		at, s := a.next(input[from:])
		if s == nil {
			break
		}
		at += from
		if s.special && !withSpecial {
			from = at + len(s.text)
			continue
		}
		end := at + len(s.text)
		for s.lstrip && at > start {
			r, size := utf8.DecodeLastRuneInString(input[start:at])
			if !unicode.IsSpace(r) {
				break
			}
			at -= size
		}
		for s.rstrip && end < len(input) {
			r, size := utf8.DecodeRuneInString(input[end:])
			if !unicode.IsSpace(r) {
				break
			}
			end += size
		}
		if at > start {
			text(input[start:at], start)
		}
		token(s)
		start = end
		from = start
	}
	if start < len(input) {
		text(input[start:], start)
	}
}

func (a *addedTokens) ids() []int64 {
	out := make([]int64, 0, len(a.all))
	for _, s := range a.all {
		out = append(out, s.id)
	}
	return out
}

func (a *addedTokens) has(text string) bool {
	for _, s := range a.all {
		if s.text == text {
			return true
		}
	}
	return false
}

// template is what the post-processor adds around a single text: the ids of
// a TemplateProcessing's special tokens before and after $A.
type template struct {
	before, after []int64
}

// wrap returns before + ids + after, reusing ids' array when it can.
func (t template) wrap(ids []int64) []int64 {
	if len(t.before) == 0 && len(t.after) == 0 {
		return ids
	}
	out := make([]int64, 0, len(t.before)+len(ids)+len(t.after))
	out = append(out, t.before...)
	out = append(out, ids...)
	return append(out, t.after...)
}

// pieceCache remembers the ids of short pre-tokenized pieces; it is dropped
// whole when it grows past maxCacheSize.
type pieceCache struct {
	mu sync.Mutex
	m  map[string][]int32
}

func (c *pieceCache) get(piece string) ([]int32, bool) {
	if len(piece) > maxCachedPiece {
		return nil, false
	}
	c.mu.Lock()
	ids, ok := c.m[piece]
	c.mu.Unlock()
	return ids, ok
}

func (c *pieceCache) put(piece string, ids []int32) {
	if len(piece) > maxCachedPiece {
		return
	}
	kept := append([]int32(nil), ids...)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCacheSize {
		c.m = make(map[string][]int32)
	}
	c.m[strings.Clone(piece)] = kept
	c.mu.Unlock()
}

// reset empties the cache (for benchmarks of a first encode).
func (c *pieceCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
