package model

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"sync"
)

// WeightStd is the standard deviation of every random weight (GPT-2's
// initializer range).
const WeightStd = 0.02

// weightInit says how a tensor is filled.
type weightInit int

const (
	initRandom weightInit = iota // seeded, zero mean, std WeightStd
	initOnes                     // layer-norm scales
	initZeros                    // layer-norm shifts
)

// weightSpec names one weight tensor of the GPT-2 architecture. Names follow
// Hugging Face's GPT2LMHeadModel state dict; matrices are stored [in, out]
// (its Conv1D layout), so y = x·W + b.
type weightSpec struct {
	name string
	dims []int64
	init weightInit
}

func (w weightSpec) elems() int {
	n := int64(1)
	for _, d := range w.dims {
		n *= d
	}
	return int(n)
}

// weightSpecs lists the weights of cfg in file order.
func weightSpecs(cfg Config) []weightSpec {
	h, q, kv, in := int64(cfg.Hidden), int64(cfg.Heads*cfg.HeadDim), int64(cfg.KVHeads*cfg.HeadDim), int64(cfg.Intermediate)
	qkv := q + 2*kv
	specs := []weightSpec{
		{"transformer.wte.weight", []int64{int64(cfg.Vocab), h}, initRandom},
		{"transformer.wpe.weight", []int64{int64(cfg.MaxPositions), h}, initRandom},
	}
	for i := 0; i < cfg.Layers; i++ {
		p := layerPrefix(i)
		specs = append(specs,
			weightSpec{p + "ln_1.weight", []int64{h}, initOnes},
			weightSpec{p + "ln_1.bias", []int64{h}, initZeros},
			weightSpec{p + "attn.c_attn.weight", []int64{h, qkv}, initRandom},
			weightSpec{p + "attn.c_attn.bias", []int64{qkv}, initRandom},
			weightSpec{p + "attn.c_proj.weight", []int64{q, h}, initRandom},
			weightSpec{p + "attn.c_proj.bias", []int64{h}, initRandom},
			weightSpec{p + "ln_2.weight", []int64{h}, initOnes},
			weightSpec{p + "ln_2.bias", []int64{h}, initZeros},
			weightSpec{p + "mlp.c_fc.weight", []int64{h, in}, initRandom},
			weightSpec{p + "mlp.c_fc.bias", []int64{in}, initRandom},
			weightSpec{p + "mlp.c_proj.weight", []int64{in, h}, initRandom},
			weightSpec{p + "mlp.c_proj.bias", []int64{h}, initRandom},
		)
	}
	return append(specs,
		weightSpec{"transformer.ln_f.weight", []int64{h}, initOnes},
		weightSpec{"transformer.ln_f.bias", []int64{h}, initZeros},
	)
}

func layerPrefix(i int) string { return fmt.Sprintf("transformer.h.%d.", i) }

// chunkElems is the unit of random generation: each chunk of each tensor has
// its own PCG stream keyed by (seed, tensor name, chunk index), so values do
// not depend on how many goroutines fill a tensor or in which order.
const chunkElems = 1 << 16

// fill writes w's values for seed into dst (len(dst) == w.elems()).
//
// Random values are triangular (the sum of two uniforms), zero mean, std
// WeightStd: normal enough for activations of realistic scale, one PCG draw
// per value, so GPT-2 124M's weights take well under a second.
func (w weightSpec) fill(seed uint64, dst []float32) {
	switch w.init {
	case initOnes:
		for i := range dst {
			dst[i] = 1
		}
		return
	case initZeros:
		clear(dst)
		return
	}
	key := seedKey(w.name, seed)
	chunks := (len(dst) + chunkElems - 1) / chunkElems
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		for c := 0; c < chunks; c++ {
			fillChunk(key, c, dst)
		}
		return
	}
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		wg.Add(1)
		go func(wk int) {
			defer wg.Done()
			for c := wk; c < chunks; c += workers {
				fillChunk(key, c, dst)
			}
		}(wk)
	}
	wg.Wait()
}

// seedKey derives a tensor's stream key from its name and the model seed.
func seedKey(name string, seed uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return seed ^ h.Sum64()
}

// triScale maps the sum of two uniforms on [0, 2^24) each to std WeightStd:
// (u1+u2)/2^24 − 1 has variance 1/6.
const triScale = WeightStd * 2.449489742783178 / (1 << 24) // √6

func fillChunk(key uint64, c int, dst []float32) {
	lo := c * chunkElems
	hi := min(lo+chunkElems, len(dst))
	r := rand.NewPCG(key, uint64(c)*0x9e3779b97f4a7c15+1)
	for i := lo; i < hi; i++ {
		x := r.Uint64()
		u := int64(x>>40) + int64(x&(1<<24-1)) - (1 << 24)
		dst[i] = float32(float64(u) * triScale)
	}
}

// weightsOf returns every weight of cfg from fill, by name. For tiny configs
// (the reference forward pass); the builder streams instead.
func weightsOf(cfg Config, fill weightFill) map[string][]float32 {
	m := map[string][]float32{}
	for _, w := range weightSpecs(cfg) {
		v := make([]float32, w.elems())
		if err := fill(w, v); err != nil {
			panic(err) // the fills weightsOf is given (seeded, quantised) do not fail
		}
		m[w.name] = v
	}
	return m
}
