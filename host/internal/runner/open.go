package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

// opened is a loaded model with what the engine needs around it.
type opened struct {
	gen     *ortgen.Generator
	tok     engine.Tokenizer
	prompts engine.Prompter
	// byThreads holds sessions opened for cases with their own intra-op
	// thread count (a matrix threads axis), by that count.
	byThreads map[int]*ortgen.Generator
	spec      pipeline.ModelSpec
}

func (o *opened) close() {
	o.gen.Close()
	for _, g := range o.byThreads {
		g.Close()
	}
}

// forThreads opens (once) a session of the same model with threads intra-op
// threads.
func (o *opened) forThreads(threads int) (gen.Generator, error) {
	if g, ok := o.byThreads[threads]; ok {
		return g, nil
	}
	spec := o.spec
	spec.IntraOpThreads = threads
	g, _, err := OpenGenerator(spec)
	if err != nil {
		return nil, err
	}
	if o.byThreads == nil {
		o.byThreads = map[int]*ortgen.Generator{}
	}
	o.byThreads[threads] = g
	return g, nil
}

// OpenGenerator loads the plan's model into an ONNX Runtime generator.
func OpenGenerator(ms pipeline.ModelSpec) (*ortgen.Generator, *model.Model, error) {
	src, err := model.VariantPath(ms.Source, ms.Variant)
	if err != nil {
		return nil, nil, err
	}
	m, err := model.OpenWith(src, ms.BuildOptions())
	if err != nil {
		return nil, nil, err
	}
	g, err := ortgen.Open(m, ortgen.Options{
		LibPath: ms.ORTLib, Device: ms.Device, DeviceID: ms.DeviceID,
		IntraOpThreads: ms.IntraOpThreads, InterOpThreads: ms.InterOpThreads,
		Spinning: ms.Spinning, OptLevel: ms.OptLevel, SessionConfig: ms.Options,
	})
	if err != nil {
		return nil, nil, err
	}
	return g, m, nil
}

func openModel(plan *pipeline.Plan) (*opened, error) {
	g, _, err := OpenGenerator(plan.Model)
	if err != nil {
		return nil, err
	}
	o := &opened{gen: g, spec: plan.Model}
	var tok tokenize.Tokenizer
	if plan.Model.Tokenizer != "" {
		t, err := tokenize.Load(plan.Model.Tokenizer)
		if err != nil {
			g.Close()
			return nil, err
		}
		tok, o.tok = t, t
	}
	info := g.Info()
	vocab := info.Vocab
	// Random prompts never hold a special token: the tokenizer's, or the
	// model's EOS when there is no tokenizer.
	reserved := []int64{info.EOS, int64(vocab - 1)}
	if tok != nil {
		reserved = tokenize.ReservedIDs(tok)
	}
	o.prompts = func(cs pipeline.CaseSpec) (engine.Prompt, error) {
		rows := make([][]int64, max(cs.Batch, 1))
		if cs.PromptFile == "" {
			for b := range rows {
				rows[b] = tokenize.SeededIDsAvoiding(cs.PromptTokens, vocab, cs.PromptSeed+uint64(b), reserved...)
			}
			return engine.Prompt{IDs: rows}, nil
		}
		if tok == nil {
			return engine.Prompt{}, fmt.Errorf("prompt_file %s needs a tokenizer: set model.tokenizer", cs.PromptFile)
		}
		text, err := os.ReadFile(cs.PromptFile)
		if err != nil {
			return engine.Prompt{}, fmt.Errorf("prompt_file: %w", err)
		}
		ids, err := tokenize.PromptFromText(tok, string(text), cs.PromptTokens)
		if err != nil {
			return engine.Prompt{}, fmt.Errorf("prompt_file %s: %w", cs.PromptFile, err)
		}
		for b := range rows {
			rows[b] = ids
		}
		return engine.Prompt{IDs: rows, Text: tok.Decode(ids)}, nil
	}
	return o, nil
}

// plugins are the plan's loaded plugins.
type plugins struct {
	host *plugin.Host
	all  []*plugin.Plugin
}

func openPlugins(ctx context.Context, plan *pipeline.Plan) (*plugins, error) {
	ps := &plugins{}
	if len(plan.Plugins) == 0 {
		return ps, nil
	}
	h, err := plugin.NewHost(ctx, plugin.HostOptions{CacheDir: filepath.Join(assets.CacheDir(), "wazero")})
	if err != nil {
		return nil, err
	}
	ps.host = h
	for _, spec := range plan.Plugins {
		p, err := h.Load(ctx, spec)
		if err != nil {
			h.Close(ctx)
			return nil, err
		}
		ps.all = append(ps.all, p)
	}
	return ps, nil
}

func (ps *plugins) close(ctx context.Context) {
	if ps.host != nil {
		ps.host.Close(ctx)
	}
}

// register adds the plugins to reg, in their declared order.
func (ps *plugins) register(ctx context.Context, reg *registry.Registry) error {
	for _, p := range ps.all {
		if err := reg.RegisterPlugin(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (ps *plugins) info() []result.PluginInfo {
	var out []result.PluginInfo
	for _, p := range ps.all {
		out = append(out, p.Info())
	}
	return out
}

var _ gen.Generator = (*ortgen.Generator)(nil)
