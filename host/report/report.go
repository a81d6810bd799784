// Package report renders a result for people and for tools. It takes a
// stand on honesty: every sentence in a report is computed from the result
// — status, scaling, variance and its likely cause, targets, findings — so a
// report can never say "all passed" over an invalid run, and the metric
// definitions travel with the numbers. Output is deterministic (sorted keys,
// fixed number formats), so reports diff cleanly and golden files hold.
//
// Formats live in one registry: the built-ins md, csv and json register
// here, the HTML report and report plugins register theirs at start-up.
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

var (
	mu      sync.RWMutex
	formats = map[string]Format{}
)

// Register adds f. A second format with the same name panics: two
// renderings answering to one --format is a programming error.
func Register(f Format) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := formats[f.Name()]; dup {
		panic(fmt.Sprintf("report: format %q registered twice", f.Name()))
	}
	formats[f.Name()] = f
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

// funcFormat adapts a function to Format.
type funcFormat struct {
	name   string
	render func(*result.Result, Options) ([]File, error)
}

func (f funcFormat) Name() string { return f.name }
func (f funcFormat) Render(r *result.Result, o Options) ([]File, error) {
	return f.render(r, o)
}

var _ Format = funcFormat{}

func init() {
	Register(funcFormat{"md", renderMarkdown})
	Register(funcFormat{"csv", renderCSV})
	Register(funcFormat{"json", renderJSON})
}

func renderJSON(r *result.Result, _ Options) ([]File, error) {
	data, err := result.Encode(r)
	if err != nil {
		return nil, err
	}
	return []File{{Name: result.FileName, Data: data}}, nil
}
