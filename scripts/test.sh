#!/usr/bin/env bash
# Installs missing dependencies, builds (scripts/build.sh) and runs every test
# with ctest. Arguments are passed on to ctest (e.g. -R integration).
#
# Tests run two at a time: each starts its own PostgreSQL server, mock Kafka
# cluster and temp files on free ports, so they do not interfere, and the
# machines have two cores. TEST_TIMEOUT (seconds, default 3000) bounds the
# whole ctest run; each test also has its own timeout set in CMakeLists.txt.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

scripts/build.sh

timeout --kill-after=30 "${TEST_TIMEOUT:-3000}" \
  ctest --test-dir build --output-on-failure --no-tests=error -j2 "$@"
