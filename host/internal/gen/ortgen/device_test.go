package ortgen

import (
	"errors"
	"math"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// withDecoder returns a generator for the same model as g whose steps run
// through an ortcuda decoder (IoBinding, presents chained as the next past)
// on the given provider.
func withDecoder(t *testing.T, g *Generator, opts Options, cuda bool) (*Generator, error) {
	t.Helper()
	rt, err := Init(opts.LibPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := openDecoder(g.lay, opts, rt, cuda)
	if err != nil {
		return nil, err
	}
	dg := &Generator{dev: d, lay: g.lay, info: g.info, inNames: g.inNames}
	t.Cleanup(func() { dg.Close() })
	return dg, nil
}

// sameGeneration runs each request on both generators and wants the same
// ids and the same last-position logits after every request.
func sameGeneration(t *testing.T, want, got *Generator, reqs map[string]gen.Request, tol float64) {
	t.Helper()
	for name, req := range reqs {
		w := generate(t, want, req)
		wantLogits := lastLogits(want, req)
		g := generate(t, got, req)
		if d := cmp.Diff(w.OutputIDs, g.OutputIDs); d != "" {
			t.Errorf("%s: ids (-host KV +device KV):\n%s", name, d)
		}
		if len(g.RunNS) != len(w.RunNS) || g.RunNS[0] <= 0 {
			t.Errorf("%s: run times %v, want %d positive", name, g.RunNS, len(w.RunNS))
		}
		worst := 0.0
		for r, row := range lastLogits(got, req) {
			for j, x := range row {
				worst = max(worst, math.Abs(float64(x-wantLogits[r][j])))
			}
		}
		if worst > tol {
			t.Errorf("%s: last logits differ by up to %g (> %g)", name, worst, tol)
		}
	}
}

// lastLogits copies the logits the last step left for each row, where
// the loop reads them (logitsRow): position seq − 1, and the last step of a
// request with more than one token has seq 1.
func lastLogits(g *Generator, req gen.Request) [][]float32 {
	seq := 1
	if req.NewTokens == 1 {
		for _, p := range req.Prompts {
			seq = max(seq, len(p))
		}
	}
	var out [][]float32
	for r := range req.Prompts {
		out = append(out, append([]float32(nil), g.logitsRow(&g.buf, r, seq-1, seq)...))
	}
	return out
}

var decoderRequests = map[string]gen.Request{
	"prefill only":    {Prompts: [][]int64{{17, 30, 4, 9, 25, 1, 42}}, NewTokens: 1},
	"greedy":          {Prompts: [][]int64{{17, 30, 4, 9, 25, 1, 42}}, NewTokens: 12},
	"left-padded":     {Prompts: [][]int64{{5, 6, 40, 2, 3}, {7, 8}}, NewTokens: 9},
	"seeded sampling": {Prompts: [][]int64{{11, 12, 13}}, NewTokens: 10, Sampling: gen.Sampling{Temperature: 0.8, TopK: 20, TopP: 0.9, Seed: 3}},
}

// TestDecoderMatchesHostKV: the device-resident cache path (ortcuda's
// IoBinding with presents bound as the next step's past, here on the CPU
// provider) generates what the Go-memory double buffer generates, on the
// built-in tiny GPT-2 in both graph styles and on the PyTorch-exported
// grouped-query fixture, request after request on one decoder.
func TestDecoderMatchesHostKV(t *testing.T) {
	opts := Options{IntraOpThreads: 1}
	for _, style := range []string{model.StyleOptimum, model.StyleFused} {
		t.Run(style, func(t *testing.T) {
			host, _ := openBuiltinTiny(t, style)
			dev, err := withDecoder(t, host, opts, false)
			if err != nil {
				t.Fatal(err)
			}
			sameGeneration(t, host, dev, decoderRequests, 1e-5)
		})
	}
	t.Run("torch fixture", func(t *testing.T) {
		host := openFixture(t)
		dev, err := withDecoder(t, host, opts, false)
		if err != nil {
			t.Fatal(err)
		}
		sameGeneration(t, host, dev, decoderRequests, 1e-5)
	})
}

// TestCUDA generates on the GPU with the device-resident cache and compares
// with the CPU. It skips, saying why, where the CUDA provider or a GPU is
// missing (CI); PIPE_REQUIRE_CUDA=1 turns the skip into a failure.
func TestCUDA(t *testing.T) {
	var host *Generator
	for _, style := range []string{model.StyleOptimum, model.StyleFused} {
		host, _ = openBuiltinTiny(t, style)
		dev, err := withDecoder(t, host, Options{Device: "cuda"}, true)
		if errors.Is(err, ErrNoCUDA) {
			if os.Getenv("PIPE_REQUIRE_CUDA") == "1" {
				t.Fatal(err)
			}
			t.Skipf("no CUDA here (set PIPE_REQUIRE_CUDA=1 to fail instead): %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if p := dev.dev.LogitsPath(); p != "device+cudaMemcpy" {
			t.Errorf("logits path %q: want device+cudaMemcpy (the CUDA runtime was not found in the process)", p)
		}
		// TF32 matrix products on the GPU differ from the CPU's fp32 in
		// the fourth digit; greedy ids on the tiny model stay the same.
		t.Run(style, func(t *testing.T) {
			sameGeneration(t, host, dev, map[string]gen.Request{"greedy": decoderRequests["greedy"], "left-padded": decoderRequests["left-padded"]}, 5e-2)
		})
	}

	// This process now holds a CUDA context and the model: NVML lists it.
	gpu, err := measure.OpenGPU(0)
	if err != nil {
		t.Fatalf("CUDA works but NVML does not: %v", err)
	}
	defer gpu.Close()
	b, found, err := gpu.ProcessBytes()
	switch {
	case err != nil:
		t.Error(err)
	case !found:
		t.Logf("NVML does not list this process (sandboxed pids?); no GPU memory figure on %s", gpu.Name)
	case b < host.info.ModelBytes:
		t.Errorf("GPU memory of this process %d bytes < model file %d bytes", b, host.info.ModelBytes)
	default:
		t.Logf("%s: this process holds %.1f MiB of GPU memory (model file %.1f MiB)", gpu.Name, float64(b)/(1<<20), float64(host.info.ModelBytes)/(1<<20))
	}
}

func TestDeviceOptions(t *testing.T) {
	o := Options{Device: "cuda", DeviceID: 2, Spinning: true, SessionConfig: map[string]string{
		"session.set_denormal_as_zero": "1",
		"cuda.arena_extend_strategy":   "kSameAsRequested",
		"cuda.gpu_mem_limit":           "1073741824",
		KVCacheKey:                     "device",
	}}
	wantEntries := map[string]string{
		"session.intra_op.allow_spinning": "1",
		"session.inter_op.allow_spinning": "1",
		"session.set_denormal_as_zero":    "1",
	}
	if d := cmp.Diff(wantEntries, o.configEntries()); d != "" {
		t.Errorf("config entries (-want +got):\n%s", d)
	}
	wantProvider := map[string]string{"device_id": "2", "arena_extend_strategy": "kSameAsRequested", "gpu_mem_limit": "1073741824"}
	if d := cmp.Diff(wantProvider, o.providerOptions()); d != "" {
		t.Errorf("provider options (-want +got):\n%s", d)
	}

	tests := []struct {
		name    string
		device  string
		kv      string
		want    bool
		wantErr string
	}{
		{"cuda default", "cuda", "", true, ""},
		{"cuda device", "cuda", "device", true, ""},
		{"cuda host", "cuda", "host", false, ""},
		{"cpu", "cpu", "", false, ""},
		{"cpu asks device", "", "device", false, ""},
		{"typo", "cuda", "gpu", false, `pipe.kv_cache = "gpu": use "device" or "host"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Device: tc.device, SessionConfig: map[string]string{KVCacheKey: tc.kv}}
			got, err := o.kvOnDevice()
			if tc.wantErr != "" {
				checkErr(t, err, tc.wantErr)
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("kvOnDevice() = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestCUDAErrors: without the CUDA provider both cache placements fail with
// one line that wraps ErrNoCUDA; a bad cache placement is refused first.
func TestCUDAErrors(t *testing.T) {
	lay := fixtureLayout(t, torchFixture)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"device cache", Options{Device: "cuda"}, "CUDA execution provider not available: "},
		{"host cache", Options{Device: "cuda", SessionConfig: map[string]string{KVCacheKey: "host"}}, "CUDA execution provider not available: "},
		{"device id", Options{Device: "cuda", DeviceID: -1}, "device id -1 < 0: use 0 for the first GPU"},
		{"bad placement", Options{Device: "cuda", SessionConfig: map[string]string{KVCacheKey: "vram"}}, `pipe.kv_cache = "vram"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := openLayout(lay, tc.opts)
			if err == nil {
				g.Close()
				if tc.opts.Device == "cuda" && tc.opts.DeviceID >= 0 {
					t.Skip("this machine has CUDA: the error path cannot be exercised")
				}
			}
			checkErr(t, err, tc.want)
			if tc.want == "CUDA execution provider not available: " && !errors.Is(err, ErrNoCUDA) {
				t.Errorf("error %v does not wrap ErrNoCUDA", err)
			}
		})
	}
}
