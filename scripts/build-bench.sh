#!/usr/bin/env bash
# Installs what is missing (LibTorch too: it is the benchmarks' reference) and builds the benchmark programs
# into build-bench/ (Release). scripts/bench.sh and scripts/bench-conv.sh start with it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh libtorch-dev
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_BENCHMARKS=ON -DTAPEGRAD_BUILD_TESTS=OFF \
  -DTAPEGRAD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-bench -j"$(nproc)"
