#!/usr/bin/env bash
# Installs the Debian packages tapegrad needs that are missing, plus any given as arguments.
# Usage: scripts/install-deps.sh [extra-package...]   (as root, or with sudo available)
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libxtensor-dev libxtensor-blas-dev libxsimd-dev  # tensors; xsimd is only a Recommends of xtensor
  libopenblas-dev   # named explicitly: the reference libblas-dev would satisfy xtensor-blas and is far slower
  libfmt-dev doctest-dev libcli11-dev zlib1g-dev
  gnuplot-nox       # plots
  graphviz          # `dot`: drawings of the tape (tapegrad graph)
  dataset-fashion-mnist  # default data, in MNIST's IDX format
  python3-sklearn   # its bundled data files only: --data digits, iris, wine, breast-cancer
  wamerican         # /usr/share/dict/american-english: experiment char-lm
  libopenmpi-dev openmpi-bin  # mpirun -np N: comparisons spread over processes, data-parallel training
  libtorch-dev libadolc-dev   # references in the test suite and the benchmarks only (tests/reference)
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
