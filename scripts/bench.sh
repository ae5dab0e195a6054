#!/usr/bin/env bash
# Installs what is missing (LibTorch too: it is the reference), builds the benchmarks in build-bench/, runs them
# and writes benchmarks/RESULTS.md (written to a temporary file, then renamed). Takes about 3 minutes.
# Then prints the accuracy comparison with LibTorch (same weights, same batches).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh libtorch-dev
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_BENCHMARKS=ON -DTAPEGRAD_BUILD_TESTS=OFF \
  -DTAPEGRAD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-bench -j"$(nproc)"
export OPENBLAS_NUM_THREADS=1
build-bench/benchmarks/tapegrad_bench > benchmarks/RESULTS.md.tmp
mv benchmarks/RESULTS.md.tmp benchmarks/RESULTS.md
echo "wrote benchmarks/RESULTS.md"
build-bench/benchmarks/torch_accuracy
