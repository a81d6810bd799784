package cli

import (
	"errors"
	"io"

	ucli "github.com/urfave/cli/v2"
)

// CheckArgs parses a pipe command line (args[0] is the program name)
// against the real commands and flags without running anything: every
// command's action is replaced by one that only parses its flags — also
// those that follow the arguments, as the real actions do. It returns the
// error the real command line would give for an unknown command or flag, or
// a flag value of the wrong type. Deployment files are checked with it, so
// a command they spell cannot drift from the flags pipe has.
func CheckArgs(args []string) error {
	app := newApp(io.Discard, io.Discard)
	parsed := false
	var parseOnly func(cmds []*ucli.Command)
	parseOnly = func(cmds []*ucli.Command) {
		for _, cmd := range cmds {
			parseOnly(cmd.Subcommands)
			cmd.Before, cmd.After = nil, nil
			if cmd.Action == nil {
				continue
			}
			cmd.Action = func(c *ucli.Context) error {
				parsed = true
				_, _, err := interspersed(c)
				return err
			}
		}
	}
	parseOnly(app.Commands)
	app.Action = func(c *ucli.Context) error {
		if c.Args().Present() {
			return errors.New("unknown command " + c.Args().First() + "; see pipe --help")
		}
		return nil
	}
	if err := app.Run(args); err != nil {
		return err
	}
	if !parsed {
		return errors.New("no command ran (help or a command group was given); want a full pipe command line")
	}
	return nil
}
