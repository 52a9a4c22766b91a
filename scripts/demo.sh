#!/usr/bin/env bash
# The whole pipeline on one machine, in one command: installs what is missing,
# builds, starts a throwaway PostgreSQL 15 (wal_level=logical) and pgoutbox
# with its embedded mock Kafka cluster, inserts sample events in a few
# transactions (one rolled back), prints what a Kafka consumer receives, and
# cleans everything up.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing dependencies and building"
scripts/build.sh >/tmp/pgoutbox-demo-build.log 2>&1 || {
  cat /tmp/pgoutbox-demo-build.log
  exit 1
}
echo "built $repo_root/build/pgoutbox"

# shellcheck source=lib/postgres.sh
source "$repo_root/scripts/lib/postgres.sh"
work="$(mktemp -d /tmp/pgoutbox-demo.XXXXXX)"
pgoutbox_pid=""
cleanup() {
  set +e
  [[ -n "$pgoutbox_pid" ]] && kill -TERM "$pgoutbox_pid" 2>/dev/null && wait "$pgoutbox_pid" 2>/dev/null
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

step "Starting a throwaway PostgreSQL 15 (wal_level=logical)"
pg_start wal_level=logical max_wal_senders=10 max_replication_slots=10
echo "listening on 127.0.0.1:$PG_PORT"
db="$PG_CONNINFO"
psql_q() { psql "$db" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_q -f sql/outbox.sql

step "Starting pgoutbox with an embedded 3-broker Kafka (mock:3)"
echo "build/pgoutbox run --db '$db' --brokers mock:3 --http-addr 127.0.0.1:0"
build/pgoutbox run --db "$db" --brokers mock:3 --http-addr 127.0.0.1:0 >"$work/pgoutbox.log" 2>&1 &
pgoutbox_pid=$!
brokers=""
for _ in $(seq 1 100); do
  brokers="$(grep -o 'mock Kafka cluster with [0-9]* brokers at [^ ]*' "$work/pgoutbox.log" | awk '{print $NF}' || true)"
  grep -q "streaming from slot" "$work/pgoutbox.log" && [[ -n "$brokers" ]] && break
  kill -0 "$pgoutbox_pid" 2>/dev/null || { cat "$work/pgoutbox.log"; exit 1; }
  sleep 0.1
done
grep -q "streaming from slot" "$work/pgoutbox.log" || { cat "$work/pgoutbox.log"; exit 1; }
sed 's/^/  pgoutbox | /' "$work/pgoutbox.log"

step "Inserting sample events in four transactions (the third rolls back)"
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
SQL

step "Waiting until the slot confirms the last commit (every event acknowledged by Kafka)"
target="$(psql_q -At -c 'SELECT pg_current_wal_lsn()')"
for _ in $(seq 1 100); do
  confirmed="$(psql_q -At -c "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'pgoutbox'")"
  [[ "$confirmed" == "t" ]] && break
  sleep 0.1
done
psql_q -c "SELECT slot_name, confirmed_flush_lsn, pg_current_wal_lsn() AS server_wal FROM pg_replication_slots"

step "What a Kafka consumer (kcat) receives"
for topic in outbox.event.order outbox.event.customer shipping.events; do
  kcat -C -b "$brokers" -t "$topic" -e -q \
    -f 'topic=%t partition=%p offset=%o key=%k\n  headers: %h\n  value:   %s\n'
done

step "Stopping pgoutbox (SIGTERM: flush, confirm, exit 0)"
kill -TERM "$pgoutbox_pid"
wait "$pgoutbox_pid" && echo "pgoutbox exited 0"
pgoutbox_pid=""
tail -n 2 "$work/pgoutbox.log" | sed 's/^/  pgoutbox | /'
echo
echo "Demo done: 5 events in 3 committed transactions arrived; the rolled-back one did not."
