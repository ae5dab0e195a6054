#!/usr/bin/env bash
# The convolution benchmarks (SimpleConvNet and DeepConvNet steps, conv2d alone, a Fashion-MNIST epoch) against
# LibTorch and the GEMM floor, under the CPU's own OpenBLAS kernel and under Haswell's, into
# benchmarks/CONV_RESULTS.md (through a temporary file). About 12 minutes. scripts/bench.sh runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-build" ]; then scripts/build-bench.sh; fi
export OPENBLAS_NUM_THREADS=1
{
  echo "# Convolution benchmark results"
  echo
  echo "SimpleConvNet (conv 30 5x5, max pool 2, ReLU, Linear 4320-100, ReLU, Linear 100-10; SGD), the book's"
  echo "DeepConvNet (six 3x3 convolutions of 16 to 64 filters, three max pools, Linear 1024-50, dropout, Linear 50-10;"
  echo "SGD) and conv2d alone (DeepConvNet's layer shapes among them), tapegrad against LibTorch (Debian's"
  echo "libtorch-dev) and against the GEMM floor: the same matrix products timed alone, each in the fastest of the"
  echo "forms BLAS offers for it (C or its transpose, each operand stored either way; gemv for a single row),"
  echo "chosen by timing them all in the same run. One thread. SimpleConvNet pools before its ReLU in both libraries"
  echo "(the book's order is ReLU then pool: the same values and gradients)."
  echo "Two runs in one sitting: the OpenBLAS kernel this CPU selects, then OPENBLAS_CORETYPE=Haswell."
  echo "Command: \`scripts/bench-conv.sh\`. Ratio = tapegrad / LibTorch (below 1: tapegrad is faster)."
  scripts/under-both-kernels.sh build-bench/benchmarks/tapegrad_conv_bench
} > benchmarks/CONV_RESULTS.md.tmp
mv benchmarks/CONV_RESULTS.md.tmp benchmarks/CONV_RESULTS.md
echo "wrote benchmarks/CONV_RESULTS.md"
