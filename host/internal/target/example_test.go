package target_test

import (
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
	"github.com/pipe-bench/pipe/host/internal/target"
)

func ExampleEvaluate() {
	t, err := target.Parse("ttft_ms.max < 0.5s")
	if err != nil {
		panic(err)
	}
	t.Case = "p5*" // a glob over case IDs; "" judges every case
	for _, v := range target.Evaluate(t, resulttest.Phase2()) {
		fmt.Printf("%s at %s: %.1f %s %s %.0f %s → pass=%v\n", v.Target, v.Case, v.Observed, v.Unit, v.Op, v.Threshold, v.Unit, v.Pass)
	}
	// Output: ttft_ms.max < 0.5s at p512-n128-b1: 702.5 ms < 500 ms → pass=false
}

func ExampleParse_error() {
	_, err := target.Parse("ttft_ms.p95 < 25MiB")
	fmt.Println(err)
	// Output: target "ttft_ms.p95 < 25MiB": column 17: ttft_ms is a time in ms; "MiB" is a memory unit (use ns, us, ms, s)
}
