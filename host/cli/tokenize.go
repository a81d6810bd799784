package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

func tokenizeCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "tokenize",
		Usage:  "(not built yet)",
		Action: func(*ucli.Context) error { return errors.New("pipe tokenize: not built yet") },
	}
}
