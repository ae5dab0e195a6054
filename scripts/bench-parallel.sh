#!/usr/bin/env bash
# Parallel and data-parallel speed, written to benchmarks/PARALLEL_RESULTS.md (a temporary file, then renamed):
#  1. the main job (`tapegrad compare` with its defaults) with --jobs 1 and with its default (one run per core),
#     wall time of 3 runs each, interleaved;
#  2. data-parallel training steps on 1 and 2 processes (mpirun, loopback), MLP and SimpleConvNet, under the CPU's
#     own OpenBLAS kernel and under OPENBLAS_CORETYPE=Haswell.
# Run it with nothing else on the machine. Usage: scripts/bench-parallel.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--no-build" ] || scripts/build-bench.sh
export OPENBLAS_NUM_THREADS=1
mpirun=(mpirun --allow-run-as-root --oversubscribe)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wall() {  # seconds the command took
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f\n", b - a}'
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
one=() default=()
for _ in 1 2 3; do
  one+=("$(wall build-bench/tapegrad compare --jobs 1 --out "$work/one")")
  default+=("$(wall build-bench/tapegrad compare --out "$work/default")")
done
cmp "$work/one/compare_loss.csv" "$work/default/compare_loss.csv"  # bit for bit the same curves
m1=$(printf '%s\n' "${one[@]}" | median)
md=$(printf '%s\n' "${default[@]}" | median)
{
  echo "# Parallel and data-parallel results"
  echo
  echo "Command: \`scripts/bench-parallel.sh\`, on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)."
  echo
  echo "## compare --jobs (the main job: 4 optimizers x 5 epochs of the 784-100-10 MLP on Fashion-MNIST)"
  echo
  echo "| --jobs | wall time, s (3 runs) | median, s | against --jobs 1 |"
  echo "|---|---|---|---|"
  echo "| 1 | ${one[*]} | $m1 | 1.00 |"
  echo "| default ($(nproc)) | ${default[*]} | $md | $(awk -v a="$md" -v b="$m1" 'BEGIN {printf "%.2f", a / b}') |"
  echo
  echo "Both write the same curves, byte for byte (checked by the script with cmp)."
  for coretype in "" Haswell; do
    echo
    if [ -z "$coretype" ]; then echo "## Data parallel, the CPU's own OpenBLAS kernel"
    else echo "## Data parallel, OPENBLAS_CORETYPE=$coretype"; fi
    echo
    if [ -z "$coretype" ]; then env -u OPENBLAS_CORETYPE "${mpirun[@]}" -np 2 build-bench/benchmarks/data_parallel_bench
    else "${mpirun[@]}" -x OPENBLAS_CORETYPE="$coretype" -np 2 build-bench/benchmarks/data_parallel_bench; fi
  done
} > benchmarks/PARALLEL_RESULTS.md.tmp
mv benchmarks/PARALLEL_RESULTS.md.tmp benchmarks/PARALLEL_RESULTS.md
echo "wrote benchmarks/PARALLEL_RESULTS.md"
