#!/usr/bin/env bash
# Sets up and builds tapegrad, then runs the main job: the book's chapter-4 exercises through the tape.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OPENBLAS_NUM_THREADS=1
build/examples/gradient_descent
echo
build/examples/simple_net
