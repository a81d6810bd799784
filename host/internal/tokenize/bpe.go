package tokenize

import (
	"container/heap"
	"fmt"
	"strings"
	"sync"
)

// byteToRune is GPT-2's bytes_to_unicode: the printable bytes of Latin-1 stand
// for themselves, the other 68 bytes for U+0100 upwards in byte order. Vocab
// and merges files spell tokens in these characters.
var byteToRune = func() (t [256]rune) {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = 256 + n
			n++
		}
	}
	return t
}()

// runeToByte inverts byteToRune; entries for runes outside it are -1.
var runeToByte = func() (t [324]int16) {
	for i := range t {
		t[i] = -1
	}
	for b, r := range byteToRune {
		t[r] = int16(b)
	}
	return t
}()

// tokenBytes turns a token spelled in byteToRune characters back into the
// bytes it stands for; ok is false when it holds another character.
func tokenBytes(token string) (b []byte, ok bool) {
	b = make([]byte, 0, len(token))
	for _, r := range token {
		if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
			return nil, false
		}
		b = append(b, byte(runeToByte[r]))
	}
	return b, true
}

// merge is what one merge rule does: the pair's rank (its line in the merges
// list, lower first) and the id of the token it makes.
type merge struct {
	rank int32
	id   int32
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

// mergeTable maps a pair of token ids (pairKey) to its merge. BPE and
// SentencePiece differ in the order they take merges in, not in what one
// merge does, which is here.
type mergeTable map[uint64]merge

// BPE is a byte-level BPE tokenizer: a pre-tokenizer pattern (GPT-2's, or
// the cl100k family's), then merges by rank on each piece's bytes. It is
// safe for concurrent use.
type BPE struct {
	pieces       [][]byte         // id → the bytes it decodes to
	byteIDs      [256]int32       // id of each single-byte token
	merges       mergeTable       // (left id, right id) → merge
	vocab        map[string]int32 // pieces as strings → id, for ignoreMerges
	split        splitter
	normalize    func(string) string // nil, or NFC (a tokenizer.json normalizer)
	prefix       bool                // add a space before text that does not start with one (HF add_prefix_space)
	ignoreMerges bool                // a piece that is a whole token is taken as is (HF ignore_merges)
	added        addedTokens
	post         template // what the post-processor adds around the text
	eos          int64
	vocabSize    int
	source       string // where it was loaded from, for messages
	cache        pieceCache
	workspaces   sync.Pool
}

var (
	_ Tokenizer      = (*BPE)(nil)
	_ SpecialEncoder = (*BPE)(nil)
)

const (
	maxCachedPiece   = 64      // longer pieces are rare and are not cached
	maxCacheSize     = 1 << 16 // the cache is dropped whole when it grows past this
	maxPooledSymbols = 1 << 16 // a workspace grown past this is not reused
)

// lookup gives a token's id: an added token's, else the vocabulary's.
func (spec bpeSpec) lookup(text string) (int64, bool) {
	for _, s := range spec.specials {
		if s.text == text {
			return s.id, true
		}
	}
	id, ok := spec.vocab[text]
	return int64(id), ok
}

// bpeSpec is everything a file format yields, before the merge table is built.
type bpeSpec struct {
	source       string
	vocab        map[string]int32 // token spelled in byteToRune characters → id
	merges       [][2]string      // in rank order
	mergeLines   []int            // line (or index) of each merge, for messages
	split        splitter
	normalize    func(string) string
	prefix       bool
	ignoreMerges bool
	specials     []special // added tokens, including ones also in vocab
	post         template
	eos          int64
}

// newBPE checks spec and builds the tokenizer. Every token must spell bytes
// in byteToRune characters, all 256 single bytes must be tokens, and every
// merge must join two tokens into a third.
func newBPE(spec bpeSpec) (*BPE, error) {
	b := &BPE{
		merges:       make(mergeTable, len(spec.merges)),
		split:        spec.split,
		normalize:    spec.normalize,
		prefix:       spec.prefix,
		ignoreMerges: spec.ignoreMerges,
		added:        newAddedTokens(spec.specials),
		post:         spec.post,
		eos:          spec.eos,
		source:       spec.source,
	}
	size, err := vocabSize(spec.source, spec.vocab, spec.specials)
	if err != nil {
		return nil, err
	}
	b.vocabSize = size
	b.pieces = make([][]byte, b.vocabSize)
	for tok, id := range spec.vocab {
		if b.pieces[id] != nil {
			return nil, fmt.Errorf("%s: id %d is given to two tokens (one is %q)", spec.source, id, tok)
		}
		p, ok := tokenBytes(tok)
		if !ok {
			if b.added.has(tok) {
				p = []byte(tok)
			} else {
				return nil, fmt.Errorf("%s: token %q (id %d) is not spelled in byte-level characters: not a byte-level BPE vocabulary", spec.source, tok, id)
			}
		}
		b.pieces[id] = p
	}
	for _, s := range spec.specials {
		b.pieces[s.id] = []byte(s.text)
	}
	for c := 0; c < 256; c++ {
		id, ok := spec.vocab[string(byteToRune[c])]
		if !ok {
			return nil, fmt.Errorf("%s: the vocabulary lacks the single-byte token for 0x%02x (%q): not a complete byte-level BPE vocabulary", spec.source, c, string(byteToRune[c]))
		}
		b.byteIDs[c] = id
	}
	for i, m := range spec.merges {
		line := i + 1
		if i < len(spec.mergeLines) {
			line = spec.mergeLines[i]
		}
		left, okL := spec.vocab[m[0]]
		right, okR := spec.vocab[m[1]]
		joined, okJ := spec.vocab[m[0]+m[1]]
		switch {
		case !okL || !okR:
			return nil, fmt.Errorf("%s:%d: merge %q %q names a token that is not in the vocabulary", spec.source, line, m[0], m[1])
		case !okJ:
			return nil, fmt.Errorf("%s:%d: merge %q %q makes %q, which is not in the vocabulary", spec.source, line, m[0], m[1], m[0]+m[1])
		}
		// A repeated pair keeps its last rank, as Hugging Face's map, GPT-2's
		// encoder.py and Transformers.js do (TestRepeatedMergeKeepsItsLastRank).
		b.merges[pairKey(left, right)] = merge{rank: int32(i), id: joined}
	}
	if spec.ignoreMerges {
		b.vocab = spec.vocab
	}
	b.workspaces.New = func() any { return new(workspace) }
	return b, nil
}

// Encode implements Tokenizer. Special tokens such as <|endoftext|> are
// plain text here, as in the reference encoder; see EncodeSpecial. Added
// tokens that are not special are recognised, and the post-processor's
// tokens (a BOS) are added, as Hugging Face does.
func (b *BPE) Encode(text string) []int64 { return b.post.wrap(b.encode(text, false)) }

// EncodeSpecial implements SpecialEncoder: like Encode, but every added
// token's exact text (<|endoftext|> in GPT-2) becomes that token's id. Where
// two added tokens match at one place, the longer wins.
func (b *BPE) EncodeSpecial(text string) []int64 { return b.post.wrap(b.encode(text, true)) }

func (b *BPE) encode(text string, withSpecial bool) []int64 {
	ids := make([]int64, 0, len(text)/3+1)
	b.added.each(text, withSpecial,
		func(s string, _ int) { ids = b.appendText(ids, s) },
		func(s *special) { ids = append(ids, s.id) })
	return ids
}

// appendText encodes text (no special tokens) onto ids. Like Hugging Face's
// tokenizers, the normalizer and add_prefix_space apply to each stretch of
// text between special tokens.
func (b *BPE) appendText(ids []int64, text string) []int64 {
	if b.normalize != nil {
		text = b.normalize(text)
	}
	if b.prefix && text != "" && text[0] != ' ' {
		text = " " + text
	}
	b.split.split(text, func(piece string) {
		ids = b.appendPiece(ids, piece)
	})
	return ids
}

// appendPiece encodes one pre-tokenized piece, through the cache.
func (b *BPE) appendPiece(ids []int64, piece string) []int64 {
	if len(piece) == 1 {
		return append(ids, int64(b.byteIDs[piece[0]]))
	}
	if hit, ok := b.cache.get(piece); ok {
		for _, id := range hit {
			ids = append(ids, int64(id))
		}
		return ids
	}
	ws := b.workspaces.Get().(*workspace)
	out := b.mergePiece(ws, piece)
	for _, id := range out {
		ids = append(ids, int64(id))
	}
	b.cache.put(piece, out)
	if cap(ws.sym) <= maxPooledSymbols {
		b.workspaces.Put(ws) // a huge piece's buffers are left to the GC
	}
	return ids
}

// workspace holds one piece being merged: a doubly linked list of symbols
// over the piece's bytes, and a heap of candidate pairs.
type workspace struct {
	sym     []symbol
	queue   pairQueue
	pending []candidate // pairs made in the current round
	out     []int32
}

type symbol struct {
	id         int32
	prev, next int32 // indexes of live neighbours, -1 at the ends
	dead       bool
}

// candidate is an adjacent pair as it was when pushed; it is stale when
// either side has changed since.
type candidate struct {
	rank        int32
	pos         int32 // index of the left symbol
	left, right int32 // ids at push time
}

type pairQueue []candidate

func (q pairQueue) Len() int { return len(q) }
func (q pairQueue) Less(i, j int) bool {
	return q[i].rank < q[j].rank || (q[i].rank == q[j].rank && q[i].pos < q[j].pos)
}
func (q pairQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pairQueue) Push(x any)   { *q = append(*q, x.(candidate)) }
func (q *pairQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// mergePiece applies the merges to piece the way the reference encoder does:
// take the pair of lowest rank, merge every occurrence of it left to right
// (an occurrence overlapping one just merged is skipped), and repeat until no
// adjacent pair has a rank. A heap of candidates keeps this O(n log n), so a
// long run of letters costs no more per byte than a word. The result aliases
// ws and is valid until ws is reused.
func (b *BPE) mergePiece(ws *workspace, piece string) []int32 {
	if b.ignoreMerges {
		if id, ok := b.vocab[bytesToTokenString(piece)]; ok {
			ws.out = append(ws.out[:0], id)
			return ws.out
		}
	}
	n := len(piece)
	ws.sym = ws.sym[:0]
	for i := 0; i < n; i++ {
		ws.sym = append(ws.sym, symbol{id: b.byteIDs[piece[i]], prev: int32(i - 1), next: int32(i + 1)})
	}
	ws.sym[n-1].next = -1
	b.merges.seed(ws)
	for ws.queue.Len() > 0 {
		// A round: every occurrence of the lowest-ranked pair, which pop in
		// position order. Pairs these merges make wait for the next round
		// (none of them is the same pair: a token is never one of its halves).
		round := heap.Pop(&ws.queue).(candidate)
		ws.pending = ws.pending[:0]
		b.merges.apply(ws, round)
		for ws.queue.Len() > 0 && ws.queue[0].rank == round.rank {
			b.merges.apply(ws, heap.Pop(&ws.queue).(candidate))
		}
		for _, c := range ws.pending {
			heap.Push(&ws.queue, c)
		}
	}
	return ws.ids()
}

// seed queues, as a heap, every adjacent pair of ws.sym that has a merge.
func (m mergeTable) seed(ws *workspace) {
	ws.queue = ws.queue[:0]
	for i := int32(0); i+1 < int32(len(ws.sym)); i++ {
		if c, ok := m.pairAt(ws, i); ok {
			ws.queue = append(ws.queue, c)
		}
	}
	heap.Init(&ws.queue)
}

// pairAt returns the candidate for the pair that starts at symbol i, if the
// pair has a merge.
func (m mergeTable) pairAt(ws *workspace, i int32) (candidate, bool) {
	j := ws.sym[i].next
	if j < 0 {
		return candidate{}, false
	}
	mg, ok := m[pairKey(ws.sym[i].id, ws.sym[j].id)]
	if !ok {
		return candidate{}, false
	}
	return candidate{rank: mg.rank, pos: i, left: ws.sym[i].id, right: ws.sym[j].id}, true
}

// apply merges c's pair if it is still there (stale: a neighbour changed
// since it was queued), and appends the pairs the new token makes with its
// neighbours to ws.pending.
func (m mergeTable) apply(ws *workspace, c candidate) {
	s := &ws.sym[c.pos]
	if s.dead || s.id != c.left || s.next < 0 || ws.sym[s.next].id != c.right {
		return
	}
	right := s.next
	s.id = m[pairKey(c.left, c.right)].id
	ws.sym[right].dead = true
	s.next = ws.sym[right].next
	if s.next >= 0 {
		ws.sym[s.next].prev = c.pos
	}
	if s.prev >= 0 {
		if p, ok := m.pairAt(ws, s.prev); ok {
			ws.pending = append(ws.pending, p)
		}
	}
	if p, ok := m.pairAt(ws, c.pos); ok {
		ws.pending = append(ws.pending, p)
	}
}

// ids returns the ids of the live symbols in order; the result aliases
// ws.out.
func (ws *workspace) ids() []int32 {
	ws.out = ws.out[:0]
	for i := int32(0); i >= 0; i = ws.sym[i].next {
		ws.out = append(ws.out, ws.sym[i].id)
	}
	return ws.out
}

// bytesToTokenString spells bytes in byteToRune characters.
func bytesToTokenString(s string) string {
	var sb strings.Builder
	sb.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		sb.WriteRune(byteToRune[s[i]])
	}
	return sb.String()
}

// Decode implements Tokenizer: the bytes of every token, concatenated. An id
// outside the vocabulary decodes to U+FFFD, so a bad id is visible.
func (b *BPE) Decode(ids []int64) string {
	var sb strings.Builder
	sb.Grow(4 * len(ids))
	for _, id := range ids {
		if id < 0 || id >= int64(len(b.pieces)) || b.pieces[id] == nil {
			sb.WriteString("\uFFFD")
			continue
		}
		sb.Write(b.pieces[id])
	}
	return sb.String()
}

// VocabSize implements Tokenizer: one more than the largest id.
func (b *BPE) VocabSize() int { return b.vocabSize }

// EOS implements Tokenizer; -1 when the files name no end-of-text token.
func (b *BPE) EOS() int64 { return b.eos }

// SpecialIDs returns the ids of the added tokens (<|endoftext|> for GPT-2).
func (b *BPE) SpecialIDs() []int64 { return b.added.ids() }

// String names the tokenizer and where it came from.
func (b *BPE) String() string {
	return fmt.Sprintf("byte-level BPE (%d tokens, %d merges) from %s", b.vocabSize, len(b.merges), b.source)
}

// vocabSize is one more than the largest id of vocab and the added tokens.
// Ids index a table, so they must be dense: a few gaps are fine, an id far
// beyond the number of tokens is a broken file.
func vocabSize(source string, vocab map[string]int32, specials []special) (int, error) {
	limit := int64(2*(len(vocab)+len(specials)) + 1024)
	maxID := int64(-1)
	for tok, id := range vocab {
		if id < 0 || int64(id) >= limit {
			return 0, fmt.Errorf("%s: token %q has id %d, outside 0..%d for a vocabulary of %d tokens", source, tok, id, limit-1, len(vocab))
		}
		maxID = max(maxID, int64(id))
	}
	for _, s := range specials {
		if s.id < 0 || s.id >= limit {
			return 0, fmt.Errorf("%s: added token %q has id %d, outside 0..%d", source, s.text, s.id, limit-1)
		}
		maxID = max(maxID, s.id)
	}
	return int(maxID) + 1, nil
}
