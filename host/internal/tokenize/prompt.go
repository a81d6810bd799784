package tokenize

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// seededStream is the second PCG word; fixed so SeededIDs(n, vocab, seed)
// is the same on every machine and Go version.
const seededStream = 0x70697065 // "pipe"

// SeededIDs returns n token ids drawn uniformly and deterministically from
// seed. It draws from [0, vocab-1): the last id is left out because byte-level
// vocabularies put <|endoftext|> there (GPT-2's 50256), and a benchmark prompt
// must not contain it. Use SeededIDsAvoiding to leave out other ids. It
// returns nil when n < 1 or vocab < 2.
func SeededIDs(n, vocab int, seed uint64) []int64 {
	if vocab < 2 {
		return nil
	}
	return SeededIDsAvoiding(n, vocab, seed, int64(vocab-1))
}

// SeededIDsAvoiding is SeededIDs drawing from [0, vocab) less avoid (ids
// outside the range are ignored). It returns nil when n < 1 or nothing is
// left to draw from. The sequence depends only on n, vocab, seed and avoid:
// a prefix of a longer prompt with the same seed is the shorter prompt.
func SeededIDsAvoiding(n, vocab int, seed uint64, avoid ...int64) []int64 {
	if n < 1 || vocab < 1 {
		return nil
	}
	skip := make(map[int64]bool, len(avoid))
	for _, a := range avoid {
		if a >= 0 && a < int64(vocab) {
			skip[a] = true
		}
	}
	if len(skip) == vocab {
		return nil
	}
	rng := rand.NewPCG(seed, seededStream)
	ids := make([]int64, 0, n)
	for len(ids) < n {
		id := int64(boundedUint64(rng, uint64(vocab)))
		if !skip[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// ReservedIDs returns the ids a random prompt should leave out for t: its
// special (added) tokens and its EOS. Pass them to SeededIDsAvoiding when the
// tokenizer is known; SeededIDs alone only knows to leave out the last id.
func ReservedIDs(t Tokenizer) []int64 {
	var ids []int64
	if s, ok := t.(interface{ SpecialIDs() []int64 }); ok {
		ids = s.SpecialIDs()
	}
	if eos := t.EOS(); eos >= 0 && !slices.Contains(ids, eos) {
		ids = append(ids, eos)
	}
	return ids
}

// boundedUint64 draws uniformly from [0, bound) with Lemire's
// multiply-and-reject, written here so the sequence cannot change with the
// standard library's choice of reduction.
func boundedUint64(src *rand.PCG, bound uint64) uint64 {
	for {
		x := src.Uint64()
		hi, lo := bits.Mul64(x, bound)
		if lo >= bound || lo >= (-bound)%bound {
			return hi
		}
	}
}

// PromptFromText returns exactly n token ids taken from text. When text
// encodes to more than n tokens it is cut at n; when to fewer, the text is
// repeated (copies joined by a newline unless the text already ends in
// whitespace) and the repetition is encoded and cut, because a benchmark needs
// exactly n tokens and a short prompt file should not end the run. Special
// tokens in the text are plain text, and the post-processor's BOS (Llama 2's
// <s>, Gemma's <bos>) comes first, once, counted in n (see Tokenizer.Encode
// and TestPromptFromTextSentencePiece). The cut may fall
// inside a word; the ids are what is fed to the model, so that is harmless.
func PromptFromText(t Tokenizer, text string, n int) ([]int64, error) {
	switch {
	case t == nil:
		return nil, errors.New("prompt: no tokenizer loaded")
	case n < 1:
		return nil, fmt.Errorf("prompt: %d tokens asked for; a prompt needs at least 1", n)
	case strings.TrimSpace(text) == "":
		return nil, errors.New("prompt: the prompt text is empty: give a text file with some content, or use seeded prompt ids")
	}
	ids := t.Encode(text)
	if len(ids) >= n {
		return ids[:n:n], nil
	}
	unit := text
	if r, _ := utf8.DecodeLastRuneInString(text); !unicode.IsSpace(r) {
		unit += "\n"
	}
	// Each extra copy adds at least the tokens of one copy minus the one
	// that may merge across the join; one spare copy covers that.
	copies := n/max(1, len(t.Encode(unit))-1) + 2
	ids = t.Encode(strings.Repeat(unit, copies))
	if len(ids) < n {
		return nil, fmt.Errorf("prompt: %d tokens asked for, but %d copies of the text give only %d", n, copies, len(ids))
	}
	return ids[:n:n], nil
}
