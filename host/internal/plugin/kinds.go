package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// RunInput is one run as a metric plugin receives it: the case's params,
// the run's built-in values, per-token times (ms since request start),
// inter-token latencies, prompt and output lengths. Metric sends only the
// values and arrays the plugin's manifest asks for.
type RunInput = abi.Run

// RunInputOf builds a RunInput from a result's case and one of its runs.
func RunInputOf(c *result.Case, r *result.Run) RunInput { return abi.RunOf(c, r) }

// Metric sends batch to the plugin's pipe_metric in one call and returns a
// map of values per run (in batch order) and the corpus values it computed
// over the batch. Every returned ID is one the manifest declared.
func (p *Plugin) Metric(ctx context.Context, batch []RunInput) (perRun []map[string]float64, corpus map[string]float64, err error) {
	if !p.manifest.Has(abi.KindMetric) {
		return nil, nil, fmt.Errorf("plugin %s: %w: it is not a metric plugin (kinds: %v)", p.label, ErrKind, p.manifest.Kinds)
	}
	out, err := p.call(ctx, abi.ExportMetric, abi.EncodeBatch(batch, p.proj), p.maxOutput(DefaultMaxOutput))
	if err != nil {
		return nil, nil, err
	}
	mo, err := abi.DecodeMetricOutput(out)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin %s: %s: %w: %v", p.label, abi.ExportMetric, ErrBadOutput, err)
	}
	if len(mo.PerRun) != len(batch) {
		return nil, nil, fmt.Errorf("plugin %s: %s: %w: %d value sets for %d runs", p.label, abi.ExportMetric, ErrBadOutput, len(mo.PerRun), len(batch))
	}
	declared := func(id string) bool {
		return slices.ContainsFunc(p.manifest.Metrics, func(d metric.Def) bool { return d.ID == id })
	}
	check := func(vs map[string]float64) error {
		for id := range vs {
			if !declared(id) {
				return fmt.Errorf("plugin %s: %s: %w: undeclared metric %q (declare it in the plugin's Metrics)", p.label, abi.ExportMetric, ErrBadOutput, id)
			}
		}
		return nil
	}
	for _, vs := range mo.PerRun {
		if err := check(vs); err != nil {
			return nil, nil, err
		}
	}
	if err := check(mo.Corpus); err != nil {
		return nil, nil, err
	}
	return mo.PerRun, mo.Corpus, nil
}

// Target sends the result (without per-token arrays unless the plugin asks
// for them) to pipe_target and returns its verdicts, Source set to the
// plugin's name.
func (p *Plugin) Target(ctx context.Context, r *result.Result) ([]result.Verdict, error) {
	if !p.manifest.Has(abi.KindTarget) {
		return nil, fmt.Errorf("plugin %s: %w: it is not a target plugin (kinds: %v)", p.label, ErrKind, p.manifest.Kinds)
	}
	in, err := p.encodeResult(r)
	if err != nil {
		return nil, err
	}
	out, err := p.call(ctx, abi.ExportTarget, in, p.maxOutput(DefaultMaxOutput))
	if err != nil {
		return nil, err
	}
	vs, err := DecodeTargetOutput(out)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %s: %w: %v", p.label, abi.ExportTarget, ErrBadOutput, err)
	}
	for i := range vs {
		vs[i].Source = p.manifest.Name
	}
	return vs, nil
}

// DecodeTargetOutput decodes and checks pipe_target's output: every
// verdict names its target and metric.
func DecodeTargetOutput(b []byte) ([]result.Verdict, error) {
	var to struct {
		Verdicts *[]result.Verdict `json:"verdicts"`
	}
	if err := json.Unmarshal(b, &to); err != nil {
		return nil, fmt.Errorf("verdicts are not JSON: %v", err)
	}
	if to.Verdicts == nil {
		return nil, fmt.Errorf(`no "verdicts" list`)
	}
	for i, v := range *to.Verdicts {
		if v.Target == "" || v.Metric == "" {
			return nil, fmt.Errorf("verdict %d: target and metric must be set", i)
		}
	}
	return *to.Verdicts, nil
}

// Report is a rendered report file.
type Report struct {
	Format    string // the format name a pipeline lists, e.g. "junit"
	FileName  string // e.g. "junit.xml"
	MediaType string // e.g. "application/xml"
	Body      []byte
}

// Report sends the result to pipe_report and returns the file it wrote.
func (p *Plugin) Report(ctx context.Context, r *result.Result) (Report, error) {
	if !p.manifest.Has(abi.KindReport) {
		return Report{}, fmt.Errorf("plugin %s: %w: it is not a report plugin (kinds: %v)", p.label, ErrKind, p.manifest.Kinds)
	}
	in, err := p.encodeResult(r)
	if err != nil {
		return Report{}, err
	}
	out, err := p.call(ctx, abi.ExportReport, in, p.maxOutput(DefaultMaxReportOutput))
	if err != nil {
		return Report{}, err
	}
	f := p.manifest.Report
	return Report{Format: f.Format, FileName: f.FileName, MediaType: f.MediaType, Body: out}, nil
}

// encodeResult marshals r as the plugin should see it (abi.EncodeResult).
func (p *Plugin) encodeResult(r *result.Result) ([]byte, error) {
	b, err := abi.EncodeResult(r, p.proj)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: encode result: %w", p.label, err)
	}
	return b, nil
}

func (p *Plugin) maxOutput(def int) int {
	if p.spec.MaxOutput > 0 {
		return p.spec.MaxOutput
	}
	return def
}
