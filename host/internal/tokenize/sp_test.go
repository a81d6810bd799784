package tokenize

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/pipe-bench/pipe/host/internal/assets"
)

// spGolden is testdata/sp_reference.json (scripts/tokenizer-goldens-sp.js).
type spGolden struct {
	Files      map[string]string `json:"files"` // family → SHA-256 of its tokenizer.json
	ExtraCases []struct {
		Name string `json:"name"`
		Text string `json:"text"`
	} `json:"extra_cases"`
	Sets map[string]struct {
		File  string         `json:"file"`
		Edit  map[string]any `json:"edit"`
		Cases []struct {
			Name       string  `json:"name"`
			IDs        []int64 `json:"ids"`
			Special    []int64 `json:"special"`
			Decoded    *string `json:"decoded"`
			DecodedAll *string `json:"decoded_all"`
		} `json:"cases"`
	} `json:"sets"`
}

var spGoldens = sync.OnceValue(func() (g spGolden) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sp_reference.json"))
	if err == nil {
		err = json.Unmarshal(raw, &g)
	}
	if err != nil {
		panic(err)
	}
	return g
})

// spTexts maps case names to texts: the GPT-2 corpus and the extra cases.
func spTexts(tb testing.TB) map[string]string {
	texts := map[string]string{}
	for _, c := range readGoldens(tb) {
		texts[c.Name] = c.Text
	}
	for _, c := range spGoldens().ExtraCases {
		texts[c.Name] = c.Text
	}
	return texts
}

// loadSPSet writes the family's tokenizer.json from the cache with the set's
// edit applied (the one the golden script applied) and loads it.
func loadSPSet(tb testing.TB, set string) *SentencePiece {
	tb.Helper()
	g := spGoldens()
	s, ok := g.Sets[set]
	if !ok {
		tb.Fatalf("sp_reference.json has no set %s; regenerate it", set)
	}
	fam, ok := assets.FamilyTokenizerFor(s.File)
	if !ok {
		tb.Fatalf("no family tokenizer %s in assets.FamilyTokenizers", s.File)
	}
	path, err := fam.Path()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != g.Files[s.File] {
		tb.Fatalf("%s is not the file the goldens were made from (SHA-256 %x, goldens %s)", path, sum, g.Files[s.File])
	}
	if len(s.Edit) > 0 {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			tb.Fatal(err)
		}
		for k, v := range s.Edit {
			doc[k] = v
		}
		if raw, err = json.Marshal(doc); err != nil {
			tb.Fatal(err)
		}
		path = filepath.Join(tb.TempDir(), "tokenizer.json")
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	tok, err := Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	sp, ok := tok.(*SentencePiece)
	if !ok {
		tb.Fatalf("%s loaded as %T, want *SentencePiece", path, tok)
	}
	return sp
}

// TestSentencePieceGoldens compares Encode, EncodeSpecial and Decode with
// Hugging Face's tokenizers on every text of the corpus, for Mistral's
// tokenizer.json in its three spellings and Gemma 3's.
func TestSentencePieceGoldens(t *testing.T) {
	texts := spTexts(t)
	g := spGoldens()
	for _, set := range []string{"mistral", "mistral-metaspace", "mistral-metaspace-split", "mistral-phi3-added", "gemma3"} {
		t.Run(set, func(t *testing.T) {
			tok := loadSPSet(t, set)
			cases := g.Sets[set].Cases
			if len(cases) < 400 {
				t.Fatalf("sp_reference.json holds %d %s cases; regenerate it", len(cases), set)
			}
			bad := 0
			for _, c := range cases {
				text, ok := texts[c.Name]
				if !ok {
					t.Fatalf("%s: no such case in the corpus", c.Name)
				}
				fail := func(format string, args ...any) {
					bad++
					if bad <= 20 {
						t.Errorf("%s %q: "+format, append([]any{c.Name, text}, args...)...)
					}
				}
				got := tok.Encode(text)
				if !slices.Equal(got, c.IDs) {
					fail("Encode\n got %v\nwant %v", got, c.IDs)
				}
				want := c.IDs
				if c.Special != nil {
					want = c.Special
				}
				if got := tok.EncodeSpecial(text); !slices.Equal(got, want) {
					fail("EncodeSpecial\n got %v\nwant %v", got, want)
				}
				wantText := text
				if c.Decoded != nil {
					wantText = *c.Decoded
				}
				if got := tok.Decode(c.IDs[1:]); got != wantText {
					fail("Decode(ids without BOS) = %q, want %q", got, wantText)
				}
				if c.DecodedAll != nil {
					if got := tok.Decode(c.IDs); got != *c.DecodedAll {
						fail("Decode(ids) = %q, want %q", got, *c.DecodedAll)
					}
				}
			}
			t.Logf("%v, EOS %d: %d checks failed over %d texts", tok, tok.EOS(), bad, len(cases))
		})
	}
}

// TestSentencePieceEOS: the EOS comes from tokenizer_config.json (Gemma 3's
// is <end_of_turn>, not <eos>).
func TestSentencePieceEOS(t *testing.T) {
	for set, want := range map[string]int64{"mistral": 2, "gemma3": 106} {
		if got := loadSPSet(t, set).EOS(); got != want {
			t.Errorf("%s: EOS() = %d, want %d", set, got, want)
		}
	}
}

func TestSentencePieceVocabSize(t *testing.T) {
	for set, want := range map[string]int{"mistral": 32000, "gemma3": 262145} {
		if got := loadSPSet(t, set).VocabSize(); got != want {
			t.Errorf("%s: VocabSize() = %d, want %d", set, got, want)
		}
	}
}

// TestSentencePieceLoadErrors: what pipe cannot reproduce in a
// SentencePiece-style file is refused by name, in one line.
func TestSentencePieceLoadErrors(t *testing.T) {
	fam, _ := assets.FamilyTokenizerFor("mistral")
	path, err := fam.Path()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	model := func(doc map[string]any) map[string]any { return doc["model"].(map[string]any) }
	for _, c := range []struct {
		name string
		edit func(doc map[string]any)
		want string
	}{
		{"unigram", func(d map[string]any) { model(d)["type"] = "Unigram" }, "model type Unigram is not supported"},
		{"wordpiece", func(d map[string]any) { model(d)["type"] = "WordPiece" }, "model type WordPiece is not supported"},
		{"whitespace pre-tokenizer", func(d map[string]any) { d["pre_tokenizer"] = map[string]any{"type": "Whitespace"} },
			"pre_tokenizer Whitespace is not supported in a SentencePiece-style BPE"},
		{"regex split", func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\s+`}, "behavior": "Isolated"}
		}, "pre_tokenizer Split on a regex in a SentencePiece-style BPE is not supported"},
		{"prepend scheme", func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}
		}, `prepend_scheme "sometimes" is not one of always, first, never`},
		{"decoder", func(d map[string]any) { d["decoder"] = map[string]any{"type": "WordPiece", "prefix": "##"} },
			"decoder WordPiece is not supported in a SentencePiece-style BPE"},
		{"regex replace normalizer", func(d map[string]any) {
			d["normalizer"] = map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": " +"}, "content": "▁"}
		}, "normalizer Replace: pipe replaces a literal string"},
		{"bert post-processor", func(d map[string]any) {
			d["post_processor"] = map[string]any{"type": "BertProcessing", "sep": []any{"</s>", 2}, "cls": []any{"<s>", 1}}
		}, "post_processor BertProcessing is not supported"},
		{"template with $B", func(d map[string]any) {
			d["post_processor"].(map[string]any)["single"] = []any{map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 0}}}
		}, "the single template holds $B"},
		{"missing byte token", func(d map[string]any) { delete(model(d)["vocab"].(map[string]any), "<0x41>") },
			"byte_fallback is set but the vocabulary lacks <0x41>"},
		{"unk not in vocab", func(d map[string]any) { model(d)["unk_token"] = "<nope>" }, `model.unk_token "<nope>" is not in the vocabulary`},
		{"single_word", func(d map[string]any) { d["added_tokens"].([]any)[1].(map[string]any)["single_word"] = true },
			`added token "<s>" has single_word set, which pipe does not apply`},
		{"normalized", func(d map[string]any) { d["added_tokens"].([]any)[2].(map[string]any)["normalized"] = true },
			`added token "</s>" has normalized set (matched in the normalized text), which pipe does not do`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			c.edit(doc)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			tok, err := Load(p)
			switch {
			case err == nil:
				t.Fatalf("Load succeeded (%v), want an error containing %q", tok, c.want)
			case !strings.Contains(err.Error(), c.want):
				t.Errorf("error %q does not contain %q", err, c.want)
			case strings.Contains(err.Error(), "\n"):
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestPromptFromTextSentencePiece: a prompt from text is exactly n ids, the
// BOS first and once, also when the text is repeated to reach n.
func TestPromptFromTextSentencePiece(t *testing.T) {
	tok := loadSPSet(t, "gemma3")
	for _, n := range []int{1, 3, 64} {
		ids, err := PromptFromText(tok, "Hello world", n)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != n || ids[0] != 2 || slices.Contains(ids[1:], 2) {
			t.Errorf("PromptFromText(%d) = %v: want %d ids, <bos> (2) first and only there", n, ids, n)
		}
	}
}

// wholeMerge encodes text like Encode, but merges every pre-tokenized piece
// as one word, without the chunks or the cache.
func wholeMerge(tok *SentencePiece, text string) []int64 {
	var ids []int64
	tok.added.each(text, false,
		func(s string, offset int) {
			if tok.normalize != nil {
				s = tok.normalize(s)
			}
			pieces := []string{s}
			for _, p := range tok.pre {
				var next []string
				for _, q := range pieces {
					next = p.split(next, q, offset)
				}
				pieces = next
			}
			for _, p := range pieces {
				if p == "" {
					continue
				}
				for _, id := range tok.mergeWord(new(workspace), p) {
					ids = append(ids, int64(id))
				}
			}
		},
		func(s *special) { ids = append(ids, s.id) })
	return tok.post.wrap(ids)
}

// TestChunkedMergeEqualsWhole: cutting a piece where no token holds the two
// adjacent characters changes nothing, on every text of the corpus.
func TestChunkedMergeEqualsWhole(t *testing.T) {
	texts := spTexts(t)
	for _, set := range []string{"mistral", "gemma3"} {
		tok := loadSPSet(t, set)
		for name, text := range texts {
			if got, want := tok.Encode(text), wholeMerge(tok, text); !slices.Equal(got, want) {
				t.Errorf("%s %s %q: chunked %v, whole %v", set, name, text, got, want)
			}
		}
	}
}

// FuzzSentencePiece: for any text, Mistral's and Gemma 3's chunked encoding
// equals the whole-word merge, starts with the BOS, and decodes back to the
// text (with a literal ▁ read as a space) when the text is valid UTF-8.
func FuzzSentencePiece(f *testing.F) {
	for _, text := range spTexts(f) {
		f.Add(text)
	}
	toks := []*SentencePiece{loadSPSet(f, "mistral"), loadSPSet(f, "gemma3")}
	f.Fuzz(func(t *testing.T, text string) {
		for _, tok := range toks {
			ids := tok.Encode(text)
			if want := wholeMerge(tok, text); !slices.Equal(ids, want) {
				t.Fatalf("%v: Encode(%q) = %v, whole-word merge %v", tok, text, ids, want)
			}
			if len(ids) == 0 || ids[0] != tok.post.before[0] {
				t.Fatalf("%v: Encode(%q) = %v does not start with the BOS", tok, text, ids)
			}
			if !utf8.ValidString(text) {
				continue
			}
			if got, want := tok.Decode(ids[1:]), strings.ReplaceAll(text, metaspace, " "); got != want {
				t.Fatalf("%v: Decode(Encode(%q)) = %q, want %q", tok, text, got, want)
			}
		}
	})
}
