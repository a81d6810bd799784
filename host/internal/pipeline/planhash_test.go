package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hashBase = `
name = "h"
description = "one"
[model]
source = "gpt2-tiny"
seed = 7
[matrix]
prompt_tokens = [8, 16]
new_tokens = [4, 8]
[generate]
runs = 3
[report]
formats = ["md"]
`

func mustParse(t *testing.T, file, src string, opts LoadOptions) *Plan {
	t.Helper()
	opts.Names = testNames
	p, err := Parse(file, []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlanHash: what changes the measurement changes the hash; where the
// output goes, the file's path, its comments and the description do not.
func TestPlanHash(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.toml")
	base := mustParse(t, file, hashBase, LoadOptions{Names: testNames})
	h := base.Hash()
	if !strings.HasPrefix(h, PlanHashVersion+":") || len(h) != len(PlanHashVersion)+1+64 {
		t.Fatalf("hash %q: want %s: and 64 hex digits", h, PlanHashVersion)
	}
	same := map[string]Plan{
		"another out dir":      *mustParse(t, file, hashBase, LoadOptions{Names: testNames, OutDir: filepath.Join(dir, "elsewhere")}),
		"another file path":    *mustParse(t, filepath.Join(dir, "sub", "q.toml"), hashBase, LoadOptions{Names: testNames}),
		"comments and order":   *mustParse(t, file, "# a comment\n"+strings.Replace(hashBase, "seed = 7\n", "", 1), LoadOptions{Names: testNames, Sets: []string{"model.seed=7"}}),
		"description, formats": *mustParse(t, file, strings.NewReplacer(`"one"`, `"two"`, `["md"]`, `["md", "json"]`).Replace(hashBase), LoadOptions{Names: testNames}),
	}
	for name, p := range same {
		if got := p.Hash(); got != h {
			t.Errorf("%s: hash %s, want the base's %s", name, got, h)
		}
	}
	differ := map[string]LoadOptions{
		"runs":        {Sets: []string{"generate.runs=4"}},
		"seed":        {Sets: []string{"model.seed=8"}},
		"a case":      {Sets: []string{"matrix.new_tokens=[4, 9]"}},
		"threads":     {Sets: []string{"model.intra_op_threads=2"}},
		"percentiles": {Sets: []string{"aggregate.percentiles=[50]"}},
		"warmup":      {Sets: []string{"warmup.runs=2"}},
		"the model":   {Sets: []string{"model.source=gpt2"}},
	}
	seen := map[string]string{h: "base"}
	for name, opts := range differ {
		got := mustParse(t, file, hashBase, opts).Hash()
		if other, dup := seen[got]; dup {
			t.Errorf("%s: hash %s equals %s's", name, got, other)
		}
		seen[got] = name
	}
}

// TestCaseKeys: a case's key is its own — unique within every shipped
// pipeline, unchanged when another case is added, removed or reordered.
func TestCaseKeys(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "pipelines", "phase*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped pipelines: %v", err)
	}
	files = append(files, filepath.Join("..", "..", "..", "pipelines", "testdata", "gpt2-tiny.toml"))
	for _, f := range files {
		p, err := Load(f, LoadOptions{Names: testNames})
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]string{}
		for _, c := range p.Cases {
			k := c.Key()
			if len(k) != 16 {
				t.Errorf("%s: case %s key %q: want 16 hex digits", f, c.ID, k)
			}
			if other, dup := keys[k]; dup {
				t.Errorf("%s: cases %s and %s share key %s", f, c.ID, other, k)
			}
			keys[k] = c.ID
		}
	}

	file := filepath.Join(t.TempDir(), "p.toml")
	tables := func(ids ...string) string {
		var b strings.Builder
		b.WriteString("[model]\nsource = \"gpt2-tiny\"\n")
		for _, id := range ids {
			b.WriteString("[[case]]\nid = \"" + id + "\"\nprompt_tokens = " + map[string]string{"a": "8", "b": "16", "c": "32"}[id] + "\nnew_tokens = 4\n")
		}
		return b.String()
	}
	keysOf := func(p *Plan) map[string]string {
		m := map[string]string{}
		for _, c := range p.Cases {
			m[c.ID] = c.Key()
		}
		return m
	}
	ab := mustParse(t, file, tables("a", "b"), LoadOptions{Names: testNames})
	abc := mustParse(t, file, tables("a", "b", "c"), LoadOptions{Names: testNames})
	cba := mustParse(t, file, tables("c", "b", "a"), LoadOptions{Names: testNames})
	before, after, reordered := keysOf(ab), keysOf(abc), keysOf(cba)
	for id, k := range before {
		if after[id] != k || reordered[id] != k {
			t.Errorf("case %s: key %s, after adding c %s, reordered %s: want it unchanged", id, k, after[id], reordered[id])
		}
	}
	if ab.Hash() == abc.Hash() {
		t.Error("adding a case left the plan hash unchanged")
	}
	if abc.Hash() != cba.Hash() {
		t.Error("reordering [[case]] tables changed the plan hash: it is the set of cases that is measured")
	}
}

// TestPlanHashModelDirectory: a model directory is identified by its base
// name and config.json, not by where it is mounted.
func TestPlanHashModelDirectory(t *testing.T) {
	mk := func(root, config string) string {
		m := filepath.Join(root, "model")
		if err := os.MkdirAll(m, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m, "config.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		// A decoder beside it (a config.json alone is a model to build).
		if err := os.WriteFile(filepath.Join(m, "model.onnx"), []byte("not checked here"), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(root, "p.toml")
	}
	src := "[model]\nsource = \"model\"\n[matrix]\nprompt_tokens = [16]\nnew_tokens = 8\n"
	a := mustParse(t, mk(t.TempDir(), `{"model_type": "gpt2", "n_positions": 64}`), src, LoadOptions{Names: testNames})
	b := mustParse(t, mk(t.TempDir(), `{"model_type": "gpt2", "n_positions": 64}`), src, LoadOptions{Names: testNames})
	c := mustParse(t, mk(t.TempDir(), `{"model_type": "gpt2", "n_positions": 65}`), src, LoadOptions{Names: testNames})
	if a.Hash() != b.Hash() {
		t.Error("the same model directory in two places hashes differently")
	}
	if a.Hash() == c.Hash() {
		t.Error("a different config.json left the plan hash unchanged")
	}
}
