package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/pipe-bench/pipe/host/assets"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// ModulePath is pipe's Go module, which plugins import the SDK from.
const ModulePath = "github.com/pipe-bench/pipe"

// Scaffold writes a buildable plugin of kind (metric, target or report)
// named name into dir: main.go, main_test.go (run with `go test`), and,
// when dir is outside pipe's checkout, a go.mod that points at the
// checkout. It refuses to overwrite files and returns the paths it wrote.
func Scaffold(dir, name, kind string) ([]string, error) {
	if !abi.ValidName(name) {
		return nil, fmt.Errorf("plugin name %q: use lowercase letters, digits and '_', starting with a letter (it namespaces the plugin's metrics)", name)
	}
	tmpl, ok := scaffolds[kind]
	if !ok {
		return nil, fmt.Errorf("plugin kind %q: want metric, target or report", kind)
	}
	files := map[string]string{"main.go": tmpl.main, "main_test.go": tmpl.test}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root := checkoutRoot()
	if owner := moduleOwner(abs); owner != ModulePath {
		if owner != "" {
			return nil, fmt.Errorf("%s is inside Go module %s: scaffold the plugin in its own directory, or in pipe's checkout", dir, owner)
		}
		files["go.mod"] = goModTemplate
		if root == "" {
			return nil, errors.New("cannot find pipe's checkout (the directory holding its go.mod) to point the new module at: run pipe from its checkout, or scaffold inside it")
		}
	}
	for f := range files {
		if _, err := os.Stat(filepath.Join(abs, f)); err == nil {
			return nil, fmt.Errorf("%s already exists: scaffold into a new directory", filepath.Join(dir, f))
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	data := map[string]string{"Name": name, "Module": ModulePath, "Root": root, "Kind": kind, "GoVersion": goDirective(root), "Requires": pipeRequires(root)}
	var wrote []string
	for _, f := range []string{"go.mod", "main.go", "main_test.go"} {
		text, ok := files[f]
		if !ok {
			continue
		}
		var b bytes.Buffer
		if err := template.Must(template.New(f).Parse(text)).Execute(&b, data); err != nil {
			return wrote, err
		}
		out := b.Bytes()
		if strings.HasSuffix(f, ".go") {
			if out, err = format.Source(out); err != nil {
				return wrote, fmt.Errorf("scaffold %s: %w", f, err) // a bug in the template
			}
		}
		p := filepath.Join(abs, f)
		if err := os.WriteFile(p, out, 0o644); err != nil {
			return wrote, err
		}
		wrote = append(wrote, filepath.Join(dir, f))
	}
	if _, ok := files["go.mod"]; ok {
		// pipe's go.sum covers every module the SDK's packages could need,
		// so the new module builds offline.
		if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
			if err := os.WriteFile(filepath.Join(abs, "go.sum"), sum, 0o644); err != nil {
				return wrote, err
			}
			wrote = append(wrote, filepath.Join(dir, "go.sum"))
		}
	}
	return wrote, nil
}

// checkoutRoot is pipe's checkout: the module root above the working
// directory or the running executable, else the parent of
// assets.CacheDir() when that is a checkout's .cache; "" if none.
func checkoutRoot() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	starts = append(starts, filepath.Dir(assets.CacheDir()))
	for _, start := range starts {
		if root, mod := moduleRoot(start); mod == ModulePath {
			abs, _ := filepath.Abs(root)
			return abs
		}
	}
	return ""
}

// goDirective returns the go version pipe's go.mod requires: a module
// that requires pipe must say at least as much.
func goDirective(root string) string {
	b, _ := os.ReadFile(filepath.Join(root, "go.mod"))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "go" {
			return f[1]
		}
	}
	return "1.24"
}

// pipeRequires copies pipe's require blocks, marked indirect: the SDK's
// packages need some of them, and a module that requires pipe must list
// them to build without `go mod tidy` (and offline, with pipe's go.sum).
func pipeRequires(root string) string {
	b, _ := os.ReadFile(filepath.Join(root, "go.mod"))
	var out []string
	inBlock := false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 2 && f[0] == "require" && f[1] == "(":
			inBlock = true
		case inBlock && len(f) > 0 && f[0] == ")":
			inBlock = false
		case inBlock && len(f) >= 2:
			out = append(out, "\t"+f[0]+" "+f[1]+" // indirect")
		case len(f) >= 3 && f[0] == "require":
			out = append(out, "\t"+f[1]+" "+f[2]+" // indirect")
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "\nrequire (\n" + strings.Join(out, "\n") + "\n)\n"
}

// moduleOwner returns the module path of the go.mod governing dir, or "".
func moduleOwner(dir string) string {
	_, mod := moduleRoot(dir)
	return mod
}

// moduleRoot returns the directory of the go.mod governing dir and its
// module path ("?" when it declares none), or "", "".
func moduleRoot(dir string) (root, module string) {
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
					return dir, strings.Trim(f[1], `"`)
				}
			}
			return dir, "?"
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ""
		}
		dir = parent
	}
}

const goModTemplate = `module {{.Name}}

go {{.GoVersion}}

require {{.Module}} v0.0.0

replace {{.Module}} => {{.Root}}
{{.Requires}}`

var scaffolds = map[string]struct{ main, test string }{
	"metric": {
		main: `// Command {{.Name}} is a pipe metric plugin.
//
// Test: go test . — Build: pipe plugin build . — Use in a pipeline:
//
//	[[plugin]]
//	name = "{{.Name}}"
package main

import "github.com/pipe-bench/pipe/sdk"

// LastITL is the metric this plugin adds to every run.
const LastITL = "{{.Name}}.last_itl_ms"

func init() { // a plugin is a reactor: init is its entry, main never runs
	sdk.Register(sdk.Plugin{
		Name:        "{{.Name}}",
		Version:     "0.1.0",
		Description: "the last inter-token gap of each run",
		Metrics: []sdk.MetricDef{
			{ID: LastITL, Unit: "ms", Better: sdk.Lower, Description: "the last gap between two generated tokens"},
		},
		Inputs: []string{sdk.InputITL}, // only what is asked for is sent
		Metric: measure,
	})
}

// measure returns one set of values per run, in order, and corpus values
// over the whole batch (none here).
func measure(runs []sdk.Run) ([]sdk.Values, sdk.Values, error) {
	out := make([]sdk.Values, len(runs))
	for i, r := range runs {
		if n := len(r.ITLms); n > 0 {
			out[i] = sdk.Values{LastITL: r.ITLms[n-1]}
		}
	}
	return out, nil, nil
}

func main() {}
`,
		test: `package main

import (
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestMeasure(t *testing.T) {
	res := sdktest.FixtureResult()
	perRun, _, err := sdktest.Metric(t, sdktest.RunsOf(res))
	if err != nil {
		t.Fatal(err)
	}
	itl := res.Cases[0].Runs[0].ITLms
	if got, want := perRun[0][LastITL], itl[len(itl)-1]; got != want {
		t.Errorf("%s = %v, want %v", LastITL, got, want)
	}
}

func TestNoTokens(t *testing.T) {
	perRun, _, err := sdktest.Metric(t, []sdktest.Run{ {Case: "empty"} })
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := perRun[0][LastITL]; ok {
		t.Errorf("a run without gaps got %s = %v, want no value", LastITL, v)
	}
}
`,
	},
	"target": {
		main: `// Command {{.Name}} is a pipe target plugin.
//
// Test: go test . — Build: pipe plugin build . — Use in a pipeline:
//
//	[[plugin]]
//	name = "{{.Name}}"
//	config = { max_ttft_ms = 500 }
package main

import (
	"errors"
	"fmt"

	"github.com/pipe-bench/pipe/sdk"
)

// settings is the plugin's table in the pipeline.
type settings struct {
	MaxTTFTms float64 ` + "`json:\"max_ttft_ms\"`" + `
}

var cfg settings

func init() { // a plugin is a reactor: init is its entry, main never runs
	sdk.Register(sdk.Plugin{
		Name:        "{{.Name}}",
		Version:     "0.1.0",
		Description: "every run of every case starts within max_ttft_ms",
		Configure: func(c sdk.Config) error {
			var s settings
			if err := c.Decode(&s); err != nil {
				return err
			}
			if s.MaxTTFTms <= 0 {
				return errors.New("set max_ttft_ms above 0, e.g. config = { max_ttft_ms = 500 }")
			}
			cfg = s
			return nil
		},
		Target: judge,
	})
}

// judge returns one verdict per case: the slowest first token must be in time.
func judge(r *sdk.Result) ([]sdk.Verdict, error) {
	var out []sdk.Verdict
	for _, c := range r.Cases {
		s, ok := c.Stats["ttft_ms"]
		if !ok {
			continue
		}
		out = append(out, sdk.Verdict{
			Target: fmt.Sprintf("ttft_ms.max <= %gms", cfg.MaxTTFTms), Case: c.ID,
			Metric: "ttft_ms", Statistic: "max", Op: "<=", Unit: "ms",
			Threshold: cfg.MaxTTFTms, Observed: s.Max, Pass: s.Max <= cfg.MaxTTFTms,
		})
	}
	return out, nil
}

func main() {}
`,
		test: `package main

import (
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name string
		max  float64
		pass []bool
	}{
		{"generous", 1000, []bool{true, true}},
		{"splits the cases", 60, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := sdktest.Configure(t, map[string]any{"max_ttft_ms": tt.max}); err != nil {
				t.Fatal(err)
			}
			vs, err := sdktest.Target(t, sdktest.FixtureResult())
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != len(tt.pass) {
				t.Fatalf("got %d verdicts, want %d", len(vs), len(tt.pass))
			}
			for i, v := range vs {
				if v.Pass != tt.pass[i] {
					t.Errorf("verdict %d: pass = %v, want %v (%+v)", i, v.Pass, tt.pass[i], v)
				}
			}
		})
	}
}

func TestConfigureRefusesNoLimit(t *testing.T) {
	if err := sdktest.Configure(t, map[string]any{}); err == nil {
		t.Fatal("want an error for a missing max_ttft_ms")
	}
}
`,
	},
	"report": {
		main: `// Command {{.Name}} is a pipe report plugin.
//
// Test: go test . — Build: pipe plugin build . — Use in a pipeline:
//
//	[[plugin]]
//	name = "{{.Name}}"
//
//	[report]
//	formats = ["md", "{{.Name}}"]
package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/pipe-bench/pipe/sdk"
)

func init() { // a plugin is a reactor: init is its entry, main never runs
	sdk.Register(sdk.Plugin{
		Name:        "{{.Name}}",
		Version:     "0.1.0",
		Description: "one line per case and metric: mean and p95",
		Report:      &sdk.ReportFormat{Format: "{{.Name}}", FileName: "{{.Name}}.txt", MediaType: "text/plain"},
		Render:      render,
	})
}

// render writes the report file.
func render(r *sdk.Result, w io.Writer) error {
	fmt.Fprintf(w, "pipeline %s\n", r.Pipeline.Name)
	for _, c := range r.Cases {
		ids := make([]string, 0, len(c.Stats))
		for id := range c.Stats {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			s := c.Stats[id]
			fmt.Fprintf(w, "%s %s mean=%.3f p95=%.3f n=%d\n", c.ID, id, s.Mean, s.P95, s.N)
		}
	}
	return nil
}

func main() {}
`,
		test: `package main

import (
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/sdk/sdktest"
)

func TestRender(t *testing.T) {
	body, err := sdktest.Report(t, sdktest.FixtureResult())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pipeline fixture\n", "p16-n32-b1 ttft_ms mean=52.000 p95=54.000 n=5\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("report lacks %q:\n%s", want, body)
		}
	}
}
`,
	},
}
