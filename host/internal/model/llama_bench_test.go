package model

import (
	"io"
	"testing"
)

// BenchmarkBuildLlama is the builder of each Llama-family preset with
// seeded random weights, writing to io.Discard: weight generation and
// serialisation without the disk (`go test -run X -bench BuildLlama
// -benchtime 1x ./host/model`).
func BenchmarkBuildLlama(b *testing.B) {
	for _, name := range LlamaPresetNames() {
		b.Run(name, func(b *testing.B) {
			c, _ := llamaPreset(name)
			b.SetBytes(4 * llamaParams(c))
			for b.Loop() {
				if err := buildLlama(io.Discard, io.Discard, c, seededWeights(0), Quant{}, StyleOptimum, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuildLlamaToCache is Builtin of each preset, in fp32, fp16 and int4,
// into an empty cache directory: BenchmarkBuildLlama plus quantising and
// writing model.onnx (and .data) to disk. Peak RSS: run one sub-benchmark
// under /usr/bin/time -v, e.g. `-bench 'BuildLlamaToCache/llama-3.2-1b/int4'
// -benchtime 1x`.
func BenchmarkBuildLlamaToCache(b *testing.B) {
	for _, name := range LlamaPresetNames() {
		for _, precision := range []string{PrecisionFP32, PrecisionFP16, PrecisionInt4} {
			b.Run(name+"/"+precision, func(b *testing.B) {
				c, _ := llamaPreset(name)
				b.SetBytes(4 * llamaParams(c))
				for b.Loop() {
					b.StopTimer()
					b.Setenv("PIPE_CACHE", b.TempDir())
					b.StartTimer()
					if _, err := BuiltinWith(name, BuildOptions{Precision: precision}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
