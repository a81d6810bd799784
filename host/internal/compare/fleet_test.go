package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
)

// onGPU is the fixture as a GPU machine would have measured it: TTFT
// halved, on another host with a GPU and a label.
func onGPU() *result.Result {
	r := resulttest.Phase2()
	r.Env.Hostname, r.Env.GPU = "gpu-1", "NVIDIA H200"
	r.Labels = map[string]string{"pool": "gpu"}
	for i := range r.Cases {
		for j := range r.Cases[i].Runs {
			r.Cases[i].Runs[j].Values[metric.TTFT] /= 2
		}
	}
	return r
}

func TestFleetSideBySide(t *testing.T) {
	cpu, gpu := resulttest.Phase2(), onGPU()
	f, err := NewFleet(append(Members(cpu), Members(gpu)...), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Members) != 2 || f.Members[0].Name != "bench-1" || f.Members[1].Name != "gpu-1" || len(f.Cases) != len(cpu.Cases) {
		t.Fatalf("members %+v, %d cases", f.Members, len(f.Cases))
	}
	for _, fc := range f.Cases {
		for _, row := range fc.Rows {
			if row.Metric != metric.TTFT {
				continue
			}
			cc, _ := cpu.Case(fc.Case)
			want := Center{}
			if s, ok := cc.Stats[metric.TTFT]; ok {
				want.Median = s.P50
			}
			if got := row.Cells[0].Center.Median; math.Abs(got-want.Median) > 1e-9 {
				t.Errorf("%s: cpu median %v, want the case's p50 %v", fc.Case, got, want.Median)
			}
			if r := row.Cells[1].Ratio; math.Abs(r-0.5) > 1e-9 {
				t.Errorf("%s: gpu/cpu TTFT ratio %v, want 0.5", fc.Case, r)
			}
		}
	}
	var md, text, js bytes.Buffer
	for format, w := range map[string]*bytes.Buffer{"md": &md, "text": &text, "json": &js} {
		if err := f.WriteFormat(w, format); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"## Fleet: 2 machines", "| gpu-1 | AMD EPYC 7B13 | 2 | NVIDIA H200 | pool=gpu |", "### p512-n128-b1", "(0.500×)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if !regexp.MustCompile(`(?m)^  gpu-1 +AMD EPYC 7B13, 2 cores, NVIDIA H200; pool=gpu +phase2-latency`).MatchString(text.String()) {
		t.Errorf("text lacks the gpu machine's environment:\n%s", text.String())
	}
	var back Fleet
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Cases) != len(f.Cases) {
		t.Errorf("json: %v", err)
	}
}

// A merged result is one member per machine type: the hosts of one pool
// are one column.
func TestFleetMembersOfMergedResults(t *testing.T) {
	merged := func(pool string, scale float64) *result.Result {
		r := resulttest.Whole()
		r.Environments = nil
		for i, h := range resulttest.ShardHosts {
			id := "shard-" + string(rune('1'+i))
			r.Environments = append(r.Environments, result.Environment{ID: id, Env: r.Env, Labels: map[string]string{"pool": pool}})
			r.Environments[i].Env.Hostname = pool + "-" + h
			r.Cases[i].Environment = id
			for j := range r.Cases[i].Runs {
				r.Cases[i].Runs[j].Values[metric.TTFT] *= scale
			}
		}
		return r
	}
	a, b := Members(merged("x86", 1)), Members(merged("arm", 2))
	if len(a) != 1 || a[0].Name != "pool=x86" || len(a[0].Cases) != 3 || !strings.Contains(a[0].Source, "shard-1, shard-2, shard-3") {
		t.Fatalf("members of a one-pool merge: %+v", a)
	}
	f, err := NewFleet(append(a, b...), []string{metric.TTFT})
	if err != nil {
		t.Fatal(err)
	}
	for _, fc := range f.Cases {
		if r := fc.Rows[0].Cells[1].Ratio; math.Abs(r-2) > 1e-9 {
			t.Errorf("%s: ratio %v, want 2", fc.Case, r)
		}
	}
	// Shards of one merge on different machine types run different cases:
	// nothing to set side by side.
	split := resulttest.Whole()
	for i := range split.Cases {
		id := "shard-" + string(rune('1'+i))
		split.Environments = append(split.Environments, result.Environment{ID: id, Env: split.Env, Labels: map[string]string{"pool": resulttest.ShardPools[i]}})
		split.Cases[i].Environment = id
	}
	if _, err := NewFleet(Members(split), nil); err == nil || !strings.Contains(err.Error(), "share no case") {
		t.Errorf("got %v", err)
	}
	if _, err := NewFleet(Members(resulttest.Phase2()), nil); err == nil || !strings.Contains(err.Error(), "two machines or more") {
		t.Errorf("got %v", err)
	}
}
