package model

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/safetensors"
)

// CheckBuild reports, in one line and without building anything, what
// ResolveWith(nameOrDir, o) would refuse: for a built-in name, its config
// against o's style and precision; for a directory with no ONNX decoder,
// its config.json read as the builder reads it (ReadLlamaConfig: the
// model_type, rope_scaling, sizes), the style and precision, and for a
// checkpoint every weight's name, shape and type (the safetensors headers
// only), or that the directory has no config.json to build from. A model
// on disk (a decoder, an .onnx file) is Load's to check: nil. The rules are
// the builder's own (quant, gpt2StyleErr, llamaStyleErr, checkpointWeights).
func CheckBuild(nameOrDir string, o BuildOptions) error {
	if lc, ok := llamaPreset(nameOrDir); ok {
		return checkLlamaBuild(lc, o)
	}
	if preset, ok := Presets[nameOrDir]; ok {
		cfg := preset()
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("model %s: %w", nameOrDir, err)
		}
		if _, err := o.quant(); err != nil {
			return err
		}
		style := o.Style
		if style == "" {
			style = DefaultStyle
		}
		return gpt2StyleErr(cfg, style, o.allLogits)
	}
	if st, err := os.Stat(nameOrDir); err != nil || !st.IsDir() || HasDecoder(nameOrDir) {
		return nil
	}
	config := filepath.Join(nameOrDir, "config.json")
	if _, err := os.Stat(config); err != nil {
		return fmt.Errorf("%s has no ONNX decoder and no config.json to build one from: add the checkpoint's Hugging Face config.json (pipe builds model_type %s, from its safetensors weights or seeded random ones), or use a directory holding model.onnx", nameOrDir, strings.Join(LlamaFamilies, ", "))
	}
	lc, err := ReadLlamaConfig(config)
	if err != nil {
		return err
	}
	if err := checkLlamaBuild(lc, o); err != nil {
		return fmt.Errorf("%s: %w", config, err)
	}
	if !safetensors.IsCheckpoint(nameOrDir) {
		return nil
	}
	ck, err := safetensors.OpenCheckpoint(nameOrDir)
	if err != nil {
		return err
	}
	defer ck.Close()
	_, err = checkpointWeights(ck, lc)
	return err
}

// checkLlamaBuild is what building c with o refuses before any weight.
func checkLlamaBuild(c LlamaConfig, o BuildOptions) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if _, err := o.quant(); err != nil {
		return err
	}
	return llamaStyleErr(c, llamaStyle(o.Style), o.allLogits)
}

// gpt2StyleErr says why style cannot lay out GPT-2 config cfg, or nil:
// buildGPT2From's rules.
func gpt2StyleErr(cfg Config, style string, allLogits bool) error {
	switch style {
	case StyleOptimum:
	case StyleFused:
		if cfg.KVHeads != cfg.Heads {
			return fmt.Errorf("style %q: MultiHeadAttention needs kv_heads = heads (got %d ≠ %d); use style %q for grouped-query configs", style, cfg.KVHeads, cfg.Heads, StyleOptimum)
		}
	case StyleGQA:
		if err := checkGQA(cfg); err != nil {
			return err
		}
		if allLogits {
			return errGQAAllLogits
		}
	default:
		return unknownStyle(style)
	}
	return nil
}

// llamaStyleErr says why style (as llamaStyle maps it) cannot lay out c,
// or nil: buildLlama's rules.
func llamaStyleErr(c LlamaConfig, style string, allLogits bool) error {
	if style != StyleGQA {
		return nil
	}
	if err := checkGQA(c.Shape()); err != nil {
		return err
	}
	if allLogits {
		return errGQAAllLogits
	}
	return nil
}
