package tokenize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// eosCandidates are the end-of-text spellings looked for, in order, when no
// config names the EOS token.
var eosCandidates = []string{"<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "<|im_end|>"}

// loadVocabMerges reads a GPT-2 style pair: a JSON object token → id
// (encoder.json or vocab.json) and a merges list (vocab.bpe or merges.txt).
func loadVocabMerges(vocabPath, mergesPath string, spaces spaceSet) (*BPE, error) {
	raw, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var vocab map[string]int32
	if err := json.Unmarshal(raw, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer %s: not a JSON object of token → id: %v", vocabPath, jsonError(raw, err))
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("tokenizer %s: the vocabulary is empty", vocabPath)
	}
	f, err := os.Open(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	merges, lines, err := readMerges(f, mergesPath)
	if err != nil {
		return nil, err
	}
	spec := bpeSpec{
		source:     mergesPath,
		vocab:      vocab,
		merges:     merges,
		mergeLines: lines,
		split:      splitter{spaces: spaces},
		eos:        -1,
	}
	// GPT-2's files carry <|endoftext|> in the vocabulary; it is the one
	// special token. A config.json beside the files may name another EOS.
	for _, name := range eosCandidates {
		if id, ok := vocab[name]; ok {
			spec.specials = append(spec.specials, special{text: name, id: int64(id)})
			break
		}
	}
	spec.eos = hfEOS(filepath.Dir(vocabPath), spec)
	return newBPE(spec)
}

// readMerges parses a merges list: an optional "#version" first line, then
// one "left right" pair per line. Blank lines are skipped.
func readMerges(f *os.File, path string) ([][2]string, []int, error) {
	var merges [][2]string
	var lines []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if n == 1 && strings.HasPrefix(line, "#version") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, nil, fmt.Errorf("%s:%d: a merge is two tokens separated by a space, got %q", path, n, line)
		}
		merges = append(merges, [2]string{fields[0], fields[1]})
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return merges, lines, nil
}

// hfTokenizer is the part of a Hugging Face tokenizer.json that matters to a
// byte-level BPE.
type hfTokenizer struct {
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Type                    string           `json:"type"`
		Dropout                 *float64         `json:"dropout"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		ByteFallback            bool             `json:"byte_fallback"`
		IgnoreMerges            bool             `json:"ignore_merges"`
		Vocab                   map[string]int32 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
	} `json:"model"`
}

// hfPreTokenizer covers the ByteLevel, Split and Sequence pre-tokenizers.
type hfPreTokenizer struct {
	Type           string           `json:"type"`
	AddPrefixSpace bool             `json:"add_prefix_space"`
	UseRegex       *bool            `json:"use_regex"`
	Pattern        *hfPattern       `json:"pattern"`
	Behavior       string           `json:"behavior"`
	Invert         bool             `json:"invert"`
	PreTokenizers  []hfPreTokenizer `json:"pretokenizers"`
}

type hfPattern struct {
	Regex  *string `json:"Regex"`
	String *string `json:"String"`
}

// loadHF reads a tokenizer.json. It accepts what is exactly a GPT-2 style
// byte-level BPE: model BPE without dropout, prefixes or byte fallback; no
// normalizer; a ByteLevel pre-tokenizer with its built-in regex, or a Split
// on GPT2Pattern followed by a ByteLevel without regex. Anything else is
// refused by name rather than tokenized approximately.
func loadHF(path string) (*BPE, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return parseHF(raw, path)
}

// parseHF is loadHF on the file's bytes; path names it in errors and its
// directory is where config.json may name the EOS token.
func parseHF(raw []byte, path string) (*BPE, error) {
	var hf hfTokenizer
	if err := json.Unmarshal(raw, &hf); err != nil {
		return nil, fmt.Errorf("tokenizer %s: not a tokenizer.json: %v", path, jsonError(raw, err))
	}
	m := hf.Model
	switch {
	case m.Type != "" && m.Type != "BPE":
		return nil, fmt.Errorf("tokenizer %s: model type %s is not supported: pipe tokenizes byte-level BPE (GPT-2 style) exactly and nothing approximately; pass token ids (--prompt-ids / seeded prompts) instead", path, m.Type)
	case len(m.Vocab) == 0:
		return nil, fmt.Errorf("tokenizer %s: model.vocab is missing or empty", path)
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, fmt.Errorf("tokenizer %s: BPE dropout %g makes tokenization random; set model.dropout to null", path, *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "",
		m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, fmt.Errorf("tokenizer %s: BPE with a subword prefix or word suffix is not byte-level BPE; not supported", path)
	case m.ByteFallback:
		return nil, fmt.Errorf("tokenizer %s: byte_fallback BPE (SentencePiece style) is not supported; pipe tokenizes byte-level BPE only", path)
	}
	spec := bpeSpec{source: path, vocab: m.Vocab, ignoreMerges: m.IgnoreMerges, eos: -1}
	var err error
	if spec.normalize, err = hfNormalizer(hf.Normalizer); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if spec.prefix, spec.split, err = hfPreTokenize(hf.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if spec.merges, err = hfMerges(m.Merges); err != nil {
		return nil, fmt.Errorf("tokenizer %s: model.merges: %w", path, err)
	}
	for _, a := range hf.AddedTokens {
		if a.ID < 0 || a.Content == "" {
			return nil, fmt.Errorf("tokenizer %s: added token %q has id %d", path, a.Content, a.ID)
		}
		if id, ok := m.Vocab[a.Content]; ok && int64(id) != a.ID {
			return nil, fmt.Errorf("tokenizer %s: added token %q has id %d but the vocabulary says %d", path, a.Content, a.ID, id)
		}
		spec.specials = append(spec.specials, special{text: a.Content, id: a.ID})
	}
	spec.eos = hfEOS(filepath.Dir(path), spec)
	return newBPE(spec)
}

// hfNormalizer accepts no normalizer, or NFC (alone or as the only member
// of a Sequence), as Qwen2 has it.
func hfNormalizer(raw json.RawMessage) (func(string) string, error) {
	if n := bytes.TrimSpace(raw); len(n) == 0 || bytes.Equal(n, []byte("null")) {
		return nil, nil
	}
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("normalizer: %v", err)
	}
	switch {
	case n.Type == "NFC":
		return norm.NFC.String, nil
	case n.Type == "Sequence" && len(n.Normalizers) == 0:
		return nil, nil
	case n.Type == "Sequence" && len(n.Normalizers) == 1:
		return hfNormalizer(n.Normalizers[0])
	}
	return nil, fmt.Errorf("normalizer %s is not supported: pipe applies none or NFC", jsonType(raw))
}

// hfPreTokenize checks the pre-tokenizer and returns add_prefix_space and
// the splitter. \s is Unicode White_Space here, as in the Oniguruma regex
// engine of Hugging Face tokenizers.
func hfPreTokenize(raw json.RawMessage) (prefix bool, sp splitter, err error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return false, sp, errors.New("no pre_tokenizer: not a byte-level BPE (expected ByteLevel)")
	}
	var pt hfPreTokenizer
	if err := json.Unmarshal(raw, &pt); err != nil {
		return false, sp, fmt.Errorf("pre_tokenizer: %v", err)
	}
	if pt.Type == "ByteLevel" && (pt.UseRegex == nil || *pt.UseRegex) {
		sp, _ := splitterFor(GPT2Pattern, spaceWhiteSpace)
		return pt.AddPrefixSpace, sp, nil
	}
	if pt.Type == "Sequence" && len(pt.PreTokenizers) == 2 {
		split, bl := pt.PreTokenizers[0], pt.PreTokenizers[1]
		if split.Type == "Split" && split.Pattern != nil && split.Pattern.Regex != nil && !split.Invert &&
			(split.Behavior == "" || split.Behavior == "Isolated") &&
			bl.Type == "ByteLevel" && bl.UseRegex != nil && !*bl.UseRegex {
			if sp, ok := splitterFor(*split.Pattern.Regex, spaceWhiteSpace); ok {
				return bl.AddPrefixSpace, sp, nil
			}
			return false, sp, fmt.Errorf("pre_tokenizer Split pattern %q is not supported: pipe implements exactly GPT-2's, Llama 3's (cl100k) and Qwen2's patterns", *split.Pattern.Regex)
		}
	}
	return false, sp, fmt.Errorf("pre_tokenizer %s is not supported: pipe implements byte-level BPE with ByteLevel, or Split on the GPT-2, Llama 3 or Qwen2 pattern then ByteLevel", describePreTokenizer(pt))
}

func describePreTokenizer(p hfPreTokenizer) string {
	if p.Type != "Sequence" {
		return p.Type
	}
	parts := make([]string, len(p.PreTokenizers))
	for i, q := range p.PreTokenizers {
		parts[i] = describePreTokenizer(q)
	}
	return "Sequence[" + strings.Join(parts, ", ") + "]"
}

// hfMerges accepts both spellings: ["a b", ...] and [["a", "b"], ...].
func hfMerges(raw json.RawMessage) ([][2]string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("missing")
	}
	var asStrings []string
	if err := json.Unmarshal(raw, &asStrings); err == nil {
		out := make([][2]string, len(asStrings))
		for i, s := range asStrings {
			f := strings.Split(s, " ")
			if len(f) != 2 || f[0] == "" || f[1] == "" {
				return nil, fmt.Errorf("entry %d %q is not two tokens separated by one space", i, s)
			}
			out[i] = [2]string{f[0], f[1]}
		}
		return out, nil
	}
	var asPairs [][]string
	if err := json.Unmarshal(raw, &asPairs); err != nil {
		return nil, errors.New(`neither a list of "left right" strings nor a list of [left, right] pairs`)
	}
	out := make([][2]string, len(asPairs))
	for i, p := range asPairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("entry %d has %d tokens, want 2", i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

// hfEOS finds the end-of-text id: config.json's eos_token_id, then
// tokenizer_config.json's eos_token, then a conventional spelling.
func hfEOS(dir string, spec bpeSpec) int64 {
	lookup := func(text string) (int64, bool) {
		for _, s := range spec.specials {
			if s.text == text {
				return s.id, true
			}
		}
		id, ok := spec.vocab[text]
		return int64(id), ok
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		var cfg struct {
			EOS json.RawMessage `json:"eos_token_id"`
		}
		if json.Unmarshal(raw, &cfg) == nil {
			var one int64
			var many []int64
			if json.Unmarshal(cfg.EOS, &one) == nil {
				return one
			}
			if json.Unmarshal(cfg.EOS, &many) == nil && len(many) > 0 {
				return many[0]
			}
		}
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		var cfg struct {
			EOS json.RawMessage `json:"eos_token"`
		}
		if json.Unmarshal(raw, &cfg) == nil {
			var text string
			var obj struct {
				Content string `json:"content"`
			}
			if json.Unmarshal(cfg.EOS, &text) != nil && json.Unmarshal(cfg.EOS, &obj) == nil {
				text = obj.Content
			}
			if id, ok := lookup(text); ok && text != "" {
				return id
			}
		}
	}
	for _, name := range eosCandidates {
		if id, ok := lookup(name); ok {
			return id
		}
	}
	return -1
}

// jsonError adds a line number to a JSON syntax error.
func jsonError(raw []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(raw[:min(int(se.Offset), len(raw))], []byte("\n"))
		return fmt.Errorf("line %d: %v", line, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line := 1 + bytes.Count(raw[:min(int(te.Offset), len(raw))], []byte("\n"))
		return fmt.Errorf("line %d: %v", line, err)
	}
	return err
}

// jsonType names the "type" of a JSON object, or says it has none.
func jsonType(raw json.RawMessage) string {
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &t) == nil && t.Type != "" {
		return t.Type
	}
	return string(raw[:min(len(raw), 40)])
}
