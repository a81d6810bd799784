package roofline

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// TestRunPathTiny: the run-path bench decodes one case through the engine,
// the generator and the bare loop, the same number of runs each, and the
// engine's runs are real `pipe run` runs: each one is in the journal.
func TestRunPathTiny(t *testing.T) {
	dir := t.TempDir()
	f, err := RunPath(context.Background(), RunPathOptions{
		Model: tinyModel(t), Engine: ortgen.Options{IntraOpThreads: 1},
		PromptTokens: 16, NewTokens: 8, Reps: 3, Dir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	var engines []string
	for _, r := range f.Rows {
		engines = append(engines, r.Engine)
		if len(r.DecodeAll) != 3 || len(r.TTFTAll) != 3 || r.TTFTms <= 0 || r.DecodeTPS <= 0 {
			t.Errorf("row %+v", r)
		}
	}
	if got, want := strings.Join(engines, ","), EngineRunPath+","+EngineGenerator+","+EngineBare; got != want {
		t.Errorf("engines %s, want %s", got, want)
	}
	for name, v := range map[string]float64{"decode": f.DecodeRatio, "TTFT": f.TTFTRatio, "paired decode": f.PairedDecodeRatio, "paired TTFT": f.PairedTTFTRatio} {
		if !(v > 0) {
			t.Errorf("%s ratio %v", name, v)
		}
	}
	j, err := os.Open(filepath.Join(dir, engine.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	runs := 0
	for sc := bufio.NewScanner(j); sc.Scan(); {
		if strings.Contains(sc.Text(), `"type":"run"`) {
			runs++
		}
	}
	if runs != 4 { // one warm-up and three timed runs
		t.Errorf("the journal holds %d runs, want 4: the run path did not go through the engine", runs)
	}

	for _, tc := range []struct {
		o    RunPathOptions
		want string
	}{
		{RunPathOptions{Model: tinyModel(t)}, "no directory"},
		{RunPathOptions{Model: tinyModel(t), Dir: dir, PromptTokens: 120, NewTokens: 20}, "prompt 120 + 20 new tokens exceeds the model's 128 positions"},
		{RunPathOptions{Model: tinyModel(t), Dir: dir, NewTokens: 1}, "≥ 2 tokens"},
	} {
		if _, err := RunPath(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RunPath(%+v) = %v, want an error naming %q", tc.o, err, tc.want)
		}
	}
}

// TestRunPathRefusesWhatTheBareLoopCannotRun: a graph whose cache the bare
// loop cannot hold (here a GroupQueryAttention build that does not share
// its cache, and one whose cache is said to be float16) is refused in one
// line naming why; the shared-cache build it can run is not.
func TestRunPathRefusesWhatTheBareLoopCannotRun(t *testing.T) {
	m, err := model.OpenWith("gpt2-tiny", model.BuildOptions{Style: model.StyleGQA})
	if err != nil {
		t.Fatal(err)
	}
	if why := bareMisfit(m); why != "" {
		t.Fatalf("the shared-cache gqa build is refused: %s", why)
	}
	concat, half := *m, *m
	concat.ShareBuffer = false
	half.KVType = "float16"
	for _, tc := range []struct {
		m    *model.Model
		want string
	}{{&concat, "GroupQueryAttention without a shared cache"}, {&half, "its cache is float16"}} {
		_, err = RunPath(context.Background(), RunPathOptions{Model: tc.m, Dir: t.TempDir(), PromptTokens: 16, NewTokens: 4, Reps: 1})
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want one line naming %q", err, tc.want)
		}
	}
}
