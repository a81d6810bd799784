package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/assets"
)

// DefaultStyle is the graph style of built-in models on the CPU when none
// is asked for: StyleGQA, ONNX Runtime's GroupQueryAttention with the KV
// cache appended in place (one max-length buffer per layer bound as both
// past and present) and the LM head at the last position only. It is
// correct (every family's logits match the float64 reference within 1e-4,
// prefill and cached decode) and the fastest on CPU: GPT-2 124M decode step
// 27.9 / 30.8 / 29.2 ms at 128 / 512 / 768 tokens of context against
// fused's 32.5 / 39.4 / 41.3 (BenchmarkDecodeGQA, steps interleaved, load
// 2–3), so decode no longer falls with context, and TTFT at 128 tokens
// 208.5 → 165.9 ms (BenchmarkPrefillGQA). See RATIONALE.md.
const DefaultStyle = StyleGQA

// DefaultStyleFor is the default graph style on device: DefaultStyle on
// the CPU; StyleFused on CUDA, whose device-resident cache does not bind a
// shared past/present buffer.
func DefaultStyleFor(device string) string {
	if device == "cuda" {
		return StyleFused
	}
	return DefaultStyle
}

// DefaultSeed is the weight seed of built-in models when none is asked for.
const DefaultSeed = 0

// Presets are the built-in model shapes by name.
var Presets = map[string]func() Config{
	"gpt2":         GPT2,
	"gpt2-tiny":    GPT2Tiny,
	"smollm2-135m": llamaPresetShape("smollm2-135m"),
	"qwen2.5-0.5b": llamaPresetShape("qwen2.5-0.5b"),
	"llama-3.2-1b": llamaPresetShape("llama-3.2-1b"),
}

// IsBuiltin reports whether name is a built-in model name.
func IsBuiltin(name string) bool { _, ok := Presets[name]; return ok }

// PresetNames lists the built-in names, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Builtin returns the directory of built-in model name (see PresetNames)
// with weights from seed in graph style (DefaultStyle when ""; the
// Llama-family presets have StyleOptimum only and ignore it), building it
// into the cache first when it is not there yet:
//
//	<assets.CacheDir()>/models/<name>-<style>-s<seed>-<hash8>/{model.onnx,config.json}
//
// GPT-2 124M builds in a few seconds; later calls return at once.
func Builtin(name string, seed uint64, style string) (dir string, err error) {
	return BuiltinWith(name, BuildOptions{Seed: seed, Style: style})
}

// BuiltinWith is Builtin with every build option (precision, block size).
func BuiltinWith(name string, o BuildOptions) (dir string, err error) {
	if lc, ok := llamaPreset(name); ok {
		if o.Style != "" && !slices.Contains(Styles, o.Style) {
			return "", unknownStyle(o.Style)
		}
		return buildLlamaSeeded(name, lc, o)
	}
	preset, ok := Presets[name]
	if !ok {
		return "", fmt.Errorf("unknown built-in model %q: use one of %s, or a model directory", name, strings.Join(PresetNames(), ", "))
	}
	return BuildCachedWith(name, preset(), o)
}

// BuildCached is Builtin for any config: name only labels the cache entry.
// The directory is written atomically (built in a temporary directory, then
// renamed), so a crashed build never leaves a half model behind, and
// concurrent builders of the same key both end with the same directory.
func BuildCached(name string, cfg Config, seed uint64, style string) (string, error) {
	return BuildCachedWith(name, cfg, BuildOptions{Seed: seed, Style: style})
}

// BuildCachedWith is BuildCached with every build option.
func BuildCachedWith(name string, cfg Config, o BuildOptions) (string, error) {
	if o.Style == "" {
		o.Style = DefaultStyle
	}
	if !slices.Contains(Styles, o.Style) {
		return "", unknownStyle(o.Style)
	}
	if err := cfg.Validate(); err != nil {
		return "", fmt.Errorf("model %s: %w", name, err)
	}
	if _, err := o.quant(); err != nil {
		return "", err
	}
	return buildInCache(name, fmt.Sprintf("%s-%s%s-s%d-%s", name, o.Style, o.precisionTag(), o.Seed, cacheKey(cfg, o)), func(tmp string) error {
		return writeBuiltin(tmp, name, cfg, o)
	})
}

// buildInCache returns the cache directory entry (under
// <assets.CacheDir()>/models), calling write to fill a temporary directory
// that is then renamed into place when entry is not there yet. name labels
// the temporary directory and errors.
func buildInCache(name, entry string, write func(tmp string) error) (string, error) {
	root := filepath.Join(assets.CacheDir(), "models")
	dir := filepath.Join(root, entry)
	if complete(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	removeStaleBuilds(root)
	tmp, err := os.MkdirTemp(root, ".build-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op once renamed
	if err := write(tmp); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if complete(dir) { // another process won the race
			return dir, nil
		}
		return "", fmt.Errorf("model cache: %w", err)
	}
	return dir, nil
}

func writeBuiltin(dir, name string, cfg Config, o BuildOptions) error {
	f, err := os.Create(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return err
	}
	h := sha256.New()
	if err := BuildWith(io.MultiWriter(f, h), cfg, o); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// The digest, in sha256sum's format, so Load need not reread 500 MB.
	sum := fmt.Sprintf("%x  model.onnx\n", h.Sum(nil))
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"+digestSuffix), []byte(sum), 0o644); err != nil {
		return err
	}
	q, _ := o.quant()
	if o.Style == StyleGQA {
		if err := writeGenAIConfig(dir, cfg, "gpt2", true); err != nil {
			return err
		}
	}
	js, err := marshalHFConfig(cfg, pipeInfo{
		Name: name, Seed: o.Seed, Style: o.Style, Precision: q.precision(), BlockSize: q.BlockSize, BuilderVersion: BuilderVersion,
		Weights: "seeded random (no_weights): triangular, std 0.02; layer-norm scales 1, shifts 0" + q.describe(),
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), js, 0o644)
}

// staleBuildAge is how old a temporary build directory must be before a
// later build removes it as the leftover of a crash (a GPT-2 build takes
// seconds).
const staleBuildAge = time.Hour

func removeStaleBuilds(root string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ".build-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleBuildAge {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// complete reports whether dir holds a finished build.
func complete(dir string) bool {
	for _, f := range []string{"model.onnx", "config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// cacheKey is the first 8 hex digits of the SHA-256 of everything that
// determines the built bytes.
func cacheKey(cfg Config, o BuildOptions) string {
	q, _ := o.quant()
	b, _ := json.Marshal(struct {
		Config  Config
		Seed    uint64
		Style   string
		Quant   *Quant `json:",omitempty"` // absent for fp32: fp32 keys stay as they were
		Version int
	}{cfg, o.Seed, o.Style, quantKey(q), BuilderVersion})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:4])
}

// quantKey is q in a cache key: nil for float32 weights.
func quantKey(q Quant) *Quant {
	if q == (Quant{}) {
		return nil
	}
	return &q
}

// Resolve turns a --model argument into a model directory: a built-in name
// is built (or found in the cache) with seed and style; a directory with a
// Llama-family config.json and no ONNX decoder is built into the cache, from
// its safetensors weights when it has them (BuildFromDir), else with
// seeded random ones; anything else is taken as a path, and seed and style
// are ignored (a model on disk has its own weights, and Load reads its style
// from the graph). The Llama family has one graph style, StyleOptimum, so
// style only matters to GPT-2.
func Resolve(nameOrDir string, seed uint64, style string) (string, error) {
	return ResolveWith(nameOrDir, BuildOptions{Seed: seed, Style: style})
}

// ResolveWith is Resolve with every build option: a built model gets o's
// precision; a model on disk ignores o (it has its own).
func ResolveWith(nameOrDir string, o BuildOptions) (string, error) {
	if IsBuiltin(nameOrDir) {
		return BuiltinWith(nameOrDir, o)
	}
	if hasLlamaConfig(nameOrDir) {
		return BuildFromDir(nameOrDir, o)
	}
	return nameOrDir, nil
}

// Open resolves a --model argument or a pipeline's model.source (Resolve)
// and loads the model it names (Load): the one way pipe run, pipe generate
// and pipe bench open a model.
func Open(nameOrDir string, seed uint64, style string) (*Model, error) {
	return OpenWith(nameOrDir, BuildOptions{Seed: seed, Style: style})
}

// OpenWith is Open with every build option.
func OpenWith(nameOrDir string, o BuildOptions) (*Model, error) {
	dir, err := ResolveWith(nameOrDir, o)
	if err != nil {
		return nil, err
	}
	return Load(dir)
}
