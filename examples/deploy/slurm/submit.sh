#!/bin/sh
# Submits the sweep array, then the merge with a dependency on the whole array.
# Run from the checkout (after make setup build plugins), on a login node.
set -eu
mkdir -p results
sweep=$(sbatch --parsable examples/deploy/slurm/sweep.sbatch)
sbatch --dependency=afterany:"${sweep}" examples/deploy/slurm/merge.sbatch
