package report

import (
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

func TestNoiseCause(t *testing.T) {
	noisy := map[string]stats.Summary{metric.TTFT: {N: 5, Mean: 100, CV: 0.3, P50: 100}}
	tests := []struct {
		name    string
		params  result.CaseParams
		foreign float64
		load    float64
		want    string
		steal   float64
	}{
		{"foreign load", result.CaseParams{Batch: 1, Streams: 1}, 0.8, 1, "foreign CPU load 0.80 cores", 0},
		// The hypervisor's steal is named apart from other processes.
		{"steal time", result.CaseParams{Batch: 1, Streams: 1}, 0.05, 1, "the hypervisor stole 0.60 cores (steal time) during the case, other processes used 0.05", 0.6},
		{"foreign load beside less steal", result.CaseParams{Batch: 1, Streams: 1}, 0.8, 1, "foreign CPU load 0.80 cores", 0.3},
		{"own streams oversubscribe", result.CaseParams{Batch: 1, Streams: 4}, 0.01, 8.9, "4 streams × 2 intra-op threads = 8 threads on 2 cores", 0},
		{"load beyond pipe's own", result.CaseParams{Batch: 1, Streams: 1}, 0.1, 4.9, "load average 4.9 on 2 cores", 0},
		// Nothing measured: no cause is guessed (it once named frequency,
		// thermal and memory placement, none of which pipe measures).
		{"nothing measured", result.CaseParams{Batch: 1, Streams: 1}, 0, 1.5, "no foreign load, steal or outliers measured, so the cause was not measured", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &result.Result{Env: result.Env{Cores: 2, LoadDuring: tc.load}, Cases: []result.Case{{ID: "c", Params: tc.params, Stats: noisy, ForeignCPU: tc.foreign, StealCPU: tc.steal}}}
			a := Analyze(r, Options{})
			if len(a.Variance) != 1 || !strings.Contains(a.Variance[0].Cause, tc.want) {
				t.Errorf("cause %q, want it to contain %q", a.Variance[0].Cause, tc.want)
			}
		})
	}
}

func TestContendedCasesShareOneFinding(t *testing.T) {
	noisy := map[string]stats.Summary{metric.TTFT: {N: 5, Mean: 100, CV: 0.3, P50: 100}}
	r := &result.Result{Env: result.Env{Cores: 2}, Cases: []result.Case{
		{ID: "b1-s2", Params: result.CaseParams{Batch: 1, Streams: 2}, Stats: noisy},
		{ID: "b1-s4", Params: result.CaseParams{Batch: 1, Streams: 4}, Stats: noisy},
	}}
	var variance []string
	for _, f := range Analyze(r, Options{}).Findings {
		if f.Kind == "variance" {
			variance = append(variance, f.Text)
		}
	}
	if len(variance) != 1 || !strings.Contains(variance[0], "2 concurrent case(s)") || !strings.Contains(variance[0], "b1-s2, b1-s4") {
		t.Errorf("variance findings %q, want one naming both contended cases", variance)
	}
}

func TestBusyBeforeNeedsForeignCPUInTheFirstCase(t *testing.T) {
	for _, tc := range []struct {
		foreign float64
		want    bool
	}{{0.0, false}, {0.6, true}} {
		r := &result.Result{Env: result.Env{Cores: 2, LoadBefore: 2.5}, Cases: []result.Case{{ID: "p128-n64", ForeignCPU: tc.foreign}}}
		got := false
		for _, f := range Analyze(r, Options{}).Findings {
			if f.Kind == "load" {
				got = strings.Contains(f.Text, "p128-n64")
			}
		}
		if got != tc.want {
			t.Errorf("load 2.5 before, %.1f foreign cores in the first case: load finding %v, want %v", tc.foreign, got, tc.want)
		}
	}
}
