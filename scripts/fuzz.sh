#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer + UBSan) in build-fuzz/ and runs each for SECONDS
# seconds (default 60) from the seed corpus in tests/fuzz/corpus/: the IDX reader, the checkpoint reader, the
# optimizer-spec parser and the program's command-line parser. Fails on any crash, leak, timeout or
# out-of-memory; the input that did it is left in build-fuzz/ (crash-*, leak-*, timeout-*, oom-*).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
scripts/install-deps.sh clang libclang-rt-14-dev libfuzzer-14-dev
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAPEGRAD_FUZZ=ON -DTAPEGRAD_BUILD_TESTS=OFF \
  -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_BUILD_CLI=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_idx fuzz_checkpoint fuzz_optimizer_spec fuzz_cli
for target in idx checkpoint optimizer_spec cli; do
  work="build-fuzz/corpus-$target"
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds}s"
  (cd build-fuzz && "tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "corpus-$target" "../tests/fuzz/corpus/$target") 2>&1 | tail -n 12
done
echo "fuzz: no crash, leak, timeout or out-of-memory"
