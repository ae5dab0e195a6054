#!/usr/bin/env bash
# The LSTM training-step benchmark (batch 32, input 64, hidden 128, 35 steps) against LibTorch's nn::LSTM and the
# step's GEMMs timed alone, under the CPU's own OpenBLAS kernel and under Haswell's, into
# benchmarks/SEQUENCE_RESULTS.md (through a temporary file). About a minute. scripts/bench.sh runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-build" ]; then scripts/build-bench.sh; fi
export OPENBLAS_NUM_THREADS=1
{
  echo "# Sequence benchmark results"
  echo
  echo "An LSTM training step: tg::LSTM against LibTorch's torch::nn::LSTM (Debian's libtorch-dev), batch 32, input"
  echo "64, hidden 128, 35 time steps, time-first, the mean squared error of every output against a fixed target,"
  echo "SGD lr 0.01; and the step's GEMMs timed alone (the floor), one thread. Two runs in one sitting: the OpenBLAS"
  echo "kernel this CPU selects, then OPENBLAS_CORETYPE=Haswell. Command: \`scripts/bench-sequence.sh\`."
  echo "Ratio = tapegrad / LibTorch (below 1: tapegrad is faster)."
  scripts/under-both-kernels.sh build-bench/benchmarks/tapegrad_sequence_bench
} > benchmarks/SEQUENCE_RESULTS.md.tmp
mv benchmarks/SEQUENCE_RESULTS.md.tmp benchmarks/SEQUENCE_RESULTS.md
echo "wrote benchmarks/SEQUENCE_RESULTS.md"
