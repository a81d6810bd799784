package analysis

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// DefaultSaturationGain: adding concurrency that raises total output
// throughput by less than this share is past saturation.
const DefaultSaturationGain = 0.10

// Throughput intervals (RATIONALE.md, "The throughput curve").
const (
	// BootstrapResamples is the number of bootstrap resamples of each
	// case's runs behind every throughput and gain interval: pipe's one
	// resample count (stats.BootstrapResamples).
	BootstrapResamples = stats.BootstrapResamples
	// MinIntervalRuns is the fewest valid runs a case needs for its
	// throughput to have an interval; saturation is never called on a case
	// with fewer.
	MinIntervalRuns = 3
)

// ThroughputOf builds the throughput curve over the result's cases, ordered
// by concurrency (batch × streams), and finds where it saturates. cores is
// the machine's core count and intraOp the runtime's threads per session,
// for the oversubscription warning.
//
// A point's output throughput has one definition for single-stream and
// concurrent cases: the tokens of the case's valid runs (every batch row)
// over the wall span of its runs. A stream issues its runs back to back,
// so the span is the longest stream's summed E2E (for one stream, the sum
// of its runs' E2E); invalid runs take time in the span and add no tokens.
// Intervals come from a percentile bootstrap that resamples each stream's
// runs (seeded by the case ID, so a result always reads the same), and
// saturation is called only where the whole interval of the next step's
// gain lies below gain.
func ThroughputOf(cases []result.Case, gain float64, cores, intraOp int) *result.Throughput {
	if gain <= 0 {
		gain = DefaultSaturationGain
	}
	t := &result.Throughput{SaturationGain: gain}
	var reps [][]float64 // bootstrap replicates of OutputTPS, by point
	for _, c := range cases {
		p := result.ThroughputPoint{
			Case: c.ID, Batch: max(c.Params.Batch, 1), Streams: max(c.Params.Streams, 1),
			TTFTp50: c.Stats[metric.TTFT].P50, TPOTp50: c.Stats[metric.TPOT].P50, E2Ep50: c.Stats[metric.E2E].P50,
		}
		p.Concurrency = p.Batch * p.Streams
		runs := runsOf(&c, p.Batch)
		var rs []float64
		p.OutputTPS, p.RequestsPS, p.ValidRuns, p.Runs = spanThroughput(runs)
		if p.ValidRuns >= MinIntervalRuns {
			rs = bootstrapTPS(c.ID, runs)
			p.OutputTPSCI = percentileInterval(rs)
		}
		t.Points = append(t.Points, p)
		reps = append(reps, rs)
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
	order := make([]int, len(t.Points))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := t.Points[order[i]], t.Points[order[j]]
		if a.Concurrency != b.Concurrency {
			return a.Concurrency < b.Concurrency
		}
		return a.Streams < b.Streams
	})
	sorted, sortedReps := make([]result.ThroughputPoint, len(order)), make([][]float64, len(order))
	for i, k := range order {
		sorted[i], sortedReps[i] = t.Points[k], reps[k]
	}
	t.Points, reps = sorted, sortedReps
	// Gain compares each point with the best throughput at any lower
	// concurrency: batch and streams are two ways to the same concurrency,
	// and a cartesian matrix visits both, so comparing neighbours would
	// call a slower sibling "saturation".
	for i := range t.Points {
		p := &t.Points[i]
		lower := indicesWhere(t.Points, func(q result.ThroughputPoint) bool { return q.Concurrency < p.Concurrency })
		if best := bestOf(t.Points, lower); best > 0 {
			p.Gain = p.OutputTPS/best - 1
			if ci, ok := gainInterval(reps, []int{i}, lower); ok {
				p.GainCI = ci
			}
		}
	}
	// Saturation: the best case up to the first concurrency level beyond
	// which no higher level gains SaturationGain over it — by the whole
	// interval of that gain, not its point estimate.
	for i, p := range t.Points {
		if i+1 < len(t.Points) && t.Points[i+1].Concurrency == p.Concurrency {
			continue // not the last point of its level
		}
		if i+1 == len(t.Points) {
			break // nothing beyond the last level
		}
		upTo := indicesWhere(t.Points, func(q result.ThroughputPoint) bool { return q.Concurrency <= p.Concurrency })
		beyond := indicesWhere(t.Points, func(q result.ThroughputPoint) bool { return q.Concurrency > p.Concurrency })
		best := bestOf(t.Points, upTo)
		if best <= 0 {
			continue
		}
		g := bestOf(t.Points, beyond)/best - 1
		if g >= gain {
			continue
		}
		upToCase := t.Points[argBest(t.Points, upTo)].Case
		ci, ok := gainInterval(reps, beyond, upTo)
		if !ok {
			t.Undecided = fmt.Sprintf("beyond %s throughput gains %+.0f %%, below the %.0f %% saturation gain, but a case there has fewer than %d valid runs, so the gain has no interval — add runs", upToCase, 100*g, 100*gain, MinIntervalRuns)
			break
		}
		if ci[1] >= gain {
			t.Undecided = fmt.Sprintf("beyond %s throughput gains %+.0f %% [%+.0f %%, %+.0f %%], whose 95 %% interval reaches the %.0f %% saturation gain — add runs to tell saturation from noise", upToCase, 100*g, 100*ci[0], 100*ci[1], 100*gain)
			break
		}
		t.Saturation, t.BeyondGain, t.BeyondGainCI = upToCase, g, ci
		break
	}
	return t
}

// CaseThroughput is the case-level throughput.output_tps and
// throughput.requests_ps of c, by the curve's one definition: the tokens and
// requests of the valid runs over the wall span of all runs (the longest
// stream's summed E2E). The runner records it on every case, so a target on
// throughput.output_tps judges the figure the curve plots.
func CaseThroughput(c *result.Case) (outputTPS, requestsPS float64) {
	outputTPS, requestsPS, _, _ = spanThroughput(runsOf(c, max(c.Params.Batch, 1)))
	return outputTPS, requestsPS
}

// spanRun is what the throughput of one run needs.
type spanRun struct {
	stream int
	tokens float64 // generated tokens of every batch row; 0 for an invalid run
	e2eMS  float64
	valid  bool
}

// runsOf reads the case's measured runs: tokens from the recorded token
// times (the first row's, times the batch), E2E from the last token's time,
// else from the run's metric values.
func runsOf(c *result.Case, batch int) []spanRun {
	var out []spanRun
	for _, r := range c.Runs {
		s := spanRun{stream: r.Stream, valid: r.Valid}
		if n := len(r.TokenMS); n > 0 {
			s.tokens, s.e2eMS = float64(n*batch), r.TokenMS[n-1]
		} else {
			s.e2eMS = r.Values[metric.E2E]
			s.tokens = r.Values[metric.OutputTPS] * s.e2eMS / 1e3
		}
		if math.IsNaN(s.e2eMS) || math.IsInf(s.e2eMS, 0) || s.e2eMS < 0 || math.IsNaN(s.tokens) || math.IsInf(s.tokens, 0) {
			// A time that is no time: the run cannot be placed in the span.
			s.e2eMS, s.valid = 0, false
		}
		if !s.valid {
			s.tokens = 0
		}
		out = append(out, s)
	}
	return out
}

// spanThroughput is the tokens and requests of the valid runs over the
// wall span of all runs: the longest stream's summed E2E.
func spanThroughput(runs []spanRun) (tps, rps float64, valid, all int) {
	busy := map[int]float64{}
	var tokens float64
	for _, r := range runs {
		busy[r.stream] += r.e2eMS
		tokens += r.tokens
		if r.valid {
			valid++
		}
	}
	span := 0.0
	for _, b := range busy {
		span = max(span, b)
	}
	if span <= 0 || valid == 0 {
		return 0, 0, valid, len(runs)
	}
	return tokens / (span / 1e3), float64(valid) / (span / 1e3), valid, len(runs)
}

// bootstrapTPS returns BootstrapResamples replicates of the case's
// throughput, each from its runs resampled with replacement within each
// stream.
func bootstrapTPS(id string, runs []spanRun) []float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x7470)) // "tp"
	byStream := map[int][]spanRun{}
	var streams []int
	for _, r := range runs {
		if _, ok := byStream[r.stream]; !ok {
			streams = append(streams, r.stream)
		}
		byStream[r.stream] = append(byStream[r.stream], r)
	}
	slices.Sort(streams)
	out := make([]float64, BootstrapResamples)
	sample := make([]spanRun, 0, len(runs))
	for b := range out {
		sample = sample[:0]
		for _, s := range streams {
			rs := byStream[s]
			for range rs {
				sample = append(sample, rs[rng.IntN(len(rs))])
			}
		}
		out[b], _, _, _ = spanThroughput(sample)
	}
	return out
}

// gainInterval is the 95 % percentile-bootstrap interval of the best
// throughput among points num over the best among points den, minus 1,
// replicate by replicate (the cases' resamples are independent). ok is
// false when a point has no replicates.
func gainInterval(reps [][]float64, num, den []int) ([2]float64, bool) {
	for _, i := range append(slices.Clone(num), den...) {
		if len(reps[i]) == 0 {
			return [2]float64{}, false
		}
	}
	g := make([]float64, 0, BootstrapResamples)
	for b := range BootstrapResamples {
		hi, lo := 0.0, 0.0
		for _, i := range num {
			hi = max(hi, reps[i][b])
		}
		for _, i := range den {
			lo = max(lo, reps[i][b])
		}
		if lo > 0 {
			g = append(g, hi/lo-1)
		}
	}
	if len(g) < BootstrapResamples/2 {
		return [2]float64{}, false
	}
	return percentileInterval(g), true
}

// percentileInterval is the central 95 % of the replicates.
func percentileInterval(reps []float64) [2]float64 {
	return [2]float64{stats.Percentile(reps, 2.5), stats.Percentile(reps, 97.5)}
}

func indicesWhere(points []result.ThroughputPoint, keep func(result.ThroughputPoint) bool) []int {
	var out []int
	for i, p := range points {
		if keep(p) {
			out = append(out, i)
		}
	}
	return out
}

// bestOf returns the highest throughput among the points at idx.
func bestOf(points []result.ThroughputPoint, idx []int) float64 {
	best := 0.0
	for _, i := range idx {
		best = max(best, points[i].OutputTPS)
	}
	return best
}

// argBest returns the index (among idx) of the highest throughput.
func argBest(points []result.ThroughputPoint, idx []int) int {
	best := idx[0]
	for _, i := range idx {
		if points[i].OutputTPS > points[best].OutputTPS {
			best = i
		}
	}
	return best
}
