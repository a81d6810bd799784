package tokenize

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/assets"
)

// copyFile copies src to dir/name.
func copyFile(tb testing.TB, src, dir, name string) {
	tb.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func gpt2Dir(tb testing.TB) string {
	tb.Helper()
	d, err := assets.GPT2Tokenizer()
	if err != nil {
		tb.Fatalf("%v (run `make setup` first)", err)
	}
	return d
}

// TestLoadLayouts loads GPT-2 from every supported layout and checks that
// each gives the reference ids on text where the layouts agree.
func TestLoadLayouts(t *testing.T) {
	src := gpt2Dir(t)
	text := "Hello\n\nworld, it's 2024 — naïve café 中文 👋"
	want := loadGPT2(t).Encode(text)
	cases := []struct {
		name  string
		setup func(t *testing.T) string // returns the spec to load
	}{
		{"gpt2 name", func(*testing.T) string { return GPT2 }},
		{"encoder.json and vocab.bpe", func(t *testing.T) string {
			d := t.TempDir()
			copyFile(t, filepath.Join(src, "encoder.json"), d, "encoder.json")
			copyFile(t, filepath.Join(src, "vocab.bpe"), d, "vocab.bpe")
			return d
		}},
		{"vocab.json and merges.txt", func(t *testing.T) string {
			d := t.TempDir()
			copyFile(t, filepath.Join(src, "encoder.json"), d, "vocab.json")
			copyFile(t, filepath.Join(src, "vocab.bpe"), d, "merges.txt")
			return d
		}},
		{"tokenizer.json directory", func(t *testing.T) string {
			d := t.TempDir()
			writeGPT2TokenizerJSON(t, d, nil)
			return d
		}},
		{"tokenizer.json file", func(t *testing.T) string {
			return writeGPT2TokenizerJSON(t, t.TempDir(), nil)
		}},
		{"tokenizer.json wins over other files", func(t *testing.T) string {
			d := t.TempDir()
			writeGPT2TokenizerJSON(t, d, nil)
			os.WriteFile(filepath.Join(d, "vocab.json"), []byte("not json"), 0o644)
			os.WriteFile(filepath.Join(d, "merges.txt"), []byte("x"), 0o644)
			return d
		}},
		{"merges as strings", func(t *testing.T) string {
			return writeGPT2TokenizerJSON(t, t.TempDir(), func(doc map[string]any) {
				m := doc["model"].(map[string]any)
				pairs := m["merges"].([][2]string)
				strs := make([]string, len(pairs))
				for i, p := range pairs {
					strs[i] = p[0] + " " + p[1]
				}
				m["merges"] = strs
			})
		}},
		{"split on the GPT-2 pattern then byte level", func(t *testing.T) string {
			return writeGPT2TokenizerJSON(t, t.TempDir(), func(doc map[string]any) {
				doc["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
					map[string]any{"type": "Split", "pattern": map[string]any{"Regex": GPT2Pattern}, "behavior": "Isolated", "invert": false},
					map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
				}}
			})
		}},
		{"ignore_merges", func(t *testing.T) string {
			return writeGPT2TokenizerJSON(t, t.TempDir(), func(doc map[string]any) {
				doc["model"].(map[string]any)["ignore_merges"] = true
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Load(c.setup(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Encode(text); !slices.Equal(got, want) {
				t.Errorf("Encode = %v, want %v", got, want)
			}
			if tok.VocabSize() != 50257 || tok.EOS() != 50256 {
				t.Errorf("VocabSize, EOS = %d, %d; want 50257, 50256", tok.VocabSize(), tok.EOS())
			}
		})
	}
}

// TestWhitespaceFollowsTheReference: encoder.json + vocab.bpe follow
// Encoder.js's JavaScript \s, the Hugging Face layouts Unicode White_Space.
func TestWhitespaceFollowsTheReference(t *testing.T) {
	src := gpt2Dir(t)
	hf := t.TempDir()
	copyFile(t, filepath.Join(src, "encoder.json"), hf, "vocab.json")
	copyFile(t, filepath.Join(src, "vocab.bpe"), hf, "merges.txt")
	hfTok, err := Load(hf)
	if err != nil {
		t.Fatal(err)
	}
	js := loadGPT2(t)
	// U+0085 is White_Space but not JavaScript \s, U+FEFF the reverse. A
	// character that is not \s joins a following apostrophe ("\u0085'", "s");
	// a space does not ("\u0085", "'s").
	for _, text := range []string{"\u0085's", "\ufeff's"} {
		if slices.Equal(js.Encode(text), hfTok.Encode(text)) {
			t.Errorf("%q: both layouts give %v; their references disagree here", text, js.Encode(text))
		}
	}
	if got := hfTok.Encode("a  b"); !slices.Equal(got, js.Encode("a  b")) {
		t.Errorf("plain spaces differ: %v vs %v", got, js.Encode("a  b"))
	}
}

func TestAddPrefixSpace(t *testing.T) {
	path := writeGPT2TokenizerJSON(t, t.TempDir(), func(doc map[string]any) {
		doc["pre_tokenizer"].(map[string]any)["add_prefix_space"] = true
	})
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	gpt2 := loadGPT2(t)
	cases := []struct{ text, same string }{
		{"Hello", " Hello"},
		{" Hello", " Hello"},
		{"", ""},
	}
	for _, c := range cases {
		if got, want := tok.Encode(c.text), gpt2.Encode(c.same); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) with add_prefix_space = %v, want %v", c.text, got, want)
		}
	}
	// Each stretch between special tokens gets its prefix space; ids from
	// Hugging Face tokenizers 0.23.2 with add_prefix_space = true.
	special := []struct {
		text string
		want []int64
	}{
		{"Hello<|endoftext|>World", []int64{18435, 50256, 2159}},
		{"<|endoftext|>x", []int64{50256, 2124}},
		{"a<|endoftext|> b", []int64{257, 50256, 275}},
		{"\nx", []int64{220, 198, 87}},
	}
	for _, c := range special {
		if got := tok.(SpecialEncoder).EncodeSpecial(c.text); !slices.Equal(got, c.want) {
			t.Errorf("EncodeSpecial(%q) with add_prefix_space = %v, want %v", c.text, got, c.want)
		}
	}
	// Decode returns what the model saw, prefix space included.
	if got := tok.Decode(tok.Encode("Hello")); got != " Hello" {
		t.Errorf("Decode = %q, want %q", got, " Hello")
	}
}

// TestEOSLookup: config.json's eos_token_id, then tokenizer_config.json's
// eos_token, then a conventional spelling.
func TestEOSLookup(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"conventional spelling", nil, 50256},
		{"config.json number", map[string]string{"config.json": `{"eos_token_id": 198}`}, 198},
		{"config.json list", map[string]string{"config.json": `{"eos_token_id": [13, 198]}`}, 13},
		{"tokenizer_config.json string", map[string]string{"tokenizer_config.json": `{"eos_token": "Hello"}`}, 15496},
		{"tokenizer_config.json object", map[string]string{"tokenizer_config.json": `{"eos_token": {"content": "Hello"}}`}, 15496},
		{"unknown eos_token falls through", map[string]string{"tokenizer_config.json": `{"eos_token": "<nope>"}`}, 50256},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			writeGPT2TokenizerJSON(t, d, nil)
			for name, body := range c.files {
				os.WriteFile(filepath.Join(d, name), []byte(body), 0o644)
			}
			tok, err := Load(d)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.EOS(); got != c.want {
				t.Errorf("EOS() = %d, want %d", got, c.want)
			}
		})
	}
}

func TestEOSLookupVocabMerges(t *testing.T) {
	src := gpt2Dir(t)
	d := t.TempDir()
	copyFile(t, filepath.Join(src, "encoder.json"), d, "vocab.json")
	copyFile(t, filepath.Join(src, "vocab.bpe"), d, "merges.txt")
	os.WriteFile(filepath.Join(d, "config.json"), []byte(`{"eos_token_id": 198}`), 0o644)
	tok, err := Load(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.EOS(); got != 198 {
		t.Errorf("EOS() = %d, want 198 from config.json", got)
	}
}

// TestLoadErrors: every bad input is one line that names the problem, and
// no panic.
func TestLoadErrors(t *testing.T) {
	src := gpt2Dir(t)
	hfEdit := func(edit func(map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string { return writeGPT2TokenizerJSON(t, t.TempDir(), edit) }
	}
	model := func(doc map[string]any) map[string]any { return doc["model"].(map[string]any) }
	cases := []struct {
		name  string
		setup func(t *testing.T) string
		want  string
	}{
		{"empty spec", func(*testing.T) string { return "" }, "no tokenizer given"},
		{"missing directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, "no such file or directory"},
		{"empty directory", func(t *testing.T) string { return t.TempDir() }, "found none of tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe"},
		{"vocab.json without merges.txt", func(t *testing.T) string {
			d := t.TempDir()
			copyFile(t, filepath.Join(src, "encoder.json"), d, "vocab.json")
			return d
		}, "found none of"},
		{"vocab file instead of its directory", func(*testing.T) string {
			return filepath.Join(src, "encoder.json")
		}, "give the directory that holds this file"},
		{"corrupt tokenizer.json", func(t *testing.T) string {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "tokenizer.json"), []byte("{\n\"model\": {\n\"vocab\": {,}}}"), 0o644)
			return d
		}, "line 3"},
		{"corrupt encoder.json", func(t *testing.T) string {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "encoder.json"), []byte(`["a", "b"]`), 0o644)
			copyFile(t, filepath.Join(src, "vocab.bpe"), d, "vocab.bpe")
			return d
		}, "not a JSON object of token → id"},
		{"bad merges line", func(t *testing.T) string {
			d := t.TempDir()
			copyFile(t, filepath.Join(src, "encoder.json"), d, "encoder.json")
			os.WriteFile(filepath.Join(d, "vocab.bpe"), []byte("#version: 0.2\nĠ t\nh e x\n"), 0o644)
			return d
		}, "vocab.bpe:3: a merge is two tokens"},
		{"merge of unknown token", func(t *testing.T) string {
			d := t.TempDir()
			copyFile(t, filepath.Join(src, "encoder.json"), d, "encoder.json")
			os.WriteFile(filepath.Join(d, "vocab.bpe"), []byte("#version: 0.2\nĠ t\nzzzq x\n"), 0o644)
			return d
		}, "vocab.bpe:3: merge \"zzzq\" \"x\" names a token that is not in the vocabulary"},
		{"wordpiece model", hfEdit(func(doc map[string]any) { model(doc)["type"] = "WordPiece" }), "model type WordPiece is not supported"},
		{"unigram model", hfEdit(func(doc map[string]any) { model(doc)["type"] = "Unigram" }), "model type Unigram is not supported"},
		{"empty vocab", hfEdit(func(doc map[string]any) { model(doc)["vocab"] = map[string]int{} }), "model.vocab is missing or empty"},
		{"dropout", hfEdit(func(doc map[string]any) { model(doc)["dropout"] = 0.1 }), "dropout"},
		{"byte fallback", hfEdit(func(doc map[string]any) { model(doc)["byte_fallback"] = true }), "byte_fallback"},
		{"normalizer", hfEdit(func(doc map[string]any) { doc["normalizer"] = map[string]any{"type": "NFKC"} }), "normalizer NFKC is not supported"},
		{"normalizer sequence", hfEdit(func(doc map[string]any) {
			doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFC"}, map[string]any{"type": "Lowercase"}}}
		}), "normalizer Lowercase is not supported"},
		{"metaspace pre-tokenizer", hfEdit(func(doc map[string]any) {
			doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁"}
		}), "pre_tokenizer Metaspace is not supported"},
		{"other split pattern", hfEdit(func(doc map[string]any) {
			doc["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\s+`}, "behavior": "Isolated"},
				map[string]any{"type": "ByteLevel", "use_regex": false},
			}}
		}), `pre_tokenizer Split pattern "\\s+" is not supported`},
		{"three pre-tokenizers", hfEdit(func(doc map[string]any) {
			doc["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": GPT2Pattern}, "behavior": "Isolated"},
				map[string]any{"type": "Digits", "individual_digits": true},
				map[string]any{"type": "ByteLevel", "use_regex": false},
			}}
		}), "pre_tokenizer Sequence[Split, Digits, ByteLevel] is not supported"},
		{"no pre-tokenizer", hfEdit(func(doc map[string]any) { doc["pre_tokenizer"] = nil }), "no pre_tokenizer"},
		{"merges of wrong shape", hfEdit(func(doc map[string]any) { model(doc)["merges"] = []any{[]string{"a", "b", "c"}} }), "entry 0 has 3 tokens"},
		{"merge string without space", hfEdit(func(doc map[string]any) { model(doc)["merges"] = []string{"ab"} }), `entry 0 "ab" is not two tokens`},
		{"missing byte token", hfEdit(func(doc map[string]any) {
			delete(model(doc)["vocab"].(map[string]int), "Ġ")
		}), "lacks the single-byte token for 0x20"},
		{"not byte-level spelling", hfEdit(func(doc map[string]any) {
			model(doc)["vocab"].(map[string]int)["▁the"] = 50257
		}), "is not spelled in byte-level characters"},
		{"huge id", hfEdit(func(doc map[string]any) {
			model(doc)["vocab"].(map[string]int)["ĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠ"] = 2000000000
		}), "has id 2000000000, outside"},
		{"duplicate id", hfEdit(func(doc map[string]any) {
			model(doc)["vocab"].(map[string]int)["ĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠ"] = 5
		}), "id 5 is given to two tokens"},
		{"added token id disagrees", hfEdit(func(doc map[string]any) {
			doc["added_tokens"] = []any{map[string]any{"id": 7, "content": "<|endoftext|>", "special": true}}
		}), `added token "<|endoftext|>" has id 7 but the vocabulary says 50256`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Load(c.setup(t))
			if err == nil {
				t.Fatalf("Load succeeded (%v), want an error containing %q", tok, c.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not contain %q", msg, c.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

// FuzzLoadTokenizerJSON: any bytes as tokenizer.json give a tokenizer or an
// error, never a panic; a tokenizer that loads round-trips text.
func FuzzLoadTokenizerJSON(f *testing.F) {
	var alphabet []string
	vocab := map[string]int{}
	for b := range 256 {
		s := string(byteToRune[b])
		alphabet = append(alphabet, s)
		vocab[s] = b
	}
	vocab["ĠĠ"] = 256
	vocab["he"] = 257
	doc := map[string]any{
		"added_tokens":  []any{map[string]any{"id": 258, "content": "<|endoftext|>", "special": true}},
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false},
		"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{"Ġ Ġ", "h e"}},
	}
	seed, _ := json.Marshal(doc)
	f.Add(seed)
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a","a"]]}}`))
	f.Add([]byte(`{"model":{"vocab":{"a":-1}}, "pre_tokenizer":{"type":"Sequence","pretokenizers":[]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tok, err := parseHF(raw, filepath.Join("fuzz", "tokenizer.json"))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		// A byte-level BPE keeps every byte; a SentencePiece-style one, or a
		// post-processor's BOS, need not give the text back.
		if b, ok := tok.(*BPE); !ok || len(b.post.before)+len(b.post.after) > 0 {
			return
		}
		for _, s := range []string{"hello  there", "\xff<|endoftext|>", ""} {
			if got := tok.Decode(tok.Encode(s)); got != s && !strings.HasPrefix(got, " ") {
				t.Fatalf("Decode(Encode(%q)) = %q", s, got)
			}
		}
	})
}

// TestEncodeSpecialLongestMatch: leftmost added token first; of two that
// start at one place, the longer.
func TestEncodeSpecialLongestMatch(t *testing.T) {
	path := writeGPT2TokenizerJSON(t, t.TempDir(), func(doc map[string]any) {
		doc["added_tokens"] = []any{
			map[string]any{"id": 50256, "content": "<|endoftext|>", "special": true},
			map[string]any{"id": 50257, "content": "<|x|>", "special": true},
			map[string]any{"id": 50258, "content": "<|x|>y", "special": true},
		}
	})
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	gpt2 := loadGPT2(t)
	got := tok.(SpecialEncoder).EncodeSpecial("a<|x|>yz <|x|><|endoftext|>")
	want := slices.Concat(gpt2.Encode("a"), []int64{50258}, gpt2.Encode("z "), []int64{50257, 50256})
	if !slices.Equal(got, want) {
		t.Errorf("EncodeSpecial = %v, want %v", got, want)
	}
	if tok.VocabSize() != 50259 {
		t.Errorf("VocabSize() = %d, want 50259", tok.VocabSize())
	}
	if got := tok.Decode(got); got != "a<|x|>yz <|x|><|endoftext|>" {
		t.Errorf("Decode = %q", got)
	}
}
