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
	"unicode/utf8"

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
			spec.specials = append(spec.specials, special{text: name, id: int64(id), special: true})
			break
		}
	}
	spec.eos = hfEOS(filepath.Dir(vocabPath), spec.lookup)
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
		ID         int64  `json:"id"`
		Content    string `json:"content"`
		Special    bool   `json:"special"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		SingleWord bool   `json:"single_word"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type                    string           `json:"type"`
		Dropout                 *float64         `json:"dropout"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		ByteFallback            bool             `json:"byte_fallback"`
		FuseUnk                 bool             `json:"fuse_unk"`
		IgnoreMerges            bool             `json:"ignore_merges"`
		Vocab                   map[string]int32 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
	} `json:"model"`
}

// hfPreTokenizer covers the ByteLevel, Metaspace, Split and Sequence
// pre-tokenizers.
type hfPreTokenizer struct {
	Type           string           `json:"type"`
	AddPrefixSpace *bool            `json:"add_prefix_space"`
	Replacement    *string          `json:"replacement"`
	PrependScheme  *string          `json:"prepend_scheme"`
	Split          *bool            `json:"split"`
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

// loadHF reads a tokenizer.json. It accepts a model BPE without dropout or
// subword affixes, either byte-level (a ByteLevel pre-tokenizer with its
// built-in regex, or a Split on a pattern pipe implements followed by a
// ByteLevel without regex) or SentencePiece-style (no ByteLevel anywhere:
// Metaspace or literal Split pre-tokenizers, byte fallback). Anything else
// is refused by name rather than tokenized approximately.
func loadHF(path string) (Tokenizer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return parseHF(raw, path)
}

// parseHF is loadHF on the file's bytes; path names it in errors and its
// directory is where config.json may name the EOS token.
func parseHF(raw []byte, path string) (Tokenizer, error) {
	var hf hfTokenizer
	if err := json.Unmarshal(raw, &hf); err != nil {
		return nil, fmt.Errorf("tokenizer %s: not a tokenizer.json: %v", path, jsonError(raw, err))
	}
	m := hf.Model
	switch {
	case m.Type != "" && m.Type != "BPE":
		return nil, fmt.Errorf("tokenizer %s: model type %s is not supported: pipe tokenizes BPE (byte-level, or SentencePiece-style with byte fallback) exactly and nothing approximately; pass token ids (--prompt-ids / seeded prompts) instead", path, m.Type)
	case len(m.Vocab) == 0:
		return nil, fmt.Errorf("tokenizer %s: model.vocab is missing or empty", path)
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, fmt.Errorf("tokenizer %s: BPE dropout %g makes tokenization random; set model.dropout to null", path, *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "",
		m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, fmt.Errorf("tokenizer %s: BPE with a subword prefix or word suffix (WordPiece-like) is not supported", path)
	}
	var specials []special
	for _, a := range hf.AddedTokens {
		if a.ID < 0 || a.Content == "" {
			return nil, fmt.Errorf("tokenizer %s: added token %q has id %d", path, a.Content, a.ID)
		}
		if id, ok := m.Vocab[a.Content]; ok && int64(id) != a.ID {
			return nil, fmt.Errorf("tokenizer %s: added token %q has id %d but the vocabulary says %d", path, a.Content, a.ID, id)
		}
		switch {
		case a.SingleWord:
			return nil, fmt.Errorf("tokenizer %s: added token %q has single_word set, which pipe does not apply: set it to false or pass token ids", path, a.Content)
		case a.Normalized && !jsonAbsent(hf.Normalizer):
			return nil, fmt.Errorf("tokenizer %s: added token %q has normalized set (matched in the normalized text), which pipe does not do: set it to false or pass token ids", path, a.Content)
		}
		specials = append(specials, special{text: a.Content, id: a.ID, special: a.Special, lstrip: a.Lstrip, rstrip: a.Rstrip})
	}
	lookup := bpeSpec{vocab: m.Vocab, specials: specials}.lookup
	normalize, err := hfNormalizer(hf.Normalizer)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	post, err := hfPostProcessor(hf.PostProcessor)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	merges, err := hfMerges(m.Merges)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: model.merges: %w", path, err)
	}
	if !byteLevel(hf.PreTokenizer) && !byteLevel(hf.Decoder) {
		return parseSentencePiece(hf, path, spSpec{
			source: path, vocab: m.Vocab, merges: merges, byteFallback: m.ByteFallback,
			fuseUnk: m.FuseUnk, ignoreMerges: m.IgnoreMerges, normalize: normalize,
			specials: specials, post: post,
		}, lookup)
	}
	if m.ByteFallback {
		return nil, fmt.Errorf("tokenizer %s: byte_fallback with a ByteLevel pre-tokenizer is not supported (byte-level BPE has every byte already)", path)
	}
	spec := bpeSpec{source: path, vocab: m.Vocab, merges: merges, ignoreMerges: m.IgnoreMerges, normalize: normalize, specials: specials, post: post}
	if spec.prefix, spec.split, err = hfPreTokenize(hf.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	spec.eos = hfEOS(filepath.Dir(path), lookup)
	return newBPE(spec)
}

// parseSentencePiece finishes a SentencePiece-style BPE: its pre-tokenizer,
// unk token, decoder and EOS.
func parseSentencePiece(hf hfTokenizer, path string, spec spSpec, lookup func(string) (int64, bool)) (*SentencePiece, error) {
	var err error
	if spec.pre, err = spPreTokenizer(hf.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if spec.decoders, err = spDecoders(hf.Decoder); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if u := hf.Model.UnkToken; u != nil {
		spec.unk = *u
	}
	t, err := newSentencePiece(spec)
	if err != nil {
		return nil, err
	}
	t.eos = hfEOS(filepath.Dir(path), lookup)
	return t, nil
}

// byteLevel reports whether a pre-tokenizer or decoder is, or holds,
// ByteLevel: the mark of a byte-level BPE. A file with neither is
// SentencePiece-style.
func byteLevel(raw json.RawMessage) bool {
	type step struct {
		Type          string `json:"type"`
		PreTokenizers []step `json:"pretokenizers"`
		Decoders      []step `json:"decoders"`
	}
	var st step
	if json.Unmarshal(raw, &st) != nil {
		return false
	}
	var has func(step) bool
	has = func(p step) bool {
		if p.Type == "ByteLevel" {
			return true
		}
		for _, q := range append(p.PreTokenizers, p.Decoders...) {
			if has(q) {
				return true
			}
		}
		return false
	}
	return has(st)
}

// spPreTokenizer accepts no pre-tokenizer, Metaspace, a Split on a literal
// string, or a Sequence of these.
func spPreTokenizer(raw json.RawMessage) ([]spPre, error) {
	if jsonAbsent(raw) {
		return nil, nil
	}
	var pt hfPreTokenizer
	if err := json.Unmarshal(raw, &pt); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %v", err)
	}
	var steps []spPre
	var walk func(p hfPreTokenizer) error
	walk = func(p hfPreTokenizer) error {
		switch p.Type {
		case "Sequence":
			for _, q := range p.PreTokenizers {
				if err := walk(q); err != nil {
					return err
				}
			}
			return nil
		case "Metaspace":
			step := spPre{replacement: metaspace, prepend: "always", splitMeta: true}
			if p.Replacement != nil {
				if utf8.RuneCountInString(*p.Replacement) != 1 {
					return fmt.Errorf("pre_tokenizer Metaspace replacement %q is not one character", *p.Replacement)
				}
				step.replacement = *p.Replacement
			}
			if p.Split != nil {
				step.splitMeta = *p.Split
			}
			switch {
			case p.PrependScheme != nil:
				switch *p.PrependScheme {
				case "always", "first", "never":
					step.prepend = *p.PrependScheme
				default:
					return fmt.Errorf("pre_tokenizer Metaspace prepend_scheme %q is not one of always, first, never", *p.PrependScheme)
				}
			case p.AddPrefixSpace != nil && !*p.AddPrefixSpace:
				step.prepend = "never"
			}
			steps = append(steps, step)
			return nil
		case "Split":
			switch {
			case p.Pattern == nil || p.Pattern.String == nil || *p.Pattern.String == "":
				return fmt.Errorf("pre_tokenizer Split on a regex in a SentencePiece-style BPE is not supported: pipe splits these on a literal string only")
			case p.Invert:
				return fmt.Errorf("pre_tokenizer Split with invert is not supported")
			}
			switch p.Behavior {
			case "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext":
			default:
				return fmt.Errorf("pre_tokenizer Split behavior %q is not supported: pipe implements Removed, Isolated, MergedWithPrevious and MergedWithNext", p.Behavior)
			}
			steps = append(steps, spPre{literal: *p.Pattern.String, behavior: p.Behavior})
			return nil
		}
		return fmt.Errorf("pre_tokenizer %s is not supported in a SentencePiece-style BPE: pipe implements Metaspace and Split on a literal string", describePreTokenizer(p))
	}
	if err := walk(pt); err != nil {
		return nil, err
	}
	return steps, nil
}

// hfDecoder covers the decoders of SentencePiece-style files.
type hfDecoder struct {
	Type           string          `json:"type"`
	Decoders       []hfDecoder     `json:"decoders"`
	Pattern        *hfPattern      `json:"pattern"`
	Content        json.RawMessage `json:"content"`
	Start          int             `json:"start"`
	Stop           int             `json:"stop"`
	Replacement    *string         `json:"replacement"`
	PrependScheme  *string         `json:"prepend_scheme"`
	AddPrefixSpace *bool           `json:"add_prefix_space"`
}

// spDecoders accepts no decoder, Replace (of a literal), ByteFallback, Fuse,
// Strip, Metaspace, or a Sequence of these.
func spDecoders(raw json.RawMessage) ([]spDecoder, error) {
	if jsonAbsent(raw) {
		return nil, nil
	}
	var d hfDecoder
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decoder: %v", err)
	}
	var out []spDecoder
	var walk func(d hfDecoder) error
	walk = func(d hfDecoder) error {
		switch d.Type {
		case "Sequence":
			for _, e := range d.Decoders {
				if err := walk(e); err != nil {
					return err
				}
			}
		case "Replace":
			var to string
			if d.Pattern == nil || d.Pattern.String == nil || json.Unmarshal(d.Content, &to) != nil {
				return errors.New("decoder Replace: pipe replaces a literal string (pattern.String) with a string only")
			}
			out = append(out, spDecoder{kind: "Replace", from: *d.Pattern.String, to: to})
		case "ByteFallback", "Fuse":
			out = append(out, spDecoder{kind: d.Type})
		case "Strip":
			var c string
			if json.Unmarshal(d.Content, &c) != nil || utf8.RuneCountInString(c) != 1 {
				return errors.New("decoder Strip: content is not one character")
			}
			r, _ := utf8.DecodeRuneInString(c)
			out = append(out, spDecoder{kind: "Strip", content: r, start: d.Start, stop: d.Stop})
		case "Metaspace":
			rep := metaspace
			if d.Replacement != nil {
				rep = *d.Replacement
			}
			r, _ := utf8.DecodeRuneInString(rep)
			prepend := d.PrependScheme == nil || *d.PrependScheme != "never"
			if d.PrependScheme == nil && d.AddPrefixSpace != nil {
				prepend = *d.AddPrefixSpace
			}
			out = append(out, spDecoder{kind: "Metaspace", replacement: r, metaPrepend: prepend})
		default:
			return fmt.Errorf("decoder %s is not supported in a SentencePiece-style BPE: pipe implements Replace, ByteFallback, Fuse, Strip and Metaspace", d.Type)
		}
		return nil
	}
	if err := walk(d); err != nil {
		return nil, err
	}
	return out, nil
}

// hfPostProcessor reads what the post-processor adds around one text: a
// TemplateProcessing's special tokens before and after $A (Llama 2's and
// Gemma's BOS), alone or in a Sequence; ByteLevel adds nothing. Others
// (BERT's, RoBERTa's) are refused by name.
func hfPostProcessor(raw json.RawMessage) (template, error) {
	var t template
	if jsonAbsent(raw) {
		return t, nil
	}
	type piece struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID string `json:"id"`
		} `json:"Sequence"`
	}
	type processor struct {
		Type          string            `json:"type"`
		Processors    []json.RawMessage `json:"processors"`
		Single        []piece           `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
	}
	var walk func(raw json.RawMessage) error
	walk = func(raw json.RawMessage) error {
		var p processor
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("post_processor: %v", err)
		}
		switch p.Type {
		case "ByteLevel":
			return nil
		case "Sequence":
			for _, q := range p.Processors {
				if err := walk(q); err != nil {
					return err
				}
			}
			return nil
		case "TemplateProcessing":
			seen := false
			for _, it := range p.Single {
				switch {
				case it.Sequence != nil:
					if it.Sequence.ID != "A" || seen {
						return fmt.Errorf("post_processor TemplateProcessing: the single template holds $%s; pipe expects $A once", it.Sequence.ID)
					}
					seen = true
				case it.SpecialToken != nil:
					st, ok := p.SpecialTokens[it.SpecialToken.ID]
					if !ok {
						return fmt.Errorf("post_processor TemplateProcessing: special token %q is not in special_tokens", it.SpecialToken.ID)
					}
					if seen {
						t.after = append(t.after, st.IDs...)
					} else {
						t.before = append(t.before, st.IDs...)
					}
				default:
					return errors.New("post_processor TemplateProcessing: a single template item is neither SpecialToken nor Sequence")
				}
			}
			if !seen {
				return errors.New("post_processor TemplateProcessing: the single template has no $A")
			}
			return nil
		}
		return fmt.Errorf("post_processor %s is not supported: pipe applies TemplateProcessing and ByteLevel", jsonType(raw))
	}
	return t, walk(raw)
}

// hfNormalizer accepts no normalizer, NFC (Qwen2), Prepend and Replace of a
// literal (Llama 2's Prepend ▁ + Replace ' ' → ▁, Gemma's Replace), or a
// Sequence of these, applied in order.
func hfNormalizer(raw json.RawMessage) (func(string) string, error) {
	if jsonAbsent(raw) {
		return nil, nil
	}
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
		Prepend     *string           `json:"prepend"`
		Pattern     *hfPattern        `json:"pattern"`
		Content     *string           `json:"content"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("normalizer: %v", err)
	}
	switch n.Type {
	case "NFC":
		return norm.NFC.String, nil
	case "Prepend":
		if n.Prepend == nil {
			return nil, errors.New("normalizer Prepend has no prepend string")
		}
		p := *n.Prepend
		return func(s string) string {
			if s == "" {
				return s
			}
			return p + s
		}, nil
	case "Replace":
		if n.Pattern == nil || n.Pattern.String == nil || *n.Pattern.String == "" || n.Content == nil {
			return nil, errors.New("normalizer Replace: pipe replaces a literal string (pattern.String) only, not a regex")
		}
		from, to := *n.Pattern.String, *n.Content
		return func(s string) string { return strings.ReplaceAll(s, from, to) }, nil
	case "Sequence":
		var steps []func(string) string
		for _, m := range n.Normalizers {
			f, err := hfNormalizer(m)
			if err != nil {
				return nil, err
			}
			if f != nil {
				steps = append(steps, f)
			}
		}
		switch len(steps) {
		case 0:
			return nil, nil
		case 1:
			return steps[0], nil
		}
		return func(s string) string {
			for _, f := range steps {
				s = f(s)
			}
			return s
		}, nil
	}
	return nil, fmt.Errorf("normalizer %s is not supported: pipe applies NFC, Prepend and Replace of a literal", jsonType(raw))
}

// jsonAbsent says a tokenizer.json field is missing or null.
func jsonAbsent(raw json.RawMessage) bool {
	n := bytes.TrimSpace(raw)
	return len(n) == 0 || bytes.Equal(n, []byte("null"))
}

// hfPreTokenize checks the pre-tokenizer and returns add_prefix_space and
// the splitter. \s is Unicode White_Space here, as in the Oniguruma regex
// engine of Hugging Face tokenizers.
func hfPreTokenize(raw json.RawMessage) (prefix bool, sp splitter, err error) {
	if jsonAbsent(raw) {
		return false, sp, errors.New("no pre_tokenizer: not a byte-level BPE (expected ByteLevel)")
	}
	var pt hfPreTokenizer
	if err := json.Unmarshal(raw, &pt); err != nil {
		return false, sp, fmt.Errorf("pre_tokenizer: %v", err)
	}
	if pt.Type == "ByteLevel" && (pt.UseRegex == nil || *pt.UseRegex) {
		sp, _ := splitterFor(GPT2Pattern, spaceWhiteSpace)
		return pt.AddPrefixSpace != nil && *pt.AddPrefixSpace, sp, nil
	}
	if pt.Type == "Sequence" && len(pt.PreTokenizers) == 2 {
		split, bl := pt.PreTokenizers[0], pt.PreTokenizers[1]
		if split.Type == "Split" && split.Pattern != nil && split.Pattern.Regex != nil && !split.Invert &&
			(split.Behavior == "" || split.Behavior == "Isolated") &&
			bl.Type == "ByteLevel" && bl.UseRegex != nil && !*bl.UseRegex {
			if sp, ok := splitterFor(*split.Pattern.Regex, spaceWhiteSpace); ok {
				return bl.AddPrefixSpace != nil && *bl.AddPrefixSpace, sp, nil
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
// tokenizer_config.json's eos_token, then a conventional spelling; lookup
// gives a token's id.
func hfEOS(dir string, lookup func(string) (int64, bool)) int64 {
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
