#!/usr/bin/env bash
# Forward mode, Jacobians and Hessians against LibTorch's nearest equivalents, under the CPU's own OpenBLAS kernel
# and under Haswell's, into benchmarks/MODES_RESULTS.md (through a temporary file). About a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-build" ]; then scripts/build-bench.sh; fi
export OPENBLAS_NUM_THREADS=1
{
  echo "# Forward mode, Jacobians and Hessians: benchmark results"
  echo
  echo "tapegrad's jvp, jacobian, hessian (src/calculus/jacobian.cpp) and Hessian-vector products (HessianOperator,"
  echo "src/calculus/curvature.cpp) against the way PyTorch computes each"
  echo "(torch.autograd.functional's methods, written with LibTorch's autograd::grad), float64, one thread; the top eigenvalue"
  echo "by Lanczos and the trace by Hutchinson against PyHessian's power iteration and trace loop."
  echo "The two R^64 -> R^64 Jacobian rows time one function both ways: a forward-mode column costs about what a"
  echo "reverse-mode row costs, which is why automatic mode simply takes the side with fewer passes."
  echo "Two runs in one sitting: the OpenBLAS kernel this CPU selects, then OPENBLAS_CORETYPE=Haswell."
  echo "Command: \`scripts/bench-modes.sh\`. Ratio = tapegrad / LibTorch (below 1: tapegrad is faster)."
  scripts/under-both-kernels.sh build-bench/benchmarks/tapegrad_modes_bench
} > benchmarks/MODES_RESULTS.md.tmp
mv benchmarks/MODES_RESULTS.md.tmp benchmarks/MODES_RESULTS.md
echo "wrote benchmarks/MODES_RESULTS.md"
