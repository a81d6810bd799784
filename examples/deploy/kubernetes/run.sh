#!/bin/sh
# Runs the sweep, waits until it has ended (complete, or failed once an
# index ran out of retries), then runs the merge Job and prints its log.
set -eu
cd "$(dirname "$0")"
kubectl apply -f results-pvc.yaml
kubectl apply -f sweep-job.yaml
while :; do
	state=$(kubectl get job pipe-sweep -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')
	case "$state" in
	*Complete*|*Failed*) break ;;
	esac
	sleep 30
done
echo "pipe-sweep: $state"
kubectl delete job pipe-merge --ignore-not-found
kubectl apply -f merge-job.yaml
kubectl wait --for=condition=Complete --timeout=30m job/pipe-merge || true
kubectl logs job/pipe-merge
