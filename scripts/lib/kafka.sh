# shellcheck shell=bash
# shellcheck disable=SC2154  # kv, log, die and the rest come from common.sh
# The mock Kafka cluster of the benchmark and the fault suite, in a process
# of its own (pgoutbox-bench kafka), so the brokers outlive the pgoutbox
# processes the scripts start and kill. Source it after common.sh; set
# BENCH_BIN (the pgoutbox-bench binary) first.
#
#   kafka_start --topic orders:6              # 3 brokers; KAFKA_BROKERS, KAFKA_PID
#   KAFKA_CONTROL="$WORK/kafka.ctl" kafka_start ...   # with a control channel:
#   kafka_ctl down                            # ... waits for the answer
#   kafka_stop                                # also done by common.sh's cleanup

KAFKA_PID=""
KAFKA_BROKERS=""
KAFKA_CONTROL="${KAFKA_CONTROL:-}"
kafka_ctl_fd=""

# kafka_start [ARG...]: a 3-broker cluster with pgoutbox-bench kafka's
# ARGs (--topic NAME:N, --seed, --produce-error); dies unless it is ready.
kafka_start() {
  local args=(kafka --brokers 3 "$@")
  step "Starting the mock Kafka cluster (3 brokers, own process${KAFKA_CONTROL:+, control channel})"
  if [[ -n "$KAFKA_CONTROL" ]]; then
    [[ -p "$KAFKA_CONTROL" ]] || mkfifo "$KAFKA_CONTROL"
    args+=(--control "$KAFKA_CONTROL")
  fi
  # Emptied first: the background redirection would truncate it only after
  # wait_ready had read the bootstraps of an earlier cluster.
  : >"$LOGS/kafka.out"
  "$BENCH_BIN" "${args[@]}" >"$LOGS/kafka.out" 2>"$LOGS/kafka.err" &
  KAFKA_PID=$!
  wait_ready "$LOGS/kafka.out" '^bootstraps=' 30 "$KAFKA_PID" "pgoutbox-bench kafka"
  load "$LOGS/kafka.out" bootstraps
  KAFKA_BROKERS="${kv[bootstraps]}"
  # Read-write: opening never blocks, and the FIFO stays open between commands.
  if [[ -n "$KAFKA_CONTROL" ]]; then exec {kafka_ctl_fd}<>"$KAFKA_CONTROL"; fi
  log "brokers $KAFKA_BROKERS"
}

kafka_stop() {
  stop_pid "$KAFKA_PID"
  KAFKA_PID=""
}

# kafka_ctl COMMAND: a command for the cluster (down, up, errors PCT,
# stats); waits for its answer in LOGS/kafka.out.
kafka_ctl() {
  local before
  before="$(grep -c '' "$LOGS/kafka.out" || true)"
  printf '%s\n' "$1" >&"$kafka_ctl_fd"
  for _ in $(seq 1 100); do
    [[ "$(grep -c '' "$LOGS/kafka.out" || true)" -gt "$before" ]] && return 0
    sleep 0.05
  done
  die "the mock cluster did not answer \"$1\"" "$LOGS/kafka.out" "$LOGS/kafka.err"
}
