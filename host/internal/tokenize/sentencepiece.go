package tokenize

import (
	"container/heap"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// metaspace is SentencePiece's stand-in for a space, U+2581 "▁".
const metaspace = "\u2581"

// SentencePiece is a SentencePiece-style BPE from a tokenizer.json (Llama 2,
// Mistral, TinyLlama, Phi-3, Gemma): spaces become ▁ (a normalizer's
// Replace, or the Metaspace pre-tokenizer), the text is merged from Unicode
// characters, and a character outside the vocabulary falls back to its
// UTF-8 bytes as <0xNN> tokens. It follows Hugging Face's tokenizers: the
// normalizer and pre-tokenizer run on each stretch between added tokens,
// merges are taken lowest rank first and leftmost at a tie, one at a time
// (a pair a merge makes competes at once), and the post-processor's tokens
// (the BOS) wrap the result. It is safe for concurrent use.
type SentencePiece struct {
	vocab  map[string]int32 // token → id
	tokens []string         // id → token, "" for a gap
	chars  map[rune]int32   // the single-character tokens
	// joins holds every pair of adjacent characters inside a token. Where
	// two characters that are tokens themselves are not such a pair, no
	// merge can join across them, so a piece is merged in independent
	// chunks cut there (the result is the same, and chunks hit the cache).
	joins        map[uint64]struct{}
	merges       mergeTable
	byteIDs      [256]int32 // <0xNN>, or -1 when the vocabulary lacks it
	byteFallback bool
	unk          int32 // -1 when there is no unk token
	fuseUnk      bool
	ignoreMerges bool
	normalize    func(string) string
	pre          []spPre
	added        addedTokens
	post         template
	decoders     []spDecoder
	eos          int64
	vocabSize    int
	source       string
	cache        pieceCache
	workspaces   sync.Pool
}

var (
	_ Tokenizer      = (*SentencePiece)(nil)
	_ SpecialEncoder = (*SentencePiece)(nil)
)

// spPre is one pre-tokenizer step: Metaspace, or a Split on a literal.
type spPre struct {
	// Metaspace: replace ' ' with replacement, prepend it (always, or to
	// the stretch that starts the text when first), split before each.
	replacement string
	prepend     string // "always", "first" or "never"
	splitMeta   bool
	// Split on a literal (when literal != "").
	literal  string
	behavior string // Removed, Isolated, MergedWithPrevious, MergedWithNext
}

// spDecoder is one decoder step over the list of token strings.
type spDecoder struct {
	kind        string // Replace, ByteFallback, Fuse, Strip, Metaspace
	from, to    string // Replace
	content     rune   // Strip
	start, stop int    // Strip
	metaPrepend bool   // Metaspace: the first token's ▁ are dropped
	replacement rune   // Metaspace
}

// spSpec is what the tokenizer.json yields.
type spSpec struct {
	source       string
	vocab        map[string]int32
	merges       [][2]string
	byteFallback bool
	unk          string
	fuseUnk      bool
	ignoreMerges bool
	normalize    func(string) string
	pre          []spPre
	specials     []special
	post         template
	decoders     []spDecoder
}

func newSentencePiece(spec spSpec) (*SentencePiece, error) {
	t := &SentencePiece{
		vocab:        spec.vocab,
		merges:       make(mergeTable, len(spec.merges)),
		byteFallback: spec.byteFallback,
		unk:          -1,
		fuseUnk:      spec.fuseUnk,
		ignoreMerges: spec.ignoreMerges,
		normalize:    spec.normalize,
		pre:          spec.pre,
		added:        newAddedTokens(spec.specials),
		post:         spec.post,
		decoders:     spec.decoders,
		source:       spec.source,
	}
	size, err := vocabSize(spec.source, spec.vocab, spec.specials)
	if err != nil {
		return nil, err
	}
	t.vocabSize = size
	t.tokens = make([]string, t.vocabSize)
	for tok, id := range spec.vocab {
		if t.tokens[id] != "" {
			return nil, fmt.Errorf("%s: id %d is given to two tokens (one is %q)", spec.source, id, tok)
		}
		t.tokens[id] = tok
	}
	for _, s := range spec.specials {
		t.tokens[s.id] = s.text
	}
	t.chars = make(map[rune]int32)
	t.joins = make(map[uint64]struct{})
	for tok, id := range spec.vocab {
		prev := rune(-1)
		for i, r := range tok {
			if i == 0 && len(tok) == utf8.RuneLen(r) {
				t.chars[r] = id
			}
			if prev >= 0 {
				t.joins[runePair(prev, r)] = struct{}{}
			}
			prev = r
		}
	}
	for b := 0; b < 256; b++ {
		t.byteIDs[b] = -1
		if id, ok := spec.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.byteIDs[b] = id
		} else if spec.byteFallback {
			return nil, fmt.Errorf("%s: byte_fallback is set but the vocabulary lacks <0x%02X>: not a complete SentencePiece vocabulary", spec.source, b)
		}
	}
	if spec.unk != "" {
		id, ok := spec.vocab[spec.unk]
		if !ok {
			return nil, fmt.Errorf("%s: model.unk_token %q is not in the vocabulary", spec.source, spec.unk)
		}
		t.unk = id
	}
	for i, m := range spec.merges {
		left, okL := spec.vocab[m[0]]
		right, okR := spec.vocab[m[1]]
		joined, okJ := spec.vocab[m[0]+m[1]]
		switch {
		case !okL || !okR:
			return nil, fmt.Errorf("%s: model.merges[%d] %q %q names a token that is not in the vocabulary", spec.source, i, m[0], m[1])
		case !okJ:
			return nil, fmt.Errorf("%s: model.merges[%d] %q %q makes %q, which is not in the vocabulary", spec.source, i, m[0], m[1], m[0]+m[1])
		}
		// A repeated pair keeps its last rank, as newBPE does (TestRepeatedMergeKeepsItsLastRank).
		t.merges[pairKey(left, right)] = merge{rank: int32(i), id: joined}
	}
	t.workspaces.New = func() any { return new(workspace) }
	return t, nil
}

// Encode implements Tokenizer: the post-processor's tokens (the BOS) around
// the text's tokens. Special added tokens (<s>, <bos>) written in the text
// are plain text; the other added tokens (Gemma 3's "\n\n", "<table>") are
// recognised, as Hugging Face's encode_special_tokens has it.
func (t *SentencePiece) Encode(text string) []int64 { return t.post.wrap(t.encode(text, false)) }

// EncodeSpecial implements SpecialEncoder: Hugging Face's default encode,
// every added token recognised.
func (t *SentencePiece) EncodeSpecial(text string) []int64 {
	return t.post.wrap(t.encode(text, true))
}

func (t *SentencePiece) encode(text string, withSpecial bool) []int64 {
	ids := make([]int64, 0, len(text)/3+1)
	t.added.each(text, withSpecial,
		func(s string, offset int) { ids = t.appendText(ids, s, offset) },
		func(s *special) { ids = append(ids, s.id) })
	return ids
}

// appendText normalizes and pre-tokenizes one stretch (offset is where it
// starts in the input, for Metaspace's prepend_scheme first) and merges each
// piece.
func (t *SentencePiece) appendText(ids []int64, text string, offset int) []int64 {
	if t.normalize != nil {
		text = t.normalize(text)
	}
	pieces := []string{text}
	for _, p := range t.pre {
		next := pieces[:0:0]
		for _, s := range pieces {
			next = p.split(next, s, offset)
		}
		pieces = next
	}
	for _, p := range pieces {
		if p != "" {
			ids = t.appendPiece(ids, p)
		}
	}
	return ids
}

// split applies one pre-tokenizer step to s, appending the pieces to out.
func (p spPre) split(out []string, s string, offset int) []string {
	if p.literal != "" {
		return splitLiteral(out, s, p.literal, p.behavior)
	}
	s = strings.ReplaceAll(s, " ", p.replacement)
	if (p.prepend == "always" || p.prepend == "first" && offset == 0) && !strings.HasPrefix(s, p.replacement) {
		s = p.replacement + s
	}
	if !p.splitMeta {
		return append(out, s)
	}
	return splitLiteral(out, s, p.replacement, "MergedWithNext")
}

// splitLiteral splits s at each occurrence of sep, keeping sep as its own
// piece (Isolated), dropping it (Removed), or joining it to the piece before
// (MergedWithPrevious) or after (MergedWithNext).
func splitLiteral(out []string, s, sep, behavior string) []string {
	for len(s) > 0 {
		i := strings.Index(s, sep)
		if i < 0 {
			return append(out, s)
		}
		switch behavior {
		case "Removed":
			out = appendNonEmpty(out, s[:i])
		case "Isolated":
			out = appendNonEmpty(out, s[:i])
			out = append(out, sep)
		case "MergedWithPrevious":
			out = append(out, s[:i+len(sep)])
		case "MergedWithNext":
			out = appendNonEmpty(out, s[:i])
			// The separator starts the next piece: find the one after it.
			j := strings.Index(s[i+len(sep):], sep)
			if j < 0 {
				return append(out, s[i:])
			}
			out = append(out, s[i:i+len(sep)+j])
			s = s[i+len(sep)+j:]
			continue
		}
		s = s[i+len(sep):]
	}
	return out
}

func appendNonEmpty(out []string, s string) []string {
	if s == "" {
		return out
	}
	return append(out, s)
}

func runePair(a, b rune) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// appendPiece encodes one piece: as a whole token (ignore_merges), else in
// the chunks no merge can join (see joins).
func (t *SentencePiece) appendPiece(ids []int64, piece string) []int64 {
	if t.ignoreMerges {
		if id, ok := t.vocab[piece]; ok {
			return append(ids, int64(id))
		}
	}
	start := 0
	prev, prevChar := rune(-1), false
	for i, r := range piece {
		_, isChar := t.chars[r]
		if r == utf8.RuneError && !strings.HasPrefix(piece[i:], "\uFFFD") {
			isChar = false // an invalid byte
		}
		if i > start && prevChar && isChar {
			if _, joined := t.joins[runePair(prev, r)]; !joined {
				ids = t.appendChunk(ids, piece[start:i])
				start = i
			}
		}
		prev, prevChar = r, isChar
	}
	return t.appendChunk(ids, piece[start:])
}

// appendChunk merges one chunk through the cache.
func (t *SentencePiece) appendChunk(ids []int64, piece string) []int64 {
	if hit, ok := t.cache.get(piece); ok {
		for _, id := range hit {
			ids = append(ids, int64(id))
		}
		return ids
	}
	ws := t.workspaces.Get().(*workspace)
	out := t.mergeWord(ws, piece)
	for _, id := range out {
		ids = append(ids, int64(id))
	}
	t.cache.put(piece, out)
	if cap(ws.sym) <= maxPooledSymbols {
		t.workspaces.Put(ws)
	}
	return ids
}

// mergeWord is Hugging Face's BPE merge_word then merge_all: one symbol per
// character (its <0xNN> bytes when the vocabulary lacks it and byte
// fallback is on, else unk, consecutive unks fused when fuse_unk), then the
// merge of lowest rank, leftmost at a tie, one at a time until none is left.
// The result aliases ws.
func (t *SentencePiece) mergeWord(ws *workspace, piece string) []int32 {
	ws.sym = ws.sym[:0]
	add := func(id int32) {
		n := int32(len(ws.sym))
		ws.sym = append(ws.sym, symbol{id: id, prev: n - 1, next: n + 1})
	}
	pendingUnk := false
	for i, r := range piece {
		size := utf8.RuneLen(r)
		if r == utf8.RuneError && !strings.HasPrefix(piece[i:], "\uFFFD") {
			size = 1 // an invalid byte: its own byte token
		}
		ch := piece[i : i+size]
		if id, ok := t.chars[r]; ok && size == utf8.RuneLen(r) {
			if pendingUnk {
				add(t.unk)
				pendingUnk = false
			}
			add(id)
			continue
		}
		if t.byteFallback {
			for k := 0; k < len(ch); k++ {
				add(t.byteIDs[ch[k]])
			}
			continue
		}
		if t.unk >= 0 {
			if pendingUnk && !t.fuseUnk {
				add(t.unk)
			}
			pendingUnk = true
		}
	}
	if pendingUnk {
		add(t.unk)
	}
	if len(ws.sym) == 0 {
		ws.out = ws.out[:0]
		return ws.out
	}
	ws.sym[len(ws.sym)-1].next = -1
	t.merges.seed(ws)
	for ws.queue.Len() > 0 {
		// One merge at a time: the pairs it makes compete at once.
		ws.pending = ws.pending[:0]
		t.merges.apply(ws, heap.Pop(&ws.queue).(candidate))
		for _, c := range ws.pending {
			heap.Push(&ws.queue, c)
		}
	}
	return ws.ids()
}

// Decode implements Tokenizer: each id's token (an added token's text as
// is) through the file's decoders, as Hugging Face's decode with
// skip_special_tokens false. An id outside the vocabulary decodes to U+FFFD.
func (t *SentencePiece) Decode(ids []int64) string {
	toks := make([]string, len(ids))
	for i, id := range ids {
		if id < 0 || id >= int64(len(t.tokens)) || t.tokens[id] == "" {
			toks[i] = "\uFFFD"
			continue
		}
		toks[i] = t.tokens[id]
	}
	for _, d := range t.decoders {
		toks = d.apply(toks)
	}
	return strings.Join(toks, "")
}

func (d spDecoder) apply(toks []string) []string {
	switch d.kind {
	case "Replace":
		for i, s := range toks {
			toks[i] = strings.ReplaceAll(s, d.from, d.to)
		}
	case "Fuse":
		return []string{strings.Join(toks, "")}
	case "ByteFallback":
		return byteFallbackDecode(toks)
	case "Strip":
		for i, s := range toks {
			toks[i] = stripRunes(s, d.content, d.start, d.stop)
		}
	case "Metaspace":
		for i, s := range toks {
			drop := i == 0 && d.metaPrepend
			toks[i] = strings.Map(func(r rune) rune {
				switch {
				case r != d.replacement:
					return r
				case drop:
					return -1
				}
				return ' '
			}, s)
		}
	}
	return toks
}

// byteFallbackDecode turns each run of <0xNN> tokens into its bytes, or into
// one U+FFFD per byte when the run is not valid UTF-8.
func byteFallbackDecode(toks []string) []string {
	out := make([]string, 0, len(toks))
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if utf8.Valid(run) {
			out = append(out, string(run))
		} else {
			out = append(out, strings.Repeat("\uFFFD", len(run)))
		}
		run = run[:0]
	}
	for _, s := range toks {
		if b, ok := byteToken(s); ok {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, s)
	}
	flush()
	return out
}

// byteToken reads a <0xNN> token (hex digits in either case).
func byteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexDigit(s[3])
	lo, ok2 := hexDigit(s[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// stripRunes removes up to start leading and stop trailing content runes.
func stripRunes(s string, content rune, start, stop int) string {
	r := []rune(s)
	lo := 0
	for lo < start && lo < len(r) && r[lo] == content {
		lo++
	}
	hi := len(r)
	for k := 0; k < stop && hi > lo && r[hi-1] == content; k++ {
		hi--
	}
	return string(r[lo:hi])
}

// VocabSize implements Tokenizer: one more than the largest id.
func (t *SentencePiece) VocabSize() int { return t.vocabSize }

// EOS implements Tokenizer; -1 when the files name no end-of-text token.
func (t *SentencePiece) EOS() int64 { return t.eos }

// SpecialIDs returns the ids of the added tokens.
func (t *SentencePiece) SpecialIDs() []int64 { return t.added.ids() }

// String names the tokenizer and where it came from.
func (t *SentencePiece) String() string {
	return fmt.Sprintf("SentencePiece-style BPE (%d tokens, %d merges) from %s", t.vocabSize, len(t.merges), t.source)
}
