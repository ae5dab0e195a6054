#!/usr/bin/env bash
# Runs PROGRAM twice, under the OpenBLAS kernel this CPU selects and under OPENBLAS_CORETYPE=Haswell, each run's
# output under a "## ..." heading, skipping its first SKIP lines (a title of its own). The benchmark scripts use
# it for every report they write.
# Usage: scripts/under-both-kernels.sh PROGRAM [SKIP]
set -euo pipefail
program=$1
skip=${2:-0}
for coretype in "" Haswell; do
  echo
  if [ -z "$coretype" ]; then echo "## The CPU's own kernel"; else echo "## OPENBLAS_CORETYPE=$coretype"; fi
  echo
  if [ -z "$coretype" ]; then env -u OPENBLAS_CORETYPE "$program"
  else OPENBLAS_CORETYPE="$coretype" "$program"; fi | tail -n +"$((skip + 1))"
done
