package htmlreport_test

import (
	"io"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/htmlreport"
)

// BenchmarkRenderMerged times rendering the phase 5 page (four inputs,
// 17 charts) from a merged result already in memory.
func BenchmarkRenderMerged(b *testing.B) {
	r := merged(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := htmlreport.Render(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
