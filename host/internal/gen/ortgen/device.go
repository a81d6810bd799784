package ortgen

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/pipe-bench/pipe/host/internal/gen/ortcuda"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// Keys of Options.SessionConfig (the pipeline's [model.options]) that are
// not session configuration entries.
const (
	// ProviderPrefix marks CUDA execution provider options:
	// "cuda.arena_extend_strategy" = "kSameAsRequested",
	// "cuda.gpu_mem_limit" = "8589934592", "cuda.use_tf32" = "0", … The
	// device id comes from Options.DeviceID.
	ProviderPrefix = "cuda."
	// KVCacheKey chooses where the KV cache lives for device "cuda":
	// "device" (default: IoBinding, presents stay on the GPU and become the
	// next step's past) or "host" (Go arrays, copied across the bus every
	// step; kept to measure what the device cache buys).
	KVCacheKey = "pipe.kv_cache"
	// ShareBufferKey overrides a GenAI model's past_present_share_buffer:
	// "1" binds one cache buffer as past and present, "0" runs the concat
	// path (the present written into a second buffer each step), to
	// measure one against the other on the same graph.
	ShareBufferKey = "pipe.kv_share_buffer"
)

// shareBuffer decides whether lay's cache is bound as past and present:
// the model's own setting unless ShareBufferKey overrides it. Only a
// GroupQueryAttention graph writes its present into the past's buffer: a
// model asking for it without one runs the concat path, and note says so.
func (o Options) shareBuffer(lay layout) (share bool, note string, err error) {
	share = lay.shareBuffer
	switch v := o.SessionConfig[ShareBufferKey]; v {
	case "":
		if share && !lay.rightPadding {
			return false, "search.past_present_share_buffer=true (not applied: the graph has no GroupQueryAttention)", nil
		}
	case "1", "true":
		share = true
	case "0", "false":
		share = false
	default:
		return false, "", fmt.Errorf("%s = %q: use \"1\" (one buffer, past and present) or \"0\" (concat)", ShareBufferKey, v)
	}
	if share && !lay.rightPadding {
		return false, "", fmt.Errorf("model %s: a shared past/present cache needs GroupQueryAttention, which this graph does not use: drop %s", lay.name, ShareBufferKey)
	}
	if share {
		if onDevice, _ := o.kvOnDevice(); onDevice {
			return false, "", fmt.Errorf("model %s: the device-resident cache does not bind a shared past/present buffer yet: set [model.options] %s = \"host\" or %s = \"0\"", lay.name, KVCacheKey, ShareBufferKey)
		}
	}
	return share, "", nil
}

// withHints applies the model's own session settings (genai_config.json)
// where o leaves them unset, and lists what it applied and what the
// pipeline's settings overrode.
func (o Options) withHints(h model.SessionHints) (Options, []string) {
	var applied []string
	note := func(key string, model, own any, set bool) {
		if set {
			applied = append(applied, fmt.Sprintf("%s=%v (overridden by the pipeline's %v)", key, model, own))
		} else {
			applied = append(applied, fmt.Sprintf("%s=%v", key, model))
		}
	}
	if h.IntraOpThreads > 0 {
		note("intra_op_num_threads", h.IntraOpThreads, o.IntraOpThreads, o.IntraOpThreads > 0)
		if o.IntraOpThreads == 0 {
			o.IntraOpThreads = h.IntraOpThreads
		}
	}
	if h.InterOpThreads > 0 {
		note("inter_op_num_threads", h.InterOpThreads, o.InterOpThreads, o.InterOpThreads > 0)
		if o.InterOpThreads == 0 {
			o.InterOpThreads = h.InterOpThreads
		}
	}
	if h.OptLevel != "" {
		note("graph_optimization_level", h.OptLevel, o.OptLevel, o.OptLevel != "")
		if o.OptLevel == "" {
			o.OptLevel = h.OptLevel
		}
	}
	merged := maps.Clone(o.SessionConfig)
	put := func(key, v string) {
		if own, set := o.SessionConfig[key]; set {
			note(key, v, own, true)
			return
		}
		if merged == nil {
			merged = map[string]string{}
		}
		merged[key] = v
		note(key, v, nil, false)
	}
	for _, k := range slices.Sorted(maps.Keys(h.Config)) {
		put(k, h.Config[k])
	}
	if cuda := h.Provider["cuda"]; o.device() == "cuda" {
		for _, k := range slices.Sorted(maps.Keys(cuda)) {
			put(ProviderPrefix+k, cuda[k])
		}
	}
	for _, k := range h.Ignored {
		applied = append(applied, k+" (not applied by pipe)")
	}
	o.SessionConfig = merged
	return o, applied
}

// configEntries are the session configuration entries: spinning from
// Options.Spinning, then SessionConfig without provider options and pipe's
// own keys.
func (o Options) configEntries() map[string]string {
	spin := "0"
	if o.Spinning {
		spin = "1"
	}
	entries := map[string]string{
		"session.intra_op.allow_spinning": spin,
		"session.inter_op.allow_spinning": spin,
	}
	for k, v := range o.SessionConfig {
		if !strings.HasPrefix(k, ProviderPrefix) && !strings.HasPrefix(k, "pipe.") {
			entries[k] = v
		}
	}
	return entries
}

// providerOptions are the CUDA provider options: device_id and every
// SessionConfig key under ProviderPrefix, prefix removed.
func (o Options) providerOptions() map[string]string {
	p := map[string]string{"device_id": strconv.Itoa(o.DeviceID)}
	for k, v := range o.SessionConfig {
		if name, ok := strings.CutPrefix(k, ProviderPrefix); ok {
			p[name] = v
		}
	}
	return p
}

// noCUDAFix ends the error for device "cuda" without the CUDA provider.
const noCUDAFix = "use device \"cpu\", or a CUDA build of onnxruntime (libonnxruntime_providers_cuda.so next to the library) on a machine with an NVIDIA GPU (--ort-lib)"

// kvOnDevice reports whether the KV cache stays on the device.
func (o Options) kvOnDevice() (bool, error) {
	switch v := o.SessionConfig[KVCacheKey]; v {
	case "", "device":
		return o.device() == "cuda", nil
	case "host":
		return false, nil
	default:
		return false, fmt.Errorf("%s = %q: use \"device\" or \"host\"", KVCacheKey, v)
	}
}

// openSession creates the runtime session for lay: onnxruntime_go's session
// with Go-memory tensors, or, when the KV cache stays on the device, an
// ortcuda decoder.
func openSession(lay layout, opts Options, rt Runtime, in, out []string) (*ort.DynamicAdvancedSession, *ortcuda.Decoder, error) {
	onDevice, err := opts.kvOnDevice()
	if err != nil {
		return nil, nil, err
	}
	if onDevice {
		d, err := openDecoder(lay, opts, rt, true)
		return nil, d, err
	}
	so, err := opts.sessionOptions()
	if err != nil {
		return nil, nil, err
	}
	defer so.Destroy()
	sess, err := ort.NewDynamicAdvancedSession(lay.path, in, out, so)
	if err != nil {
		return nil, nil, fmt.Errorf("open model %s: %s", lay.path, runError(err, opts.device()))
	}
	return sess, nil, nil
}

// openDecoder opens lay as an ortcuda decoder: on the CUDA provider, or on
// the CPU provider (tests of the binding logic on machines without a GPU).
func openDecoder(lay layout, opts Options, rt Runtime, cuda bool) (*ortcuda.Decoder, error) {
	if _, err := ortcuda.Load(rt.Path); err != nil {
		return nil, err
	}
	if lay.io.LogitsToKeep != "" || lay.io.CachePosition != "" {
		return nil, fmt.Errorf("model %s: the device-resident cache does not feed %s yet: set [model.options] %s = \"host\"",
			lay.name, strings.TrimSuffix(strings.TrimPrefix(lay.io.LogitsToKeep+" and "+lay.io.CachePosition, " and "), " and "), KVCacheKey)
	}
	dl := ortcuda.Layout{
		InputIDs: lay.io.InputIDs, AttentionMask: lay.io.AttentionMask, Logits: lay.io.Logits,
		PositionIDs: lay.io.PositionIDs, UseCacheBranch: lay.io.UseCacheBranch,
		KVHeads: lay.kvHeads, HeadDim: lay.headDim, Vocab: lay.vocab,
		KVType: int(lay.kvType.ort), LogitsType: int(lay.logitsType.ort),
		LogitsLastOnly: lay.lastLogitsOnly(),
	}
	for i := range lay.layers {
		dl.Past = append(dl.Past, lay.io.PastKey[i], lay.io.PastValue[i])
		dl.Present = append(dl.Present, lay.io.PresentKey[i], lay.io.PresentValue[i])
	}
	do := ortcuda.Options{
		CUDA: cuda, DeviceID: opts.DeviceID,
		IntraOpThreads: opts.IntraOpThreads, InterOpThreads: opts.InterOpThreads,
		OptLevel: int(optLevels[opts.OptLevel]),
		Config:   opts.configEntries(),
	}
	if cuda {
		do.Provider = opts.providerOptions()
		delete(do.Provider, "device_id") // ortcuda sets it from DeviceID
	}
	d, err := ortcuda.Open(lay.path, dl, do)
	switch {
	case err == nil:
		return d, nil
	case cuda && errors.Is(err, ortcuda.ErrNoCUDA):
		return nil, fmt.Errorf("%w: %s", err, noCUDAFix)
	case errors.Is(err, ortcuda.ErrProviderOption):
		return nil, fmt.Errorf("%w: check the %s* keys in [model.options] against ONNX Runtime's CUDA provider options", err, ProviderPrefix)
	}
	return nil, fmt.Errorf("open model %s: %w", lay.path, err)
}

// deviceStep runs one step on the ortcuda decoder: the loop's host buffers
// go in, the presents stay in the decoder, and each row's logits at
// buf.rows land in buf.logits (or logits16) where the loop reads them.
func (g *Generator) deviceStep(batch, seq, past int) (int64, error) {
	b := &g.buf
	var pos []int64
	if g.lay.io.PositionIDs != "" {
		pos = b.pos
	}
	logits := u16Bytes(b.logits16)
	if g.lay.logitsType.size == 4 {
		logits = f32Bytes(b.logits)
	}
	runNS, err := g.dev.StepRows(batch, seq, past, b.ids, b.mask, pos, b.rows[:batch], logits)
	if err != nil {
		return runNS, fmt.Errorf("run %s (batch %d, %d new + %d cached positions): %s", g.lay.name, batch, seq, past, err)
	}
	return runNS, nil
}
