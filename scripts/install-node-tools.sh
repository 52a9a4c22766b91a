#!/usr/bin/env bash
# Installs the npm packages the tests use into $NODE_TOOLS_DIR (default
# build/node-tools/, shared by build/ and build-sanitize/), pinned:
#
#   @grafana/schema   Grafana's own TypeScript types of the dashboard JSON
#                     model, of the Grafana version docker/compose.yaml runs
#   typescript        tsc, which checks docker/grafana/dashboards/*.json
#                     against those types (tests/docker/check_dashboard.py
#                     --grafana-types, ctest docker.dashboard)
#
# Nothing of it is part of pgoutbox or its package. A second run with the same
# pins installs nothing and says so. scripts/test.sh runs this before the
# tests; it needs npm and the npm registry.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${NODE_TOOLS_DIR:-$repo_root/build/node-tools}"
PINNED=("@grafana/schema@11.2.0" "typescript@5.6.3")

stamp="$dir/pinned.txt"
if [[ -f "$stamp" && "$(cat "$stamp")" == "${PINNED[*]}" && -x "$dir/node_modules/.bin/tsc" ]]; then
  echo "install-node-tools: ${PINNED[*]} already in $dir, nothing to do"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install-node-tools: npm is needed to install ${PINNED[*]}" >&2
  exit 1
fi
echo "install-node-tools: installing ${PINNED[*]} into $dir"
rm -rf "$dir"
mkdir -p "$dir"
printf '{ "name": "pgoutbox-node-tools", "private": true }\n' >"$dir/package.json"
(cd "$dir" && npm install --silent --no-audit --no-fund --save-exact "${PINNED[@]}")
"$dir/node_modules/.bin/tsc" --version
echo "${PINNED[*]}" >"$stamp"
echo "install-node-tools: done"
