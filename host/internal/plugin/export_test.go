package plugin

import (
	"context"
	"io/fs"

	"github.com/pipe-bench/pipe/sdk/abi"
)

// CallMetricRaw sends input to pipe_metric as is, for tests and benchmarks
// that compare encodings.
func (p *Plugin) CallMetricRaw(ctx context.Context, input []byte) ([]byte, error) {
	return p.call(ctx, abi.ExportMetric, input, DefaultMaxOutput)
}

// GrantFS is the file system a plugin granted dir sees, and its closer.
func GrantFS(dir string) (fs.FS, func(), error) {
	roots, err := openGrants([]string{dir})
	if err != nil {
		return nil, nil, err
	}
	return beneath{roots[0].FS()}, func() { closeRoots(roots) }, nil
}
