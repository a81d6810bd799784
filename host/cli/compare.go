package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

func compareCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "compare",
		Usage:  "(not built yet)",
		Action: func(*ucli.Context) error { return errors.New("pipe compare: not built yet") },
	}
}
