#!/usr/bin/env bash
# Sets up and builds tapegrad, then runs the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OPENBLAS_NUM_THREADS=1  # one BLAS thread: faster on 2 cores, and bitwise repeatable
ctest --test-dir build --output-on-failure -j"$(nproc)"
