#!/usr/bin/env bash
# Installs the Debian package of pgoutbox on this machine, runs it the way
# its systemd unit does, and removes it again; prints what it saw at each
# step. As root, on a machine where pgoutbox is not installed:
#
#   1. builds the package with scripts/package.sh (or takes the .deb given);
#   2. dpkg -i, twice (the second is a reinstall: postinst changes nothing),
#      then dpkg -s pgoutbox, id pgoutbox, ls -ld /etc/pgoutbox;
#   3. systemd-analyze verify of the installed unit template and of the
#      instance pgoutbox@demo.service (both must print nothing);
#   4. starts a throwaway PostgreSQL 15, where the role pgoutbox logs in with
#      a password, and a 3-broker mock Kafka cluster in a process of its own
#      (pgoutbox-bench kafka, built into build/ if missing); runs the
#      installed `pgoutbox setup`, writes /etc/pgoutbox/demo.conf and its
#      password file as the README says (a mistyped key in a config file is
#      exit 2, which the unit does not restart on), and runs ExecStart's
#      command line, `/usr/bin/pgoutbox --config /etc/pgoutbox/demo.conf run`,
#      as the user pgoutbox with no capabilities and no new privileges, on
#      a file system that is read-only but for an empty /tmp (the unit's
#      ProtectSystem, ProtectHome, PrivateTmp), and with the unit's
#      environment; inserts events, waits until the slot confirms them,
#      shows what kcat consumes and `pgoutbox --config
#      /etc/pgoutbox/demo.conf status`; SIGTERM, exit 0;
#   5. dpkg -r (the program goes, /etc/pgoutbox and the user stay), removes
#      the demo's files, dpkg -P (the directory, the user and the group go).
#
#   scripts/packaging/check-install.sh [DEB]
#
# Systemd is not started or asked to start the unit: the sandbox of this
# script is the user, the environment and the read-only file system, not
# the unit's seccomp filter or address families. Logs in
# build-release/check-install/logs/; on any failure the package is purged.
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail
shopt -s inherit_errexit
export LC_ALL=C

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
SCRIPT_NAME=check-install
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
[[ "$(id -u)" -eq 0 ]] || { echo "check-install: run it as root (it installs a package)" >&2; exit 2; }
if dpkg-query -W -f='${Status}' pgoutbox 2>/dev/null | grep -q 'installed'; then
  echo "check-install: pgoutbox is installed here already; it leaves an installed package alone" >&2
  exit 2
fi

BENCH_BIN="${BENCH_BIN:-$repo_root/build/pgoutbox-bench}"
pgoutbox=/usr/bin/pgoutbox
conf=/etc/pgoutbox/demo.conf
installed=0
pgoutbox_pid=""
CLEANUP_PIDS=(pgoutbox_pid)
install_cleanup "$repo_root/build-release/check-install"

# On the way out, whatever happened: the processes, the server, and the
# package with the demo's files.
finish() {
  cleanup
  if [[ "$installed" -eq 1 ]]; then
    rm -f /etc/pgoutbox/demo.conf /etc/pgoutbox/demo.password /etc/pgoutbox/typo.conf
    dpkg -P pgoutbox >>"$LOGS/dpkg.log" 2>&1 || true
  fi
}
trap finish EXIT

# show CMD...: prints "$ CMD" and its output, indented; dies if it fails.
show() {
  local rc=0
  printf '$ %s\n' "$*"
  "$@" >"$WORK/show.out" 2>&1 || rc=$?
  sed 's/^/    /' "$WORK/show.out"
  [[ $rc -eq 0 ]] || die "$* exited with $rc"
}

# as_service CMD...: execs CMD (call it in a subshell or in the background:
# the process is then CMD itself, which a signal reaches) as the unit runs
# its ExecStart, as near as can be
# without systemd: user and group pgoutbox, systemd's environment for a
# service user, no new privileges and no capabilities, and in a mount
# namespace of its own where every file system is read-only (ProtectSystem=
# strict), /home and /root are empty (ProtectHome) and /tmp an empty
# tmpfs (PrivateTmp). Without mount namespaces (a container without
# CAP_SYS_ADMIN) only the user, environment and privileges.
sandbox=1
unshare --mount --propagation private true 2>/dev/null || sandbox=0
as_service() {
  local run=(setpriv --reuid=pgoutbox --regid=pgoutbox --init-groups --no-new-privs
    --inh-caps=-all --bounding-set=-all
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent USER=pgoutbox LOGNAME=pgoutbox
    SHELL=/usr/sbin/nologin LANG=C.UTF-8 "$@")
  if [[ "$sandbox" -eq 0 ]]; then exec "${run[@]}"; fi
  # shellcheck disable=SC2016  # expanded by the inner shell
  exec unshare --mount --propagation private sh -c '
    awk "{ print \$2 }" /proc/self/mounts | sort -u | while read -r m; do
      mount -o remount,bind,ro "$m" 2>/dev/null || true
    done
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    mount -t tmpfs -o mode=0755,ro tmpfs /home
    mount -t tmpfs -o mode=0700,ro tmpfs /root
    exec "$@"' sandbox "${run[@]}"
}

# ------------------------------------------------------------- the package

if [[ -z "$deb" ]]; then
  step "Building the package (scripts/package.sh; log $LOGS/package.log)"
  scripts/package.sh >"$LOGS/package.log" 2>&1 || die "scripts/package.sh failed" "$LOGS/package.log"
  deb="$(tail -n 1 "$LOGS/package.log")"
  grep -E '^(ok|FAIL|note|Depends):' "$LOGS/package.log" | sed 's/^/    /'
fi
log "package: $deb"

step "Installing it: dpkg -i, then again (a reinstall: postinst must change nothing)"
installed=1
show dpkg -i "$deb"
show dpkg -i "$deb"
show dpkg -s pgoutbox
show id pgoutbox
show getent passwd pgoutbox
show ls -ld /etc/pgoutbox
show ls -l /etc/pgoutbox
[[ "$(stat -c '%U:%G %a' /etc/pgoutbox)" == "root:pgoutbox 750" ]] ||
  die "/etc/pgoutbox is $(stat -c '%U:%G %a' /etc/pgoutbox), not root:pgoutbox 750"
show dpkg -L pgoutbox

step "systemd-analyze verify of the unit template and of the instance pgoutbox@demo"
for unit in /lib/systemd/system/pgoutbox@.service pgoutbox@demo.service; do
  printf '$ systemd-analyze verify %s\n' "$unit"
  rc=0
  systemd-analyze verify "$unit" >"$WORK/verify.out" 2>&1 || rc=$?
  sed 's/^/    /' "$WORK/verify.out"
  [[ $rc -eq 0 && ! -s "$WORK/verify.out" ]] || die "systemd-analyze verify $unit is not clean (exit $rc)"
  echo "    (clean: exit 0, no output)"
done

# --------------------------------------------------- a database and Kafka

[[ -x "$BENCH_BIN" ]] || build "$BENCH_BIN"
start_postgres wal_level=logical max_wal_senders=10 max_replication_slots=10
kafka_start --topic outbox.event.order:3

step "The role pgoutbox logs in with a password (scram-sha-256 in pg_hba.conf)"
{
  echo "host all pgoutbox 127.0.0.1/32 scram-sha-256"
  echo "host replication pgoutbox 127.0.0.1/32 scram-sha-256"
  cat "$PG_DATA/pg_hba.conf"
} >"$WORK/pg_hba.conf"
cat "$WORK/pg_hba.conf" >"$PG_DATA/pg_hba.conf"
sql_value "SELECT pg_reload_conf()" >/dev/null
head -n 2 "$PG_DATA/pg_hba.conf" | sed 's/^/    pg_hba.conf | /'

step "pgoutbox setup (the installed binary, as the database's superuser)"
show "$pgoutbox" setup --db "$PG_CONNINFO"
password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
psql_q -c "ALTER ROLE pgoutbox PASSWORD '$password'"
role_db="host=127.0.0.1 port=$PG_PORT dbname=postgres user=pgoutbox"
printf '$ %s\n' "pgoutbox status --db '$role_db'   # without a password: refused"
rc=0
env -i HOME=/nonexistent "$pgoutbox" status --db "$role_db" >"$WORK/nopass.out" 2>&1 || rc=$?
sed 's/^/    /' "$WORK/nopass.out"
if [[ $rc -ne 1 ]] || ! grep -q 'password' "$WORK/nopass.out"; then
  die "pgoutbox status without a password should fail on the password (exit 1), exited $rc"
fi

step "Writing $conf and its password file (root:pgoutbox, 0640)"
install -m 0640 -o root -g pgoutbox /dev/null /etc/pgoutbox/demo.password
printf '%s\n' "$password" >/etc/pgoutbox/demo.password
install -m 0640 -o root -g pgoutbox /dev/null "$conf"
cat >"$conf" <<EOF
# The demo of scripts/packaging/check-install.sh.
db = "$role_db"
db-password-file = "/etc/pgoutbox/demo.password"
brokers = "$KAFKA_BROKERS"
no-create = true
http-addr = "127.0.0.1:0"
EOF
show ls -l /etc/pgoutbox
show cat "$conf"

# A mistake in the file is exit 2, which the unit does not restart on
# (RestartPreventExitStatus=2).
typo=/etc/pgoutbox/typo.conf
install -m 0640 -o root -g pgoutbox /dev/null "$typo"
printf 'retenion = "7d"\n' >"$typo"
printf '$ %s\n' "pgoutbox --config $typo run   # a key mistyped"
rc=0
(as_service "$pgoutbox" --config "$typo" run) >"$WORK/typo.out" 2>&1 || rc=$?
rm -f "$typo"
sed 's/^/    /' "$WORK/typo.out"
if [[ $rc -ne 2 ]] || ! grep -q retenion "$WORK/typo.out"; then
  die "a mistyped key in the config file should exit 2 naming it, exited $rc"
fi
echo "    (exit 2)"

# ---------------------------------------------------------------- streaming

step "Running the unit's command as the user pgoutbox: $pgoutbox --config $conf run"
if [[ "$sandbox" -eq 1 ]]; then
  echo "(read-only file system, empty /tmp, /home and /root; no capabilities, no new privileges)"
else
  echo "NOTE: no mount namespace here: the file system is not made read-only"
fi
: >"$LOGS/pgoutbox.log"
as_service "$pgoutbox" --config "$conf" run >>"$LOGS/pgoutbox.log" 2>&1 &
pgoutbox_pid=$!
wait_ready "$LOGS/pgoutbox.log" 'streaming from slot' 60 "$pgoutbox_pid" "pgoutbox run"
sed 's/^/    pgoutbox | /' "$LOGS/pgoutbox.log"
show ps -o user,group,pid,args -p "$pgoutbox_pid"
[[ "$(ps -o user=,group= -p "$pgoutbox_pid" | awk '{ print $1 " " $2 }')" == "pgoutbox pgoutbox" ]] ||
  die "pgoutbox (pid $pgoutbox_pid) does not run as user and group pgoutbox"

step "Inserting three events in two transactions"
psql_q -e <<'SQL'
BEGIN;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES
  ('order', 'order-1', 'OrderCreated', '{"orderId": 1}'),
  ('order', 'order-2', 'OrderCreated', '{"orderId": 2}');
COMMIT;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES
  ('order', 'order-1', 'OrderPaid', '{"orderId": 1, "method": "card"}');
SQL
target="$(sql_value 'SELECT pg_current_wal_lsn()')"
pg_wait_confirmed pgoutbox "$target" 30 ||
  die "the slot did not confirm $target within 30 s" "$LOGS/pgoutbox.log" "$PG_LOG"
log "the slot confirmed $target: Kafka acknowledged every event"

step "What kcat consumes from outbox.event.order"
kcat -C -b "$KAFKA_BROKERS" -t outbox.event.order -e -q \
  -f 'partition=%p offset=%o key=%k headers=%h value=%s\n' >"$WORK/consumed" 2>"$LOGS/kcat.err" ||
  die "kcat failed" "$LOGS/kcat.err"
sed 's/^/    /' "$WORK/consumed"
for expected in 'key=order-1 .*event_type=OrderCreated.*"orderId": 1}' \
  'key=order-2 .*event_type=OrderCreated' 'key=order-1 .*event_type=OrderPaid'; do
  grep -qE "$expected" "$WORK/consumed" || die "no record matching $expected"
done
[[ "$(wc -l <"$WORK/consumed")" -eq 3 ]] || die "expected 3 records, kcat read $(wc -l <"$WORK/consumed")"
log "3 records, as inserted"

step "pgoutbox --config $conf status (as the user pgoutbox: the same file serves status)"
rc=0
(as_service "$pgoutbox" --log-level warn --config "$conf" status) >"$WORK/status.out" 2>&1 || rc=$?
sed 's/^/    status | /' "$WORK/status.out"
[[ $rc -eq 0 ]] || die "pgoutbox status exited with $rc"

step "SIGTERM, the unit's stop"
shown="$(wc -l <"$LOGS/pgoutbox.log")"
rc=0
term_wait "$pgoutbox_pid" 40 || rc=$?
pgoutbox_pid=""
sed -n "$((shown + 1)),\$p" "$LOGS/pgoutbox.log" | sed 's/^/    pgoutbox | /'
[[ $rc -eq 0 ]] || die "pgoutbox exited with $rc after SIGTERM" "$LOGS/pgoutbox.log"
log "pgoutbox exited 0"
kafka_stop
pg_stop

# ------------------------------------------------------------------ removal

step "dpkg -r pgoutbox: the program and the unit go; /etc/pgoutbox and the user stay"
show dpkg -r pgoutbox
[[ ! -e "$pgoutbox" && ! -e /lib/systemd/system/pgoutbox@.service ]] || die "dpkg -r left the program or the unit"
show ls -ld /etc/pgoutbox
show id pgoutbox

step "dpkg -P pgoutbox, after removing the demo's files: the directory, the user and the group go"
rm -f /etc/pgoutbox/demo.conf /etc/pgoutbox/demo.password
show dpkg -P pgoutbox
installed=0
[[ ! -e /etc/pgoutbox ]] || die "/etc/pgoutbox is still there after the purge"
! getent passwd pgoutbox >/dev/null || die "the user pgoutbox is still there after the purge"
! getent group pgoutbox >/dev/null || die "the group pgoutbox is still there after the purge"
echo "    /etc/pgoutbox, the user and the group pgoutbox are gone"
printf '$ dpkg -s pgoutbox\n'
! dpkg -s pgoutbox >"$WORK/dpkg-s.out" 2>&1 || die "dpkg -s pgoutbox still finds the package after the purge"
sed 's/^/    /' "$WORK/dpkg-s.out"

echo
echo "check-install: passed: installed, verified, streamed with $conf as the user pgoutbox, removed, purged"
