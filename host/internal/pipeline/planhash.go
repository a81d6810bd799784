package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// PlanHashVersion prefixes every plan hash: a change to what the hash
// covers bumps it, so two hashes computed by different rules never match by
// accident.
const PlanHashVersion = "plan1"

// Hash identifies the experiment the plan describes: two runs with the same
// hash measured the same pipeline, so their shards can be merged and a run
// cut off can be resumed by the other. It covers the pipeline's name, the
// model's identity (a built-in's name and seed; a model directory's base
// name and the sha256 of its config.json — not where it is mounted, which
// differs from machine to machine), how the model runs (graph style,
// device, threads, spinning, optimization level, runtime options), the
// tokenizer, every case (CaseSpec.Key, and the sha256 of each prompt file's
// text), warmup, generate, measure and aggregate settings, the targets and
// the plugins' names and configurations.
//
// It leaves out what does not change what is measured: the description,
// the file's path and bytes (comments, key order), line numbers, the report
// section (output directory, formats, title, baseline), the runtime
// library's path (its version is in the result's environment), the device
// index, and every command-line choice that is not --set or --quick
// (--shard, --resume, --label, --no-progress). The weights' content is the
// result's model.model_hash, known once the model is opened; the hash
// here is known before, so --dry-run can print it.
//
// The result is PlanHashVersion + ":" + 64 hex digits of sha256 over a
// canonical JSON document (struct fields in a fixed order, map keys
// sorted by encoding/json).
func (p *Plan) Hash() string {
	doc := planHashDoc{
		Name:  p.Name,
		Model: modelIdentity(p.Model),
		Runtime: runtimeIdentity{
			GraphStyle: p.Model.GraphStyle, Device: p.Model.Device,
			IntraOp: p.Model.IntraOpThreads, InterOp: p.Model.InterOpThreads,
			Spinning: p.Model.Spinning, OptLevel: p.Model.OptLevel, Options: p.Model.Options,
		},
		Tokenizer: pathIdentity(p.Model.Tokenizer),
		Warmup:    p.Warmup,
		Generate:  p.Generate,
		Measure:   p.Measure,
		Aggregate: p.Aggregate,
		Prompts:   map[string]string{},
	}
	if p.Fidelity.Reference != "" {
		doc.Fidelity = &p.Fidelity
	}
	for _, c := range p.Cases {
		doc.Cases = append(doc.Cases, c.Key())
		if c.PromptFile != "" {
			doc.Prompts[filepath.Base(c.PromptFile)] = fileSHA256(c.PromptFile)
		}
	}
	// The set of cases, not their order: a [[case]] table reordered
	// measures the same cases (and each case's key is its own).
	slices.Sort(doc.Cases)
	for _, t := range p.Targets {
		doc.Targets = append(doc.Targets, t.Expr+" @ "+t.Case)
	}
	for _, pl := range p.Plugins {
		doc.Plugins = append(doc.Plugins, pluginIdentity{Name: pl.Name, Config: pl.Config})
	}
	return PlanHashVersion + ":" + sha256JSON(doc)
}

// Key identifies the case by its own parameters alone — its ID, prompt and
// output lengths, batch, streams, threads, sampling and prompt source — so
// adding, removing or reordering other cases never changes it. It is 16 hex
// digits of sha256 (64 bits: a collision within one plan's cases is
// unthinkable). The prompt file is named by its base name; its text is in
// the plan hash.
func (c CaseSpec) Key() string {
	prompt := ""
	if c.PromptFile != "" {
		prompt = "file:" + filepath.Base(c.PromptFile)
	}
	return sha256JSON(caseKeyDoc{
		ID: c.ID, PromptTokens: c.PromptTokens, NewTokens: c.NewTokens,
		Batch: max(c.Batch, 1), Streams: max(c.Streams, 1), Threads: c.Threads,
		Sampling: c.Sampling, PromptFile: prompt, PromptSeed: c.PromptSeed,
	})[:16]
}

type planHashDoc struct {
	Name      string            `json:"name"`
	Model     string            `json:"model"`
	Runtime   runtimeIdentity   `json:"runtime"`
	Tokenizer string            `json:"tokenizer"`
	Cases     []string          `json:"cases"`
	Prompts   map[string]string `json:"prompts"`
	Warmup    WarmupSpec        `json:"warmup"`
	Generate  GenerateSpec      `json:"generate"`
	Measure   MeasureSpec       `json:"measure"`
	Aggregate AggregateSpec     `json:"aggregate"`
	Targets   []string          `json:"targets"`
	Plugins   []pluginIdentity  `json:"plugins"`
	Fidelity  *FidelitySpec     `json:"fidelity,omitempty"`
}

type runtimeIdentity struct {
	GraphStyle string            `json:"graph_style"`
	Device     string            `json:"device"`
	IntraOp    int               `json:"intra_op"`
	InterOp    int               `json:"inter_op"`
	Spinning   bool              `json:"spinning"`
	OptLevel   string            `json:"opt_level"`
	Options    map[string]string `json:"options"`
}

type pluginIdentity struct {
	Name   string         `json:"name"`
	Config map[string]any `json:"config"`
}

type caseKeyDoc struct {
	ID           string       `json:"id"`
	PromptTokens int          `json:"prompt_tokens"`
	NewTokens    int          `json:"new_tokens"`
	Batch        int          `json:"batch"`
	Streams      int          `json:"streams"`
	Threads      int          `json:"threads"`
	Sampling     gen.Sampling `json:"sampling"`
	PromptFile   string       `json:"prompt_file"`
	PromptSeed   uint64       `json:"prompt_seed"`
}

// modelIdentity names the model independently of where it is stored: a
// built-in by name and seed, a directory by its base name and its
// config.json's sha256 (an .onnx file: its own base name and its
// directory's config.json).
func modelIdentity(m ModelSpec) string {
	if _, builtin := model.Presets[m.Source]; builtin {
		return m.Source + "#seed=" + jsonString(m.Seed)
	}
	dir := m.Source
	if strings.HasSuffix(dir, ".onnx") {
		dir = filepath.Dir(dir)
	}
	return pathIdentity(m.Source) + "#config=" + fileSHA256(filepath.Join(dir, "config.json"))
}

// pathIdentity is a path's base name (a directory given as a path is the
// same model on every machine that mounts it somewhere else).
func pathIdentity(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(filepath.Clean(p))
}

// fileSHA256 is the hex sha256 of a file's bytes, or "unreadable" (the run
// itself reports why).
func fileSHA256(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unreadable"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sha256JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// A plugin's TOML config may hold nan or inf, which JSON cannot:
		// fmt's rendering is deterministic too (map keys sorted).
		b = fmt.Appendf(nil, "%#v", v)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
