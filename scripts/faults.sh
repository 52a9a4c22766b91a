#!/usr/bin/env bash
# The pgoutbox fault suite in one command. Builds (scripts/build.sh), starts a
# throwaway PostgreSQL 15 and a 3-broker mock Kafka cluster in a process of
# its own (pgoutbox-bench kafka, so the brokers outlive pgoutbox), creates the
# outbox, publication and slot (pgoutbox setup), and then, all at once:
#
#   - a workload (pgoutbox-bench workload) writes at least 100,000 committed
#     events in mixed transactions over 4 connections: one row, several rows,
#     rolled back, savepoints rolled back (also after a failing statement)
#     and released, writes to other tables, now and then a large transaction;
#   - an independent consumer (pgoutbox-bench collect) reads both topics from
#     the beginning for the whole run;
#   - pgoutbox streams, restarted after a short random pause whenever it ends;
#   - faults at random points: 24 SIGKILLs of pgoutbox, every broker down for
#     30 s, one `pg_ctl restart -m fast` and one `-m immediate` (each while
#     pgoutbox streams), and between
#     the 8th and the 16th SIGKILL 10% of the Produce requests fail
#     (NOT_ENOUGH_REPLICAS, NOT_LEADER_FOR_PARTITION or a dropped connection,
#     in turn). The pgoutbox processes started in that window run with one
#     request in flight per broker
#     (-X max.in.flight.requests.per.connection=1): with pipelined requests
#     the mock cluster accepts batches that a Kafka broker rejects after a
#     failed one, and loses or reorders events Kafka would not (measured and
#     explained in tests/bench/mock_faults.h). Everywhere else pgoutbox runs
#     with its defaults.
#
# Then it waits until pgoutbox confirmed the end of the workload and the
# consumer read everything the brokers hold, and compares (pgoutbox-bench
# check) the outbox table with what was read: committed, delivered, lost,
# duplicates (in total and per fault), rolled-back events published, per-key
# order violations, and the slot's confirmed position against the end.
#
# The figures are printed and written to BUILD_DIR/faults/results.md; every
# process's output is in BUILD_DIR/faults/logs/. Takes about 5 minutes on 2
# cores after the build; --quick under one. Exits 0 when nothing was lost,
# published uncommitted or reordered, non-zero otherwise.
#
# Usage: scripts/faults.sh [--quick] [--seed N] [--no-build] [--produce-error CODE]...
#                          [--pipelined-errors] [--without FAULT]... [-X key=value]...
#   --quick     10,000 events, 5 SIGKILLs, brokers down 10 s
#   --seed N    the seed of the fault schedule, the workload's transactions
#               and the positions of the produce errors (default: random,
#               printed): the same seed gives the same plan, the timing of
#               a run still varies
#   --no-build  use the binaries already in BUILD_DIR
#   --produce-error CODE
#               a librdkafka error name to inject instead of the defaults
#               (NOT_ENOUGH_REPLICAS, NOT_LEADER_FOR_PARTITION, _TRANSPORT),
#               repeatable
#   --pipelined-errors
#               keep pgoutbox's default of several requests in flight during
#               the produce errors too: shows the mock's artefacts (lost and
#               reordered events that Kafka would not lose or reorder)
#   --without FAULT
#               leave out one kind of fault: kills, outage, errors or
#               pg-restarts (repeatable; to narrow down a failure)
#   -X key=value
#               a librdkafka property for pgoutbox (run -X), repeatable
#
# BUILD_DIR (default build) is where it builds and writes. Needs root or sudo
# (like scripts/demo.sh: installs packages when missing, runs PostgreSQL as
# the postgres user).
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

invocation="scripts/faults.sh"
quick=0
build=1
seed=""
produce_errors=()
pipelined_errors=0
pgoutbox_extra=()
declare -A without=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; invocation+=" --quick" ;;
    --no-build) build=0 ;;
    --pipelined-errors) pipelined_errors=1; invocation+=" --pipelined-errors" ;;
    --seed)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || { echo "faults: --seed needs a number" >&2; exit 2; }
      seed="$2"
      shift
      ;;
    --produce-error)
      [[ $# -ge 2 && "$2" =~ ^[A-Za-z_]+$ ]] || { echo "faults: --produce-error needs a name" >&2; exit 2; }
      produce_errors+=(--produce-error "$2")
      invocation+=" --produce-error $2"
      shift
      ;;
    --without)
      [[ $# -ge 2 && "$2" =~ ^(kills|outage|errors|pg-restarts)$ ]] ||
        { echo "faults: --without takes kills, outage, errors or pg-restarts" >&2; exit 2; }
      without[$2]=1
      invocation+=" --without $2"
      shift
      ;;
    -X)
      [[ $# -ge 2 && "$2" == *=* ]] || { echo "faults: -X needs key=value" >&2; exit 2; }
      pgoutbox_extra+=(-X "$2")
      invocation+=" -X $2"
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    *) echo "faults: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$seed" ]] || seed=$(((RANDOM << 15 | RANDOM) % 1000000))
invocation+=" --seed $seed"
RANDOM=$seed

if [[ "$quick" -eq 1 ]]; then
  mode="quick"
  events=10000     # committed events the workload writes at least
  kills=5          # SIGKILLs of pgoutbox
  outage_s=10      # all brokers down
else
  mode="full"
  events=100000
  kills=24
  outage_s=30
fi
rate=450           # rows written per second (about 3/4 of them commit)
connections=4
keys=1000          # aggregates per aggregate type
error_percent=10   # of the Produce requests, from SIGKILL #errors_from to #errors_to
errors_from=$((kills / 3))
errors_to=$((kills * 2 / 3))
[[ -z "${without[kills]:-}" ]] || kills=0
[[ -z "${without[errors]:-}" ]] || error_percent=0
topics=(outbox.event.order:12 outbox.event.customer:6)
# Wall-clock length of the workload if nothing stalls it; faults are placed
# inside it (and the run goes on until every one happened).
planned_ms=$((events * 1000 * 4 / (rate * 3)))

build_dir="${BUILD_DIR:-build}"
out_dir="$repo_root/$build_dir/faults"
logs="$out_dir/logs"
bench_bin="$repo_root/$build_dir/pgoutbox-bench"
pgoutbox_bin="$repo_root/$build_dir/pgoutbox"
started_at=$SECONDS

# ---------------------------------------------------------------- helpers

work=""
kafka_pid=""
collect_pid=""
workload_pid=""
pgoutbox_pid=""
ctl_fd=""
now=0

# tick: the wall clock in Unix milliseconds, into $now (no subshell).
tick() {
  now=${EPOCHREALTIME/./}
  now=$((now / 1000))
}

log() { printf '[%4ds] %s\n' "$((SECONDS - started_at))" "$*"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
# rel MS: MS (Unix milliseconds) as seconds since the workload started.
rel() { awk -v t="$1" -v s="$workload_start_ms" 'BEGIN { printf "+%.1fs", (t - s) / 1000 }'; }

die() {
  local f
  printf '\nfaults: FAILED: %s\n' "$1" >&2
  shift
  for f in "$@"; do
    if [[ -s "$f" ]]; then
      printf -- '--- last lines of %s:\n' "$f" >&2
      tail -n 20 "$f" >&2
    fi
  done
  printf 'all logs: %s\n' "$logs" >&2
  exit 1
}

cleanup() {
  set +e
  stop_pid "$workload_pid"
  stop_pid "$pgoutbox_pid"
  stop_pid "$collect_pid"
  stop_pid "$kafka_pid"
  if [[ -n "$PG_DIR" && -f "$PG_LOG" && -d "$logs" ]]; then cp "$PG_LOG" "$logs/postgres.log"; fi
  pg_stop
  [[ -n "$work" ]] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sql_value() { psql "$PG_CONNINFO" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# between LO HI: a random integer in [LO, HI] from the seeded generator,
# into $rnd (a command substitution would run in a subshell, which bash
# reseeds at random).
rnd=0
between() { rnd=$(((RANDOM << 15 | RANDOM) % ($2 - $1 + 1) + $1)); }

# fault WHAT [DETAIL] [FILE]: one line of FILE (default faults.tsv, the
# events the checker attributes duplicates to: SIGKILLs, PostgreSQL
# restarts, brokers coming back) and of the run's log.
fault() {
  tick
  printf '%s\t%s\t%s\n' "$now" "$1" "${2:-}" >>"$out_dir/${3:-faults.tsv}"
  log "fault $(rel "$now"): $1${2:+ ($2)}"
}

# ctl COMMAND: a command for the mock cluster; waits for its answer.
ctl() {
  local before
  before="$(grep -c '' "$logs/kafka.out" || true)"
  printf '%s\n' "$1" >&"$ctl_fd"
  for _ in $(seq 1 100); do
    [[ "$(grep -c '' "$logs/kafka.out" || true)" -gt "$before" ]] && return 0
    sleep 0.05
  done
  die "the mock cluster did not answer \"$1\"" "$logs/kafka.out" "$logs/kafka.err"
}

# ---------------------------------------------------------------- set-up

build_binaries() {
  if [[ "$build" -eq 1 ]]; then
    step "Installing dependencies and building (scripts/build.sh)"
    scripts/build.sh >"$logs/build.log" 2>&1 || die "scripts/build.sh failed" "$logs/build.log"
  fi
  [[ -x "$pgoutbox_bin" && -x "$bench_bin" ]] || die "$pgoutbox_bin or $bench_bin missing"
  log "binaries: $pgoutbox_bin, $bench_bin"
}

start_postgres() {
  step "Starting a throwaway PostgreSQL 15"
  pg_start wal_level=logical max_wal_senders=10 max_replication_slots=10 shared_buffers=256MB \
    max_wal_size=4GB || die "PostgreSQL did not start"
  log "listening on 127.0.0.1:$PG_PORT ($PG_DATA)"
}

start_kafka() {
  step "Starting the mock Kafka cluster (3 brokers, own process, control channel)"
  local args=(kafka --brokers 3 --seed "$seed" --control "$work/kafka.ctl" "${produce_errors[@]}") t
  for t in "${topics[@]}"; do args+=(--topic "$t"); done
  mkfifo "$work/kafka.ctl"
  "$bench_bin" "${args[@]}" >"$logs/kafka.out" 2>"$logs/kafka.err" &
  kafka_pid=$!
  wait_for_line "$logs/kafka.out" '^bootstraps=' 30 "$kafka_pid" ||
    die "pgoutbox-bench kafka did not start" "$logs/kafka.err"
  brokers="$(sed -n 's/^bootstraps=//p' "$logs/kafka.out")"
  # Read-write: opening never blocks, and the FIFO stays open between commands.
  exec {ctl_fd}<>"$work/kafka.ctl"
  log "brokers $brokers; topics ${topics[*]}"
}

setup_outbox() {
  step "Creating the outbox table, publication and slot (pgoutbox setup)"
  "$pgoutbox_bin" setup --db "$PG_CONNINFO" --role '' >"$logs/setup.log" 2>&1 ||
    die "pgoutbox setup failed" "$logs/setup.log"
  log "slot: $(sql_value "SELECT slot_name || ' at ' || confirmed_flush_lsn FROM pg_replication_slots")"
}

start_collector() {
  local args=(collect --brokers "$brokers" --out "$out_dir/records.tsv") t
  for t in "${topics[@]}"; do args+=(--topic "${t%%:*}"); done
  "$bench_bin" "${args[@]}" >"$logs/collect.out" 2>"$logs/collect.err" &
  collect_pid=$!
  wait_for_line "$logs/collect.out" '^ready=1' 30 "$collect_pid" ||
    die "pgoutbox-bench collect did not start" "$logs/collect.err"
  log "consumer reading from the beginning (pid $collect_pid)"
}

# ---------------------------------------------------------------- pgoutbox

incarnation=0
pgoutbox_started_ms=0
restart_at_ms=0
declare -a exits=()   # "rc|log file" of every exit we did not cause

errors_on=0
start_pgoutbox() {
  incarnation=$((incarnation + 1))
  local log_file extra=("${pgoutbox_extra[@]}")
  log_file="$logs/pgoutbox-$(printf '%02d' "$incarnation").log"
  if [[ "$errors_on" -eq 1 && "$pipelined_errors" -eq 0 ]]; then
    extra+=(-X max.in.flight.requests.per.connection=1)
  fi
  "$pgoutbox_bin" run --db "$PG_CONNINFO" --brokers "$brokers" --retention 0 --http-addr '' \
    "${extra[@]}" >"$log_file" 2>&1 &
  pgoutbox_pid=$!
  tick
  pgoutbox_started_ms=$now
}

# supervise: restarts pgoutbox when it ended on its own (after the pause
# of the last SIGKILL, or 1 s), and records why it ended.
supervise() {
  tick
  if [[ -n "$pgoutbox_pid" ]] && ! is_running "$pgoutbox_pid"; then
    local rc=0
    wait "$pgoutbox_pid" || rc=$?
    exits+=("$rc|$logs/pgoutbox-$(printf '%02d' "$incarnation").log")
    log "pgoutbox #$incarnation exited by itself with status $rc"
    pgoutbox_pid=""
    restart_at_ms=$((now + 1000))
  fi
  if [[ -z "$pgoutbox_pid" && "$now" -ge "$restart_at_ms" ]]; then start_pgoutbox; fi
}

# set_errors PERCENT: Produce errors on or off (a fault line each way).
set_errors() {
  ctl "errors $1"
  if [[ "$1" -gt 0 ]]; then
    errors_on=1
    fault produce-errors-on "$1% of the Produce requests" other-faults.tsv
  else
    errors_on=0
    fault produce-errors-off "" other-faults.tsv
  fi
}

kills_done=0
# sigkill PAUSE_MS: SIGKILL pgoutbox, restart it PAUSE_MS later. Notes the
# slot's confirmed position and the server's WAL position just before.
sigkill() {
  local pid="$pgoutbox_pid" positions
  positions="$(sql_value "SELECT 'confirmed ' || confirmed_flush_lsn || ', server WAL ' ||
                                 pg_current_wal_lsn() FROM pg_replication_slots
                          WHERE slot_name = 'pgoutbox'" 2>/dev/null || echo "positions unknown")"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  kills_done=$((kills_done + 1))
  tick
  fault kill "#$kills_done, pid $pid, up $(((now - pgoutbox_started_ms) / 100))00 ms, $positions, restart in $1 ms"
  pgoutbox_pid=""
  restart_at_ms=$((now + $1))
  # The produce errors start and end while no pgoutbox runs, so each
  # process runs entirely with or without them.
  if [[ "$error_percent" -gt 0 && "$kills_done" -eq "$errors_from" ]]; then set_errors "$error_percent"; fi
  if [[ "$errors_on" -eq 1 && "$kills_done" -eq "$errors_to" ]]; then set_errors 0; fi
}

# ---------------------------------------------------------------- the run

plan_faults() {
  local d=$planned_ms sep i tries
  sep=$((d / 10 < 20000 ? d / 10 : 20000))
  kill_at=()
  kill_pause=()
  for ((i = 0; i < kills; i++)); do
    between 3000 "$d"
    kill_at+=("$rnd")
  done
  if [[ "$kills" -gt 0 ]]; then mapfile -t kill_at < <(printf '%s\n' "${kill_at[@]}" | sort -n); fi
  for ((i = 0; i < kills; i++)); do
    between 200 3000
    kill_pause+=("$rnd")
  done
  # The produce errors run from SIGKILL #errors_from to #errors_to; the
  # outage goes elsewhere when it can (up to 1000 tries), so that both get
  # their time.
  local busy_from=-1 busy_to=-1
  if [[ "$error_percent" -gt 0 && "$kills" -gt 0 ]]; then
    busy_from=$((kill_at[errors_from - 1] - 5000))
    busy_to=$((kill_at[errors_to - 1] + 5000))
  fi
  for ((tries = 0; tries < 1000; tries++)); do
    between $((d / 10)) $((d * 4 / 5))
    outage_at=$rnd
    ((outage_at + outage_s * 1000 < busy_from || outage_at > busy_to)) && break
  done
  local outage_end=$((outage_at + outage_s * 1000))
  # PostgreSQL restarts apart from the outage and from each other.
  for ((tries = 0; tries < 1000; tries++)); do
    between $((d / 10)) $((d * 9 / 10))
    pg_fast_at=$rnd
    ((pg_fast_at < outage_at - sep || pg_fast_at > outage_end + sep)) && break
  done
  for ((tries = 0; tries < 1000; tries++)); do
    between $((d / 10)) $((d * 9 / 10))
    pg_immediate_at=$rnd
    ((pg_immediate_at < outage_at - sep || pg_immediate_at > outage_end + sep)) || continue
    ((pg_immediate_at - pg_fast_at > sep || pg_fast_at - pg_immediate_at > sep)) && break
  done
  {
    echo "seed $seed, planned workload ${d} ms (times from its start)"
    echo "brokers down at $outage_at ms for ${outage_s} s"
    echo "pg_ctl restart -m fast at $pg_fast_at ms, -m immediate at $pg_immediate_at ms"
    [[ "$error_percent" -eq 0 || "$kills" -eq 0 ]] ||
      echo "produce errors $error_percent% from SIGKILL #$errors_from to #$errors_to"
    for ((i = 0; i < kills; i++)); do
      echo "SIGKILL #$((i + 1)) at ${kill_at[$i]} ms, restart after ${kill_pause[$i]} ms"
    done
  } >"$out_dir/schedule.txt"
}

run_faults() {
  step "Workload, consumer, pgoutbox and faults (seed $seed)"
  : >"$out_dir/faults.tsv"
  : >"$out_dir/other-faults.tsv"
  # Without SIGKILLs to bound them, the produce errors last the whole workload.
  if [[ "$error_percent" -gt 0 && "$kills" -eq 0 ]]; then set_errors "$error_percent"; fi
  start_pgoutbox
  sleep 2
  tick
  workload_start_ms=$now
  "$bench_bin" workload --db "$PG_CONNINFO" --events "$events" --rate "$rate" \
    --connections "$connections" --keys "$keys" --seed "$seed" \
    >"$logs/workload.out" 2>"$logs/workload.err" &
  workload_pid=$!
  log "workload started: $events events at $rate rows/s; planned faults in $out_dir/schedule.txt"

  local next_kill=0 outage=0 fast=0 immediate=0 workload_done=0 t rc pg_restarted_ms=0
  [[ -z "${without[outage]:-}" ]] || outage=2
  [[ -z "${without[pg-restarts]:-}" ]] || { fast=1; immediate=1; }
  while :; do
    supervise
    is_running "$collect_pid" || die "the consumer ended early" "$logs/collect.out" "$logs/collect.err"
    is_running "$kafka_pid" || die "the mock cluster ended early" "$logs/kafka.out" "$logs/kafka.err"
    t=$((now - workload_start_ms))
    if [[ "$workload_done" -eq 0 ]] && ! is_running "$workload_pid"; then
      rc=0
      wait "$workload_pid" || rc=$?
      workload_pid=""
      [[ "$rc" -eq 0 ]] || die "the workload failed (status $rc)" "$logs/workload.err"
      workload_done=1
      if [[ "$errors_on" -eq 1 && "$kills" -eq 0 ]]; then set_errors 0; fi
      log "workload done: $(tail -n 1 "$logs/workload.out" | cut -c1-160)..."
    fi
    # A SIGKILL when it is due, pgoutbox has been up for half a second and
    # PostgreSQL for 5 s (so that pgoutbox met the restarted server).
    if ((next_kill < kills)) && ((t >= kill_at[next_kill])) && [[ -n "$pgoutbox_pid" ]] &&
      ((now - pgoutbox_started_ms >= 500 && now - pg_restarted_ms >= 5000)); then
      sigkill "${kill_pause[$next_kill]}"
      next_kill=$((next_kill + 1))
    fi
    if ((outage == 0 && t >= outage_at)); then
      ctl down
      fault brokers-down "all 3 brokers, ${outage_s} s" other-faults.tsv
      outage=1
    elif ((outage == 1 && t >= outage_at + outage_s * 1000)); then
      ctl up
      fault brokers-up
      outage=2
    fi
    # A PostgreSQL restart when it is due and pgoutbox has been streaming
    # for 3 s, so that it meets the restart.
    if ((fast == 0 && t >= pg_fast_at)) && [[ -n "$pgoutbox_pid" ]] &&
      ((now - pgoutbox_started_ms >= 3000)); then
      fault pg-restart-fast "pg_ctl restart -m fast, pgoutbox #$incarnation up $(((now - pgoutbox_started_ms) / 1000)) s"
      pg_restart fast || die "pg_ctl restart -m fast failed" "$PG_DIR/pg_ctl.log" "$PG_LOG"
      tick
      pg_restarted_ms=$now
      log "PostgreSQL is back"
      fast=1
    fi
    if ((immediate == 0 && t >= pg_immediate_at)) && [[ -n "$pgoutbox_pid" ]] &&
      ((now - pgoutbox_started_ms >= 3000)); then
      fault pg-restart-immediate "pg_ctl restart -m immediate, pgoutbox #$incarnation up $(((now - pgoutbox_started_ms) / 1000)) s"
      pg_restart immediate || die "pg_ctl restart -m immediate failed" "$PG_DIR/pg_ctl.log" "$PG_LOG"
      tick
      pg_restarted_ms=$now
      log "PostgreSQL is back (after crash recovery)"
      immediate=1
    fi
    if ((workload_done == 1 && next_kill == kills && outage == 2 && fast == 1 && immediate == 1)); then
      break
    fi
    sleep 0.1
  done
}

# Waits until the slot confirmed the end of the workload; pgoutbox is kept
# running meanwhile.
catch_up() {
  step "Waiting for pgoutbox to confirm the end of the workload"
  end_lsn="$(sql_value "SELECT pg_current_wal_lsn()")"
  local deadline=$((SECONDS + 300)) confirmed
  confirmed_end=0
  while [[ "$SECONDS" -lt "$deadline" ]]; do
    supervise
    confirmed="$(sql_value "SELECT confirmed_flush_lsn >= '$end_lsn' FROM pg_replication_slots
                            WHERE slot_name = 'pgoutbox'")" || confirmed=f
    if [[ "$confirmed" == t ]]; then
      confirmed_end=1
      break
    fi
    sleep 0.5
  done
  if [[ "$confirmed_end" -eq 1 ]]; then
    log "confirmed $end_lsn, $((SECONDS - deadline + 300)) s after the end of the faults"
  else
    log "pgoutbox did NOT confirm $end_lsn within 300 s (see the last pgoutbox log)"
  fi
  sleep 3  # a few feedback intervals: the idle slot follows the server's WAL
  confirmed_lsn="$(sql_value "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pgoutbox'")"
  wal_lsn="$(sql_value "SELECT pg_current_wal_lsn()")"
  log "confirmed_flush_lsn $confirmed_lsn, end of the workload $end_lsn, server WAL $wal_lsn"

  log "draining the consumer to the brokers' high watermarks"
  kill -TERM "$collect_pid"
  rc=0
  wait "$collect_pid" || rc=$?
  collect_pid=""
  [[ "$rc" -eq 0 ]] || die "the consumer did not drain (status $rc)" "$logs/collect.out" "$logs/collect.err"
  log "consumer: $(tail -n 1 "$logs/collect.out")"
  ctl stats
  kafka_stats="$(grep '^stats ' "$logs/kafka.out" | tail -n 1 | cut -d' ' -f2-)"
  stop_pid "$pgoutbox_pid" 40
  pgoutbox_pid=""
}

# at_fault WHAT: when the first fault WHAT happened, from the workload's start.
at_fault() {
  local t
  t="$(cat "$out_dir/faults.tsv" "$out_dir/other-faults.tsv" | awk -F'\t' -v w="$1" '$2 == w { print $1; exit }')"
  if [[ -n "$t" ]]; then rel "$t"; else echo "never"; fi
}

# kv LINE KEY: the value of KEY=value in LINE.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }

report() {
  step "Checking (pgoutbox-bench check)"
  psql "$PG_CONNINFO" -X -q -v ON_ERROR_STOP=1 \
    -c "\\copy (SELECT id, aggregate_id, payload->>'seq' FROM outbox) TO '$out_dir/committed.tsv'"
  local check_rc=0
  "$bench_bin" check --committed "$out_dir/committed.tsv" --records "$out_dir/records.tsv" \
    --faults "$out_dir/faults.tsv" --start-ms "$workload_start_ms" \
    --confirmed-lsn "$confirmed_lsn" --end-lsn "$end_lsn" --wal-lsn "$wal_lsn" \
    >"$out_dir/check.txt" 2>"$logs/check.err" || check_rc=$?
  [[ "$check_rc" -eq 0 || "$check_rc" -eq 3 ]] || die "pgoutbox-bench check failed" "$logs/check.err"

  local w elapsed dirty="" commit date
  w="$(tail -n 1 "$logs/workload.out")"
  elapsed=$((SECONDS - started_at))
  [[ -z "$(git status --porcelain 2>/dev/null)" ]] || dirty="-dirty"
  commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
  date="$(date -u '+%Y-%m-%d %H:%M UTC')"
  local requests errors share
  requests="$(kv "$kafka_stats" produce_requests)"
  errors="$(kv "$kafka_stats" produce_errors)"
  share="$(awk -v e="$errors" -v r="$requests" 'BEGIN { printf "%.1f", r ? 100 * e / r : 0 }')"
  local unexpected="" e
  for e in "${exits[@]}"; do
    unexpected+="    status ${e%%|*}: $(grep -E ' (error|critical) ' "${e#*|}" | tail -n 1 | cut -d' ' -f3-)"$'\n'
  done
  local pauses=""
  [[ "$kills" -eq 0 ]] || pauses="$(printf '%s\n' "${kill_pause[@]}" | sort -n | sed -n '1p;$p' | paste -sd- -)"
  {
    echo "pgoutbox fault suite, $mode run: $invocation"
    echo "date $date, commit $commit, elapsed ${elapsed} s"
    echo
    echo "workload                        $(kv "$w" events_committed) events committed in" \
      "$(kv "$w" tx_committed) transactions, $(kv "$w" seconds) s, $connections connections," \
      "$((keys * 2)) keys"
    echo "  transactions                  one row $(kv "$w" tx_one_row), multi-row $(kv "$w" tx_multi_row)," \
      "large $(kv "$w" tx_large), savepoint rolled back $(kv "$w" tx_savepoint_rolled_back)," \
      "savepoint after an error $(kv "$w" tx_savepoint_after_error)," \
      "savepoint released $(kv "$w" tx_savepoint_released), other tables only $(kv "$w" tx_other_tables_only)"
    echo "  rolled back                   $(kv "$w" tx_rolled_back) transactions with" \
      "$(kv "$w" events_rolled_back) events; $(kv "$w" events_savepoint_rolled_back) events in" \
      "rolled-back savepoints"
    echo "  cut short by the faults       never committed: $(kv "$w" tx_failed) transactions" \
      "($(kv "$w" events_failed) events); COMMITs unanswered: $(kv "$w" tx_unknown)" \
      "($(kv "$w" events_unknown) events, the table settles them); reconnects: $(kv "$w" reconnects);" \
      "deadlocks: $(kv "$w" deadlocks)"
    echo "faults (times from the workload's start)"
    echo "  SIGKILLs of pgoutbox          $kills_done${pauses:+, each restarted after $pauses ms}"
    if [[ -n "${without[outage]:-}" ]]; then
      echo "  all brokers down              left out"
    else
      echo "  all brokers down              ${outage_s} s from $(at_fault brokers-down)"
    fi
    if [[ -n "${without[pg-restarts]:-}" ]]; then
      echo "  PostgreSQL restarts           left out"
    else
      echo "  PostgreSQL restarts           -m fast at $(at_fault pg-restart-fast)," \
        "-m immediate at $(at_fault pg-restart-immediate)"
    fi
    if [[ "$error_percent" -eq 0 ]]; then
      echo "  Produce requests failed       left out"
    else
      local window="during the whole workload" inflight="one request in flight per broker"
      [[ "$kills" -eq 0 ]] ||
        window="from SIGKILL #$errors_from to #$errors_to, $(at_fault produce-errors-on) to $(at_fault produce-errors-off)"
      [[ "$pipelined_errors" -eq 0 ]] || inflight="pipelined requests (--pipelined-errors)"
      echo "  Produce requests failed       $errors of $requests ($share%) $window," \
        "pgoutbox with $inflight meanwhile:" \
        "$(tr ' ' '\n' <<<"$kafka_stats" |
          grep -vE '^(produce_requests|produce_errors|stack_ran_dry|pending|error_percent|brokers_down)=' |
          paste -sd' ' -);" \
        "error stack found empty $(kv "$kafka_stats" stack_ran_dry) times"
    fi
    echo "  pgoutbox exits not by SIGKILL ${#exits[@]}"
    printf '%s' "$unexpected"
    echo
    cat "$out_dir/check.txt"
  } >"$out_dir/figures.txt"
  {
    echo "# pgoutbox fault suite"
    echo
    echo '```'
    cat "$out_dir/figures.txt"
    echo '```'
  } >"$out_dir/results.md"
  echo
  cat "$out_dir/figures.txt"
  echo
  echo "written: $out_dir/results.md; logs in $logs"
  [[ "$check_rc" -eq 0 ]] || { echo "faults: FAILED: see the figures above" >&2; exit 1; }
}

main() {
  rm -rf "$out_dir"
  mkdir -p "$logs"
  work="$(mktemp -d /tmp/pgoutbox-faults.XXXXXX)"
  log "fault suite, $mode mode, seed $seed ($invocation plans the same run)"
  build_binaries
  start_postgres
  start_kafka
  setup_outbox
  start_collector
  plan_faults
  run_faults
  catch_up
  report
}

main
