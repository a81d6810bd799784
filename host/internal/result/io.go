package result

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/sdk/schema"
)

// FileName is the name of a result inside its output directory.
const FileName = "result.json"

// LatestPrefix introduces a reference to the newest result of a pipeline:
// "latest:phase2-latency".
const LatestPrefix = "latest:"

// DefaultOutRoot is where pipe writes output directories.
const DefaultOutRoot = "data/benchmarks"

// StampLayout formats the UTC start time in output directory names.
const StampLayout = "20060102T150405Z"

var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// DirName is the output directory name of a run of pipeline on model that
// started at t: "<pipeline>_<model>_<UTC stamp>". The model is reduced to its
// base name; characters other than letters, digits, '.' and '-' become '-',
// so '_' separates the three parts.
func DirName(pipeline, model string, t time.Time) string {
	clean := func(s string) string {
		s = strings.Trim(unsafeNameChars.ReplaceAllString(s, "-"), "-.")
		if s == "" {
			return "unnamed"
		}
		return s
	}
	return clean(pipeline) + "_" + clean(filepath.Base(model)) + "_" + t.UTC().Format(StampLayout)
}

// Write stores r as dir/result.json atomically: it writes a temporary file
// in dir, syncs it and renames it over result.json, so a reader sees the old
// result or the new one, never half of one. A missing Schema is set to this
// package's Schema.
func Write(dir string, r *Result) error {
	data, err := Encode(r)
	if err != nil {
		return fmt.Errorf("write result in %s: %w", dir, err)
	}
	return WriteFileAtomic(filepath.Join(dir, FileName), data)
}

// WriteFileAtomic writes data to path through a synced temporary file in
// the same directory and a rename, creating the directory if needed.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == tmp.Name() {
			err = pe.Err // the temporary file's name says nothing to the user
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Encode returns r as indented JSON with a final newline, the bytes of
// result.json (map keys sorted, so equal results encode equally). A missing
// Schema is set to this package's Schema. A number JSON cannot hold (NaN,
// ±Inf) never costs the file: it is written as null, or left out of a map,
// and r gains a warning naming its field (EncodeFinite).
func Encode(r *Result) ([]byte, error) {
	if r.Schema == "" {
		r.Schema = Schema
	}
	for _, f := range FindNonFinite(r) {
		if w := FileName + ": " + f.String(); !slices.Contains(r.Warnings, w) {
			r.Warnings = append(r.Warnings, w)
		}
	}
	data, _, err := EncodeFinite(r, "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// schemaMajor splits "pipe.result/v1" or "pipe.result/v1.2" into its name
// and major version.
func schemaMajor(s string) (name, major string, ok bool) {
	name, ver, ok := strings.Cut(s, "/v")
	if !ok || name == "" || ver == "" {
		return "", "", false
	}
	major, _, _ = strings.Cut(ver, ".")
	return name, major, major != ""
}

// Read loads a result.json. It refuses files that are not pipe results and
// results of another schema major version, with a line that says what to do.
func Read(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read result %s: no such file (give a result.json, its directory, or latest:NAME)", path)
		}
		return nil, fmt.Errorf("read result: %w", err)
	}
	return Decode(path, data)
}

// Decode parses a result from data; name labels error messages. A
// pipe.result/v1 result is migrated to the current schema (schema.MigrateV1).
func Decode(name string, data []byte) (*Result, error) {
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("read result %s: not JSON (%v); give a result.json written by pipe run", name, jsonErr(err))
	}
	if head.Schema == nil {
		return nil, fmt.Errorf("read result %s: no \"schema\" field, so not a pipe result; give a result.json written by pipe run", name)
	}
	wantName, wantMajor, _ := schemaMajor(Schema)
	gotName, gotMajor, ok := schemaMajor(*head.Schema)
	if !ok || gotName != wantName {
		return nil, fmt.Errorf("read result %s: schema %q is not a pipe result schema (want %s)", name, *head.Schema, Schema)
	}
	_, v1Major, _ := schemaMajor(schema.V1)
	if gotMajor != wantMajor && gotMajor != v1Major {
		return nil, fmt.Errorf("read result %s: schema %s, but this pipe reads %s and %s only; use a pipe release that reads v%s, or rerun the pipeline", name, *head.Schema, Schema, schema.V1, gotMajor)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read result %s: %v; the file does not match schema %s (edited by hand?)", name, jsonErr(err), *head.Schema)
	}
	if gotMajor == v1Major {
		schema.MigrateV1(&r) // renamed metric IDs: peak_rss_mb → peak_rss_mib
	}
	return &r, nil
}

// jsonErr shortens encoding/json's messages to one line.
func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s: want %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// Resolve turns a result reference into the path of a result.json:
//
//   - "latest:NAME": the result of pipeline NAME under outRoot
//     (<outRoot>/NAME_*/result.json) with the newest started_at — not the
//     newest file time, which a copy or a re-render changes;
//   - a directory: its result.json;
//   - a file: itself.
func Resolve(ref, outRoot string) (string, error) {
	if name, ok := strings.CutPrefix(ref, LatestPrefix); ok {
		return resolveLatest(name, outRoot)
	}
	if ref == "" {
		return "", errors.New("empty result reference: give a result.json, its directory, or latest:NAME")
	}
	fi, err := os.Stat(ref)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("result %s: no such file or directory (give a result.json, its directory, or latest:NAME)", ref)
		}
		return "", fmt.Errorf("result %s: %w", ref, err)
	}
	if !fi.IsDir() {
		return ref, nil
	}
	p := filepath.Join(ref, FileName)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("result %s: the directory holds no %s (did its run finish?)", ref, FileName)
	}
	return p, nil
}

func resolveLatest(name, outRoot string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\*?[`) {
		return "", fmt.Errorf("%s%s: want a pipeline name after %q, e.g. latest:phase2-latency", LatestPrefix, name, LatestPrefix)
	}
	if outRoot == "" {
		outRoot = DefaultOutRoot
	}
	matches, err := filepath.Glob(filepath.Join(outRoot, name+"_*", FileName))
	if err != nil {
		return "", fmt.Errorf("%s%s: %w", LatestPrefix, name, err)
	}
	type unreadable struct {
		path    string
		why     error
		stamp   time.Time // from the directory name; zero when it has none
		stamped bool
	}
	var best string
	var bestTime time.Time
	var broken []unreadable
	for _, m := range matches {
		stamp, ownDir, stamped := dirStamp(filepath.Base(filepath.Dir(m)), name)
		if !ownDir { // "a_b_…" also matches latest:a
			continue
		}
		r, err := Read(m)
		if err == nil && r.Pipeline.Name != name {
			continue
		}
		var t time.Time
		if err == nil {
			if t, err = time.Parse(time.RFC3339Nano, r.StartedAt); err != nil {
				err = fmt.Errorf("started_at %q is not an RFC 3339 time", r.StartedAt)
			}
		}
		if err != nil {
			broken = append(broken, unreadable{m, err, stamp, stamped})
			continue
		}
		if best == "" || t.After(bestTime) {
			best, bestTime = m, t
		}
	}
	// An unreadable result that may be newer than the newest readable one
	// is an error: falling back to an older result would compare against
	// the wrong run without a word.
	for _, b := range broken {
		if best == "" || !b.stamped || !b.stamp.Before(bestTime.Truncate(time.Second)) {
			return "", fmt.Errorf("%s%s: %s is unreadable (%v); repair or remove it, or name the result to use directly", LatestPrefix, name, b.path, b.why)
		}
	}
	if best == "" {
		return "", fmt.Errorf("%s%s: no result of pipeline %q under %s (run it first, or set the output root)", LatestPrefix, name, name, outRoot)
	}
	return best, nil
}

// dirStamp reads an output directory name made by DirName (with the "-N"
// suffix of newRunDir): whether it can belong to pipeline name — after
// "name_" comes exactly "model_stamp", as model names hold no '_' — and
// the start time its stamp says, when it parses.
func dirStamp(dir, name string) (stamp time.Time, ownDir, stamped bool) {
	rest, ok := strings.CutPrefix(dir, name+"_")
	if !ok || strings.Count(rest, "_") != 1 {
		return time.Time{}, false, false
	}
	s := rest[strings.IndexByte(rest, '_')+1:]
	s, _, _ = strings.Cut(s, "-")
	t, err := time.Parse(StampLayout, s)
	return t, true, err == nil
}

// Load resolves ref (see Resolve) and reads the result.
func Load(ref, outRoot string) (*Result, string, error) {
	p, err := Resolve(ref, outRoot)
	if err != nil {
		return nil, "", err
	}
	r, err := Read(p)
	if err != nil {
		return nil, "", err
	}
	return r, p, nil
}
