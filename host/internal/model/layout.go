package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The export layouts Load recognises.
const (
	// LayoutOptimum: model.onnx, decoder_model_merged.onnx or
	// decoder_with_past_model.onnx beside an optional config.json.
	LayoutOptimum = "optimum"
	// LayoutTransformersJS: onnx/model[_VARIANT].onnx (or
	// onnx/decoder_model_merged[_VARIANT].onnx) with config.json and
	// tokenizer.json at the top.
	LayoutTransformersJS = "transformers.js"
	// LayoutGenAI: ONNX Runtime GenAI's folder, genai_config.json naming the
	// decoder file, its input and output names and its session options.
	LayoutGenAI = "genai"
)

// transformersJSDir is the sub-directory of a Transformers.js folder that
// holds its ONNX files.
const transformersJSDir = "onnx"

// variantPrefixes are the file name stems of a Transformers.js folder's
// decoders, in the order Load prefers them.
var variantPrefixes = []string{"model", "decoder_model_merged"}

// VariantFP32 names the unsuffixed file (onnx/model.onnx).
const VariantFP32 = "fp32"

// variantAliases are Transformers.js's dtype names for file suffixes.
var variantAliases = map[string]string{"q8": "quantized", "model": VariantFP32, "": VariantFP32}

// located is where a model's files are: the ONNX file, the directory that
// holds config.json and tokenizer.json, the layout, and the layout's own
// description.
type located struct {
	path    string
	root    string
	layout  string
	variant string
	genai   *genaiConfig
}

// locate finds the decoder for src (a directory or an .onnx file) and, in
// a Transformers.js folder, the file of variant ("" when the folder holds
// one).
func locate(src, variant string) (located, error) {
	st, err := os.Stat(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return located{}, fmt.Errorf("model %s: no such file or directory: pass a model directory, an .onnx file, or a built-in name (%s)", src, strings.Join(PresetNames(), ", "))
		}
		return located{}, fmt.Errorf("model %s: %w", src, err)
	}
	if !st.IsDir() {
		return locateFile(src, variant)
	}
	gc, ok, err := readGenAIConfig(src)
	if err != nil {
		return located{}, fmt.Errorf("model %s: %w", src, err)
	}
	if ok {
		if variant != "" {
			return located{}, fmt.Errorf("model %s: variant %q: an ONNX Runtime GenAI folder has one decoder (%s names %s): drop the variant", src, variant, GenAIConfigFile, gc.Model.Decoder.Filename)
		}
		p := filepath.Join(src, gc.Model.Decoder.Filename)
		if fst, err := os.Stat(p); err != nil || fst.IsDir() {
			return located{}, fmt.Errorf("model %s: %s names the decoder %q, which is not in the directory: copy it there or fix model.decoder.filename", src, GenAIConfigFile, gc.Model.Decoder.Filename)
		}
		return located{path: p, root: src, layout: LayoutGenAI, genai: gc}, nil
	}
	for _, name := range ModelFileNames {
		p := filepath.Join(src, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			if variant != "" {
				return located{}, fmt.Errorf("model %s: variant %q: the directory holds one decoder in the optimum layout (%s), variants are for Transformers.js folders (onnx/model_VARIANT.onnx): drop the variant", src, variant, name)
			}
			return located{path: p, root: src, layout: LayoutOptimum}, nil
		}
	}
	variants := transformersJSVariants(src)
	if len(variants) == 0 {
		return located{}, errors.New(nothingFound(src))
	}
	if variant == "" {
		if len(variants) > 1 {
			return located{}, fmt.Errorf("model %s: the Transformers.js folder holds %d variants (%s): choose one with model.variant (--variant)", src, len(variants), variantList(variants))
		}
		for v := range variants {
			variant = v
		}
	}
	want := canonicalVariant(variant)
	file, ok := variants[want]
	if !ok {
		return located{}, fmt.Errorf("model %s: no variant %q in %s/ (found %s): choose one of those", src, variant, transformersJSDir, variantList(variants))
	}
	return located{path: filepath.Join(src, transformersJSDir, file), root: src, layout: LayoutTransformersJS, variant: want}, nil
}

// locateFile places an .onnx file given directly: the decoder a
// genai_config.json beside it names, a file under a Transformers.js
// folder's onnx/, or an optimum file.
func locateFile(path, variant string) (located, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	if gc, ok, err := readGenAIConfig(dir); err != nil {
		return located{}, fmt.Errorf("model %s: %w", path, err)
	} else if ok && filepath.Clean(gc.Model.Decoder.Filename) == base {
		return located{path: path, root: dir, layout: LayoutGenAI, genai: gc}, nil
	}
	if filepath.Base(dir) == transformersJSDir && hasAny(filepath.Dir(dir), "config.json", "tokenizer.json") {
		l := located{path: path, root: filepath.Dir(dir), layout: LayoutTransformersJS, variant: variantOf(base)}
		if variant != "" && canonicalVariant(variant) != l.variant {
			return located{}, fmt.Errorf("model %s: the file is variant %q but model.variant is %q: drop one", path, l.variant, variant)
		}
		return l, nil
	}
	if variant != "" {
		return located{}, fmt.Errorf("model %s: variant %q: variants are for Transformers.js folders (onnx/model_VARIANT.onnx), not a single file: drop the variant", path, variant)
	}
	return located{path: path, root: dir, layout: LayoutOptimum}, nil
}

// transformersJSVariants maps each variant under dir/onnx to its file name;
// for a variant present under several stems the first of variantPrefixes
// wins.
func transformersJSVariants(dir string) map[string]string {
	entries, err := os.ReadDir(filepath.Join(dir, transformersJSDir))
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, prefix := range variantPrefixes {
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".onnx") {
				continue
			}
			v, ok := variantOfStem(strings.TrimSuffix(name, ".onnx"), prefix)
			if !ok {
				continue
			}
			if _, seen := out[v]; !seen {
				out[v] = name
			}
		}
	}
	return out
}

// variantOf is the variant a Transformers.js file name stands for.
func variantOf(base string) string {
	stem := strings.TrimSuffix(base, ".onnx")
	for _, prefix := range variantPrefixes {
		if v, ok := variantOfStem(stem, prefix); ok {
			return v
		}
	}
	return stem
}

// variantOfStem is the variant a file stem under prefix stands for: fp32
// for prefix itself, VARIANT for prefix_VARIANT; ok is false for other stems.
func variantOfStem(stem, prefix string) (string, bool) {
	if stem == prefix {
		return VariantFP32, true
	}
	return strings.CutPrefix(stem, prefix+"_")
}

func canonicalVariant(v string) string {
	if a, ok := variantAliases[v]; ok {
		return a
	}
	return v
}

func variantList(vs map[string]string) string {
	names := make([]string, 0, len(vs))
	for v := range vs {
		names = append(names, v)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func hasAny(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// nothingFound is the one line for a directory with no decoder: what Load
// looked for and what the directory holds.
func nothingFound(dir string) string {
	var found []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		found = append(found, name)
	}
	return fmt.Sprintf("model %s: no ONNX decoder in the directory (looked for %s; %s; %s/model[_VARIANT].onnx) and it holds %s: export one with `optimum-cli export onnx --task text-generation-with-past`, or give pipe the Hugging Face config.json (and safetensors weights) of a %s model to build",
		dir, GenAIConfigFile, strings.Join(ModelFileNames, ", "), transformersJSDir, list(found), strings.Join(LlamaFamilies, "/"))
}

// VariantPath returns the file of variant in the Transformers.js folder
// dir, for callers that pass a model on as a path (model.variant, the CLI's
// --variant); "" returns dir unchanged. Built-in names pass through.
func VariantPath(src, variant string) (string, error) {
	if variant == "" || IsBuiltin(src) {
		if variant != "" {
			return "", fmt.Errorf("model %s: variant %q: a built-in model has no variants: drop the variant", src, variant)
		}
		return src, nil
	}
	l, err := locate(src, variant)
	if err != nil {
		return "", err
	}
	return l.path, nil
}

// findModelFile returns the ONNX decoder of dir (locate with no variant).
func findModelFile(dir string) (string, error) {
	l, err := locate(dir, "")
	return l.path, err
}

// HasDecoder reports whether dir holds an ONNX decoder in one of the
// layouts Load reads (so it is a model to load, not a checkpoint to build).
func HasDecoder(dir string) bool {
	if hasAny(dir, GenAIConfigFile) {
		return true
	}
	for _, n := range ModelFileNames {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && !st.IsDir() {
			return true
		}
	}
	return len(transformersJSVariants(dir)) > 0
}
