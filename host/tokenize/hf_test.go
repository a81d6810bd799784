package tokenize

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/assets"
)

// writeGPT2TokenizerJSON writes GPT-2 as a Hugging Face tokenizer.json into
// dir: testdata/gpt2_hf_skeleton.json (as the tokenizers library serialised
// it) with the vocabulary and merges of the GPT-2 asset files filled in.
func writeGPT2TokenizerJSON(tb testing.TB, dir string, edit func(map[string]any)) string {
	tb.Helper()
	src, err := assets.GPT2Tokenizer()
	if err != nil {
		tb.Fatalf("%v (run `make setup` first)", err)
	}
	var doc map[string]any
	readJSON(tb, filepath.Join("testdata", "gpt2_hf_skeleton.json"), &doc)
	var vocab map[string]int
	readJSON(tb, filepath.Join(src, "encoder.json"), &vocab)
	f, err := os.Open(filepath.Join(src, "vocab.bpe"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var merges [][2]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && !(n == 1 && strings.HasPrefix(sc.Text(), "#version")) {
			merges = append(merges, [2]string{fields[0], fields[1]})
		}
	}
	model := doc["model"].(map[string]any)
	model["vocab"] = vocab
	model["merges"] = merges
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

// TestHFTokenizerJSONMatchesHuggingFace loads GPT-2 from a tokenizer.json
// and compares with the ids Hugging Face's Rust tokenizers produced
// (scripts/tokenizer-goldens-hf.js). The library recognises added tokens by
// default, so the comparison is with EncodeSpecial.
func TestHFTokenizerJSONMatchesHuggingFace(t *testing.T) {
	dir := t.TempDir()
	writeGPT2TokenizerJSON(t, dir, nil)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	bpe := tok.(*BPE)
	var golden struct {
		Cases []goldenCase `json:"cases"`
	}
	readJSON(t, filepath.Join("testdata", "hf_reference.json"), &golden)
	if len(golden.Cases) < 100 {
		t.Fatalf("hf_reference.json holds %d cases", len(golden.Cases))
	}
	for _, c := range golden.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if got := bpe.EncodeSpecial(c.Text); !slices.Equal(got, c.IDs) {
				t.Errorf("EncodeSpecial(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
		})
	}
	if tok.VocabSize() != 50257 || tok.EOS() != 50256 {
		t.Errorf("VocabSize, EOS = %d, %d; want 50257, 50256", tok.VocabSize(), tok.EOS())
	}
}
