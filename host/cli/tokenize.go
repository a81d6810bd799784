package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/tokenize"
	ucli "github.com/urfave/cli/v2"
)

// tokenizeOutput is what `pipe tokenize --json` prints.
type tokenizeOutput struct {
	Tokenizer string  `json:"tokenizer"`
	IDs       []int64 `json:"ids"`
	Count     int     `json:"count"`
}

func tokenizeCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "tokenize",
		Usage:     "print the token ids of a text",
		ArgsUsage: "TEXT",
		Description: `Encodes TEXT (one argument: quote it) or --file PATH with the tokenizer and
prints the ids on one line. Special tokens such as <|endoftext|> or <s> are
plain text unless --special is given, as in the reference GPT-2 encoder; the
tokens the tokenizer.json's post-processor adds (Llama 2's, Mistral's and
Gemma's BOS) are always there, because the model sees them. --decode turns ids
back into text.

   pipe tokenize "Hello world"                 15496 995
   pipe tokenize --tokenizer mistral "Hi"      1 15359
   pipe tokenize --count --file prompt.txt     ids, then the count on its own line
   pipe tokenize --decode "15496 995"          Hello world`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "tokenizer", Value: tokenize.GPT2, Usage: "gpt2, mistral, gemma3 (fetched by pipe setup), a tokenizer.json, or a directory holding tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe"},
			&ucli.StringFlag{Name: "file", Usage: "read the text from `PATH` (- for standard input) instead of the argument"},
			&ucli.BoolFlag{Name: "json", Usage: "print one JSON object: tokenizer, ids, count"},
			&ucli.BoolFlag{Name: "count", Usage: "also print the number of tokens"},
			&ucli.BoolFlag{Name: "special", Usage: "recognise special tokens written in the text (<|endoftext|> → 50256)"},
			&ucli.BoolFlag{Name: "decode", Usage: "TEXT (or the file) is token ids separated by spaces or commas: print the text they decode to"},
		},
		Action: runTokenize,
	}
}

func runTokenize(c *ucli.Context) error {
	spec := c.String("tokenizer")
	text, err := tokenizeInput(c)
	if err != nil {
		return err
	}
	tok, err := tokenize.Load(spec)
	if err != nil {
		return err
	}
	if c.Bool("decode") {
		ids, err := parseIDList(text)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, tok.Decode(ids))
		return nil
	}
	var ids []int64
	if c.Bool("special") {
		se, ok := tok.(tokenize.SpecialEncoder)
		if !ok {
			return fmt.Errorf("tokenize: tokenizer %s cannot recognise special tokens; drop --special", spec)
		}
		ids = se.EncodeSpecial(text)
	} else {
		ids = tok.Encode(text)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, tokenizeOutput{Tokenizer: spec, IDs: ids, Count: len(ids)})
	}
	words := make([]string, len(ids))
	for i, id := range ids {
		words[i] = strconv.FormatInt(id, 10)
	}
	fmt.Fprintln(c.App.Writer, strings.Join(words, " "))
	if c.Bool("count") {
		fmt.Fprintln(c.App.Writer, len(ids))
	}
	return nil
}

// parseIDList reads token ids separated by spaces, commas or newlines.
func parseIDList(text string) ([]int64, error) {
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("tokenize --decode: no ids: give token ids like \"15496 995\"")
	}
	ids := make([]int64, len(fields))
	for i, f := range fields {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("tokenize --decode: %q is not a token id: give non-negative integers separated by spaces or commas", f)
		}
		ids[i] = id
	}
	return ids, nil
}

// tokenizeInput returns the text from the one argument or from --file.
func tokenizeInput(c *ucli.Context) (string, error) {
	const how = "give the text as one argument (quote it) or --file PATH"
	switch {
	case c.IsSet("file") && c.NArg() > 0:
		return "", fmt.Errorf("tokenize: both TEXT and --file given: %s, not both", how)
	case c.IsSet("file"):
		path := c.String("file")
		var raw []byte
		var err error
		if path == "-" {
			raw, err = io.ReadAll(os.Stdin)
		} else {
			raw, err = os.ReadFile(path)
		}
		if err != nil {
			return "", fmt.Errorf("tokenize --file: %w", err)
		}
		return string(raw), nil
	case c.NArg() == 1:
		return c.Args().First(), nil
	case c.NArg() == 0:
		return "", fmt.Errorf("tokenize: no text: %s", how)
	}
	return "", fmt.Errorf("tokenize: %d arguments: %s", c.NArg(), how)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
