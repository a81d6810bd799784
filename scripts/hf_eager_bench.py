#!/usr/bin/env python3
"""Hugging Face transformers, PyTorch eager, on the shapes of pipe's phase 2.

GPT2LMHeadModel(GPT2Config()) -- GPT-2 124M with random weights, no download --
in fp32 on one device, greedy decoding with the KV cache, timed the way pipe
times itself (README.md, "Metric definitions"; host/internal/measure):

  TTFT   = request start -> first generated token id available on the host
  E2E    = request start -> last token id available
  decode = (n - 1) / (E2E - TTFT) tokens/s

"Available" means the id was read back (`.item()`), which waits for the GPU,
exactly as pipe's token timestamps wait for the runtime. Prompts are seeded
random ids of exact length, as pipe's seeded prompts are. No tokenizer is
timed: pipe's phase 2 uses id prompts too.

Writes one JSON object (--out) with per-case means, medians and every run, and
with --pipe-result also prints one markdown table that sets these beside
pipe's result.json (same cases, same metrics).

  python3 scripts/hf_eager_bench.py --cases 128:64,512:128,768:256 --out hf.json
  python3 scripts/hf_eager_bench.py --table-only --hf hf.json --pipe-result r.json [--pipe-result r2.json]
"""

import argparse
import json
import statistics
import sys
import time


def parse_cases(text):
    cases = []
    for part in text.split(","):
        p, _, n = part.partition(":")
        if not p or not n:
            sys.exit(f"--cases {text!r}: use PROMPT:NEW pairs, e.g. 128:64,512:128")
        cases.append((int(p), int(n)))
    return cases


def summarize(xs):
    return {"mean": statistics.fmean(xs), "p50": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def bench(args):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(args.seed)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    try:
        cfg = GPT2Config(attn_implementation=args.attn)
    except TypeError:  # transformers without the keyword
        cfg = GPT2Config()
        cfg._attn_implementation = args.attn
    model = GPT2LMHeadModel(cfg).to(args.device, dtype=dtype).eval()
    attn = getattr(model.config, "_attn_implementation", None) or args.attn
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def one(prompt, n):
        sync()
        t0 = time.perf_counter()
        stamps = []
        with torch.inference_mode():
            out = model(input_ids=prompt, use_cache=True)
            nxt = out.logits[:, -1, :].argmax(-1)
            nxt.item()
            stamps.append(time.perf_counter())
            past = out.past_key_values
            for _ in range(n - 1):
                out = model(input_ids=nxt.view(1, 1), past_key_values=past, use_cache=True)
                past = out.past_key_values
                nxt = out.logits[:, -1, :].argmax(-1)
                nxt.item()
                stamps.append(time.perf_counter())
        ttft = stamps[0] - t0
        e2e = stamps[-1] - t0
        return {"ttft_ms": ttft * 1e3, "e2e_ms": e2e * 1e3, "decode_tps": (n - 1) / (e2e - ttft)}

    res = {
        "engine": "hf-transformers-eager",
        "attn_implementation": attn,
        "dtype": args.dtype,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cases": [],
    }
    try:
        import transformers

        res["transformers"] = transformers.__version__
    except Exception:  # noqa: BLE001 - version is informative only
        pass
    gen = torch.Generator().manual_seed(args.seed)
    for p, n in parse_cases(args.cases):
        prompt = torch.randint(0, cfg.vocab_size, (1, p), generator=gen).to(dev)
        for _ in range(args.warmup):
            one(prompt, n)
        runs = [one(prompt, n) for _ in range(args.runs)]
        case = {"id": f"p{p}-n{n}", "prompt_tokens": p, "new_tokens": n, "runs": runs}
        for k in ("ttft_ms", "e2e_ms", "decode_tps"):
            case[k] = summarize([r[k] for r in runs])
        res["cases"].append(case)
        print(f"{args.attn} {args.dtype} p{p}-n{n}: TTFT {case['ttft_ms']['p50']:.2f} ms, decode {case['decode_tps']['p50']:.1f} tok/s", flush=True)
    if dev.type == "cuda":
        res["max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(dev)
    return res


def pipe_cases(path):
    with open(path) as f:
        r = json.load(f)
    m = r.get("model", {})
    label = f"pipe {m.get('device', '?')} {m.get('graph_style', '?')}"
    opts = (r.get("pipeline", {}).get("settings") or {})
    out = {}
    for c in r.get("cases", []):
        s = c.get("stats", {})
        if "ttft_ms" in s and "decode_tps" in s:
            out[(c["params"]["prompt_tokens"], c["params"]["new_tokens"])] = {
                "ttft_ms": s["ttft_ms"],
                "decode_tps": s["decode_tps"],
                "n": s["decode_tps"].get("n", 0),
            }
    return label, out, opts


def table(hf_paths, pipe_paths, labels):
    """Markdown: one row per engine and case; ratios against the first HF file."""
    engines = []
    for path in hf_paths:
        with open(path) as f:
            h = json.load(f)
        cases = {(c["prompt_tokens"], c["new_tokens"]): {"ttft_ms": c["ttft_ms"], "decode_tps": c["decode_tps"], "n": c["ttft_ms"]["n"]} for c in h["cases"]}
        engines.append((f"HF eager ({h['attn_implementation']} attention) {h['dtype']}", cases))
    for i, path in enumerate(pipe_paths):
        label, cases, _ = pipe_cases(path)
        if i < len(labels) and labels[i]:
            label = labels[i]
        engines.append((label, cases))
    base = engines[0][1] if hf_paths else {}
    keys = sorted({k for _, cs in engines for k in cs})
    lines = [
        "| engine | prompt → new | runs | TTFT p50 ms | TTFT mean ms | decode p50 tok/s | decode mean tok/s | decode / HF | TTFT / HF |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for k in keys:
        for name, cs in engines:
            c = cs.get(k)
            if not c:
                continue
            b = base.get(k)
            dr = f"{c['decode_tps']['p50'] / b['decode_tps']['p50']:.2f}×" if b else ""
            tr = f"{c['ttft_ms']['p50'] / b['ttft_ms']['p50']:.2f}×" if b else ""
            lines.append(
                f"| {name} | {k[0]} → {k[1]} | {c['n']} | {c['ttft_ms']['p50']:.2f} | {c['ttft_ms']['mean']:.2f} | "
                f"{c['decode_tps']['p50']:.1f} | {c['decode_tps']['mean']:.1f} | {dr} | {tr} |"
            )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="128:64,512:128,768:256", help="PROMPT:NEW pairs (phase 2's by default)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"], help="transformers attention implementation")
    ap.add_argument("--out", help="write the JSON here")
    ap.add_argument("--table-only", action="store_true", help="do not benchmark; print the table from --hf and --pipe-result")
    ap.add_argument("--hf", action="append", default=[], help="an earlier --out file (repeatable; the first is the ratio base)")
    ap.add_argument("--pipe-result", action="append", default=[], help="pipe's result.json (repeatable)")
    ap.add_argument("--label", action="append", default=[], help="row label for each --pipe-result, in order")
    args = ap.parse_args()
    hf = list(args.hf)
    if not args.table_only:
        res = bench(args)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(res, f, indent=1)
            hf.insert(0, args.out)
    if args.pipe_result or args.table_only:
        print(table(hf, args.pipe_result, args.label))


if __name__ == "__main__":
    main()
