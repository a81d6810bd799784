package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/pipe-bench/pipe/host/gen"
	"github.com/pipe-bench/pipe/host/result"
)

// JournalName is the append-only file of every finished run.
const JournalName = "samples.jsonl"

// journal appends one JSON object per line with a single write each, so
// a line is either whole or absent after a crash.
type journal struct {
	mu sync.Mutex
	f  *os.File
}

type journalHeader struct {
	Type     string              `json:"type"` // "start"
	Pipeline result.PipelineInfo `json:"pipeline"`
	Model    gen.Info            `json:"model"`
	Env      result.Env          `json:"env"`
}

type journalRun struct {
	Type     string             `json:"type"` // "run"
	Case     string             `json:"case"`
	Index    int                `json:"index"`
	Stream   int                `json:"stream,omitempty"`
	Warmup   bool               `json:"warmup"`
	Trace    *gen.Trace         `json:"trace"`
	Values   map[string]float64 `json:"values"`
	Valid    bool               `json:"valid"`
	Problems []string           `json:"problems,omitempty"`
}

func openJournal(dir string) (*journal, error) {
	if dir == "" {
		return nil, fmt.Errorf("engine: no output directory")
	}
	f, err := os.OpenFile(filepath.Join(dir, JournalName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &journal{f: f}, nil
}

func (j *journal) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("journal %s: %w", j.f.Name(), err)
	}
	return nil
}

func (j *journal) Close() error { return j.f.Close() }
