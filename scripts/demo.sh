#!/usr/bin/env bash
# The whole pipeline on one machine, in one command: installs what is missing,
# builds the pgoutbox binary (only it: the tests are scripts/test.sh's job),
# starts a throwaway PostgreSQL 15 (wal_level=logical), runs `pgoutbox setup`
# and then `pgoutbox run` as the least-privilege role with its embedded mock
# Kafka cluster, inserts sample events in a few transactions (one rolled
# back), prints what a Kafka consumer receives and `pgoutbox status`, and
# cleans everything up.
#
# Every step says what it does while it does it; the binary and the logs stay
# in build-demo/
# (build.log, pgoutbox.log), and a failing step prints the one that explains
# it.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=lib/postgres.sh
source "$repo_root/scripts/lib/postgres.sh"
# shellcheck source=lib/process.sh
source "$repo_root/scripts/lib/process.sh"

started=$SECONDS
step() { printf '\n\033[1m==> %s\033[0m  (%d s)\n' "$*" $((SECONDS - started)); }
fail() {
  printf '\n\033[1mdemo failed: %s\033[0m\n' "$1" >&2
  if [[ -n "${2:-}" && -f "$2" ]]; then
    echo "---- $2 ----" >&2
    cat "$2" >&2
    echo "---- end of $2 ----" >&2
  fi
  exit 1
}

# format_apt_line LINE: sets REPLY to what the terminal shows of a line of
# scripts/install-deps.sh (its own lines, apt's downloads and installs);
# returns 1 for lines only the log keeps.
format_apt_line() {
  case "$1" in
    install-deps:*) REPLY="$1" ;;
    Get:* | "Setting up "* | E:* | W:*) REPLY="  apt | $1" ;;
    *) return 1 ;;
  esac
}

# format_build_line LINE: the same for scripts/build.sh: its own lines, and
# CMake's "[ 45%] Building CXX object CMakeFiles/x.dir/src/a/b.cc.o" as
# "[ 45%] compiling src/a/b.cc".
format_build_line() {
  local line="$1" rest
  case "$line" in
    build:*) REPLY="$line" ;;
    "["*"%] Building "*)
      rest="${line##*.dir/}"
      REPLY="${line%%]*}] compiling ${rest%.o}"
      ;;
    "["*"%] Linking "*) REPLY="${line%%]*}] linking ${line##* }" ;;
    *) return 1 ;;
  esac
}

# show_progress LOG LABEL FORMAT: copies its input to LOG and prints the lines
# FORMAT (a function above) keeps. After 10 s with nothing to print it says
# that LABEL is still going, so the terminal is never silent for long.
show_progress() {
  local log="$1" label="$2" format="$3"
  local line partial="" rc start=$SECONDS last=$SECONDS
  : >"$log"
  while :; do
    rc=0
    IFS= read -r -t 2 line || rc=$?
    if ((rc > 128)); then # timed out; keep what arrived of an unfinished line
      partial+="$line"
      if ((SECONDS - last >= 10)); then
        echo "  ... still $label ($((SECONDS - start)) s)"
        last=$SECONDS
      fi
      continue
    fi
    line="$partial$line"
    partial=""
    ((rc == 0)) || [[ -n "$line" ]] || break # end of input
    printf '%s\n' "$line" >>"$log"
    if "$format" "$line"; then
      printf '%s\n' "$REPLY"
      last=$SECONDS
    fi
    ((rc == 0)) || break
  done
}

# Its own build directory, built at -O1 (about half the compile time of the
# optimized build in build/, which scripts/build.sh and scripts/test.sh make).
demo_build="build-demo"
logs="$repo_root/$demo_build/logs"
pgoutbox="$demo_build/pgoutbox"
mkdir -p "$logs"

step "Checking the Debian packages it needs (scripts/install-deps.sh; installs only what is missing)"
scripts/install-deps.sh 2>&1 | show_progress "$logs/install-deps.log" "installing packages" format_apt_line ||
  fail "scripts/install-deps.sh failed" "$logs/install-deps.log"

step "Building the pgoutbox binary into $demo_build/ at -O1 (scripts/build.sh makes the optimized one, scripts/test.sh the tests)"
BUILD_DIR="$demo_build" BUILD_TYPE=None CXXFLAGS="-O1" scripts/build.sh pgoutbox 2>&1 |
  show_progress "$logs/build.log" "compiling" format_build_line ||
  fail "the build failed" "$logs/build.log"

work="$(mktemp -d /tmp/pgoutbox-demo.XXXXXX)"
pgoutbox_pid=""
cleanup() {
  set +e
  stop_pid "$pgoutbox_pid" 30
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

step "Starting a throwaway PostgreSQL 15 (wal_level=logical)"
PG_VERBOSE=1
pg_start wal_level=logical max_wal_senders=10 max_replication_slots=10 ||
  fail "PostgreSQL did not start (its log is printed above)"
admin_db="$PG_CONNINFO"
role_db="${PG_CONNINFO/user=postgres/user=pgoutbox}"
psql_q() { psql "$admin_db" -X -q -v ON_ERROR_STOP=1 "$@"; }

step "pgoutbox setup: the outbox table, publication, role pgoutbox and replication slot"
echo "$pgoutbox setup --db '$admin_db'"
"$pgoutbox" setup --db "$admin_db" 2>&1 | sed 's/^/  setup | /' ||
  fail "pgoutbox setup failed (its output is above)"
echo "From now on the slot keeps every committed insert (and the WAL) until pgoutbox confirms it."

step "Starting pgoutbox as role pgoutbox, with an embedded 3-broker Kafka (mock:3)"
echo "$pgoutbox run --db '$role_db' --brokers mock:3 --no-create --http-addr 127.0.0.1:0"
echo "It checks the database, the table, the publication, the slot and the brokers, then streams:"
# The log exists before the background process opens it: the loop below
# reads it at once.
: >"$logs/pgoutbox.log"
"$pgoutbox" run --db "$role_db" --brokers mock:3 --no-create --http-addr 127.0.0.1:0 \
  >>"$logs/pgoutbox.log" 2>&1 &
pgoutbox_pid=$!
shown=0
# Prints the lines of pgoutbox's log that were not printed yet.
show_pgoutbox_log() {
  local total
  total="$(wc -l <"$logs/pgoutbox.log")"
  if ((total > shown)); then
    sed -n "$((shown + 1)),${total}p" "$logs/pgoutbox.log" | sed 's/^/  pgoutbox | /'
    shown=$total
  fi
}
wait_started=$SECONDS
until grep -q "streaming from slot" "$logs/pgoutbox.log"; do
  show_pgoutbox_log
  if ! is_running "$pgoutbox_pid"; then
    show_pgoutbox_log
    status=0
    wait "$pgoutbox_pid" || status=$?
    pgoutbox_pid=""
    fail "pgoutbox exited with status $status before it streamed (its log is above, and in $logs/pgoutbox.log)"
  fi
  ((SECONDS - wait_started < 60)) || fail "pgoutbox did not stream within 60 s" "$logs/pgoutbox.log"
  sleep 0.1
done
show_pgoutbox_log
brokers="$(grep -o 'mock Kafka cluster with [0-9]* brokers\? at [^ ]*' "$logs/pgoutbox.log" | awk '{print $NF}')"

step "Inserting sample events in five transactions (the third rolls back; the fifth writes one event as a logical decoding message, without a table)"
psql_q -e <<'SQL'
BEGIN;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, headers) VALUES
  ('order', 'order-1001', 'OrderCreated', '{"orderId": 1001, "total": 42.50, "currency": "EUR"}',
   '{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}'),
  ('order', 'order-1002', 'OrderCreated', '{"orderId": 1002, "total": 9.99, "currency": "EUR"}', NULL);
COMMIT;
BEGIN;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES
  ('order', 'order-1001', 'OrderPaid', '{"orderId": 1001, "method": "card"}'),
  ('customer', 'customer-7', 'CustomerUpdated', '{"customerId": 7, "email": "ada@example.com"}');
COMMIT;
BEGIN;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES
  ('order', 'order-1003', 'OrderCreated', '{"orderId": 1003, "note": "rolled back, never published"}');
ROLLBACK;
BEGIN;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, topic) VALUES
  ('order', 'order-1001', 'OrderShipped', '{"orderId": 1001, "carrier": "DHL"}', 'shipping.events');
COMMIT;
BEGIN;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES
  ('customer', 'customer-7', 'CustomerVerified', '{"customerId": 7}');
SELECT pg_logical_emit_message(true, 'pgoutbox', '{"aggregate_type": "order", "aggregate_id": "order-1002",
  "event_type": "OrderCancelled", "payload": {"orderId": 1002, "reason": "no table row: a message"},
  "headers": {"source": "pg_logical_emit_message"}}');
COMMIT;
SQL

step "Waiting until the slot confirms the last commit (every event acknowledged by Kafka)"
target="$(psql_q -At -c 'SELECT pg_current_wal_lsn()')"
echo "last commit at $target; polling pg_replication_slots.confirmed_flush_lsn"
confirmed=f
if pg_wait_confirmed pgoutbox "$target" 20; then confirmed=t; fi
show_pgoutbox_log
[[ "$confirmed" == "t" ]] || fail "the slot did not confirm $target within 20 s" "$logs/pgoutbox.log"
psql_q -c "SELECT slot_name, confirmed_flush_lsn, pg_current_wal_lsn() AS server_wal FROM pg_replication_slots"

step "What a Kafka consumer (kcat) receives"
for topic in outbox.event.order outbox.event.customer shipping.events; do
  kcat -C -b "$brokers" -t "$topic" -e -q \
    -f 'topic=%t partition=%p offset=%o key=%k\n  headers: %h\n  value:   %s\n'
done

step "pgoutbox status (what a cron job or a monitoring check would run)"
"$pgoutbox" --log-level warn status --db "$role_db" 2>&1 | sed 's/^/  status | /' ||
  fail "pgoutbox status found a problem (above)"

step "Stopping pgoutbox (SIGTERM: flush, confirm, exit 0)"
kill -TERM "$pgoutbox_pid"
status=0
wait "$pgoutbox_pid" || status=$?
pgoutbox_pid=""
show_pgoutbox_log
[[ "$status" -eq 0 ]] || fail "pgoutbox exited with status $status" "$logs/pgoutbox.log"
echo "pgoutbox exited 0"
echo
echo "Demo done in $((SECONDS - started)) s: 7 events in 4 committed transactions arrived (one of them a message, with its WAL position as its id); the rolled-back one did not."
echo "Logs: $logs/"
