#!/usr/bin/python3
"""Golden for pipe's MatMulNBits quantiser (host/internal/model/quantize.go).

An independent numpy implementation of what ONNX Runtime's contrib op
MatMulNBits documents (docs/ContribOperators.md): B [N, n_blocks, blob] uint8,
blocks of block_size consecutive elements along K, for 4 bits element 2j of a
block in the low nibble of byte j and 2j+1 in the high nibble; scales [N, n_blocks];
without a zero-point input the zero point is 2^(bits-1); dequantised
w = (q - zero) * scale (in float32); Y = A · Wᵀ (here in float64).

The quantisation is round-to-nearest (half to even, as numpy and Go's
math.RoundToEven round), symmetric: scale = max|w| / (2^(bits-1) - 1) per
block in float64 rounded to float32, q = round(w / scale) + 2^(bits-1).

Usage: /usr/bin/python3 scripts/make-quant-golden.py host/internal/model/testdata/quant/golden.json
"""
import json
import sys

import numpy as np


def quantize(w, bits, block):
    n, k = w.shape
    nb = (k + block - 1) // block
    zero = 1 << (bits - 1)
    maxq = zero - 1
    padded = np.zeros((n, nb * block), dtype=np.float32)
    padded[:, :k] = w
    blocks = padded.reshape(n, nb, block).astype(np.float64)
    amax = np.abs(blocks).max(axis=2)
    scales = (amax / maxq).astype(np.float32)
    inv = np.where(scales == 0, 0.0, 1.0 / np.where(scales == 0, 1, scales).astype(np.float64))
    q = np.rint(blocks * inv[:, :, None]).astype(np.int64) + zero
    q = np.clip(q, 0, 2 * zero - 1)
    # padding past k holds the zero point
    q.reshape(n, nb * block)[:, k:] = zero
    if bits == 8:
        packed = q.astype(np.uint8)
    else:
        packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    return packed, scales


def dequantize(packed, scales, bits, block, k):
    n, nb, _ = packed.shape
    zero = 1 << (bits - 1)
    if bits == 8:
        q = packed.astype(np.int64)
    else:
        q = np.empty((n, nb, block), dtype=np.int64)
        q[:, :, 0::2] = packed & 0xF
        q[:, :, 1::2] = packed >> 4
    # float32, as the kernel dequantises
    w = (q - zero).astype(np.float32) * scales[:, :, None]
    return w.reshape(n, nb * block)[:, :k]


def main(out):
    rng = np.random.default_rng(12)
    cases = []
    for bits, block, n, k in [(4, 32, 6, 80), (8, 32, 6, 80), (4, 16, 5, 64), (8, 64, 4, 96)]:
        w = (rng.standard_normal((n, k)) * 0.05).astype(np.float32)
        w[0, :block] = 0  # an all-zero block: scale 0
        a = rng.standard_normal((3, k)).astype(np.float32)
        packed, scales = quantize(w, bits, block)
        deq = dequantize(packed, scales, bits, block, k)
        y = a.astype(np.float64) @ deq.astype(np.float64).T
        cases.append({
            "bits": bits, "block_size": block, "n": n, "k": k, "m": 3,
            "w": w.ravel().tolist(), "a": a.ravel().tolist(),
            "qweight_hex": packed.tobytes().hex(), "scales": scales.ravel().tolist(),
            "y": y.ravel().tolist(),
        })
    with open(out, "w") as f:
        json.dump({"generator": "scripts/make-quant-golden.py", "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
