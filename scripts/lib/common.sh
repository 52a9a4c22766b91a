# shellcheck shell=bash
# What the benchmark and the fault suite share: logging (log, step, die),
# the cleanup on exit, steps run with a time limit and their output in the
# logs, key=value output read back, processes waited for, psql, and the
# build. Source it after postgres.sh and process.sh; it defines functions
# and the variables below, and changes nothing else until told to.
#
#   SCRIPT_NAME=bench
#   source scripts/lib/common.sh
#   CLEANUP_PIDS=(load_pid pgoutbox_pid)   # variables holding pids, stopped in order
#   install_cleanup build/bench            # LOGS=build/bench/logs; traps: EXIT cleans
#                                          # up, INT and TERM exit 130 and 143
#   run_step build-x 60 make x             # logs/build-x.out, .err; dies if it fails
#
# WORK (a temp directory, removed on exit), KAFKA_PID (lib/kafka.sh) and the
# server of lib/postgres.sh are cleaned up too; the server's log is copied
# to LOGS/postgres.log first.

SCRIPT_NAME="${SCRIPT_NAME:-script}"
LOGS="${LOGS:-}"
WORK=""
CLEANUP_PIDS=()
LIB_STARTED=$SECONDS
declare -A kv=()

log() { printf '[%4ds] %s\n' "$((SECONDS - LIB_STARTED))" "$*"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# die MESSAGE [LOG ...]: the message, the tail of each log (of the server
# log, its last errors), exit 1.
die() {
  local f
  printf '\n%s: FAILED: %s\n' "$SCRIPT_NAME" "$1" >&2
  shift
  for f in "$@"; do
    if [[ -n "${PG_LOG:-}" && "$f" == "$PG_LOG" ]]; then
      if grep -qE '(ERROR|FATAL|PANIC):' "$f" 2>/dev/null; then
        printf -- '--- last errors in %s:\n' "$f" >&2
        grep -E -A 2 '(ERROR|FATAL|PANIC):' "$f" | tail -n 15 >&2
      fi
    elif [[ -s "$f" ]]; then
      printf -- '--- last lines of %s:\n' "$f" >&2
      tail -n 30 "$f" >&2
    fi
  done
  if [[ -n "${KAFKA_PID:-}" ]] && ! is_running "$KAFKA_PID"; then
    printf 'note: the Kafka host (pgoutbox-bench kafka) is no longer running:\n' >&2
    tail -n 10 "$LOGS/kafka.err" >&2 2>/dev/null || true
  fi
  printf 'all logs: %s\n' "$LOGS" >&2
  exit 1
}

cleanup() {
  local name
  set +e
  for name in "${CLEANUP_PIDS[@]}" KAFKA_PID; do stop_pid "${!name:-}"; done
  if [[ -n "$PG_DIR" && -f "$PG_LOG" && -d "$LOGS" ]]; then cp "$PG_LOG" "$LOGS/postgres.log"; fi
  pg_stop
  [[ -z "$WORK" ]] || rm -rf "$WORK"
}

# install_cleanup OUT_DIR: OUT_DIR emptied, LOGS=OUT_DIR/logs, a fresh WORK,
# and the traps.
install_cleanup() {
  rm -rf "$1"
  LOGS="$1/logs"
  mkdir -p "$LOGS"
  WORK="$(mktemp -d "/tmp/pgoutbox-$SCRIPT_NAME.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# run_step NAME SECONDS CMD...: runs CMD with a time limit, stdout to
# LOGS/NAME.out and stderr to LOGS/NAME.err; dies with their tails if it
# fails. (In the background and waited for, so a signal stops it at once.)
fg_pid=""
run_step() {
  local name="$1" secs="$2" rc=0
  shift 2
  timeout --kill-after=10 "$secs" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
  fg_pid=$!
  wait "$fg_pid" || rc=$?
  fg_pid=""
  if [[ "$rc" -eq 124 ]]; then
    die "$name: timed out after ${secs}s: $*" "$LOGS/$name.out" "$LOGS/$name.err" "$PG_LOG"
  elif [[ "$rc" -ne 0 ]]; then
    die "$name: exited with $rc: $*" "$LOGS/$name.out" "$LOGS/$name.err" "$PG_LOG"
  fi
}

# load FILE KEY...: the key=value pairs of FILE's last line with a "=" into
# the array kv; dies unless each KEY is there.
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

psql_q() { psql "$PG_CONNINFO" -X -q -v ON_ERROR_STOP=1 "$@"; }
sql_value() { psql "$PG_CONNINFO" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# start_postgres SETTING...: pg_start with a step line, or dies.
start_postgres() {
  step "Starting a throwaway PostgreSQL 15"
  pg_start "$@" || die "PostgreSQL did not start"
  log "listening on 127.0.0.1:$PG_PORT ($PG_DATA)"
}

# ensure_packages COMMAND "PACKAGE..." ...: apt-get installs the packages of
# each COMMAND that is missing (as root, or with sudo).
ensure_packages() {
  local missing=() sudo=()
  while [[ $# -gt 0 ]]; do
    # shellcheck disable=SC2206  # $2 is a list of package names
    command -v "$1" >/dev/null || missing+=($2)
    shift 2
  done
  [[ ${#missing[@]} -gt 0 ]] || return 0
  [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
  log "installing ${missing[*]}"
  "${sudo[@]}" apt-get update >"$LOGS/apt.log" 2>&1 || die "apt-get update failed" "$LOGS/apt.log"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}" >>"$LOGS/apt.log" 2>&1 || die "installing ${missing[*]} failed" "$LOGS/apt.log"
}

# build BINARY...: scripts/build.sh of the CMake targets named like the
# BINARYs, not of every test (output in LOGS/build.log), then dies unless
# each BINARY is there.
build() {
  local bin targets=()
  for bin in "$@"; do targets+=("$(basename "$bin")"); done
  step "Installing dependencies and building ${targets[*]} (scripts/build.sh)"
  scripts/build.sh "${targets[@]}" >"$LOGS/build.log" 2>&1 || die "scripts/build.sh failed" "$LOGS/build.log"
  for bin in "$@"; do [[ -x "$bin" ]] || die "$bin missing after the build" "$LOGS/build.log"; done
  log "built $*"
}

# commit_id: the short commit, with -dirty when the worktree has changes.
commit_id() {
  local dirty=""
  [[ -z "$(git status --porcelain 2>/dev/null)" ]] || dirty="-dirty"
  printf '%s%s' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$dirty"
}

# cpu_ticks PID: the CPU time PID used so far, utime + stime (fields 14 and
# 15 of /proc/PID/stat, counted after the command name, which may hold
# spaces), in clock ticks.
cpu_ticks() {
  local stat fields
  stat="$(<"/proc/$1/stat")" || die "no process $1 to read the CPU time of"
  read -r -a fields <<<"${stat##*) }"
  echo $((fields[11] + fields[12]))
}

# usage SCRIPT: the script's header comment, from its second line up to the
# "# shellcheck" line, without the "# ".
usage() {
  sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "$1"
}
