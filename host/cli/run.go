package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/runner"
)

func runCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "run",
		Usage:     "run a pipeline: warmup → generate → measure → aggregate → report",
		ArgsUsage: "PIPELINE.toml",
		Description: "Writes data/benchmarks/<pipeline>_<model>_<UTC stamp>/ (or under --out): samples.jsonl as runs\n" +
			"finish, result.json, and one file per report format. Ctrl-C stops at once, abandoning the\n" +
			"unfinished run, and still writes the result and reports of the finished runs.\n\n" + ExitCodesHelp,
		Flags: append(pipelineFlags(),
			&ucli.BoolFlag{Name: "dry-run", Usage: "print the expanded plan and exit"},
			&ucli.StringFlag{Name: "baseline", Usage: "compare with `RESULT` (a result.json, a run directory, or latest:NAME)"},
			&ucli.BoolFlag{Name: "no-progress", Usage: "no progress line on stderr (it is off anyway when stderr is not a terminal)"},
		),
		Action: func(c *ucli.Context) error {
			c, plan, err := loadPipeline(c)
			if err != nil {
				return err
			}
			if c.Bool("dry-run") {
				return plan.Describe(c.App.Writer)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			opt := runner.Options{Log: c.App.ErrWriter, Baseline: c.String("baseline"), Version: Version}
			if !c.Bool("no-progress") && isTerminal(c.App.ErrWriter) {
				opt.Progress = c.App.ErrWriter
			}
			out, err := runner.Execute(ctx, plan, opt)
			if out != nil && out.Result != nil {
				printSummary(c.App.Writer, out)
			}
			if err != nil {
				return withCode(ExitError, describeRunError(err))
			}
			return withCode(resultCode(out.Result))
		},
	}
}

// describeRunError words the errors of a run for its user, one line each:
// an interrupt says where the finished runs went.
func describeRunError(err error) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range joined.Unwrap() {
			errs = append(errs, describeRunError(e))
		}
		return errors.Join(errs...)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted; the finished runs are in the result above")
	}
	return err
}

func failedTargets(r *result.Result) int {
	n := 0
	for _, v := range r.Targets {
		if !v.Pass {
			n++
		}
	}
	return n
}

// printSummary prints the headline figures of each case and where the
// files went: what a person wants to see when the run ends.
func printSummary(w io.Writer, out *runner.Outcome) {
	r := out.Result
	for _, c := range r.Cases {
		s := c.Stats
		fmt.Fprintf(w, "%-16s n=%-3d TTFT p50 %8.1f ms  decode %6.1f tok/s  E2E p50 %8.1f ms  CV(TTFT) %4.1f %%\n",
			c.ID, s[metric.TTFT].N, s[metric.TTFT].P50, s[metric.DecodeTPS].Mean, s[metric.E2E].P50, 100*s[metric.TTFT].CV)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "targets: %d of %d passed\n", len(r.Targets)-failedTargets(r), len(r.Targets))
	}
	for _, f := range out.Files {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
