package model

import (
	"fmt"
	"math"
)

// ReferenceLogits runs the GPT-2 architecture of cfg with the weights
// Builtin/Build generate for seed, in plain Go with float64 arithmetic,
// recomputing the whole sequence: logits[i] are the next-token logits after
// ids[0..i] (positions 0, 1, …). It shares only the weight generator with
// the ONNX builder, so it is an independent oracle for the graph and for
// the generation loop. It is O(layers·n²·hidden): meant for tiny configs.
//
// It panics when ids are out of range of cfg's vocab or positions (a
// programming error in a test).
func ReferenceLogits(cfg Config, seed uint64, ids []int64) [][]float32 {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if len(ids) > cfg.MaxPositions {
		panic(fmt.Sprintf("ReferenceLogits: %d ids exceed max_positions %d", len(ids), cfg.MaxPositions))
	}
	return referenceLogits(cfg, weightsOf(cfg, seededWeights(seed)), ids)
}

// referenceLogits is ReferenceLogits over the given weights (by name, in
// the builder's layout).
func referenceLogits(cfg Config, w map[string][]float32, ids []int64) [][]float32 {
	H, hd := cfg.Hidden, cfg.HeadDim
	n := len(ids)

	// Residual stream x[t] = wte[id] + wpe[t].
	x := make([][]float64, n)
	for t, id := range ids {
		if id < 0 || id >= int64(cfg.Vocab) {
			panic(fmt.Sprintf("ReferenceLogits: id %d outside vocab %d", id, cfg.Vocab))
		}
		x[t] = make([]float64, H)
		for j := range H {
			x[t][j] = float64(w["transformer.wte.weight"][int(id)*H+j]) + float64(w["transformer.wpe.weight"][t*H+j])
		}
	}

	for l := 0; l < cfg.Layers; l++ {
		p := layerPrefix(l)
		// Attention block: x += c_proj(attend(c_attn(ln_1(x)))).
		qkv := make([][]float64, n)
		for t := range n {
			qkv[t] = affine(layerNorm(x[t], w[p+"ln_1.weight"], w[p+"ln_1.bias"], cfg.LayerNormEps), w[p+"attn.c_attn.weight"], w[p+"attn.c_attn.bias"])
		}
		qw, kvw := cfg.Heads*hd, cfg.KVHeads*hd
		group := cfg.Heads / cfg.KVHeads
		for t := range n {
			ctx := make([]float64, qw)
			for h := range cfg.Heads {
				kh := h / group // the kv head this query head reads
				q := qkv[t][h*hd : (h+1)*hd]
				// Causal: position t sees positions 0..t.
				scores := make([]float64, t+1)
				for s := 0; s <= t; s++ {
					k := qkv[s][qw+kh*hd : qw+(kh+1)*hd]
					scores[s] = dot(q, k) / math.Sqrt(float64(hd))
				}
				softmax(scores)
				for s, pr := range scores {
					v := qkv[s][qw+kvw+kh*hd : qw+kvw+(kh+1)*hd]
					for j := range hd {
						ctx[h*hd+j] += pr * v[j]
					}
				}
			}
			addTo(x[t], affine(ctx, w[p+"attn.c_proj.weight"], w[p+"attn.c_proj.bias"]))
		}
		// MLP block: x += c_proj(gelu(c_fc(ln_2(x)))).
		for t := range n {
			u := affine(layerNorm(x[t], w[p+"ln_2.weight"], w[p+"ln_2.bias"], cfg.LayerNormEps), w[p+"mlp.c_fc.weight"], w[p+"mlp.c_fc.bias"])
			for j, v := range u {
				u[j] = geluTanh(v)
			}
			addTo(x[t], affine(u, w[p+"mlp.c_proj.weight"], w[p+"mlp.c_proj.bias"]))
		}
	}

	// Final norm, then the tied LM head: logits = h·wteᵀ.
	logits := make([][]float32, n)
	wte := w["transformer.wte.weight"]
	for t := range n {
		h := layerNorm(x[t], w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], cfg.LayerNormEps)
		logits[t] = make([]float32, cfg.Vocab)
		for v := range cfg.Vocab {
			var s float64
			for j := range H {
				s += h[j] * float64(wte[v*H+j])
			}
			logits[t][v] = float32(s)
		}
	}
	return logits
}

// affine returns x·W + b for W stored [len(x), len(b)] row-major.
func affine(x []float64, W, b []float32) []float64 {
	out := make([]float64, len(b))
	for j := range out {
		out[j] = float64(b[j])
	}
	for i, xi := range x {
		row := W[i*len(b) : (i+1)*len(b)]
		for j, wij := range row {
			out[j] += xi * float64(wij)
		}
	}
	return out
}

func layerNorm(x []float64, gamma, beta []float32, eps float64) []float64 {
	var mean, variance float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	variance /= float64(len(x))
	inv := 1 / math.Sqrt(variance+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v-mean)*inv*float64(gamma[i]) + float64(beta[i])
	}
	return out
}

func geluTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

func softmax(v []float64) {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	var sum float64
	for i, x := range v {
		v[i] = math.Exp(x - m)
		sum += v[i]
	}
	for i := range v {
		v[i] /= sum
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func addTo(dst, v []float64) {
	for i := range dst {
		dst[i] += v[i]
	}
}
