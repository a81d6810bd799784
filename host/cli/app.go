// Package cli is pipe's command line: flags become library calls, errors
// become one line on stderr and a documented exit code. No benchmarking logic
// lives here; a command that grows logic has found a missing package.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/result"
)

// Exit codes. Scripts chain phases on them; they are printed by --help,
// and resultCode is the one rule that maps a result to them.
const (
	ExitOK            = 0 // ran, every target passed
	ExitError         = 1 // bad input or runtime failure: nothing trustworthy was measured
	ExitTargetsFailed = 3 // ran fine, the result is valid, at least one target failed
	ExitInvalid       = 4 // ran, but a run broke an invariant (E2E < TTFT, wrong token count, …)
	ExitIncomplete    = 5 // the result was rebuilt from the journal of a run that never finished
)

// ExitCodesHelp documents the exit codes for --help and the README.
const ExitCodesHelp = `EXIT CODES:
   0  every target passed (or none was set)
   1  error: bad input, missing runtime, runtime failure, a failing plugin or report stage
   3  the run finished and its result is valid, but a target failed
   4  the result is invalid: a run broke an invariant (see the report)
   5  the result is incomplete: rebuilt from the journal of a run that was killed (pipe report),
      or a merge that lacks cases of the plan (pipe merge)`

// resultCode is the exit code a result deserves, with its one-line reason:
// the rule of pipe run and pipe report --check alike. Incomplete beats
// invalid (the run never finished), invalid beats stage errors, and stage
// errors beat failed targets.
func resultCode(r *result.Result) (int, error) {
	failed := 0
	for _, v := range r.Targets {
		if !v.Pass {
			failed++
		}
	}
	switch {
	case r.Incomplete != "":
		return ExitIncomplete, errors.New(r.Incomplete)
	case !r.Valid:
		return ExitInvalid, fmt.Errorf("result invalid: %d broken invariant(s), e.g. %s", len(r.Problems), first(r.Problems))
	case len(r.Errors) > 0:
		return ExitError, fmt.Errorf("%d stage error(s), e.g. %s (the measurements were written)", len(r.Errors), first(r.Errors))
	case failed > 0:
		return ExitTargetsFailed, fmt.Errorf("%d target(s) failed", failed)
	}
	return ExitOK, nil
}

func first(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}

// exitError carries an exit code through urfave/cli.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so Main exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

// Main runs the pipe command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	code := ExitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	// One line per error: several outputs can fail at once.
	for line := range strings.SplitSeq(strings.TrimSpace(err.Error()), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintf(stderr, "pipe: %s\n", line)
		}
	}
	return code
}

func newApp(stdout, stderr io.Writer) *ucli.App {
	return &ucli.App{
		Name:                  "pipe",
		Usage:                 "reproducible LLM-inference benchmark pipelines",
		Version:               Version,
		Writer:                stdout,
		ErrWriter:             stderr,
		HideHelpCommand:       true,
		ExitErrHandler:        func(*ucli.Context, error) {}, // Main prints and exits
		CustomAppHelpTemplate: ucli.AppHelpTemplate + "\n" + ExitCodesHelp + "\n",
		Commands: []*ucli.Command{
			runCommand(),
			validateCommand(),
			reportCommand(),
			compareCommand(),
			mergeCommand(),
			generateCommand(),
			tokenizeCommand(),
			pluginCommand(),
			benchCommand(),
			setupCommand(),
		},

		// A repeated flag gives a list and a comma does not split one:
		// --set values hold commas ("matrix.prompt_tokens=[128, 512]").
		DisableSliceFlagSeparator: true,
	}
}
