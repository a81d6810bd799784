package htmlreport_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/finalreport"
	"github.com/pipe-bench/pipe/host/htmlreport"
	"github.com/pipe-bench/pipe/host/pipeline"
	"github.com/pipe-bench/pipe/host/result"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// inputsRoot holds four phase results written by pipe's result package;
// host/finalreport's tests keep them equal to their fixture.
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
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./host/htmlreport -update)", err)
			}
			if !bytes.Equal(got, want) {
				_ = os.WriteFile(path+".got", got, 0o644)
				t.Errorf("%s differs from the golden file; see %s.got (run with -update if intended)", path, path)
			}
			if again := render(t, r); !bytes.Equal(got, again) {
				t.Error("two renders of the same result differ")
			}
		})
	}
}
