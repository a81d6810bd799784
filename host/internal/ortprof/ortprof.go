// Package ortprof reads the profile ONNX Runtime writes when a session's
// profiling is on (SessionOptions.EnableProfiling; ortgen.Options.ProfilePrefix)
// and says where a Run's time went.
//
// The file is a JSON array of Chrome trace events. pipe reads two kinds and
// nothing else: each Run is one event of category "Session" named
// "model_run", and each kernel one of category "Node" named
// "<node>_kernel_time" whose args carry op_name and provider; ts and dur are
// microseconds since the profiler started. A kernel belongs to the Run whose
// interval holds its start. The package takes a stand on what a share is:
// a node's or op type's kernel time over all kernel time of the runs
// summarised (so shares add to 1), and beside it the share of Run time
// spent outside every kernel (the executor, allocations, fences, the
// thread pool's hand-offs). A kernel's own time includes its parallel
// section on every intra-op thread, since the CPU provider's sequential
// executor runs one kernel at a time.
//
// Which Runs are a request's prefill and which its decode steps is the
// caller's to say (Phases): the profile itself does not record it.
package ortprof

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Kernel is one node's kernel execution inside a Run.
type Kernel struct {
	Node     string // the node's name (the event name without "_kernel_time")
	Op       string // the op type, e.g. MatMulNBits
	Provider string // e.g. CPUExecutionProvider
	US       int64  // duration in µs
}

// Run is one session Run: its start and duration (µs) and its kernels in
// the order they ran.
type Run struct {
	Start, US int64
	Kernels   []Kernel
}

// KernelUS is the sum of the run's kernel times.
func (r Run) KernelUS() int64 {
	var s int64
	for _, k := range r.Kernels {
		s += k.US
	}
	return s
}

// Profile is one profile file's Runs in the order they started.
type Profile struct {
	Runs []Run
}

type event struct {
	Cat  string `json:"cat"`
	Name string `json:"name"`
	Ph   string `json:"ph"`
	TS   int64  `json:"ts"`
	Dur  int64  `json:"dur"`
	Args struct {
		OpName   string `json:"op_name"`
		Provider string `json:"provider"`
	} `json:"args"`
}

const kernelSuffix = "_kernel_time"

// Read parses the profile at path.
func Read(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	defer f.Close()
	p, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// Parse reads a profile from r.
func Parse(r io.Reader) (*Profile, error) {
	var evs []event
	if err := json.NewDecoder(r).Decode(&evs); err != nil {
		return nil, fmt.Errorf("not ONNX Runtime's profile (a JSON array of trace events): %s: write it with profiling on (pipe bench --profile)", oneLine(err))
	}
	var p Profile
	var kernels []event
	for _, e := range evs {
		switch {
		case e.Cat == "Session" && e.Name == "model_run":
			p.Runs = append(p.Runs, Run{Start: e.TS, US: e.Dur})
		case e.Cat == "Node" && strings.HasSuffix(e.Name, kernelSuffix):
			kernels = append(kernels, e)
		}
	}
	if len(p.Runs) == 0 {
		return nil, errors.New("no model_run event: the session ran no Run while profiling, or this is not ONNX Runtime's profile")
	}
	sort.SliceStable(p.Runs, func(i, j int) bool { return p.Runs[i].Start < p.Runs[j].Start })
	sort.SliceStable(kernels, func(i, j int) bool { return kernels[i].TS < kernels[j].TS })
	ri := 0
	for _, k := range kernels {
		for ri < len(p.Runs) && k.TS >= p.Runs[ri].Start+p.Runs[ri].US {
			ri++
		}
		if ri == len(p.Runs) {
			return nil, fmt.Errorf("kernel %s starts at %d µs, after the last Run ended: the profile is cut short or malformed", k.Name, k.TS)
		}
		if k.TS < p.Runs[ri].Start {
			return nil, fmt.Errorf("kernel %s starts at %d µs, outside every Run: the profile is malformed", k.Name, k.TS)
		}
		p.Runs[ri].Kernels = append(p.Runs[ri].Kernels, Kernel{
			Node: strings.TrimSuffix(k.Name, kernelSuffix), Op: k.Args.OpName, Provider: k.Args.Provider, US: k.Dur,
		})
	}
	return &p, nil
}

// Phases splits the Runs into prefill and decode: sizes are the requests'
// Run counts in order (a request of n tokens runs one prefill and n − 1
// decode steps); the first skip requests (warm-ups) are left out. The sizes
// must account for every Run.
func (p *Profile) Phases(sizes []int, skip int) (prefill, decode []Run, err error) {
	total := 0
	for _, n := range sizes {
		if n < 1 {
			return nil, nil, fmt.Errorf("a request of %d Runs: each runs at least its prefill", n)
		}
		total += n
	}
	if total != len(p.Runs) {
		return nil, nil, fmt.Errorf("the requests ran %d Runs but the profile holds %d: profile a session that ran only those requests", total, len(p.Runs))
	}
	i := 0
	for r, n := range sizes {
		if r >= skip {
			prefill = append(prefill, p.Runs[i])
			decode = append(decode, p.Runs[i+1:i+n]...)
		}
		i += n
	}
	return prefill, decode, nil
}

// Share is one node's or op type's kernel time over the runs summarised.
type Share struct {
	Op    string  `json:"op"`
	Node  string  `json:"node,omitempty"` // empty in a by-op-type table
	MsRun float64 `json:"ms_per_run"`     // mean kernel time per Run
	Share float64 `json:"share"`          // of all kernel time (0–1)
}

// Summary is where one phase's Run time went.
type Summary struct {
	Phase    string  `json:"phase"`
	Runs     int     `json:"runs"`
	RunMs    float64 `json:"run_ms"`    // mean Run time
	KernelMs float64 `json:"kernel_ms"` // mean kernel time per Run
	// OutsideKernels is the share of Run time spent outside every kernel.
	OutsideKernels float64 `json:"outside_kernels"`
	Ops            []Share `json:"ops"`   // by op type, largest first
	Nodes          []Share `json:"nodes"` // by node, largest first
}

// Summarize adds up runs' kernel times by op type and by node.
func Summarize(phase string, runs []Run) Summary {
	s := Summary{Phase: phase, Runs: len(runs)}
	if len(runs) == 0 {
		return s
	}
	var runUS, kernUS int64
	byOp, byNode := map[string]int64{}, map[[2]string]int64{}
	for _, r := range runs {
		runUS += r.US
		for _, k := range r.Kernels {
			kernUS += k.US
			byOp[k.Op] += k.US
			byNode[[2]string{k.Op, k.Node}] += k.US
		}
	}
	n := float64(len(runs))
	s.RunMs, s.KernelMs = float64(runUS)/n/1e3, float64(kernUS)/n/1e3
	if runUS > 0 {
		s.OutsideKernels = max(0, 1-float64(kernUS)/float64(runUS))
	}
	share := func(op, node string, us int64) Share {
		sh := Share{Op: op, Node: node, MsRun: float64(us) / n / 1e3}
		if kernUS > 0 {
			sh.Share = float64(us) / float64(kernUS)
		}
		return sh
	}
	for op, us := range byOp {
		s.Ops = append(s.Ops, share(op, "", us))
	}
	for k, us := range byNode {
		s.Nodes = append(s.Nodes, share(k[0], k[1], us))
	}
	order := func(v []Share) {
		sort.Slice(v, func(i, j int) bool {
			if v[i].MsRun != v[j].MsRun {
				return v[i].MsRun > v[j].MsRun
			}
			return v[i].Op+v[i].Node < v[j].Op+v[j].Node
		})
	}
	order(s.Ops)
	order(s.Nodes)
	return s
}

// OpShare is the share of kernel time taken by op type op (0 when absent).
func (s Summary) OpShare(op string) float64 {
	for _, o := range s.Ops {
		if o.Op == op {
			return o.Share
		}
	}
	return 0
}

// WriteText prints s: one line for the phase, then the op types and the top
// nodes, at most top of each.
func (s Summary) WriteText(w io.Writer, top int) {
	fmt.Fprintf(w, "  %s: %d Runs, %.2f ms per Run, %.2f ms in kernels, %.1f %% of Run time outside kernels\n",
		s.Phase, s.Runs, s.RunMs, s.KernelMs, 100*s.OutsideKernels)
	write := func(title string, v []Share) {
		fmt.Fprintf(w, "    %s\n", title)
		for i, sh := range v {
			if i == top {
				fmt.Fprintf(w, "      … %d more\n", len(v)-top)
				break
			}
			name := sh.Op
			if sh.Node != "" {
				name = fmt.Sprintf("%-22s %s", sh.Op, sh.Node)
			}
			fmt.Fprintf(w, "      %6.1f %%  %8.3f ms  %s\n", 100*sh.Share, sh.MsRun, name)
		}
	}
	write("by op type (share of kernel time, ms per Run):", s.Ops)
	write("top nodes:", s.Nodes)
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
