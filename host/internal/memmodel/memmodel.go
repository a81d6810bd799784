// Package memmodel predicts the memory a benchmark case holds — the weights,
// the KV cache and the logits buffers — from the model's shape and
// precisions, and compares the prediction with what was measured.
//
// The package takes a stand on what it predicts: the bytes pipe itself
// decides, as the generator (host/internal/gen/ortgen) allocates them, not
// an estimate of everything the process holds. Weights are the graph's
// initializers as stored (external data included); a session that pre-packs
// or converts them holds more, one that maps the file may hold less. The KV
// cache is 2 × layers buffers (key and value) of batch × kv_heads ×
// positions × head_dim elements of the cache type, where positions are
// prompt + new − 1 (the last token needs no step after it): ortgen sizes
// every request's cache to that, on the share-buffer path too (one buffer
// per key and value, bound as past and present), and keeps two parities on
// the concat path (the past read from one, the present written into the
// other). On the device-resident CUDA cache the runtime allocates each
// step's presents while the past is alive: two full caches at the last step,
// in GPU memory. The logits buffer is batch × rows × vocab of the logits
// type, rows being the prompt's positions unless the graph computes the last
// position only. The generator grows its buffers and never shrinks them, and
// each concurrent stream holds a set of its own (on the host; the device
// cache is one, taken in turns): a case's prediction is the largest need of
// any case so far, times the most streams so far (per thread count: a case
// with threads of its own runs on a session of its own, whose weights and
// buffers the RSS of every other case then holds too, unpredicted). Not
// predicted: ONNX Runtime's activation arena and scratch buffers, the
// runtime's code, and the Go heap beyond these buffers (tokenizer, traces,
// and the garbage a collection has not yet freed).
package memmodel

import (
	"fmt"
	"math"

	"github.com/pipe-bench/pipe/sdk/schema"
)

// GapLimit is the relative gap |measured − predicted| / predicted above
// which a comparison is flagged.
const GapLimit = 0.15

// Predict returns one prediction per case, cases in the order one
// generator of model m ran them. deviceCache says the KV cache lived on the
// GPU (device cuda, the device-resident cache). Only the predicted fields
// are set; Measure adds the measured ones.
func Predict(m schema.Model, cases []schema.CaseParams, deviceCache bool) []schema.MemoryModel {
	out := make([]schema.MemoryModel, len(cases))
	// A case with a thread count of its own runs on a generator of its
	// own (its own session and buffers): each keeps its largest need.
	type held struct {
		kv, logits int64
		sets       int
	}
	byThreads := map[int]held{}
	for i, c := range cases {
		kv, logits := need(m, c, deviceCache)
		h := byThreads[c.Threads]
		streams := c.Streams
		if deviceCache {
			streams = 1 // the device cache is one: streams take turns on it
		}
		h = held{max(h.kv, kv), max(h.logits, logits), max(h.sets, streams, 1)}
		byThreads[c.Threads] = h
		p := schema.MemoryModel{Weights: m.WeightBytes, KVCache: h.kv * int64(h.sets), Logits: h.logits * int64(h.sets), WeightsOnGPU: m.Device == "cuda", OnDevice: deviceCache}
		p.Total = p.Weights + p.KVCache + p.Logits
		out[i] = p
	}
	return out
}

// need is one buffer set's cache and logits bytes for case c alone.
func need(m schema.Model, c schema.CaseParams, deviceCache bool) (kv, logits int64) {
	batch := int64(max(c.Batch, 1))
	positions := int64(max(c.PromptTokens+c.NewTokens-1, 0))
	perBuffer := batch * int64(m.KVHeads) * positions * int64(m.HeadDim) * elemSize(m.KVCacheType)
	copies := int64(2) // concat: two parities; device: past and present alive
	if m.KVShareBuffer && !deviceCache {
		copies = 1
	}
	kv = copies * 2 * int64(m.Layers) * perBuffer
	rows := int64(c.PromptTokens)
	if m.LogitsLastOnly {
		rows = 1
	}
	ls := elemSize(m.LogitsType)
	logits = batch * rows * int64(m.Vocab) * ls
	if ls == 2 {
		logits += int64(m.Vocab) * 4 // one row converted to float32 for the sampler
	}
	return kv, logits
}

// elemSize is the bytes of one element of a cache or logits type; float32
// where the result does not say (sdk/schema's ElemBytes).
func elemSize(t string) int64 { return int64(schema.ElemBytes(t)) }

// Measure adds to p the measured figures of case c: the load's RSS growth,
// the RSS once the model was opened, the case's highest sampled RSS and the
// run's GPU memory peak (0 where not measured).
func Measure(p *schema.MemoryModel, m schema.Model, c *schema.Case, rssAfterOpen, gpuPeak int64) {
	p.LoadRSSDelta, p.RSSAfterOpen, p.GPUPeak = m.LoadRSSDelta, rssAfterOpen, gpuPeak
	peak := 0.0
	if s, ok := c.Stats[schema.PeakRSS]; ok && s.N > 0 {
		peak = s.Max
	}
	if v, ok := c.Values[schema.ThroughputPeakRSS]; ok {
		peak = max(peak, v)
	}
	p.PeakRSS = int64(math.Round(peak * (1 << 20)))
}

// Gap is one comparison of a prediction with a measurement.
type Gap struct {
	// What names the two figures compared.
	What                string
	Predicted, Measured int64
	// Relative is (measured − predicted) / predicted; Flagged says its
	// magnitude exceeds GapLimit.
	Relative float64
	Flagged  bool
	// Why names what the comparison's prediction leaves out (measured
	// above it) or what can make the measurement fall short (below it),
	// for the gap's direction.
	Why string
}

// What each comparison leaves out, measured above the prediction, and
// what makes a measurement fall short of it.
const (
	weightsAbove = "ONNX Runtime keeps pre-packed copies of MatMul weights beside the originals ([model.options] \"session.disable_prepacking\" = \"1\" shows how much; RATIONALE.md, \"The memory model\") or converted weights"
	weightsBelow = "the session maps the weights file or has not touched every page"
	runtimeAbove = "ONNX Runtime's activation arena and scratch are not predicted, nor the Go heap's garbage between collections (up to GOGC = 100 % of a live heap that holds these very buffers)"
	runtimeBelow = "pages of the buffers never touched (a short generation) or RSS sampled between peaks"
	gpuAbove     = "the CUDA provider's arena rounds allocations up and holds activations and workspace"
	gpuBelow     = "the GPU peak was sampled between allocations"
)

// Gaps are the comparisons a prediction supports, each where both of its
// figures were measured (a growth at or below zero is a measurement too):
//   - weights against the load's RSS growth (the host holds the weights;
//     not on CUDA, where they go to the GPU);
//   - the cache and logits against the case's peak RSS over the RSS once the
//     model was opened (on the device cache: the host's logits alone);
//   - on CUDA, the weights and the cache against the run's GPU memory peak.
func Gaps(p schema.MemoryModel) []Gap {
	var out []Gap
	add := func(what string, predicted, measured int64, above, below string) {
		if predicted <= 0 {
			return
		}
		r := float64(measured-predicted) / float64(predicted)
		why := above
		if r < 0 {
			why = below
		}
		out = append(out, Gap{What: what, Predicted: predicted, Measured: measured, Relative: r, Flagged: math.Abs(r) > GapLimit, Why: why})
	}
	if !p.WeightsOnGPU && p.LoadRSSDelta != 0 {
		add("weights vs load RSS growth", p.Weights, p.LoadRSSDelta, weightsAbove, weightsBelow)
	}
	if p.RSSAfterOpen > 0 && p.PeakRSS > 0 {
		host, what := p.KVCache+p.Logits, "KV cache + logits vs peak RSS − RSS after open"
		if p.OnDevice {
			host, what = p.Logits, "logits vs peak RSS − RSS after open"
		}
		add(what, host, p.PeakRSS-p.RSSAfterOpen, runtimeAbove, runtimeBelow)
	}
	if p.GPUPeak > 0 {
		dev := int64(0)
		if p.WeightsOnGPU {
			dev = p.Weights
		}
		if p.OnDevice {
			dev += p.KVCache
		}
		add("weights + KV cache vs GPU peak", dev, p.GPUPeak, gpuAbove, gpuBelow)
	}
	return out
}

// String is a gap as the reports print it: "+4 %".
func (g Gap) String() string { return fmt.Sprintf("%+.0f %%", g.Relative*100) }
