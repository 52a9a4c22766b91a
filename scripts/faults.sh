#!/usr/bin/env bash
# The pgoutbox fault suite in one command. Builds (scripts/build.sh), starts a
# throwaway PostgreSQL 15 and a 3-broker mock Kafka cluster in a process of
# its own (pgoutbox-bench kafka), runs pgoutbox setup for two outbox tables
# of different layouts, and then, all at once: a workload (pgoutbox-bench
# workload) writes at least 100,000 committed events in mixed transactions
# over 4 connections, into public.outbox, public.outbox_b and as
# transactional logical decoding messages (pg_logical_emit_message, recorded
# in faults_messages), with now and then a non-transactional message of
# another prefix that must never be published; an independent consumer
# (pgoutbox-bench collect) reads both topics; pgoutbox streams, restarted
# after a short random pause whenever it ends; and faults strike at random
# points (pgoutbox-bench plan): 24 SIGKILLs of pgoutbox, every broker down
# for 30 s, one `pg_ctl restart -m fast` and one `-m immediate`, and between
# the 8th and the 16th SIGKILL 10% of the Produce requests fail (pgoutbox then
# has one request in flight per broker, until the last answer drawn while
# they were on was taken). Once pgoutbox confirmed the end of
# the workload, pgoutbox-bench check compares the tables and the message log
# with what the consumer read. docs/reliability.md has the details.
#
# The figures are printed and written to BUILD_DIR/faults/results.md; every
# process's output is in BUILD_DIR/faults/logs/. Takes about 5 minutes on 2
# cores after the build; --quick under one. Exits 0 when nothing was lost,
# published uncommitted or reordered, non-zero otherwise.
#
# Usage: scripts/faults.sh [--quick] [--seed N] [--no-build] [--produce-error CODE]...
#                          [--pipelined-errors] [--without FAULT]... [-X key=value]...
#   --quick               10,000 events, 5 SIGKILLs, brokers down 10 s
#   --seed N              the seed of the fault plan, the workload and the produce errors
#                         (default: random, printed): the same seed, the same plan; the timing varies
#   --no-build            use the binaries already in BUILD_DIR
#   --produce-error CODE  a librdkafka error name to inject instead of the defaults
#                         (NOT_ENOUGH_REPLICAS, NOT_LEADER_FOR_PARTITION, _TRANSPORT), repeatable
#   --pipelined-errors    keep several requests in flight during the produce errors too:
#                         shows the mock's artefacts (lost and reordered events Kafka would not)
#   --without FAULT       leave out kills, outage, errors or pg-restarts (repeatable)
#   -X key=value          a librdkafka property for pgoutbox (run -X), repeatable
#
# BUILD_DIR (default build) is where it builds and writes. Needs root or sudo
# (installs packages when missing, runs PostgreSQL as the postgres user).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
shopt -s inherit_errexit
export LC_ALL=C

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
SCRIPT_NAME=faults
# shellcheck source=lib/postgres.sh
source "$repo_root/scripts/lib/postgres.sh"
# shellcheck source=lib/process.sh
source "$repo_root/scripts/lib/process.sh"
# shellcheck source=lib/common.sh
source "$repo_root/scripts/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$repo_root/scripts/lib/kafka.sh"

# ---------------------------------------------------------------- settings

invocation="scripts/faults.sh"
quick=0 build=1 seed="" pipelined_errors=0 produce_errors=() pgoutbox_extra=()
declare -A without=()
bad() { echo "faults: $1" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  v="${2:-}"
  case "$1" in
    --quick) quick=1; invocation+=" $1" ;;
    --no-build) build=0 ;;
    --pipelined-errors) pipelined_errors=1; invocation+=" $1" ;;
    --seed) [[ "$v" =~ ^[0-9]+$ ]] || bad "--seed needs a number"; seed="$v"; shift ;;
    --produce-error)
      [[ "$v" =~ ^[A-Za-z_]+$ ]] || bad "--produce-error needs a name"
      produce_errors+=("$1" "$v"); invocation+=" $1 $v"; shift ;;
    --without)
      [[ "$v" =~ ^(kills|outage|errors|pg-restarts)$ ]] || bad "--without takes kills, outage, errors or pg-restarts"
      without[$v]=1; invocation+=" $1 $v"; shift ;;
    -X) [[ "$v" == *=* ]] || bad "-X needs key=value"; pgoutbox_extra+=(-X "$v"); invocation+=" $1 $v"; shift ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) bad "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[[ -n "$seed" ]] || seed=$(((RANDOM << 15 | RANDOM) % 1000000))
invocation+=" --seed $seed"

# Committed events the workload writes at least, SIGKILLs of pgoutbox, seconds all brokers are down.
if [[ "$quick" -eq 1 ]]; then mode=quick events=10000 kills=5 outage_s=10
else mode=full events=100000 kills=24 outage_s=30; fi
rate=450 connections=4  # events written per second (about 3/4 of them commit)
keys=1000               # aggregates per aggregate type, shared by the tables and the messages
# Of the events, written to the second table and sent as messages (the rest: public.outbox);
# of the transactions, also sending a non-transactional message of another prefix.
second_table_percent=30 message_percent=30 foreign_message_percent=5
tables=public.outbox,public.outbox_b
error_percent=10        # of the Produce requests, from SIGKILL #errors_from to #errors_to
errors_from=$((kills / 3)) errors_to=$((kills * 2 / 3))
[[ -z "${without[kills]:-}" ]] || kills=0
[[ -z "${without[errors]:-}" ]] || error_percent=0
topics=(outbox.event.order:12 outbox.event.customer:6)
# Wall-clock length of the workload if nothing stalls it; faults are placed
# inside it (and the run goes on until every one happened).
planned_ms=$((events * 1000 * 4 / (rate * 3)))

build_dir="${BUILD_DIR:-build}"
out_dir="$repo_root/$build_dir/faults"
BENCH_BIN="$repo_root/$build_dir/pgoutbox-bench"
pgoutbox_bin="$repo_root/$build_dir/pgoutbox"

# ---------------------------------------------------------------- helpers

workload_pid="" collect_pid="" pgoutbox_pid="" now=0 workload_start_ms=0
CLEANUP_PIDS=(workload_pid pgoutbox_pid collect_pid)

# tick: the wall clock in Unix milliseconds, into $now (no subshell).
tick() { now=${EPOCHREALTIME/./}; now=$((now / 1000)); }

# fault WHAT [DETAIL] [FILE]: a line of FILE (default faults.tsv: what the checker attributes
# duplicates to, SIGKILLs, PostgreSQL restarts, brokers back) and of the run's log.
fault() {
  tick
  printf '%s\t%s\t%s\n' "$now" "$1" "${2:-}" >>"$out_dir/${3:-faults.tsv}"
  log "fault at $(((now - workload_start_ms) / 1000)) s of the workload: $1${2:+ ($2)}"
}

# setup_outbox: pgoutbox setup, then the consumer, reading from the beginning.
setup_outbox() {
  step "Creating the outbox tables, publication and slot (pgoutbox setup --table $tables)"
  # The workload's own tables first: public.outbox_b (another layout than
  # sql/outbox.sql's) must exist for setup to publish it.
  run_step prepare 60 "$BENCH_BIN" workload --db "$PG_CONNINFO" --keys "$keys" --prepare-only
  "$pgoutbox_bin" setup --db "$PG_CONNINFO" --role '' --table "$tables" >"$LOGS/setup.log" 2>&1 ||
    die "pgoutbox setup failed" "$LOGS/setup.log"
  local published
  published="$(sql_value "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename)
                          FROM pg_publication_tables WHERE pubname = 'pgoutbox'")"
  [[ "$published" == "$tables" ]] ||
    die "pgoutbox setup --table $tables left the publication with: $published" "$LOGS/setup.log"
  log "publication: $published"
  log "slot: $(sql_value "SELECT slot_name || ' at ' || confirmed_flush_lsn FROM pg_replication_slots")"
  local names=("${topics[@]%%:*}")
  "$BENCH_BIN" collect --brokers "$KAFKA_BROKERS" --out "$out_dir/records.tsv" "${names[@]/#/--topic=}" \
    >"$LOGS/collect.out" 2>"$LOGS/collect.err" &
  collect_pid=$!
  wait_ready "$LOGS/collect.out" '^ready=1' 30 "$collect_pid" "pgoutbox-bench collect"
}

# ---------------------------------------------------------------- pgoutbox

incarnation=0 pgoutbox_started_ms=0 restart_at_ms=0 pg_restarted_ms=0 errors_on=0 kills_done=0
errors_left=0  # 1: errors are off but answers drawn while they were on may still be queued
exits=()  # --exit STATUS:LOG of every exit of pgoutbox that we did not cause
start_pgoutbox() {
  local extra=("${pgoutbox_extra[@]}")
  incarnation=$((incarnation + 1))
  pgoutbox_log="$LOGS/pgoutbox-$(printf '%02d' "$incarnation").log"
  # The brokers' queued answers (tools/faults/mock_faults.h) outlive the
  # switch that turns the errors off: until they are all taken, pgoutbox
  # keeps one request in flight as while the errors were on.
  if [[ "$errors_left" -eq 1 ]]; then
    kafka_ctl stats
    [[ "$(grep '^stats ' "$LOGS/kafka.out" | tail -n 1)" =~ \ pending=0( |$) ]] && errors_left=0
  fi
  [[ ("$errors_on" -eq 0 && "$errors_left" -eq 0) || "$pipelined_errors" -eq 1 ]] ||
    extra+=(-X max.in.flight.requests.per.connection=1)
  "$pgoutbox_bin" run --db "$PG_CONNINFO" --table "$tables" --brokers "$KAFKA_BROKERS" --retention 0 \
    --http-addr '' "${extra[@]}" >"$pgoutbox_log" 2>&1 &
  pgoutbox_pid=$!
  tick
  pgoutbox_started_ms=$now
}

# supervise: restarts pgoutbox when it ended on its own (after the pause
# of the last SIGKILL, or 1 s), and records why it ended.
supervise() {
  local rc=0
  tick
  if [[ -n "$pgoutbox_pid" ]] && ! is_running "$pgoutbox_pid"; then
    wait "$pgoutbox_pid" || rc=$?
    exits+=(--exit "$rc:$pgoutbox_log")
    log "pgoutbox #$incarnation exited by itself with status $rc"
    pgoutbox_pid="" restart_at_ms=$((now + 1000))
  fi
  if [[ -z "$pgoutbox_pid" && "$now" -ge "$restart_at_ms" ]]; then start_pgoutbox; fi
}

# set_errors PERCENT: Produce errors on or off (a fault line each way).
set_errors() {
  kafka_ctl "errors $1"
  errors_on=$(($1 > 0))
  [[ "$errors_on" -eq 1 ]] || errors_left=1
  if [[ "$1" -gt 0 ]]; then fault produce-errors-on "$1% of the Produce requests" other-faults.tsv
  else fault produce-errors-off "" other-faults.tsv; fi
}

# sigkill PAUSE_MS: SIGKILL pgoutbox, restart it PAUSE_MS later. Notes the
# slot's confirmed position and the server's WAL position just before.
sigkill() {
  local pid="$pgoutbox_pid" positions
  positions="$(sql_value "SELECT 'confirmed ' || confirmed_flush_lsn || ', server WAL ' || pg_current_wal_lsn()
                          FROM pg_replication_slots WHERE slot_name = 'pgoutbox'" 2>/dev/null || echo "positions unknown")"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  kills_done=$((kills_done + 1))
  tick
  fault kill "#$kills_done, pid $pid, up $(((now - pgoutbox_started_ms) / 100))00 ms, $positions, restart in $1 ms"
  pgoutbox_pid="" restart_at_ms=$((now + $1))
  # The produce errors start and end while no pgoutbox runs, so each
  # process runs entirely with or without them.
  if [[ "$error_percent" -gt 0 && "$kills_done" -eq "$errors_from" ]]; then set_errors "$error_percent"; fi
  if [[ "$errors_on" -eq 1 && "$kills_done" -eq "$errors_to" ]]; then set_errors 0; fi
}

# pg_restart_now MODE [NOTE]: a PostgreSQL restart while pgoutbox streams.
pg_restart_now() {
  fault "pg-restart-$1" "pg_ctl restart -m $1, pgoutbox #$incarnation up $(((now - pgoutbox_started_ms) / 1000)) s"
  pg_restart "$1" || die "pg_ctl restart -m $1 failed" "$PG_DIR/pg_ctl.log" "$PG_LOG"
  tick
  pg_restarted_ms=$now
  log "PostgreSQL is back${2:+ ($2)}"
}

# ---------------------------------------------------------------- the run

run_faults() {
  step "Workload, consumer, pgoutbox and faults (seed $seed)"
  run_step plan 60 "$BENCH_BIN" plan --seed "$seed" --duration-ms "$planned_ms" --kills "$kills" \
    --outage-s "$outage_s" --error-percent "$error_percent" --errors-from "$errors_from" \
    --errors-to "$errors_to" --schedule "$out_dir/schedule.txt"
  load "$LOGS/plan.out" outage_at pg_fast_at pg_immediate_at
  IFS=, read -ra kill_at <<<"${kv[kill_at]:-}"
  IFS=, read -ra kill_pause <<<"${kv[kill_pause]:-}"
  outage_at="${kv[outage_at]}" pg_fast_at="${kv[pg_fast_at]}" pg_immediate_at="${kv[pg_immediate_at]}"
  touch "$out_dir/faults.tsv" "$out_dir/other-faults.tsv"
  workload_start_ms=$((${EPOCHREALTIME/./} / 1000 + 2000))  # about; fault lines before it are timed from it
  # Without SIGKILLs to bound them, the produce errors last the whole workload.
  if [[ "$error_percent" -gt 0 && "$kills" -eq 0 ]]; then set_errors "$error_percent"; fi
  start_pgoutbox
  sleep 2
  tick
  workload_start_ms=$now
  "$BENCH_BIN" workload --db "$PG_CONNINFO" --events "$events" --rate "$rate" --connections "$connections" \
    --keys "$keys" --second-table-percent "$second_table_percent" --message-percent "$message_percent" \
    --foreign-message-percent "$foreign_message_percent" --seed "$seed" \
    >"$LOGS/workload.out" 2>"$LOGS/workload.err" &
  workload_pid=$!
  log "workload started: $events events at $rate events/s ($second_table_percent% into public.outbox_b, $message_percent% messages); planned faults in $out_dir/schedule.txt"
  local next_kill=0 outage=0 fast=0 immediate=0 t rc
  [[ -z "${without[outage]:-}" ]] || outage=2
  [[ -z "${without[pg-restarts]:-}" ]] || fast=1 immediate=1
  while [[ -n "$workload_pid" ]] || ((next_kill < kills || outage < 2 || fast == 0 || immediate == 0)); do
    supervise
    is_running "$collect_pid" || die "the consumer ended early" "$LOGS/collect.out" "$LOGS/collect.err"
    is_running "$KAFKA_PID" || die "the mock cluster ended early" "$LOGS/kafka.out" "$LOGS/kafka.err"
    t=$((now - workload_start_ms)) rc=0
    if [[ -n "$workload_pid" ]] && ! is_running "$workload_pid"; then
      wait "$workload_pid" || rc=$?
      workload_pid=""
      [[ "$rc" -eq 0 ]] || die "the workload failed (status $rc)" "$LOGS/workload.err"
      if [[ "$errors_on" -eq 1 && "$kills" -eq 0 ]]; then set_errors 0; fi
      log "workload done: $(tail -n 1 "$LOGS/workload.out" | cut -c1-160)..."
    fi
    # A SIGKILL when it is due, pgoutbox has been up for half a second and
    # PostgreSQL for 5 s (so that pgoutbox met the restarted server).
    if ((next_kill < kills)) && ((t >= kill_at[next_kill])) && [[ -n "$pgoutbox_pid" ]] &&
      ((now - pgoutbox_started_ms >= 500 && now - pg_restarted_ms >= 5000)); then
      sigkill "${kill_pause[$next_kill]}"
      next_kill=$((next_kill + 1))
    fi
    if ((outage == 0 && t >= outage_at)); then
      kafka_ctl down && fault brokers-down "all 3 brokers, ${outage_s} s" other-faults.tsv && outage=1
    elif ((outage == 1 && t >= outage_at + outage_s * 1000)); then
      kafka_ctl up && fault brokers-up && outage=2
    fi
    # A PostgreSQL restart when it is due and pgoutbox has been streaming
    # for 3 s, so that it meets the restart.
    if [[ -n "$pgoutbox_pid" ]] && ((now - pgoutbox_started_ms >= 3000)); then
      if ((fast == 0 && t >= pg_fast_at)); then pg_restart_now fast && fast=1
      elif ((immediate == 0 && t >= pg_immediate_at)); then
        pg_restart_now immediate "after crash recovery" && immediate=1
      fi
    fi
    sleep 0.1
  done
}

# catch_up: waits until the slot confirmed the end of the workload (pgoutbox
# kept running), then drains the consumer and stops pgoutbox.
catch_up() {
  step "Waiting for pgoutbox to confirm the end of the workload"
  end_lsn="$(sql_value "SELECT pg_current_wal_lsn()")"
  local started=$SECONDS rc=0
  if pg_wait_confirmed pgoutbox "$end_lsn" 300 supervise; then log "confirmed $end_lsn, $((SECONDS - started)) s after the end of the faults"
  else log "pgoutbox did NOT confirm $end_lsn within 300 s (see the last pgoutbox log)"; fi
  sleep 3  # a few feedback intervals: the idle slot follows the server's WAL
  confirmed_lsn="$(sql_value "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pgoutbox'")"
  wal_lsn="$(sql_value "SELECT pg_current_wal_lsn()")"
  log "confirmed_flush_lsn $confirmed_lsn, end of the workload $end_lsn, server WAL $wal_lsn"
  log "draining the consumer to the brokers' high watermarks"
  term_wait "$collect_pid" 300 || rc=$?
  collect_pid=""
  [[ "$rc" -eq 0 ]] || die "the consumer did not drain (status $rc)" "$LOGS/collect.out" "$LOGS/collect.err"
  log "consumer: $(tail -n 1 "$LOGS/collect.out")"
  kafka_ctl stats
  stop_pid "$pgoutbox_pid" 40
  pgoutbox_pid=""
}

# report: pgoutbox-bench check prints the figures and writes results.md.
report() {
  step "Checking (pgoutbox-bench check)"
  # Every committed event with its source (tools/faults/fault_event_id.h's labels), on one
  # line for \copy.
  local committed="SELECT id::text, aggregate_id, payload->>'seq', 'public.outbox' FROM public.outbox"
  committed+=" UNION ALL SELECT id, aggregate_id, payload->>'seq', 'public.outbox_b' FROM public.outbox_b"
  committed+=" UNION ALL SELECT id::text, aggregate_id, seq::text, 'message' FROM faults_messages"
  psql_q -c "\\copy ($committed) TO '$out_dir/committed.tsv'"
  local rc=0 p run=(--mode "$mode" --invocation "$invocation" --commit "$(commit_id)"
    --elapsed-s $((SECONDS - LIB_STARTED)) --workload "$LOGS/workload.out" --connections "$connections"
    --keys "$keys" --kills "$kills" --kills-done "$kills_done" --error-percent "$error_percent"
    --errors-from "$errors_from" --errors-to "$errors_to" --other-faults "$out_dir/other-faults.tsv"
    --kafka-stats "$(grep '^stats ' "$LOGS/kafka.out" | tail -n 1 | cut -d' ' -f2-)" "${exits[@]}")
  for p in "${kill_pause[@]}"; do run+=(--kill-pause "$p"); done
  [[ -n "${without[outage]:-}" ]] || run+=(--outage-s "$outage_s")
  [[ -z "${without[pg-restarts]:-}" ]] || run+=(--no-pg-restarts)
  [[ "$pipelined_errors" -eq 0 ]] || run+=(--pipelined-errors)
  echo
  "$BENCH_BIN" check --committed "$out_dir/committed.tsv" --records "$out_dir/records.tsv" \
    --faults "$out_dir/faults.tsv" --start-ms "$workload_start_ms" --confirmed-lsn "$confirmed_lsn" \
    --end-lsn "$end_lsn" --wal-lsn "$wal_lsn" --out-dir "$out_dir" "${run[@]}" 2>"$LOGS/check.err" || rc=$?
  [[ "$rc" -eq 0 || "$rc" -eq 3 ]] || die "pgoutbox-bench check failed" "$LOGS/check.err"
  printf '\nwritten: %s/results.md; logs in %s\n' "$out_dir" "$LOGS"
  [[ "$rc" -eq 0 ]] || { echo "faults: FAILED: see the figures above" >&2; exit 1; }
}

main() {
  install_cleanup "$out_dir"
  log "fault suite, $mode mode, seed $seed ($invocation plans the same run)"
  if [[ "$build" -eq 1 ]]; then build "$pgoutbox_bin" "$BENCH_BIN"; fi
  [[ -x "$pgoutbox_bin" && -x "$BENCH_BIN" ]] || die "$pgoutbox_bin or $BENCH_BIN missing"
  start_postgres wal_level=logical max_wal_senders=10 max_replication_slots=10 shared_buffers=256MB max_wal_size=4GB
  KAFKA_CONTROL="$WORK/kafka.ctl" kafka_start --seed "$seed" "${produce_errors[@]}" "${topics[@]/#/--topic=}"
  setup_outbox
  run_faults
  catch_up
  report
}

main
