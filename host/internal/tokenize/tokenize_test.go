package tokenize

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// gpt2 loads the GPT-2 tokenizer from the asset cache once. `make test`
// fetches it first (make setup); a bare `go test` on a fresh clone fails here
// with the command to run.
var gpt2 = sync.OnceValues(func() (*BPE, error) {
	t, err := Load(GPT2)
	if err != nil {
		return nil, err
	}
	return t.(*BPE), nil
})

func loadGPT2(tb testing.TB) *BPE {
	tb.Helper()
	t, err := gpt2()
	if err != nil {
		tb.Fatalf("%v (run `make setup` first)", err)
	}
	return t
}

type goldenCase struct {
	Name string  `json:"name"`
	Text string  `json:"text"`
	IDs  []int64 `json:"ids"`
}

func readGoldens(tb testing.TB) []goldenCase {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "gpt2_reference.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var g struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		tb.Fatal(err)
	}
	if len(g.Cases) < 100 {
		tb.Fatalf("testdata/gpt2_reference.json holds %d cases; regenerate it with scripts/tokenizer-goldens.js", len(g.Cases))
	}
	return g.Cases
}

// TestGPT2MatchesReferenceEncoder compares every golden case with the ids
// that gpt-3-encoder's Encoder.js produced (scripts/tokenizer-goldens.js).
func TestGPT2MatchesReferenceEncoder(t *testing.T) {
	tok := loadGPT2(t)
	for _, c := range readGoldens(t) {
		t.Run(c.Name, func(t *testing.T) {
			got := tok.Encode(c.Text)
			if !slices.Equal(got, c.IDs) {
				t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
			if back := tok.Decode(got); back != c.Text {
				t.Errorf("Decode(Encode(%q)) = %q", c.Text, back)
			}
		})
	}
}

// TestGPT2KnownCases pins the cases that other tokenizers get wrong, so a
// regenerated golden file cannot hide them.
func TestGPT2KnownCases(t *testing.T) {
	tok := loadGPT2(t)
	cases := []struct {
		name string
		text string
		want []int64
	}{
		{"blank line splits into two newlines", "Hello\n\nworld", []int64{15496, 198, 198, 6894}},
		{"equal-rank merges leftmost first", " VIII", []int64{25197}},
		{"endoftext is plain text by default", "<|endoftext|>", []int64{27, 91, 437, 1659, 5239, 91, 29}},
		{"empty text has no tokens", "", []int64{}},
		{"single space", " ", []int64{220}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tok.Encode(c.text); !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
}

func TestGPT2Facts(t *testing.T) {
	tok := loadGPT2(t)
	if got := tok.VocabSize(); got != 50257 {
		t.Errorf("VocabSize() = %d, want 50257", got)
	}
	if got := tok.EOS(); got != 50256 {
		t.Errorf("EOS() = %d, want 50256", got)
	}
	if got := tok.Decode([]int64{50256}); got != "<|endoftext|>" {
		t.Errorf("Decode(50256) = %q", got)
	}
	if got := tok.Decode([]int64{-1, 50257, 15496}); got != "\uFFFD\uFFFDHello" {
		t.Errorf("Decode of out-of-range ids = %q, want U+FFFD for each", got)
	}
}

func TestEncodeSpecial(t *testing.T) {
	tok := loadGPT2(t)
	plain := func(s string) []int64 { return tok.Encode(s) }
	cat := func(parts ...[]int64) []int64 { return slices.Concat(parts...) }
	eot := []int64{50256}
	cases := []struct {
		name string
		text string
		want []int64
	}{
		{"alone", "<|endoftext|>", eot},
		{"between texts", "The end.<|endoftext|>A new", cat(plain("The end."), eot, plain("A new"))},
		{"twice in a row", "<|endoftext|><|endoftext|>", cat(eot, eot)},
		{"space before stays with the text", "a <|endoftext|> b", cat(plain("a "), eot, plain(" b"))},
		{"partial spelling is text", "<|endoftext|", plain("<|endoftext|")},
		{"no special token", "Hello world", plain("Hello world")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := tok.EncodeSpecial(c.text)
			if !slices.Equal(got, c.want) {
				t.Errorf("EncodeSpecial(%q) = %v, want %v", c.text, got, c.want)
			}
			if back := tok.Decode(got); back != c.text {
				t.Errorf("Decode(EncodeSpecial(%q)) = %q", c.text, back)
			}
		})
	}
}

// TestRoundTripInvalidUTF8: byte-level BPE keeps every byte, so even text
// that is not UTF-8 comes back unchanged.
func TestRoundTripInvalidUTF8(t *testing.T) {
	tok := loadGPT2(t)
	for _, s := range []string{"\xff", "a\xffb", "\xe4\xb8", "ok \xc3\x28 ok", "\xed\xa0\x80 surrogate"} {
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	}
}

// TestMergesMatchNaiveReference checks the heap-based merge loop against a
// direct transcription of the reference's loop (find the lowest-ranked pair,
// merge every occurrence left to right, repeat) on every golden piece.
func TestMergesMatchNaiveReference(t *testing.T) {
	tok := loadGPT2(t)
	ws := new(workspace)
	pieces := 0
	for _, c := range readGoldens(t) {
		tok.split.split(c.Text, func(piece string) {
			pieces++
			got := slices.Clone(tok.mergePiece(ws, piece))
			want := naiveMerge(tok, piece)
			if !slices.Equal(got, want) {
				t.Errorf("merge %q: heap %v, naive %v", piece, got, want)
			}
		})
	}
	if pieces < 1000 {
		t.Fatalf("only %d pieces checked", pieces)
	}
}

func naiveMerge(tok *BPE, piece string) []int32 {
	word := make([]int32, len(piece))
	for i := range len(piece) {
		word[i] = tok.byteIDs[piece[i]]
	}
	for len(word) > 1 {
		best, found := merge{}, false
		var left, right int32
		for i := 0; i+1 < len(word); i++ {
			if m, ok := tok.merges[pairKey(word[i], word[i+1])]; ok && (!found || m.rank < best.rank) {
				best, found, left, right = m, true, word[i], word[i+1]
			}
		}
		if !found {
			break
		}
		var next []int32
		for i := 0; i < len(word); i++ {
			if i+1 < len(word) && word[i] == left && word[i+1] == right {
				next = append(next, best.id)
				i++
			} else {
				next = append(next, word[i])
			}
		}
		word = next
	}
	return word
}

func TestPieceCacheIsTransparent(t *testing.T) {
	tok := loadGPT2(t)
	text := "cache me, cache me again; cache me once more"
	first := tok.Encode(text)
	second := tok.Encode(text) // every piece is a cache hit now
	if !slices.Equal(first, second) {
		t.Fatalf("second Encode differs: %v vs %v", first, second)
	}
	// A cached piece must not alias the text it came from.
	buf := []byte("unaliased words here")
	s := string(buf)
	want := tok.Encode(s)
	copy(buf, "XXXXXXXXXXXXXXXXXXXX")
	if got := tok.Encode("unaliased words here"); !slices.Equal(got, want) {
		t.Fatalf("cache entry changed: %v vs %v", got, want)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := loadGPT2(t)
	cases := readGoldens(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(cases); i += 4 {
				if got := tok.Encode(cases[i].Text); !slices.Equal(got, cases[i].IDs) {
					t.Errorf("concurrent Encode(%q) = %v, want %v", cases[i].Text, got, cases[i].IDs)
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzGPT2 checks that Encode never panics, that Decode inverts it for any
// bytes, and that every id is in the vocabulary.
func FuzzGPT2(f *testing.F) {
	tok := loadGPT2(f)
	for _, c := range readGoldens(f)[:80] {
		f.Add(c.Text)
	}
	f.Add("\xff\xfe<|endoftext|>")
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= int64(tok.VocabSize()) || id == tok.EOS() {
				t.Fatalf("Encode(%q) gave id %d", s, id)
			}
		}
		if back := tok.Decode(ids); back != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, back)
		}
		if utf8.ValidString(s) && !strings.Contains(s, "<|endoftext|>") {
			if got := tok.EncodeSpecial(s); !slices.Equal(got, ids) {
				t.Fatalf("EncodeSpecial(%q) = %v, Encode = %v", s, got, ids)
			}
		}
	})
}

// FuzzSplit checks every pattern's scanner on any bytes: pieces are never
// empty and concatenate to the input.
func FuzzSplit(f *testing.F) {
	for _, c := range readGoldens(f)[:80] {
		f.Add(c.Text)
	}
	f.Add("\xff'\xc5\xbf \r\n\t")
	var splitters []splitter
	for _, p := range []string{GPT2Pattern, Llama3Pattern, Qwen2Pattern} {
		for _, sp := range []spaceSet{spaceJS, spaceWhiteSpace} {
			s, ok := splitterFor(p, sp)
			if !ok {
				f.Fatalf("no splitter for %s", p)
			}
			splitters = append(splitters, s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sp := range splitters {
			var sb strings.Builder
			sp.split(s, func(piece string) {
				if piece == "" {
					t.Fatalf("%+v: empty piece in %q", sp, s)
				}
				sb.WriteString(piece)
			})
			if sb.String() != s {
				t.Fatalf("%+v: pieces of %q concatenate to %q", sp, s, sb.String())
			}
		}
	})
}

// TestLongPiece: one pre-tokenizer piece of 256 KiB encodes and round-trips
// (the heap keeps it O(n log n)), and a 4 KiB one gives the reference loop's
// ids.
func TestLongPiece(t *testing.T) {
	tok := loadGPT2(t)
	for _, unit := range []string{"a", "ab", "Hello", "é"} {
		text := strings.Repeat(unit, (1<<18)/len(unit))
		if tok.Decode(tok.Encode(text)) != text {
			t.Fatalf("%q×%d does not round-trip", unit, len(text)/len(unit))
		}
		piece := strings.Repeat(unit, 4096/len(unit))
		got, want := tok.Encode(piece), naiveMerge(tok, piece)
		if len(got) != len(want) {
			t.Fatalf("%q×%d: heap %d ids, naive %d", unit, 4096/len(unit), len(got), len(want))
		}
		for i := range want {
			if got[i] != int64(want[i]) {
				t.Fatalf("%q×%d: id %d is %d, naive %d", unit, 4096/len(unit), i, got[i], want[i])
			}
		}
	}
}
