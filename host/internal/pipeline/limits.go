package pipeline

import (
	"fmt"
	"reflect"

	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/sysinfo"
)

// A countLimit is the largest value a count key takes, and why.
type countLimit struct {
	max int64
	why string
}

// countLimits bounds every integer key of the schema (arrays of tables
// without their index: "case.batch"); TestCountLimitsDocumented holds
// pipelines/README.md's "Limits" table and the schema to it. The decoder
// applies them, so a value from the file, --quick or --set meets the same
// bound. They are far past any useful benchmark and well inside what int64
// totals (cases × runs) and buffer sizes can hold; the memory a case needs
// is checked against the machine apart (checkCaseMemory).
var countLimits = map[string]countLimit{
	"model.device_id":        {255, "a device index"},
	"model.block_size":       {1 << 16, "elements per quantisation block"},
	"model.intra_op_threads": {1024, "threads per session"},
	"model.inter_op_threads": {1024, "threads per session"},
	"sampling.top_k":         {1 << 20, "a vocabulary is smaller"},
	"matrix.prompt_tokens":   {1 << 20, "tokens per prompt"},
	"matrix.new_tokens":      {1 << 20, "tokens per request"},
	"matrix.batch":           {4096, "prompt rows per request"},
	"matrix.streams":         {1024, "concurrent requests"},
	"matrix.threads":         {1024, "threads per session"},
	"case.prompt_tokens":     {1 << 20, "tokens per prompt"},
	"case.new_tokens":        {1 << 20, "tokens per request"},
	"case.batch":             {4096, "prompt rows per request"},
	"case.streams":           {1024, "concurrent requests"},
	"case.threads":           {1024, "threads per session"},
	"warmup.runs":            {10000, "runs per case"},
	"generate.runs":          {100000, "runs per case"},
	"generate.min_runs":      {100000, "runs per case"},
	"generate.max_runs":      {100000, "runs per case"},
	"plugin.memory_mib":      {4096, "a 32-bit WebAssembly memory"},
	"fidelity.runs":          {100000, "runs per case"},
}

// checkCount reports a count above its limit; path may carry indexes.
func checkCount(path string, n int64) error {
	if l, ok := countLimits[indexless(path)]; ok && n > l.max {
		return fmt.Errorf("must be ≤ %d (%s), got %d", l.max, l.why, n)
	}
	return nil
}

// countKeys lists the integer keys (int fields and intList axes) of the
// schema struct t under path, for the test that every one has a limit.
func countKeys(t reflect.Type, path string) []string {
	var out []string
	for _, name := range schemaKeys(t) {
		ft, p := t.Field(schemaFields(t)[name]).Type, join(path, name)
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		switch {
		case ft == intListType || ft.Kind() == reflect.Int:
			out = append(out, p)
		case ft.Kind() == reflect.Struct:
			out = append(out, countKeys(ft, p)...)
		}
	}
	return out
}

// machineMemory is the memory cases must fit in: LoadOptions.MemoryBytes,
// else MemTotal (not MemAvailable: validation must not depend on what the
// page cache holds at the moment); 0 when unknown.
func (l *loader) machineMemory() int64 {
	if l.opts.MemoryBytes > 0 {
		return l.opts.MemoryBytes
	}
	return sysinfo.MemTotal()
}

// caseBuffers is the memory a case's largest buffers take, per the model's
// shape: the logits, batch × positions × vocab float32, and the KV cache,
// 2 × layers × batch × kv_heads × positions × head_dim float32, both per
// stream. A shape the validation does not know counts as 0.
func caseBuffers(c CaseSpec, cfg model.Config) (logits, kv float64) {
	positions := float64(c.PromptTokens + c.NewTokens)
	kvHeads, headDim := cacheShape(cfg)
	streams, batch := float64(max(c.Streams, 1)), float64(max(c.Batch, 1))
	logits = streams * batch * positions * float64(max(cfg.Vocab, 0)) * 4
	kv = streams * 2 * float64(max(cfg.Layers, 0)) * batch * float64(max(kvHeads, 0)) * positions * float64(max(headDim, 0)) * 4
	return logits, kv
}

// checkCaseMemory refuses a case whose buffers exceed the machine's memory,
// naming every factor.
func (l *loader) checkCaseMemory(key string, c CaseSpec, cfg model.Config, source string) {
	mem := l.machineMemory()
	logits, kv := caseBuffers(c, cfg)
	if mem <= 0 || logits+kv <= float64(mem) {
		return
	}
	positions := c.PromptTokens + c.NewTokens
	kvHeads, headDim := cacheShape(cfg)
	per := ""
	if c.Streams > 1 {
		per = fmt.Sprintf(", each × %d streams", c.Streams)
	}
	l.addf(key, "case %s needs %s of buffers, more than this machine's %s (MemTotal): logits %d batch × %d positions × %d vocab × 4 B = %s, KV cache 2 × %d layers × %d batch × %d kv heads × %d positions × %d head dim × 4 B = %s%s, for %s; lower batch, streams or the lengths",
		c.ID, stats.FormatBytes(logits+kv), stats.FormatBytes(float64(mem)), c.Batch, positions, cfg.Vocab, stats.FormatBytes(logits), cfg.Layers, c.Batch, kvHeads, positions, headDim, stats.FormatBytes(kv), per, source)
}

// cacheShape is the KV cache's heads and head width: config.json may give
// only the query heads and the hidden width (multi-head attention).
func cacheShape(cfg model.Config) (kvHeads, headDim int) {
	kvHeads, headDim = cfg.KVHeads, cfg.HeadDim
	if kvHeads <= 0 {
		kvHeads = cfg.Heads
	}
	if headDim <= 0 && cfg.Heads > 0 {
		headDim = cfg.Hidden / cfg.Heads
	}
	return kvHeads, headDim
}
