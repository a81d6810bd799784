package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

func generateCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "generate",
		Usage:  "(not built yet)",
		Action: func(*ucli.Context) error { return errors.New("pipe generate: not built yet") },
	}
}
