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
prints the ids on one line. Special tokens such as <|endoftext|> are plain text
unless --special is given, as in the reference GPT-2 encoder.

   pipe tokenize "Hello world"                 15496 995
   pipe tokenize --count --file prompt.txt     ids, then the count on its own line`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "tokenizer", Value: tokenize.GPT2, Usage: "gpt2, a tokenizer.json, or a directory holding tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe"},
			&ucli.StringFlag{Name: "file", Usage: "read the text from `PATH` (- for standard input) instead of the argument"},
			&ucli.BoolFlag{Name: "json", Usage: "print one JSON object: tokenizer, ids, count"},
			&ucli.BoolFlag{Name: "count", Usage: "also print the number of tokens"},
			&ucli.BoolFlag{Name: "special", Usage: "recognise special tokens written in the text (<|endoftext|> → 50256)"},
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
