package runner

import (
	"fmt"
	"sync"

	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// watchGPU samples this process's GPU memory (NVML) while a CUDA plan runs
// and returns the function that records the peak in the result: the
// device's name in Env.GPU and the peak in Memory.GPUPeakBytes. Where NVML
// cannot give a figure the result says why in a warning; CPU plans get a
// function that does nothing. The function stops sampling on its first call;
// call it with nil to stop without recording (deferred, for early returns).
func watchGPU(plan *pipeline.Plan) func(*result.Result) {
	if plan.Model.Device != "cuda" {
		return func(*result.Result) {}
	}
	g, err := measure.OpenGPU(plan.Model.DeviceID)
	if err != nil {
		return func(res *result.Result) {
			if res != nil {
				res.Warnings = append(res.Warnings, "GPU memory: "+err.Error())
			}
		}
	}
	s := measure.StartGPUSampler(g, 0)
	var once sync.Once
	return func(res *result.Result) {
		var peak int64
		once.Do(func() {
			peak, err = s.Stop()
			g.Close()
		})
		if res == nil {
			return
		}
		res.Env.GPU = fmt.Sprintf("%s (%.0f GiB)", g.Name, float64(g.Total)/(1<<30))
		if err != nil {
			res.Warnings = append(res.Warnings, "GPU memory: "+err.Error())
			return
		}
		if res.Memory == nil {
			res.Memory = &result.Memory{LoadRSSDelta: res.Model.LoadRSSDelta, LoadPeakRSS: res.Model.LoadPeakRSS, SessionOptions: plan.Model.Options}
		}
		res.Memory.GPUPeakBytes = peak
	}
}
