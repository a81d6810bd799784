package plugin_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestMetricRoundTrip(t *testing.T) {
	h := newHost(t)
	for _, trusted := range []bool{false, true} {
		p, err := load(t, h, "plugins/jitter", pipeline.PluginSpec{Trusted: trusted})
		if err != nil {
			t.Fatal(err)
		}
		m := p.Manifest()
		if m.Name != "jitter" || !m.Has("metric") || len(m.Metrics) != 4 {
			t.Fatalf("manifest = %+v", m)
		}
		for _, d := range m.Metrics {
			if d.Source != "jitter" {
				t.Errorf("metric %s: Source = %q, want jitter", d.ID, d.Source)
			}
		}
		res := sdktest.FixtureResult()
		var batch []plugin.RunInput
		for i := range res.Cases {
			for j := range res.Cases[i].Runs {
				batch = append(batch, plugin.RunInputOf(&res.Cases[i], &res.Cases[i].Runs[j]))
			}
		}
		perRun, corpus, err := p.Metric(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(perRun) != len(batch) {
			t.Fatalf("got %d value sets for %d runs", len(perRun), len(batch))
		}
		// Gaps are 10 + 0.1 j, j = 0..30: the first 3 average 10.1 ms, the last 3 average 12.9 ms.
		if got, want := perRun[0]["jitter.decode_slowdown"], 12.9/10.1; math.Abs(got-want) > 1e-9 {
			t.Errorf("decode_slowdown = %v, want %v", got, want)
		}
		if got, want := perRun[0]["jitter.ttt10_ms"], batch[0].TokenMS[9]; got != want {
			t.Errorf("ttt10_ms = %v, want %v", got, want)
		}
		if got := corpus["jitter.itl_p99_ms"]; got != 13 {
			t.Errorf("pooled p99 = %v, want 13", got)
		}
		if p.Trusted() != trusted {
			t.Errorf("Trusted() = %v", p.Trusted())
		}
	}
}

func TestTargetRoundTrip(t *testing.T) {
	h := newHost(t)
	tests := []struct {
		name   string
		config map[string]any
		pass   []bool
		err    string
	}{
		{"both cases pass", map[string]any{"ttft_ms": 100, "tpot_ms": 12}, []bool{true, true}, ""},
		{"ttft limit splits the runs", map[string]any{"ttft_ms": 72, "tpot_ms": 12, "min_pct": 80}, []bool{true, false}, ""},
		// :-( sad paths
		{"missing limits", map[string]any{"min_pct": 50}, nil, "needs ttft_ms and tpot_ms"},
		{"typo in a key", map[string]any{"ttft_ms": 1, "tpot_ms": 1, "min_pc": 5}, nil, `unknown field "min_pc"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := load(t, h, "plugins/goodput", pipeline.PluginSpec{Config: tt.config})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Load error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vs, err := p.Target(context.Background(), sdktest.FixtureResult())
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != len(tt.pass) {
				t.Fatalf("got %d verdicts, want %d: %+v", len(vs), len(tt.pass), vs)
			}
			for i, v := range vs {
				if v.Pass != tt.pass[i] || v.Source != "goodput" || v.Metric != "goodput.pct" {
					t.Errorf("verdict %d = %+v, want pass=%v source=goodput", i, v, tt.pass[i])
				}
			}
		})
	}
}

func TestReportRoundTrip(t *testing.T) {
	h := newHost(t)
	p, err := load(t, h, "plugins/junit", pipeline.PluginSpec{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Report(context.Background(), sdktest.FixtureResult())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != "junit" || rep.FileName != "junit.xml" || rep.MediaType != "application/xml" {
		t.Errorf("report = %+v", rep)
	}
	body := string(rep.Body)
	for _, want := range []string{`<testsuites name="pipe: fixture" tests="4" failures="1">`, `<failure message="e2e_ms p50 is above 300 ms" type="target">`} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q:\n%s", want, body)
		}
	}
}

// TestExamples runs the examples/ plugins in wazero, as a pipeline would.
func TestExamples(t *testing.T) {
	h := newHost(t)
	res := sdktest.FixtureResult()
	share, err := load(t, h, "examples/prefill_share", pipeline.PluginSpec{})
	if err != nil {
		t.Fatal(err)
	}
	run := plugin.RunInputOf(&res.Cases[0], &res.Cases[0].Runs[0])
	perRun, _, err := share.Metric(context.Background(), []plugin.RunInput{run})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := perRun[0]["prefill_share.pct"], 100*run.Values["ttft_ms"]/run.Values["e2e_ms"]; math.Abs(got-want) > 1e-9 {
		t.Errorf("prefill_share.pct = %v, want %v", got, want)
	}
	prom, err := load(t, h, "examples/prometheus", pipeline.PluginSpec{Config: map[string]any{"prefix": "ci"}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := prom.Report(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FileName != "metrics.prom" || !strings.Contains(string(rep.Body), `ci_result_valid{pipeline="fixture"} 1`) {
		t.Errorf("report %s:\n%s", rep.FileName, rep.Body)
	}
}

// TestReactorWithoutInitialize: a module with no _initialize and no WASI
// imports (as a Rust cdylib may be) loads and answers; the ABI needs
// nothing Go-specific.
func TestReactorWithoutInitialize(t *testing.T) {
	wasm := reactorWithoutInit(
		`{"name":"raw","kinds":["target"]}`,
		`{"verdicts":[{"target":"always","metric":"raw.ok","op":">=","threshold":1,"observed":1,"pass":true}]}`)
	path := filepath.Join(t.TempDir(), "raw.wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := newHost(t).Load(context.Background(), pipeline.PluginSpec{Name: "raw", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := p.Target(context.Background(), sdktest.FixtureResult())
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || !vs[0].Pass || vs[0].Source != "raw" || vs[0].Target != "always" {
		t.Errorf("verdicts = %+v", vs)
	}
	if _, _, err := p.Metric(context.Background(), nil); !errors.Is(err, plugin.ErrKind) {
		t.Errorf("Metric on a target plugin: %v, want ErrKind", err)
	}
}

func TestNameMismatch(t *testing.T) {
	_, err := load(t, newHost(t), "plugins/junit", pipeline.PluginSpec{Name: "xunit"})
	if err == nil || !strings.Contains(err.Error(), `the pipeline names it "xunit" but the module calls itself "junit": use name = "junit"`) {
		t.Fatalf("error = %v", err)
	}
}
