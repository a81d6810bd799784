// Package ortgen generates tokens in-process through ONNX Runtime, from a
// decoder with a KV cache as model.Load describes it: every input and output
// name from the model (optimum's, or genai_config.json's templates), the
// cache and logits in the graph's float32, float16 or bfloat16, optional
// position_ids, logits_to_keep (fed 1) and cache_position, and the merged
// form with use_cache_branch.
//
// The package takes a stand on what a timed step contains: only the Run call
// and the sampling of the next id. Everything else is prepared before the
// request's first Run or reused across steps: the KV cache lives in
// pre-allocated Go arrays in the graph's element type — two per layer on the
// concat path (past is read from one, present is written into the other,
// then they swap), or, for a GroupQueryAttention graph with a shared cache
// (GenAI's past_present_share_buffer), one per key and value bound as both
// the past input and the present output, which the attention appends to in
// place — the input id, mask and position buffers are sized for the
// request's full length, and only the rows of logits the sampler reads are
// read (a half-precision row converted to float32, exactly). Tensors handed
// to ONNX Runtime are views over those Go arrays (onnxruntime_go wraps a
// slice without copying), so a decode step copies no KV bytes outside the
// runtime. Batches are left-padded, except for GroupQueryAttention, which
// reads each row's cache from position 0: those are right-padded.
//
// Thread spinning is off by default: on a small machine whose cores are all
// busy with the runtime's own pool, spinning workers steal time from the
// worker that holds the critical path (measured with `pipe bench`).
//
// The runtime's own telemetry is switched off before it starts (Init), so
// loading it writes nothing outside pipe's output directory and cache.
package ortgen

import (
	"fmt"
	"sync"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortcuda"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// Options configures the runtime session. The zero value runs on the CPU
// with the runtime's default thread counts, spinning off and every graph
// optimization on.
type Options struct {
	// LibPath is the ONNX Runtime library ("" looks it up: PIPE_ORT_LIB,
	// the cache, the system).
	LibPath string
	// Device is "cpu" (default) or "cuda".
	Device   string
	DeviceID int
	// IntraOpThreads and InterOpThreads size the runtime's thread pools;
	// 0 keeps the runtime's default (one intra-op thread per physical core).
	IntraOpThreads int
	InterOpThreads int
	// Spinning lets idle pool threads spin instead of sleeping
	// (session.intra_op.allow_spinning and session.inter_op.allow_spinning).
	Spinning bool
	// OptLevel is the graph optimization level: "all" (default), "extended",
	// "basic" or "disable".
	OptLevel string
	// SessionConfig holds extra session configuration entries
	// (AddSessionConfigEntry keys such as "session.set_denormal_as_zero").
	SessionConfig map[string]string
	// ProfilePrefix turns ONNX Runtime's profiler on for the session: it
	// writes PREFIX_<date>.json when the session closes (ProfileFile finds
	// it; host/internal/ortprof reads it). "" (default) leaves it off.
	ProfilePrefix string
}

// Devices lists the accepted Options.Device values.
var Devices = []string{"cpu", "cuda"}

var optLevels = map[string]ort.GraphOptimizationLevel{
	"":         ort.GraphOptimizationLevelEnableAll,
	"all":      ort.GraphOptimizationLevelEnableAll,
	"extended": ort.GraphOptimizationLevelEnableExtended,
	"basic":    ort.GraphOptimizationLevelEnableBasic,
	"disable":  ort.GraphOptimizationLevelDisableAll,
}

// Validate reports the first bad option, with the fix.
func (o Options) Validate() error {
	switch o.Device {
	case "", "cpu", "cuda":
	default:
		return fmt.Errorf("unknown device %q: use \"cpu\" or \"cuda\"", o.Device)
	}
	if o.DeviceID < 0 {
		return fmt.Errorf("device id %d < 0: use 0 for the first GPU", o.DeviceID)
	}
	if o.IntraOpThreads < 0 {
		return fmt.Errorf("intra-op threads %d < 0: use 0 for the runtime's default or a positive count", o.IntraOpThreads)
	}
	if o.InterOpThreads < 0 {
		return fmt.Errorf("inter-op threads %d < 0: use 0 for the runtime's default or a positive count", o.InterOpThreads)
	}
	if _, ok := optLevels[o.OptLevel]; !ok {
		return fmt.Errorf("unknown graph optimization level %q: use all, extended, basic or disable", o.OptLevel)
	}
	return nil
}

func (o Options) device() string {
	if o.Device == "" {
		return "cpu"
	}
	return o.Device
}

// sessionOptions builds the runtime's session options; the caller destroys them.
func (o Options) sessionOptions() (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %s", oneLine(err))
	}
	ok := false
	defer func() {
		if !ok {
			so.Destroy()
		}
	}()
	for k, v := range o.configEntries() {
		if err := so.AddSessionConfigEntry(k, v); err != nil {
			return nil, fmt.Errorf("session config %s=%s: %s", k, v, oneLine(err))
		}
	}
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("intra-op threads %d: %s", o.IntraOpThreads, oneLine(err))
		}
	}
	if o.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(o.InterOpThreads); err != nil {
			return nil, fmt.Errorf("inter-op threads %d: %s", o.InterOpThreads, oneLine(err))
		}
	}
	if err := so.SetGraphOptimizationLevel(optLevels[o.OptLevel]); err != nil {
		return nil, fmt.Errorf("graph optimization level %q: %s", o.OptLevel, oneLine(err))
	}
	if err := o.enableProfiling(so); err != nil {
		return nil, err
	}
	if o.device() == "cuda" {
		if err := appendCUDA(so, o.providerOptions()); err != nil {
			return nil, err
		}
	}
	ok = true
	return so, nil
}

// ErrNoCUDA is wrapped by the error for device "cuda" on a runtime or
// machine without the CUDA execution provider.
var ErrNoCUDA = ortcuda.ErrNoCUDA

func appendCUDA(so *ort.SessionOptions, provider map[string]string) error {
	fix := noCUDAFix
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("%w: %s: %s", ErrNoCUDA, oneLine(err), fix)
	}
	defer co.Destroy()
	if err := co.Update(provider); err != nil {
		return fmt.Errorf("%w: %s: %s", ErrNoCUDA, oneLine(err), fix)
	}
	if err := so.AppendExecutionProviderCUDA(co); err != nil {
		return fmt.Errorf("%w: %s: %s", ErrNoCUDA, oneLine(err), fix)
	}
	return nil
}

// layout is what the generation loop needs to know about a model.
type layout struct {
	path           string // the ONNX file
	name           string // "gpt2" or the directory, for Info
	style          string
	sha256         string
	bytes, params  int64
	layers         int
	heads, kvHeads int
	headDim        int
	vocab          int
	maxPositions   int
	eos, padID     int64
	io             model.IONames
	kvType         elemType
	logitsType     elemType
	logitsLastOnly bool // the graph's logits are [b, 1, vocab]
	keepScalar     bool // logits_to_keep is rank 0, else [1]
	// shareBuffer binds one cache tensor per key and value as both past
	// and present (GenAI's past_present_share_buffer); maxLength bounds it.
	shareBuffer bool
	maxLength   int
	// rightPadding: the attention is GroupQueryAttention, which reads each
	// row's cache from position 0, so batches are right-padded.
	rightPadding bool
	hints        model.SessionHints
	// For Info.
	layoutName, variant, precision string
	weightBytes, weightPerToken    int64
}

// lastLogitsOnly reports whether each step's logits hold one position per
// row: the graph says so, or it takes logits_to_keep (fed 1).
func (l *layout) lastLogitsOnly() bool { return l.logitsLastOnly || l.io.LogitsToKeep != "" }

func (l *layout) validate() error {
	switch {
	case l.layers < 1, l.kvHeads < 1, l.headDim < 1, l.vocab < 1:
		return fmt.Errorf("model %s: layers %d, kv heads %d, head dim %d, vocab %d: every one must be ≥ 1 (check config.json)", l.name, l.layers, l.kvHeads, l.headDim, l.vocab)
	case len(l.io.PastKey) != l.layers || len(l.io.PastValue) != l.layers || len(l.io.PresentKey) != l.layers || len(l.io.PresentValue) != l.layers:
		return fmt.Errorf("model %s: %d layers but %d past key inputs: expected a past and present key and value per layer", l.name, l.layers, len(l.io.PastKey))
	case l.io.InputIDs == "" || l.io.AttentionMask == "" || l.io.Logits == "":
		return fmt.Errorf("model %s: the input ids, attention mask or logits have no name: load the model with model.Load", l.name)
	}
	return nil
}

// Generator runs one ONNX Runtime session. Generate may be called from
// several goroutines at once (streams sharing the session): each request
// gets its own buffers, and ONNX Runtime allows concurrent Run calls on one
// session.
type Generator struct {
	sess     *ort.DynamicAdvancedSession
	dev      *ortcuda.Decoder // instead of sess when the KV cache stays on the device
	lay      layout
	opts     Options
	info     gen.Info
	inNames  []string
	outNames []string

	life    sync.RWMutex // Generate holds it shared, Close exclusively
	buf     buffers      // a request's buffers when it runs alone
	bufMu   sync.Mutex   // held while a request uses buf
	spareMu sync.Mutex
	spares  []*buffers // buffers of overlapping requests, kept for the next overlap
}

var (
	_ gen.Generator  = (*Generator)(nil)
	_ gen.Concurrent = (*Generator)(nil)
)

// ConcurrentSafe reports whether overlapping requests run concurrently:
// true with the Go-memory KV cache; requests on the device-resident cache
// (one cache per decoder) are safe but take turns, so it reports false.
func (g *Generator) ConcurrentSafe() bool { return g.dev == nil }

// openLayout creates the session for a model described by lay.
func openLayout(lay layout, opts Options) (*Generator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := lay.validate(); err != nil {
		return nil, err
	}
	rt, err := Init(opts.LibPath)
	if err != nil {
		return nil, err
	}
	share, note, err := opts.shareBuffer(lay)
	if err != nil {
		return nil, err
	}
	lay.shareBuffer = share
	opts, applied := opts.withHints(lay.hints)
	if note != "" {
		applied = append(applied, note)
	}
	in, out := lay.names()

	measure.ResetPeak()
	rssBefore := measure.RSS()
	t0 := time.Now()
	sess, dev, err := openSession(lay, opts, rt, in, out)
	loadNS := time.Since(t0).Nanoseconds()
	if err != nil {
		return nil, err
	}
	rssAfter := measure.RSS()
	g := &Generator{sess: sess, dev: dev, lay: lay, opts: opts, inNames: in, outNames: out}
	g.info = gen.Info{
		Model:        lay.name,
		ModelHash:    lay.sha256,
		ModelBytes:   lay.bytes,
		Parameters:   lay.params,
		GraphStyle:   lay.style,
		Layers:       lay.layers,
		Heads:        lay.heads,
		KVHeads:      lay.kvHeads,
		HeadDim:      lay.headDim,
		Vocab:        lay.vocab,
		MaxPositions: lay.maxPositions,
		EOS:          lay.eos,
		Device:       opts.device(),
		Runtime:      rt.Name(),
		RuntimePath:  rt.Path,
		LoadNS:       loadNS,
		LoadRSSDelta: rssAfter - rssBefore,
		LoadPeakRSS:  max(measure.HWM(), rssAfter),
		Threads: gen.Threads{
			IntraOp:  opts.IntraOpThreads,
			InterOp:  opts.InterOpThreads,
			Spinning: opts.Spinning,
		},
		Layout:              lay.layoutName,
		Variant:             lay.variant,
		WeightPrecision:     lay.precision,
		KVCacheType:         lay.kvType.name,
		LogitsType:          lay.logitsType.name,
		WeightBytes:         lay.weightBytes,
		WeightBytesPerToken: lay.weightPerToken,
		KVShareBuffer:       lay.shareBuffer,
		LogitsLastOnly:      lay.lastLogitsOnly(),
		ModelOptionsApplied: applied,
	}
	return g, nil
}

// Info describes the loaded model and runtime.
func (g *Generator) Info() gen.Info { return g.info }

// Close releases the session and the generator's buffers, after the
// requests in flight have finished.
func (g *Generator) Close() error {
	g.life.Lock()
	defer g.life.Unlock()
	g.spares = nil
	if g.dev != nil {
		g.dev.Close()
		g.dev = nil
	}
	if g.sess == nil {
		return nil
	}
	err := g.sess.Destroy()
	g.sess = nil
	g.buf = buffers{}
	return err
}

// Session is the generator's runtime session and the input and output
// names it was created with, in order; nil on the device-resident cache
// path. It exists for the bare-loop yardstick (host/internal/roofline),
// which must drive this very session: two sessions of one model differed
// by 4–8 % in decode speed on the same machine, the first opened being the
// slower whichever code drove it (RATIONALE.md, "The harness must not move
// what it measures"), so a second session would measure where its weights
// landed, not the generator's code.
func (g *Generator) Session() (sess *ort.DynamicAdvancedSession, in, out []string) {
	if g.sess == nil {
		return nil, nil, nil
	}
	return g.sess, g.inNames, g.outNames
}
