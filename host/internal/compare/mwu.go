package compare

import (
	"math"
	"slices"
	"sort"
	"sync"
)

// ExactLimit is the largest n1 + n2 for which MannWhitney computes the exact
// permutation distribution of U (BenchmarkMannWhitneyExact for the cost).
// With heavy ties the normal approximation is off by up to 0.026 where
// p < 0.1 at 60 runs and still 0.016 at 150 (BenchmarkNormalApproximationError,
// RATIONALE.md), so the limit is set by cost, not by the approximation.
const ExactLimit = 120

// UTest is the outcome of a two-sided Mann–Whitney U test.
type UTest struct {
	// U counts the pairs (x, y) with x > y, ties counting one half.
	U float64
	// P is the two-sided p-value, P(|U − n1 n2 / 2| ≥ |u − n1 n2 / 2|)
	// under "same distribution"; always in [0, 1].
	P float64
	// MinP is the smallest p-value any arrangement of these pooled values
	// into samples of these sizes could give: when it is not below α, no
	// outcome of the test could have been significant.
	MinP float64
	// Exact: P comes from the exact permutation distribution of U given
	// the ties; otherwise from the normal approximation.
	Exact bool
	// Distinct is the number of distinct values in the pooled sample.
	Distinct int
}

// MannWhitney tests x against y. For n1 + n2 ≤ ExactLimit it uses the exact
// conditional (permutation) distribution of U given the ties in the pooled
// sample, built by dynamic programming over the groups of tied ranks — the
// same p-value as enumerating all C(n1+n2, n1) partitions, without
// enumerating them. Beyond, the normal approximation with the tie-corrected
// variance and a continuity correction (scipy's mannwhitneyu
// method="asymptotic"). Either way p is in [0, 1].
func MannWhitney(x, y []float64) UTest {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return UTest{P: 1, MinP: 1}
	}
	ranks := newRanking(x, y)
	t := UTest{U: float64(ranks.twiceU()) / 2, Distinct: len(ranks.groups)}
	if n1+n2 <= ExactLimit {
		t.Exact = true
		t.P, t.MinP = ranks.exactP()
		return t
	}
	t.P = ranks.normalP(t.U)
	t.MinP = ranks.normalP(float64(n1 * n2))
	return t
}

// ranking is the pooled sample's tie structure and the first sample's rank
// sum, all in doubled ranks so that midranks stay integers.
type ranking struct {
	n1, n2 int
	// groups are the tie groups in increasing order: size and doubled
	// midrank.
	groups []tieGroup
	// twiceR1 is the first sample's doubled rank sum.
	twiceR1 int
}

type tieGroup struct{ size, twiceRank int }

func newRanking(x, y []float64) ranking {
	type obs struct {
		v     float64
		first bool
	}
	pooled := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		pooled = append(pooled, obs{v, true})
	}
	for _, v := range y {
		pooled = append(pooled, obs{v, false})
	}
	sort.Slice(pooled, func(i, j int) bool { return pooled[i].v < pooled[j].v })
	r := ranking{n1: len(x), n2: len(y)}
	for i := 0; i < len(pooled); {
		j := i
		for j < len(pooled) && pooled[j].v == pooled[i].v {
			j++
		}
		// Ranks i+1 … j (1-based); their mean doubled is i+1+j.
		g := tieGroup{size: j - i, twiceRank: i + 1 + j}
		for k := i; k < j; k++ {
			if pooled[k].first {
				r.twiceR1 += g.twiceRank
			}
		}
		r.groups = append(r.groups, g)
		i = j
	}
	return r
}

// twiceU is 2 U of the first sample: 2 R1 − n1 (n1 + 1).
func (r ranking) twiceU() int { return r.twiceR1 - r.n1*(r.n1+1) }

// exactP returns the exact two-sided p-value and the smallest attainable one.
func (r ranking) exactP() (p, minP float64) {
	// The test is symmetric in the two samples; counting subsets of the
	// smaller one keeps the table small.
	k := min(r.n1, r.n2)
	dist := subsetSums(r.groups, k)
	center := k * (r.n1 + r.n2 + 1) // doubled rank sum of k ranks at its mean
	observed := r.twiceR1 - r.n1*(r.n1+r.n2+1)
	if observed < 0 {
		observed = -observed
	}
	maxDist := 0
	var total, tailW, extremeW float64
	for s, w := range dist {
		if w == 0 {
			continue
		}
		d := s - center
		if d < 0 {
			d = -d
		}
		total += w
		if d >= observed {
			tailW += w
		}
		switch {
		case d > maxDist:
			maxDist, extremeW = d, w
		case d == maxDist:
			extremeW += w
		}
	}
	return clamp01(tailW / total), clamp01(extremeW / total)
}

// subsetSums is the number of ways to choose k of the pooled observations,
// by their doubled rank sum: ways[s] for s in 0 … n(n+1). Observations of
// one tie group are interchangeable, so a group of t contributes C(t, j)
// ways for j of them chosen. Float64 counts (C(120, 60) ≈ 1e35) keep 16
// significant digits, and only ratios are used.
func subsetSums(groups []tieGroup, k int) []float64 {
	n := 0
	for _, g := range groups {
		n += g.size
	}
	width := n*(n+1) + 1
	// ways[j][s]: j chosen so far with doubled rank sum s.
	ways := make([][]float64, k+1)
	for j := range ways {
		ways[j] = make([]float64, width)
	}
	ways[0][0] = 1
	// lo[j] … hi[j] bound the sums reachable with j chosen so far; only
	// that band is visited.
	lo, hi := make([]int, k+1), make([]int, k+1)
	for j := 1; j <= k; j++ {
		lo[j], hi[j] = width, -1
	}
	seen := 0
	for _, g := range groups {
		binom := binomials(g.size)
		// Descending j so that each group is used once per subset.
		for j := min(k, seen+g.size); j >= 1; j-- {
			row := ways[j]
			for c := 1; c <= min(g.size, j); c++ {
				from, f := ways[j-c], j-c
				if lo[f] > hi[f] {
					continue
				}
				add := c * g.twiceRank
				for s := lo[f]; s <= hi[f]; s++ {
					if w := from[s]; w != 0 {
						row[s+add] += w * binom[c]
					}
				}
				lo[j], hi[j] = min(lo[j], lo[f]+add), max(hi[j], hi[f]+add)
			}
		}
		seen += g.size
	}
	return ways[k]
}

// binomials returns C(n, 0 … n).
func binomials(n int) []float64 {
	b := make([]float64, n+1)
	b[0] = 1
	for i := 1; i <= n; i++ {
		b[i] = b[i-1] * float64(n-i+1) / float64(i)
	}
	return b
}

// normalP is the two-sided p-value of U (either sample's) under the normal
// approximation: the variance corrected for ties, a continuity correction
// of one half, as scipy.stats.mannwhitneyu(method="asymptotic").
func (r ranking) normalP(u float64) float64 {
	n1, n2 := float64(r.n1), float64(r.n2)
	n := n1 + n2
	mu := n1 * n2 / 2
	ties := 0.0
	for _, g := range r.groups {
		t := float64(g.size)
		ties += t*t*t - t
	}
	variance := n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1)))
	u = math.Max(u, n1*n2-u) // the larger U: the upper tail
	if variance <= 0 {
		return 1 // every value tied: nothing to tell apart
	}
	z := (u - mu - 0.5) / math.Sqrt(variance)
	return clamp01(math.Erfc(z / math.Sqrt2))
}

func clamp01(p float64) float64 { return math.Min(1, math.Max(0, p)) }

// Shift is the Hodges–Lehmann estimate of how far the new distribution
// lies from the old one — the median of all n1 n2 pairwise differences
// new − old — with the Moses distribution-free interval: the order
// statistics of those differences whose ranks come from U's distribution.
type Shift struct {
	Estimate float64 `json:"estimate"`
	// Lo and Hi bound the 95 % interval; nil when the samples are too
	// small to bound it (the interval would be the whole line).
	Lo *float64 `json:"lo"`
	Hi *float64 `json:"hi"`
}

// ShiftConfidence is the Shift interval's nominal coverage; the achieved
// coverage is at least this (U is discrete).
const ShiftConfidence = 0.95

// HodgesLehmann estimates the shift of new against old. The order
// statistics of the n1 n2 differences are found by bisection without
// materialising them (kthDifference), so memory stays O(n1 + n2).
func HodgesLehmann(old, new []float64) Shift {
	n1, n2 := len(old), len(new)
	if n1 == 0 || n2 == 0 {
		return Shift{Estimate: math.NaN()}
	}
	x, y := slices.Clone(old), slices.Clone(new)
	slices.Sort(x)
	slices.Sort(y)
	m := n1 * n2
	s := Shift{Estimate: kthDifference(x, y, (m+1)/2)}
	if m%2 == 0 {
		s.Estimate = (s.Estimate + kthDifference(x, y, m/2+1)) / 2
	}
	// The interval [D(k), D(m+1−k)] covers the true shift with
	// probability 1 − 2 P(U ≤ k − 1), U the tie-free null distribution.
	if k := mosesRank(n1, n2, (1-ShiftConfidence)/2); k >= 1 && k <= m+1-k {
		lo, hi := kthDifference(x, y, k), kthDifference(x, y, m+1-k)
		s.Lo, s.Hi = &lo, &hi
	}
	return s
}

// kthDifference is the k-th smallest (1-based) of the differences
// y[j] − x[i] of the sorted samples x and y: the smallest float64 t with
// at least k differences ≤ t, found by bisection over the ordered float64
// bit patterns (at most 64 steps of O(n1 + n2) each) — exactly one of the
// differences, as computed.
func kthDifference(x, y []float64, k int) float64 {
	lo, hi := orderedBits(y[0]-x[len(x)-1]), orderedBits(y[len(y)-1]-x[0])
	for lo < hi {
		mid := lo + (hi-lo)/2
		if differencesAtMost(x, y, fromOrderedBits(mid)) >= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	t := fromOrderedBits(lo)
	if t == 0 {
		t = 0 // not −0
	}
	return t
}

// differencesAtMost counts the pairs with y[j] − x[i] ≤ t (x, y sorted):
// for each y[j] the qualifying x[i] are a suffix of x that only shrinks as
// y[j] grows.
func differencesAtMost(x, y []float64, t float64) int {
	count, i := 0, 0
	for _, yj := range y {
		for i < len(x) && yj-x[i] > t {
			i++
		}
		count += len(x) - i
	}
	return count
}

// orderedBits maps a float64 to a uint64 in the same order (for non-NaN).
func orderedBits(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderedBits(u uint64) float64 {
	if u>>63 == 1 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}

// mosesRanks memoises mosesRank: it depends on the sample sizes only, and
// the rows of one comparison mostly share them.
var mosesRanks sync.Map // [3]float64{n1, n2, tail} → int

// mosesRank is the largest k with P(U ≤ k − 1) ≤ tail under the tie-free
// null distribution of U (exact within ExactLimit, normal beyond); 0 when
// even k = 1 has too little coverage.
func mosesRank(n1, n2 int, tail float64) int {
	n1, n2 = min(n1, n2), max(n1, n2) // U's null distribution is symmetric in the sizes
	key := [3]float64{float64(n1), float64(n2), tail}
	if k, ok := mosesRanks.Load(key); ok {
		return k.(int)
	}
	k := computeMosesRank(n1, n2, tail)
	mosesRanks.Store(key, k)
	return k
}

func computeMosesRank(n1, n2 int, tail float64) int {
	n := n1 + n2
	if n > ExactLimit {
		sd := math.Sqrt(float64(n1*n2) * float64(n+1) / 12)
		z := -normalQuantile(tail)
		return max(0, int(math.Floor(float64(n1*n2)/2-z*sd)))
	}
	groups := make([]tieGroup, n)
	for i := range groups {
		groups[i] = tieGroup{size: 1, twiceRank: 2 * (i + 1)}
	}
	k1 := min(n1, n2)
	dist := subsetSums(groups, k1)
	// Doubled rank sum s ↔ U = s/2 − k1(k1+1)/2.
	base := k1 * (k1 + 1)
	total := 0.0
	for _, w := range dist {
		total += w
	}
	cum := 0.0
	k := 0
	for u := 0; u <= n1*n2; u++ {
		cum += dist[2*u+base] / total
		if cum > tail*(1+1e-12) {
			break
		}
		k = u + 1 // P(U ≤ u) ≤ tail, so k = u + 1 qualifies
	}
	return k
}

// normalQuantile is the standard normal quantile function.
func normalQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }
