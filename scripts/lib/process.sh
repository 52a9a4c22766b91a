# shellcheck shell=bash
# Background processes for the scripts: is a process still running, stop it
# politely then firmly, wait for a line in its output. Source it; it defines
# functions and changes nothing else.
#
#   source scripts/lib/process.sh
#   some_server >server.out 2>server.err &
#   pid=$!
#   wait_for_line server.out '^ready' 30 "$pid" || echo "not ready"
#   stop_pid "$pid"
#   term_wait "$pid" 40 || echo "status $?"   # SIGTERM, then its exit status

# is_running PID: true while PID runs. A child that exited but was not
# reaped yet (a zombie) counts as ended, unlike `kill -0`.
is_running() {
  local state
  [[ -n "$1" ]] || return 1
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# stop_pid PID [SECONDS]: SIGTERM, up to SECONDS (default 15) for it to
# exit, then SIGKILL; reaps it if it is our child. Returns 0; does nothing
# for an empty PID or one that is gone.
stop_pid() {
  local pid="$1" secs="${2:-15}"
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  for _ in $(seq 1 $((secs * 10))); do
    is_running "$pid" || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_for_line FILE REGEX SECONDS [PID]: returns 0 once a line of FILE
# matches REGEX (grep -E), 1 if PID (when given) ended first, 2 when
# SECONDS passed.
wait_for_line() {
  local file="$1" regex="$2" secs="$3" pid="${4:-}"
  local deadline=$((SECONDS + secs))
  until grep -qE "$regex" "$file" 2>/dev/null; do
    if [[ -n "$pid" ]] && ! is_running "$pid"; then
      grep -qE "$regex" "$file" 2>/dev/null && return 0
      return 1
    fi
    [[ "$SECONDS" -lt "$deadline" ]] || return 2
    sleep 0.1
  done
}

# term_wait PID SECONDS: SIGTERM to our child PID, then waits up to SECONDS
# for it to exit and returns its exit status; 124 (and a SIGKILL) if it was
# still running then.
term_wait() {
  local pid="$1" rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $(($2 * 10))); do
    is_running "$pid" || break
    sleep 0.1
  done
  if is_running "$pid"; then
    stop_pid "$pid" 0
    return 124
  fi
  wait "$pid" || rc=$?
  return "$rc"
}
