package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/merge"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// mergeFormats are the reports pipe merge writes beside result.json unless
// --format says otherwise.
var mergeFormats = []string{"md", "csv", "html"}

func mergeCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "merge",
		Usage:     "make one result from the results of a plan's shards (pipe run --shard K/N)",
		ArgsUsage: "SHARD_DIR... --out DIR",
		Description: "Each SHARD_DIR is a shard's run directory: its result.json, or only its samples.jsonl when the\n" +
			"shard was killed and not restarted (its cases are rebuilt from the journal, and marked so).\n" +
			"Every case comes from exactly one shard and keeps the environment it ran in (machine, load,\n" +
			"versions, labels), which the reports show. Shards of different plans (plan_hash) and a case\n" +
			"delivered twice are refused; a case of the plan no shard delivered, or a shard rebuilt from its\n" +
			"journal, makes the result incomplete (exit 5), naming them. Writes DIR/result.json and the\n" +
			"reports; pipe report, pipe compare and phase 5 read the merged result like any other.\n\n" +
			ExitCodesHelp,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the merged result and its reports into `DIR` (new, or without a result.json)"},
			&ucli.StringSliceFlag{Name: "format", Aliases: []string{"f"}, Usage: "report `FORMAT` to write beside result.json (repeatable; default " + strings.Join(mergeFormats, ", ") + ")"},
			&ucli.StringFlag{Name: "title", Usage: "report `TITLE` instead of the pipeline's name"},
		},
		Action: func(c *ucli.Context) error {
			c, dirs, err := interspersed(c)
			if err != nil {
				return err
			}
			out := c.String("out")
			if len(dirs) == 0 || out == "" {
				return errors.New("merge: want the shards' run directories and --out DIR, e.g. pipe merge results/shard-1 results/shard-2 --out results/merged")
			}
			formats := c.StringSlice("format")
			if len(formats) == 0 {
				formats = mergeFormats
			}
			reg := registry.New().Formats()
			for _, f := range formats {
				if _, ok := reg.Lookup(f); !ok {
					return fmt.Errorf("merge: unknown format %q; want one of %s", f, strings.Join(reg.Names(), ", "))
				}
			}
			if _, err := os.Stat(filepath.Join(out, result.FileName)); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("merge: %s already holds a %s; give a new --out directory", out, result.FileName)
			}
			res, err := merge.Dirs(dirs)
			if err != nil {
				return fmt.Errorf("merge: %w", err)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("merge: %w", err)
			}
			if err := writeMerged(out, res, formats, reg, report.Options{Title: c.String("title")}); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "merged %d cases from %d shard(s) into %s\n", len(res.Cases), len(res.Environments), out)
			return withCode(resultCode(res))
		},
	}
}

// writeMerged writes result.json, then each report format on its own: one
// that fails is recorded in the result (rewritten) and costs no other.
func writeMerged(dir string, res *result.Result, formats []string, reg *report.Registry, opt report.Options) error {
	if err := result.Write(dir, res); err != nil {
		return err
	}
	var errs []error
	for _, f := range formats {
		if f == "json" || slices.Contains(formats[:slices.Index(formats, f)], f) {
			continue // result.json is the JSON format; a format given twice is written once
		}
		if _, err := reg.Write(dir, f, res, opt); err != nil {
			res.Errors = append(res.Errors, "report stage: "+err.Error())
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		errs = append(errs, result.Write(dir, res))
	}
	return errors.Join(errs...)
}
