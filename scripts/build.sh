#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds pgoutbox and its
# tests into build/. BUILD_TYPE (default RelWithDebInfo) selects the CMake
# build type.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

scripts/install-deps.sh

build_type="${BUILD_TYPE:-RelWithDebInfo}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type"
cmake --build build -j"$(nproc)"

echo "build: pgoutbox binary at $repo_root/build/pgoutbox ($build_type)"
