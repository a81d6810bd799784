package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// Journal is a samples.jsonl read back: the run's header and every
// finished run (warmups included), in the order they were written. It is
// what rebuilding a result (Rebuild) and resuming a run start from.
type Journal struct {
	Path   string
	Header JournalHeader
	Runs   []JournalRun
	// Resumes are the points where resumed runs continued it, in order.
	Resumes []JournalResume
	// Ended says that the journal's last segment (after its last resume)
	// ran every case to its stop rule: the run was not cut off.
	Ended bool
	// Size is the bytes of its whole lines: where a resumed run appends.
	Size int64
	// Torn says that the last line was cut short (the process died or the
	// disk filled during its write) and was left out; "" when the journal
	// ends after a whole line.
	Torn string
}

// ReadJournal reads the journal at path (see DecodeJournal).
func ReadJournal(path string) (*Journal, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("journal %s: no such file", path)
		}
		return nil, fmt.Errorf("journal: %w", err)
	}
	return DecodeJournal(path, data)
}

// DecodeJournal parses a journal; name labels its messages. A torn last
// line is reported in Torn, not an error: a line is written whole or not
// at all, so only the last one can be cut short by a crash. Anything else
// that is not a journal line is an error naming the line.
func DecodeJournal(name string, data []byte) (*Journal, error) {
	j := &Journal{Path: name}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("journal %s: empty: the run ended before it journaled anything", name)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		last := i == len(lines)-1
		kind, err := decodeJournalLine(j, i, line)
		if err == nil && !bytes.HasSuffix(line, []byte("\n")) {
			err = errors.New("no end of line")
		}
		if err == nil {
			j.Size += int64(len(line))
			continue
		}
		if last && i > 0 {
			j.Torn = fmt.Sprintf("%s:%d: the last line is torn (%d bytes, %v) and was left out; the run it held is lost", name, i+1, len(line), err)
			break
		}
		if i == 0 && kind != journalStart {
			return nil, fmt.Errorf("%s:1: not a pipe journal (%v); give the samples.jsonl of a pipe run directory", name, err)
		}
		return nil, fmt.Errorf("%s:%d: %v; the journal is damaged in the middle, not just at its end", name, i+1, err)
	}
	return j, nil
}

// decodeJournalLine adds line i to j and returns its record type.
func decodeJournalLine(j *Journal, i int, line []byte) (string, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return "", fmt.Errorf("not JSON: %v", err)
	}
	switch {
	case i == 0 && head.Type != journalStart:
		return head.Type, fmt.Errorf("the first line is of type %q, want %q", head.Type, journalStart)
	case i == 0:
		if err := json.Unmarshal(line, &j.Header); err != nil {
			return head.Type, fmt.Errorf("header: %v", err)
		}
	case head.Type == journalRun:
		var r JournalRun
		if err := json.Unmarshal(line, &r); err != nil {
			return head.Type, fmt.Errorf("run: %v", err)
		}
		if r.Case == "" {
			return head.Type, errors.New("run without a case")
		}
		j.Runs = append(j.Runs, r)
	case head.Type == journalResume:
		var r JournalResume
		if err := json.Unmarshal(line, &r); err != nil {
			return head.Type, fmt.Errorf("resume: %v", err)
		}
		j.Resumes = append(j.Resumes, r)
		j.Ended = false
	case head.Type == journalEnd:
		j.Ended = true
	default:
		return head.Type, fmt.Errorf("unknown record type %q", head.Type)
	}
	return head.Type, nil
}

// IncompleteRebuilt is the Incomplete note of a result rebuilt from its
// journal.
const IncompleteRebuilt = "incomplete: rebuilt from the journal " + JournalName +
	" (the run ended before it wrote " + result.FileName + "); plugin metrics, analyses and targets were not computed"

// Rebuild makes a result from the journal of a run that never wrote its
// result.json (killed, out of power): the cases and their statistics from
// every measured run the journal holds, computed as the engine computes
// them. The result is marked incomplete (Result.Incomplete, and an error
// line reports show); a torn last line is a warning.
func Rebuild(dir string) (*result.Result, error) {
	j, err := ReadJournal(filepath.Join(dir, JournalName))
	if err != nil {
		return nil, err
	}
	return j.Result(), nil
}

// Result is the result the journal's runs make (see Rebuild).
func (j *Journal) Result() *result.Result {
	h := j.Header
	res := &result.Result{
		Schema: result.Schema, Pipeline: h.Pipeline, StartedAt: h.StartedAt,
		Env: h.Env, Model: h.Model, Valid: true,
		Incomplete: IncompleteRebuilt,
		Errors:     []string{IncompleteRebuilt},
		PlanHash:   h.PlanHash, Shard: h.Shard, Labels: h.Labels,
	}
	if j.Torn != "" {
		res.Warnings = append(res.Warnings, j.Torn)
	}
	spec := pipeline.AggregateSpec{}
	if h.Aggregate != nil {
		spec = *h.Aggregate
	}
	if n := len(j.Resumes); n > 0 {
		res.Resumed = j.resumed(j.Resumes[n-1].KeptRuns)
	}
	first, last := runSpan(j.Runs)
	index := map[string]int{}
	for _, jr := range j.Runs {
		if jr.Warmup {
			continue
		}
		ci, ok := index[jr.Case]
		if !ok {
			ci = len(res.Cases)
			index[jr.Case] = ci
			res.Cases = append(res.Cases, result.Case{ID: jr.Case, Key: jr.Key, Params: journalParams(jr), Valid: true})
		}
		res.Cases[ci].Runs = append(res.Cases[ci].Runs, journaledRun(jr))
	}
	for i := range res.Cases {
		c := &res.Cases[i]
		slices.SortStableFunc(c.Runs, func(a, b result.Run) int { return a.Index - b.Index })
		addCase(res, c, spec)
	}
	res.Metrics = presentMetrics(builtinDefinitions(), res.Cases)
	if res.StartedAt == "" && !first.IsZero() {
		res.StartedAt = first.UTC().Format(time.RFC3339Nano)
	}
	if !last.IsZero() {
		res.FinishedAt = last.UTC().Format(time.RFC3339Nano)
		if t, err := time.Parse(time.RFC3339Nano, res.StartedAt); err == nil {
			res.WallNS = int64(last.Sub(t))
		}
	}
	return res
}

// runSpan is when the first of runs started and the last ended, by their
// traces; zero times when no run has a trace.
func runSpan(runs []JournalRun) (first, last time.Time) {
	for _, jr := range runs {
		if jr.Trace == nil || jr.Trace.StartUnixNano <= 0 {
			continue
		}
		start := time.Unix(0, jr.Trace.StartUnixNano)
		end := start
		if n := len(jr.Trace.TokenNS); n > 0 {
			end = start.Add(time.Duration(jr.Trace.TokenNS[n-1]))
		}
		if first.IsZero() || start.Before(first) {
			first = start
		}
		if end.After(last) {
			last = end
		}
	}
	return first, last
}

// Kept are the measured runs a resumed run keeps, by case key; warmups
// are not kept (a case that continues warms up again).
func (j *Journal) Kept() map[string][]JournalRun {
	kept := map[string][]JournalRun{}
	for _, jr := range j.Runs {
		if !jr.Warmup && jr.Key != "" {
			kept[jr.Key] = append(kept[jr.Key], jr)
		}
	}
	return kept
}

// resumed is the result's record of resuming this journal with kept
// measured runs.
func (j *Journal) resumed(kept int) *result.Resumed {
	cases := map[string]bool{}
	for _, jr := range j.Runs {
		if !jr.Warmup {
			cases[jr.Case] = true
		}
	}
	env := j.Header.Env
	return &result.Resumed{Dir: filepath.Dir(j.Path), Runs: kept, Cases: len(cases), Torn: j.Torn, StartedAt: j.Header.StartedAt, Env: &env}
}

// journalParams are a run's case parameters: journaled, or for a journal
// written before they were, what the trace shows.
func journalParams(jr JournalRun) result.CaseParams {
	if jr.Params != nil {
		return *jr.Params
	}
	p := result.CaseParams{Batch: 1, Streams: 1}
	if tr := jr.Trace; tr != nil {
		if len(tr.PromptTokens) > 0 {
			p.PromptTokens = tr.PromptTokens[0]
		}
		p.Batch = max(len(tr.OutputIDs), 1)
		p.NewTokens = len(tr.TokenNS)
	}
	return p
}

// journaledRun is the result's run of a journal line: its values,
// validity and problems as journaled, its per-token times from the trace.
func journaledRun(jr JournalRun) result.Run {
	var m measure.Run
	if jr.Trace != nil {
		m = measure.FromTrace(jr.Trace, measure.Expect{NewTokens: len(jr.Trace.TokenNS), Batch: len(jr.Trace.OutputIDs)})
	}
	m.Values, m.Problems = jr.Values, jr.Problems
	if m.Values == nil {
		m.Values = map[string]float64{}
	}
	r := newRun(jr.Index, jr.Stream, m)
	r.Valid = jr.Valid && r.Valid
	return *r
}
