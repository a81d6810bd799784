package sdktest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/sdk/schema"
	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestFixtureIsConsistent(t *testing.T) {
	r := sdktest.FixtureResult()
	for _, c := range r.Cases {
		for _, run := range c.Runs {
			if len(run.TokenMS) != c.Params.NewTokens || len(run.ITLms) != c.Params.NewTokens-1 {
				t.Fatalf("%s run %d: %d tokens, %d gaps for %d new tokens", c.ID, run.Index, len(run.TokenMS), len(run.ITLms), c.Params.NewTokens)
			}
			if run.Values[schema.E2E] != run.TokenMS[len(run.TokenMS)-1] || run.Values[schema.TTFT] != run.TokenMS[0] {
				t.Errorf("%s run %d: values disagree with token times", c.ID, run.Index)
			}
			if run.Values[schema.E2E] < run.Values[schema.TTFT] {
				t.Errorf("%s run %d: E2E < TTFT", c.ID, run.Index)
			}
		}
		if s := c.Stats[schema.TTFT]; s.N != len(c.Runs) || s.Min > s.P50 || s.P50 > s.Max {
			t.Errorf("%s: TTFT summary %+v", c.ID, s)
		}
	}
}

func TestLoadResultAndRunsOf(t *testing.T) {
	want := sdktest.FixtureResult()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "result.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got := sdktest.LoadResult(t, path)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("LoadResult (-want +got):\n%s", d)
	}
	runs := sdktest.RunsOf(got)
	if len(runs) != 10 || runs[5].Case != "p64-n32-b1" || runs[5].Index != 0 || runs[5].PromptTokens != 64 || runs[5].OutputTokens != 32 {
		t.Errorf("RunsOf: %d runs, run 5 = %+v", len(runs), runs[5])
	}
}
