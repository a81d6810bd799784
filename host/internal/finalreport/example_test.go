package finalreport_test

import (
	"context"
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/finalreport"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
)

// A phase 5 plan names earlier results by role; Build reads them (here from
// the test fixture's output root) and Analyze says what they show.
func ExampleBuild() {
	plan := &pipeline.Plan{
		Name:       "phase5-report",
		Inputs:     map[string]string{"memory": "latest:phase3-memory", "gpu": "latest:phase3-memory-gpu"},
		InputOrder: []string{"memory", "gpu"},
	}
	merged, err := finalreport.Build(context.Background(), plan, "testdata/inputs")
	if err != nil {
		fmt.Println(err)
		return
	}
	a := finalreport.Analyze(merged)
	for _, in := range a.Inputs {
		fmt.Printf("%s present=%v\n", in.Role, in.Present)
	}
	fmt.Println(a.Memory.Leaks[0].Verdict)
	// Output:
	// memory present=true
	// gpu present=false
	// no leak
}
