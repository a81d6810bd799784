#!/usr/bin/python3
"""Greedy ids of the layout fixtures by full recompute, in numpy: the oracle
for host/internal/gen/ortgen's layout tests (layout_fixture_test.go).

    /usr/bin/python3 scripts/layout-fixture-reference.py IN.json

IN.json holds the decoder's shape, its mode (fp32, f16io, q4), its weights
(float lists; for q4 the MatMulNBits bytes and scales, unpacked here), the
prompts and the number of new tokens; stdout gets one list of ids per
prompt. Each prompt is decoded alone, recomputing the whole sequence per
token, with plain attention (no cache, no padding), so the runtime's cache,
padding, shared buffer and batching are checked against a computation that
has none of them.

The decoder, written from ONNX Runtime's operator specs and not from pipe:
x = wte[ids]; per layer q, k, v = x·Wq, x·Wk, x·Wv; rotary embedding
(rotate-half, theta 10000, positions 0…n−1) on q and k; causal softmax
attention, query head h reading key/value head h // (heads / kv_heads),
scale 1/sqrt(head_dim); x += attn·Wo; x += relu(x·W1)·W2; logits = x·lm_head.
f16io rounds as the graph does: q, k, v to float16 before the attention,
the rotated q and k, the attention's output and the logits to float16 (the
cos/sin caches are float16 too); f16 (every weight and activation in
float16) rounds the weights and every op's result; q4 multiplies by the dequantised weights
(q − 8) · scale, 4-bit values two per byte, low nibble first, blocks of 32
along K. Only numpy is needed.
"""
import json
import sys

import numpy as np


def dequant4(w):
    K, N = w["shape"]
    nb = K // 32
    packed = np.array(w["packed"], dtype=np.uint8).reshape(N, nb, 16)
    lo, hi = packed & 0x0F, packed >> 4
    q = np.empty((N, nb, 32), dtype=np.float32)
    q[:, :, 0::2], q[:, :, 1::2] = lo, hi
    scales = np.array(w["scales"], dtype=np.float32).reshape(N, nb, 1)
    return ((q - 8) * scales).reshape(N, K).T.copy()  # [K, N]


def weights(raw):
    out = {}
    for name, w in raw.items():
        if w.get("packed"):
            out[name] = dequant4(w)
        else:
            out[name] = np.array(w["data"], dtype=np.float32).reshape(w["shape"])
    return out


def rope(x, pos, head_dim, half16):
    # x [heads, n, head_dim]
    half = head_dim // 2
    inv = np.power(10000.0, -np.arange(half, dtype=np.float64) * 2 / head_dim)
    ang = np.outer(pos, inv)
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    if half16:
        cos, sin = cos.astype(np.float16).astype(np.float32), sin.astype(np.float16).astype(np.float32)
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def forward(s, w, ids, f16, all16):
    r16 = (lambda a: a.astype(np.float16).astype(np.float32)) if f16 else (lambda a: a)
    rall = r16 if all16 else (lambda a: a)
    n, H, KV, D = len(ids), s["Heads"], s["KVHeads"], s["HeadDim"]
    x = w["wte"][ids]
    pos = np.arange(n)
    for l in range(s["Layers"]):
        p = "l%d." % l
        q = r16(x @ w[p + "wq"]).reshape(n, H, D).transpose(1, 0, 2)
        k = r16(x @ w[p + "wk"]).reshape(n, KV, D).transpose(1, 0, 2)
        v = r16(x @ w[p + "wv"]).reshape(n, KV, D).transpose(1, 0, 2)
        q, k = r16(rope(q, pos, D, f16)), r16(rope(k, pos, D, f16))
        out = np.empty((H, n, D), dtype=np.float32)
        for h in range(H):
            kh, vh = k[h // (H // KV)], v[h // (H // KV)]
            sc = (q[h] @ kh.T) / np.sqrt(D)
            sc = np.where(np.tril(np.ones((n, n), dtype=bool)), sc, -np.inf)
            sc = np.exp(sc - sc.max(axis=1, keepdims=True))
            out[h] = (sc / sc.sum(axis=1, keepdims=True)) @ vh
        a = r16(out.transpose(1, 0, 2).reshape(n, H * D))
        x = rall(x + rall(a @ w[p + "wo"]))
        x = rall(x + rall(np.maximum(rall(x @ w[p + "w1"]), 0) @ w[p + "w2"]))
    return r16(x @ w["lm_head"])


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    s, w = spec["shape"], weights(spec["weights"])
    all16 = spec["mode"] == "f16"
    f16 = spec["mode"] == "f16io" or all16
    if all16:
        w = {k: v.astype(np.float16).astype(np.float32) for k, v in w.items()}
    out = []
    for prompt in spec["prompts"]:
        seq, ids = list(prompt), []
        for _ in range(spec["new_tokens"]):
            nxt = int(np.argmax(forward(s, w, np.array(seq), f16, all16)[-1]))
            ids.append(nxt)
            seq.append(nxt)
        out.append(ids)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
