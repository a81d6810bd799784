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

	"github.com/pipe-bench/pipe/host/internal/safetensors"
)

// checkpointWeights checks that ck holds every tensor c needs, each with the
// shape c implies, and returns the fill that reads them (converted to
// float32). The first missing or misshapen tensor is the error, naming the
// tensor and both shapes.
func checkpointWeights(ck *safetensors.Checkpoint, c LlamaConfig) (weightFill, error) {
	for _, ws := range llamaWeightSpecs(c) {
		t, ok := ck.Tensor(ws.name)
		if !ok {
			return nil, fmt.Errorf("checkpoint %s: tensor %s [%s] is missing: config.json (model_type %s) needs it; the weights belong to another model or are incomplete",
				ck.Dir, ws.name, dimsString(ws.dims), c.ModelType)
		}
		if !slices.Equal(t.Shape, ws.dims) {
			return nil, fmt.Errorf("checkpoint %s: tensor %s has shape [%s], but config.json implies [%s]: the weights and config.json belong to different models",
				ck.Dir, ws.name, dimsString(t.Shape), dimsString(ws.dims))
		}
		if !slices.Contains(safetensors.FloatDTypes, t.DType) {
			return nil, fmt.Errorf("checkpoint %s: tensor %s is %s; pipe reads float checkpoints (%v)", ck.Dir, ws.name, t.DType, safetensors.FloatDTypes)
		}
	}
	return func(ws weightSpec, dst []float32) error { return ck.ReadFloat32(ws.name, dst) }, nil
}

func dimsString(d []int64) string {
	s := fmt.Sprint(d)
	return s[1 : len(s)-1]
}

// BuildFromDir builds the Llama-family model of dir/config.json into the
// cache and returns its directory: from dir's safetensors weights when it
// has them (model.safetensors or an index and its shards; F32, F16 or BF16,
// converted to float32), keyed by the SHA-256 of config.json and every
// weight file, else with seeded random weights, keyed by config and seed.
// Tokenizer files beside config.json are copied along, so the built model
// tokenizes text as the checkpoint does.
func BuildFromDir(dir string, o BuildOptions) (string, error) {
	lc, err := ReadLlamaConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	name := filepath.Base(abs) // "." names the directory it is
	q, err := o.quant()
	if err != nil {
		return "", err
	}
	if !safetensors.IsCheckpoint(dir) {
		return buildLlamaCachedFrom(name, lc, o, dir)
	}
	ck, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		return "", err
	}
	defer ck.Close()
	fill, err := checkpointWeights(ck, lc)
	if err != nil {
		return "", err
	}
	sum, err := checkpointDigest(dir, ck.Files)
	if err != nil {
		return "", err
	}
	style := llamaStyle(o.Style)
	info := pipeInfo{Name: name, Style: style, BuilderVersion: BuilderVersion, Precision: q.precision(), BlockSize: q.BlockSize,
		Weights: fmt.Sprintf("checkpoint %s (sha256 %s of config.json and %v), converted to float32%s", dir, sum, ck.Files, q.describe())}
	entry := fmt.Sprintf("%s-%s%s-ckpt-%s", name, style, o.precisionTag(), shortKey(sum+o.precisionTag()+styleTag(style)))
	return buildInCache(name, entry, func(tmp string) error {
		return writeLlama(tmp, lc, fill, q, info, dir)
	})
}

// buildLlamaSeeded builds c (a preset) with seeded random weights.
func buildLlamaSeeded(name string, c LlamaConfig, o BuildOptions) (string, error) {
	return buildLlamaCachedFrom(name, c, o, "")
}

// buildLlamaCachedFrom builds c with seeded random weights, copying the
// tokenizer files of from when it is not "".
func buildLlamaCachedFrom(name string, c LlamaConfig, o BuildOptions, from string) (string, error) {
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("model %s: %w", name, err)
	}
	q, err := o.quant()
	if err != nil {
		return "", err
	}
	seed := o.Seed
	canon, err := json.Marshal(c.raw)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	style := llamaStyle(o.Style)
	info := pipeInfo{Name: name, Seed: seed, Style: style, BuilderVersion: BuilderVersion, Precision: q.precision(), BlockSize: q.BlockSize,
		Weights: "seeded random (no_weights): triangular, std 0.02; RMSNorm scales 1" + q.describe()}
	entry := fmt.Sprintf("%s-%s%s-s%d-%s", name, style, o.precisionTag(), seed, shortKey(fmt.Sprintf("%x/%d%s%s", sum, seed, o.precisionTag(), styleTag(style))))
	return buildInCache(name, entry, func(tmp string) error {
		return writeLlama(tmp, c, seededWeights(seed), q, info, from)
	})
}

// shortKey is the cache key of a Llama-family build of source s: 8 hex
// digits of the SHA-256 of s and both builder versions.
func shortKey(s string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/v%d.%d", s, BuilderVersion, llamaGraphVersion)))
	return hex.EncodeToString(sum[:4])
}

// checkpointDigest is the SHA-256 of config.json and the weight files (their
// names and bytes, in order): what makes one checkpoint's build differ from
// another's. It streams the files, about a second per GB.
func checkpointDigest(dir string, files []string) (string, error) {
	h := sha256.New()
	names := append([]string{"config.json"}, files...)
	if _, err := os.Stat(filepath.Join(dir, safetensors.IndexFile)); err == nil {
		names = append(names, safetensors.IndexFile)
	}
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", n)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("checkpoint %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tokenizerFiles are copied from a checkpoint or config directory into the
// built model's.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "generation_config.json"}

// writeLlama writes model.onnx (+ model.onnx.data for large models), its
// digest, and config.json (the source's keys plus a "pipe" section) into dir.
func writeLlama(dir string, c LlamaConfig, fill weightFill, q Quant, info pipeInfo, from string) error {
	f, err := os.Create(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return err
	}
	defer f.Close()
	var data *os.File
	if llamaNeedsExternal(c, q) {
		if data, err = os.Create(filepath.Join(dir, externalDataName)); err != nil {
			return err
		}
		defer data.Close()
	}
	h := sha256.New()
	var dw io.Writer
	if data != nil {
		dw = data
	}
	if err := buildLlama(io.MultiWriter(f, h), dw, c, fill, q, info.Style, info.allLogits); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if data != nil {
		if err := data.Close(); err != nil {
			return err
		}
	}
	sum := fmt.Sprintf("%x  model.onnx\n", h.Sum(nil))
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"+digestSuffix), []byte(sum), 0o644); err != nil {
		return err
	}
	raw := map[string]json.RawMessage{}
	for k, v := range c.raw {
		raw[k] = v
	}
	pi, err := json.Marshal(info)
	if err != nil {
		return err
	}
	raw["pipe"] = pi
	js, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if info.Style == StyleGQA {
		if err := writeGenAIConfig(dir, c.Shape(), c.ModelType, false); err != nil {
			return err
		}
	}
	if from == "" {
		return nil
	}
	for _, n := range tokenizerFiles {
		b, err := os.ReadFile(filepath.Join(from, n))
		if err != nil {
			continue // optional
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// llamaNeedsExternal reports whether c's weights stored as q pass
// maxInlineBytes.
func llamaNeedsExternal(c LlamaConfig, q Quant) bool {
	return outsBytes(llamaOuts(c, nil, q)) > maxInlineBytes
}

// llamaWeights returns every weight of c from fill, by name: for tiny
// configs (the reference forward pass); the builder streams instead.
func llamaWeights(c LlamaConfig, fill weightFill) (map[string][]float32, error) {
	m := map[string][]float32{}
	for _, ws := range llamaWeightSpecs(c) {
		v := make([]float32, ws.elems())
		if err := fill(ws, v); err != nil {
			return nil, err
		}
		m[ws.name] = v
	}
	return m, nil
}

// llamaStyle is the graph style a Llama-family build gets for the asked
// style: StyleGQA when asked, else StyleOptimum (the family has no
// MultiHeadAttention graph; "fused" means the default).
func llamaStyle(style string) string {
	if style == StyleGQA {
		return StyleGQA
	}
	return StyleOptimum
}

// styleTag is style in a Llama-family cache key: "" for StyleOptimum, so
// those keys stay what they were.
func styleTag(style string) string {
	if style == StyleOptimum {
		return ""
	}
	return "/" + style
}
