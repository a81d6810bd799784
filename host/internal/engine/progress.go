package engine

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
)

// progress prints one status line per update, rewriting it in place.
// The caller passes a nil writer when stderr is not a terminal or
// --no-progress is set.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	cases int
	start time.Time
}

func newProgress(w io.Writer, p *pipeline.Plan) *progress {
	return &progress{w: w, cases: len(p.Cases), start: time.Now()}
}

func (p *progress) update(ci int, id, phase string, run, of int) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := time.Since(p.start)
	// ETA from the share of cases finished: crude but honest about it.
	done := float64(ci) + float64(run-1)/float64(max(of, 1))
	eta := "?"
	if done > 0 {
		eta = (time.Duration(float64(elapsed)/done*float64(p.cases)) - elapsed).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r\033[Kcase %d/%d %s  %s %d/%d  elapsed %s  ETA %s", ci+1, p.cases, id, phase, run, of, elapsed.Round(time.Second), eta)
}

func (p *progress) done() {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K")
}
