#!/usr/bin/env bash
# What librdkafka's mock cluster, the broker of scripts/bench.sh, does to
# latency when records are sent promptly, without PostgreSQL or pgoutbox:
# records produced straight to a 3-broker mock cluster at a fixed rate, by
# pgoutbox's own producer settings with the given linger.ms, and read by the
# benchmark's independent consumer (one record at a time,
# fetch.wait.max.ms=2). Prints, per linger.ms, the produce-to-consume
# quantiles and the mock broker's CPU time; logs in build/bench-floor/.
#
# The mock answers a fetch with one stored batch per partition and finds it
# by walking the partition's batches from the oldest (it keeps no index), so
# small batches cost it twice: more fetches, each walking more batches.
#
# Usage: scripts/bench-floor.sh [--rate N] [--seconds N] [--partitions N] [LINGER_MS...]
#   defaults: --rate 5000 --seconds 40 --partitions 6, linger.ms 1 and 5
# Needs build/pgoutbox-bench (scripts/build.sh pgoutbox-bench).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
export LC_ALL=C

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
SCRIPT_NAME=bench-floor
# shellcheck source=lib/postgres.sh
source "$repo_root/scripts/lib/postgres.sh"
# shellcheck source=lib/process.sh
source "$repo_root/scripts/lib/process.sh"
# shellcheck source=lib/common.sh
source "$repo_root/scripts/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$repo_root/scripts/lib/kafka.sh"

BENCH_BIN="$repo_root/build/pgoutbox-bench"
rate=5000 seconds=40 partitions=6 lingers=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate | --seconds | --partitions)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench-floor: $1 needs a positive number" >&2; exit 2; }
      declare "${1#--}=$2"
      shift
      ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *)
      [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench-floor: unknown argument $1 (see --help)" >&2; exit 2; }
      lingers+=("$1")
      ;;
  esac
  shift
done
[[ ${#lingers[@]} -gt 0 ]] || lingers=(1 5)
[[ -x "$BENCH_BIN" ]] || { echo "bench-floor: $BENCH_BIN missing: run scripts/build.sh pgoutbox-bench" >&2; exit 1; }

consumer_pid=""
CLEANUP_PIDS=(consumer_pid)
install_cleanup "$repo_root/build/bench-floor"

table="| linger.ms | produce-to-consume p50 / p99 / p99.9 ms | mock broker CPU s |"$'\n'"|---:|---:|---:|"
for linger in "${lingers[@]}"; do
  kafka_start --topic "floor:$partitions"
  "$BENCH_BIN" consume --brokers "$KAFKA_BROKERS" --topic floor --expect $((rate * seconds)) \
    --timeout $((seconds + 120)) --skip-seconds 5 >"$LOGS/consume-$linger.out" 2>"$LOGS/consume-$linger.err" &
  consumer_pid=$!
  wait_ready "$LOGS/consume-$linger.out" '^ready=1' 30 "$consumer_pid" "the consumer"
  before="$(cpu_ticks "$KAFKA_PID")"
  step "linger.ms=$linger: $rate records/s for ${seconds}s, $partitions partitions"
  run_step "produce-$linger" $((seconds + 120)) "$BENCH_BIN" produce --brokers "$KAFKA_BROKERS" \
    --topic floor --rate "$rate" --seconds "$seconds" -X "linger.ms=$linger"
  after="$(cpu_ticks "$KAFKA_PID")"
  wait "$consumer_pid" || die "the consumer failed" "$LOGS/consume-$linger.out" "$LOGS/consume-$linger.err"
  consumer_pid=""
  load "$LOGS/consume-$linger.out" p50_ms p99_ms p999_ms
  table+=$'\n'"| $linger | ${kv[p50_ms]} / ${kv[p99_ms]} / ${kv[p999_ms]} | $(awk -v t=$((after - before)) \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }') |"
  kafka_stop
done
printf '\n%s\n' "$table"
