package runner

import (
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/memmodel"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// recordMemoryModel gives every case its predicted memory beside the
// measured (memmodel): rssAfterOpen is the RSS once the model was opened,
// before the first case; the GPU peak is the run's, when it was sampled.
func recordMemoryModel(plan *pipeline.Plan, res *result.Result, rssAfterOpen int64) {
	params := make([]result.CaseParams, len(res.Cases))
	for i := range res.Cases {
		params[i] = res.Cases[i].Params
	}
	deviceCache := plan.Model.Device == "cuda" && plan.Model.Options[ortgen.KVCacheKey] != "host"
	var gpuPeak int64
	if res.Memory != nil {
		gpuPeak = res.Memory.GPUPeakBytes
	}
	for i, p := range memmodel.Predict(res.Model, params, deviceCache) {
		c := &res.Cases[i]
		memmodel.Measure(&p, res.Model, c, rssAfterOpen, gpuPeak)
		c.MemoryModel = &p
	}
}
