#!/usr/bin/env bash
# Installs the Debian packages tapegrad needs that are missing, then configures and builds it in build/.
# Usage: scripts/setup.sh   (run as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
