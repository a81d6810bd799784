package htmlreport_test

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/finalreport"
	"github.com/pipe-bench/pipe/host/internal/htmlreport"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// inputsRoot holds four phase results written by pipe's result package;
// host/internal/finalreport's tests keep them equal to their fixture.
var inputsRoot = filepath.Join("..", "finalreport", "testdata", "inputs")

func phase5Plan() *pipeline.Plan {
	return &pipeline.Plan{
		Name:        "phase5-report",
		Description: "the seed's phase 5: one report over the latest results of phases 1–4",
		Inputs: map[string]string{
			"quick": "latest:phase1-quick", "latency": "latest:phase2-latency",
			"memory": "latest:phase3-memory", "throughput": "latest:phase4-throughput",
		},
		InputOrder: []string{"quick", "latency", "memory", "throughput"},
		Targets: []pipeline.TargetSpec{
			{Expr: "ttft_ms.p95 < 300ms", Case: "latency/p128-*"},
			{Expr: "e2e_ms.p99 < 8s", Case: "latency/*"},
		},
	}
}

func merged(t testing.TB, mutate func(*pipeline.Plan)) *result.Result {
	t.Helper()
	p := phase5Plan()
	if mutate != nil {
		mutate(p)
	}
	m, err := finalreport.BuildWith(context.Background(), p, inputsRoot, finalreport.Options{
		Now: func() time.Time { return time.Date(2026, 1, 28, 18, 5, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func phase(t testing.TB, name string) *result.Result {
	t.Helper()
	r, _, err := result.Load(result.LatestPrefix+name, inputsRoot)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func render(t testing.TB, r *result.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := htmlreport.Render(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// reports are the pages the tests render, by golden file name.
func reports(t testing.TB) map[string]*result.Result {
	return map[string]*result.Result{
		"phase5.golden.html": merged(t, nil),
		"phase5-missing.golden.html": merged(t, func(p *pipeline.Plan) {
			p.Inputs["memory"] = "latest:phase3-memory-gpu"
		}),
		"phase2.golden.html": phase(t, "phase2-latency"),
		"phase4.golden.html": phase(t, "phase4-throughput"),
	}
}

func TestGolden(t *testing.T) {
	for name, r := range reports(t) {
		t.Run(name, func(t *testing.T) {
			got := render(t, r)
			golden.Check(t, name, got)
			if again := render(t, r); !bytes.Equal(got, again) {
				t.Error("two renders of the same result differ")
			}
		})
	}
}

func TestFormatRegistered(t *testing.T) {
	formats := registry.New().Formats()
	f, ok := formats.Lookup("html")
	if !ok {
		t.Fatalf("format html is not registered; registered: %v", formats.Names())
	}
	files, err := f.Render(phase(t, "phase1-quick"), report.Options{Title: "quick check"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Name != htmlreport.FileName || !bytes.Contains(files[0].Data, []byte("<title>quick check</title>")) {
		t.Errorf("html format rendered %d file(s), first %q; want report.html titled by the options", len(files), files[0].Name)
	}
}

// TestSelfContained checks what the page may reference: nothing outside
// itself (the SVG namespace URIs are names, not fetches).
func TestSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:|//|file:)|url\(\s*['"]?(https?:|//)|@import|<script|<link`)
	for name, r := range reports(t) {
		page := render(t, r)
		if m := external.Find(page); m != nil {
			t.Errorf("%s references something outside the page: %q", name, m)
		}
		if !bytes.Contains(page, []byte(`http-equiv="Content-Security-Policy" content="default-src 'none'`)) {
			t.Errorf("%s lacks the Content Security Policy that forbids fetches", name)
		}
	}
}

func TestBaselineSection(t *testing.T) {
	cur := phase(t, "phase2-latency")
	old := phase(t, "phase2-latency")
	old.StartedAt = "2026-01-21T09:00:00Z"
	// The baseline's p128 case was 20 % slower to the first token.
	for i := range old.Cases[0].Runs {
		old.Cases[0].Runs[i].Values["ttft_ms"] *= 1.2
	}
	var b bytes.Buffer
	if err := htmlreport.RenderWith(&b, cur, report.Options{Baseline: old}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	sec := page[strings.Index(page, `<section id="baseline">`):]
	sec = sec[:strings.Index(sec, "</section>")]
	row := regexp.MustCompile(`<tr><td>p128-n64-b1</td><td>ttft_ms .*?</tr>`).FindString(sec)
	if row == "" || !strings.Contains(row, "-16.") || !strings.Contains(row, "improvement") {
		t.Errorf("baseline section lacks p128's TTFT improvement of about 16.7 %%; row: %q", row)
	}
}

func TestMissingInputSection(t *testing.T) {
	page := string(render(t, merged(t, func(p *pipeline.Plan) { p.Inputs["memory"] = "latest:phase3-memory-gpu" })))
	for _, want := range []string{
		`<p class="callout bad">Missing: latest:phase3-memory-gpu: no result of pipeline &#34;phase3-memory-gpu&#34;`,
		`<tr class="missing"><td>memory</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "RSS after each run") {
		t.Error("page draws the RSS chart although the memory input is missing")
	}
}

// TestEscapesResultText: text from a result (case IDs, messages, the
// pipeline name) reaches the page, charts included, only as text.
func TestEscapesResultText(t *testing.T) {
	r := phase(t, "phase2-latency")
	hostile := `<img src=x onerror="alert(1)">&`
	r.Pipeline.Name = hostile
	r.Cases[0].ID = hostile
	r.Warnings = append(r.Warnings, hostile)
	page := string(render(t, r))
	if strings.Contains(page, hostile) || strings.Contains(page, "<img") {
		t.Error("result text reached the page unescaped")
	}
	if !strings.Contains(page, "&lt;img src=x onerror=") {
		t.Error("the escaped case ID is missing from the page")
	}
}

// TestFleetResultSaysWhereEachCaseRan: a result merged from shards on two
// machines lists both machines under Environment and names each case's
// machine and shard beside its parameters.
func TestFleetResultSaysWhereEachCaseRan(t *testing.T) {
	r := phase(t, "phase2-latency")
	r.Environments = []result.Environment{
		{ID: "shard-1", Env: result.Env{Hostname: "node-a", CPUModel: "EPYC 9R14", Cores: 2}, Labels: map[string]string{"zone": "a"}},
		{ID: "shard-2", Env: result.Env{Hostname: "node-b", CPUModel: "Xeon 8488C", Cores: 4}},
	}
	for i := range r.Cases {
		r.Cases[i].Environment = r.Environments[i%2].ID
	}
	page := string(render(t, r))
	for _, want := range []string{
		"<th>Machine node-a</th><td>EPYC 9R14, 2 cores (zone=a); shards shard-1</td>",
		"<th>Machine node-b</th><td>Xeon 8488C, 4 cores; shards shard-2</td>",
		r.Cases[0].ID + "</strong> — ",
		"; ran on node-a (shard-1)",
		"; ran on node-b (shard-2)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
