package runner

import (
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
)

func TestWatchGPU(t *testing.T) {
	t.Run("cpu plan records nothing", func(t *testing.T) {
		res := &result.Result{}
		rec := watchGPU(&pipeline.Plan{Model: pipeline.ModelSpec{Device: "cpu"}})
		rec(res)
		rec(nil)
		if res.Env.GPU != "" || res.Memory != nil || len(res.Warnings) != 0 {
			t.Errorf("cpu plan changed the result: %+v", res)
		}
	})
	t.Run("cuda plan without NVML warns", func(t *testing.T) {
		if g, err := measure.OpenGPU(0); err == nil {
			g.Close()
			t.Skip("this machine has an NVIDIA driver")
		}
		res := &result.Result{}
		rec := watchGPU(&pipeline.Plan{Model: pipeline.ModelSpec{Device: "cuda"}})
		rec(nil) // a deferred stop on an early return must not panic
		rec(res)
		if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "GPU memory: GPU memory unavailable: NVML") {
			t.Errorf("warnings %q: want one saying NVML is missing", res.Warnings)
		}
	})
	t.Run("cuda plan on a GPU", func(t *testing.T) {
		g, err := measure.OpenGPU(0)
		if err != nil {
			t.Skipf("no GPU here: %v", err)
		}
		g.Close()
		res := &result.Result{}
		rec := watchGPU(&pipeline.Plan{Model: pipeline.ModelSpec{Device: "cuda"}})
		rec(res)
		rec(nil)
		// No CUDA context in this test process: the GPU is named, the
		// missing figure explained.
		if !strings.Contains(res.Env.GPU, "GiB") || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "does not list process") {
			t.Errorf("GPU %q, warnings %q", res.Env.GPU, res.Warnings)
		}
	})
}
