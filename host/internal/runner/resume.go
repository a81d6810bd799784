package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// resumePoint is what --resume DIR found in DIR.
type resumePoint struct {
	dir string
	// journal is the interrupted run's, to continue; nil starts afresh in
	// dir (it did not exist, or the run died before journaling).
	journal *engine.Journal
	// done is the result of a run that had finished (its journal ends
	// after every case, and result.json is there): nothing to resume.
	done *result.Result
}

// prepareResume reads --resume DIR: a directory that does not exist yet
// (or holds no journal) is a fresh run's, so a pod or a requeued task
// restarts with the same command whether or not it had begun; a journal is
// continued when it is this plan's and this shard's, and refused in one
// line naming both pipelines otherwise; a finished run is left as it is.
func prepareResume(dir, planHash, name string, shard *result.Shard) (*resumePoint, error) {
	rp := &resumePoint{dir: dir}
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("--resume %s: %w", dir, err)
		}
		return rp, nil
	case err != nil:
		return nil, fmt.Errorf("--resume %s: %w", dir, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("--resume %s: not a directory; give the run directory (the one holding %s)", dir, engine.JournalName)
	}
	path := filepath.Join(dir, engine.JournalName)
	switch fi, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		return rp, nil
	case err != nil:
		return nil, fmt.Errorf("--resume %s: %w", dir, err)
	case fi.Size() == 0:
		// Created, never written: the run died before its header.
		return rp, os.Remove(path)
	}
	j, err := engine.ReadJournal(path)
	if err != nil {
		return nil, fmt.Errorf("--resume %s: %w", dir, err)
	}
	h := j.Header
	switch {
	case h.PlanHash == "":
		return nil, fmt.Errorf("--resume %s: its journal has no plan hash (written by a pipe before --resume existed), so it cannot be matched to this pipeline; run into a new directory", dir)
	case h.PlanHash != planHash:
		return nil, fmt.Errorf("--resume %s: its journal is pipeline %q (plan hash %s), this command's is %q (%s); resume with the pipeline file, --set and --quick that started it, or give a new directory",
			dir, h.Pipeline.Name, h.PlanHash, name, planHash)
	case !sameShard(h.Shard, shard):
		return nil, fmt.Errorf("--resume %s: its journal is %s of the plan, this command's is %s; resume with the --shard that started it", dir, shardName(h.Shard), shardName(shard))
	}
	if j.Ended {
		if res, err := result.Read(filepath.Join(dir, result.FileName)); err == nil && res.Incomplete == "" {
			rp.done = res
			return rp, nil
		}
	}
	rp.journal = j
	return rp, nil
}

func sameShard(a, b *result.Shard) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Index == b.Index && a.Count == b.Count
}

func shardName(s *result.Shard) string {
	if s == nil {
		return "the whole"
	}
	return fmt.Sprintf("shard %d/%d", s.Index, s.Count)
}
