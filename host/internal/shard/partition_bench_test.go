package shard

import (
	"fmt"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
)

// BenchmarkPartition: plans of synthetic cases of unequal cost, up to the
// largest a pipeline may expand to and the most shards Parse accepts.
func BenchmarkPartition(b *testing.B) {
	for _, sz := range [][2]int{{60, 8}, {1000, 64}, {10000, 1024}, {10000, 10000}} {
		p := &pipeline.Plan{Generate: pipeline.GenerateSpec{Runs: 20}}
		for i := 0; i < sz[0]; i++ {
			p.Cases = append(p.Cases, pipeline.CaseSpec{ID: fmt.Sprint("c", i), PromptTokens: 16 + i%500, NewTokens: 16 + i%37, Batch: 1 + i%8})
		}
		b.Run(fmt.Sprintf("cases=%d/N=%d", sz[0], sz[1]), func(b *testing.B) {
			for b.Loop() {
				Partition(p, sz[1])
			}
		})
	}
}
