// Package report renders a result for people and for tools. It takes a
// stand on honesty: every sentence in a report is computed from the result
// — status, scaling, variance and its likely cause, targets, findings — so a
// report can never say "all passed" over an invalid run, and the metric
// definitions travel with the numbers. Output is deterministic (sorted keys,
// fixed number formats), so reports diff cleanly and golden files hold.
//
// Analysis (Analyze) is pipe's one model of what a result says — headline
// estimates, scaling, variance and its cause, memory, throughput, findings;
// phase 5 (host/internal/finalreport) and the HTML report build on it
// rather than on models of their own, and a difference between cases is
// called significant only by host/internal/compare's test.
//
// Formats live in a Registry: this package defines md, csv and json
// (Builtin); host/internal/registry assembles the one registry pipe renders through,
// with the HTML report, phase 5's markdown and report plugins. A registry
// also owns the file names of a run directory: a format claims its files,
// and a report plugin may write none that a format or another writer holds
// (Registry.CheckFileName).
package report

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// Options are what a rendering may use beyond the result.
type Options struct {
	// Baseline, when set, is compared with the result (host/internal/compare) and
	// the comparison becomes a section of the report.
	Baseline *result.Result
	// Compare tunes that comparison.
	Compare compare.Options
	// Title overrides the report title.
	Title string
}

// File is one rendered output file.
type File struct {
	Name string // base name, e.g. "report.md"
	Data []byte
}

// Format renders a result into one or more files.
type Format interface {
	// Name is the format's ID, as given to --format: "md", "csv".
	Name() string
	// Render returns the files, the primary one first (what --out and
	// standard output receive).
	Render(r *result.Result, opt Options) ([]File, error)
}

// FileNamer is a format whose file names are fixed, whatever the result.
// Register claims them: no other format and no report plugin may write
// them into a run directory (see CheckFileName).
type FileNamer interface {
	// Files lists the names Render returns, primary first.
	Files() []string
}

// Registry holds report formats by name and the file names they claim.
// The zero value is ready to use. host/internal/registry assembles the one registry
// a run or `pipe report` renders through: this package's formats (Builtin),
// the HTML report, phase 5's markdown and the pipeline's report plugins.
type Registry struct {
	mu      sync.RWMutex
	formats map[string]Format
	owners  map[string]string // file name → the format that writes it
}

// NewRegistry returns a registry holding fs, in order; the first error
// Register returns stops it.
func NewRegistry(fs ...Format) (*Registry, error) {
	r := &Registry{}
	for _, f := range fs {
		if err := r.Register(f); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds f, and claims its files when it is a FileNamer. A second
// format with the same name, or a file another format claims, is refused
// with an error naming both: two renderings answering to one --format, or
// writing one file, would overwrite each other.
func (r *Registry) Register(f Format) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.formats == nil {
		r.formats, r.owners = map[string]Format{}, map[string]string{}
	}
	if _, dup := r.formats[f.Name()]; dup {
		return fmt.Errorf("report format %q is registered twice: rename one of them", f.Name())
	}
	if fn, ok := f.(FileNamer); ok {
		for _, name := range fn.Files() {
			if err := plainFileName(name); err != nil {
				return fmt.Errorf("report format %q: %v", f.Name(), err)
			}
			if old, dup := r.owners[name]; dup {
				return fmt.Errorf("report formats %q and %q both write %s: give one another file name", old, f.Name(), name)
			}
		}
		for _, name := range fn.Files() {
			r.owners[name] = f.Name()
		}
	}
	r.formats[f.Name()] = f
	return nil
}

// CheckFileName is the rule for a file that a writer other than a
// registered FileNamer — a report plugin — adds to a run directory: a
// plain file name that no registered format claims and that is not in
// taken (file name → its writer, e.g. the run's journal or another
// plugin's report). The error is one line naming both writers.
func (r *Registry) CheckFileName(name, writer string, taken map[string]string) error {
	if err := plainFileName(name); err != nil {
		return fmt.Errorf("%s: report %v", writer, err)
	}
	r.mu.RLock()
	format, owned := r.owners[name]
	r.mu.RUnlock()
	if owned {
		return fmt.Errorf("%s: report file name %q is the file of pipe's format %s: give the plugin's report another file_name", writer, name, format)
	}
	if other, owned := taken[name]; owned {
		return fmt.Errorf("%s: report file name %q is already written by %s: give the plugin's report another file_name", writer, name, other)
	}
	return nil
}

// plainFileName refuses a name that could leave or replace the directory.
func plainFileName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`+"\x00") {
		return fmt.Errorf("file name %q is not a plain file name: want a name such as report.xml (no separator, not . or ..)", name)
	}
	return nil
}

// Lookup returns the format named name.
func (r *Registry) Lookup(name string) (Format, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.formats[name]
	return f, ok
}

// Names lists the registered formats, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.formats))
	for n := range r.formats {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RenderFiles renders res in the named format.
func (r *Registry) RenderFiles(format string, res *result.Result, opt Options) ([]File, error) {
	f, ok := r.Lookup(format)
	if !ok {
		return nil, fmt.Errorf("report: unknown format %q; want one of %s", format, strings.Join(r.Names(), ", "))
	}
	files, err := f.Render(res, opt)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", format, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("report %s: the format rendered no file", format)
	}
	return files, nil
}

// Render returns the primary file of res rendered in format.
func (r *Registry) Render(format string, res *result.Result, opt Options) ([]byte, error) {
	files, err := r.RenderFiles(format, res, opt)
	if err != nil {
		return nil, err
	}
	return files[0].Data, nil
}

// Write renders res in format and writes its files into dir, each
// atomically (temporary file, then rename). It returns the paths written.
func (r *Registry) Write(dir, format string, res *result.Result, opt Options) ([]string, error) {
	files, err := r.RenderFiles(format, res, opt)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := result.WriteFileAtomic(p, f.Data); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Builtin returns the formats this package renders: md (a merged phase 5
// result rendered by merged when it is set, else like any other), csv and
// json.
func Builtin(merged func(*result.Result, Options) ([]byte, error)) []Format {
	return []Format{
		funcFormat{"md", []string{MarkdownFile}, markdownFormat{merged}.render},
		funcFormat{"csv", []string{RunsCSV, CasesCSV}, renderCSV},
		funcFormat{"json", []string{result.FileName}, renderJSON},
	}
}

// own is this package's formats alone (no HTML, phase 5 markdown rendered
// like any result), for the package-level helpers below.
var own = func() *Registry {
	r, err := NewRegistry(Builtin(nil)...)
	if err != nil {
		panic(err) // a programming error in Builtin
	}
	return r
}()

// Lookup returns this package's format named name.
func Lookup(name string) (Format, bool) { return own.Lookup(name) }

// Names lists this package's formats, sorted.
func Names() []string { return own.Names() }

// RenderFiles renders r in one of this package's formats.
func RenderFiles(format string, r *result.Result, opt Options) ([]File, error) {
	return own.RenderFiles(format, r, opt)
}

// Render returns the primary file of r rendered in one of this package's
// formats.
func Render(format string, r *result.Result, opt Options) ([]byte, error) {
	return own.Render(format, r, opt)
}

// Write renders r in one of this package's formats into dir.
func Write(dir, format string, r *result.Result, opt Options) ([]string, error) {
	return own.Write(dir, format, r, opt)
}

// funcFormat adapts a function to Format; files are the names it renders.
type funcFormat struct {
	name   string
	files  []string
	render func(*result.Result, Options) ([]File, error)
}

func (f funcFormat) Name() string    { return f.name }
func (f funcFormat) Files() []string { return f.files }
func (f funcFormat) Render(r *result.Result, o Options) ([]File, error) {
	return f.render(r, o)
}

var (
	_ Format    = funcFormat{}
	_ FileNamer = funcFormat{}
)

func renderJSON(r *result.Result, _ Options) ([]File, error) {
	data, err := result.Encode(r)
	if err != nil {
		return nil, err
	}
	return []File{{Name: result.FileName, Data: data}}, nil
}
