// Package analysis draws the cross-run conclusions of the memory and
// throughput phases from a finished result: does memory grow per run (a
// leak), and where does adding concurrency stop adding throughput.
//
// It takes a stand on verdicts: a verdict follows from a confidence
// interval, not from a point estimate. A leak is called only when the whole
// 95 % interval of the RSS slope lies above the threshold, "no leak" only
// when it lies below; anything else is "inconclusive", with the numbers
// that would settle it.
package analysis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/result"
	"github.com/pipe-bench/pipe/host/stats"
)

// Leak verdicts.
const (
	Leak         = "leak"
	NoLeak       = "no leak"
	Inconclusive = "inconclusive"
)

// MinLeakRuns is the fewest fitted runs the leak detector accepts.
const MinLeakRuns = 10

// LeakOf regresses the RSS after each valid run on its index. The first
// skip runs are left out of the fit: allocators and runtime arenas grow to
// their working size during the first runs, which is not a leak.
// threshold is in bytes per run.
func LeakOf(c *result.Case, threshold float64, skip int) (result.Leak, error) {
	l := result.Leak{Case: c.ID, SkipRuns: skip, Threshold: threshold}
	var x, y []float64
	for _, r := range c.Runs {
		v, ok := r.Values[metric.RSSAfterRun]
		if !ok || !r.Valid {
			continue
		}
		b := int64(v * (1 << 20))
		l.RSSAfter = append(l.RSSAfter, b)
		if r.Index >= skip {
			x = append(x, float64(r.Index))
			y = append(y, float64(b))
		}
	}
	if len(x) < MinLeakRuns {
		return l, fmt.Errorf("case %s: %d runs after skipping %d, the leak detector needs at least %d", c.ID, len(x), skip, MinLeakRuns)
	}
	fit := stats.Regress(x, y)
	l.Slope, l.SlopeCI, l.Intercept, l.R2 = fit.Slope, fit.SlopeCI, fit.Intercept, fit.R2
	switch {
	case l.SlopeCI[0] > threshold:
		l.Verdict = Leak
	case l.SlopeCI[1] < threshold:
		l.Verdict = NoLeak
	default:
		l.Verdict = Inconclusive
	}
	return l, nil
}

// DefaultSaturationGain: adding concurrency that raises total output
// throughput by less than this share is past saturation.
const DefaultSaturationGain = 0.10

// ThroughputOf builds the throughput curve over the result's cases, ordered
// by concurrency (batch × streams), and finds where it saturates. cores is
// the machine's core count and intraOp the runtime's threads per session,
// for the oversubscription warning.
func ThroughputOf(cases []result.Case, gain float64, cores, intraOp int) *result.Throughput {
	if gain <= 0 {
		gain = DefaultSaturationGain
	}
	t := &result.Throughput{SaturationGain: gain}
	for _, c := range cases {
		p := result.ThroughputPoint{
			Case: c.ID, Batch: max(c.Params.Batch, 1), Streams: max(c.Params.Streams, 1),
			TTFTp50: c.Stats[metric.TTFT].P50, TPOTp50: c.Stats[metric.TPOT].P50, E2Ep50: c.Stats[metric.E2E].P50,
		}
		p.Concurrency = p.Batch * p.Streams
		if v, ok := c.Values[metric.ThroughputOutputTPS]; ok {
			p.OutputTPS, p.RequestsPS = v, c.Values[metric.ThroughputRequestsPS]
		} else if s, ok := c.Stats[metric.OutputTPS]; ok {
			// One stream: a request's own throughput is the machine's.
			p.OutputTPS = s.Mean
			if e := c.Stats[metric.E2E].Mean; e > 0 {
				p.RequestsPS = 1e3 / e
			}
		}
		t.Points = append(t.Points, p)
	}
	threads := intraOp
	if threads <= 0 {
		threads = cores
	}
	var over []string
	for _, p := range t.Points {
		if cores > 0 && threads*p.Streams > cores {
			over = append(over, fmt.Sprintf("%s (%d threads)", p.Case, threads*p.Streams))
		}
	}
	if len(over) > 0 {
		t.Warnings = append(t.Warnings, fmt.Sprintf("%d of %d cases run more threads than the %d cores (streams × %d intra-op threads): %s — their latency includes waiting for a core; set intra_op_threads = cores / streams to measure without it",
			len(over), len(t.Points), cores, threads, strings.Join(over, ", ")))
	}
	sort.SliceStable(t.Points, func(i, j int) bool {
		a, b := t.Points[i], t.Points[j]
		if a.Concurrency != b.Concurrency {
			return a.Concurrency < b.Concurrency
		}
		return a.Streams < b.Streams
	})
	// Gain compares each point with the best throughput at any lower
	// concurrency: batch and streams are two ways to the same concurrency,
	// and a cartesian matrix visits both, so comparing neighbours would
	// call a slower sibling "saturation".
	for i := range t.Points {
		p := &t.Points[i]
		if lower, _ := bestUpTo(t.Points, p.Concurrency-1); lower > 0 {
			p.Gain = p.OutputTPS/lower - 1
		}
	}
	// Saturation: the best case up to the first concurrency level beyond
	// which no higher level gains SaturationGain over it.
	for i, p := range t.Points {
		if i+1 < len(t.Points) && t.Points[i+1].Concurrency == p.Concurrency {
			continue // not the last point of its level
		}
		upTo, upToCase := bestUpTo(t.Points, p.Concurrency)
		beyond := 0.0
		for _, q := range t.Points[i+1:] {
			beyond = max(beyond, q.OutputTPS)
		}
		if i+1 < len(t.Points) && upTo > 0 && beyond/upTo-1 < gain {
			t.Saturation = upToCase
			break
		}
	}
	return t
}

// bestUpTo returns the highest throughput among points of concurrency ≤ c,
// and its case.
func bestUpTo(points []result.ThroughputPoint, c int) (float64, string) {
	best, id := 0.0, ""
	for _, p := range points {
		if p.Concurrency <= c && p.OutputTPS > best {
			best, id = p.OutputTPS, p.Case
		}
	}
	return best, id
}
