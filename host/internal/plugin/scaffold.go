package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"text/template"

	"github.com/pipe-bench/pipe/sdk"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// ModulePath is pipe's Go module, which plugins import the SDK from.
const ModulePath = "github.com/pipe-bench/pipe"

// sdkGoVersion is the go directive of a scaffolded plugin module: the
// oldest Go the SDK's source compiles with (range-over-func iterators and
// the omitzero tag need 1.24), not pipe's own, so an older toolchain need
// not download a newer one. The scaffold tests build the vendored SDK under
// it.
const sdkGoVersion = "1.24"

// sdkPackages are the SDK's packages, as vendored into a plugin module:
// everything a scaffolded plugin and its test import, and what they import
// (TestVendoredSDKIsWhatPluginsImport holds the list to go list -deps).
var sdkPackages = []string{"sdk", "sdk/abi", "sdk/schema", "sdk/sdktest"}

// Scaffold writes a buildable plugin of kind (metric, target or report)
// named name into dir: main.go and main_test.go (run with `go test`). Inside
// pipe's checkout that is all; elsewhere dir becomes its own module — a
// go.mod requiring pipe at SDKVersion() and the SDK's source vendored from
// the copy embedded in this binary (sdk.Source) with a vendor/modules.txt,
// as `go mod vendor` would write it — so the plugin builds and tests with
// no checkout, no network and no module cache. It refuses to overwrite
// files and returns the paths it wrote.
func Scaffold(dir, name, kind string) ([]string, error) {
	if !abi.ValidName(name) {
		return nil, fmt.Errorf("plugin name %q: use lowercase letters, digits and '_', starting with a letter (it namespaces the plugin's metrics)", name)
	}
	tmpl, ok := scaffolds[kind]
	if !ok {
		return nil, fmt.Errorf("plugin kind %q: want metric, target or report", kind)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	data := map[string]string{"Name": name, "Kind": kind}
	for f, text := range map[string]string{"main.go": tmpl.main, "main_test.go": tmpl.test} {
		var b bytes.Buffer
		if err := template.Must(template.New(f).Parse(text)).Execute(&b, data); err != nil {
			return nil, err
		}
		if files[f], err = format.Source(b.Bytes()); err != nil {
			return nil, fmt.Errorf("scaffold %s: %w", f, err) // a bug in the template
		}
	}
	if owner := moduleOwner(abs); owner != ModulePath {
		if owner != "" {
			return nil, fmt.Errorf("%s is inside Go module %s: scaffold the plugin in its own directory, or in pipe's checkout", dir, owner)
		}
		if err := addVendoredSDK(files, name); err != nil {
			return nil, err
		}
	}
	paths := make([]string, 0, len(files))
	for f := range files {
		if _, err := os.Stat(filepath.Join(abs, f)); err == nil {
			return nil, fmt.Errorf("%s already exists: scaffold into a new directory", filepath.Join(dir, f))
		}
		paths = append(paths, f)
	}
	slices.Sort(paths)
	var wrote []string
	for _, f := range paths {
		p := filepath.Join(abs, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return wrote, err
		}
		if err := os.WriteFile(p, files[f], 0o644); err != nil {
			return wrote, err
		}
		if !strings.HasPrefix(f, "vendor/") || f == "vendor/modules.txt" {
			wrote = append(wrote, filepath.Join(dir, filepath.FromSlash(f)))
		}
	}
	return wrote, nil
}

// SDKVersion is the version of pipe's module that a scaffolded plugin
// requires: this binary's module version when it has a release version
// (`go install github.com/pipe-bench/pipe/cmd/pipe@v1.2.0` records it),
// else v0.0.0 (a build from a checkout). The vendored source is this
// binary's either way.
func SDKVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; strings.HasPrefix(v, "v") && !strings.Contains(v, "+") {
			return v
		}
	}
	return "v0.0.0"
}

// addVendoredSDK adds to files a go.mod for module name and the SDK's
// source under vendor/, with the vendor/modules.txt that makes the go
// command use it (-mod=vendor is the default when vendor/modules.txt
// exists). Test files and other packages are left out, as `go mod vendor`
// leaves them.
func addVendoredSDK(files map[string][]byte, name string) error {
	version := SDKVersion()
	files["go.mod"] = fmt.Appendf(nil, "module %s\n\ngo %s\n\nrequire %s %s\n", name, sdkGoVersion, ModulePath, version)
	modules := fmt.Sprintf("# %s %s\n## explicit; go %s\n", ModulePath, version, sdkGoVersion)
	for _, pkg := range sdkPackages {
		modules += ModulePath + "/" + pkg + "\n"
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, "sdk"), "/")
		if rel == "" {
			rel = "."
		}
		entries, err := fs.ReadDir(sdk.Source, rel)
		if err != nil {
			return fmt.Errorf("scaffold: the SDK source embedded in pipe lacks %s: %w", pkg, err) // a bug in sdk.Source's patterns
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			b, err := fs.ReadFile(sdk.Source, path.Join(rel, e.Name()))
			if err != nil {
				return err
			}
			files[path.Join("vendor", ModulePath, pkg, e.Name())] = b
		}
	}
	files["vendor/modules.txt"] = []byte(modules)
	return nil
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
