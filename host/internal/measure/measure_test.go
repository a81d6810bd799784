package measure

import (
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/metric"
)

func ms(v float64) int64 { return int64(v * 1e6) }

func TestFromTrace(t *testing.T) {
	tests := []struct {
		name    string
		tr      gen.Trace
		want    Expect
		values  map[string]float64
		problem string // substring of the first problem, "" for valid
	}{
		{
			name: "three tokens",
			tr: gen.Trace{TokenizeNS: ms(1), PromptTokens: []int{100}, TokenNS: []int64{ms(200), ms(210), ms(230)},
				OutputIDs: [][]int64{{1, 2, 3}}, RunNS: []int64{ms(190), ms(9), ms(19)}},
			want: Expect{NewTokens: 3, Batch: 1},
			values: map[string]float64{
				metric.TTFT: 200, metric.E2E: 230, metric.TPOT: 15, metric.ITL: 15,
				metric.DecodeTPS: 2 / 0.030, metric.PrefillTPS: 500, metric.OutputTPS: 3 / 0.230,
				metric.TokenizeMS: 1, metric.OutsideRun: 100 * (230 - 218) / 230.0,
			},
		},
		{
			name:    "too few tokens",
			tr:      gen.Trace{TokenNS: []int64{ms(1), ms(2)}, OutputIDs: [][]int64{{1, 2}}},
			want:    Expect{NewTokens: 3, Batch: 1},
			problem: "generated 2 tokens, 3 asked",
		},
		{
			name:    "E2E before TTFT",
			tr:      gen.Trace{TokenNS: []int64{ms(5), ms(4)}, OutputIDs: [][]int64{{1, 2}}},
			want:    Expect{NewTokens: 2, Batch: 1},
			problem: "backwards",
		},
		{
			name:    "missing batch row",
			tr:      gen.Trace{TokenNS: []int64{ms(5), ms(6)}, OutputIDs: [][]int64{{1, 2}}},
			want:    Expect{NewTokens: 2, Batch: 2},
			problem: "1 output rows, batch 2",
		},
		{
			name:    "no tokens",
			tr:      gen.Trace{},
			want:    Expect{NewTokens: 0, Batch: 0},
			problem: "0 output rows",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := FromTrace(&tc.tr, tc.want)
			if tc.problem == "" {
				if !r.Valid() {
					t.Fatalf("problems: %v", r.Problems)
				}
			} else if len(r.Problems) == 0 || !strings.Contains(strings.Join(r.Problems, "; "), tc.problem) {
				t.Fatalf("problems %q, want one containing %q", r.Problems, tc.problem)
			}
			for id, want := range tc.values {
				if got := r.Values[id]; got < want-1e-9*want-1e-9 || got > want+1e-9*want+1e-9 {
					t.Errorf("%s = %v, want %v", id, got, want)
				}
			}
			if tc.problem == "" && len(r.ITLms) != len(tc.tr.TokenNS)-1 {
				t.Errorf("%d gaps for %d tokens", len(r.ITLms), len(tc.tr.TokenNS))
			}
		})
	}
}

func TestSamplerSeesAllocation(t *testing.T) {
	// Return any earlier test's freed heap first: reused pages that are
	// already resident would not raise RSS when touched again.
	debug.FreeOSMemory()
	s := StartSampler(5*time.Millisecond, true)
	before := RSS()
	buf := make([]byte, 200<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	time.Sleep(20 * time.Millisecond)
	peak, series := s.Stop()
	if peak < before+150<<20 {
		t.Errorf("peak %d MiB, want ≥ %d MiB (RSS before + most of a touched 200 MiB buffer)", peak>>20, (before+150<<20)>>20)
	}
	if len(series) < 2 {
		t.Errorf("%d samples kept", len(series))
	}
	buf[0] = 2 // keep buf alive past the sampling
}
