package cli

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTokenizeText runs pipe tokenize on the cases that matter for GPT-2 and
// compares stdout with a golden file.
func TestTokenizeText(t *testing.T) {
	var out strings.Builder
	for _, args := range [][]string{
		{"Hello\n\nworld"},
		{" VIII"},
		{"<|endoftext|>"},
		{"--special", "a <|endoftext|> b"},
		{"--count", "It's 2024: naïve café, 中文 👋"},
		{""},
	} {
		code, stdout, stderr := runPipe(append([]string{"tokenize"}, args...)...)
		if code != 0 {
			t.Fatalf("pipe tokenize %q: exit %d: %s", args, code, stderr)
		}
		fmt.Fprintf(&out, "$ pipe tokenize %q\n%s", args, stdout)
	}
	golden.Check(t, "tokenize.txt", []byte(out.String()))
}

func TestTokenizeJSONAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prompt.txt")
	if err := os.WriteFile(path, []byte("Hello\n\nworld"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runPipe("tokenize", "--json", "--file", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out tokenizeOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	if want := []int64{15496, 198, 198, 6894}; !slices.Equal(out.IDs, want) || out.Count != 4 || out.Tokenizer != "gpt2" {
		t.Errorf("got %+v, want ids %v, count 4, tokenizer gpt2", out, want)
	}
}

// TestTokenizeFamilies: the tokenizers `pipe setup` fetches by name, with
// their BOS, and --decode back (ids from Hugging Face's tokenizers, as in
// host/internal/tokenize/testdata/sp_reference.json).
func TestTokenizeFamilies(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tokenizer", "mistral", "Hello world"}, "1 22557 1526\n"},
		{[]string{"--tokenizer", "mistral", " Hello"}, "1 28705 22557\n"},
		{[]string{"--tokenizer", "mistral", "--special", "<s>Hello</s> world"}, "1 1 22557 2 28705 1526\n"},
		{[]string{"--tokenizer", "mistral", "<s>"}, "1 523 28713 28767\n"},
		{[]string{"--tokenizer", "gemma3", "Hello world"}, "2 9259 1902\n"},
		{[]string{"--tokenizer", "mistral", "--decode", "22557, 28705, 243 162 169 156"}, "Hello 🦙\n"},
		{[]string{"--tokenizer", "gemma3", "--decode", "2 9259 1902"}, "<bos>Hello world\n"},
		{[]string{"--decode", "15496 995"}, "Hello world\n"},
	} {
		code, stdout, stderr := runPipe(append([]string{"tokenize"}, c.args...)...)
		if code != 0 || stdout != c.want {
			t.Errorf("pipe tokenize %q: exit %d, stdout %q, want %q; stderr %s", c.args, code, stdout, c.want, stderr)
		}
	}
}

func TestTokenizeErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no text", []string{"tokenize"}, "pipe: tokenize: no text: give the text as one argument (quote it) or --file PATH\n"},
		{"decode not ids", []string{"tokenize", "--decode", "12 x3"}, "pipe: tokenize --decode: \"x3\" is not a token id: give non-negative integers separated by spaces or commas\n"},
		{"two arguments", []string{"tokenize", "a", "b"}, "pipe: tokenize: 2 arguments: give the text as one argument (quote it) or --file PATH\n"},
		{"text and file", []string{"tokenize", "--file", "x.txt", "a"}, "pipe: tokenize: both TEXT and --file given: give the text as one argument (quote it) or --file PATH, not both\n"},
		{"missing file", []string{"tokenize", "--file", "/nonexistent/prompt.txt"}, "pipe: tokenize --file: open /nonexistent/prompt.txt: no such file or directory\n"},
		{"missing tokenizer", []string{"tokenize", "--tokenizer", "/nonexistent/tok", "a"}, "pipe: tokenizer /nonexistent/tok: no such file or directory: pass gpt2, mistral, gemma3 or a directory holding tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runPipe(c.args...)
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if stderr != c.want {
				t.Errorf("stderr\n got %q\nwant %q", stderr, c.want)
			}
		})
	}
}
