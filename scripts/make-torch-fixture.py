#!/usr/bin/python3
"""Export a tiny GPT-2-like decoder with PyTorch's own exporter, in the
Hugging Face optimum decoder-with-past layout, as a test fixture for pipe.

    /usr/bin/python3 scripts/make-torch-fixture.py [OUT_DIR]

Writes OUT_DIR (default host/internal/gen/ortgen/testdata/torch-gpt2-tiny-gqa):
  model.onnx     inputs  input_ids [b,s], attention_mask [b,past+s], position_ids [b,s],
                         past_key_values.{i}.key|value [b,kv_heads,past,head_dim]
                 outputs logits [b,s,vocab], present.{i}.key|value [b,kv_heads,past+s,head_dim]
  config.json    Hugging Face keys (n_layer, n_head, num_key_value_heads, ...)
  expected.json  greedy tokens PyTorch itself generated (with its own KV cache)
                 for fixed prompts, and the last-position prefill logits.

It also writes OUT_DIR-merged/decoder_model_merged.onnx: the
same graph in optimum's merged form, an If on a use_cache_branch bool [1]
input: true runs the exported graph, false runs it on the past sliced to zero
positions (optimum's no-cache branch never reads the past), so only a runtime
that sets the flag right gets PyTorch's tokens; plus the same config.json and
expected.json.

The model is grouped-query (4 query heads share 2 KV heads) so that a runtime
which takes the KV head count from the query heads gets it wrong. Only plain
torch (1.13, Debian's python3-torch) is used: no transformers package.
"""
import copy
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {
    "model_type": "gpt2",
    "architectures": ["TinyGQADecoder"],
    "n_layer": 2,
    "n_head": 4,
    "num_key_value_heads": 2,
    "n_embd": 32,
    "head_dim": 8,
    "n_inner": 64,
    "vocab_size": 96,
    "n_positions": 64,
    "layer_norm_epsilon": 1e-5,
    "bos_token_id": 0,
    "eos_token_id": 95,
    "tie_word_embeddings": True,
}
SEED = 20261128
PROMPTS = [[5, 17, 42, 8, 91, 3, 60], [11, 2, 77]]
NEW_TOKENS = 12


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, h, kvh, hd = c["n_embd"], c["n_head"], c["num_key_value_heads"], c["head_dim"]
        self.h, self.kvh, self.hd = h, kvh, hd
        self.ln_1 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.q = nn.Linear(d, h * hd)
        self.k = nn.Linear(d, kvh * hd)
        self.v = nn.Linear(d, kvh * hd)
        self.o = nn.Linear(h * hd, d)
        self.ln_2 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.fc = nn.Linear(d, c["n_inner"])
        self.proj = nn.Linear(c["n_inner"], d)

    def repeat_kv(self, x):
        """Each KV head serves h/kvh consecutive query heads (expand+reshape:
        repeat_interleave exports with a shape fixed at trace time)."""
        b, kvh, t, hd = x.shape
        rep = self.h // self.kvh
        return x[:, :, None, :, :].expand(b, kvh, rep, t, hd).reshape(b, kvh * rep, t, hd)

    def forward(self, x, bias, past_k, past_v):
        b, s, _ = x.shape
        a = self.ln_1(x)
        q = self.q(a).view(b, s, self.h, self.hd).transpose(1, 2)
        k = self.k(a).view(b, s, self.kvh, self.hd).transpose(1, 2)
        v = self.v(a).view(b, s, self.kvh, self.hd).transpose(1, 2)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        kk, vv = self.repeat_kv(k), self.repeat_kv(v)
        w = torch.matmul(q, kk.transpose(-1, -2)) / math.sqrt(self.hd) + bias
        y = torch.matmul(torch.softmax(w, dim=-1), vv)
        y = y.transpose(1, 2).reshape(b, s, self.h * self.hd)
        x = x + self.o(y)
        x = x + self.proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))
        return x, k, v


class TinyGQADecoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.blocks = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask, position_ids, *past):
        s = input_ids.shape[1]
        total = attention_mask.shape[1]
        # Query i sits at absolute index total-s+i; it sees key j when j <= that
        # index and attention_mask[j] == 1 (left padding is masked out).
        qi = torch.arange(s).unsqueeze(1) + (total - s)
        kj = torch.arange(total).unsqueeze(0)
        causal = (kj <= qi).unsqueeze(0).unsqueeze(0)
        keep = causal & (attention_mask[:, None, None, :] > 0)
        bias = torch.zeros(keep.shape, dtype=torch.float32).masked_fill(~keep, -1e9)
        x = self.wte(input_ids) + self.wpe(position_ids)
        presents = []
        for i, blk in enumerate(self.blocks):
            x, k, v = blk(x, bias, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        logits = torch.matmul(self.ln_f(x), self.wte.weight.t())
        return (logits, *presents)


def empty_past(c, b):
    shape = (b, c["num_key_value_heads"], 0, c["head_dim"])
    return [torch.zeros(shape) for _ in range(2 * c["n_layer"])]


@torch.no_grad()
def greedy(model, c, prompt, n):
    """PyTorch's own generation: prefill, then one token per step with the cache."""
    ids = torch.tensor([prompt])
    mask = torch.ones_like(ids)
    pos = torch.arange(len(prompt)).unsqueeze(0)
    out = model(ids, mask, pos, *empty_past(c, 1))
    first_logits = out[0][0, -1].tolist()
    tokens = []
    margin = math.inf  # smallest top-1 minus top-2 logit gap: a near tie would make the test flaky
    for step in range(n):
        top = torch.topk(out[0][0, -1], 2).values
        margin = min(margin, float(top[0] - top[1]))
        nxt = int(out[0][0, -1].argmax())
        tokens.append(nxt)
        if step == n - 1:
            break
        past = out[1:]
        mask = torch.ones(1, mask.shape[1] + 1, dtype=torch.long)
        pos = torch.tensor([[mask.shape[1] - 1]])
        out = model(torch.tensor([[nxt]]), mask, pos, *past)
    return tokens, first_logits, margin


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "host", "gen", "ortgen", "testdata", "torch-gpt2-tiny-gqa")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(SEED)
    c = CONFIG
    model = TinyGQADecoder(c).eval()
    with torch.no_grad():  # wide weights: greedy paths vary instead of repeating one id
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 1.0)

    L = c["n_layer"]
    past_names = []
    present_names = []
    for i in range(L):
        past_names += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        present_names += [f"present.{i}.key", f"present.{i}.value"]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for n in past_names:
        dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
    for n in present_names:
        dyn[n] = {0: "batch_size", 2: "total_sequence_length"}
    # Trace with a non-empty past so no dimension is specialised to a constant.
    b, s, p = 2, 3, 4
    kvshape = (b, c["num_key_value_heads"], p, c["head_dim"])
    args = (torch.randint(0, c["vocab_size"], (b, s)), torch.ones(b, p + s, dtype=torch.long),
            torch.arange(p, p + s).repeat(b, 1), *[torch.randn(kvshape) for _ in past_names])
    torch.onnx.export(model, args, os.path.join(out_dir, "model.onnx"),
                      input_names=["input_ids", "attention_mask", "position_ids"] + past_names,
                      output_names=["logits"] + present_names,
                      dynamic_axes=dyn, opset_version=14, do_constant_folding=True)

    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")
    cases = []
    for prompt in PROMPTS:
        tokens, first_logits, margin = greedy(model, c, prompt, NEW_TOKENS)
        if margin < 1e-3:
            sys.exit("greedy path has a near tie (margin %g): change SEED" % margin)
        cases.append({"prompt": prompt, "greedy": tokens, "min_margin": round(margin, 6),
                      "prefill_last_logits": [round(x, 6) for x in first_logits]})
    expected = {"generator": "PyTorch %s eager, greedy, own KV cache" % torch.__version__,
                "seed": SEED, "new_tokens": NEW_TOKENS, "cases": cases}
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    merged_dir = out_dir.rstrip("/") + "-merged"
    write_merged(os.path.join(out_dir, "model.onnx"), merged_dir)
    for name in ("config.json", "expected.json"):
        with open(os.path.join(out_dir, name)) as src, open(os.path.join(merged_dir, name), "w") as dst:
            dst.write(src.read())
    print("wrote", out_dir, merged_dir, [cs["greedy"] for cs in cases])


def write_merged(src, out_dir):
    """Wrap the exported graph in optimum's merged form (If on use_cache_branch)."""
    import onnx
    from onnx import helper, TensorProto

    m = onnx.load(src)
    g = m.graph
    outs = [o.name for o in g.output]

    past = [i.name for i in g.input if i.name.startswith("past_key_values.")]

    def branch(name, ignore_past):
        nodes = [copy.deepcopy(n) for n in g.node]
        rename = {o: name + "." + o for o in outs}
        if ignore_past:
            # optimum's no-cache branch never reads the past: here it slices
            # each past input to zero positions, so a runtime that feeds
            # use_cache_branch = false while decoding loses its cache.
            axes = helper.make_tensor(name + ".axes", TensorProto.INT64, [1], [2])
            zero = helper.make_tensor(name + ".zero", TensorProto.INT64, [1], [0])
            empty = [helper.make_node("Constant", [], [name + ".axes"], value=axes),
                     helper.make_node("Constant", [], [name + ".zero"], value=zero)]
            for p in past:
                rename[p] = name + "." + p + ".empty"
                empty.append(helper.make_node("Slice", [p, name + ".zero", name + ".zero", name + ".axes"], [rename[p]]))
            nodes = empty + nodes
        for n in nodes:  # branch outputs get their own names; other values flow in from the outer scope
            if n.op_type != "Slice" or not n.output[0].endswith(".empty"):
                n.input[:] = [rename.get(x, x) for x in n.input]
            n.output[:] = [rename.get(x, x) for x in n.output]
        return helper.make_graph(
            nodes, name, [],
            [helper.make_tensor_value_info(rename[o.name], o.type.tensor_type.elem_type, None) for o in g.output])

    use_cache = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    if_node = helper.make_node("If", ["use_cache_branch"], outs, name="optimum::if",
                               then_branch=branch("with_past", False), else_branch=branch("without_past", True))
    merged = helper.make_graph([if_node], "merged", list(g.input) + [use_cache], list(g.output),
                               initializer=list(g.initializer))
    mm = helper.make_model(merged, opset_imports=m.opset_import, producer_name="make-torch-fixture.py")
    mm.ir_version = m.ir_version
    onnx.checker.check_model(mm)
    os.makedirs(out_dir, exist_ok=True)
    onnx.save(mm, os.path.join(out_dir, "decoder_model_merged.onnx"))


if __name__ == "__main__":
    main()
