package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// LoadOptions are the command line's say over a pipeline, and the names it
// may use.
type LoadOptions struct {
	// Names are the metrics and report formats the registry holds
	// (registry.Registry.Names); a pipeline naming any other is refused.
	Names Names
	// Sets are "key.path=value" overrides (--set), applied after --quick.
	Sets []string
	// Quick merges the pipeline's [quick] table over it (--quick).
	Quick bool
	// OutDir replaces report.out_dir (--out).
	OutDir string
	// CPUs is the core count oversubscription warnings compare with;
	// 0 means runtime.NumCPU().
	CPUs int
	// MemoryBytes is the memory a case's buffers must fit in; 0 means
	// this machine's MemTotal.
	MemoryBytes int64
}

// Names are what a pipeline may name, as a registry of kinds holds them:
// Metrics, the metric definitions (validation claims the declared plugins'
// namespaces on a copy of it: their metrics are declared when they load),
// and Formats, the report formats (a declared report plugin's name is a
// format too). Nil Metrics knows no metric.
type Names struct {
	Metrics *metric.Registry
	Formats []string
}

// MaxCases bounds the cases one pipeline may expand to.
const MaxCases = 10000

// Defaults for keys a pipeline leaves out.
const (
	DefaultSource      = "gpt2"
	DefaultWarmupRuns  = 1
	DefaultRuns        = 10
	DefaultMinRuns     = 5
	DefaultStopRelCI   = 0.05
	DefaultOutlierZ    = stats.DefaultOutlierZ
	DefaultOutDir      = "data/benchmarks"
	DefaultRSSInterval = 10 * time.Millisecond
)

// Default lists for keys a pipeline leaves out.
var (
	DefaultPercentiles = []float64{50, 90, 95, 99}
	DefaultFormats     = []string{"md", "json", "csv"}
)

// Choices for enumerated keys; the first is the default (graph styles come
// from package model, with its default).
var (
	devices     = []string{"cpu", "cuda"}
	optLevels   = []string{"all", "extended", "basic", "disable"}
	matrixModes = []string{"zip", "cartesian"}
)

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	pluginPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Load reads, overlays and validates the pipeline file at path. Every
// problem with it comes back at once, as Problems.
func Load(file string, opts LoadOptions) (*Plan, error) {
	data, err := readBounded(file)
	var ps Problems
	if errors.As(err, &ps) {
		return nil, ps
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("pipeline %s: %v (give the path of a .toml pipeline, e.g. pipelines/phase1-quick.toml)", file, err)
	}
	return Parse(file, data, opts)
}

// readBounded reads file unless it is larger than MaxFileBytes: a 100 MB
// file is refused by its size, unread, and a stream (/dev/zero) is read no
// further than one byte past the bound (Parse refuses it).
func readBounded(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case st.IsDir():
		return nil, errors.New("is a directory")
	case st.Size() > MaxFileBytes:
		return nil, tooLarge(file, st.Size())
	}
	return io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
}

// Parse is Load on a file's bytes; file names the source in messages and
// anchors relative paths.
func Parse(file string, data []byte, opts LoadOptions) (*Plan, error) {
	if ps := prescan(file, data); len(ps) > 0 {
		return nil, ps
	}
	var root map[string]any
	if _, err := toml.Decode(string(data), &root); err != nil {
		p := Problem{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.Line, p.Msg = pe.Position.Line, pe.Message
		}
		return nil, Problems{p}
	}
	l := &loader{file: file, dir: filepath.Dir(file), lines: indexLines(string(data)), opts: opts}
	if l.opts.CPUs <= 0 {
		l.opts.CPUs = runtime.NumCPU()
	}

	var quick map[string]any
	if q, ok := root["quick"]; ok {
		delete(root, "quick")
		if quick, ok = q.(map[string]any); !ok {
			l.problems = append(l.problems, Problem{File: file, Line: l.lines.line("quick"), Key: "quick", Msg: "want a table of overrides, e.g. [quick.generate] runs = 5"})
		}
	}
	var sets []parsedSet
	for _, arg := range opts.Sets {
		p, v, err := parseSet(arg)
		if err == nil && p[0] == "quick" {
			err = fmt.Errorf("set the value itself (it wins over --quick), not its [quick] override")
		}
		if err != nil {
			l.problems = append(l.problems, Problem{Set: arg, Msg: err.Error()})
			continue
		}
		sets = append(sets, parsedSet{arg, p, v})
	}

	plan := l.build(root, quick, opts.Quick, sets)
	if opts.Quick && quick == nil && !plan.ReportOnly() {
		l.problems = append(l.problems, Problem{File: file, Msg: "--quick: the pipeline has no [quick] table; add one (e.g. [quick.generate] runs = 5) or drop --quick"})
	}
	if !opts.Quick && quick != nil {
		l.build(root, quick, true, sets) // the overrides must be valid even when unused
	}
	if len(l.problems) > 0 {
		return nil, l.problems.sorted(opts.Sets)
	}
	plan.SHA256 = sha256Hex(data)
	plan.Quick = opts.Quick
	return plan, nil
}

type parsedSet struct {
	arg   string
	path  []string
	value any
}

// loader validates one pipeline file.
type loader struct {
	file     string
	dir      string
	lines    lineIndex
	opts     LoadOptions
	problems Problems

	t   *tree    // the tree being validated
	dec *decoder // its decoder
	// modelShape is the model's shape as far as validation knows it (a
	// built-in preset, config.json); zero fields are unknown.
	modelShape model.Config
}

// at locates path in the tree being validated.
func (l *loader) at(path string) Problem {
	if o, ok := l.t.originOf(path); ok {
		if o.set != "" {
			return Problem{Set: o.set, Key: path}
		}
		path = o.filePath
	}
	return Problem{File: l.file, Line: l.lines.line(path), Key: path}
}

func (l *loader) addf(path, format string, args ...any) {
	p := l.at(path)
	p.Msg = fmt.Sprintf(format, args...)
	l.problems = append(l.problems, p)
}

// fileProblem is a problem with the pipeline as a whole.
func (l *loader) fileProblem(format string, args ...any) {
	l.problems = append(l.problems, Problem{File: l.file, Msg: fmt.Sprintf(format, args...)})
}

// seen reports whether path holds a value that decoded; a value that did
// not has its problem already, and its checks are skipped.
func (l *loader) seen(path string) bool { return l.dec.seen[path] && !l.dec.bad[path] }

// overlaid reports whether an overlay (--quick, --set) changed anything
// under one of the top-level keys.
func (l *loader) overlaid(keys ...string) bool {
	for p := range l.t.origins {
		if contains(keys, strings.SplitN(p, ".", 2)[0]) {
			return true
		}
	}
	return false
}

// build overlays root (a copy), decodes and validates it into a Plan.
func (l *loader) build(root, quick map[string]any, withQuick bool, sets []parsedSet) *Plan {
	l.t = &tree{root: deepCopy(root).(map[string]any), origins: map[string]origin{}}
	if withQuick && quick != nil {
		overlay(l.t.root, quick, "", func(p string) { l.t.origins[p] = origin{filePath: "quick." + p} })
	}
	for _, s := range sets {
		if err := set(l.t.root, s.path, s.value); err != nil {
			l.problems = append(l.problems, Problem{Set: s.arg, Key: strings.Join(s.path, "."), Msg: err.Error()})
			continue
		}
		key := strings.Join(s.path, ".")
		l.t.origins[key] = origin{set: s.arg}
		if parent := getTable(l.t.root, s.path[:len(s.path)-1]); parent != nil {
			for _, c := range exclusive[indexless(strings.Join(s.path[:len(s.path)-1], "."))][s.path[len(s.path)-1]] {
				delete(parent, c)
			}
		}
	}
	l.dec = &decoder{loc: l.at, seen: map[string]bool{}, bad: map[string]bool{}}
	var doc fileDoc
	l.dec.decodeStruct(l.t.root, reflectValue(&doc), "")
	l.problems = append(l.problems, l.dec.problems...)
	return l.validate(&doc)
}

// getTable returns the table at path, or nil.
func getTable(root map[string]any, path []string) map[string]any {
	var cur any = root
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		default:
			arr, ok := asArray(c)
			i, err := strconv.Atoi(p)
			if !ok || err != nil || i < 0 || i >= len(arr) {
				return nil
			}
			cur = arr[i]
		}
	}
	m, _ := cur.(map[string]any)
	return m
}

// resolvePath anchors a relative path from the file at the file's
// directory, and one from --set at the working directory.
func (l *loader) resolvePath(key, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if o, ok := l.t.originOf(key); ok && o.set != "" {
		return filepath.Clean(p)
	}
	return filepath.Join(l.dir, p)
}
