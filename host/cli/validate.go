package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
)

// pipelineFlags are the flags every command that loads a pipeline takes:
// validate here, run and its --dry-run.
func pipelineFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringSliceFlag{Name: "set", Usage: "override a pipeline key, typed by the schema: `key.path=value` (e.g. generate.runs=3, matrix.prompt_tokens=[32]); repeatable"},
		&ucli.BoolFlag{Name: "quick", Usage: "apply the pipeline's [quick] overrides (fewer runs, a smaller matrix)"},
		&ucli.StringFlag{Name: "out", Usage: "write results under `DIR` instead of report.out_dir"},
		&ucli.StringFlag{Name: "precision", Usage: "weights of a built model (model.precision): " + strings.Join(model.Precisions, ", ")},
		&ucli.StringFlag{Name: "variant", Usage: "variant of a Transformers.js folder (model.variant): fp32, fp16, q4, q4f16, quantized, int8, uint8, bnb4"},
	}
}

// loadPipeline loads the pipeline named by the command's one argument
// with the pipeline flags. On problems it prints each, one per line, to
// stderr and returns an error that exits 1.
//
// Flags may follow the file (urfave/cli stops at the first argument), so it
// returns the context that answers for every flag given.
func loadPipeline(c *ucli.Context) (*ucli.Context, *pipeline.Plan, error) {
	c, args, err := interspersed(c)
	if err != nil {
		return c, nil, err
	}
	plan, err := loadPipelineFile(c, args)
	return c, plan, err
}

func loadPipelineFile(c *ucli.Context, args []string) (*pipeline.Plan, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%s: want one pipeline file, e.g. pipe %s pipelines/phase2-latency.toml", c.Command.Name, c.Command.Name)
	}
	file := args[0]
	plan, err := pipeline.Load(file, pipeline.LoadOptions{
		Names:  registry.New().Names(),
		Sets:   precisionSet(c),
		Quick:  c.Bool("quick"),
		OutDir: c.String("out"),
	})
	var ps pipeline.Problems
	if errors.As(err, &ps) {
		for _, line := range ps.Lines() {
			fmt.Fprintln(c.App.ErrWriter, line)
		}
		noun := "problems"
		if len(ps) == 1 {
			noun = "problem"
		}
		return nil, withCode(ExitError, fmt.Errorf("%s: %d %s; fix them and run `pipe validate %s` again", file, len(ps), noun, file))
	}
	return plan, err
}

// precisionSet is the --set overrides with --precision and --variant as more
// (model.precision, model.variant; after the others, so the flags win).
func precisionSet(c *ucli.Context) []string {
	sets := c.StringSlice("set")
	if p := c.String("precision"); p != "" {
		sets = append(sets, "model.precision="+strconv.Quote(p))
	}
	if v := c.String("variant"); v != "" {
		sets = append(sets, "model.variant="+strconv.Quote(v))
	}
	return sets
}

func validateCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "validate",
		Usage:     "check a pipeline and print its expanded plan",
		ArgsUsage: "PIPELINE.toml",
		Description: "Reports every problem with the pipeline at once, as file:line: key: message (or --set ARG: …\n" +
			"for a value given on the command line), and exits 1; else prints \"ok\" and the plan that\n" +
			"`pipe run` would execute.",
		Flags: pipelineFlags(),
		Action: func(c *ucli.Context) error {
			c, plan, err := loadPipeline(c)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, "ok")
			return plan.Describe(c.App.Writer)
		},
	}
}
