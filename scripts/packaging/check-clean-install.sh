#!/usr/bin/env bash
# Installs the Debian package of pgoutbox on a Debian 12 system that has none
# of its build dependencies, and streams with it: the proof that the
# package's Depends are all it needs. As root:
#
#   1. builds the package with scripts/package.sh (or takes the .deb given);
#   2. debootstrap --variant=minbase bookworm: a minimal Debian 12 in a
#      directory (no compiler, no -dev package, no PostgreSQL, no librdkafka),
#      from DEBIAN_MIRROR (default http://deb.debian.org/debian);
#   3. in it (chroot), `apt-get install ./pgoutbox_*.deb`: apt resolves the
#      runtime libraries from Depends alone; shows what it installed, that
#      every library the binary links is found and that no -dev package or
#      compiler came with it;
#   4. starts a throwaway PostgreSQL 15 and a mock Kafka cluster on this
#      machine's loopback (the chroot shares the network), writes
#      /etc/pgoutbox/clean.conf in the chroot, runs the chroot's
#      `pgoutbox --config /etc/pgoutbox/clean.conf setup` and, as the user
#      pgoutbox, `... run --exit-when-caught-up` after two inserts, and
#      checks with kcat that both events arrived;
#   5. removes the directory.
#
#   scripts/packaging/check-clean-install.sh [DEB]
#
# Takes a few minutes, most of them debootstrap's downloads (about 40 MB).
# Logs in build-release/check-clean-install/logs/.
# shellcheck source-path=SCRIPTDIR/..
# The commands given to in_root are the chroot shell's: its $ are its own.
# shellcheck disable=SC2016
set -euo pipefail
shopt -s inherit_errexit
export LC_ALL=C

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
SCRIPT_NAME=check-clean-install
# shellcheck source=lib/postgres.sh
source "$repo_root/scripts/lib/postgres.sh"
# shellcheck source=lib/process.sh
source "$repo_root/scripts/lib/process.sh"
# shellcheck source=lib/common.sh
source "$repo_root/scripts/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$repo_root/scripts/lib/kafka.sh"

deb=""
case "${1:-}" in
  -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) [[ $# -eq 1 && -f "$1" ]] || { usage "${BASH_SOURCE[0]}" >&2; exit 2; }; deb="$(realpath "$1")" ;;
esac
[[ "$(id -u)" -eq 0 ]] || { echo "check-clean-install: run it as root (debootstrap, chroot)" >&2; exit 2; }

BENCH_BIN="${BENCH_BIN:-$repo_root/build/pgoutbox-bench}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CLEANUP_PIDS=()
install_cleanup "$repo_root/build-release/check-clean-install"
root="$WORK/root"

finish() {
  set +e
  mountpoint -q "$root/proc" && umount "$root/proc"
  cleanup
}
trap finish EXIT

# in_root CMD: runs the shell command CMD in the chroot, printing "# CMD" and
# its output, indented; dies if it fails.
in_root() {
  local rc=0
  printf '# %s\n' "$1"
  chroot "$root" sh -c "$1" >"$WORK/out" 2>&1 || rc=$?
  sed 's/^/    /' "$WORK/out"
  [[ $rc -eq 0 ]] || die "in the clean system: $1 exited with $rc"
}

ensure_packages debootstrap debootstrap kcat kcat

if [[ -z "$deb" ]]; then
  step "Building the package (scripts/package.sh; log $LOGS/package.log)"
  scripts/package.sh >"$LOGS/package.log" 2>&1 || die "scripts/package.sh failed" "$LOGS/package.log"
  deb="$(tail -n 1 "$LOGS/package.log")"
fi
log "package: $deb"

step "A minimal Debian 12 (debootstrap --variant=minbase bookworm, $mirror)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$LOGS/debootstrap.log" 2>&1 ||
  die "debootstrap failed" "$LOGS/debootstrap.log"
mount -t proc proc "$root/proc"
in_root 'echo "$(dpkg-query -W | wc -l) packages"; dpkg-query -W -f="\${Package}\n" | grep -E -- "-dev$|^(g\+\+|gcc|clang|cmake)(-[0-9.]+)?$|^postgresql|rdkafka|simdjson|spdlog|libpq" || echo "none of them a build dependency of pgoutbox"'

step "apt-get install ./$(basename "$deb") in it"
cp "$deb" "$root/tmp/"
chroot "$root" sh -c "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
  --no-install-recommends /tmp/$(basename "$deb")" >"$LOGS/apt.log" 2>&1 ||
  die "apt-get install of the package failed in the clean system" "$LOGS/apt.log"
sed -n '/^The following NEW packages/,/newly installed/p' "$LOGS/apt.log" | sed 's/^/    /'
in_root 'pgoutbox --version'
in_root 'missing=$(ldd /usr/bin/pgoutbox | grep -c "not found" || true); echo "libraries not found: $missing"; [ "$missing" -eq 0 ]'
in_root 'dpkg-query -W -f="\${Package}\n" | grep -E -- "-dev$|^(g\+\+|gcc|clang|cmake)(-[0-9.]+)?$" && exit 1 || echo "no -dev package, no compiler"'
in_root 'id pgoutbox; ls -ld /etc/pgoutbox'

[[ -x "$BENCH_BIN" ]] || build "$BENCH_BIN"
start_postgres wal_level=logical max_wal_senders=10 max_replication_slots=10
kafka_start --topic outbox.event.order:3

step "Streaming with the clean system's pgoutbox and /etc/pgoutbox/clean.conf"
cat >"$root/etc/pgoutbox/clean.conf" <<EOF
db = "host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres"
brokers = "$KAFKA_BROKERS"
http-addr = ""
EOF
chroot "$root" sh -c 'chgrp pgoutbox /etc/pgoutbox/clean.conf && chmod 0640 /etc/pgoutbox/clean.conf'
in_root 'pgoutbox --config /etc/pgoutbox/clean.conf setup --role "" | grep -E "^(table|publication|slot)"'
psql -X -q "$PG_CONNINFO" -v ON_ERROR_STOP=1 -c "INSERT INTO outbox (aggregate_type, aggregate_id,
  event_type, payload) VALUES ('order', 'order-1', 'Created', '{\"n\": 1}'),
  ('order', 'order-2', 'Created', '{\"n\": 2}')" >"$LOGS/psql.log" 2>&1 ||
  die "the inserts failed" "$LOGS/psql.log"
in_root 'runuser -u pgoutbox -- pgoutbox --config /etc/pgoutbox/clean.conf run --exit-when-caught-up 2>&1 | tail -n 2'
kcat -b "$KAFKA_BROKERS" -C -t outbox.event.order -e -q -f 'key=%k value=%s\n' >"$WORK/consumed" 2>"$LOGS/kcat.err" ||
  die "kcat failed" "$LOGS/kcat.err"
sed 's/^/    /' "$WORK/consumed"
[[ "$(grep -c '' "$WORK/consumed")" -eq 2 ]] || die "expected 2 records on outbox.event.order"

echo
echo "check-clean-install: passed: the package installed on a minimal Debian 12 from its Depends alone and streamed"
