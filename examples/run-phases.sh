#!/usr/bin/env bash
# Runs the five phases in order — quick validation, latency, memory, throughput, final report — and
# stops at the first phase that fails its targets, produces an invalid result, or errors. It relies only
# on pipe's documented exit codes and on latest:NAME references (phase 5 reads the results of 1–4).
#
#   examples/run-phases.sh [pipe run flags…]        e.g. --quick, --out DIR, --set model.intra_op_threads=2
#
# Environment: PIPE (default bin/pipe), PIPELINES (default pipelines/).
set -u
PIPE=${PIPE:-bin/pipe}
PIPELINES=${PIPELINES:-pipelines}

for phase in phase1-quick phase2-latency phase3-memory phase4-throughput phase5-report; do
  echo "== $phase" >&2
  "$PIPE" run "$PIPELINES/$phase.toml" "$@"
  code=$?
  case $code in
    0) ;;
    3) echo "run-phases: $phase failed its targets (exit 3): stopping before the next phase; see its report.md" >&2
       exit 3 ;;
    4) echo "run-phases: $phase produced an invalid result (exit 4): a run broke an invariant; stopping" >&2
       exit 4 ;;
    *) echo "run-phases: $phase stopped with an error (exit $code); stopping" >&2
       exit "$code" ;;
  esac
done
echo "run-phases: all five phases passed their targets" >&2
