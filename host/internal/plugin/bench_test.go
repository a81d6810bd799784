package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// syntheticBatch is runs × tokens of plausible timings: TTFT 40 ms plus
// the run index, gaps of 20 ms with a slow drift.
func syntheticBatch(runs, tokens int) []plugin.RunInput {
	batch := make([]plugin.RunInput, runs)
	for i := range batch {
		tok := make([]float64, tokens)
		itl := make([]float64, tokens-1)
		tok[0] = 40 + float64(i%10)
		for j := 1; j < tokens; j++ {
			itl[j-1] = 20 + 0.01*float64(j) + 0.5*math.Sin(float64(i+j))
			tok[j] = tok[j-1] + itl[j-1]
		}
		batch[i] = plugin.RunInput{Case: fmt.Sprintf("p128-n%d-b1", tokens), Index: i, PromptTokens: 128, OutputTokens: tokens,
			Values: map[string]float64{"ttft_ms": tok[0], "e2e_ms": tok[tokens-1]}, TokenMS: tok, ITLms: itl}
	}
	return batch
}

// TestRawABI: a plugin written against the raw ABI, without the SDK, works,
// and reads the same values from a JSON batch as from the binary frame.
func TestRawABI(t *testing.T) {
	p, err := load(t, newHost(t), "host/internal/plugin/testdata/rawabi", pipeline.PluginSpec{})
	if err != nil {
		t.Fatal(err)
	}
	batch := syntheticBatch(20, 32)
	perRun, _, err := p.Metric(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(map[string]any{"runs": batch})
	out, err := p.CallMetricRaw(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := abi.DecodeMetricOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(perRun, fromJSON.PerRun); d != "" {
		t.Errorf("binary vs JSON batch (-binary +json):\n%s", d)
	}
	if len(perRun) != 20 || perRun[3]["rawabi.mean_itl_ms"] < 20 {
		t.Errorf("values = %v", perRun[3])
	}
}

// BenchmarkMetric1000x256 is the end-to-end figure: a metric plugin
// (jitter) over 1,000 runs × 256 token timestamps, encode → wasm → decode,
// with termination checks on (and off, for trusted plugins).
func BenchmarkMetric1000x256(b *testing.B) {
	batch := syntheticBatch(1000, 256)
	for _, trusted := range []bool{false, true} {
		b.Run(fmt.Sprintf("trusted=%v", trusted), func(b *testing.B) {
			p, err := load(b, newHost(b), "plugins/jitter", pipeline.PluginSpec{Trusted: trusted})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := p.Metric(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBatchEncoding measures the choice of encoding: the same
// 1,000 × 256 batch (values, token times, gaps) as JSON and as the binary
// frame, decoded inside wasm by the raw-ABI plugin (termination checks on),
// and natively for reference.
func BenchmarkBatchEncoding(b *testing.B) {
	batch := syntheticBatch(1000, 256)
	bin := abi.EncodeBatch(batch, abi.Projection{Values: []string{"ttft_ms", "e2e_ms"}, TokenMS: true, ITL: true})
	js, _ := json.Marshal(map[string]any{"runs": batch})
	inputs := []struct {
		name string
		in   []byte
	}{{"json", js}, {"binary", bin}}
	p, err := load(b, newHost(b), "host/internal/plugin/testdata/rawabi", pipeline.PluginSpec{})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range inputs {
		b.Run("wasm/"+in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.in)))
			for b.Loop() {
				if _, err := p.CallMetricRaw(context.Background(), in.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("native/json", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			var doc struct{ Runs []abi.Run }
			if err := json.Unmarshal(js, &doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("native/binary", func(b *testing.B) {
		b.SetBytes(int64(len(bin)))
		for b.Loop() {
			if _, err := abi.DecodeBatch(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLoad is plugin start-up: host, compile (from the on-disk cache,
// or cold), instantiate, _initialize, describe, configure.
func BenchmarkLoad(b *testing.B) {
	path := buildPlugin(b, "plugins/jitter")
	cacheDir := filepath.Join(assets.CacheDir(), "wazero")
	for _, bc := range []struct {
		name  string
		cache string
	}{{"cached", cacheDir}, {"cold", ""}} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.cache != "" { // warm it
				h, _ := plugin.NewHost(context.Background(), plugin.HostOptions{CacheDir: bc.cache})
				if _, err := h.Load(context.Background(), pipeline.PluginSpec{Name: "jitter", Path: path}); err != nil {
					b.Fatal(err)
				}
				h.Close(context.Background())
			}
			for b.Loop() {
				h, err := plugin.NewHost(context.Background(), plugin.HostOptions{CacheDir: bc.cache})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := h.Load(context.Background(), pipeline.PluginSpec{Name: "jitter", Path: path}); err != nil {
					b.Fatal(err)
				}
				h.Close(context.Background())
			}
		})
	}
}
