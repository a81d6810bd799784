package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PIPE_CACHE", cache)
	dir, err := Builtin("gpt2-tiny", 3, StyleOptimum)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(dir), "gpt2-tiny-optimum-s3-") || filepath.Dir(dir) != filepath.Join(cache, "models") {
		t.Errorf("dir = %s, want %s/models/gpt2-tiny-optimum-s3-<hash8>", dir, cache)
	}
	st, err := os.Stat(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Builtin("gpt2-tiny", 3, StyleOptimum)
	if err != nil || again != dir {
		t.Fatalf("second Builtin = %s, %v; want the cached %s", again, err, dir)
	}
	if st2, _ := os.Stat(filepath.Join(dir, "model.onnx")); !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("cached model was rebuilt")
	}
	for _, other := range []struct {
		seed  uint64
		style string
	}{{4, StyleOptimum}, {3, StyleFused}} {
		d, err := Builtin("gpt2-tiny", other.seed, other.style)
		if err != nil {
			t.Fatal(err)
		}
		if d == dir {
			t.Errorf("seed %d, style %s share the cache entry of seed 3, optimum", other.seed, other.style)
		}
	}
	if d, err := Builtin("gpt2-tiny", 3, ""); err != nil || !strings.Contains(d, "-"+DefaultStyle+"-") {
		t.Errorf(`style "" gave %s, %v; want the %s entry`, d, err, DefaultStyle)
	}
	entries, _ := os.ReadDir(filepath.Join(cache, "models"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".build-") {
			t.Errorf("temporary build directory left behind: %s", e.Name())
		}
	}

	// Load sees what pipe built, and config.json is a Hugging Face GPT2Config.
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "gpt2-tiny" || m.Seed != 3 || m.Style != StyleOptimum {
		t.Errorf("Name, Seed, Style = %q, %d, %q; want gpt2-tiny, 3, optimum", m.Name, m.Seed, m.Style)
	}
	if diff := cmp.Diff(GPT2Tiny(), m.Config); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
	var hf map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &hf); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"model_type": "gpt2", "n_layer": 2.0, "n_head": 4.0, "n_embd": 64.0,
		"vocab_size": 512.0, "n_positions": 128.0, "eos_token_id": 511.0, "activation_function": "gelu_new", "tie_word_embeddings": true} {
		if hf[k] != want {
			t.Errorf("config.json %s = %v, want %v", k, hf[k], want)
		}
	}
}

func TestBuiltinErrors(t *testing.T) {
	t.Setenv("PIPE_CACHE", t.TempDir())
	cases := []struct {
		name, model, style string
		want               []string
	}{
		{"unknown model", "gpt3", "", []string{`unknown built-in model "gpt3"`, "gpt2, gpt2-tiny"}},
		{"unknown style", "gpt2-tiny", "turbo", []string{`unknown graph style "turbo"`, `"optimum", "fused" or "gqa"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Builtin(tc.model, 0, tc.style)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	bad := GPT2Tiny()
	bad.KVHeads = 3
	if _, err := BuildCached("bad", bad, 0, StyleOptimum); err == nil || !strings.Contains(err.Error(), "not a multiple of kv_heads") {
		t.Errorf("heads 4, kv_heads 3: err = %v", err)
	}
	if _, err := BuildCached("gqa", gqaTiny(), 0, StyleFused); err == nil || !strings.Contains(err.Error(), "kv_heads = heads") {
		t.Errorf("fused grouped-query: err = %v", err)
	}
}

// TestBuildDeterministic: the same seed gives the same bytes, another seed
// other weights but the same graph size.
func TestBuildDeterministic(t *testing.T) {
	for _, style := range Styles {
		a, b := buildBytes(t, GPT2Tiny(), style), buildBytes(t, GPT2Tiny(), style)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds with seed 1 differ", style)
		}
		var c bytes.Buffer
		if err := Build(&c, GPT2Tiny(), 2, style); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(a, c.Bytes()) || len(a) != c.Len() {
			t.Errorf("%s: seed 2 gives equal bytes or another size (%d vs %d)", style, c.Len(), len(a))
		}
	}
}

// TestWeightStatistics checks the generator's distribution: mean ≈ 0,
// std ≈ WeightStd, and values independent of how a tensor is chunked.
func TestWeightStatistics(t *testing.T) {
	w := weightSpec{name: "x", dims: []int64{3*chunkElems + 5}, init: initRandom}
	v := make([]float32, w.elems())
	w.fill(11, v)
	var sum, sq float64
	for _, x := range v {
		sum += float64(x)
		sq += float64(x) * float64(x)
	}
	n := float64(len(v))
	mean, std := sum/n, (sq/n - (sum/n)*(sum/n))
	std = math.Sqrt(std)
	if mean > 1e-3 || mean < -1e-3 || std < 0.0195 || std > 0.0205 {
		t.Errorf("mean %.3g, std %.4g; want ≈ 0, ≈ %g", mean, std, WeightStd)
	}
	// The last chunk alone, filled on its own, matches.
	tail := make([]float32, w.elems())
	fillChunk(seedKey(w.name, 11), 3, tail)
	if maxAbsDiff(tail[3*chunkElems:], v[3*chunkElems:]) != 0 {
		t.Errorf("chunk 3 differs when filled alone")
	}
}

// TestDigestFile: Builtin's digest file matches the model and sha256sum's
// format; a stale or malformed one is ignored.
func TestDigestFile(t *testing.T) {
	t.Setenv("PIPE_CACHE", t.TempDir())
	dir, err := Builtin("gpt2-tiny", 1, StyleFused)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.onnx")
	b, _ := os.ReadFile(model)
	want := fmt.Sprintf("%x", sha256.Sum256(b))
	digest, _ := os.ReadFile(model + digestSuffix)
	if got := string(digest); got != want+"  model.onnx\n" {
		t.Fatalf("digest file %q, want %q", got, want+"  model.onnx\n")
	}
	cases := []struct {
		name   string
		digest string
		age    time.Duration // digest file's mtime relative to the model's
	}{
		{"current", strings.Repeat("ab", 32) + "  model.onnx\n", time.Second},
		{"stale", strings.Repeat("ab", 32) + "  model.onnx\n", -time.Hour},
		{"malformed", "nonsense\n", time.Second},
		{"other file", strings.Repeat("ab", 32) + "  other.onnx\n", time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(model+digestSuffix, []byte(tc.digest), 0o644)
			st, _ := os.Stat(model)
			os.Chtimes(model+digestSuffix, st.ModTime().Add(tc.age), st.ModTime().Add(tc.age))
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			expect := want
			if tc.name == "current" {
				expect = strings.Repeat("ab", 32) // trusted as written
			}
			if m.SHA256 != expect {
				t.Errorf("SHA256 = %s, want %s", m.SHA256, expect)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Setenv("PIPE_CACHE", t.TempDir())
	cases := []struct {
		name, arg, style string
		builtin          bool
	}{
		{"built-in, default style", "gpt2-tiny", "", true},
		{"built-in, optimum", "gpt2-tiny", StyleOptimum, true},
		{"directory, style ignored", "some/dir", StyleFused, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := Resolve(tc.arg, 2, tc.style)
			if err != nil {
				t.Fatal(err)
			}
			if tc.builtin != complete(dir) || (!tc.builtin && dir != tc.arg) {
				t.Errorf("Resolve(%q) = %s; built-in %v", tc.arg, dir, tc.builtin)
			}
		})
	}
}

// TestOpen: Open is Resolve then Load — a built-in name is built and
// loaded, and a path that holds no model is refused with Load's error.
func TestOpen(t *testing.T) {
	t.Setenv("PIPE_CACHE", t.TempDir())
	m, err := Open("gpt2-tiny", 2, StyleOptimum)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := Resolve("gpt2-tiny", 2, StyleOptimum)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Path != want.Path || m.SHA256 != want.SHA256 || m.Style != want.Style {
		t.Errorf("Open = %s (%s, %s), want Load(Resolve) = %s (%s, %s)", m.Path, m.SHA256, m.Style, want.Path, want.SHA256, want.Style)
	}
	if _, err := Open(t.TempDir(), 0, ""); err == nil || !strings.Contains(err.Error(), "model.onnx") {
		t.Errorf("Open(an empty directory) = %v, want Load's refusal naming model.onnx", err)
	}
}

// TestStaleBuildsRemoved: a crashed build's temporary directory is removed
// by a later build once it is old; a recent one (maybe a build in progress
// elsewhere) is left alone.
func TestStaleBuildsRemoved(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PIPE_CACHE", cache)
	root := filepath.Join(cache, "models")
	old, recent := filepath.Join(root, ".build-gpt2-crashed"), filepath.Join(root, ".build-gpt2-running")
	for _, d := range []string{old, recent} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "model.onnx"), []byte("half a model"), 0o644)
	}
	past := time.Now().Add(-2 * staleBuildAge)
	os.Chtimes(old, past, past)
	if _, err := Builtin("gpt2-tiny", 0, StyleOptimum); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale %s still there (err %v)", old, err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent %s removed: %v", recent, err)
	}
}
