package pipeline

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/host/internal/model"
)

// TestCountLimits: a count past its limit is refused where it was written
// (before, matrix.batch = 1e9 validated and the run died in a Go trace, and
// warmup.runs = MaxInt64 overflowed the plan's total).
func TestCountLimits(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts LoadOptions
		want []string
	}{
		{"batch from --set", minimal, LoadOptions{Names: testNames, Sets: []string{"matrix.batch=1000000000"}},
			[]string{"--set matrix.batch=1000000000: matrix.batch: must be ≤ 4096 (prompt rows per request), got 1000000000"}},
		{"warmup runs of MaxInt64", minimal + "[warmup]\nruns = 9223372036854775807\n", LoadOptions{Names: testNames},
			[]string{"p.toml:8: warmup.runs: must be ≤ 10000 (runs per case), got 9223372036854775807"}},
		{"a list element", minimal + "streams = [1, 2000]\n", LoadOptions{Names: testNames},
			[]string{"p.toml:7: matrix.streams: element 1: must be ≤ 1024 (concurrent requests), got 2000"}},
		{"a case table", "[model]\nsource = \"gpt2-tiny\"\n[[case]]\nprompt_tokens = 8\nnew_tokens = 4\nbatch = 5000\n", LoadOptions{Names: testNames},
			[]string{"p.toml:6: case.0.batch: must be ≤ 4096 (prompt rows per request), got 5000"}},
		{"a quick override, unused", minimal + "[quick.generate]\nruns = 1000000\n", LoadOptions{Names: testNames},
			[]string{"p.toml:8: quick.generate.runs: must be ≤ 100000 (runs per case), got 1000000"}},
		{"adaptive bounds", minimal + "[generate]\nmin_runs = 200000\nmax_runs = 300000\n", LoadOptions{Names: testNames},
			[]string{"p.toml:8: generate.min_runs: must be ≤ 100000 (runs per case), got 200000", "p.toml:9: generate.max_runs: must be ≤ 100000 (runs per case), got 300000"}},
		{"at the limit is fine", minimal + "[warmup]\nruns = 10000\n[generate]\nruns = 100000\n", LoadOptions{Names: testNames}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := problemsOf(t, tt.src, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCountLimitsDocumented: every integer key of the schema has a limit,
// and pipelines/README.md's Limits table states exactly those limits.
func TestCountLimitsDocumented(t *testing.T) {
	keys := countKeys(reflect.TypeOf(fileDoc{}), "")
	slices.Sort(keys)
	if want := slices.Sorted(maps.Keys(countLimits)); !slices.Equal(keys, want) {
		t.Errorf("integer keys of the schema %v, limits for %v: give every count a limit", keys, want)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "pipelines", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([a-z_.]+)` \\| ([0-9,]+) \\|")
	documented := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			n, err := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
			if err != nil {
				t.Fatalf("README row %q: %v", line, err)
			}
			documented[m[1]] = n
		}
	}
	for key, l := range countLimits {
		if documented[key] != l.max {
			t.Errorf("README documents %s ≤ %d, the code %d", key, documented[key], l.max)
		}
	}
	for key := range documented {
		if _, ok := countLimits[key]; !ok {
			t.Errorf("README documents a limit for %s, which has none", key)
		}
	}
}

// TestCaseMemory: a case whose logits and KV cache exceed the machine's
// memory is refused at its line, naming each factor.
func TestCaseMemory(t *testing.T) {
	src := "[model]\nsource = \"gpt2\"\n[matrix]\nprompt_tokens = 512\nnew_tokens = 512\nbatch = [1, 4096]\n"
	got, _ := problemsOf(t, src, LoadOptions{Names: testNames, MemoryBytes: 16 << 30})
	want := []string{"p.toml:6: matrix.batch: case p512-n512-b4096 needs 1073 GiB of buffers, more than this machine's 16 GiB (MemTotal): " +
		"logits 4096 batch × 1024 positions × 50257 vocab × 4 B = 785.3 GiB, KV cache 2 × 12 layers × 4096 batch × 12 kv heads × 1024 positions × 64 head dim × 4 B = 288 GiB, for gpt2; lower batch, streams or the lengths"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	// Streams multiply the buffers; a [[case]] is blamed at its own line.
	src = "[model]\nsource = \"gpt2-tiny\"\n[[case]]\nprompt_tokens = 64\nnew_tokens = 64\nstreams = 1000\nbatch = 4096\n"
	got, _ = problemsOf(t, src, LoadOptions{Names: testNames, MemoryBytes: 1 << 30})
	if len(got) != 1 || !strings.HasPrefix(got[0], "p.toml:7: case.0.batch: case p64-n64 needs ") || !strings.Contains(got[0], "each × 1000 streams") {
		t.Errorf("problems %q, want the case's buffers × 1000 streams at its batch line", got)
	}
	// Without a figure, this machine's MemTotal is the bound.
	got, _ = problemsOf(t, "[model]\nsource = \"gpt2\"\n[matrix]\nprompt_tokens = 512\nnew_tokens = 512\nbatch = 4096\nstreams = 1024\n", LoadOptions{Names: testNames})
	if len(got) != 1 || !strings.Contains(got[0], "(MemTotal)") {
		t.Errorf("problems %q, want the case refused against MemTotal", got)
	}
	// What fits passes.
	if got, _ := problemsOf(t, src, LoadOptions{Names: testNames, MemoryBytes: 1 << 50}); got != nil {
		t.Errorf("problems %q with a petabyte", got)
	}
}

// TestModelDirectoryConfigChecked: a real model directory whose config.json
// gives negative sizes or more positions than the graph's position table is
// refused at model.source, naming both numbers; its shape sizes the
// memory check.
func TestModelDirectoryConfigChecked(t *testing.T) {
	dir := t.TempDir()
	modelDir := filepath.Join(dir, "m")
	if err := os.Mkdir(modelDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(modelDir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Build(f, model.GPT2Tiny(), 1, model.StyleOptimum); err != nil { // 128 positions
		t.Fatal(err)
	}
	f.Close()
	file := filepath.Join(dir, "p.toml")
	src := "[model]\nsource = \"m\"\ntokenizer = \"none\"\n[matrix]\nprompt_tokens = 16\nnew_tokens = 8\nbatch = 64\n"
	config := filepath.Join(modelDir, "config.json")
	for _, tc := range []struct{ json, want string }{
		{`{"n_layer": 2, "n_head": 4, "n_embd": 64, "vocab_size": 512, "n_positions": 4096}`,
			file + ":2: model.source: " + config + ": n_positions = 4096, but the graph's position table transformer.wpe.weight has 128 rows: set n_positions to 128 (or less), or use the config.json that came with the model"},
		{`{"n_layer": 2, "n_head": 4, "n_embd": 64, "vocab_size": 512, "n_positions": -1}`,
			file + ":2: model.source: " + config + ": n_positions = -1: a size must be ≥ 0 (0: unknown); fix it or remove it"},
		{`{"n_layer": 2, "n_head": 4, "n_embd": 64, "vocab_size": 512, "n_positions": 128}`,
			file + ":7: matrix.batch: case p16-n8 needs 4.5 MiB of buffers, more than this machine's 1 MiB (MemTotal): logits 64 batch × 24 positions × 512 vocab × 4 B = 3 MiB, KV cache 2 × 2 layers × 64 batch × 4 kv heads × 24 positions × 16 head dim × 4 B = 1.5 MiB, for " + modelDir + "; lower batch, streams or the lengths"},
	} {
		if err := os.WriteFile(config, []byte(tc.json), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Parse(file, []byte(src), LoadOptions{Names: testNames, MemoryBytes: 1 << 20})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\ngot  %v\nwant %s", tc.json, err, tc.want)
		}
	}
}
