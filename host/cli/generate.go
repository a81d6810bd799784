package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

func generateCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "generate",
		Usage:     "generate tokens from a model once and print them with their timings",
		ArgsUsage: " ",
		Description: `Runs one request through pipe's ONNX Runtime generator: exactly --new-tokens tokens
(EOS ignored unless --stop-at-eos), greedy unless --temperature > 0. The prompt is
--prompt-tokens N seeded random ids (the default, N = 16), --prompt-ids 1,2,3, or
--prompt TEXT (needs a tokenizer: the model directory's, --tokenizer, or GPT-2's for
the built-in gpt2). Timings follow pipe's metric definitions: TTFT from the request
start (before tokenization) to the first token id, E2E to the last.`,
		Flags: append(engineFlags(),
			&ucli.IntFlag{Name: "prompt-tokens", Usage: "prompt of `N` seeded random token ids", DefaultText: "16 when no prompt is given"},
			&ucli.StringFlag{Name: "prompt-ids", Usage: "prompt as comma-separated token `IDS`"},
			&ucli.StringFlag{Name: "prompt", Usage: "prompt `TEXT`, tokenized with the model's tokenizer"},
			&ucli.StringFlag{Name: "tokenizer", Usage: "tokenizer `SPEC`: gpt2 or a directory (default: the model's own, GPT-2's for gpt2)"},
			&ucli.IntFlag{Name: "new-tokens", Value: 32, Usage: "exact number of tokens to generate"},
			&ucli.BoolFlag{Name: "stop-at-eos", Usage: "stop at the model's EOS token instead of forcing the length"},
			&ucli.Uint64Flag{Name: "seed", Usage: "seed for the prompt ids and sampling"},
			&ucli.Float64Flag{Name: "temperature", Usage: "sampling temperature (0: greedy)"},
			&ucli.IntFlag{Name: "top-k", Usage: "sample among the `K` most likely ids (0: all)"},
			&ucli.Float64Flag{Name: "top-p", Usage: "sample within the smallest set of ids whose probability reaches `P` (0: off)"},
			&ucli.BoolFlag{Name: "json", Usage: "print one JSON object"},
		),
		Action: runGenerate,
	}
}

// engineFlags are the flags that choose a model and configure the runtime,
// shared by generate and bench.
func engineFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "model", Value: "gpt2", Usage: "model `DIR` (optimum, Transformers.js or ONNX Runtime GenAI layout), .onnx file or built-in name (" + strings.Join(model.PresetNames(), ", ") + ")"},
		&ucli.StringFlag{Name: "variant", Usage: "`VARIANT` of a Transformers.js folder: fp32 (onnx/model.onnx), fp16, q4, q4f16, quantized, int8, uint8, bnb4 (onnx/model_VARIANT.onnx)"},
		&ucli.Uint64Flag{Name: "model-seed", Value: model.DefaultSeed, Usage: "weight seed of a built-in model"},
		&ucli.StringFlag{Name: "style", Usage: "graph style of a built-in model: optimum, fused or gqa (default " + model.DefaultStyle + " on the CPU, " + model.DefaultStyleFor("cuda") + " on CUDA)"},
		&ucli.StringFlag{Name: "precision", Usage: "weights of a built model: " + strings.Join(model.Precisions, ", ") + " (default fp32)"},
		&ucli.IntFlag{Name: "block-size", Usage: "int8/int4 quantisation block", DefaultText: fmt.Sprint(model.DefaultBlockSize)},
		&ucli.StringFlag{Name: "device", Value: "cpu", Usage: "cpu or cuda"},
		&ucli.IntFlag{Name: "device-id", Usage: "GPU index for --device cuda"},
		&ucli.IntFlag{Name: "threads", Usage: "intra-op threads (0: the runtime's default, one per physical core)"},
		&ucli.IntFlag{Name: "inter-threads", Usage: "inter-op threads (0: the runtime's default)"},
		&ucli.BoolFlag{Name: "spinning", Usage: "let idle runtime threads spin (off by default: see RATIONALE.md)"},
		&ucli.StringFlag{Name: "opt-level", Usage: "graph optimization level: all, extended, basic, disable (default all)"},
		&ucli.StringFlag{Name: "ort-lib", Usage: "ONNX Runtime library `PATH` (default: PIPE_ORT_LIB, the cache, the system)"},
	}
}

func engineOptions(c *ucli.Context) ortgen.Options {
	return ortgen.Options{
		LibPath:        c.String("ort-lib"),
		Device:         c.String("device"),
		DeviceID:       c.Int("device-id"),
		IntraOpThreads: c.Int("threads"),
		InterOpThreads: c.Int("inter-threads"),
		Spinning:       c.Bool("spinning"),
		OptLevel:       c.String("opt-level"),
	}
}

// loadModel opens --model (model.OpenWith: a built-in one is built when
// needed) with --model-seed, --style, --precision and --block-size, and
// --variant's file of a Transformers.js folder.
func loadModel(c *ucli.Context) (*model.Model, error) {
	src, err := model.VariantPath(c.String("model"), c.String("variant"))
	if err != nil {
		return nil, err
	}
	style := c.String("style")
	if style == "" {
		style = model.DefaultStyleFor(c.String("device"))
	}
	return model.OpenWith(src, model.BuildOptions{
		Seed: c.Uint64("model-seed"), Style: style, Precision: c.String("precision"), BlockSize: c.Int("block-size"),
	})
}

// generateOutput is what --json prints.
type generateOutput struct {
	Model         string       `json:"model"`
	GraphStyle    string       `json:"graph_style"`
	Runtime       string       `json:"runtime"`
	Device        string       `json:"device"`
	LoadMS        float64      `json:"load_ms"`
	PromptIDs     []int64      `json:"prompt_ids"`
	PromptTokens  int          `json:"prompt_tokens"`
	OutputIDs     []int64      `json:"output_ids"`
	Text          *string      `json:"text,omitempty"`
	TokenizeMS    float64      `json:"tokenize_ms"`
	TTFTms        float64      `json:"ttft_ms"`
	E2Ems         float64      `json:"e2e_ms"`
	ITLms         []float64    `json:"itl_ms"`
	TPOTms        float64      `json:"tpot_ms"`
	DecodeTPS     float64      `json:"decode_tps"`
	PrefillTPS    float64      `json:"prefill_tps"`
	OutsideRunPct float64      `json:"outside_run_pct"`
	Sampling      gen.Sampling `json:"sampling"`
	Problems      []string     `json:"problems,omitempty"`
	// The model as loaded: layout, variant, precisions, shared cache
	// (sdk/schema.Model's fields of the same names).
	Layout          string `json:"layout,omitempty"`
	Variant         string `json:"variant,omitempty"`
	WeightPrecision string `json:"weight_precision,omitempty"`
	KVCacheType     string `json:"kv_cache_type,omitempty"`
	LogitsType      string `json:"logits_type,omitempty"`
	KVShareBuffer   bool   `json:"kv_share_buffer,omitempty"`
}

func runGenerate(c *ucli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("generate takes no arguments, got %q: pass text with --prompt", c.Args().First())
	}
	sources := 0
	for _, f := range []string{"prompt-tokens", "prompt-ids", "prompt"} {
		if c.IsSet(f) {
			sources++
		}
	}
	if sources > 1 {
		return errors.New("give one of --prompt-tokens, --prompt-ids, --prompt")
	}
	m, err := loadModel(c)
	if err != nil {
		return err
	}
	tok, err := modelTokenizer(c, m)
	if err != nil {
		return err
	}
	g, err := ortgen.Open(m, engineOptions(c))
	if err != nil {
		return err
	}
	defer g.Close()

	req := gen.Request{
		NewTokens: c.Int("new-tokens"),
		StopAtEOS: c.Bool("stop-at-eos"),
		Sampling: gen.Sampling{
			Temperature: c.Float64("temperature"),
			TopK:        c.Int("top-k"),
			TopP:        c.Float64("top-p"),
			Seed:        c.Uint64("seed"),
		},
	}
	req.Start = time.Now()
	var prompt []int64
	switch {
	case c.IsSet("prompt"):
		if tok == nil {
			return fmt.Errorf("--prompt needs a tokenizer and model %s has none: pass --tokenizer, or use --prompt-ids / --prompt-tokens", m.Name)
		}
		prompt = tok.Encode(c.String("prompt"))
		req.TokenizeNS = time.Since(req.Start).Nanoseconds()
		if len(prompt) == 0 {
			return errors.New("--prompt is empty after tokenization: give some text")
		}
	case c.IsSet("prompt-ids"):
		if prompt, err = parseIDs(c.String("prompt-ids")); err != nil {
			return err
		}
	default:
		n := 16
		if c.IsSet("prompt-tokens") {
			n = c.Int("prompt-tokens")
		}
		if n < 1 {
			return fmt.Errorf("--prompt-tokens %d: need at least 1", n)
		}
		prompt = tokenize.SeededIDs(n, m.Config.Vocab, c.Uint64("seed"))
		req.Start = time.Now() // no tokenization: the request starts here
	}
	req.Prompts = [][]int64{prompt}
	tr, err := g.Generate(context.Background(), req)
	if err != nil {
		return err
	}
	run := measure.FromTrace(tr, measure.Expect{NewTokens: req.NewTokens, Batch: 1, StopAtEOS: req.StopAtEOS})
	info := g.Info()
	out := generateOutput{
		Model: info.Model, GraphStyle: info.GraphStyle, Runtime: info.Runtime, Device: info.Device,
		LoadMS: float64(info.LoadNS) / 1e6, PromptIDs: prompt, PromptTokens: len(prompt), OutputIDs: tr.OutputIDs[0],
		TokenizeMS: run.Values[metric.TokenizeMS], TTFTms: run.Values[metric.TTFT], E2Ems: run.Values[metric.E2E],
		ITLms: run.ITLms, TPOTms: run.Values[metric.TPOT], DecodeTPS: run.Values[metric.DecodeTPS],
		PrefillTPS: run.Values[metric.PrefillTPS], OutsideRunPct: run.Values[metric.OutsideRun],
		Sampling: req.Sampling, Problems: run.Problems,
		Layout: info.Layout, Variant: info.Variant, WeightPrecision: info.WeightPrecision,
		KVCacheType: info.KVCacheType, LogitsType: info.LogitsType, KVShareBuffer: info.KVShareBuffer,
	}
	if tok != nil {
		text := tok.Decode(out.OutputIDs)
		out.Text = &text
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printGenerate(c.App.Writer, out, info)
	if !run.Valid() {
		return withCode(ExitInvalid, fmt.Errorf("the run broke an invariant: %s", strings.Join(run.Problems, "; ")))
	}
	return nil
}

// precisionLine is the line generate and bench print about the model's
// precisions and cache binding.
func precisionLine(info gen.Info) string { return "precision " + info.PrecisionSummary() }

func printGenerate(w io.Writer, o generateOutput, info gen.Info) {
	fmt.Fprintf(w, "model    %s (%s graph, %d layers, %d/%d heads, vocab %d)\n", o.Model, o.GraphStyle, info.Layers, info.Heads, info.KVHeads, info.Vocab)
	fmt.Fprintln(w, precisionLine(info))
	spin := "off"
	if info.Threads.Spinning {
		spin = "on"
	}
	fmt.Fprintf(w, "runtime  %s on %s, intra-op threads %s, spinning %s, session created in %.0f ms\n", o.Runtime, o.Device, threadsText(info.Threads.IntraOp), spin, o.LoadMS)
	fmt.Fprintf(w, "prompt   %d tokens %s\n", o.PromptTokens, idsText(o.PromptIDs, 16))
	fmt.Fprintf(w, "output   %d tokens %s\n", len(o.OutputIDs), idsText(o.OutputIDs, 64))
	if o.Text != nil {
		fmt.Fprintf(w, "text     %q\n", *o.Text)
	}
	fmt.Fprintf(w, "TTFT %.1f ms · E2E %.1f ms · decode %.1f tok/s · TPOT %.2f ms · outside Run %.2f %% of E2E\n",
		o.TTFTms, o.E2Ems, o.DecodeTPS, o.TPOTms, o.OutsideRunPct)
}

func threadsText(n int) string {
	if n == 0 {
		return "default"
	}
	return strconv.Itoa(n)
}

// idsText prints ids, at most limit of them.
func idsText(ids []int64, limit int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i == limit {
			fmt.Fprintf(&b, " … %d more", len(ids)-limit)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte(']')
	return b.String()
}

// parseIDs reads "1,2,3".
func parseIDs(s string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--prompt-ids: %q is not a token id: give comma-separated integers like 1,2,3", f)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errors.New("--prompt-ids is empty: give comma-separated integers like 1,2,3")
	}
	return ids, nil
}

// modelTokenizer returns the tokenizer for m: --tokenizer when given, GPT-2's
// for a built-in model with GPT-2's vocabulary, the model directory's own
// files when it has them, else nil.
func modelTokenizer(c *ucli.Context, m *model.Model) (tokenize.Tokenizer, error) {
	spec := c.String("tokenizer")
	explicit := spec != ""
	if !explicit {
		switch {
		case model.IsBuiltin(c.String("model")) && m.Config.Vocab == model.GPT2().Vocab:
			spec = tokenize.GPT2
		case !model.IsBuiltin(c.String("model")):
			spec = m.Root
		default:
			return nil, nil
		}
	}
	tok, err := tokenize.Load(spec)
	if err != nil {
		if explicit || (spec == tokenize.GPT2 && c.IsSet("prompt")) {
			return nil, err
		}
		return nil, nil // a model directory without tokenizer files
	}
	if !tokenizerFits(tok, m.Config.Vocab) {
		if explicit {
			return nil, fmt.Errorf("tokenizer %s has %d ids but model %s only %d: pass the model's own tokenizer", spec, tok.VocabSize(), m.Name, m.Config.Vocab)
		}
		return nil, nil
	}
	return tok, nil
}

// tokenizerFits reports whether tok's ids fit a model of vocab ids: every id
// at or above vocab must be one of its reserved ids (special tokens and EOS),
// which a prompt from text does not produce. Gemma 3's tokenizer.json counts
// 262,145 ids, one more than its models, because <image_soft_token> is
// 262144; refusing it would leave those models without their tokenizer. An
// id a prompt does produce beyond the model's table is still refused, naming
// the id, by the generator's check of the request.
func tokenizerFits(tok tokenize.Tokenizer, vocab int) bool {
	if tok.VocabSize() <= vocab {
		return true
	}
	reserved := tokenize.ReservedIDs(tok)
	for id := vocab; id < tok.VocabSize(); id++ {
		if !slices.Contains(reserved, int64(id)) {
			return false
		}
	}
	return true
}
