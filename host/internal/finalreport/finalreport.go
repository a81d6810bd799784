// Package finalreport is phase 5: a report-only run that reads the latest
// results of the earlier phases and merges them into one result, and the
// analysis a person reads across them — headline figures per phase,
// phase 1 against phase 2, scaling with prompt length, variance, the memory
// verdict, the throughput curve, every target of every phase, findings and
// recommendations.
//
// It takes a stand on two things. A missing input is a fact to report, not
// a crash: the merged result says which phase is missing and how to produce
// it, unless the caller marks that input required. And nothing in the
// analysis is canned text: every sentence is computed from numbers present
// in the inputs, and a sentence whose numbers are absent is not written.
//
// Its analysis is host/internal/report's, one per input, each row tagged
// with the input's role; the one comparison it draws across inputs is
// host/internal/compare's test, the one the run report uses.
package finalreport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// Options tune Build.
type Options struct {
	// Required lists input roles whose absence is an error rather than a
	// line in the report.
	Required []string
	// Now stamps the merged result; nil means time.Now.
	Now func() time.Time
}

// Build reads every input the plan names (see pipeline.Plan.Inputs),
// resolving "latest:NAME" under outRoot, and returns the merged result:
// Inputs filled in the plan's order, the plan's targets judged over the
// inputs, validity and warnings carried over with their role. A missing or
// unreadable input becomes an Input without a Result and a warning.
func Build(ctx context.Context, plan *pipeline.Plan, outRoot string) (*result.Result, error) {
	return BuildWith(ctx, plan, outRoot, Options{})
}

// BuildWith is Build with options.
func BuildWith(ctx context.Context, plan *pipeline.Plan, outRoot string, opt Options) (*result.Result, error) {
	if plan == nil {
		return nil, errors.New("final report: no plan")
	}
	if len(plan.Inputs) == 0 {
		return nil, fmt.Errorf("final report %s: the pipeline names no inputs; add an [inputs] table, e.g. latency = \"latest:phase2-latency\"", plan.Name)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	started := now()
	merged := &result.Result{
		Schema: result.Schema,
		Pipeline: result.PipelineInfo{
			Name: plan.Name, Description: plan.Description, File: plan.File, SHA256: plan.SHA256, Quick: plan.Quick,
		},
		StartedAt: started.UTC().Format(time.RFC3339Nano),
		Valid:     true,
		Warnings:  append([]string(nil), plan.Warnings...),
	}
	for _, role := range inputRoles(plan) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ref := plan.Inputs[role]
		in := result.Input{Role: role, Ref: ref}
		r, p, err := result.Load(ref, outRoot)
		if err != nil {
			if slices.Contains(opt.Required, role) {
				return nil, fmt.Errorf("final report: required input %s: %w", role, err)
			}
			merged.Warnings = append(merged.Warnings, MissingPrefix(role)+err.Error())
			merged.Inputs = append(merged.Inputs, in)
			continue
		}
		in.Path, in.Result = p, r
		merged.Inputs = append(merged.Inputs, in)
		if !r.Valid {
			merged.Valid = false
			for _, pr := range r.Problems {
				merged.Problems = append(merged.Problems, role+": "+pr)
			}
			if len(r.Problems) == 0 {
				merged.Problems = append(merged.Problems, role+": result marked invalid")
			}
		}
	}
	if first := firstPresent(merged); first != nil {
		merged.Env, merged.Model, merged.Metrics = first.Env, first.Model, first.Metrics
	}
	merged.Targets = judgeTargets(plan.Targets, merged)
	finished := now()
	merged.FinishedAt = finished.UTC().Format(time.RFC3339Nano)
	merged.WallNS = int64(finished.Sub(started))
	return merged, nil
}

// MissingPrefix starts the warning that says an input could not be read;
// the analysis finds the reason by it.
func MissingPrefix(role string) string { return "input " + role + " missing: " }

// inputRoles returns the plan's roles in file order, then any others sorted.
func inputRoles(plan *pipeline.Plan) []string {
	var roles []string
	seen := map[string]bool{}
	for _, r := range plan.InputOrder {
		if _, ok := plan.Inputs[r]; ok && !seen[r] {
			roles = append(roles, r)
			seen[r] = true
		}
	}
	var rest []string
	for r := range plan.Inputs {
		if !seen[r] {
			rest = append(rest, r)
		}
	}
	sort.Strings(rest)
	return append(roles, rest...)
}

func firstPresent(r *result.Result) *result.Result {
	for _, in := range r.Inputs {
		if in.Result != nil {
			return in.Result
		}
	}
	return nil
}

// judgeTargets evaluates the plan's targets over the inputs. A target's
// case selector is "ROLE/GLOB" to judge one input's cases, or a bare GLOB
// to judge the matching cases of every input; verdicts name their case as
// "ROLE/CASE". A role that is not an input, or is missing, fails the target
// with a message saying so.
func judgeTargets(specs []pipeline.TargetSpec, merged *result.Result) []result.Verdict {
	var out []result.Verdict
	for _, spec := range specs {
		t, err := target.Parse(spec.Expr)
		if err != nil {
			out = append(out, result.Verdict{Target: spec.Expr, Case: spec.Case, Source: "builtin", Message: err.Error()})
			continue
		}
		role, glob, scoped := strings.Cut(spec.Case, "/")
		if !scoped {
			role, glob = "", spec.Case
		}
		if glob == "" {
			glob = "*"
		}
		t.Case = glob
		var vs []result.Verdict
		matchedRole := false
		for _, in := range merged.Inputs {
			if scoped && in.Role != role {
				continue
			}
			matchedRole = true
			if in.Result == nil {
				if scoped {
					vs = append(vs, result.Verdict{Target: t.Expr, Case: spec.Case, Metric: t.Metric, Statistic: t.Statistic, Op: t.Op, Source: "builtin",
						Message: fmt.Sprintf("input %s is missing, so nothing was judged (run its phase first)", role)})
				}
				continue
			}
			if !scoped && !anyCaseMatches(in.Result, glob) {
				continue
			}
			for _, v := range target.Evaluate(t, in.Result) {
				v.Target = spec.Expr
				v.Case = in.Role + "/" + v.Case
				if v.Message != "" && strings.HasPrefix(v.Message, "no case matches") {
					v.Case = spec.Case
				}
				vs = append(vs, v)
			}
		}
		switch {
		case scoped && !matchedRole:
			vs = append(vs, result.Verdict{Target: spec.Expr, Case: spec.Case, Metric: t.Metric, Statistic: t.Statistic, Op: t.Op, Source: "builtin",
				Message: fmt.Sprintf("no input has role %q (inputs: %s)", role, strings.Join(roleNames(merged), ", "))})
		case len(vs) == 0:
			vs = append(vs, result.Verdict{Target: spec.Expr, Case: spec.Case, Metric: t.Metric, Statistic: t.Statistic, Op: t.Op, Source: "builtin",
				Message: fmt.Sprintf("no case of any input matches %q; select one as ROLE/CASE, e.g. latency/p128-*", glob)})
		}
		out = append(out, vs...)
	}
	return out
}

func anyCaseMatches(r *result.Result, glob string) bool {
	for _, c := range r.Cases {
		if target.Selects(glob, c.ID) {
			return true
		}
	}
	return false
}

func roleNames(r *result.Result) []string {
	var out []string
	for _, in := range r.Inputs {
		out = append(out, in.Role)
	}
	return out
}
