package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

func pluginCommand() *ucli.Command {
	return &ucli.Command{
		Name:   "plugin",
		Usage:  "(not built yet)",
		Action: func(*ucli.Context) error { return errors.New("pipe plugin: not built yet") },
	}
}
