#!/usr/bin/env bash
# Fuzzes the module's Go fuzz targets one at a time and writes a summary:
# per target, its package, the executions it ran, and ok or the failure
# (with the failing input go test saved under the package's testdata/fuzz).
#
#   scripts/fuzz.sh                        every Fuzz* function, 10 minutes each
#   scripts/fuzz.sh FuzzParse FuzzDecode   only these (by name, in any package)
#   FUZZTIME=30s scripts/fuzz.sh           a smoke run
#   FUZZPARALLEL=1 scripts/fuzz.sh …       one fuzzing worker (default: go's, one per core)
#
# The targets are found with grep -rn '^func Fuzz' over the module's
# *_test.go files, so new ones join without editing this script. A bench
# script, not CI: ten minutes a target on purpose. The summary goes to
# $FUZZ_SUMMARY (default data/fuzz/summary.txt) and each target's log beside
# it. Exit status 1 when any target failed.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10m}
SUMMARY=${FUZZ_SUMMARY:-data/fuzz/summary.txt}
LOGS=$(dirname "$SUMMARY")
mkdir -p "$LOGS"

# "dir name" for every fuzz target, sorted.
mapfile -t found < <(grep -rn --include='*_test.go' '^func Fuzz' . |
	sed -E 's#^\./(.*)/[^/]+_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort -u)

targets=()
if [ $# -eq 0 ]; then
	targets=("${found[@]}")
else
	for want in "$@"; do
		hit=0
		for t in "${found[@]}"; do
			if [ "${t#* }" = "$want" ]; then
				targets+=("$t")
				hit=1
			fi
		done
		if [ $hit -eq 0 ]; then
			echo "fuzz.sh: no fuzz target named $want (found: $(printf '%s ' "${found[@]#* }"))" >&2
			exit 2
		fi
	done
fi

{
	echo "# go fuzz, $FUZZTIME per target, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git describe --always --dirty 2>/dev/null || echo unknown)"
	printf '%-28s %-24s %14s  %s\n' package target execs result
} >"$SUMMARY"

failed=0
for t in "${targets[@]}"; do
	dir=${t% *}
	name=${t#* }
	log="$LOGS/$name-$(echo "$dir" | tr / _).log"
	echo "fuzz.sh: $dir $name for $FUZZTIME" >&2
	status=ok
	if ! nice go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" ${FUZZPARALLEL:+-parallel "$FUZZPARALLEL"} "./$dir" >"$log" 2>&1; then
		status=FAIL
		failed=1
	fi
	# go test prints "fuzz: elapsed: 30s, execs: 123456 (4115/sec), ..." as it goes; the last is the total.
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
	result=$status
	if [ "$status" = FAIL ]; then
		input=$(grep -oE 'testdata/fuzz/[^ ]+' "$log" | head -1 || true)
		first=$(grep -m1 -E -- '--- FAIL|panic:|error:|Error' "$log" | tr -s ' \t' ' ' | cut -c1-160 || true)
		result="FAIL ${input:+$input: }${first:-see $log}"
	fi
	printf '%-28s %-24s %14s  %s\n' "$dir" "$name" "${execs:-0}" "$result" >>"$SUMMARY"
done

cat "$SUMMARY"
exit $failed
