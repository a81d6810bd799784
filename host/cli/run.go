package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

func runCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "run",
		Usage:  "(not built yet)",
		Action: func(*ucli.Context) error { return errors.New("pipe run: not built yet") },
	}
}
