// Package report renders a result for people and for tools. It takes a
// stand on honesty: every sentence in a report is computed from the result
// — status, scaling, variance and its likely cause, targets, findings — so a
// report can never say "all passed" over an invalid run, and the metric
// definitions travel with the numbers. Output is deterministic (sorted keys,
// fixed number formats), so reports diff cleanly and golden files hold.
//
// Formats live in one registry: the built-ins md, csv and json register
// here, the HTML report registers at start-up. The registry also owns the
// file names of a run directory: a format claims its files, and a report
// plugin may write none that a format or another writer holds
// (CheckFileName).
package report

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pipe-bench/pipe/host/compare"
	"github.com/pipe-bench/pipe/host/result"
)

// Options are what a rendering may use beyond the result.
type Options struct {
	// Baseline, when set, is compared with the result (host/compare) and
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

var (
	mu      sync.RWMutex
	formats = map[string]Format{}
	owners  = map[string]string{} // file name → the format that writes it
)

// Register adds f, and claims its files when it is a FileNamer. A second
// format with the same name, or a file two formats claim, panics: two
// renderings answering to one --format, or writing one file, is a
// programming error.
func Register(f Format) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := formats[f.Name()]; dup {
		panic(fmt.Sprintf("report: format %q registered twice", f.Name()))
	}
	if fn, ok := f.(FileNamer); ok {
		for _, name := range fn.Files() {
			if err := plainFileName(name); err != nil {
				panic(fmt.Sprintf("report: format %q: %v", f.Name(), err))
			}
			if old, dup := owners[name]; dup {
				panic(fmt.Sprintf("report: formats %q and %q both write %s", old, f.Name(), name))
			}
		}
		for _, name := range fn.Files() {
			owners[name] = f.Name()
		}
	}
	formats[f.Name()] = f
}

// CheckFileName is the rule for a file that a writer other than a
// registered format — a report plugin — adds to a run directory: a plain
// file name that no registered format claims and that is not in taken
// (file name → its writer, e.g. the run's journal or another plugin's
// report). The error is one line naming both writers.
func CheckFileName(name, writer string, taken map[string]string) error {
	if err := plainFileName(name); err != nil {
		return fmt.Errorf("%s: report %v", writer, err)
	}
	mu.RLock()
	format, owned := owners[name]
	mu.RUnlock()
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
func Lookup(name string) (Format, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := formats[name]
	return f, ok
}

// Names lists the registered formats, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(formats))
	for n := range formats {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RenderFiles renders r in the named format.
func RenderFiles(format string, r *result.Result, opt Options) ([]File, error) {
	f, ok := Lookup(format)
	if !ok {
		return nil, fmt.Errorf("report: unknown format %q; want one of %s", format, strings.Join(Names(), ", "))
	}
	files, err := f.Render(r, opt)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", format, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("report %s: the format rendered no file", format)
	}
	return files, nil
}

// Render returns the primary file of r rendered in format.
func Render(format string, r *result.Result, opt Options) ([]byte, error) {
	files, err := RenderFiles(format, r, opt)
	if err != nil {
		return nil, err
	}
	return files[0].Data, nil
}

// FileNames returns the names the format writes for r, primary first.
func FileNames(format string, r *result.Result, opt Options) ([]string, error) {
	files, err := RenderFiles(format, r, opt)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	return names, nil
}

// Write renders r in format and writes its files into dir, each atomically
// (temporary file, then rename). It returns the paths written.
func Write(dir, format string, r *result.Result, opt Options) ([]string, error) {
	files, err := RenderFiles(format, r, opt)
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

func init() {
	Register(funcFormat{"md", []string{MarkdownFile}, renderMarkdown})
	Register(funcFormat{"csv", []string{RunsCSV, CasesCSV}, renderCSV})
	Register(funcFormat{"json", []string{result.FileName}, renderJSON})
}

func renderJSON(r *result.Result, _ Options) ([]File, error) {
	data, err := result.Encode(r)
	if err != nil {
		return nil, err
	}
	return []File{{Name: result.FileName, Data: data}}, nil
}
