package tokenize_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

// TestRepeatedMergeKeepsItsLastRank: a merges list that names a pair twice
// ranks it at its last line, as Hugging Face's BPE builder (a map filled in
// list order), GPT-2's encoder.py (dict(zip(merges, range))) and
// Transformers.js (new Map) all do, for both of the package's merge tables
// (byte-level BPE and SentencePiece-style BPE). Measured with the reference
// itself: tokenizers@0.23.2 (npm, Node binding) encodes "abc" with these
// merges to "a" "bc": "a b" at rank 3 loses to "b c" at rank 2.
func TestRepeatedMergeKeepsItsLastRank(t *testing.T) {
	merges := []string{"a b", "x y", "b c", "a b"}
	for _, tt := range []struct {
		name      string
		byteLevel bool
	}{{"byte-level", true}, {"sentencepiece-style", false}} {
		t.Run(tt.name, func(t *testing.T) {
			vocab := map[string]int{}
			var pre any
			if tt.byteLevel { // every byte's GPT-2 character, id = the byte
				for b, r := range gpt2ByteRunes() {
					vocab[string(r)] = b
				}
				pre = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
			} else {
				for _, r := range "abcxy" {
					vocab[string(r)] = int(r)
				}
			}
			vocab["ab"], vocab["bc"], vocab["xy"] = 256, 257, 258
			doc, _ := json.Marshal(map[string]any{"version": "1.0", "added_tokens": []any{}, "pre_tokenizer": pre,
				"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": merges}})
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := os.WriteFile(path, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			tok, err := tokenize.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tok.Encode("abc"), []int64{'a', 257}; !slices.Equal(got, want) {
				t.Errorf(`Encode("abc") = %v, want %v ("a" "bc": the repeated "a b" keeps rank 3)`, got, want)
			}
		})
	}
}

// gpt2ByteRunes is GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for
// themselves, the rest are shifted to 256 and up, in byte order.
func gpt2ByteRunes() [256]rune {
	var out [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			out[b] = rune(b)
		} else {
			out[b] = rune(256 + n)
			n++
		}
	}
	return out
}
