#!/usr/bin/env bash
# bench-matrix.sh — the closing-note table of issue 12: for the built-in gpt2
# and each Llama-family preset at each precision, build into an empty cache
# (wall time and peak RSS of `pipe generate` under /usr/bin/time -v: build,
# load and two tokens), then `pipe bench --no-bare` (TTFT at 128 prompt
# tokens, decode tok/s at 128/512/768, decode as a share of that precision's
# own weights roofline measured in the same run, other processes' CPU use).
#
# usage: scripts/bench-matrix.sh [OUT.md]     (default bench-matrix.md)
#   PIPE=bin/pipe  MODELS="gpt2 smollm2-135m qwen2.5-0.5b llama-3.2-1b"
#   PRECISIONS="fp32 int8 int4" (fp16 is added when `pipe generate --precision
#   fp16` builds and runs here, for FP16_MODELS="gpt2 smollm2-135m" only: on a
#   CPU without float16 arithmetic ONNX Runtime decodes gpt2 fp16 at ≈ 2 tok/s)
#   THREADS=2  PROMPTS=128,512,768
# Timing: run it under `flock /tmp/bench.lock` on a shared machine. The big
# fp32 models get fewer runs (see reps_for): llama-3.2-1b fp32 is ≈ 5 GB and
# prefills 768 tokens in tens of seconds on 2 cores, so the whole script
# stays under ~25 minutes there.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pipe=${PIPE:-$root/bin/pipe}
out=${1:-bench-matrix.md}
models=${MODELS:-gpt2 smollm2-135m qwen2.5-0.5b llama-3.2-1b}
precisions=${PRECISIONS:-fp32 int8 int4}
threads=${THREADS:-2}
prompts=${PROMPTS:-128,512,768}
fp16_models=${FP16_MODELS:-gpt2 smollm2-135m}
ortlib=${PIPE_ORT_LIB:-$(ls "$root"/.cache/onnxruntime/*/libonnxruntime.so.1 2>/dev/null | tail -1)}
[ -x "$pipe" ] || { echo "bench-matrix: no pipe binary at $pipe: run make build (or set PIPE)" >&2; exit 2; }
[ -f "$ortlib" ] || { echo "bench-matrix: no ONNX Runtime library: run make setup (or set PIPE_ORT_LIB)" >&2; exit 2; }
export PIPE_ORT_LIB=$ortlib

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-matrix.XXXXXX")
trap 'rm -rf "$work"' EXIT

# reps_for MODEL PRECISION: "reps new-tokens" for pipe bench.
reps_for() {
	case "$1:$2" in
	*:fp16) echo "1 8" ;;
	llama-3.2-1b:fp32) echo "1 8" ;;
	llama-3.2-1b:*) echo "1 16" ;;
	qwen2.5-0.5b:fp32) echo "2 16" ;;
	qwen2.5-0.5b:*) echo "2 32" ;;
	*) echo "3 32" ;;
	esac
}

if [[ " $precisions " != *" fp16 "* ]] &&
	PIPE_CACHE="$work/fp16-probe" timeout 120 "$pipe" generate --model gpt2-tiny --precision fp16 --prompt-tokens 4 --new-tokens 2 >/dev/null 2>&1; then
	precisions="$precisions fp16"
fi
echo "bench-matrix: models $models; precisions $precisions; $threads threads" >&2

for m in $models; do
	for p in $precisions; do
		tag="$m-$p"
		if [ "$p" = fp16 ] && [[ " $fp16_models " != *" $m "* ]]; then
			echo "not run: fp16 on this CPU is for FP16_MODELS ($fp16_models)" >"$work/fail-$tag.txt"
			continue
		fi
		cache="$work/cache-$tag" # empty: the build is timed
		mkdir -p "$cache" "$work/bench-$tag"
		read -r reps newtok < <(reps_for "$m" "$p")
		echo "bench-matrix: $tag: build (empty cache), then bench with $reps reps of $newtok new tokens ($(cut -d' ' -f1-3 /proc/loadavg))" >&2
		if ! PIPE_CACHE="$cache" /usr/bin/time -v -o "$work/time-$tag.txt" \
			"$pipe" generate --model "$m" --precision "$p" --threads "$threads" --prompt-tokens 8 --new-tokens 2 >"$work/gen-$tag.txt" 2>&1; then
			echo "bench-matrix: $tag: generate failed: $(tail -1 "$work/gen-$tag.txt")" >&2
			echo "$(tail -1 "$work/gen-$tag.txt")" >"$work/fail-$tag.txt"
			rm -rf "$cache"
			continue
		fi
		if ! PIPE_CACHE="$cache" timeout 900 "$pipe" bench --model "$m" --precision "$p" --threads "$threads" --no-bare --quiet \
			--prompts "$prompts" --new-tokens "$newtok" --reps "$reps" --out "$work/bench-$tag" >"$work/benchout-$tag.txt" 2>&1; then
			echo "bench-matrix: $tag: bench failed: $(tail -1 "$work/benchout-$tag.txt")" >&2
			echo "$(tail -1 "$work/benchout-$tag.txt")" >"$work/fail-$tag.txt"
		fi
		rm -rf "$cache" # llama-3.2-1b fp32 alone is ≈ 5 GB
	done
done

MODELS="$models" PRECISIONS="$precisions" PROMPTS="$prompts" python3 - "$work" "$out" <<'EOF'
import glob, json, os, re, sys
work, out = sys.argv[1], sys.argv[2]
rows = []
prompts = [int(x) for x in os.environ["PROMPTS"].split(",")]
def wall(text):
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    if not m:
        return None
    parts = [float(x) for x in m.group(1).split(":")]
    s = 0.0
    for x in parts:
        s = s * 60 + x
    return s
for m in os.environ["MODELS"].split():
    for p in os.environ["PRECISIONS"].split():
        tag = f"{m}-{p}"
        fail = os.path.join(work, f"fail-{tag}.txt")
        t = open(os.path.join(work, f"time-{tag}.txt")).read() if os.path.exists(os.path.join(work, f"time-{tag}.txt")) else ""
        w = wall(t)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
        build = f"{w:.1f} s, {int(rss.group(1))/1e6:.2f} GB" if w is not None and rss else "–"
        js = sorted(glob.glob(os.path.join(work, f"bench-{tag}", "bench-*.json")))
        if not js:
            why = open(fail).read().strip() if os.path.exists(fail) else "no figures"
            rows.append(f"| {m} | {p} | – | – | – | – | – | – | {build} | {why[:160]} |")
            continue
        f = json.load(open(js[-1]))
        pipe = {r["prompt_tokens"]: r for r in f["rows"] if r["engine"] == "pipe"}
        def dec(n):
            return f'{pipe[n]["decode_tps"]:.1f}' if n in pipe else "–"
        p0 = prompts[0]
        ttft = f'{pipe[p0]["ttft_ms"]:.0f}' if p0 in pipe else "–"
        share = f'{100*pipe[p0]["of_roofline"]:.0f} %' if p0 in pipe else "–"
        flat = [x["decode_ratio"] for x in f.get("flatness") or [] if x["engine"] == "pipe"]
        flat = f'{flat[0]:.2f}' if flat else "–"
        rows.append(f'| {m} | {p} | {ttft} | {" / ".join(dec(n) for n in prompts)} | {flat} | {share} | {f["roofline_tps"]:.1f} | '
                    f'{f["weight_bytes_per_token"]/1e6:.1f} | {build} | {f["foreign_cpu_cores"]:.2f}; {f["reps"]} reps × {f["new_tokens"]} tokens, triad {f["triad"]["best_gb_per_s"]:.1f} GB/s |')
with open(out, "w") as o:
    ps = " / ".join(str(n) for n in prompts)
    o.write(f"| model | precision | TTFT@{prompts[0]} ms | decode tok/s @{ps} | decode {prompts[-1]} ÷ {prompts[0]} (paired) | of own roofline @{prompts[0]} | roofline tok/s | weights MB/token | build+load (empty cache), peak RSS | foreign cores; runs |\n")
    o.write("|---|---|---:|---|---:|---:|---:|---:|---|---|\n")
    o.write("\n".join(rows) + "\n")
print(f"bench-matrix: wrote {out}", file=sys.stderr)
EOF
cat "$out"
