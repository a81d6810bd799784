package model

import (
	"fmt"
	"math"
)

// LlamaReferenceLogits runs the Llama-family decoder c with weights (by
// Hugging Face name, in the checkpoint's layout) in plain Go with float64
// arithmetic, recomputing the whole sequence: logits[i] are the next-token
// logits after ids[0..i] (positions 0, 1, …). It follows transformers'
// modeling code (RMSNorm, rotate-half RoPE with the config's inverse
// frequencies, grouped-query attention with the sliding window where set,
// SwiGLU, q/k norms, biases, fused phi3 projections) and shares nothing with
// the graph builder but the weight list, so it is an independent oracle.
// O(layers·n²·hidden): for tiny configs. It panics on ids out of range.
func LlamaReferenceLogits(c LlamaConfig, w map[string][]float32, ids []int64) [][]float32 {
	H, hd, n := c.Hidden, c.HeadDim, len(ids)
	qw, kvw := c.Heads*hd, c.KVHeads*hd
	x := make([][]float64, n)
	emb := w["model.embed_tokens.weight"]
	for t, id := range ids {
		if id < 0 || id >= int64(c.Vocab) {
			panic(fmt.Sprintf("LlamaReferenceLogits: id %d outside vocab %d", id, c.Vocab))
		}
		x[t] = make([]float64, H)
		for j := range H {
			x[t][j] = float64(emb[int(id)*H+j])
		}
	}
	inv := c.InvFreq()
	rotate := func(v []float64, pos int) {
		half := hd / 2
		for i := range half {
			// The angle in float32, as transformers (and the graph) form it;
			// the rotation itself in float64.
			ang := float64(float32(pos) * float32(inv[i]))
			cs, sn := math.Cos(ang), math.Sin(ang)
			a, b := v[i], v[i+half]
			v[i], v[i+half] = a*cs-b*sn, b*cs+a*sn
		}
	}
	bias := func(name string, on bool) []float32 {
		if on {
			return w[name]
		}
		return nil
	}
	for l := 0; l < c.Layers; l++ {
		p := llamaLayerPrefix(l)
		qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for t := range n {
			h := rmsNormRef(x[t], w[p+"input_layernorm.weight"], c.RMSNormEps)
			if c.Fused {
				qkv := linearRef(h, w[p+"self_attn.qkv_proj.weight"], nil)
				qs[t], ks[t], vs[t] = qkv[:qw], qkv[qw:qw+kvw], qkv[qw+kvw:]
			} else {
				qs[t] = linearRef(h, w[p+"self_attn.q_proj.weight"], bias(p+"self_attn.q_proj.bias", c.QKVBias))
				ks[t] = linearRef(h, w[p+"self_attn.k_proj.weight"], bias(p+"self_attn.k_proj.bias", c.QKVBias))
				vs[t] = linearRef(h, w[p+"self_attn.v_proj.weight"], bias(p+"self_attn.v_proj.bias", c.QKVBias))
			}
			for hh := range c.Heads {
				q := qs[t][hh*hd : (hh+1)*hd]
				if c.QKNorm {
					copy(q, rmsNormRef(q, w[p+"self_attn.q_norm.weight"], c.RMSNormEps))
				}
				rotate(q, t)
			}
			for hh := range c.KVHeads {
				k := ks[t][hh*hd : (hh+1)*hd]
				if c.QKNorm {
					copy(k, rmsNormRef(k, w[p+"self_attn.k_norm.weight"], c.RMSNormEps))
				}
				rotate(k, t)
			}
		}
		window := n + 1
		if c.SlidingWindow > 0 && c.SlidingLayer[l] {
			window = c.SlidingWindow
		}
		group := c.Heads / c.KVHeads
		for t := range n {
			ctx := make([]float64, qw)
			for hh := range c.Heads {
				kh := hh / group
				q := qs[t][hh*hd : (hh+1)*hd]
				lo := max(0, t-window+1) // keys t−window+1 … t
				scores := make([]float64, t+1-lo)
				for s := lo; s <= t; s++ {
					scores[s-lo] = dot(q, ks[s][kh*hd:(kh+1)*hd]) / math.Sqrt(float64(hd))
				}
				softmax(scores)
				for s := lo; s <= t; s++ {
					v := vs[s][kh*hd : (kh+1)*hd]
					for j := range hd {
						ctx[hh*hd+j] += scores[s-lo] * v[j]
					}
				}
			}
			addTo(x[t], linearRef(ctx, w[p+"self_attn.o_proj.weight"], bias(p+"self_attn.o_proj.bias", c.OBias)))
		}
		for t := range n {
			h := rmsNormRef(x[t], w[p+"post_attention_layernorm.weight"], c.RMSNormEps)
			var gate, up []float64
			if c.Fused {
				gu := linearRef(h, w[p+"mlp.gate_up_proj.weight"], nil)
				gate, up = gu[:c.Intermediate], gu[c.Intermediate:]
			} else {
				gate = linearRef(h, w[p+"mlp.gate_proj.weight"], bias(p+"mlp.gate_proj.bias", c.MLPBias))
				up = linearRef(h, w[p+"mlp.up_proj.weight"], bias(p+"mlp.up_proj.bias", c.MLPBias))
			}
			for j := range gate {
				gate[j] = gate[j] / (1 + math.Exp(-gate[j])) * up[j]
			}
			addTo(x[t], linearRef(gate, w[p+"mlp.down_proj.weight"], bias(p+"mlp.down_proj.bias", c.MLPBias)))
		}
	}
	head := w[c.lmHeadName()]
	logits := make([][]float32, n)
	for t := range n {
		h := rmsNormRef(x[t], w["model.norm.weight"], c.RMSNormEps)
		logits[t] = make([]float32, c.Vocab)
		for v := range c.Vocab {
			logits[t][v] = float32(dot32(h, head[v*H:(v+1)*H]))
		}
	}
	return logits
}

// linearRef returns W·x + b for W stored [out, in] row-major (nil b: none).
func linearRef(x []float64, W, b []float32) []float64 {
	out := make([]float64, len(W)/len(x))
	for o := range out {
		out[o] = dot32(x, W[o*len(x):(o+1)*len(x)])
		if b != nil {
			out[o] += float64(b[o])
		}
	}
	return out
}

func dot32(x []float64, w []float32) float64 {
	var s float64
	for i, v := range w {
		s += x[i] * float64(v)
	}
	return s
}

func rmsNormRef(x []float64, weight []float32, eps float64) []float64 {
	var ms float64
	for _, v := range x {
		ms += v * v
	}
	inv := 1 / math.Sqrt(ms/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * inv * float64(weight[i])
	}
	return out
}
