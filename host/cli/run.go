package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/runner"
	"github.com/pipe-bench/pipe/host/internal/shard"
)

func runCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "run",
		Usage:     "run a pipeline: warmup → generate → measure → aggregate → report",
		ArgsUsage: "PIPELINE.toml",
		Description: "Writes data/benchmarks/<pipeline>_<model>_<UTC stamp>/ (or under --out): samples.jsonl as runs\n" +
			"finish, result.json, and one file per report format. Ctrl-C stops at once, abandoning the\n" +
			"unfinished run, and still writes the result and reports of the finished runs.\n\n" +
			"--shard K/N runs shard K of N (1-based) of the plan's cases, a deterministic partition\n" +
			"balanced by estimated cost; --shard auto reads K and N from a Kubernetes Indexed Job\n" +
			"(JOB_COMPLETION_INDEX, with PIPE_SHARD_COUNT set by the manifest), a Slurm array\n" +
			"(SLURM_ARRAY_TASK_ID, _COUNT, _MIN) or CI_NODE_INDEX/CI_NODE_TOTAL (GitLab, 1-based;\n" +
			"CircleCI's CIRCLE_NODE_INDEX, 0-based). A shard with no cases runs nothing and exits 0.\n" +
			"--resume DIR continues the run in DIR from its samples.jsonl (same pipeline, --set,\n" +
			"--quick and --shard), keeping its measured runs; a DIR that does not exist yet starts\n" +
			"a fresh run there, so a restarted pod or requeued task reruns the same command; a\n" +
			"finished run is left as it is (exit 0).\n\n" + ExitCodesHelp,
		Flags: append(pipelineFlags(),
			&ucli.BoolFlag{Name: "dry-run", Usage: "print the expanded plan and exit"},
			&ucli.StringFlag{Name: "baseline", Usage: "compare with `RESULT` (a result.json, a run directory, or latest:NAME)"},
			&ucli.BoolFlag{Name: "no-progress", Usage: "no progress line on stderr (it is off anyway when stderr is not a terminal)"},
			&ucli.StringFlag{Name: "shard", Usage: "run shard `K/N` of the plan's cases (1-based), or auto: K and N from the scheduler's environment"},
			&ucli.StringFlag{Name: "resume", Usage: "continue the interrupted run in `DIR` (or start one there if DIR does not exist)"},
			&ucli.StringSliceFlag{Name: "label", Usage: "record `key=value` in the result (a machine class, a fleet); repeatable"},
		),
		Action: func(c *ucli.Context) error {
			c, plan, err := loadPipeline(c)
			if err != nil {
				return err
			}
			opt := runner.Options{Log: c.App.ErrWriter, Baseline: c.String("baseline"), Version: Version,
				PlanHash: plan.Hash(), Resume: c.String("resume")}
			if opt.Resume != "" && plan.ReportOnly() {
				return withCode(ExitError, fmt.Errorf("--resume: pipeline %s generates nothing (it only reads earlier results); run it without --resume", plan.Name))
			}
			if opt.Resume != "" && c.String("out") != "" {
				return withCode(ExitError, fmt.Errorf("--resume %s is the run directory itself; drop --out %s", opt.Resume, c.String("out")))
			}
			if opt.Labels, err = parseLabels(c.StringSlice("label")); err != nil {
				return withCode(ExitError, err)
			}
			whole := plan
			if arg := c.String("shard"); arg != "" {
				spec, err := shardSpec(arg)
				if err != nil {
					return withCode(ExitError, err)
				}
				if plan, opt.Shard, err = shard.Select(whole, spec); err != nil {
					return withCode(ExitError, err)
				}
				if c.Bool("dry-run") {
					fmt.Fprint(c.App.Writer, shard.Describe(whole, plan, spec))
				} else if len(plan.Cases) == 0 {
					fmt.Fprintf(c.App.ErrWriter, "shard %s: none of the plan's %d cases falls to it (more shards than the partition fills); nothing to run\n", spec, len(whole.Cases))
					return nil
				}
			}
			if c.Bool("dry-run") {
				return plan.Describe(c.App.Writer)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
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
			if out.Finished {
				return nil // its exit code was given when it finished; pipe report --check gives it again
			}
			return withCode(resultCode(out.Result))
		},
	}
}

// shardSpec reads --shard: K/N, or auto from the scheduler's environment.
func shardSpec(arg string) (shard.Spec, error) {
	if arg == "auto" {
		return shard.FromEnv(os.LookupEnv)
	}
	return shard.Parse(arg)
}

// labelKey is the grammar of a --label key: a letter or digit, then
// letters, digits, '.', '_' and '-', at most 63 in all (a Kubernetes label
// name's).
func labelKey(k string) bool {
	if k == "" || len(k) > 63 {
		return false
	}
	for i, r := range k {
		alnum := r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))
		if !alnum && (i == 0 || !strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

// parseLabels reads the --label key=value pairs: each key once, a value
// of printable characters (at most 256 bytes).
func parseLabels(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	labels := map[string]string{}
	for _, arg := range args {
		k, v, ok := strings.Cut(arg, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("--label %q: want key=value, e.g. --label machine=c7i.4xlarge", arg)
		case !labelKey(k):
			return nil, fmt.Errorf("--label %q: the key must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", arg)
		case v == "" || len(v) > 256 || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
			return nil, fmt.Errorf("--label %q: the value must be 1 to 256 bytes of printable characters", arg)
		}
		if old, dup := labels[k]; dup {
			return nil, fmt.Errorf("--label %s is given twice (%q and %q); give each key once", k, old, v)
		}
		labels[k] = v
	}
	return labels, nil
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
