#!/usr/bin/env bash
# Builds the Debian package of pgoutbox and prints its path on the last line.
# Installs the build dependencies only when missing (scripts/install-deps.sh;
# dpkg-dev, file and systemd for the packaging tools), configures a Release
# build of the pgoutbox binary alone (no tests, prefix /usr) into
# build-release/, runs cpack there, and checks the package with
# tests/packaging/check_package.sh (its contents, that Depends names the
# package of every shared library the binary links, the maintainer scripts
# and the unit file). Installs nothing else: scripts/packaging/check-install.sh
# installs the package and streams with it.
#
#   scripts/package.sh     build-release/pgoutbox_<version>-1_<arch>.deb
#
# BUILD_DIR (default build-release) selects the build directory. Lines
# starting with "package:" say which step runs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if [[ $# -gt 0 ]]; then
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
fi

build_dir="${BUILD_DIR:-build-release}"

scripts/install-deps.sh

# The packaging tools, when missing: dpkg-shlibdeps and file for the Depends
# cpack computes, systemd-analyze for the check of the unit.
tools=()
for tool in dpkg-shlibdeps:dpkg-dev file:file systemd-analyze:systemd; do
  command -v "${tool%%:*}" >/dev/null || tools+=("${tool#*:}")
done
if [[ ${#tools[@]} -gt 0 ]]; then
  sudo=()
  [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
  echo "package: installing ${tools[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${tools[@]}"
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
echo "package: configuring $build_dir/ (Release, no tests, prefix /usr)"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DPGOUTBOX_BUILD_TESTS=OFF \
  -DCMAKE_INSTALL_PREFIX=/usr "${launcher[@]}"

echo "package: compiling pgoutbox with $(nproc) jobs"
cmake --build "$build_dir" -j"$(nproc)" --target pgoutbox

echo "package: making the Debian package (cpack -G DEB)"
# Only this build's package in the directory, so the path printed is it.
rm -f "$build_dir"/pgoutbox_*.deb
(cd "$build_dir" && cpack -G DEB)
debs=("$build_dir"/pgoutbox_*.deb)
[[ -f "${debs[0]}" ]] || { echo "package: cpack made no pgoutbox_*.deb in $build_dir/" >&2; exit 1; }

echo "package: checking ${debs[0]} (tests/packaging/check_package.sh)"
tests/packaging/check_package.sh "${debs[0]}"

echo "package: done"
realpath "${debs[0]}"
