package tokenize

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

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
	for _, set := range []string{"mistral", "mistral-metaspace", "mistral-metaspace-split", "gemma3"} {
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
