package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/sdk/abi"
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
			"only runs.csv appears, so give --out DIR/ for both. --baseline adds a comparison section.\n" +
			"A run directory without result.json (the run was killed) is rebuilt from its samples.jsonl,\n" +
			"marked incomplete, rendered, and exits 5.\n\n" +
			"It exits 0 once rendered and 1 on an error (bad reference, unreadable result, unknown format);\n" +
			"with --check, and always for an incomplete result, it exits with the result's code as pipe run does.\n\n" +
			ExitCodesHelp,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "md", Usage: "report `FORMAT`: " + strings.Join(registry.New().Formats().Names(), ", ") + ", or a report plugin's name (found in the plugin cache as pipe run finds it)"},
			&ucli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write to `PATH` instead of stdout: a file, or a directory (existing, or ending in /) for every file of the format"},
			&ucli.StringFlag{Name: "baseline", Usage: "compare with `RESULT` (a result.json, a run directory, or latest:NAME)"},
			&ucli.StringFlag{Name: "title", Usage: "report `TITLE` instead of the pipeline's name"},
			&ucli.BoolFlag{Name: "check", Usage: "exit with the result's code, like pipe run: 3 when a target failed, 4 when the result is invalid, 1 on stage errors"},
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
			r, err := loadOrRebuild(args[0], root)
			if err != nil {
				return err
			}
			opt := report.Options{Title: c.String("title")}
			if ref := c.String("baseline"); ref != "" {
				if opt.Baseline, _, err = result.Load(ref, root); err != nil {
					return fmt.Errorf("baseline: %w", err)
				}
			}
			formats, done, err := formatsFor(c.Context, c.String("format"))
			if err != nil {
				return err
			}
			files, err := formats.RenderFiles(c.String("format"), r, opt)
			done()
			if err != nil {
				return err
			}
			if err := writeReport(c, files); err != nil {
				return err
			}
			if c.Bool("check") || r.Incomplete != "" {
				return withCode(resultCode(r))
			}
			return nil
		},
	}
}

// formatsFor returns the report formats with format resolved: a built-in
// one, or else a first-party report plugin loaded from the plugin cache by
// the rule pipe run uses for a bare [[plugin]] name
// (pipeline.FirstPartyPlugin). done releases the plugin.
func formatsFor(ctx context.Context, format string) (formats *report.Registry, done func(), err error) {
	reg := registry.New()
	formats = reg.Formats()
	if _, ok := formats.Lookup(format); ok {
		return formats, func() {}, nil
	}
	path, bare := pipeline.FirstPartyPlugin(format)
	if _, serr := os.Stat(path); !bare || !abi.ValidName(format) || serr != nil {
		return nil, nil, fmt.Errorf("report: unknown format %q; want one of %s, or the name of a report plugin built into %s (pipe plugin build DIR)",
			format, strings.Join(formats.Names(), ", "), pipeline.PluginCache())
	}
	h, err := plugin.NewHost(ctx, plugin.HostOptions{CacheDir: filepath.Join(assets.CacheDir(), "wazero")})
	if err != nil {
		return nil, nil, err
	}
	done = func() { h.Close(ctx) }
	p, err := h.Load(ctx, pipeline.PluginSpec{Name: format, Path: path, FirstParty: true})
	if err == nil {
		if mf := p.Manifest(); !mf.Has(abi.KindReport) {
			err = fmt.Errorf("report: plugin %s is not a report plugin (kinds: %v): give a built-in format or a report plugin's name, e.g. junit", format, mf.Kinds)
		}
	}
	if err == nil {
		err = reg.RegisterPlugin(ctx, p)
	}
	if err != nil {
		done()
		return nil, nil, err
	}
	return formats, done, nil
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

// loadOrRebuild loads a result; a run directory that holds a journal but
// no result.json (its run was killed before writing it) is rebuilt from the
// journal, marked incomplete.
func loadOrRebuild(ref, root string) (*result.Result, error) {
	r, _, err := result.Load(ref, root)
	if err == nil {
		return r, nil
	}
	if fi, serr := os.Stat(ref); serr != nil || !fi.IsDir() {
		return nil, err
	}
	if _, rerr := os.Stat(filepath.Join(ref, result.FileName)); !errors.Is(rerr, fs.ErrNotExist) {
		return nil, err
	}
	if _, jerr := os.Stat(filepath.Join(ref, engine.JournalName)); jerr != nil {
		return nil, err
	}
	return engine.Rebuild(ref)
}
