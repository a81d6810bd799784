package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/result"
)

func compareCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "compare",
		Usage:     "say which differences between two results are significant, or set machines side by side",
		ArgsUsage: "OLD NEW | RESULT... --fleet   (each a result.json, a run directory, or latest:NAME)",
		Description: "Per case and metric: medians with 95 % intervals, the change, the Hodges-Lehmann shift with its\n" +
			"95 % interval, and a two-sided Mann-Whitney U test on the raw runs (exact given the ties for small\n" +
			"samples), Holm-adjusted over every case and metric compared; '~' when the change is not significant\n" +
			"at --alpha or smaller than --noise (relative to the old median, with an absolute floor per unit).\n" +
			"The summary and --fail-on-regression count changes: a case's TPOT, ITL and decode rate are one.\n\n" +
			"Fleet mode (--fleet, or three results or more) sets the same pipeline on several machines side by\n" +
			"side: one table per case, a column per machine (each result, and each machine of a merged result)\n" +
			"with its median ± 95 % interval and its ratio to the first machine, the machines' CPU, cores, GPU\n" +
			"and labels listed first. It runs no test: machines differ by design.\n\n" +
			"EXIT CODES:\n   0  compared\n   1  error: bad reference, unreadable result, bad flag\n" +
			"   3  with --fail-on-regression: at least one significant regression",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "`FORMAT`: " + strings.Join(compare.Formats, ", ")},
			&ucli.Float64Flag{Name: "alpha", Value: compare.DefaultAlpha, Usage: "significance level of the U test"},
			&ucli.Float64Flag{Name: "noise", Value: compare.DefaultNoise, Usage: "smallest relative change of the median that counts (0.02 = 2 %; 0 = none)"},
			&ucli.StringSliceFlag{Name: "metric", Usage: "compare only metric `ID` (repeatable); default: every metric both measured"},
			&ucli.BoolFlag{Name: "fail-on-regression", Usage: "exit 3 when any change is a significant regression (as the summary counts them)"},
			&ucli.BoolFlag{Name: "fleet", Usage: "set the results' machines side by side (implied by three results or more)"},
			outRootFlag(),
		},
		Action: func(c *ucli.Context) error {
			c, args, err := interspersed(c)
			if err != nil {
				return err
			}
			if c.Bool("fleet") || len(args) > 2 {
				return compareFleet(c, args)
			}
			if len(args) != 2 {
				return errors.New("compare: want two results, e.g. pipe compare OLD/result.json latest:phase2-latency")
			}
			alpha, noise := c.Float64("alpha"), c.Float64("noise")
			if alpha <= 0 || alpha >= 1 {
				return fmt.Errorf("compare: --alpha %v: want a level between 0 and 1, e.g. 0.05", alpha)
			}
			if noise < 0 || noise >= 1 {
				return fmt.Errorf("compare: --noise %v: want a fraction from 0 to 1, e.g. 0.02 for 2 %%", noise)
			}
			if noise == 0 {
				noise = -1 // compare.Options: negative means none
			}
			format := c.String("format")
			if !slices.Contains(compare.Formats, format) {
				return fmt.Errorf("compare: unknown format %q; want one of %s", format, strings.Join(compare.Formats, ", "))
			}
			root := c.String("out-root")
			old, _, err := result.Load(args[0], root)
			if err != nil {
				return err
			}
			new, _, err := result.Load(args[1], root)
			if err != nil {
				return err
			}
			defs := registry.New().Metrics()
			if err := compare.CheckMetrics(c.StringSlice("metric"), defs, old, new); err != nil {
				return fmt.Errorf("compare: --metric: %w", err)
			}
			rep := compare.Compare(old, new, compare.Options{Alpha: alpha, Noise: noise, Metrics: c.StringSlice("metric"), Definitions: defs})
			if len(rep.Rows) == 0 {
				return errors.New("compare: the results share no case and metric with runs in both; compare results of the same pipeline")
			}
			if err := rep.WriteFormat(c.App.Writer, format); err != nil {
				return err
			}
			if rep.ChangeCount(compare.Regression) > 0 && c.Bool("fail-on-regression") {
				return withCode(ExitTargetsFailed, fmt.Errorf("compare: %s (--fail-on-regression)", rep.Describe(compare.Regression)))
			}
			return nil
		},
	}
}

// compareFleet is pipe compare's fleet mode.
func compareFleet(c *ucli.Context, refs []string) error {
	if len(refs) == 0 {
		return errors.New("compare --fleet: want results, e.g. pipe compare --fleet latest:phase2-latency OTHER_MACHINE/result.json, or one merged result")
	}
	if c.Bool("fail-on-regression") {
		return errors.New("compare: --fail-on-regression judges two results of one machine; a fleet runs no test (drop --fleet, or the flag)")
	}
	format := c.String("format")
	if !slices.Contains(compare.Formats, format) {
		return fmt.Errorf("compare: unknown format %q; want one of %s", format, strings.Join(compare.Formats, ", "))
	}
	var members []compare.Member
	var results []*result.Result
	for _, ref := range refs {
		r, _, err := result.Load(ref, c.String("out-root"))
		if err != nil {
			return err
		}
		members = append(members, compare.Members(r)...)
		results = append(results, r)
	}
	if err := compare.CheckMetrics(c.StringSlice("metric"), registry.New().Metrics(), results...); err != nil {
		return fmt.Errorf("compare --fleet: --metric: %w", err)
	}
	f, err := compare.NewFleet(members, c.StringSlice("metric"))
	if err != nil {
		return fmt.Errorf("compare --fleet: %w", err)
	}
	return f.WriteFormat(c.App.Writer, format)
}
