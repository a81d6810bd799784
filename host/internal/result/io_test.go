package result

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

func sample(name, started string) *Result {
	return &Result{
		Schema:    Schema,
		Pipeline:  PipelineInfo{Name: name},
		StartedAt: started,
		Valid:     true,
		Cases: []Case{{ID: "p128-n64-b1", Valid: true,
			Params: CaseParams{PromptTokens: 128, NewTokens: 64, Batch: 1, Streams: 1},
			Runs:   []Run{{Index: 0, Valid: true, Values: map[string]float64{"ttft_ms": 12.5}, ITLms: []float64{1, 2}, TokenMS: []float64{12.5, 13.5, 15.5}}},
			Stats:  map[string]stats.Summary{"ttft_ms": stats.Summarize([]float64{12.5})},
		}},
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "phase2_gpt2_20260101T000000Z")
	r := sample("phase2", "2026-01-01T00:00:00Z")
	r.Schema = ""
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	got, err := Read(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("round trip changed the result (-wrote +read):\n%s", diff)
	}
	if got.Schema != Schema {
		t.Errorf("schema = %q, want %q set by Write", got.Schema, Schema)
	}
	// Nothing but result.json is left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("dir holds %d entries, want only %s", len(ents), FileName)
	}
	// A second write replaces the first.
	r.Pipeline.Name = "again"
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	if got, _ := Read(filepath.Join(dir, FileName)); got.Pipeline.Name != "again" {
		t.Errorf("second write not visible: %q", got.Pipeline.Name)
	}
}

func TestWriteRefusesUnencodable(t *testing.T) {
	r := sample("x", "2026-01-01T00:00:00Z")
	r.Pipeline.Settings = map[string]any{"bad": func() {}}
	dir := t.TempDir()
	if err := Write(dir, r); err == nil {
		t.Fatal("Write accepted a value JSON cannot encode")
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		t.Error("a failed write left a result.json")
	}
}

func TestReadRefuses(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not json", "hello", "not JSON"},
		{"no schema", `{"cases": []}`, `no "schema" field`},
		{"other schema name", `{"schema": "k6.summary/v1"}`, "not a pipe result schema"},
		{"newer major", `{"schema": "pipe.result/v3"}`, "this pipe reads pipe.result/v2 and pipe.result/v1 only"},
		{"malformed version", `{"schema": "pipe.result/v"}`, "not a pipe result schema"},
		{"wrong field type", `{"schema": "pipe.result/v1", "cases": 3}`, "field cases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read error = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	// A later minor version of the same major is read.
	p := filepath.Join(t.TempDir(), FileName)
	os.WriteFile(p, []byte(`{"schema": "pipe.result/v1.3", "valid": true}`), 0o644)
	if r, err := Read(p); err != nil || !r.Valid {
		t.Errorf("v1.3: %v", err)
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	write := func(dirName string, r *Result, mtime time.Time) string {
		t.Helper()
		d := filepath.Join(root, dirName)
		if err := Write(d, r); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, FileName)
		os.Chtimes(p, mtime, mtime)
		return p
	}
	now := time.Now()
	older := write("phase2_gpt2_20260101T000000Z", sample("phase2", "2026-01-01T00:00:00Z"), now) // touched last
	newer := write("phase2_gpt2_20260102T000000Z", sample("phase2", "2026-01-02T00:00:00.5Z"), now.Add(-time.Hour))
	// Pipeline "phase2_extra" shares the glob prefix "phase2_" and is newest.
	write("phase2_extra_gpt2_20260301T000000Z", sample("phase2_extra", "2026-03-01T00:00:00Z"), now)
	// A broken result older than the newest readable one is skipped; a
	// broken newest one (phase3's) is an error naming it, never a silent
	// fall-back to an older result.
	os.MkdirAll(filepath.Join(root, "phase2_gpt2_20251201T000000Z"), 0o755)
	os.WriteFile(filepath.Join(root, "phase2_gpt2_20251201T000000Z", FileName), []byte("{"), 0o644)
	write("phase3_gpt2_20260101T000000Z", sample("phase3", "2026-01-01T00:00:00Z"), now)
	brokenNewest := filepath.Join(root, "phase3_gpt2_20260401T000000Z", FileName)
	os.MkdirAll(filepath.Dir(brokenNewest), 0o755)
	os.WriteFile(brokenNewest, []byte("{"), 0o644)
	// A result whose started_at cannot be parsed is unreadable too.
	badTime := write("phase4_gpt2_20260401T000000Z", sample("phase4", "yesterday"), now)
	write("phase4_gpt2_20260101T000000Z", sample("phase4", "2026-01-01T00:00:00Z"), now)
	emptyDir := filepath.Join(root, "crashed")
	os.MkdirAll(emptyDir, 0o755)

	tests := []struct {
		name, ref, want, wantErr string
	}{
		{name: "latest by started_at, not mtime", ref: "latest:phase2", want: newer},
		{name: "latest of the longer name", ref: "latest:phase2_extra", want: filepath.Join(root, "phase2_extra_gpt2_20260301T000000Z", FileName)},
		{name: "directory", ref: filepath.Dir(older), want: older},
		{name: "file", ref: older, want: older},
		{name: "no such pipeline", ref: "latest:phase9", wantErr: `no result of pipeline "phase9"`},
		{name: "newest unreadable", ref: "latest:phase3", wantErr: brokenNewest + " is unreadable"},
		{name: "newest without a start time", ref: "latest:phase4", wantErr: badTime + " is unreadable"},
		{name: "empty name", ref: "latest:", wantErr: "want a pipeline name"},
		{name: "glob in name", ref: "latest:ph*", wantErr: "want a pipeline name"},
		{name: "missing path", ref: filepath.Join(root, "nope"), wantErr: "no such file or directory"},
		{name: "directory without result", ref: emptyDir, wantErr: "holds no result.json"},
		{name: "empty ref", ref: "", wantErr: "empty result reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.ref, root)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve(%q) error = %v, want %q", tt.ref, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
		})
	}
}

func TestDirName(t *testing.T) {
	at := time.Date(2026, 1, 28, 17, 24, 26, 0, time.FixedZone("CET", 3600))
	tests := []struct{ pipeline, model, want string }{
		{"phase2-latency", "gpt2", "phase2-latency_gpt2_20260128T162426Z"},
		{"my pipe", "/models/Llama 3.2/", "my-pipe_Llama-3.2_20260128T162426Z"},
		{"a_b", "", "a-b_unnamed_20260128T162426Z"},
	}
	for _, tt := range tests {
		if got := DirName(tt.pipeline, tt.model, at); got != tt.want {
			t.Errorf("DirName(%q, %q) = %q, want %q", tt.pipeline, tt.model, got, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema":"pipe.result/v1","cases":[{"id":"a","runs":[{"values":{"ttft_ms":1}}]}]}`))
	f.Add([]byte(`{"schema":"pipe.result/v2"}`))
	f.Add([]byte(`{"schema":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode("fuzz", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error: %q", err)
			}
			return
		}
		if r == nil {
			t.Fatal("nil result without error")
		}
	})
}

// TestReadV1 reads a committed pipe.result/v1 file (phase 3 of the shipped
// pipelines, written before the schema moved to v2): it comes back as a v2
// result whose peak RSS metric is peak_rss_mib everywhere the ID appears.
func TestReadV1(t *testing.T) {
	r, err := Read(filepath.Join("testdata", "v1", "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != Schema {
		t.Errorf("schema = %q, want %q", r.Schema, Schema)
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "peak_rss_mb") {
		t.Error("a v1 result read back still names peak_rss_mb")
	}
	if _, ok := r.Metric("peak_rss_mib"); !ok {
		t.Error("no definition of peak_rss_mib")
	}
	var runs, verdicts int
	for _, c := range r.Cases {
		if _, ok := c.Stats["peak_rss_mib"]; !ok {
			t.Errorf("case %s: no peak_rss_mib statistics (stats: %v)", c.ID, c.Stats)
		}
		for _, run := range c.Runs {
			if _, ok := run.Values["peak_rss_mib"]; ok {
				runs++
			}
		}
	}
	for _, v := range r.Targets {
		if v.Metric == "peak_rss_mib" && strings.HasPrefix(v.Target, "peak_rss_mib.") {
			verdicts++
		}
	}
	if runs == 0 || verdicts == 0 {
		t.Errorf("peak_rss_mib in %d runs and %d verdicts, want both > 0", runs, verdicts)
	}
}
