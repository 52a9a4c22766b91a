#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds pgoutbox and its
# tests into build/. BUILD_TYPE (default RelWithDebInfo) selects the CMake
# build type; BUILD_DIR (default build) the directory; SANITIZE=1 builds with
# AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

scripts/install-deps.sh

build_type="${BUILD_TYPE:-RelWithDebInfo}"
build_dir="${BUILD_DIR:-build}"
sanitize=OFF
[[ "${SANITIZE:-0}" == 1 ]] && sanitize=ON
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" -DPGOUTBOX_SANITIZE="$sanitize"
cmake --build "$build_dir" -j"$(nproc)"

echo "build: pgoutbox binary at $repo_root/$build_dir/pgoutbox ($build_type, sanitizers $sanitize)"
