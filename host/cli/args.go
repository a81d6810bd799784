package cli

import (
	"flag"
	"fmt"
	"io"
	"slices"

	ucli "github.com/urfave/cli/v2"
)

// interspersed lets flags follow the arguments ("pipe report X --format
// csv", as the usage line reads): urfave/cli v2 stops parsing flags at the
// first argument. When flags remain among the arguments, it parses the
// command's flags again over them, seeded with the flags cli did parse, and
// returns a context that answers for them with the arguments that remain.
func interspersed(c *ucli.Context) (*ucli.Context, []string, error) {
	args := c.Args().Slice()
	if !slices.ContainsFunc(args, func(a string) bool { return len(a) > 1 && a[0] == '-' }) {
		return c, args, nil
	}
	name := c.Command.Name
	set := flag.NewFlagSet(name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range c.Command.Flags {
		if err := f.Apply(set); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, f := range c.Command.Flags {
		fname := f.Names()[0]
		if _, shared := f.(*ucli.GenericFlag); shared || !c.IsSet(fname) {
			continue // a generic flag's value object already holds what was parsed
		}
		vals := []string{fmt.Sprint(c.Value(fname))}
		if _, ok := f.(*ucli.StringSliceFlag); ok {
			vals = c.StringSlice(fname)
		}
		for _, v := range vals {
			if err := set.Set(fname, v); err != nil {
				return nil, nil, fmt.Errorf("%s: --%s: %w", name, fname, err)
			}
		}
	}
	var pos []string
	for len(args) > 0 {
		if err := set.Parse(args); err != nil {
			return nil, nil, fmt.Errorf("%s: %v (see pipe %s --help)", name, err, name)
		}
		args = set.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	nc := ucli.NewContext(c.App, set, c)
	nc.Command = c.Command
	return nc, pos, nil
}
