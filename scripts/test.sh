#!/usr/bin/env bash
# Sets up and builds tapegrad, then runs the whole test suite through ctest.
#   scripts/test.sh              Release build in build/
#   scripts/test.sh --sanitize   the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer in
#                                build-asan/ (any report fails the run)
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1  # one BLAS thread: faster on 2 cores, and bitwise repeatable
if [ "${1:-}" = "--sanitize" ]; then
  scripts/install-deps.sh
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAPEGRAD_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$(nproc)"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"  # Open MPI's own allocations
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
else
  scripts/setup.sh
  ctest --test-dir build --output-on-failure -j"$(nproc)"
fi
