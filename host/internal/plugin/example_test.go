package plugin_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
	"github.com/pipe-bench/pipe/sdk/sdktest"
)

// A metric plugin from source to values: build it, load it on the shared
// compilation cache, send it a case's runs.
func Example() {
	ctx := context.Background()
	wasm := filepath.Join(assets.CacheDir(), "plugins-test", "jitter.wasm")
	if _, err := plugin.Build(ctx, filepath.Join(repoRoot(), "plugins", "jitter"), wasm); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	h, err := plugin.NewHost(ctx, plugin.HostOptions{CacheDir: filepath.Join(assets.CacheDir(), "wazero")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer h.Close(ctx)
	p, err := h.Load(ctx, pipeline.PluginSpec{Name: "jitter", Path: wasm, Trusted: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for _, d := range p.Manifest().Metrics {
		fmt.Printf("%s [%s, better %s]\n", d.ID, d.Unit, d.Better)
	}
	res := sdktest.FixtureResult()
	c := &res.Cases[0]
	var batch []plugin.RunInput
	for i := range c.Runs {
		batch = append(batch, plugin.RunInputOf(c, &c.Runs[i]))
	}
	perRun, corpus, err := p.Metric(ctx, batch)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Printf("run 0: decode slowdown %.3f×, 10th token at %.1f ms\n", perRun[0]["jitter.decode_slowdown"], perRun[0]["jitter.ttt10_ms"])
	fmt.Printf("case: pooled p99 gap %.1f ms\n", corpus["jitter.itl_p99_ms"])
	// Output:
	// jitter.itl_cv [1, better lower]
	// jitter.decode_slowdown [x, better lower]
	// jitter.ttt10_ms [ms, better lower]
	// jitter.itl_p99_ms [ms, better lower]
	// run 0: decode slowdown 1.277×, 10th token at 143.6 ms
	// case: pooled p99 gap 13.0 ms
}
