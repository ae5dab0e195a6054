#!/usr/bin/env bash
# Installs what is missing (LibTorch too: it is the reference), builds the benchmarks in build-bench/, runs them
# under the CPU's own OpenBLAS kernel and under Haswell's, and writes benchmarks/RESULTS.md (to a temporary file,
# then renamed) and benchmarks/GEMV_ROWS.md, then runs scripts/bench-conv.sh (benchmarks/CONV_RESULTS.md),
# scripts/bench-modes.sh (benchmarks/MODES_RESULTS.md) and scripts/bench-sequence.sh
# (benchmarks/SEQUENCE_RESULTS.md). About 16 minutes in all.
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
  scripts/under-both-kernels.sh build-bench/benchmarks/tapegrad_bench 2  # its title and the blank line after
} > benchmarks/RESULTS.md.tmp
mv benchmarks/RESULTS.md.tmp benchmarks/RESULTS.md
echo "wrote benchmarks/RESULTS.md"
# The measurements behind gemm's gemv-or-gemm table (src/ops/gemm.cpp), both kernels.
{
  echo "# gemv per row or one gemm: the measurements behind src/ops/gemm.cpp's table"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'),"
  echo "one thread. Command: \`scripts/bench.sh\` (\`build-bench/benchmarks/tapegrad_gemv_rows\`)."
  scripts/under-both-kernels.sh build-bench/benchmarks/tapegrad_gemv_rows
} > benchmarks/GEMV_ROWS.md.tmp
mv benchmarks/GEMV_ROWS.md.tmp benchmarks/GEMV_ROWS.md
echo "wrote benchmarks/GEMV_ROWS.md"
scripts/bench-conv.sh --no-build
scripts/bench-modes.sh --no-build
scripts/bench-sequence.sh --no-build
build-bench/benchmarks/torch_accuracy
