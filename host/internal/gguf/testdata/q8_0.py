#!/usr/bin/python3
"""Writes q8_0.golden: llama.cpp's q8_0 (quantize_row_q8_0_ref) of the
inputs gguf_test.go's q8Inputs builds, computed with numpy independently of
pipe's Go: per block of 32, amax = max|x|, d = float32(amax / 127),
id = float32(1 / d) (0 when d = 0), q = roundf(float32(x * id)) half away from
zero, d stored as IEEE fp16 (numpy's astype(float16) rounds to nearest even).
Run: /usr/bin/python3 host/internal/gguf/testdata/q8_0.py > host/internal/gguf/testdata/q8_0.golden
"""
import numpy as np

def inputs():
    # Blocks 0-5: x_i = ((i*7919) mod 2001 - 1000) / (977 + 13*(i div 32)), in float32.
    i = np.arange(6 * 32)
    x = (np.float32(1) * ((i * 7919) % 2001 - 1000)).astype(np.float32) / (977 + 13 * (i // 32)).astype(np.float32)
    zeros = np.zeros(32, np.float32)
    # d = 127/127 = 1 exactly, so x·id are the halves themselves: roundf's ties.
    ties = np.array([127, 2.5, -2.5, 0.5, -0.5, 1.5, -1.5, 126.5, -126.5] + [0.25 * k for k in range(23)], np.float32)
    return np.concatenate([x.astype(np.float32), zeros, ties])

def q8_0(x):
    out = bytearray()
    for b in range(0, len(x), 32):
        blk = x[b:b + 32]
        amax = np.float32(np.max(np.abs(blk)))
        d = np.float32(amax / np.float32(127))
        id_ = np.float32(1) / d if d != 0 else np.float32(0)
        v = (blk * id_).astype(np.float32).astype(np.float64)
        q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)
        out += np.array([d], np.float32).astype(np.float16).tobytes()
        out += q.tobytes()
    return bytes(out)

print(q8_0(inputs()).hex())
