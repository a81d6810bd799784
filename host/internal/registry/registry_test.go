package registry_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// measurer is a metric module; judge a target module; both is both.
type measurer struct{ name string }

func (m measurer) Name() string                              { return m.name }
func (measurer) Metrics() []metric.Def                       { return nil }
func (measurer) Measure(context.Context, *result.Case) error { return nil }

type judge struct{ name string }

func (j judge) Name() string { return j.name }
func (j judge) Evaluate(context.Context, *result.Result) ([]result.Verdict, error) {
	return []result.Verdict{{Target: j.name, Metric: "ttft_ms", Source: j.name}}, nil
}

type both struct {
	measurer
	judge
}

func (b both) Name() string { return b.measurer.name }

type nothing struct{}

func (nothing) Name() string { return "nothing" }

// TestBuiltins: New holds every built-in format — html and md included,
// with no import made for its side effect — and the built-in metrics.
func TestBuiltins(t *testing.T) {
	reg := registry.New()
	if got := reg.Formats().Names(); !slices.Equal(got, []string{"csv", "html", "json", "md"}) {
		t.Errorf("built-in formats %v", got)
	}
	if d, ok := reg.Metrics().Lookup(metric.TTFT); !ok || d.Source != "builtin" {
		t.Errorf("built-in metric ttft_ms: %+v, %v", d, ok)
	}
	ms := reg.Measurers()
	if len(ms) != 2 || ms[0].Name() != "builtin" || ms[1].Name() != "fidelity" {
		t.Fatalf("measurers %v, want the built-in metric module and the fidelity one", ms)
	}
	for _, m := range ms {
		if _, ok := m.(engine.Observer); !ok {
			t.Errorf("the %s metric module does not observe runs (engine.Observer)", m.Name())
		}
	}
	if d, ok := reg.Metrics().Lookup("fidelity.top1_agreement"); !ok || d.Source != "fidelity" {
		t.Errorf("fidelity.top1_agreement: %+v, %v", d, ok)
	}
}

// TestValidationTakesTheRegistrysNames: a pipeline may name every report
// format and metric the registry holds, and a plugin measurer's metrics
// once it registers; validation knows no other.
func TestValidationTakesTheRegistrysNames(t *testing.T) {
	reg := registry.New()
	if err := reg.Register(plugMeasurer{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "p.toml")
	src := "[model]\nsource = \"gpt2-tiny\"\n[matrix]\nprompt_tokens = [4]\nnew_tokens = [4]\n[report]\nformats = [\"" + strings.Join(reg.Formats().Names(), "\", \"") + "\"]\n" +
		"[[target]]\nexpr = \"ttft_ms.p50 < 1s\"\n[[target]]\nexpr = \"plug.x.max < 1\"\n"
	if _, err := pipeline.Parse(file, []byte(src), pipeline.LoadOptions{Names: reg.Names()}); err != nil {
		t.Errorf("a pipeline naming the registry's formats and metrics: %v", err)
	}
	bad := strings.Replace(src, "[\"", "[\"pdf\", \"", 1)
	_, err := pipeline.Parse(file, []byte(bad), pipeline.LoadOptions{Names: reg.Names()})
	if err == nil || !strings.Contains(err.Error(), `unknown format "pdf"; use `+strings.Join(reg.Formats().Names(), ", ")) {
		t.Errorf("format pdf: %v", err)
	}
	if _, err := pipeline.Parse(file, []byte(src), pipeline.LoadOptions{}); err == nil {
		t.Error("a pipeline validated with no names passed")
	}
}

// plugMeasurer is a metric module with one definition.
type plugMeasurer struct{}

func (plugMeasurer) Name() string { return "plug" }
func (plugMeasurer) Metrics() []metric.Def {
	return []metric.Def{{ID: "plug.x", Unit: "1", Better: metric.Lower}}
}
func (plugMeasurer) Measure(context.Context, *result.Case) error { return nil }

// TestRegisterRefusesDuplicates: a name is registered once per kind; a
// module of two kinds is refused whole when one of them clashes; a module
// of no kind is refused.
func TestRegisterRefusesDuplicates(t *testing.T) {
	reg := registry.New()
	for _, m := range []registry.Module{measurer{"a"}, judge{"a"}, judge{"b"}} {
		if err := reg.Register(m); err != nil {
			t.Fatalf("Register(%v): %v", m, err)
		}
	}
	for _, tc := range []struct {
		m    registry.Module
		want string
	}{
		{measurer{"a"}, `metric module "a" is registered twice`},
		{judge{"b"}, `target module "b" is registered twice`},
		{both{measurer{"b"}, judge{"b"}}, `target module "b" is registered twice`},
		{nothing{}, `module "nothing" is no metric, target or report module`},
	} {
		if err := reg.Register(tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register(%v) = %v, want %q", tc.m, err, tc.want)
		}
	}
	if n := len(reg.Measurers()); n != 3 {
		t.Errorf("%d measurers after refusals, want 3, the built-in, fidelity and a (a refused module registers nothing)", n)
	}
	if err := reg.Register(report.Builtin(nil)[0]); err == nil || !strings.Contains(err.Error(), `report format "md" is registered twice`) {
		t.Errorf("a second md: %v", err)
	}
}

// TestTargetsInOneLoop: the plan's targets and target modules answer in
// registration order through one list.
func TestTargetsInOneLoop(t *testing.T) {
	tg, err := target.Parse("ttft_ms.p95 < 100000ms")
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	if err := reg.Register(registry.Targets{{Expr: tg.Expr, Target: tg}}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(judge{"plug"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, te := range reg.Targets() {
		vs, err := te.Evaluate(context.Background(), resulttest.Phase2())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			got = append(got, te.Name()+":"+v.Target)
		}
	}
	if len(got) < 2 || !strings.HasPrefix(got[0], "builtin:ttft_ms.p95") || got[len(got)-1] != "plug:plug" {
		t.Errorf("verdicts %q, want the built-in target's first and the module's last", got)
	}
}
