#!/usr/bin/env bash
# The pgoutbox benchmark in one command. Builds (scripts/build.sh), starts a
# throwaway PostgreSQL 15 and a 3-broker mock Kafka cluster in a process of
# its own (pgoutbox-bench kafka), then measures:
#
#   1. catch-up throughput: a backlog is written first (1-row transactions,
#      10-row transactions, one big transaction), then streamed to its end by
#      pgoutbox and, as the ceiling, by a minimal receiver that only counts
#      (pgoutbox-bench receive, run before and after pgoutbox: the faster one
#      counts), and once by pg_recvlogical for reference;
#   2. pgoutbox's peak RSS on a 1,000,000-event backlog;
#   3. live latency at 1,000 and 5,000 events/s: insert-to-consume (an
#      independent consumer), commit-to-ack and confirm lag (pgoutbox's own
#      histograms), and the floor: the same rates produced straight to Kafka.
#
# Results go to build/bench/: results.md (also printed at the end),
# results.csv (phase,metric,value,unit), chart.png, and logs/ with every
# step's output. Takes about 10 minutes on 2 cores; --quick about 2 minutes.
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
# shellcheck source=lib/postgres.sh
source "$repo_root/scripts/lib/postgres.sh"
# shellcheck source=lib/process.sh
source "$repo_root/scripts/lib/process.sh"

usage() {
  sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

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
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [[ "$quick" -eq 1 ]]; then
  mode="quick"
  backlog_events=20000   # per catch-up backlog
  rss_events=100000      # the peak RSS backlog
  live_seconds=10        # per latency phase
  warmup_seconds=2       # latency samples dropped at the start of each phase
  reps="${reps:-1}"
else
  mode="full"
  backlog_events=200000
  rss_events=1000000
  live_seconds=60
  warmup_seconds=5
  reps="${reps:-3}"
fi
live_rates=(1000 5000)
backlog_clients=8      # pgbench clients writing a backlog (it is only the backlog)
aggregate_keys=10000   # aggregate ids order-1 .. order-N

pg_settings=(
  wal_level=logical
  max_wal_senders=40
  max_replication_slots=40
  shared_buffers=256MB
  max_wal_size=4GB
  checkpoint_timeout=30min
  logical_decoding_work_mem=64MB
)
# Reported with the results; all but the first seven are defaults.
shown_settings="'wal_level','max_wal_senders','max_replication_slots','shared_buffers','max_wal_size',
  'checkpoint_timeout','logical_decoding_work_mem','fsync','synchronous_commit','wal_sync_method',
  'full_page_writes','wal_writer_delay','max_connections'"

publication=bench
out_dir="$repo_root/build/bench"
logs="$out_dir/logs"
bench_bin="$repo_root/build/pgoutbox-bench"
pgoutbox_bin="$repo_root/build/pgoutbox"
started_at=$SECONDS

# ---------------------------------------------------------------- helpers

work=""
kafka_pid=""
pgoutbox_pid=""
consumer_pid=""
load_pid=""
fg_pid=""

log() { printf '[%4ds] %s\n' "$((SECONDS - started_at))" "$*"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# die MESSAGE [LOG ...]: the message, the tail of each log (of the server
# log, its last errors), exit 1.
die() {
  local f
  printf '\nbench: FAILED: %s\n' "$1" >&2
  shift
  for f in "$@"; do
    if [[ "$f" == "$PG_LOG" ]]; then
      if grep -qE '(ERROR|FATAL|PANIC):' "$f" 2>/dev/null; then
        printf -- '--- last errors in %s:\n' "$f" >&2
        grep -E -A 2 '(ERROR|FATAL|PANIC):' "$f" | tail -n 15 >&2
      fi
    elif [[ -s "$f" ]]; then
      printf -- '--- last lines of %s:\n' "$f" >&2
      tail -n 30 "$f" >&2
    fi
  done
  if [[ -n "$kafka_pid" ]] && ! kill -0 "$kafka_pid" 2>/dev/null; then
    printf 'note: the Kafka host (pgoutbox-bench kafka) is no longer running:\n' >&2
    tail -n 10 "$logs/kafka.err" >&2 2>/dev/null || true
  fi
  printf 'all logs: %s\n' "$logs" >&2
  exit 1
}


cleanup() {
  set +e
  stop_pid "$fg_pid"
  stop_pid "$load_pid"
  stop_pid "$consumer_pid"
  stop_pid "$pgoutbox_pid"
  stop_pid "$kafka_pid"
  if [[ -n "$PG_DIR" && -f "$PG_LOG" && -d "$logs" ]]; then cp "$PG_LOG" "$logs/postgres.log"; fi
  pg_stop
  [[ -n "$work" ]] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_step NAME SECONDS CMD...: runs CMD with a time limit, stdout to
# logs/NAME.out and stderr to logs/NAME.err; dies with their tails if it
# fails. (In the background and waited for, so a signal stops it at once.)
run_step() {
  local name="$1" secs="$2" rc=0
  shift 2
  timeout --kill-after=10 "$secs" "$@" >"$logs/$name.out" 2>"$logs/$name.err" &
  fg_pid=$!
  wait "$fg_pid" || rc=$?
  fg_pid=""
  if [[ "$rc" -eq 124 ]]; then
    die "$name: timed out after ${secs}s: $*" "$logs/$name.out" "$logs/$name.err" "$PG_LOG"
  elif [[ "$rc" -ne 0 ]]; then
    die "$name: exited with $rc: $*" "$logs/$name.out" "$logs/$name.err" "$PG_LOG"
  fi
}

# load FILE KEY...: the key=value pairs of FILE's last line with a "=" into
# the array kv; dies unless each KEY is there.
declare -A kv=()
load() {
  local file="$1" pair key line
  shift
  line="$(grep '=' "$file" 2>/dev/null | tail -n 1)" || true
  kv=()
  for pair in $line; do kv["${pair%%=*}"]="${pair#*=}"; done
  for key in "$@"; do
    [[ -n "${kv[$key]:-}" ]] || die "no $key= in $file" "$file" "${file%.*}.err"
  done
}

# wait_ready FILE REGEX SECONDS PID WHAT: wait_for_line, or dies when PID
# exits or time is up.
wait_ready() {
  local file="$1" what="$5" rc=0
  wait_for_line "$file" "$2" "$3" "$4" || rc=$?
  [[ $rc -ne 1 ]] || die "$what exited before it was ready" "$file" "${file%.*}.err"
  [[ $rc -ne 2 ]] || die "$what not ready after ${3}s" "$file" "${file%.*}.err"
}

calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
# fmt DECIMALS VALUE
fmt() { awk -v d="$1" -v v="$2" 'BEGIN { if (v == "" || v == "n/a") print "n/a"; else printf "%.*f", d, v }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
max_of() { printf '%s\n' "$@" | sort -g | tail -n 1; }
# le VALUE LIMIT: true when VALUE <= LIMIT (numbers)
le() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'; }
ge() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v >= l) }'; }

psql_q() { psql "$PG_CONNINFO" -X -q -v ON_ERROR_STOP=1 "$@"; }
sql_value() { psql "$PG_CONNINFO" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# Results: record PHASE METRIC VALUE UNIT keeps a value for the tables and
# the CSV (in recording order).
declare -A result=()
csv_rows=()
record() {
  result["$1.$2"]="$3"
  csv_rows+=("$1,$2,$3,$4")
}
res() { printf '%s' "${result[$1]:-n/a}"; }

# ---------------------------------------------------------------- set-up

# The benchmark's own tools beyond scripts/install-deps.sh: gnuplot for the
# chart, curl for /metrics. Installed with apt-get when missing.
ensure_tools() {
  local missing=()
  command -v gnuplot >/dev/null || missing+=(gnuplot-nox fonts-liberation)
  command -v curl >/dev/null || missing+=(curl)
  [[ ${#missing[@]} -gt 0 ]] || return 0
  local sudo=()
  [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
  log "installing ${missing[*]}"
  "${sudo[@]}" apt-get update >"$logs/apt.log" 2>&1 || die "apt-get update failed" "$logs/apt.log"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}" >>"$logs/apt.log" 2>&1 || die "installing ${missing[*]} failed" "$logs/apt.log"
}

build() {
  step "Installing dependencies and building (scripts/build.sh)"
  scripts/build.sh >"$logs/build.log" 2>&1 || die "scripts/build.sh failed" "$logs/build.log"
  [[ -x "$pgoutbox_bin" ]] || die "$pgoutbox_bin missing after the build" "$logs/build.log"
  [[ -x "$bench_bin" ]] || die "$bench_bin missing after the build" "$logs/build.log"
  log "built $pgoutbox_bin and $bench_bin"
}

start_postgres() {
  step "Starting a throwaway PostgreSQL 15"
  pg_start "${pg_settings[@]}" || die "PostgreSQL did not start"
  log "listening on 127.0.0.1:$PG_PORT ($PG_DATA)"
  psql_q -c "SELECT name, current_setting(name) AS setting FROM pg_settings
             WHERE name IN ($shown_settings) ORDER BY name" | tee "$logs/settings.txt"
  settings_rows="$(sql_value "SELECT name || '|' || current_setting(name) FROM pg_settings
                               WHERE name IN ($shown_settings) ORDER BY name")"
  local name value
  while IFS='|' read -r name value; do record settings "$name" "$value" ""; done <<<"$settings_rows"
  psql_q -f sql/outbox.sql
  psql_q -c "CREATE PUBLICATION $publication FOR TABLE public.outbox WITH (publish = 'insert')"
}

start_kafka() {
  step "Starting the mock Kafka cluster (3 brokers, own process)"
  local topics=(--topic outbox.event.order:6) rate
  for rate in "${live_rates[@]}"; do
    topics+=(--topic "outbox.event.live$rate:6" --topic "floor$rate:6")
  done
  "$bench_bin" kafka --brokers 3 "${topics[@]}" >"$logs/kafka.out" 2>"$logs/kafka.err" &
  kafka_pid=$!
  wait_ready "$logs/kafka.out" '^bootstraps=' 30 "$kafka_pid" "pgoutbox-bench kafka"
  load "$logs/kafka.out" bootstraps
  brokers="${kv[bootstraps]}"
  log "brokers $brokers"
}

restart_kafka() {
  stop_pid "$kafka_pid"
  kafka_pid=""
  start_kafka
}

# ---------------------------------------------------------------- workload

# The columns of one outbox row; KEY_EXPR is the aggregate id number.
row_select() {
  local aggregate_type="$1" key_expr="$2"
  cat <<SQL
SELECT '$aggregate_type', 'order-' || ($key_expr), 'OrderPlaced',
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
    'ts', (extract(epoch from clock_timestamp()) * 1000000)::bigint),
  '{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "source": "orders-service"}'::jsonb
SQL
}

insert_into="INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, headers)"

# write_script FILE AGGREGATE_TYPE ROWS: a pgbench script inserting ROWS rows
# in one transaction (ROWS=1: the aggregate id from pgbench's random()).
write_script() {
  local file="$1" aggregate_type="$2" rows="$3"
  if [[ "$rows" -eq 1 ]]; then
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

# write_backlog NAME ROWS_PER_TX EVENTS: EVENTS outbox rows, written fast
# (synchronous_commit=off). ROWS_PER_TX=0: all in one transaction.
write_backlog() {
  local name="$1" rows="$2" events="$3" script="$work/$1.sql"
  if [[ "$rows" -eq 0 ]]; then
    write_script "$script" order "$events"
    run_step "$name-write" 900 env PGOPTIONS='-c synchronous_commit=off' \
      psql "$PG_CONNINFO" -X -q -v ON_ERROR_STOP=1 -f "$script"
  else
    local per_client=$((events / rows / backlog_clients))
    [[ $((per_client * rows * backlog_clients)) -eq "$events" ]] ||
      die "$events events do not split into $backlog_clients clients of $rows-row transactions"
    write_script "$script" order "$rows"
    run_step "$name-write" 900 env PGOPTIONS='-c synchronous_commit=off' \
      pgbench -n -M prepared -c "$backlog_clients" -j 2 -t "$per_client" -f "$script" \
      -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres
  fi
  local count
  count="$(sql_value "SELECT count(*) FROM outbox")"
  [[ "$count" -eq "$events" ]] || die "$name: the outbox has $count rows, expected $events" "$logs/$name-write.err"
}

# The end of the backlog: the WAL insert position, once it is flushed (the
# backlog was written with synchronous_commit=off), so that a logical
# walsender can send everything up to it.
backlog_end_lsn() {
  local lsn
  lsn="$(sql_value "SELECT pg_current_wal_insert_lsn()")"
  for _ in $(seq 1 100); do
    [[ "$(sql_value "SELECT pg_current_wal_flush_lsn() >= '$lsn'")" == t ]] && break
    sleep 0.1
  done
  [[ "$(sql_value "SELECT pg_current_wal_flush_lsn() >= '$lsn'")" == t ]] ||
    die "the WAL was not flushed up to $lsn within 10 s" "$PG_LOG"
  printf '%s' "$lsn"
}

create_slots() {
  local slot
  for slot in "$@"; do
    sql_value "SELECT pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
  done
}

# Drops a slot; its walsender may take a moment to go away after its client.
drop_slot() {
  for _ in $(seq 1 100); do
    [[ "$(sql_value "SELECT active FROM pg_replication_slots WHERE slot_name = '$1'")" == f ]] && break
    sleep 0.1
  done
  sql_value "SELECT pg_drop_replication_slot('$1')" >/dev/null
}

# ---------------------------------------------------------------- phase 1: catch-up

# receive SLOT LSN EVENTS TAG: the ceiling's events/s (in $ret).
# Timed like pgoutbox: from the process's start (connecting included) to the
# end position.
receive() {
  local slot="$1" lsn="$2" events="$3" tag="$4"
  run_step "$tag" 600 "$bench_bin" measure --out "$logs/$tag.measure" -- \
    "$bench_bin" receive --db "$PG_CONNINFO" --slot "$slot" --publication "$publication" \
    --end-lsn "$lsn"
  load "$logs/$tag.out" events
  [[ "${kv[events]}" -eq "$events" ]] ||
    die "$tag: the receiver saw ${kv[events]} events, expected $events" "$logs/$tag.out"
  load "$logs/$tag.measure" wall_s
  ret="$(calc "$events / ${kv[wall_s]}")"
  drop_slot "$slot"
}

# catchup_run SLOT LSN TAG: pgoutbox from the slot to LSN under measure;
# the measurements are in logs/TAG.measure.
catchup_run() {
  local slot="$1" lsn="$2" tag="$3"
  run_step "$tag" 900 "$bench_bin" measure --out "$logs/$tag.measure" -- \
    "$pgoutbox_bin" run --db "$PG_CONNINFO" --brokers "$brokers" --table public.outbox \
    --publication "$publication" --slot "$slot" --no-create --end-lsn "$lsn" \
    --http-addr 127.0.0.1:0 --log-level info
  [[ "$(sql_value "SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots WHERE slot_name = '$slot'")" == t ]] ||
    die "$tag: pgoutbox exited 0 but slot $slot is not confirmed up to $lsn" "$logs/$tag.err"
  drop_slot "$slot"
  # The run counts from the process's start to the moment the end position
  # was confirmed (its "confirmed position" log line), not the teardown after.
  local line confirmed_at
  line="$(grep -h "info confirmed position" "$logs/$tag.out" "$logs/$tag.err" | tail -n 1)"
  [[ -n "$line" ]] || die "$tag: no \"confirmed position\" line in pgoutbox's log" "$logs/$tag.err"
  confirmed_at="$(date -d "${line%% *}" +%s.%N)"
  load "$logs/$tag.measure" start_unix_s
  sed -i "\$s/\$/ until_confirmed_s=$(calc "$confirmed_at - ${kv[start_unix_s]}")/" "$logs/$tag.measure"
}

# phase_catchup NAME ROWS_PER_TX LABEL (ROWS_PER_TX=0: one transaction)
phase_catchup() {
  local name="$1" rows="$2" label="$3" events="$backlog_events" r
  step "Catch-up: $events events, $label ($reps repetition(s))"
  psql_q -c "TRUNCATE outbox"
  local slots=()
  for r in $(seq 1 "$reps"); do
    slots+=("${name}_r${r}_before" "${name}_r${r}_pgoutbox" "${name}_r${r}_after")
  done
  slots+=("${name}_recvlogical")
  create_slots "${slots[@]}"
  write_backlog "$name" "$rows" "$events"
  local lsn
  lsn="$(backlog_end_lsn)"
  local wal_bytes
  wal_bytes="$(sql_value "SELECT pg_wal_lsn_diff('$lsn', confirmed_flush_lsn) FROM pg_replication_slots
                          WHERE slot_name = '${name}_recvlogical'")"
  record "catchup_$name" backlog_wal_bytes "$wal_bytes" "bytes"
  log "backlog written: $events events, $(calc "$wal_bytes / 1048576") MiB of WAL, end LSN $lsn"

  local ceilings=() speeds=() ratios=() rss=() cpu=() before after wall cpu_s
  for r in $(seq 1 "$reps"); do
    receive "${name}_r${r}_before" "$lsn" "$events" "$name-r$r-receive-before"
    before="$ret"
    catchup_run "${name}_r${r}_pgoutbox" "$lsn" "$name-r$r-pgoutbox"
    load "$logs/$name-r$r-pgoutbox.measure" until_confirmed_s user_s sys_s maxrss_kb
    wall="${kv[until_confirmed_s]}"
    cpu_s="$(calc "${kv[user_s]} + ${kv[sys_s]}")"
    rss+=("$(calc "${kv[maxrss_kb]} / 1024")")
    receive "${name}_r${r}_after" "$lsn" "$events" "$name-r$r-receive-after"
    after="$ret"
    ceilings+=("$(max_of "$before" "$after")")
    speeds+=("$(calc "$events / $wall")")
    ratios+=("$(calc "${speeds[-1]} / ${ceilings[-1]}")")
    cpu+=("$(calc "$cpu_s * 100000 / $events")")
    log "rep $r: receiver $(fmt 0 "$before") / $(fmt 0 "$after") ev/s, pgoutbox $(fmt 0 "${speeds[-1]}") ev/s" \
      "(${wall}s, ratio $(fmt 2 "${ratios[-1]}"), peak RSS $(fmt 1 "${rss[-1]}") MiB, CPU ${cpu_s}s)"
    record "catchup_$name" "rep${r}_receiver_before_events_per_s" "$before" "events/s"
    record "catchup_$name" "rep${r}_receiver_after_events_per_s" "$after" "events/s"
    record "catchup_$name" "rep${r}_pgoutbox_events_per_s" "${speeds[-1]}" "events/s"
    record "catchup_$name" "rep${r}_pgoutbox_wall_s" "$wall" "s"
  done

  run_step "$name-recvlogical" 600 "$bench_bin" measure --out "$logs/$name-recvlogical.measure" -- \
    "$PG_BIN/pg_recvlogical" -d "$PG_CONNINFO" -S "${name}_recvlogical" --start -E "$lsn" \
    -o proto_version=1 -o publication_names="$publication" -f /dev/null
  drop_slot "${name}_recvlogical"
  local recvlogical
  load "$logs/$name-recvlogical.measure" wall_s
  recvlogical="$(calc "$events / ${kv[wall_s]}")"
  log "pg_recvlogical: $(fmt 0 "$recvlogical") ev/s"

  record "catchup_$name" events "$events" "events"
  record "catchup_$name" ceiling_events_per_s "$(median "${ceilings[@]}")" "events/s"
  record "catchup_$name" pgoutbox_events_per_s "$(median "${speeds[@]}")" "events/s"
  record "catchup_$name" ratio "$(median "${ratios[@]}")" "ratio"
  record "catchup_$name" pg_recvlogical_events_per_s "$recvlogical" "events/s"
  record "catchup_$name" pgoutbox_peak_rss_mib "$(max_of "${rss[@]}")" "MiB"
  record "catchup_$name" pgoutbox_cpu_s_per_100k "$(median "${cpu[@]}")" "s"
  psql_q -c "TRUNCATE outbox"
}

# ---------------------------------------------------------------- phase 2: peak RSS

phase_rss() {
  local events="$rss_events"
  step "Peak RSS: $events events in 10-row transactions"
  psql_q -c "TRUNCATE outbox"
  create_slots rss_pgoutbox
  write_backlog rss 10 "$events"
  local lsn
  lsn="$(backlog_end_lsn)"
  log "backlog written: $events events, end LSN $lsn"
  catchup_run rss_pgoutbox "$lsn" rss-pgoutbox
  load "$logs/rss-pgoutbox.measure" until_confirmed_s user_s sys_s maxrss_kb
  record rss events "$events" "events"
  record rss pgoutbox_events_per_s "$(calc "$events / ${kv[until_confirmed_s]}")" "events/s"
  record rss pgoutbox_peak_rss_mib "$(calc "${kv[maxrss_kb]} / 1024")" "MiB"
  record rss pgoutbox_cpu_s_per_100k "$(calc "(${kv[user_s]} + ${kv[sys_s]}) * 100000 / $events")" "s"
  log "pgoutbox: $(fmt 0 "$(res rss.pgoutbox_events_per_s)") ev/s, peak RSS $(fmt 1 "$(res rss.pgoutbox_peak_rss_mib)") MiB"
  psql_q -c "TRUNCATE outbox"
}

# ---------------------------------------------------------------- phase 3: live latency

start_pgoutbox_live() {
  step "Starting pgoutbox for the live phases"
  http_port="$(free_port)"
  create_slots live_pgoutbox
  "$pgoutbox_bin" run --db "$PG_CONNINFO" --brokers "$brokers" --table public.outbox \
    --publication "$publication" --slot live_pgoutbox --no-create \
    --http-addr "127.0.0.1:$http_port" --log-level info >"$logs/pgoutbox-live.log" 2>&1 &
  pgoutbox_pid=$!
  wait_ready "$logs/pgoutbox-live.log" 'streaming from slot' 30 "$pgoutbox_pid" "pgoutbox"
  wait_ready "$logs/pgoutbox-live.log" 'serving /metrics' 30 "$pgoutbox_pid" "pgoutbox"
  curl -fsS "http://127.0.0.1:$http_port/metrics" >/dev/null ||
    die "pgoutbox's /metrics on port $http_port does not answer" "$logs/pgoutbox-live.log"
  log "pgoutbox streaming, /metrics on 127.0.0.1:$http_port"
}

stop_pgoutbox_live() {
  local rc=0 hwm
  hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pgoutbox_pid/status" 2>/dev/null || true)"
  [[ -z "$hwm" ]] || record live pgoutbox_peak_rss_mib "$(calc "$hwm / 1024")" "MiB"
  kill -TERM "$pgoutbox_pid"
  for _ in $(seq 1 400); do
    kill -0 "$pgoutbox_pid" 2>/dev/null || break
    sleep 0.1
  done
  ! kill -0 "$pgoutbox_pid" 2>/dev/null || die "pgoutbox still running 40 s after SIGTERM" "$logs/pgoutbox-live.log"
  wait "$pgoutbox_pid" || rc=$?
  pgoutbox_pid=""
  [[ "$rc" -eq 0 ]] || die "pgoutbox exited with $rc after SIGTERM" "$logs/pgoutbox-live.log"
  drop_slot live_pgoutbox
  log "pgoutbox stopped (exit 0)"
}

scrape() {
  curl -fsS "http://127.0.0.1:$http_port/metrics" >"$1" ||
    die "scraping pgoutbox's /metrics failed" "$logs/pgoutbox-live.log"
}

# start_consumer TAG TOPIC EXPECT: the latency consumer in the background,
# once it has every partition assigned.
start_consumer() {
  local tag="$1" topic="$2" expect="$3"
  "$bench_bin" consume --brokers "$brokers" --topic "$topic" --expect "$expect" \
    --timeout $((live_seconds + 120)) --skip-seconds "$warmup_seconds" \
    >"$logs/$tag-consume.out" 2>"$logs/$tag-consume.err" &
  consumer_pid=$!
  wait_ready "$logs/$tag-consume.out" '^ready=1' 30 "$consumer_pid" "the $tag consumer"
}

wait_consumer() {
  local tag="$1" rc=0
  wait "$consumer_pid" || rc=$?
  consumer_pid=""
  [[ "$rc" -eq 0 ]] || die "the $tag consumer exited with $rc" "$logs/$tag-consume.out" "$logs/$tag-consume.err"
  load "$logs/$tag-consume.out" count kept missing_ts p50_ms p99_ms p999_ms max_ms
  [[ "${kv[missing_ts]}" -eq 0 ]] ||
    die "the $tag consumer got ${kv[missing_ts]} records without a \"ts\"" "$logs/$tag-consume.out"
}

record_consumer() {
  local phase="$1" tag="$2"
  load "$logs/$tag-consume.out" count kept p50_ms p99_ms p999_ms max_ms
  record "$phase" consumed "${kv[count]}" "events"
  record "$phase" insert_to_consume_samples "${kv[kept]}" "events"
  record "$phase" insert_to_consume_p50_ms "${kv[p50_ms]}" "ms"
  record "$phase" insert_to_consume_p99_ms "${kv[p99_ms]}" "ms"
  record "$phase" insert_to_consume_p999_ms "${kv[p999_ms]}" "ms"
  record "$phase" insert_to_consume_max_ms "${kv[max_ms]}" "ms"
}

# phase_live RATE: 1-row transactions at RATE/s (default synchronous_commit)
# for live_seconds through the running pgoutbox.
phase_live() {
  local rate="$1" tag="live$1" phase="live_$1"
  local topic="outbox.event.$tag" script="$work/$tag.sql"
  local clients=8
  [[ "$rate" -lt 2000 ]] || clients=16  # enough connections to keep up with fsync per commit
  step "Live: $rate events/s for ${live_seconds}s (1-row transactions, pgbench -c $clients)"
  write_script "$script" "$tag" 1
  start_consumer "$tag" "$topic" 0
  pgbench -n -M prepared -c "$clients" -j 2 -R "$rate" -T "$live_seconds" -f "$script" \
    -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >"$logs/$tag-pgbench.out" 2>"$logs/$tag-pgbench.err" &
  load_pid=$!
  # pgoutbox's histograms from the end of the warm-up on, like the consumer's samples.
  sleep "$warmup_seconds"
  scrape "$logs/$tag-metrics-before.txt"
  local rc=0
  wait "$load_pid" || rc=$?
  load_pid=""
  [[ "$rc" -eq 0 ]] || die "pgbench exited with $rc" "$logs/$tag-pgbench.out" "$logs/$tag-pgbench.err" "$PG_LOG"
  wait_consumer "$tag"
  scrape "$logs/$tag-metrics-after.txt"

  local inserted consumed
  inserted="$(sql_value "SELECT count(*) FROM outbox WHERE aggregate_type = '$tag'")"
  load "$logs/$tag-consume.out" count
  consumed="${kv[count]}"
  [[ "$consumed" -eq "$inserted" ]] ||
    die "$tag: $inserted events inserted but the consumer got $consumed" "$logs/$tag-consume.out" "$logs/pgoutbox-live.log"

  local metric
  for metric in delivery_latency receive_lag confirm_lag; do
    run_step "$tag-$metric" 60 "$bench_bin" quantiles --before "$logs/$tag-metrics-before.txt" \
      --after "$logs/$tag-metrics-after.txt" --metric "pgoutbox_${metric}_seconds"
  done
  record "$phase" target_events_per_s "$rate" "events/s"
  record "$phase" achieved_events_per_s \
    "$(grep -oE '^tps = [0-9.]+' "$logs/$tag-pgbench.out" | awk '{ print $3 }')" "events/s"
  record "$phase" pgbench_schedule_lag_avg_ms \
    "$(grep -oE 'schedule lag: avg [0-9.]+' "$logs/$tag-pgbench.out" | awk '{ print $4 }')" "ms"
  record "$phase" inserted "$inserted" "events"
  record_consumer "$phase" "$tag"
  load "$logs/$tag-delivery_latency.out" count p50_ms p99_ms p999_ms
  record "$phase" commit_to_ack_samples "${kv[count]}" "events"
  record "$phase" commit_to_ack_p50_ms "${kv[p50_ms]}" "ms"
  record "$phase" commit_to_ack_p99_ms "${kv[p99_ms]}" "ms"
  record "$phase" commit_to_ack_p999_ms "${kv[p999_ms]}" "ms"
  load "$logs/$tag-receive_lag.out" count p50_ms p99_ms p999_ms
  record "$phase" receive_lag_p50_ms "${kv[p50_ms]}" "ms"
  record "$phase" receive_lag_p99_ms "${kv[p99_ms]}" "ms"
  record "$phase" receive_lag_p999_ms "${kv[p999_ms]}" "ms"
  load "$logs/$tag-confirm_lag.out" count p50_ms p99_ms
  record "$phase" confirm_lag_samples "${kv[count]}" "transactions"
  record "$phase" confirm_lag_p50_ms "${kv[p50_ms]}" "ms"
  record "$phase" confirm_lag_p99_ms "${kv[p99_ms]}" "ms"
  log "$inserted events at $(fmt 0 "$(res "$phase.achieved_events_per_s")")/s;" \
    "insert-to-consume p50/p99/p99.9 $(res "$phase.insert_to_consume_p50_ms")/$(res "$phase.insert_to_consume_p99_ms")/$(res "$phase.insert_to_consume_p999_ms") ms;" \
    "commit-to-ack p99 $(res "$phase.commit_to_ack_p99_ms") ms; confirm lag p99 $(res "$phase.confirm_lag_p99_ms") ms"
}

# phase_floor RATE: records produced straight to Kafka at RATE/s.
phase_floor() {
  local rate="$1" tag="floor$1" phase="floor_$1"
  step "Floor: $rate records/s for ${live_seconds}s straight to Kafka"
  start_consumer "$tag" "$tag" $((rate * live_seconds))
  run_step "$tag-produce" $((live_seconds + 120)) "$bench_bin" produce --brokers "$brokers" \
    --topic "$tag" --rate "$rate" --seconds "$live_seconds"
  wait_consumer "$tag"
  local produced consumed
  load "$logs/$tag-produce.out" produced seconds
  produced="${kv[produced]}"
  record "$phase" target_events_per_s "$rate" "events/s"
  record "$phase" achieved_events_per_s "$(calc "$produced / ${kv[seconds]}")" "events/s"
  load "$logs/$tag-consume.out" count
  consumed="${kv[count]}"
  [[ "$consumed" -eq "$produced" ]] ||
    die "$tag: $produced records produced but the consumer got $consumed" "$logs/$tag-consume.out"
  record "$phase" produced "$produced" "events"
  record_consumer "$phase" "$tag"
  log "$produced records; produce-to-consume p50/p99/p99.9" \
    "$(res "$phase.insert_to_consume_p50_ms")/$(res "$phase.insert_to_consume_p99_ms")/$(res "$phase.insert_to_consume_p999_ms") ms"
}

# ---------------------------------------------------------------- results

machine_info() {
  local dirty=""
  [[ -z "$(git status --porcelain 2>/dev/null)" ]] || dirty="-dirty"
  info_commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
  info_date="$(date -u '+%Y-%m-%d %H:%M UTC')"
  info_cpu="$(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  info_mem="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  info_kernel="$(uname -sr)"
  info_pg="$(sql_value "SHOW server_version")"
  info_rdkafka="$(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null || echo unknown)"
}

# target LABEL VALUE OP LIMIT UNIT [NOTE]: one row of the targets table.
target_rows=()
target() {
  local label="$1" value="$2" op="$3" limit="$4" unit="$5" note="${6:-}" met
  if [[ "$value" == "n/a" || -z "$value" ]]; then
    met="n/a"
  elif [[ "$op" == "<=" ]] && le "$value" "$limit"; then
    met="yes"
  elif [[ "$op" == ">=" ]] && ge "$value" "$limit"; then
    met="yes"
  else
    met="**no**"
  fi
  target_rows+=("| $label | $op $limit${unit:+ $unit} | $value${unit:+ $unit}$note | $met |")
  record targets "$(tr -c 'a-zA-Z0-9\n' '_' <<<"$label" | tr -s '_' | sed 's/_$//')" \
    "$([[ "$met" == yes ]] && echo 1 || echo 0)" "met"
}

evaluate_targets() {
  target "catch-up ratio, 1-row transactions" "$(fmt 2 "$(res catchup_1row.ratio)")" ">=" 0.90 ""
  target "catch-up ratio, 10-row transactions" "$(fmt 2 "$(res catchup_10row.ratio)")" ">=" 0.90 ""
  local top="${live_rates[-1]}" note=""
  local achieved
  achieved="$(res "live_$top.achieved_events_per_s")"
  if [[ "$achieved" != n/a ]] && ! ge "$achieved" "$(calc "$top * 0.95")"; then
    note=" (load reached only $(fmt 0 "$achieved") ev/s)"
  fi
  target "insert-to-consume p99 at $top ev/s" "$(fmt 2 "$(res "live_$top.insert_to_consume_p99_ms")")" "<=" 5 ms "$note"
  target "insert-to-consume p99.9 at $top ev/s" "$(fmt 2 "$(res "live_$top.insert_to_consume_p999_ms")")" "<=" 10 ms "$note"
  target "commit-to-ack p99 at $top ev/s" "$(fmt 2 "$(res "live_$top.commit_to_ack_p99_ms")")" "<=" 5 ms "$note"
  local rate
  for rate in "${live_rates[@]}"; do
    target "confirm lag p99 at $rate ev/s" "$(fmt 2 "$(calc "$(res "live_$rate.confirm_lag_p99_ms") / 1000")")" "<=" 1.5 s
  done
  target "peak RSS, $rss_events-event backlog" "$(fmt 1 "$(res rss.pgoutbox_peak_rss_mib)")" "<=" 64 MiB \
    "$([[ "$rss_events" -eq 1000000 ]] || echo " (quick: not the 1M backlog)")"
}

write_markdown() {
  local md="$out_dir/results.md" name label rate row
  {
    echo "# pgoutbox benchmark ($mode)"
    echo
    echo "- date: $info_date; commit: \`$info_commit\`; \`$invocation\`"
    echo "- machine: $info_cpu, $info_mem memory, $info_kernel"
    echo "- PostgreSQL $info_pg (throwaway, fsync on, settings below); librdkafka $info_rdkafka"
    echo "- Kafka: librdkafka's mock cluster, 3 brokers, in a process of its own on the same machine"
    echo "- events: ~300-byte JSON payload, 2 headers, aggregate id random among $aggregate_keys keys"
    echo
    echo "## Targets"
    echo
    echo "| target | goal | result | met |"
    echo "|---|---|---|---|"
    printf '%s\n' "${target_rows[@]}"
    echo
    echo "## Catch-up throughput"
    echo
    echo "A backlog of $backlog_events events is written first, then streamed to its end position."
    echo "Ceiling: a minimal receiver that reads the stream in bursts and only counts (the faster of one"
    echo "run before and one after pgoutbox), timed from its process's start to its exit; pgoutbox: timed"
    echo "from its process's start to the confirmation of the end position (its log line; not the teardown);"
    echo "medians of $reps repetition(s); pg_recvlogical run once."
    echo
    echo "| backlog | events | ceiling ev/s | pgoutbox ev/s | ratio | pg_recvlogical ev/s | pgoutbox peak RSS MiB | pgoutbox CPU s / 100k events |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for row in "1row|1-row transactions" "10row|10-row transactions" "1tx|one transaction"; do
      name="${row%%|*}"
      label="${row#*|}"
      echo "| $label | $(res "catchup_$name.events") | $(fmt 0 "$(res "catchup_$name.ceiling_events_per_s")") |" \
        "$(fmt 0 "$(res "catchup_$name.pgoutbox_events_per_s")") | $(fmt 2 "$(res "catchup_$name.ratio")") |" \
        "$(fmt 0 "$(res "catchup_$name.pg_recvlogical_events_per_s")") | $(fmt 1 "$(res "catchup_$name.pgoutbox_peak_rss_mib")") |" \
        "$(fmt 2 "$(res "catchup_$name.pgoutbox_cpu_s_per_100k")") |"
    done
    echo
    echo "## Peak RSS on a large backlog"
    echo
    echo "| backlog | events | pgoutbox ev/s | peak RSS MiB | CPU s / 100k events |"
    echo "|---|---:|---:|---:|---:|"
    echo "| 10-row transactions | $(res rss.events) | $(fmt 0 "$(res rss.pgoutbox_events_per_s)") |" \
      "$(fmt 1 "$(res rss.pgoutbox_peak_rss_mib)") | $(fmt 2 "$(res rss.pgoutbox_cpu_s_per_100k)") |"
    echo
    echo "## Live latency"
    echo
    echo "${live_seconds}s per phase, 1-row transactions (pgbench -R, default synchronous_commit), the"
    echo "first ${warmup_seconds}s dropped. insert-to-consume: an independent consumer's arrival time minus the"
    echo "payload's \"ts\" (clock_timestamp() at insert; for the floor, the producer's clock). commit-to-ack"
    echo "and confirm lag: pgoutbox's histograms (bucket-interpolated) between two /metrics scrapes."
    echo "commit-to-receive: the part of commit-to-ack before pgoutbox sees the transaction (the server's"
    echo "WAL flush, logical decoding and sending; pgoutbox's receive lag histogram)."
    echo "Floor: the same rate produced straight to Kafka (idempotent producer, acks=all), no PostgreSQL."
    echo
    echo "| phase | target ev/s | achieved ev/s | events | insert-to-consume p50 / p99 / p99.9 ms | max ms | commit-to-receive p50 / p99 / p99.9 ms | commit-to-ack p50 / p99 / p99.9 ms | confirm lag p99 ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for rate in "${live_rates[@]}"; do
      local p="live_$rate"
      echo "| pgoutbox | $rate | $(fmt 0 "$(res "$p.achieved_events_per_s")") | $(res "$p.consumed") |" \
        "$(fmt 2 "$(res "$p.insert_to_consume_p50_ms")") / $(fmt 2 "$(res "$p.insert_to_consume_p99_ms")") / $(fmt 2 "$(res "$p.insert_to_consume_p999_ms")") |" \
        "$(fmt 2 "$(res "$p.insert_to_consume_max_ms")") |" \
        "$(fmt 2 "$(res "$p.receive_lag_p50_ms")") / $(fmt 2 "$(res "$p.receive_lag_p99_ms")") / $(fmt 2 "$(res "$p.receive_lag_p999_ms")") |" \
        "$(fmt 2 "$(res "$p.commit_to_ack_p50_ms")") / $(fmt 2 "$(res "$p.commit_to_ack_p99_ms")") / $(fmt 2 "$(res "$p.commit_to_ack_p999_ms")") |" \
        "$(fmt 0 "$(res "$p.confirm_lag_p99_ms")") |"
      p="floor_$rate"
      echo "| floor (Kafka only) | $rate | $(fmt 0 "$(res "$p.achieved_events_per_s")") | $(res "$p.consumed") |" \
        "$(fmt 2 "$(res "$p.insert_to_consume_p50_ms")") / $(fmt 2 "$(res "$p.insert_to_consume_p99_ms")") / $(fmt 2 "$(res "$p.insert_to_consume_p999_ms")") |" \
        "$(fmt 2 "$(res "$p.insert_to_consume_max_ms")") | | | |"
    done
    echo
    echo "pgoutbox's peak RSS during the live phases: $(fmt 1 "$(res live.pgoutbox_peak_rss_mib)") MiB."
    echo
    echo "## PostgreSQL settings"
    echo
    echo "| setting | value |"
    echo "|---|---|"
    while IFS='|' read -r name label; do
      echo "| $name | $label |"
    done <<<"$settings_rows"
  } >"$md"
}

write_csv() {
  {
    echo "phase,metric,value,unit"
    printf '%s\n' "${csv_rows[@]}"
  } >"$out_dir/results.csv"
}

write_chart() {
  local name rate row
  {
    for row in "1row|1-row tx" "10row|10-row tx" "1tx|one tx"; do
      name="${row%%|*}"
      echo "\"${row#*|}\" $(res "catchup_$name.ceiling_events_per_s") $(res "catchup_$name.pgoutbox_events_per_s")" \
        "$(res "catchup_$name.pg_recvlogical_events_per_s")"
    done
  } | sed 's/n\/a/NaN/g' >"$work/catchup.dat"
  {
    for rate in "${live_rates[@]}"; do
      for name in "live_$rate" "floor_$rate"; do
        echo "\"${name/_/ }\" $(res "$name.insert_to_consume_p50_ms") $(res "$name.insert_to_consume_p99_ms")" \
          "$(res "$name.insert_to_consume_p999_ms")"
      done
    done
  } | sed 's/n\/a/NaN/g' >"$work/latency.dat"
  cat >"$work/chart.gp" <<GP
set terminal pngcairo size 1400,560 font "Liberation Sans,11"
set output "$out_dir/chart.png"
set multiplot layout 1,2 title "pgoutbox benchmark ($mode, $info_commit, $info_date)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key below horizontal
set grid ytics
set yrange [0:*]
set title "Catch-up throughput (median of $reps)"
set ylabel "events/s"
plot "$work/catchup.dat" using 2:xtic(1) title "ceiling (receiver)", \
     "" using 3 title "pgoutbox", "" using 4 title "pg\\\\_recvlogical"
set title "Insert-to-consume latency (pgoutbox) vs produce-to-consume (floor)"
set ylabel "ms (log scale)"
set logscale y
set yrange [0.1:*]
plot "$work/latency.dat" using 2:xtic(1) title "p50", "" using 3 title "p99", "" using 4 title "p99.9"
unset multiplot
GP
  gnuplot "$work/chart.gp" >"$logs/gnuplot.log" 2>&1 || die "gnuplot failed" "$logs/gnuplot.log" "$work/chart.gp"
}

# ---------------------------------------------------------------- main

main() {
  rm -rf "$out_dir"
  mkdir -p "$logs"
  work="$(mktemp -d /tmp/pgoutbox-bench.XXXXXX)"
  ensure_tools
  build
  start_postgres
  start_kafka
  machine_info
  log "mode $mode: catch-up backlogs of $backlog_events events x $reps repetition(s)," \
    "RSS backlog $rss_events events, live phases ${live_seconds}s at ${live_rates[*]} ev/s"

  phase_catchup 1row 1 "1-row transactions"
  phase_catchup 10row 10 "10-row transactions"
  phase_catchup 1tx 0 "one transaction"
  phase_rss

  # Latency on a quiet database and a fresh broker: nothing left over from
  # the backlogs (autovacuum, the broker's stored batches).
  psql_q -c "VACUUM ANALYZE outbox" -c "CHECKPOINT"
  restart_kafka
  start_pgoutbox_live
  local rate
  for rate in "${live_rates[@]}"; do phase_live "$rate"; done
  stop_pgoutbox_live
  restart_kafka
  for rate in "${live_rates[@]}"; do phase_floor "$rate"; done

  step "Results ($((SECONDS - started_at))s)"
  record run seconds "$((SECONDS - started_at))" "s"
  evaluate_targets
  write_markdown
  write_csv
  write_chart
  cat "$out_dir/results.md"
  echo
  echo "written: $out_dir/results.md, results.csv, chart.png; logs in $logs"
}

main
