// Package engine runs a pipeline's stages in order — warmup → generate →
// measure → aggregate — over every case of a Plan, and hands back a Result.
//
// It takes a stand on losing nothing: every finished run, warmups included
// (marked so), is appended to samples.jsonl the moment it exists, with one
// write per line, so an interrupt, a crash or a failing plugin never costs a
// measured sample; a write cut short is truncated back off, so a line is
// whole or absent, and ReadJournal and Rebuild read the journal back after a
// crash (a torn last line is reported, not fatal). A failing metric plugin
// fails its stage with an error kept in the Result, a non-finite value it
// sets is dropped with a warning, and the built-in figures are still
// aggregated and written.
//
// The engine knows nothing of TOML, ONNX or WebAssembly: it takes a
// gen.Generator and small hook interfaces (Measurer), so tests drive it with
// deliberately misbehaving generators and the CLI wires in the real ones.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/sysinfo"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

// Measurer adds values to the runs of a finished case: a metric plugin, or
// any derived metric. It sees the case's runs with the values of the
// Observers and may set Runs[i].Values[id] and Case.Values[id] for the
// metrics it declares.
type Measurer interface {
	Name() string
	Metrics() []metric.Def
	Measure(ctx context.Context, c *result.Case) error
}

// Observer is a Measurer that also measures what the engine observes while
// it times a case: MeasureRun each run the moment it finishes, before it is
// journaled (its values and problems are what the journal, the stop rule
// and the invariants see), MeasureStreams a case's concurrent streams once
// they are done. The built-in metrics are one (measure.Builtin).
type Observer interface {
	Measurer
	MeasureRun(o measure.RunObservation) measure.Run
	MeasureStreams(c *result.Case, o measure.StreamsObservation)
}

// Tokenizer is what the engine needs of a tokenizer: text prompts are
// tokenized inside the timed request.
type Tokenizer interface {
	Encode(text string) []int64
}

// Prompter supplies the prompt rows for a case: ids, and when the prompt is
// text, the text whose tokenization the request times.
type Prompter func(c pipeline.CaseSpec) (Prompt, error)

// Prompt is a case's prompt. Text, when set, is re-tokenized inside every
// request (timed); IDs are what the generator gets.
type Prompt struct {
	IDs  [][]int64
	Text string
}

// Options wires the engine to the rest of pipe.
type Options struct {
	// Dir is the run's output directory (created by the caller).
	Dir string
	// Progress receives progress lines; nil is quiet.
	Progress io.Writer
	// Prompts supplies prompts; nil means seeded random ids from the
	// model's vocabulary.
	Prompts   Prompter
	Tokenizer Tokenizer
	// Measurers are the metric modules (registry.Registry.Measurers), in
	// order; nil means the built-in metrics alone (measure.Builtin).
	Measurers []Measurer
	// Registry holds the Measurers' metric definitions (registry.Registry
	// defines them as each registers); nil makes one from Measurers.
	Registry *metric.Registry
	// ForThreads returns a generator for a case whose Threads differs from
	// the model's intra-op threads (a matrix "threads" axis); the engine
	// does not close it. Nil refuses such cases.
	ForThreads func(threads int) (gen.Generator, error)
	// PlanHash identifies the whole plan (pipeline.Plan.Hash); "" means
	// the hash of the plan given, which is right unless it is a shard's
	// part of a larger one.
	PlanHash string
	// Shard and Labels are recorded in the journal's header and the
	// result as given.
	Shard  *result.Shard
	Labels map[string]string
	// Resume, when set, continues the interrupted run whose journal was
	// read back (in Dir): its measured runs are kept, each case runs what
	// its stop rule still asks for (after warming up again), and the
	// journal is appended to, after a resume record. The caller has
	// checked that the journal is this plan's (Journal.Header.PlanHash).
	Resume *Journal
}

// Run executes the plan's cases with g and returns the aggregated result.
// On cancellation it stops (the run in flight ends when the generator
// notices the context; a generator that ignores it finishes the run, which
// is then kept), aggregates what was
// measured, and returns the partial result together with ctx's error.
func Run(ctx context.Context, plan *pipeline.Plan, g gen.Generator, opt Options) (*result.Result, error) {
	if opt.Measurers == nil {
		opt.Measurers = []Measurer{measure.Builtin{}}
	}
	if opt.Registry == nil {
		reg, err := definitions(opt.Measurers)
		if err != nil {
			return nil, err
		}
		opt.Registry = reg
	}
	started := time.Now()
	res := &result.Result{
		Schema: result.Schema,
		Pipeline: result.PipelineInfo{
			Name: plan.Name, Description: plan.Description, File: plan.File,
			SHA256: plan.SHA256, Quick: plan.Quick, Settings: settings(plan),
		},
		StartedAt: started.UTC().Format(time.RFC3339Nano),
		Env:       sysinfo.Collect(),
		Model:     g.Info(),
		Valid:     true,
	}
	res.Env.ORTVersion = res.Model.Runtime
	if opt.PlanHash == "" {
		opt.PlanHash = plan.Hash()
	}
	res.PlanHash, res.Shard, res.Labels = opt.PlanHash, opt.Shard, opt.Labels
	j, kept, err := startJournal(res, plan, opt)
	if err != nil {
		return nil, err
	}
	defer j.Close()

	mon := sysinfo.StartMonitor()
	prog := newProgress(opt.Progress, plan)
	var runErr error
	for ci, cs := range plan.Cases {
		if ctx.Err() != nil {
			runErr = ctx.Err()
			break
		}
		cg := g
		if cs.Threads > 0 && cs.Threads != g.Info().Threads.IntraOp {
			if opt.ForThreads == nil {
				runErr = fmt.Errorf("case %s: threads = %d needs a generator per thread count, and none was given", cs.ID, cs.Threads)
				break
			}
			if cg, err = opt.ForThreads(cs.Threads); err != nil {
				runErr = fmt.Errorf("case %s: threads = %d: %w", cs.ID, cs.Threads, err)
				break
			}
		}
		c, err := runCase(ctx, plan, cs, ci, cg, opt, j, prog, kept[cs.Key()])
		if c != nil {
			res.Cases = append(res.Cases, *c)
		}
		if err != nil {
			runErr = err
			break
		}
	}
	prog.done()
	if runErr == nil {
		if err := j.write(JournalEnd{Type: journalEnd, FinishedAt: time.Now().UTC().Format(time.RFC3339Nano)}); err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	u := mon.StopUsage()
	res.Env.ForeignCPU, res.Env.StealCPU, res.Env.LoadDuring = u.ForeignCores, u.StealCores, u.LoadMean

	for i := range res.Cases {
		c := &res.Cases[i]
		for _, m := range opt.Measurers {
			if err := m.Measure(ctx, c); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("measure stage: plugin %s on case %s: %v", m.Name(), c.ID, err))
			}
			dropNonFinite(c, "plugin "+m.Name())
		}
		addCase(res, c, plan.Aggregate)
	}
	res.Metrics = presentMetrics(opt.Registry, res.Cases)
	finished := time.Now()
	res.FinishedAt = finished.UTC().Format(time.RFC3339Nano)
	res.WallNS = int64(finished.Sub(started))
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			res.Errors = append(res.Errors, "interrupted: the result holds the runs finished before the interrupt")
		} else {
			res.Errors = append(res.Errors, runErr.Error())
		}
	}
	return res, runErr
}

// startJournal opens the run's journal and writes its first line: the
// header of a new run, or, resuming, a resume record after the kept lines
// of the interrupted one. It returns the kept measured runs by case key.
func startJournal(res *result.Result, plan *pipeline.Plan, opt Options) (*journal, map[string][]JournalRun, error) {
	if opt.Resume == nil {
		j, err := openJournal(opt.Dir)
		if err != nil {
			return nil, nil, err
		}
		err = j.write(JournalHeader{Type: journalStart, StartedAt: res.StartedAt, Pipeline: res.Pipeline, Model: res.Model, Env: res.Env,
			Aggregate: &plan.Aggregate, PlanHash: res.PlanHash, Shard: res.Shard, Labels: res.Labels})
		if err != nil {
			j.Close()
			return nil, nil, err
		}
		return j, nil, nil
	}
	r := opt.Resume
	kept := r.Kept()
	n := 0
	for _, cs := range plan.Cases {
		n += len(kept[cs.Key()])
	}
	res.Resumed = r.resumed(n)
	j, err := reopenJournal(r)
	if err != nil {
		return nil, nil, err
	}
	if err := j.write(JournalResume{Type: journalResume, At: res.StartedAt, Env: res.Env, Labels: res.Labels, KeptRuns: n, Torn: r.Torn}); err != nil {
		j.Close()
		return nil, nil, err
	}
	return j, kept, nil
}

// caseRun is one case in progress: what every run of it needs, and the
// Case its runs are added to.
type caseRun struct {
	plan   *pipeline.Plan
	spec   pipeline.CaseSpec
	index  int // the case's position in the plan, for progress lines
	gen    gen.Generator
	opt    Options
	j      *journal
	prog   *progress
	prompt Prompt
	c      *result.Case
	rule   stopRule
	// nextIndex is the index of the case's next measured run: after the
	// kept runs' when resuming.
	nextIndex int
}

// runCase runs warmups and measured runs of one case. Kept are the
// case's measured runs from an interrupted run: they count towards the
// stop rule, and a case they already satisfy runs nothing (no warmup).
func runCase(ctx context.Context, plan *pipeline.Plan, cs pipeline.CaseSpec, ci int, g gen.Generator, opt Options, j *journal, prog *progress, kept []JournalRun) (*result.Case, error) {
	info := g.Info()
	if cs.PromptTokens+cs.NewTokens > info.MaxPositions && info.MaxPositions > 0 {
		return nil, fmt.Errorf("case %s: prompt %d + new tokens %d = %d exceeds the model's %d positions",
			cs.ID, cs.PromptTokens, cs.NewTokens, cs.PromptTokens+cs.NewTokens, info.MaxPositions)
	}
	prompt, err := casePrompt(cs, info, opt)
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", cs.ID, err)
	}
	cr := &caseRun{plan: plan, spec: cs, index: ci, gen: g, opt: opt, j: j, prog: prog, prompt: prompt, c: newCase(cs, info)}
	cr.rule = newStopRule(plan.Generate)
	for _, jr := range kept {
		cr.c.Runs = append(cr.c.Runs, journaledRun(jr))
		cr.nextIndex = max(cr.nextIndex, jr.Index+1)
	}
	slices.SortStableFunc(cr.c.Runs, func(a, b result.Run) int { return a.Index - b.Index })
	if first, last := runSpan(kept); !first.IsZero() {
		// min_seconds counts the time the kept runs took.
		cr.rule.start = cr.rule.start.Add(-last.Sub(first))
	}
	if len(kept) > 0 && cr.rule.enough(cr.c) {
		return cr.c, nil
	}
	mon := sysinfo.StartMonitor()
	caseStart := time.Now()
	defer func() {
		u := mon.StopUsage()
		cr.c.ForeignCPU, cr.c.StealCPU = u.ForeignCores, u.StealCores
		cr.c.WallNS = int64(time.Since(caseStart))
	}()
	if err := cr.warmup(ctx); err != nil {
		return cr.c, err
	}
	return cr.c, cr.measure(ctx)
}

// newCase is the empty result of case cs run on a generator with info.
func newCase(cs pipeline.CaseSpec, info gen.Info) *result.Case {
	return &result.Case{
		ID: cs.ID, Key: cs.Key(),
		Params: result.CaseParams{
			PromptTokens: cs.PromptTokens, NewTokens: cs.NewTokens, Batch: max(cs.Batch, 1),
			Streams: max(cs.Streams, 1), Threads: info.Threads.IntraOp, Sampling: cs.Sampling,
		},
		Valid: true,
	}
}

// warmup runs the plan's warmup runs, journaled and marked as warmups.
func (cr *caseRun) warmup(ctx context.Context) error {
	n := cr.plan.Warmup.Runs
	for w := 0; w < n; w++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cr.prog.update(cr.index, cr.spec.ID, "warmup", w+1, n)
		if _, err := cr.one(ctx, w, 0, true); err != nil {
			return fmt.Errorf("case %s warmup %d: %w", cr.spec.ID, w+1, err)
		}
	}
	return nil
}

// stopRule is generate's rule for when a case has enough measured runs:
// a fixed count, or (max_runs set) the adaptive rule — at least min_runs
// and min_seconds, then until the stop metric's mean is precise enough or
// max_runs is reached.
type stopRule struct {
	spec    pipeline.GenerateSpec
	fixed   bool
	maxRuns int
	metric  string
	start   time.Time
}

func newStopRule(gs pipeline.GenerateSpec) stopRule {
	r := stopRule{spec: gs, fixed: gs.MaxRuns == 0, maxRuns: gs.MaxRuns, metric: gs.StopMetric, start: time.Now()}
	if r.fixed {
		r.maxRuns = max(gs.Runs, 1)
	}
	if r.metric == "" {
		r.metric = metric.E2E
	}
	return r
}

// enough reports whether c's finished runs satisfy the rule, and marks c
// as stopped by the precision rule when they do by it. A case stopped
// here summarizes its means at stats.AdaptiveMeanLevel (aggregate), which
// corrects the interval's coverage for stopping on it.
func (r stopRule) enough(c *result.Case) bool {
	n := len(c.Runs)
	if n >= r.maxRuns {
		return true
	}
	if r.fixed || n < max(r.spec.MinRuns, 2) || time.Since(r.start).Seconds() < r.spec.MinSeconds {
		return false
	}
	c.PrecisionStop = stats.PreciseEnough(values(c.Runs, r.metric), r.spec.StopRelCI)
	return c.PrecisionStop
}

// measure issues the case's measured runs on its streams until the stop
// rule is met. Every stream checks the shared rule, over the runs finished
// so far, before it issues its next run, so streams > 1 stop adaptively as
// one stream does; runs already in flight when the rule is met finish and
// are kept (at most streams − 1 beyond the run that met it), and no more
// than max_runs are ever issued. Concurrent streams share one generator,
// which must say it is safe for that; their case peak RSS is sampled over
// the whole phase, since per-run samples would overlap.
func (cr *caseRun) measure(ctx context.Context) error {
	c := cr.c
	streams := c.Params.Streams
	if streams > 1 {
		if cg, ok := cr.gen.(gen.Concurrent); !ok || !cg.ConcurrentSafe() {
			return fmt.Errorf("case %s: streams = %d needs a generator that is safe for concurrent use; this one is not (use streams = 1)", cr.spec.ID, streams)
		}
	}
	rule := cr.rule
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		// issued counts the case's runs, kept ones included (max_runs
		// bounds them all); nextIndex numbers the new ones.
		issued    = len(c.Runs)
		nextIndex = cr.nextIndex
	)
	// next claims the index of the stream's next run, or reports that the
	// case is done: an error, an interrupt, max_runs issued, or the stop
	// rule met by the finished runs.
	next := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil || ctx.Err() != nil || issued >= rule.maxRuns || rule.enough(c) {
			return 0, false
		}
		idx := nextIndex
		issued++
		nextIndex++
		cr.prog.update(cr.index, cr.spec.ID, "run", issued, rule.maxRuns)
		return idx, true
	}
	stream := func(s int) {
		for {
			idx, ok := next()
			if !ok {
				return
			}
			r, err := cr.one(ctx, idx, s, false)
			mu.Lock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("case %s run %d%s: %w", cr.spec.ID, idx+1, streamLabel(s, streams), err)
			} else if err == nil {
				c.Runs = append(c.Runs, *r)
			}
			mu.Unlock()
		}
	}
	if streams == 1 {
		stream(0)
	} else {
		sampler := measure.StartSampler(cr.plan.Generate.RSSInterval, false)
		for s := 0; s < streams; s++ {
			wg.Add(1)
			go func() { defer wg.Done(); stream(s) }()
		}
		wg.Wait()
		peak, _ := sampler.Stop()
		sort.Slice(c.Runs, func(a, b int) bool { return c.Runs[a].Index < c.Runs[b].Index })
		for _, o := range cr.observers() {
			o.MeasureStreams(c, measure.StreamsObservation{PeakRSS: peak})
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// streamLabel names the stream in a run's error when there are several.
func streamLabel(s, streams int) string {
	if streams == 1 {
		return ""
	}
	return fmt.Sprintf(" (stream %d)", s)
}

// one times one run (a warmup when warmup is set) and journals it.
func (cr *caseRun) one(ctx context.Context, index, stream int, warmup bool) (*result.Run, error) {
	cs, c := cr.spec, cr.c
	serial := c.Params.Streams == 1
	req := gen.Request{NewTokens: cs.NewTokens, Sampling: cs.Sampling}
	var sampler *measure.Sampler
	if serial {
		sampler = measure.StartSampler(cr.plan.Generate.RSSInterval, false)
	}
	req.Start = time.Now()
	req.Prompts, req.TokenizeNS = cr.tokenize(req.Start, c.Params.Batch)
	tr, err := cr.gen.Generate(ctx, req)
	var peak int64
	if sampler != nil {
		peak, _ = sampler.Stop()
	}
	if err != nil {
		return nil, err
	}
	if serial {
		// Collect and return freed Go heap to the OS before reading RSS:
		// Go keeps freed pages until its scavenger runs, so without this
		// the RSS series climbs towards the GC goal (GOGC) and reads as a
		// leak. The collection also keeps GC out of the next timed run,
		// as Go's own benchmarks do.
		debug.FreeOSMemory()
	}
	m := cr.measureRun(measure.RunObservation{
		Trace: tr, Expect: measure.Expect{NewTokens: cs.NewTokens, Batch: c.Params.Batch, StopAtEOS: req.StopAtEOS},
		PeakRSS: peak, RSSAfter: measure.RSS(),
		Case: cs.ID, Index: index, Stream: stream, Warmup: warmup, Prompts: req.Prompts,
	})
	if keep := cr.plan.Measure.Metrics; len(keep) > 0 {
		// The invariants were checked on the whole trace; only the
		// values the pipeline asked for are kept and aggregated.
		for id := range m.Values {
			if !slices.Contains(keep, id) {
				delete(m.Values, id)
			}
		}
	}
	run := newRun(index, stream, m)
	if err := cr.j.write(JournalRun{Type: journalRun, Case: cs.ID, Key: c.Key, Params: &c.Params, Index: index, Stream: stream, Warmup: warmup, Trace: tr, Values: m.Values, Valid: run.Valid, Problems: m.Problems}); err != nil {
		return nil, err
	}
	return run, nil
}

// observers are the case's Measurers that observe runs as they finish.
func (cr *caseRun) observers() []Observer {
	var out []Observer
	for _, m := range cr.opt.Measurers {
		if o, ok := m.(Observer); ok {
			out = append(out, o)
		}
	}
	return out
}

// measureRun is every Observer's measurement of one run, together: the
// values and problems of all, the per-token times of the first that has
// them.
func (cr *caseRun) measureRun(o measure.RunObservation) measure.Run {
	run := measure.Run{Values: map[string]float64{}}
	for _, obs := range cr.observers() {
		m := obs.MeasureRun(o)
		maps.Copy(run.Values, m.Values)
		run.Problems = append(run.Problems, m.Problems...)
		if run.TokenMS == nil {
			run.ITLms, run.TokenMS = m.ITLms, m.TokenMS
		}
	}
	return run
}

// definitions is a registry of the metric definitions of ms.
func definitions(ms []Measurer) (*metric.Registry, error) {
	reg := &metric.Registry{}
	for _, m := range ms {
		if err := reg.Define(m.Name(), m.Metrics()); err != nil {
			return nil, fmt.Errorf("metric module %s: %w", m.Name(), err)
		}
	}
	return reg, nil
}

// builtinDefinitions is a registry of the built-in metric module's
// definitions alone: a result rebuilt from a journal has no plugin metric.
func builtinDefinitions() *metric.Registry {
	reg, err := definitions([]Measurer{measure.Builtin{}})
	if err != nil {
		panic(err) // a programming error in the built-in definitions
	}
	return reg
}

// tokenize returns the request's prompt rows: a text prompt is tokenized
// again inside the timed request (its time since start returned), and its
// ids used when they have the prompt's length; otherwise the case's ids.
func (cr *caseRun) tokenize(start time.Time, batch int) ([][]int64, int64) {
	p := cr.prompt
	if p.Text == "" || cr.opt.Tokenizer == nil {
		return p.IDs, 0
	}
	ids := cr.opt.Tokenizer.Encode(p.Text)
	ns := int64(time.Since(start))
	if len(ids) != len(p.IDs[0]) {
		return p.IDs, ns
	}
	rows := make([][]int64, batch)
	for i := range rows {
		rows[i] = ids
	}
	return rows, ns
}

func casePrompt(cs pipeline.CaseSpec, info gen.Info, opt Options) (Prompt, error) {
	if opt.Prompts != nil {
		p, err := opt.Prompts(cs)
		if err != nil {
			return p, err
		}
		if len(p.IDs) == 0 {
			return p, errors.New("prompter returned no prompt rows")
		}
		return p, nil
	}
	return SeededPrompt(cs, info.Vocab), nil
}

// SeededPrompt returns batch rows of exactly PromptTokens seeded
// pseudo-random ids (tokenize.SeededIDs: the last id, GPT-2's EOS, left out).
func SeededPrompt(cs pipeline.CaseSpec, vocab int) Prompt {
	rows := make([][]int64, max(cs.Batch, 1))
	for b := range rows {
		rows[b] = tokenize.SeededIDs(cs.PromptTokens, max(vocab, 2), cs.PromptSeed+uint64(b))
	}
	return Prompt{IDs: rows}
}

// values returns metric id's value in every valid run that has one;
// statistics leave out and count any non-finite value (stats.Finite).
func values(runs []result.Run, id string) []float64 {
	xs := make([]float64, 0, len(runs))
	for _, r := range runs {
		if v, ok := r.Values[id]; ok && r.Valid {
			xs = append(xs, v)
		}
	}
	return xs
}

// summarize describes metric id over the valid runs: itl_ms over every
// inter-token gap of every run (stats.SummarizeClustered: percentiles of
// gaps, not of per-run mean gaps), any other metric over its per-run values.
func summarize(runs []result.Run, id string, opts stats.Options) stats.Summary {
	if id == metric.ITL {
		var gaps [][]float64
		for _, r := range runs {
			if _, ok := r.Values[metric.ITL]; ok && r.Valid && len(r.ITLms) > 0 {
				gaps = append(gaps, r.ITLms)
			}
		}
		if len(gaps) > 0 {
			return stats.SummarizeClustered(gaps, opts)
		}
	}
	return stats.SummarizeWith(values(runs, id), opts)
}

// addCase aggregates c's runs and carries its problems and warnings into
// res.
func addCase(res *result.Result, c *result.Case, spec pipeline.AggregateSpec) {
	aggregate(c, spec)
	if !c.Valid {
		res.Valid = false
		for _, p := range c.Problems {
			res.Problems = append(res.Problems, c.ID+": "+p)
		}
	}
	for _, w := range c.Warnings {
		res.Warnings = append(res.Warnings, c.ID+": "+w)
	}
}

// newRun is the result's run of a measurement.
func newRun(index, stream int, m measure.Run) *result.Run {
	return &result.Run{Index: index, Stream: stream, Values: m.Values, ITLms: m.ITLms, TokenMS: m.TokenMS, Valid: m.Valid(), Problems: m.Problems}
}

// aggregate computes per-metric summaries over the valid runs and collects
// invariant problems and outlier warnings. itl_ms is summarized over every
// token gap of the valid runs (its percentiles are of gaps, its intervals
// from a bootstrap over runs); every other metric over its per-run values.
// A case the precision rule stopped early gets its mean intervals at
// stats.AdaptiveMeanLevel. An outlier warning names only what was measured
// (other processes' CPU, the hypervisor's steal), else "cause not measured".
func aggregate(c *result.Case, spec pipeline.AggregateSpec) {
	ids := map[string]bool{}
	for _, r := range c.Runs {
		for id := range r.Values {
			ids[id] = true
		}
		if !r.Valid {
			c.Valid = false
			for _, p := range r.Problems {
				c.Problems = append(c.Problems, fmt.Sprintf("run %d: %s", r.Index+1, p))
			}
		}
	}
	if len(c.Runs) == 0 {
		c.Warnings = append(c.Warnings, "no run finished")
		return
	}
	c.Stats = map[string]stats.Summary{}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	for _, id := range sorted {
		opts := stats.Options{Percentiles: spec.Percentiles, OutlierZ: spec.OutlierZ}
		if c.PrecisionStop {
			opts.MeanLevel = stats.AdaptiveMeanLevel
		}
		s := summarize(c.Runs, id, opts)
		if s.Dropped > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %d values are not finite numbers and are left out of its statistics", id, s.Dropped))
		}
		if s.N == 0 {
			continue
		}
		c.Stats[id] = s
		if s.Outliers > 0 {
			c.Warnings = append(c.Warnings, stats.OutlierWarning(id, s, spec.OutlierZ, sysinfo.Interference(c.ForeignCPU, c.StealCPU)))
		}
	}
}

// presentMetrics lists the definitions of every metric that occurs in
// cases, in the registry's order.
func presentMetrics(reg *metric.Registry, cases []result.Case) []metric.Def {
	seen := map[string]bool{}
	for _, c := range cases {
		for id := range c.Stats {
			seen[id] = true
		}
		for id := range c.Values {
			seen[id] = true
		}
	}
	var out []metric.Def
	for _, d := range reg.All() {
		if seen[d.ID] {
			out = append(out, d)
		}
	}
	return out
}

func settings(p *pipeline.Plan) map[string]any {
	return map[string]any{
		"warmup_runs":      p.Warmup.Runs,
		"runs":             p.Generate.Runs,
		"min_runs":         p.Generate.MinRuns,
		"max_runs":         p.Generate.MaxRuns,
		"min_seconds":      p.Generate.MinSeconds,
		"stop_metric":      p.Generate.StopMetric,
		"stop_rel_ci":      p.Generate.StopRelCI,
		"rss_interval_ms":  float64(p.Generate.RSSInterval) / 1e6,
		"percentiles":      p.Aggregate.Percentiles,
		"outlier_z":        p.Aggregate.OutlierZ,
		"graph_style":      p.Model.GraphStyle,
		"intra_op_threads": p.Model.IntraOpThreads,
		"inter_op_threads": p.Model.InterOpThreads,
		"spinning":         p.Model.Spinning,
		"opt_level":        p.Model.OptLevel,
		"device":           p.Model.Device,
	}
}
