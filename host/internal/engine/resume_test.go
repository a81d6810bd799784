package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
)

// cutJournal keeps the first n lines of dir's journal and appends half of
// the next one (a torn line), and reads it back.
func cutJournal(t *testing.T, dir string, n int) *Journal {
	t.Helper()
	path := filepath.Join(dir, JournalName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	cut := bytes.Join(lines[:n], nil)
	cut = append(cut, lines[n][:len(lines[n])/2]...)
	if err := os.WriteFile(path, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if j.Torn == "" || j.Ended {
		t.Fatalf("cut journal: torn %q, ended %v", j.Torn, j.Ended)
	}
	return j
}

// TestResumeCountsKeptRuns: a resumed case counts its kept runs towards
// its stop rule — a fixed count and the adaptive rule alike — warms up
// again only when it has runs left to do, numbers its new runs after the
// kept ones, and the journal ends after every case.
func TestResumeCountsKeptRuns(t *testing.T) {
	cases := []pipeline.CaseSpec{{ID: "a", PromptTokens: 8, NewTokens: 4}, {ID: "b", PromptTokens: 16, NewTokens: 4}}
	for _, tt := range []struct {
		name     string
		generate pipeline.GenerateSpec
		runs     int // per case, uninterrupted
	}{
		{"fixed", pipeline.GenerateSpec{Runs: 3}, 3},
		// Constant timings: the mean is exact after min_runs.
		{"adaptive", pipeline.GenerateSpec{MinRuns: 4, MaxRuns: 40, StopRelCI: 0.05}, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(cases...)
			p.Generate = tt.generate
			dir := t.TempDir()
			g := &fakeGen{ttft: constTTFT(20 * time.Millisecond), gap: time.Millisecond}
			if _, err := Run(context.Background(), p, g, Options{Dir: dir}); err != nil {
				t.Fatal(err)
			}
			// Keep the header, case a's warmup and all but its last run;
			// tear the line after.
			j := cutJournal(t, dir, 1+1+tt.runs-1)
			g2 := &fakeGen{ttft: constTTFT(20 * time.Millisecond), gap: time.Millisecond}
			res, err := Run(context.Background(), p, g2, Options{Dir: dir, Resume: j})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Cases {
				if len(c.Runs) != tt.runs {
					t.Errorf("case %s: %d runs, want %d", c.ID, len(c.Runs), tt.runs)
				}
				for i, r := range c.Runs {
					if r.Index != i {
						t.Errorf("case %s: run %d has index %d", c.ID, i, r.Index)
					}
				}
			}
			// Case a: a warmup and its one missing run; case b: everything.
			if want := (1 + 1) + (1 + tt.runs); g2.calls != want {
				t.Errorf("the resumed run made %d generations, want %d", g2.calls, want)
			}
			if r := res.Resumed; r == nil || r.Runs != tt.runs-1 || r.Cases != 1 || r.Torn == "" {
				t.Errorf("resumed = %+v, want %d runs of 1 case and the torn line", r, tt.runs-1)
			}
			back, err := ReadJournal(filepath.Join(dir, JournalName))
			if err != nil {
				t.Fatal(err)
			}
			if !back.Ended || len(back.Resumes) != 1 || back.Torn != "" {
				t.Errorf("journal after the resume: ended %v, %d resumes, torn %q", back.Ended, len(back.Resumes), back.Torn)
			}

			// Cut again after all of case a's runs: it runs nothing,
			// not even a warmup.
			j = cutJournal(t, dir, 1+1+(tt.runs-1)+1+1+1)
			g3 := &fakeGen{ttft: constTTFT(20 * time.Millisecond), gap: time.Millisecond}
			if _, err := Run(context.Background(), p, g3, Options{Dir: dir, Resume: j}); err != nil {
				t.Fatal(err)
			}
			if want := 1 + tt.runs; g3.calls != want {
				t.Errorf("with case a complete, the resumed run made %d generations, want %d (case b only)", g3.calls, want)
			}
		})
	}
}
