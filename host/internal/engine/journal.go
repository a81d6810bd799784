package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// JournalName is the append-only file of every finished run.
const JournalName = "samples.jsonl"

// journal appends one JSON object per line with a single write each, and
// a line is whole or absent: a write cut short (a full disk, a file size
// limit) is truncated back off, so the journal still ends after its last
// whole line and the next write appends where it belongs.
type journal struct {
	mu   sync.Mutex
	f    *os.File
	size int64 // bytes of whole lines
}

// JournalHeader is the first line of a journal: what the run is.
type JournalHeader struct {
	Type      string              `json:"type"` // "start"
	StartedAt string              `json:"started_at,omitempty"`
	Pipeline  result.PipelineInfo `json:"pipeline"`
	Model     gen.Info            `json:"model"`
	Env       result.Env          `json:"env"`
	// Aggregate is how the run's statistics are computed, so a result
	// can be rebuilt from the journal alone.
	Aggregate *pipeline.AggregateSpec `json:"aggregate,omitempty"`
	// PlanHash, Shard and Labels are the result's: what a resume checks
	// and a merge of a killed shard's journal needs.
	PlanHash string            `json:"plan_hash,omitempty"`
	Shard    *result.Shard     `json:"shard,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// JournalRun is one finished generation, warmup or measured.
type JournalRun struct {
	Type string `json:"type"` // "run"
	Case string `json:"case"`
	// Key is the case's key (pipeline.CaseSpec.Key).
	Key    string             `json:"key,omitempty"`
	Params *result.CaseParams `json:"params,omitempty"`
	Index  int                `json:"index"`
	Stream int                `json:"stream,omitempty"`
	Warmup bool               `json:"warmup"`
	Trace  *gen.Trace         `json:"trace"`
	// Values are the run's metric values; a non-finite one is left out.
	Values   map[string]float64 `json:"values"`
	Valid    bool               `json:"valid"`
	Problems []string           `json:"problems,omitempty"`
}

// JournalResume marks where a resumed run (pipe run --resume) continued
// the journal: the runs before it are kept, warmups excepted.
type JournalResume struct {
	Type string `json:"type"` // "resume"
	At   string `json:"at"`
	// Env is the machine that continues the run (the header's is the one
	// that started it).
	Env    result.Env        `json:"env"`
	Labels map[string]string `json:"labels,omitempty"`
	// KeptRuns are the measured runs kept from before; Torn the torn last
	// line cut off, if there was one.
	KeptRuns int    `json:"kept_runs"`
	Torn     string `json:"torn,omitempty"`
}

// JournalEnd is the last line of a run that ran every case of its plan to
// its stop rule; a journal without one (after its last resume) was cut off.
type JournalEnd struct {
	Type       string `json:"type"` // "end"
	FinishedAt string `json:"finished_at"`
}

// Journal record types.
const (
	journalStart  = "start"
	journalRun    = "run"
	journalResume = "resume"
	journalEnd    = "end"
)

func openJournal(dir string) (*journal, error) {
	if dir == "" {
		return nil, fmt.Errorf("engine: no output directory")
	}
	return openJournalFile(filepath.Join(dir, JournalName))
}

// reopenJournal opens a journal read back (ReadJournal) to append to it,
// after cutting off a torn last line, so the next line starts a line of
// its own.
func reopenJournal(read *Journal) (*journal, error) {
	j, err := openJournalFile(read.Path)
	if err != nil {
		return nil, err
	}
	if j.size != read.Size {
		if err := j.f.Truncate(read.Size); err != nil {
			j.Close()
			return nil, fmt.Errorf("journal: cutting its torn last line off: %w", err)
		}
		j.size = read.Size
	}
	return j, nil
}

func openJournalFile(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &journal{f: f}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		j.size = fi.Size()
	}
	return j, nil
}

func (j *journal) write(v any) error {
	b, _, err := result.EncodeFinite(v, "")
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.f.Name(), err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	n, err := j.f.Write(b)
	if err == nil {
		j.size += int64(n)
		return nil
	}
	// err names the journal (an *fs.PathError).
	if n > 0 {
		if terr := j.f.Truncate(j.size); terr != nil {
			return fmt.Errorf("journal: %w; cutting the torn line back off failed too: %v", err, terr)
		}
	}
	return fmt.Errorf("journal: %w (the run was not recorded)", err)
}

func (j *journal) Close() error { return j.f.Close() }
