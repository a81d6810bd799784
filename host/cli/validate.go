package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

func validateCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "validate",
		Usage:  "(not built yet)",
		Action: func(*ucli.Context) error { return errors.New("pipe validate: not built yet") },
	}
}
