#!/usr/bin/env bash
# Sets up and builds tapegrad, then runs the main job: `tapegrad compare` with its defaults -- SGD, Momentum,
# AdaGrad and Adam training the same 784-100-10 ReLU network on Fashion-MNIST, one run per core at a time --
# writing a table, a CSV and a plot to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OPENBLAS_NUM_THREADS=1
build/tapegrad compare "$@"
