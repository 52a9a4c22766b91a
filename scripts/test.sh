#!/usr/bin/env bash
# Installs missing dependencies, builds (scripts/build.sh), installs the
# PostgreSQL versions the version tests run on (scripts/install-pg-versions.sh:
# 14 to 18 into build/pg/, downloaded once) and Grafana's dashboard types for
# the dashboard check (scripts/install-node-tools.sh: build/node-tools/), and
# runs every test with ctest.
# Arguments are passed on to ctest (e.g. -R integration).
#
# PGOUTBOX_TEST_PG_VERSION=17 (for example) runs every test that takes the
# default server on that PostgreSQL instead of Debian's 15.
#
# --sanitize (first argument): builds with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-sanitize/ instead, and runs the tests
# there; any sanitizer report fails the test that triggered it.
#
# Tests run two at a time: each starts its own PostgreSQL server, mock Kafka
# cluster and temp files on free ports, so they do not interfere, and the
# machines have two cores. TEST_TIMEOUT (seconds, default 3000) bounds the
# whole ctest run; each test also has its own timeout set in CMakeLists.txt.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

build_dir=build
if [[ "${1:-}" == --sanitize ]]; then
  shift
  build_dir=build-sanitize
  export SANITIZE=1
  # Reports abort the process (and so fail the test); child processes, such
  # as the pgoutbox binary the integration tests start, inherit these.
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
BUILD_DIR="$build_dir" scripts/build.sh
scripts/install-pg-versions.sh
scripts/install-node-tools.sh

timeout --kill-after=30 "${TEST_TIMEOUT:-3000}" \
  ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j2 "$@"
