#!/usr/bin/env bash
# Installs the Debian 12 packages pgoutbox needs to build and test, and only
# those that are missing: a second run installs nothing and says so.
set -euo pipefail

PACKAGES=(
  cmake
  g++
  pkg-config
  libpq-dev
  librdkafka-dev
  libsimdjson-dev
  libcli11-dev
  libspdlog-dev
  libcpp-httplib-dev
  libgtest-dev
  googletest
  postgresql-15
  kcat
  # promtool, for the checks of docker/alerts.yml and the Grafana dashboard.
  # On a host running systemd the package also starts a Prometheus service
  # (systemctl disable --now prometheus if it is not wanted).
  prometheus
  # For the check of the Debian package (tests/packaging/check_package.sh):
  # cpack's dpkg-shlibdeps, file, and systemd-analyze for the unit.
  dpkg-dev
  file
  systemd
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed, nothing to do"
  exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  SUDO=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: done"
