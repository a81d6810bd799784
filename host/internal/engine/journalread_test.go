package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// journaledDir runs a small plan with the fake generator and returns its
// output directory and result.
func journaledDir(t testing.TB) (string, *result.Result) {
	dir := t.TempDir()
	g := &fakeGen{ttft: func(call int) time.Duration { return time.Duration(100+call%3) * time.Millisecond }, gap: 10 * time.Millisecond,
		broken: func(call int) bool { return call == 6 }}
	p := plan(pipeline.CaseSpec{ID: "p8-n4", PromptTokens: 8, NewTokens: 4}, pipeline.CaseSpec{ID: "p16-n4", PromptTokens: 16, NewTokens: 4})
	p.Aggregate.Percentiles = []float64{75}
	res, err := Run(context.Background(), p, g, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

// Issue 9 item 12: the journal alone rebuilds the cases and statistics the
// engine computed, marked incomplete.
func TestRebuildMatchesTheRun(t *testing.T) {
	dir, want := journaledDir(t)
	got, err := Rebuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Incomplete != IncompleteRebuilt || len(got.Errors) != 1 || got.Errors[0] != IncompleteRebuilt {
		t.Errorf("incomplete %q, errors %q: want the result marked rebuilt", got.Incomplete, got.Errors)
	}
	if got.Valid || want.Valid {
		t.Errorf("valid = %v (run: %v), want the broken run to make both invalid", got.Valid, want.Valid)
	}
	for _, part := range []struct {
		name      string
		got, want any
	}{
		{"cases", got.Cases, stripCaseTimes(want.Cases)},
		{"pipeline", jsonOf(t, got.Pipeline), jsonOf(t, want.Pipeline)}, // settings read back as JSON numbers
		{"model", got.Model, want.Model},
		{"metrics", got.Metrics, want.Metrics},
		{"problems", got.Problems, want.Problems},
		{"started_at", got.StartedAt, want.StartedAt},
	} {
		if diff := cmp.Diff(part.want, part.got); diff != "" {
			t.Errorf("rebuilt %s differ (-run +rebuilt):\n%s", part.name, diff)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The wall time and the foreign and stolen CPU of a case are not journaled
// (the machine measured them over the whole case; a rebuild has only runs).
func stripCaseTimes(cs []result.Case) []result.Case {
	out := append([]result.Case(nil), cs...)
	for i := range out {
		out[i].WallNS, out[i].ForeignCPU, out[i].StealCPU = 0, 0, 0
	}
	return out
}

// A torn last line — the process killed inside a write — is reported and
// left out; the runs before it are kept.
func TestRebuildToleratesATornLastLine(t *testing.T) {
	dir, want := journaledDir(t)
	path := filepath.Join(dir, JournalName)
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	torn := lines[len(lines)-2]
	os.WriteFile(path, append(data, torn[:len(torn)/2]...), 0o644)
	got, err := Rebuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings) == 0 || !strings.Contains(got.Warnings[0], "samples.jsonl:"+strconv.Itoa(len(lines))+": the last line is torn") {
		t.Errorf("warnings %q do not report the torn line %d", got.Warnings, len(lines))
	}
	if len(got.Cases) != 2 || len(got.Cases[1].Runs) != len(want.Cases[1].Runs) {
		t.Errorf("rebuilt %d cases, want both with every whole run", len(got.Cases))
	}
}

func TestDecodeJournalRefuses(t *testing.T) {
	header := `{"type":"start","pipeline":{"name":"x"}}` + "\n"
	run := `{"type":"run","case":"c","index":0,"values":{"ttft_ms":1},"valid":true}` + "\n"
	tests := []struct{ name, data, want string }{
		{"empty", "", "empty"},
		{"not a journal", `{"schema":"pipe.result/v1"}` + "\n", "j:1: not a pipe journal"},
		{"not JSON", "hello\n", "j:1: not a pipe journal"},
		{"damaged middle", header + "{\"type\":\"ru\n" + run, "j:2: not JSON"},
		{"unknown type", header + `{"type":"note"}` + "\n" + run, `j:2: unknown record type "note"`},
		{"run without case", header + `{"type":"run"}` + "\n" + run, "j:2: run without a case"},
	}
	for _, tt := range tests {
		_, err := DecodeJournal("j", []byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", tt.name, err, tt.want)
		}
	}
	// A header alone is a journal of a run killed before its first run.
	j, err := DecodeJournal("j", []byte(header))
	if err != nil || len(j.Runs) != 0 || j.Result().Incomplete == "" {
		t.Errorf("header only: %v", err)
	}
}

// FuzzReadJournal: decoding any bytes, and rebuilding and encoding a result
// from whatever decodes, never panics.
func FuzzReadJournal(f *testing.F) {
	// A journal as the engine writes it (the seed is built here, not by
	// Run: each fuzz worker repeats this setup).
	var data []byte
	for i, v := range []any{JournalHeader{Type: journalStart, StartedAt: "2026-01-01T00:00:00Z", Aggregate: &pipeline.AggregateSpec{Percentiles: []float64{75}}},
		smallRun(0), smallRun(1), JournalRun{Type: journalRun, Case: "b", Warmup: true}} {
		line, err := json.Marshal(v)
		if err != nil {
			f.Fatal(i, err)
		}
		data = append(append(data, line...), '\n')
	}
	f.Add(data)
	f.Add(data[:len(data)-20])
	f.Add([]byte(`{"type":"start"}` + "\n" + `{"type":"run","case":"c","trace":{"token_ns":[5,3],"output_ids":[[1],[2,3]]},"values":{"x":1e308}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := DecodeJournal("fuzz", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			return
		}
		if _, err := result.Encode(j.Result()); err != nil {
			t.Errorf("a rebuilt result does not encode: %v", err)
		}
	})
}

// smallRun is a journaled run of three tokens: small seeds keep the
// fuzzer's minimization quick.
func smallRun(i int) JournalRun {
	tr := &gen.Trace{PromptTokens: []int{8}, OutputIDs: [][]int64{{1, 2, 3}}, TokenNS: []int64{1e6, 2e6, 3e6}}
	return JournalRun{Type: journalRun, Case: "c", Index: i, Trace: tr, Values: map[string]float64{"ttft_ms": 1 + float64(i)}, Valid: true}
}
