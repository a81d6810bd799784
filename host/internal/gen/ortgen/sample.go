package ortgen

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pipe-bench/pipe/host/internal/gen"
)

// sampler picks the next id from one row of logits: argmax when greedy,
// else a draw from the temperature-scaled softmax restricted to the top-k
// ids and then to the smallest prefix whose probability reaches top-p. The
// draw is deterministic for a seed: the generator is seeded per request.
type sampler struct {
	s     gen.Sampling
	rng   *rand.Rand
	cand  []int32   // candidate ids, best first
	probs []float64 // their probabilities
}

func newSampler(s gen.Sampling, vocab int) *sampler {
	sm := &sampler{s: s}
	if !s.Greedy() {
		sm.rng = rand.New(rand.NewPCG(s.Seed, 0x9e3779b97f4a7c15))
		sm.cand = make([]int32, 0, vocab)
		sm.probs = make([]float64, 0, vocab)
	}
	return sm
}

func (sm *sampler) next(logits []float32) int64 {
	if sm.rng == nil {
		return argmax(logits)
	}
	sm.candidates(logits)
	inv := 1 / sm.s.Temperature
	top := float64(logits[sm.cand[0]])
	sum := 0.0
	sm.probs = sm.probs[:0]
	for _, id := range sm.cand {
		p := math.Exp((float64(logits[id]) - top) * inv)
		sm.probs = append(sm.probs, p)
		sum += p
	}
	if tp := sm.s.TopP; tp > 0 && tp < 1 {
		acc := 0.0
		for i, p := range sm.probs {
			acc += p
			if acc >= tp*sum {
				sm.probs, sum = sm.probs[:i+1], acc
				break
			}
		}
	}
	u := sm.rng.Float64() * sum
	for i, p := range sm.probs {
		u -= p
		if u < 0 {
			return int64(sm.cand[i])
		}
	}
	return int64(sm.cand[len(sm.probs)-1])
}

// candidates fills cand with the ids to draw from, best first: the top-k
// when TopK > 0, else every id.
func (sm *sampler) candidates(logits []float32) {
	k := sm.s.TopK
	if k <= 0 || k > len(logits) {
		k = len(logits)
	}
	h := minHeap{logits: logits, ids: sm.cand[:0]}
	for id := range logits {
		if len(h.ids) < k {
			heap.Push(&h, int32(id))
		} else if logits[id] > logits[h.ids[0]] {
			h.ids[0] = int32(id)
			heap.Fix(&h, 0)
		}
	}
	sm.cand = h.ids
	slices.SortFunc(sm.cand, func(a, b int32) int {
		if c := -cmpF(logits[a], logits[b]); c != 0 {
			return c
		}
		return int(a - b)
	})
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// argmax returns the first index of the largest value.
func argmax(xs []float32) int64 {
	best, top := 0, xs[0]
	for i, x := range xs {
		if x > top {
			best, top = i, x
		}
	}
	return int64(best)
}

// minHeap keeps the k largest logits seen, smallest on top.
type minHeap struct {
	logits []float32
	ids    []int32
}

func (h minHeap) Len() int           { return len(h.ids) }
func (h minHeap) Less(i, j int) bool { return h.logits[h.ids[i]] < h.logits[h.ids[j]] }
func (h minHeap) Swap(i, j int)      { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *minHeap) Push(x any)        { h.ids = append(h.ids, x.(int32)) }
func (h *minHeap) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}
