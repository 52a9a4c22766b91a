#!/usr/bin/env bash
# What librdkafka's mock cluster, the broker of scripts/bench.sh, does to
# latency when records are sent promptly, without PostgreSQL or pgoutbox:
# records produced straight to a 3-broker mock cluster at a fixed rate, by
# pgoutbox's own producer settings with the given linger.ms, and read by the
# benchmark's independent consumer (one record at a time,
# fetch.wait.max.ms=2). Prints, per linger.ms, the produce-to-consume
# quantiles and the mock broker's CPU time.
#
# The mock answers a fetch with one stored batch per partition and finds it
# by walking the partition's batches from the oldest (it keeps no index), so
# small batches cost it twice: more fetches, each walking more batches.
#
# Usage: scripts/bench-floor.sh [--rate N] [--seconds N] [--partitions N] [LINGER_MS...]
#   defaults: --rate 5000 --seconds 40 --partitions 6, linger.ms 1 and 5
# Needs build/pgoutbox-bench (scripts/build.sh pgoutbox-bench).
set -euo pipefail
export LC_ALL=C

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$repo_root/build/pgoutbox-bench"
rate=5000 seconds=40 partitions=6 lingers=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate | --seconds | --partitions)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench-floor: $1 needs a positive number" >&2; exit 2; }
      declare "${1#--}=$2"
      shift
      ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *)
      [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench-floor: unknown argument $1 (see --help)" >&2; exit 2; }
      lingers+=("$1")
      ;;
  esac
  shift
done
[[ ${#lingers[@]} -gt 0 ]] || lingers=(1 5)
[[ -x "$bench" ]] || { echo "bench-floor: $bench missing: run scripts/build.sh pgoutbox-bench" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# cpu_ticks PID: utime + stime so far, in clock ticks.
cpu_ticks() {
  local stat fields
  stat="$(<"/proc/$1/stat")"
  read -r -a fields <<<"${stat##*) }"
  echo $((fields[11] + fields[12]))
}

# wait_for FILE PATTERN PID: until FILE has a line matching PATTERN (30 s).
wait_for() {
  local _
  for _ in $(seq 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "bench-floor: process $3 ended; $1:" >&2; cat "$1" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench-floor: no '$2' in $1 within 30 s" >&2
  exit 1
}

printf '%s events/s for %s s, %s partitions on 3 mock brokers\n' "$rate" "$seconds" "$partitions"
printf '| linger.ms | produce-to-consume p50 / p99 / p99.9 ms | mock broker CPU s |\n|---:|---:|---:|\n'
for linger in "${lingers[@]}"; do
  "$bench" kafka --brokers 3 --topic "floor:$partitions" >"$work/kafka.out" 2>&1 &
  kafka_pid=$!
  pids=("$kafka_pid")
  wait_for "$work/kafka.out" '^bootstraps=' "$kafka_pid"
  brokers="$(sed -n 's/^bootstraps=//p' "$work/kafka.out")"
  "$bench" consume --brokers "$brokers" --topic floor --expect $((rate * seconds)) \
    --timeout $((seconds + 120)) --skip-seconds 5 >"$work/consume.out" 2>"$work/consume.err" &
  consumer_pid=$!
  pids+=("$consumer_pid")
  wait_for "$work/consume.out" '^ready=1' "$consumer_pid"
  before="$(cpu_ticks "$kafka_pid")"
  "$bench" produce --brokers "$brokers" --topic floor --rate "$rate" --seconds "$seconds" \
    -X "linger.ms=$linger" >"$work/produce.out" 2>&1
  after="$(cpu_ticks "$kafka_pid")"
  wait "$consumer_pid"
  q() { grep -o "\b$1=[^ ]*" "$work/consume.out" | cut -d= -f2; }
  printf '| %s | %s / %s / %s | %s |\n' "$linger" "$(q p50_ms)" "$(q p99_ms)" "$(q p999_ms)" \
    "$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }')"
  kill "$kafka_pid"
  wait "$kafka_pid" 2>/dev/null || true
  pids=()
done
