package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

func reportCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "report",
		Usage:  "(not built yet)",
		Action: func(*ucli.Context) error { return errors.New("pipe report: not built yet") },
	}
}
