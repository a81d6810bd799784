#!/usr/bin/python3
"""Tiny Llama-family checkpoints and their expected logits, for host/internal/model's tests.

    /usr/bin/python3 scripts/make-llama-fixture.py host/internal/model/testdata/llama

writes, for each case below, DIR/<case>/{config.json, model.safetensors or
model-0000i-of-0000n.safetensors + model.safetensors.index.json, expected.json}.

The weights are seeded torch.randn tensors under Hugging Face's parameter
names (LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM /
Qwen3ForCausalLM / Phi3ForCausalLM state dicts), stored as F32, F16 or BF16.
The forward pass is written here in torch (float64, from the stored values),
after transformers' modeling code: RMSNorm, rotate-half RoPE (inverse
frequencies in float32 as transformers computes them, with linear or llama3
scaling), grouped-query attention with an optional sliding window, SwiGLU,
q/k norms (qwen3), q/k/v biases (qwen2), fused qkv/gate_up (phi3), tied or
untied head. It shares no code with pipe. expected.json holds the prompt,
the logits at every prompt position, and greedy decoding by full recompute:
the chosen ids and the logits each was chosen from.

Needs only Debian's python3-torch (no transformers, no safetensors package:
the format is written by hand: 8-byte little-endian header length, JSON
header, raw little-endian data).
"""
import json
import math
import os
import struct
import sys

import torch

CASES = {
    # llama: llama3 rope scaling, attention and MLP biases, tied head, F32.
    "llama-f32": dict(
        dtype="F32", shards=1, seed=1,
        config=dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=32, intermediate_size=48,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=96,
                    max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu",
                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                      original_max_position_embeddings=16),
                    attention_bias=True, mlp_bias=True, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)),
    # mistral: sliding window 4, untied head, BF16.
    "mistral-bf16": dict(
        dtype="BF16", shards=1, seed=2,
        config=dict(model_type="mistral", architectures=["MistralForCausalLM"], hidden_size=32, intermediate_size=64,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, vocab_size=96,
                    max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=1000000.0, hidden_act="silu",
                    sliding_window=4, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)),
    # qwen2: q/k/v biases, tied head, F16 in two shards with an index.
    "qwen2-f16-sharded": dict(
        dtype="F16", shards=2, seed=3,
        config=dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=32, intermediate_size=64,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=96,
                    max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0, hidden_act="silu",
                    use_sliding_window=False, sliding_window=32, max_window_layers=2,
                    tie_word_embeddings=True, bos_token_id=0, eos_token_id=0)),
    # qwen3: q/k norms, head_dim 16 ≠ hidden / heads, untied head, F32.
    "qwen3-f32": dict(
        dtype="F32", shards=1, seed=4,
        config=dict(model_type="qwen3", architectures=["Qwen3ForCausalLM"], hidden_size=32, intermediate_size=64,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16, vocab_size=96,
                    max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0, hidden_act="silu",
                    attention_bias=False, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0)),
    # phi3: fused qkv and gate_up, linear rope scaling, sliding window 5, BF16.
    "phi3-bf16": dict(
        dtype="BF16", shards=1, seed=5,
        config=dict(model_type="phi3", architectures=["Phi3ForCausalLM"], hidden_size=32, intermediate_size=48,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, vocab_size=96,
                    max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu",
                    rope_scaling=dict(type="linear", factor=2.0), sliding_window=5,
                    tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)),
}

PROMPT = [5, 17, 42, 3, 88, 61, 29]
NEW_TOKENS = 8
TORCH_DTYPE = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
ST_DTYPE = {"F32": "F32", "F16": "F16", "BF16": "BF16"}


def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def state_dict(c, gen):
    """HF parameter names and shapes: linear weights are [out, in]."""
    h, nh, kvh, hd, inter, V = (c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], head_dim(c),
                                c["intermediate_size"], c["vocab_size"])
    t = c["model_type"]
    qkv_bias = t == "qwen2" or (t in ("llama", "qwen3") and c.get("attention_bias"))
    o_bias = t in ("llama", "qwen3") and c.get("attention_bias")
    mlp_bias = t == "llama" and c.get("mlp_bias")
    sd = {}

    def rnd(*shape, std=0.3):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std

    def norm(n):
        return 1 + rnd(n, std=0.2)

    sd["model.embed_tokens.weight"] = rnd(V, h, std=1.0)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = norm(h)
        if t == "phi3":
            sd[p + "self_attn.qkv_proj.weight"] = rnd((nh + 2 * kvh) * hd, h)
        else:
            sd[p + "self_attn.q_proj.weight"] = rnd(nh * hd, h)
            sd[p + "self_attn.k_proj.weight"] = rnd(kvh * hd, h)
            sd[p + "self_attn.v_proj.weight"] = rnd(kvh * hd, h)
        if qkv_bias:
            sd[p + "self_attn.q_proj.bias"] = rnd(nh * hd)
            sd[p + "self_attn.k_proj.bias"] = rnd(kvh * hd)
            sd[p + "self_attn.v_proj.bias"] = rnd(kvh * hd)
        if t == "qwen3":
            sd[p + "self_attn.q_norm.weight"] = norm(hd)
            sd[p + "self_attn.k_norm.weight"] = norm(hd)
        sd[p + "self_attn.o_proj.weight"] = rnd(h, nh * hd)
        if o_bias:
            sd[p + "self_attn.o_proj.bias"] = rnd(h)
        sd[p + "post_attention_layernorm.weight"] = norm(h)
        if t == "phi3":
            sd[p + "mlp.gate_up_proj.weight"] = rnd(2 * inter, h)
        else:
            sd[p + "mlp.gate_proj.weight"] = rnd(inter, h)
            sd[p + "mlp.up_proj.weight"] = rnd(inter, h)
        sd[p + "mlp.down_proj.weight"] = rnd(h, inter)
        if mlp_bias:
            sd[p + "mlp.gate_proj.bias"] = rnd(inter)
            sd[p + "mlp.up_proj.bias"] = rnd(inter)
            sd[p + "mlp.down_proj.bias"] = rnd(h)
    sd["model.norm.weight"] = norm(h)
    if not c.get("tie_word_embeddings"):
        sd["lm_head.weight"] = rnd(V, h)
    return sd, dict(qkv_bias=qkv_bias, o_bias=o_bias, mlp_bias=mlp_bias)


def inv_freq(c):
    """transformers' rope init (float32), default / linear / llama3."""
    d = head_dim(c)
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = c.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type", rs.get("type"))
        if kind == "linear":
            inv = inv / rs["factor"]
        elif kind == "llama3":
            factor, low, high, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
            low_wl, high_wl = old / low, old / high
            wl = 2 * math.pi / inv
            out = torch.where(wl > low_wl, inv / factor, inv)
            smooth = (old / wl - low) / (high - low)
            smoothed = (1 - smooth) * out / factor + smooth * out
            medium = ~(wl < high_wl) * ~(wl > low_wl)
            inv = torch.where(medium, smoothed, out)
        else:
            raise SystemExit(f"rope type {kind}")
    return inv


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def sliding_layers(c):
    t, n = c["model_type"], c["num_hidden_layers"]
    w = c.get("sliding_window")
    if not w:
        return None, [False] * n
    if t in ("mistral", "phi3"):
        return w, [True] * n
    if t in ("qwen2", "qwen3") and c.get("use_sliding_window"):
        return w, [i >= c.get("max_window_layers", 0) for i in range(n)]
    return None, [False] * n


def forward(c, sd, flags, ids):
    """Full-recompute logits [n, vocab] in float64."""
    h, nh, kvh, hd, inter = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], head_dim(c), c["intermediate_size"]
    eps, t = c["rms_norm_eps"], c["model_type"]
    n = len(ids)
    x = sd["model.embed_tokens.weight"][torch.tensor(ids)]
    pos = torch.arange(n, dtype=torch.int64)
    ang = (pos.float()[:, None] * inv_freq(c)[None, :]).double()  # float32 angles, as transformers
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos()[None], emb.sin()[None]  # [1, n, hd]
    window, sliding = sliding_layers(c)
    qi = torch.arange(n)[:, None]
    ki = torch.arange(n)[None, :]
    full_mask = ki <= qi
    win_mask = full_mask & (qi - ki < window) if window else full_mask
    lin = lambda v, name, bias: v @ sd[name + ".weight"].T + (sd[name + ".bias"] if bias else 0)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, sd[p + "input_layernorm.weight"], eps)
        if t == "phi3":
            qkv = a @ sd[p + "self_attn.qkv_proj.weight"].T
            q, k, v = qkv.split([nh * hd, kvh * hd, kvh * hd], dim=-1)
        else:
            q = lin(a, p + "self_attn.q_proj", flags["qkv_bias"])
            k = lin(a, p + "self_attn.k_proj", flags["qkv_bias"])
            v = lin(a, p + "self_attn.v_proj", flags["qkv_bias"])
        q = q.view(n, nh, hd)
        k = k.view(n, kvh, hd)
        v = v.view(n, kvh, hd)
        if t == "qwen3":
            q = rms_norm(q, sd[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, sd[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [heads, n, hd]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // kvh, dim=0)
        v = v.repeat_interleave(nh // kvh, dim=0)
        scores = q @ k.transpose(1, 2) / math.sqrt(hd)
        mask = win_mask if sliding[i] else full_mask
        scores = scores.masked_fill(~mask, float("-inf"))
        ctx = torch.softmax(scores, dim=-1) @ v  # [heads, n, hd]
        ctx = ctx.transpose(0, 1).reshape(n, nh * hd)
        x = x + lin(ctx, p + "self_attn.o_proj", flags["o_bias"])
        m = rms_norm(x, sd[p + "post_attention_layernorm.weight"], eps)
        if t == "phi3":
            gate, up = (m @ sd[p + "mlp.gate_up_proj.weight"].T).chunk(2, dim=-1)
        else:
            gate = lin(m, p + "mlp.gate_proj", flags["mlp_bias"])
            up = lin(m, p + "mlp.up_proj", flags["mlp_bias"])
        x = x + lin(torch.nn.functional.silu(gate) * up, p + "mlp.down_proj", flags["mlp_bias"])
    x = rms_norm(x, sd["model.norm.weight"], eps)
    head = sd["model.embed_tokens.weight"] if c.get("tie_word_embeddings") else sd["lm_head.weight"]
    return x @ head.T


def tensor_bytes(t, dtype):
    t = t.to(TORCH_DTYPE[dtype]).contiguous()
    if dtype == "BF16":
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, dtype):
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        b = tensor_bytes(t, dtype)
        header[name] = {"dtype": ST_DTYPE[dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the reference writer pads to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make(out, name, spec):
    c = spec["config"]
    gen = torch.Generator().manual_seed(spec["seed"])
    sd, flags = state_dict(c, gen)
    # The reference computes from the stored values.
    sd = {k: v.to(TORCH_DTYPE[spec["dtype"]]).double() for k, v in sd.items()}
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    items = list(sd.items())
    if spec["shards"] == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), items, spec["dtype"])
    else:
        k = spec["shards"]
        per = math.ceil(len(items) / k)
        weight_map = {}
        for s in range(k):
            fn = f"model-{s + 1:05d}-of-{k:05d}.safetensors"
            part = items[s * per:(s + 1) * per]
            write_safetensors(os.path.join(d, fn), part, spec["dtype"])
            weight_map.update({n: fn for n, _ in part})
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
    ids = list(PROMPT)
    prompt_logits = forward(c, sd, flags, ids)
    greedy, step_logits = [], []
    for _ in range(NEW_TOKENS):
        last = forward(c, sd, flags, ids)[-1]
        top2 = torch.topk(last, 2).values
        if top2[0] - top2[1] < 1e-3:
            raise SystemExit(f"{name}: greedy near-tie ({top2.tolist()}); pick another seed")
        nxt = int(torch.argmax(last))
        greedy.append(nxt)
        step_logits.append(last)
        ids.append(nxt)
    rnd = lambda m: [[float(f"{v:.7g}") for v in row] for row in m.tolist()]
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"prompt": PROMPT, "prompt_logits": rnd(prompt_logits), "greedy": greedy,
                   "step_logits": rnd(torch.stack(step_logits))}, f, separators=(",", ":"))
        f.write("\n")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for name, spec in CASES.items():
        make(sys.argv[1], name, spec)


if __name__ == "__main__":
    main()
