package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/report"
	"github.com/pipe-bench/pipe/host/result"
)

// outRootFlag is where latest:NAME references look.
func outRootFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "out-root", Value: result.DefaultOutRoot, Usage: "resolve latest:NAME under `DIR`"}
}

func reportCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "report",
		Usage:     "re-render a result without rerunning it",
		ArgsUsage: "RESULT.json|RUN_DIR|latest:NAME",
		Description: "Renders a finished run's result.json in a report format: markdown to stdout by default.\n" +
			"csv writes runs.csv (one row per run) and cases.csv (one row per case and metric); on stdout\n" +
			"only runs.csv appears, so give --out DIR/ for both. --baseline adds a comparison section.\n\n" +
			"EXIT CODES:\n   0  rendered\n   1  error: bad reference, unreadable result, unknown format\n" +
			"   3, 4  with --check: the result's targets failed (3) or the result is invalid (4), as pipe run exits",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "md", Usage: "report `FORMAT`: " + strings.Join(report.Names(), ", ")},
			&ucli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write to `PATH` instead of stdout: a file, or a directory (existing, or ending in /) for every file of the format"},
			&ucli.StringFlag{Name: "baseline", Usage: "compare with `RESULT` (a result.json, a run directory, or latest:NAME)"},
			&ucli.StringFlag{Name: "title", Usage: "report `TITLE` instead of the pipeline's name"},
			&ucli.BoolFlag{Name: "check", Usage: "exit 3 when a target failed and 4 when the result is invalid, like pipe run"},
			outRootFlag(),
		},
		Action: func(c *ucli.Context) error {
			c, args, err := interspersed(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return errors.New("report: want one result, e.g. pipe report latest:phase2-latency or pipe report data/benchmarks/RUN_DIR")
			}
			root := c.String("out-root")
			r, _, err := result.Load(args[0], root)
			if err != nil {
				return err
			}
			opt := report.Options{Title: c.String("title")}
			if ref := c.String("baseline"); ref != "" {
				if opt.Baseline, _, err = result.Load(ref, root); err != nil {
					return fmt.Errorf("baseline: %w", err)
				}
			}
			files, err := report.RenderFiles(c.String("format"), r, opt)
			if err != nil {
				return err
			}
			if err := writeReport(c, files); err != nil {
				return err
			}
			if c.Bool("check") {
				return resultStatus(r)
			}
			return nil
		},
	}
}

// writeReport sends files to stdout or --out.
func writeReport(c *ucli.Context, files []report.File) error {
	out := c.String("out")
	if out == "" {
		if _, err := c.App.Writer.Write(files[0].Data); err != nil {
			return err
		}
		if len(files) > 1 {
			var rest []string
			for _, f := range files[1:] {
				rest = append(rest, f.Name)
			}
			fmt.Fprintf(c.App.ErrWriter, "pipe report: %s not shown; give --out DIR/ to write every file\n", strings.Join(rest, ", "))
		}
		return nil
	}
	dir, primary := filepath.Dir(out), out
	if fi, err := os.Stat(out); (err == nil && fi.IsDir()) || strings.HasSuffix(out, string(os.PathSeparator)) {
		dir, primary = out, filepath.Join(out, files[0].Name)
	}
	for i, f := range files {
		p := filepath.Join(dir, f.Name)
		if i == 0 {
			p = primary
		}
		if err := result.WriteFileAtomic(p, f.Data); err != nil {
			return err
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", p)
	}
	return nil
}

// resultStatus is the error (and exit code) a result's status deserves.
func resultStatus(r *result.Result) error {
	if !r.Valid {
		return withCode(ExitInvalid, fmt.Errorf("result invalid: %d broken invariant(s), e.g. %s", len(r.Problems), first(r.Problems)))
	}
	if n := failedTargets(r); n > 0 {
		return withCode(ExitTargetsFailed, fmt.Errorf("%d target(s) failed", n))
	}
	return nil
}
