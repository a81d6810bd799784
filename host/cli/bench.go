package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

func benchCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "bench",
		Usage:  "(not built yet)",
		Action: func(*ucli.Context) error { return errors.New("pipe bench: not built yet") },
	}
}
