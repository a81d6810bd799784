// Package merge makes one result from the results of a plan's shards (pipe
// merge): each shard a run directory written by pipe run --shard K/N, or
// only its samples.jsonl when the shard was killed and not restarted.
//
// It takes a stand on identity and provenance. A case is identified by its
// key (pipeline.CaseSpec.Key), a plan by its hash: shards of different plans
// are refused, a case delivered by two shards is refused naming both, and a
// case of the plan that no shard delivered makes the result incomplete,
// naming it. Nothing measured is recomputed or averaged across machines:
// every case keeps its runs and statistics as its shard computed them, and
// names the environment (machine, load, versions, labels) it ran in
// (Result.Environments, Case.Environment).
//
// Merging streams: one shard's result is decoded at a time and its cases
// moved into the output, so memory grows with the merged result only.
package merge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/analysis"
	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// Load reads one shard: dir's result.json, or — when the shard was killed
// before writing it — the result rebuilt from its samples.jsonl
// (rebuilt = true). dir may also name a result.json.
func Load(dir string) (r *result.Result, rebuilt bool, err error) {
	path := dir
	if fi, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("%s: no such shard directory", dir)
		}
		return nil, false, err
	} else if fi.IsDir() {
		path = filepath.Join(dir, result.FileName)
	}
	if _, serr := os.Stat(path); path == dir || !errors.Is(serr, fs.ErrNotExist) {
		r, err = result.Read(path)
		return r, false, err
	}
	if _, jerr := os.Stat(filepath.Join(dir, engine.JournalName)); jerr != nil {
		return nil, false, fmt.Errorf("%s: neither %s nor %s: not a run directory (did the shard start?)", dir, result.FileName, engine.JournalName)
	}
	r, err = engine.Rebuild(dir)
	return r, true, err
}

// Merger accumulates shards into one result; Add each, then Result.
type Merger struct {
	out     *result.Result
	first   string // the first shard's source, for messages
	plan    []result.CaseRef
	count   int               // N of the shards' K/N; 0 while none is sharded
	owner   map[string]string // case key → the source that delivered it
	shards  map[int]string    // K → its source
	rebuilt []string
	skipped []string // sources that could not be read
	// unmatched are verdicts that judged no case of their shard (a case
	// selector that matched none there), kept once each when no shard
	// judged the target on a case.
	unmatched  []result.Verdict
	judged     map[string]bool // target expressions judged on some case
	throughput bool
	plugins    map[string]bool
}

// New returns an empty Merger.
func New() *Merger {
	return &Merger{
		out:    &result.Result{Schema: result.Schema, Valid: true},
		owner:  map[string]string{},
		shards: map[int]string{},
		judged: map[string]bool{}, plugins: map[string]bool{},
	}
}

// caseKey identifies a case across shards: its key, or its ID for a
// result written before cases had keys.
func caseKey(c *result.Case) string {
	if c.Key != "" {
		return c.Key
	}
	return "id:" + c.ID
}

// Skip records a shard that could not be read (a pod that never started,
// a directory that was never copied back): its cases are missing, which
// Result reports; the merge goes on.
func (m *Merger) Skip(source string, err error) {
	m.skipped = append(m.skipped, err.Error())
	m.out.Warnings = append(m.out.Warnings, "merge: "+err.Error())
}

// Add merges one shard's result; source names it in messages and in its
// environment. It refuses a result of another plan than the shards before
// it, a case another shard already delivered, and a result that is itself
// a merge. r's cases are moved into the merged result.
func (m *Merger) Add(source string, r *result.Result, rebuilt bool) error {
	switch {
	case len(r.Environments) > 0:
		return fmt.Errorf("%s is itself a merged result; merge the shards' run directories instead", source)
	case r.PlanHash == "":
		return fmt.Errorf("%s: the result has no plan_hash (written before pipe recorded one); rerun the shard with this pipe", source)
	case len(r.Inputs) > 0:
		return fmt.Errorf("%s is a report-only result (phase 5); merge the shards of a measuring pipeline", source)
	}
	out := m.out
	if m.first == "" {
		m.first = source
		out.Pipeline, out.PlanHash, out.Model = r.Pipeline, r.PlanHash, r.Model
		out.Env = r.Env
		out.StartedAt, out.FinishedAt = r.StartedAt, r.FinishedAt
	} else if r.PlanHash != out.PlanHash {
		return fmt.Errorf("%s (pipeline %s, %s) and %s (pipeline %s, %s) are shards of different plans; merge the shards of one pipeline run with the same file, --set and --quick",
			m.first, describePipeline(out.Pipeline), out.PlanHash, source, describePipeline(r.Pipeline), r.PlanHash)
	}
	env := result.Environment{
		ID: fmt.Sprintf("run-%d", len(out.Environments)+1), Source: source,
		Env: r.Env, Labels: r.Labels, ModelHash: r.Model.ModelHash,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, WallNS: r.WallNS,
		Cases: len(r.Cases), Resumed: r.Resumed, Rebuilt: rebuilt,
	}
	if s := r.Shard; s != nil {
		if m.count != 0 && s.Count != m.count {
			return fmt.Errorf("%s is shard %d/%d, but %s was cut into %d shards; merge the shards of one --shard N", source, s.Index, s.Count, m.first, m.count)
		}
		if prev, dup := m.shards[s.Index]; dup {
			return fmt.Errorf("shard %d/%d twice: %s and %s; give each shard's directory once", s.Index, s.Count, prev, source)
		}
		m.count, m.shards[s.Index] = s.Count, source
		if m.plan == nil {
			m.plan = s.Plan
		}
		env.ID, env.ShardIndex, env.ShardCount = fmt.Sprintf("shard-%d", s.Index), s.Index, s.Count
	}
	for _, e := range out.Environments {
		if e.ID == env.ID { // two unsharded inputs cannot collide: IDs count up
			return fmt.Errorf("%s and %s are both %s", e.Source, source, env.ID)
		}
	}
	own := map[string]bool{}
	for i := range r.Cases {
		c := &r.Cases[i]
		key := caseKey(c)
		if prev, dup := m.owner[key]; dup {
			return fmt.Errorf("case %s (key %s) is in both %s and %s; each case must come from one shard: merge one of them", c.ID, c.Key, prev, source)
		}
		m.owner[key] = source
		own[c.ID] = true
		c.Environment = env.ID
	}
	out.Cases = append(out.Cases, r.Cases...)
	out.Environments = append(out.Environments, env)
	if rebuilt {
		m.rebuilt = append(m.rebuilt, env.ID+" ("+source+")")
	}

	for _, v := range r.Targets {
		if own[v.Case] {
			m.judged[v.Source+"\x00"+v.Target] = true
			out.Targets = append(out.Targets, v)
		} else {
			m.unmatched = append(m.unmatched, v)
		}
	}
	out.Valid = out.Valid && r.Valid
	prefix := env.ID + ": "
	for _, p := range r.Problems {
		out.Problems = append(out.Problems, prefix+p)
	}
	for _, w := range r.Warnings {
		out.Warnings = append(out.Warnings, prefix+w)
	}
	for _, e := range r.Errors {
		if rebuilt && e == engine.IncompleteRebuilt {
			continue // said once, in Incomplete
		}
		out.Errors = append(out.Errors, prefix+e)
	}
	for _, d := range r.Metrics {
		if _, known := out.Metric(d.ID); !known {
			out.Metrics = append(out.Metrics, d)
		}
	}
	for _, p := range r.Plugins {
		if id := p.Name + "\x00" + p.SHA256; !m.plugins[id] {
			m.plugins[id] = true
			out.Plugins = append(out.Plugins, p)
		}
	}
	if r.Memory != nil {
		if out.Memory == nil {
			mem := *r.Memory
			mem.Leak = nil
			out.Memory = &mem
		}
		out.Memory.Leak = append(out.Memory.Leak, r.Memory.Leak...)
	}
	m.throughput = m.throughput || r.Throughput != nil
	out.StartedAt = earliest(out.StartedAt, r.StartedAt)
	out.FinishedAt = latest(out.FinishedAt, r.FinishedAt)
	return nil
}

func describePipeline(p result.PipelineInfo) string {
	if p.File != "" {
		return fmt.Sprintf("%s from %s", p.Name, p.File)
	}
	return p.Name
}

// Result finishes the merge: the cases in plan order, the verdicts of
// targets no shard judged on a case, the throughput curve over every case
// when a shard had one, and Incomplete naming every case of the plan no
// shard delivered and every shard rebuilt from its journal. It errors only
// when nothing was merged.
func (m *Merger) Result() (*result.Result, error) {
	out := m.out
	if len(out.Environments) == 0 {
		return nil, fmt.Errorf("nothing to merge: %s", strings.Join(m.skipped, "; "))
	}
	order := map[string]int{}
	for i, c := range m.plan {
		order[c.Key] = i
	}
	slices.SortStableFunc(out.Cases, func(a, b result.Case) int {
		ia, oka := order[a.Key]
		ib, okb := order[b.Key]
		switch {
		case oka && okb:
			return ia - ib
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	seen := map[string]bool{}
	for _, v := range m.unmatched {
		id := v.Source + "\x00" + v.Target
		if m.judged[id] || seen[id+"\x00"+v.Case] {
			continue
		}
		seen[id+"\x00"+v.Case] = true
		out.Targets = append(out.Targets, v)
	}
	if m.throughput {
		cores, intra := out.Env.Cores, out.Model.Threads.IntraOp
		out.Throughput = analysis.ThroughputOf(out.Cases, 0, cores, intra)
		out.Warnings = append(out.Warnings, out.Throughput.Warnings...)
		if n := len(result.Machines(out)); n > 1 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("throughput: the curve spans %d machines; a gain between cases of different machines mixes the machine with the concurrency", n))
		}
	}
	if start, err := time.Parse(time.RFC3339Nano, out.StartedAt); err == nil {
		if end, err := time.Parse(time.RFC3339Nano, out.FinishedAt); err == nil {
			out.WallNS = int64(end.Sub(start))
		}
	}
	var why []string
	if missing := m.Missing(); len(missing) > 0 {
		ids := make([]string, len(missing))
		for i, c := range missing {
			ids[i] = c.ID
		}
		shards := ""
		if absent := m.absentShards(); len(absent) > 0 {
			shards = fmt.Sprintf(" (shard %s of %d not merged)", joinInts(absent), m.count)
		}
		why = append(why, fmt.Sprintf("%d of %d cases missing%s: %s", len(missing), len(m.plan), shards, strings.Join(ids, ", ")))
	}
	if len(m.rebuilt) > 0 {
		why = append(why, fmt.Sprintf("rebuilt from the journal of a killed run, without plugin metrics, analyses or targets: %s", strings.Join(m.rebuilt, ", ")))
	}
	if len(why) > 0 {
		out.Incomplete = "incomplete merge: " + strings.Join(why, "; ") + "; rerun those shards with the same command (--resume continues a killed one) and merge again"
		out.Errors = append([]string{out.Incomplete}, out.Errors...)
	}
	return out, nil
}

// Missing lists the cases of the plan that no shard delivered, in plan
// order.
func (m *Merger) Missing() []result.CaseRef {
	var out []result.CaseRef
	for _, c := range m.plan {
		if _, ok := m.owner[c.Key]; !ok {
			out = append(out, c)
		}
	}
	return out
}

// absentShards are the K of K/N no input was.
func (m *Merger) absentShards() []int {
	var out []int
	for k := 1; k <= m.count; k++ {
		if _, ok := m.shards[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func earliest(a, b string) string {
	ta, ea := time.Parse(time.RFC3339Nano, a)
	tb, eb := time.Parse(time.RFC3339Nano, b)
	if ea != nil || (eb == nil && tb.Before(ta)) {
		return b
	}
	return a
}

func latest(a, b string) string {
	ta, ea := time.Parse(time.RFC3339Nano, a)
	tb, eb := time.Parse(time.RFC3339Nano, b)
	if ea != nil || (eb == nil && tb.After(ta)) {
		return b
	}
	return a
}

// Dirs merges the shards in dirs, in the order given (see Merger). A
// directory that cannot be read as a shard is skipped with a warning and
// its cases count as missing; a plan mismatch or a duplicate case is an
// error.
func Dirs(dirs []string) (*result.Result, error) {
	m := New()
	for _, dir := range dirs {
		r, rebuilt, err := Load(dir)
		if err != nil {
			m.Skip(dir, err)
			continue
		}
		if err := m.Add(dir, r, rebuilt); err != nil {
			return nil, err
		}
	}
	return m.Result()
}
