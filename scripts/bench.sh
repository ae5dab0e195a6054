#!/usr/bin/env bash
# Installs what is missing (LibTorch too: it is the reference), builds the benchmarks in build-bench/, runs them
# under the CPU's own OpenBLAS kernel and under Haswell's, and writes benchmarks/RESULTS.md (to a temporary file,
# then renamed), then runs scripts/bench-conv.sh (benchmarks/CONV_RESULTS.md). About 15 minutes in all.
# Then prints the accuracy comparison with LibTorch (same weights, same batches).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-bench.sh
export OPENBLAS_NUM_THREADS=1
# Both kernels in one sitting: the one OpenBLAS picks for this CPU, then Haswell's (AVX2), which many machines
# are pinned to. Each part is the benchmark's own report, under a heading.
{
  echo "# Benchmark results"
  echo
  echo "Two runs in one sitting: first under the OpenBLAS kernel this CPU selects (OPENBLAS_CORETYPE unset), then"
  echo "under OPENBLAS_CORETYPE=Haswell. Command: \`scripts/bench.sh\`."
  for coretype in "" Haswell; do
    echo
    if [ -z "$coretype" ]; then echo "## The CPU's own kernel"; else echo "## OPENBLAS_CORETYPE=$coretype"; fi
    if [ -z "$coretype" ]; then env -u OPENBLAS_CORETYPE build-bench/benchmarks/tapegrad_bench
    else OPENBLAS_CORETYPE="$coretype" build-bench/benchmarks/tapegrad_bench; fi | tail -n +2
  done
} > benchmarks/RESULTS.md.tmp
mv benchmarks/RESULTS.md.tmp benchmarks/RESULTS.md
echo "wrote benchmarks/RESULTS.md"
scripts/bench-conv.sh --no-build
build-bench/benchmarks/torch_accuracy
