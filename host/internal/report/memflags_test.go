package report

import (
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/result"
)

// TestMemoryModelFindings: a real phase 3 result (testdata/phase3-tiny-
// result.json, from `pipe run pipelines/testdata/phases/phase3-memory.toml`:
// gpt2-tiny, whose 0.5 MiB of weights the runtime's own load dwarfs) lists
// its case's flagged memory-model comparisons among the findings — one line
// naming the case, each quantity, measured, predicted and the gap, as
// phase 3's section flags them — and so claims no "No anomaly"; with the
// measured figures moved within the limit, the line is gone.
func TestMemoryModelFindings(t *testing.T) {
	r, err := result.Read("testdata/phase3-tiny-result.json")
	if err != nil {
		t.Fatal(err)
	}
	a := Analyze(r, Options{})
	var lines []string
	for _, f := range a.Findings {
		if strings.HasPrefix(f.Text, "Memory model off") {
			lines = append(lines, f.Text)
		}
		if f.Kind == "ok" {
			t.Errorf("finding %q beside a flagged memory model", f.Text)
		}
	}
	want := "Memory model off at p16-n8: weights vs load RSS growth: 13.09 MiB measured against 0.538 MiB predicted (+2332 %), beyond 15 % — ONNX Runtime keeps pre-packed copies of MatMul weights beside the originals"
	want2 := "; KV cache + logits vs peak RSS − RSS after open: 3.02 MiB measured against 0.024 MiB predicted (+12268 %), beyond 15 % — ONNX Runtime's activation arena"
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], want2) || strings.Contains(lines[0], "\n") {
		t.Fatalf("memory-model findings %q\nwant one line starting %q and holding %q", lines, want, want2)
	}
	got, err := Render("md", r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	md := string(got)
	findings, _, _ := strings.Cut(md[strings.Index(md, "## Findings"):], "\n## ")
	if !strings.Contains(findings, "- "+lines[0]) {
		t.Errorf("the report's Findings lack the memory-model line:\n%s", findings)
	}
	if !strings.Contains(md, "- ⚠️ p16-n8, weights vs load RSS growth: 13.09 MiB measured against 0.538 MiB predicted (+2332 %)") {
		t.Error("phase 3's memory section lost its flag")
	}

	mm := r.Cases[0].MemoryModel
	mm.LoadRSSDelta = mm.Weights * 105 / 100
	mm.PeakRSS = mm.RSSAfterOpen + (mm.KVCache+mm.Logits)*90/100
	for _, f := range Analyze(r, Options{}).Findings {
		if strings.HasPrefix(f.Text, "Memory model off") {
			t.Errorf("within the limit (+5 %%, −10 %%), still found: %s", f.Text)
		}
	}
}
