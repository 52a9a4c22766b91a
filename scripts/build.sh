#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds into build/.
#
#   scripts/build.sh              everything: pgoutbox, the tests, the benchmark
#                                 and fuzz replay tools (what scripts/test.sh needs)
#   scripts/build.sh pgoutbox     only the named CMake targets (scripts/demo.sh)
#
# BUILD_TYPE (default RelWithDebInfo) selects the CMake build type; BUILD_DIR
# (default build) the directory; SANITIZE=1 builds with AddressSanitizer and
# UndefinedBehaviorSanitizer; CXXFLAGS, as CMake reads it when it first
# configures a directory, adds compiler flags (scripts/demo.sh: BUILD_TYPE=None
# CXXFLAGS=-O1 into build-demo/). Lines starting with "build:" say which step
# runs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

scripts/install-deps.sh

build_type="${BUILD_TYPE:-RelWithDebInfo}"
build_dir="${BUILD_DIR:-build}"
sanitize=OFF
[[ "${SANITIZE:-0}" == 1 ]] && sanitize=ON
targets=("$@")

echo "build: configuring $build_dir/ (cmake, $build_type${CXXFLAGS:+ $CXXFLAGS}, sanitizers $sanitize)"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" -DPGOUTBOX_SANITIZE="$sanitize"

target_args=()
if [[ ${#targets[@]} -gt 0 ]]; then
  echo "build: compiling ${targets[*]} with $(nproc) jobs"
  target_args=(--target "${targets[@]}")
else
  echo "build: compiling every target (pgoutbox, tests, tools) with $(nproc) jobs"
fi
cmake --build "$build_dir" -j"$(nproc)" "${target_args[@]}"

echo "build: pgoutbox binary at $repo_root/$build_dir/pgoutbox ($build_type${CXXFLAGS:+ $CXXFLAGS}, sanitizers $sanitize)"
