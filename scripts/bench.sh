#!/usr/bin/env bash
# The pgoutbox benchmark in one command. Builds (scripts/build.sh), starts a
# throwaway PostgreSQL 15 and a 3-broker mock Kafka cluster in a process of
# its own (pgoutbox-bench kafka), then measures:
#
#   1. catch-up throughput: a backlog is written first (1-row transactions,
#      10-row transactions, one big transaction; then events without a
#      table, pg_logical_emit_message in 1-message and 10-message
#      transactions, with the rows' content), then streamed to its end by
#      pgoutbox and, as the ceiling, by a minimal receiver that only counts
#      inserts and event messages alike (pgoutbox-bench receive, run before
#      and after pgoutbox: the faster one counts), and once by pg_recvlogical
#      for reference;
#   2. pgoutbox's peak RSS on a 1,000,000-event backlog;
#   3. live latency at 1,000 and 5,000 events/s, from 2 pgbench clients so
#      that the load does not saturate the machine: first through one
#      long-running pgoutbox (both rates), then through a naive relay of the
#      same stream (pgoutbox-bench relay: one libpq loop, one produce call
#      and rd_kafka_poll(0) per insert, confirming after the acks; a slot
#      and topics of its own), then the floor: the same rates produced
#      straight to Kafka. Each phase has its own independent consumer
#      (insert-to-consume p50/p99/p99.9/max) and records the CPU time of
#      its streaming process (utime + stime from /proc/PID/stat, from the
#      start of the load to the consumer's end) per 1,000 events; for
#      pgoutbox also its own histograms from /metrics: commit-to-ack,
#      commit-to-receive, confirm lag, and when this pgoutbox exports them
#      its own share (Commit message to ack) and the broker's (produce to
#      ack).
#
# Results go to build/bench/: results.md (also printed at the end),
# results.csv (phase,metric,value,unit), chart.png, and logs/ with every
# step's output. Takes about 12 minutes on 2 cores; --quick about 2 minutes.
# It measures; pgoutbox-bench report derives the figures and writes the files.
#
# Usage: scripts/bench.sh [--quick] [--reps N]
#   --quick   20,000-event backlogs, 1 repetition, a 100,000-event RSS
#             backlog, 10 s latency phases: a smoke test of the whole run
#   --reps N  repetitions of each catch-up backlog (default 3; --quick 1)
#
# Needs root or sudo (like scripts/demo.sh: installs packages when missing,
# runs PostgreSQL as the postgres user). Exits non-zero, with the tail of the
# relevant log, when a step fails; targets that are missed are reported, not
# treated as failures.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
shopt -s inherit_errexit
export LC_ALL=C

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
SCRIPT_NAME=bench
# shellcheck source=lib/postgres.sh
source "$repo_root/scripts/lib/postgres.sh"
# shellcheck source=lib/process.sh
source "$repo_root/scripts/lib/process.sh"
# shellcheck source=lib/common.sh
source "$repo_root/scripts/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$repo_root/scripts/lib/kafka.sh"

# ---------------------------------------------------------------- settings

invocation="scripts/bench.sh${*:+ $*}"
quick=0
reps=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --reps)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --reps needs a positive number" >&2; exit 2; }
      reps="$2"
      shift
      ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# Events per catch-up backlog and in the peak RSS backlog; seconds per
# latency phase, and at its start whose samples are dropped.
if [[ "$quick" -eq 1 ]]; then
  mode=quick backlog_events=20000 rss_events=100000 live_seconds=10 warmup_seconds=2 reps="${reps:-1}"
else
  mode=full backlog_events=200000 rss_events=1000000 live_seconds=60 warmup_seconds=5 reps="${reps:-3}"
fi
live_rates=(1000 5000)
# The naive relay's topics: relay.<aggregate type>, its rows' "relay<rate>".
relay_topic_template='relay.{aggregate_type}'
kafka_topics=(--topic outbox.event.order:6)
for rate in "${live_rates[@]}"; do
  kafka_topics+=(--topic "outbox.event.live$rate:6" --topic "relay.relay$rate:6" --topic "floor$rate:6")
done
backlog_clients=8      # pgbench clients writing a backlog (it is only the backlog)
live_clients=2         # pgbench clients of the live phases: the machine keeps room
clock_ticks_per_s="$(getconf CLK_TCK)"  # the unit of /proc/PID/stat's CPU times
aggregate_keys=10000   # aggregate ids order-1 .. order-N

pg_settings=(wal_level=logical max_wal_senders=40 max_replication_slots=40 shared_buffers=256MB
  max_wal_size=4GB checkpoint_timeout=30min logical_decoding_work_mem=64MB)
# Reported with the results; all but the first seven are defaults.
shown_settings="'wal_level','max_wal_senders','max_replication_slots','shared_buffers','max_wal_size',
  'checkpoint_timeout','logical_decoding_work_mem','fsync','synchronous_commit','wal_sync_method',
  'full_page_writes','wal_writer_delay','max_connections'"

publication=bench
message_prefix=pgoutbox  # pgoutbox's default --message-prefix, and the receiver's
out_dir="$repo_root/build/bench"
BENCH_BIN="$repo_root/build/pgoutbox-bench"
pgoutbox_bin="$repo_root/build/pgoutbox"

load_pid=""
consumer_pid=""
pgoutbox_pid=""
relay_pid=""
CLEANUP_PIDS=(fg_pid load_pid consumer_pid pgoutbox_pid relay_pid)

# record PHASE METRIC VALUE UNIT: one measurement, for pgoutbox-bench report.
record() { printf '%s,%s,%s,%s\n' "$@" >>"$LOGS/measurements.csv"; }
# record_quantiles PHASE NAME Q...: NAME_Q_ms from the loaded Q_ms values.
record_quantiles() {
  local phase="$1" name="$2" q
  shift 2
  for q in "$@"; do record "$phase" "${name}_${q}_ms" "${kv[${q}_ms]}" "ms"; done
}

# ---------------------------------------------------------------- workload

settings() {
  local rows name value
  rows="$(sql_value "SELECT name || '|' || current_setting(name) FROM pg_settings
                     WHERE name IN ($shown_settings) ORDER BY name")"
  tee "$LOGS/settings.txt" <<<"$rows"
  while IFS='|' read -r name value; do record settings "$name" "$value" ""; done <<<"$rows"
  psql_q -f sql/outbox.sql
  psql_q -c "CREATE PUBLICATION $publication FOR TABLE public.outbox WITH (publish = 'insert')"
}

# The payload of one event, a jsonb expression.
payload_json() {
  cat <<SQL
  jsonb_build_object(
    'orderId', 100000 + (random() * 899999)::int,
    'customerId', 'customer-' || (1 + (random() * 49999)::int),
    'status', 'PLACED',
    'currency', 'EUR',
    'total', round((5 + random() * 495)::numeric, 2),
    'items', jsonb_build_array(jsonb_build_object(
      'sku', 'SKU-' || (10000 + (random() * 89999)::int),
      'quantity', 1 + (random() * 4)::int,
      'unitPrice', round((1 + random() * 99)::numeric, 2))),
    'shippingAddress', jsonb_build_object(
      'street', 'Hauptstrasse 42', 'city', 'Berlin', 'postalCode', '10115', 'country', 'DE'),
    'ts', (extract(epoch from clock_timestamp()) * 1000000)::bigint)
SQL
}
headers_json='{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "source": "orders-service"}'

# The columns of one outbox row; KEY_EXPR is the aggregate id number.
row_select() {
  local aggregate_type="$1" key_expr="$2"
  cat <<SQL
SELECT '$aggregate_type', 'order-' || ($key_expr), 'OrderPlaced',
$(payload_json),
  '$headers_json'::jsonb
SQL
}

# One event without a table (outbox/message_mapper.h): a transactional
# message whose content is the JSON object of a row_select row's columns,
# the same values, its id included (a uuid like the table's default);
# created_at and the null topic column are not there.
message_select() {
  local key_expr="$1"
  cat <<SQL
SELECT pg_logical_emit_message(true, '$message_prefix', jsonb_build_object(
  'id', gen_random_uuid(), 'aggregate_type', 'order', 'aggregate_id', 'order-' || ($key_expr),
  'event_type', 'OrderPlaced', 'payload',
$(payload_json),
  'headers', '$headers_json'::jsonb)::text)
SQL
}

insert_into="INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, headers)"

# write_script FILE AGGREGATE_TYPE ROWS: a pgbench script inserting ROWS rows
# in one transaction (ROWS=1: the aggregate id from pgbench's random()).
# AGGREGATE_TYPE=message: ROWS events without a table instead, of aggregate
# type order.
write_script() {
  local file="$1" aggregate_type="$2" rows="$3"
  if [[ "$aggregate_type" == message && "$rows" -eq 1 ]]; then
    {
      echo "\\set aid random(1, $aggregate_keys)"
      message_select ":aid" | sed '$s/$/;/'
    } >"$file"
  elif [[ "$aggregate_type" == message ]]; then
    {
      message_select "1 + (random() * $((aggregate_keys - 1)))::int"
      echo "FROM generate_series(1, $rows);"
    } >"$file"
  elif [[ "$rows" -eq 1 ]]; then
    {
      echo "\\set aid random(1, $aggregate_keys)"
      echo "$insert_into"
      row_select "$aggregate_type" ":aid" | sed '$s/$/;/'
    } >"$file"
  else
    {
      echo "$insert_into"
      row_select "$aggregate_type" "1 + (random() * $((aggregate_keys - 1)))::int"
      echo "FROM generate_series(1, $rows);"
    } >"$file"
  fi
}

# write_backlog NAME ROWS_PER_TX EVENTS [KIND]: EVENTS outbox rows, written
# fast (synchronous_commit=off), then the end of the backlog in $lsn: the WAL
# insert position, once it is flushed, so that a walsender can send it all.
# ROWS_PER_TX=0: all in one transaction. KIND=message: EVENTS events without
# a table (message_select) instead, ROWS_PER_TX per transaction; the
# receiver checks their count.
write_backlog() {
  local name="$1" rows="$2" events="$3" kind="${4:-row}" script="$WORK/$1.sql" count
  local aggregate_type=order
  [[ "$kind" == row ]] || aggregate_type=message
  psql_q -c "TRUNCATE outbox"
  if [[ "$rows" -eq 0 ]]; then
    write_script "$script" "$aggregate_type" "$events"
    run_step "$name-write" 900 env PGOPTIONS='-c synchronous_commit=off' \
      psql "$PG_CONNINFO" -X -q -v ON_ERROR_STOP=1 -f "$script"
  else
    local per_client=$((events / rows / backlog_clients))
    [[ $((per_client * rows * backlog_clients)) -eq "$events" ]] ||
      die "$events events do not split into $backlog_clients clients of $rows-event transactions"
    write_script "$script" "$aggregate_type" "$rows"
    run_step "$name-write" 900 env PGOPTIONS='-c synchronous_commit=off' \
      pgbench -n -M prepared -c "$backlog_clients" -j 2 -t "$per_client" -f "$script" \
      -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres
  fi
  if [[ "$kind" == row ]]; then
    count="$(sql_value "SELECT count(*) FROM outbox")"
    [[ "$count" -eq "$events" ]] || die "$name: the outbox has $count rows, expected $events" "$LOGS/$name-write.err"
  fi
  lsn="$(sql_value "SELECT pg_current_wal_insert_lsn()")"
  pg_wait_flushed "$lsn" || die "the WAL was not flushed up to $lsn within 10 s" "$PG_LOG"
}

# ---------------------------------------------------------------- phase 1: catch-up

# receive SLOT EVENTS TAG PHASE METRIC: the ceiling up to $lsn, recorded as
# METRIC (events/s). Timed like pgoutbox: from the process's start
# (connecting included) to the end position.
receive() {
  local slot="$1" events="$2" tag="$3"
  run_step "$tag" 600 "$BENCH_BIN" measure --out "$LOGS/$tag.measure" --events "$events" -- \
    "$BENCH_BIN" receive --db "$PG_CONNINFO" --slot "$slot" --publication "$publication" \
    --message-prefix "$message_prefix" --end-lsn "$lsn"
  load "$LOGS/$tag.out" events
  [[ "${kv[events]}" -eq "$events" ]] ||
    die "$tag: the receiver saw ${kv[events]} events, expected $events" "$LOGS/$tag.out"
  pg_drop_slot "$slot"
  load "$LOGS/$tag.measure" events_per_s
  record "$4" "$5" "${kv[events_per_s]}" "events/s"
  log "receiver: $(printf '%.0f' "${kv[events_per_s]}") ev/s"
}

# catchup_run SLOT EVENTS TAG PHASE PREFIX: pgoutbox from the slot to $lsn
# under measure, timed from the process's start to the moment the end
# position was confirmed (its "confirmed position" log line), not the
# teardown after; records PREFIXpgoutbox_events_per_s, peak RSS and CPU.
catchup_run() {
  local slot="$1" events="$2" tag="$3" phase="$4" prefix="$5"
  run_step "$tag" 900 "$BENCH_BIN" measure --out "$LOGS/$tag.measure" --events "$events" \
    --until-line "info confirmed position" --log "$LOGS/$tag.out" --log "$LOGS/$tag.err" -- \
    "$pgoutbox_bin" run --db "$PG_CONNINFO" --brokers "$KAFKA_BROKERS" --table public.outbox \
    --publication "$publication" --slot "$slot" --no-create --end-lsn "$lsn" \
    --message-prefix "$message_prefix" --http-addr 127.0.0.1:0 --log-level info
  [[ "$(sql_value "SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots WHERE slot_name = '$slot'")" == t ]] ||
    die "$tag: pgoutbox exited 0 but slot $slot is not confirmed up to $lsn" "$LOGS/$tag.err"
  pg_drop_slot "$slot"
  load "$LOGS/$tag.measure" until_s events_per_s cpu_s_per_100k maxrss_mib user_s sys_s
  record "$phase" "${prefix}pgoutbox_events_per_s" "${kv[events_per_s]}" "events/s"
  [[ -z "$prefix" ]] || record "$phase" "${prefix}pgoutbox_wall_s" "${kv[until_s]}" "s"
  record "$phase" "${prefix}pgoutbox_peak_rss_mib" "${kv[maxrss_mib]}" "MiB"
  record "$phase" "${prefix}pgoutbox_cpu_s_per_100k" "${kv[cpu_s_per_100k]}" "s"
  log "pgoutbox: $(printf '%.0f' "${kv[events_per_s]}") ev/s (${kv[until_s]}s," \
    "peak RSS ${kv[maxrss_mib]} MiB, CPU ${kv[user_s]}s user ${kv[sys_s]}s sys)"
}

# phase_catchup NAME ROWS_PER_TX LABEL [KIND] (ROWS_PER_TX=0: one
# transaction; KIND=message: events without a table, see write_backlog).
# Records the backlog's WAL bytes and the bytes of its pgoutput stream (the
# receiver's count), so that the backlogs' sizes per event can be compared.
phase_catchup() {
  local name="$1" rows="$2" label="$3" kind="${4:-row}" events="$backlog_events" r p="catchup_$1"
  local slots=() wal_bytes
  step "Catch-up: $events events, $label ($reps repetition(s))"
  for r in $(seq 1 "$reps"); do
    slots+=("${name}_r${r}_before" "${name}_r${r}_pgoutbox" "${name}_r${r}_after")
  done
  pg_create_slots "${slots[@]}" "${name}_recvlogical"
  write_backlog "$name" "$rows" "$events" "$kind"
  wal_bytes="$(sql_value "SELECT pg_wal_lsn_diff('$lsn', confirmed_flush_lsn) FROM pg_replication_slots
                          WHERE slot_name = '${name}_recvlogical'")"
  record "$p" backlog_wal_bytes "$wal_bytes" "bytes"
  log "backlog written: $events events, $((wal_bytes / 1048576)) MiB of WAL, end LSN $lsn"
  for r in $(seq 1 "$reps"); do
    log "repetition $r"
    receive "${name}_r${r}_before" "$events" "$name-r$r-receive-before" "$p" "rep${r}_receiver_before_events_per_s"
    catchup_run "${name}_r${r}_pgoutbox" "$events" "$name-r$r-pgoutbox" "$p" "rep${r}_"
    receive "${name}_r${r}_after" "$events" "$name-r$r-receive-after" "$p" "rep${r}_receiver_after_events_per_s"
  done
  load "$LOGS/$name-r1-receive-before.out" bytes
  record "$p" stream_bytes "${kv[bytes]}" "bytes"
  run_step "$name-recvlogical" 600 "$BENCH_BIN" measure --out "$LOGS/$name-recvlogical.measure" \
    --events "$events" -- "$PG_BIN/pg_recvlogical" -d "$PG_CONNINFO" -S "${name}_recvlogical" \
    --start -E "$lsn" -o proto_version=1 -o publication_names="$publication" -o messages=true \
    -f /dev/null
  pg_drop_slot "${name}_recvlogical"
  load "$LOGS/$name-recvlogical.measure" events_per_s
  log "pg_recvlogical: $(printf '%.0f' "${kv[events_per_s]}") ev/s"
  record "$p" events "$events" "events"
  record "$p" pg_recvlogical_events_per_s "${kv[events_per_s]}" "events/s"
  psql_q -c "TRUNCATE outbox"
}

# ---------------------------------------------------------------- phase 2: peak RSS

phase_rss() {
  step "Peak RSS: $rss_events events in 10-row transactions"
  pg_create_slots rss_pgoutbox
  write_backlog rss 10 "$rss_events"
  log "backlog written: $rss_events events, end LSN $lsn"
  record rss events "$rss_events" "events"
  catchup_run rss_pgoutbox "$rss_events" rss-pgoutbox rss ""
  psql_q -c "TRUNCATE outbox"
}

# ---------------------------------------------------------------- phase 3: live latency

start_pgoutbox_live() {
  step "Starting pgoutbox for its live phases"
  http_port="$(free_port)"
  pg_create_slots live_pgoutbox
  "$pgoutbox_bin" run --db "$PG_CONNINFO" --brokers "$KAFKA_BROKERS" --table public.outbox \
    --publication "$publication" --slot live_pgoutbox --no-create \
    --http-addr "127.0.0.1:$http_port" --log-level info >"$LOGS/pgoutbox-live.log" 2>&1 &
  pgoutbox_pid=$!
  wait_ready "$LOGS/pgoutbox-live.log" 'streaming from slot' 30 "$pgoutbox_pid" "pgoutbox"
  wait_ready "$LOGS/pgoutbox-live.log" 'serving /metrics' 30 "$pgoutbox_pid" "pgoutbox"
  scrape /dev/null
  log "pgoutbox streaming, /metrics on 127.0.0.1:$http_port"
}

stop_pgoutbox_live() {
  local rc=0 hwm
  hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pgoutbox_pid/status" 2>/dev/null || true)"
  [[ -z "$hwm" ]] || record live pgoutbox_peak_rss_kb "$hwm" "kB"
  term_wait "$pgoutbox_pid" 40 || rc=$?
  pgoutbox_pid=""
  [[ "$rc" -ne 124 ]] || die "pgoutbox still running 40 s after SIGTERM" "$LOGS/pgoutbox-live.log"
  [[ "$rc" -eq 0 ]] || die "pgoutbox exited with $rc after SIGTERM" "$LOGS/pgoutbox-live.log"
  pg_drop_slot live_pgoutbox
  log "pgoutbox stopped (exit 0)"
}

# The naive relay, on a slot created now: it decodes none of pgoutbox's
# phases, and pgoutbox (stopped, its slot dropped) none of its.
start_relay_live() {
  step "Starting the naive relay for its live phases (pgoutbox-bench relay)"
  pg_create_slots live_relay
  "$BENCH_BIN" relay --db "$PG_CONNINFO" --brokers "$KAFKA_BROKERS" --slot live_relay \
    --publication "$publication" --topic "$relay_topic_template" \
    >"$LOGS/relay-live.out" 2>"$LOGS/relay-live.err" &
  relay_pid=$!
  wait_ready "$LOGS/relay-live.out" '^ready=1' 30 "$relay_pid" "the relay"
  log "relay streaming from slot live_relay to $relay_topic_template"
}

stop_relay_live() {
  local rc=0
  term_wait "$relay_pid" 40 || rc=$?
  relay_pid=""
  [[ "$rc" -ne 124 ]] || die "the relay still running 40 s after SIGTERM" "$LOGS/relay-live.err"
  [[ "$rc" -eq 0 ]] || die "the relay exited with $rc after SIGTERM" "$LOGS/relay-live.err"
  pg_drop_slot live_relay
  load "$LOGS/relay-live.out" events acked
  log "relay stopped (exit 0): ${kv[events]} events produced, ${kv[acked]} acknowledged"
}

scrape() {
  curl -fsS "http://127.0.0.1:$http_port/metrics" >"$1" ||
    die "scraping pgoutbox's /metrics on port $http_port failed" "$LOGS/pgoutbox-live.log"
}

# start_consumer TAG TOPIC EXPECT: the latency consumer in the background,
# once it has every partition assigned.
start_consumer() {
  "$BENCH_BIN" consume --brokers "$KAFKA_BROKERS" --topic "$2" --expect "$3" \
    --timeout $((live_seconds + 120)) --skip-seconds "$warmup_seconds" \
    >"$LOGS/$1-consume.out" 2>"$LOGS/$1-consume.err" &
  consumer_pid=$!
  wait_ready "$LOGS/$1-consume.out" '^ready=1' 30 "$consumer_pid" "the $1 consumer"
}

# wait_consumer TAG PHASE EXPECTED WHAT [LOG]: waits for the consumer,
# checks that it got EXPECTED records (all with a "ts") and records its
# figures; LOG is the streamer's, shown when records are missing.
wait_consumer() {
  local tag="$1" phase="$2" rc=0
  wait "$consumer_pid" || rc=$?
  consumer_pid=""
  [[ "$rc" -eq 0 ]] || die "the $tag consumer exited with $rc" "$LOGS/$tag-consume.out" "$LOGS/$tag-consume.err"
  load "$LOGS/$tag-consume.out" count kept missing_ts p50_ms p99_ms p999_ms max_ms
  [[ "${kv[missing_ts]}" -eq 0 ]] ||
    die "the $tag consumer got ${kv[missing_ts]} records without a \"ts\"" "$LOGS/$tag-consume.out"
  [[ "${kv[count]}" -eq "$3" ]] ||
    die "$tag: $3 $4 but the consumer got ${kv[count]}" "$LOGS/$tag-consume.out" ${5:+"$5"}
  record "$phase" consumed "${kv[count]}" "events"
  record "$phase" insert_to_consume_samples "${kv[kept]}" "events"
  record_quantiles "$phase" insert_to_consume p50 p99 p999 max
  log "${kv[count]} records; to consume p50/p99/p99.9 ${kv[p50_ms]}/${kv[p99_ms]}/${kv[p999_ms]} ms"
}

# pgoutbox_histograms TAG PHASE: pgoutbox's histograms between the scrape
# taken after the warm-up and one taken now. Own share and broker latency
# only when this pgoutbox exports them (quantiles says present=0 if not).
pgoutbox_histograms() {
  local tag="$1" phase="$2" metric
  scrape "$LOGS/$tag-metrics-after.txt"
  for metric in delivery_latency receive_lag confirm_lag own_latency broker_latency read_delay; do
    run_step "$tag-$metric" 60 "$BENCH_BIN" quantiles --before "$LOGS/$tag-metrics-before.txt" \
      --after "$LOGS/$tag-metrics-after.txt" --metric "pgoutbox_${metric}_seconds"
  done
  load "$LOGS/$tag-delivery_latency.out" count p50_ms p99_ms p999_ms
  record "$phase" commit_to_ack_samples "${kv[count]}" "events"
  record_quantiles "$phase" commit_to_ack p50 p99 p999
  load "$LOGS/$tag-receive_lag.out" count p50_ms p99_ms p999_ms
  record_quantiles "$phase" receive_lag p50 p99 p999
  load "$LOGS/$tag-confirm_lag.out" count p50_ms p99_ms
  record "$phase" confirm_lag_samples "${kv[count]}" "transactions"
  record_quantiles "$phase" confirm_lag p50 p99
  log "confirm lag p99 ${kv[p99_ms]} ms"
  for metric in own_latency broker_latency read_delay; do
    load "$LOGS/$tag-$metric.out" present count
    [[ "${kv[present]}" -eq 1 ]] || continue
    load "$LOGS/$tag-$metric.out" present count p50_ms p99_ms p999_ms
    record "$phase" "${metric}_samples" "${kv[count]}" "events"
    record_quantiles "$phase" "$metric" p50 p99 p999
    log "$metric p50/p99/p99.9 ${kv[p50_ms]}/${kv[p99_ms]}/${kv[p999_ms]} ms"
  done
}

# phase_live STREAMER RATE: 1-row transactions (default synchronous_commit)
# from live_clients pgbench clients at RATE/s for live_seconds, streamed by
# the running STREAMER (pgoutbox or relay), with their own aggregate type
# and so their own topic; records the consumer's figures, the streamer's CPU
# time from the start of the load until the consumer had everything, and
# for pgoutbox its histograms.
phase_live() {
  local who="$1" rate="$2" rc=0 tag phase topic pid log inserted ticks_before ticks_load ticks_after
  if [[ "$who" == pgoutbox ]]; then
    tag="live$rate" phase="live_$rate" topic="outbox.event.live$rate"
    pid="$pgoutbox_pid" log="$LOGS/pgoutbox-live.log"
  else
    tag="relay$rate" phase="relay_$rate" topic="relay.relay$rate"
    pid="$relay_pid" log="$LOGS/relay-live.err"
  fi
  step "Live, $who: $rate events/s for ${live_seconds}s (1-row transactions, pgbench -c $live_clients)"
  write_script "$WORK/$tag.sql" "$tag" 1
  start_consumer "$tag" "$topic" 0
  ticks_before="$(cpu_ticks "$pid")"
  pgbench -n -M prepared -c "$live_clients" -j 2 -R "$rate" -T "$live_seconds" -f "$WORK/$tag.sql" \
    -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >"$LOGS/$tag-pgbench.out" 2>"$LOGS/$tag-pgbench.err" &
  load_pid=$!
  if [[ "$who" == pgoutbox ]]; then
    # pgoutbox's histograms from the end of the warm-up on, like the consumer's samples.
    sleep "$warmup_seconds"
    scrape "$LOGS/$tag-metrics-before.txt"
  fi
  wait "$load_pid" || rc=$?
  load_pid=""
  ticks_load="$(cpu_ticks "$pid")"
  [[ "$rc" -eq 0 ]] || die "pgbench exited with $rc" "$LOGS/$tag-pgbench.out" "$LOGS/$tag-pgbench.err" "$PG_LOG"
  record "$phase" target_events_per_s "$rate" "events/s"
  record "$phase" achieved_events_per_s "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$LOGS/$tag-pgbench.out")" "events/s"
  record "$phase" pgbench_schedule_lag_avg_ms \
    "$(grep -oE 'schedule lag: avg [0-9.]+' "$LOGS/$tag-pgbench.out" | cut -d' ' -f4)" "ms"
  inserted="$(sql_value "SELECT count(*) FROM outbox WHERE aggregate_type = '$tag'")"
  record "$phase" inserted "$inserted" "events"
  wait_consumer "$tag" "$phase" "$inserted" "events inserted" "$log"
  ticks_after="$(cpu_ticks "$pid")"
  record "$phase" streamer_cpu_ticks "$((ticks_after - ticks_before))" "ticks"
  record "$phase" clock_ticks_per_s "$clock_ticks_per_s" "Hz"
  log "$who CPU: $((ticks_after - ticks_before)) ticks of 1/${clock_ticks_per_s} s" \
    "($((ticks_after - ticks_load)) after the load ended)"
  [[ "$who" != pgoutbox ]] || pgoutbox_histograms "$tag" "$phase"
}

# phase_floor RATE: records produced straight to Kafka at RATE/s.
phase_floor() {
  local rate="$1" tag="floor$1" phase="floor_$1"
  step "Floor: $rate records/s for ${live_seconds}s straight to Kafka"
  start_consumer "$tag" "$tag" $((rate * live_seconds))
  run_step "$tag-produce" $((live_seconds + 120)) "$BENCH_BIN" produce --brokers "$KAFKA_BROKERS" \
    --topic "$tag" --rate "$rate" --seconds "$live_seconds"
  load "$LOGS/$tag-produce.out" produced events_per_s
  record "$phase" target_events_per_s "$rate" "events/s"
  record "$phase" achieved_events_per_s "${kv[events_per_s]}" "events/s"
  record "$phase" produced "${kv[produced]}" "events"
  wait_consumer "$tag" "$phase" "${kv[produced]}" "records produced"
}

# ---------------------------------------------------------------- main

main() {
  install_cleanup "$out_dir"
  echo "phase,metric,value,unit" >"$LOGS/measurements.csv"
  ensure_packages gnuplot "gnuplot-nox fonts-liberation" curl curl
  build "$pgoutbox_bin" "$BENCH_BIN"
  start_postgres "${pg_settings[@]}"
  settings
  kafka_start "${kafka_topics[@]}"
  log "mode $mode: catch-up backlogs of $backlog_events events x $reps repetition(s)," \
    "RSS backlog $rss_events events, live phases ${live_seconds}s at ${live_rates[*]} ev/s"

  phase_catchup 1row 1 "1-row transactions"
  phase_catchup 10row 10 "10-row transactions"
  phase_catchup 1tx 0 "one transaction"
  phase_catchup 1msg 1 "1-message transactions" message
  phase_catchup 10msg 10 "10-message transactions" message
  phase_rss

  # Latency on a quiet database and a fresh broker: nothing left over from
  # the backlogs (autovacuum, the broker's stored batches).
  psql_q -c "VACUUM ANALYZE outbox" -c "CHECKPOINT"
  kafka_stop
  kafka_start "${kafka_topics[@]}"
  start_pgoutbox_live
  for rate in "${live_rates[@]}"; do phase_live pgoutbox "$rate"; done
  stop_pgoutbox_live
  kafka_stop
  kafka_start "${kafka_topics[@]}"
  start_relay_live
  for rate in "${live_rates[@]}"; do phase_live relay "$rate"; done
  stop_relay_live
  kafka_stop
  kafka_start "${kafka_topics[@]}"
  for rate in "${live_rates[@]}"; do phase_floor "$rate"; done

  step "Results ($((SECONDS - LIB_STARTED))s)"
  record run seconds "$((SECONDS - LIB_STARTED))" "s"
  run_step report 120 "$BENCH_BIN" report --in "$LOGS/measurements.csv" --out-dir "$out_dir" \
    --mode "$mode" --invocation "$invocation" --commit "$(commit_id)" \
    --postgres-version "$(sql_value "SHOW server_version")" \
    --librdkafka-version "$(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null || echo unknown)" \
    --keys "$aggregate_keys" --backlog-events "$backlog_events" --reps "$reps" \
    --rss-events "$rss_events" --live-seconds "$live_seconds" --warmup-seconds "$warmup_seconds"
  cat "$out_dir/results.md"
  printf '\nwritten: %s/results.md, results.csv, chart.png; logs in %s\n' "$out_dir" "$LOGS"
}

main
