// Command prefill_share is an example pipe metric plugin: how much of each
// request is spent before the first token. It reads two built-in values per
// run (ttft_ms and e2e_ms) — no per-token arrays, so its batches are small —
// and adds two metrics of its own. README.md walks through it.
package main

import "github.com/pipe-bench/pipe/sdk"

// The metrics this plugin adds, namespaced by its name.
const (
	SharePct = "prefill_share.pct"       // 100 × TTFT / E2E
	DecodeMS = "prefill_share.decode_ms" // E2E − TTFT
)

func init() { // a plugin is a WASI reactor: init is its entry point
	sdk.Register(sdk.Plugin{
		Name:        "prefill_share",
		Version:     "1.0.0",
		Description: "share of each request spent before the first token",
		Metrics: []sdk.MetricDef{
			{ID: SharePct, Unit: "%", Better: sdk.Lower, Description: "100 × TTFT / E2E: the part of the request before the first token"},
			{ID: DecodeMS, Unit: "ms", Better: sdk.Lower, Description: "E2E − TTFT: the time spent decoding after the first token"},
		},
		// Built-in metric IDs ask for those per-run values; nothing else is sent.
		Inputs: []string{"ttft_ms", "e2e_ms"},
		Metric: measure,
	})
}

// measure returns one Values per run, in batch order. A run without both
// values (or with E2E 0) gets no value rather than a made-up one.
func measure(runs []sdk.Run) ([]sdk.Values, sdk.Values, error) {
	out := make([]sdk.Values, len(runs))
	for i, r := range runs {
		ttft, ok1 := r.Values["ttft_ms"]
		e2e, ok2 := r.Values["e2e_ms"]
		if !ok1 || !ok2 || e2e <= 0 {
			continue
		}
		out[i] = sdk.Values{SharePct: 100 * ttft / e2e, DecodeMS: e2e - ttft}
	}
	return out, nil, nil // no corpus values
}

func main() {} // required by package main; never called
