package plugin

import (
	"context"

	"github.com/pipe-bench/pipe/sdk/abi"
)

// CallMetricRaw sends input to pipe_metric as is, for tests and benchmarks
// that compare encodings.
func (p *Plugin) CallMetricRaw(ctx context.Context, input []byte) ([]byte, error) {
	return p.call(ctx, abi.ExportMetric, input, DefaultMaxOutput)
}
