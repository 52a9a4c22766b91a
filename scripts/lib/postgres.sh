# shellcheck shell=bash
# shellcheck disable=SC2034  # PG_* are for the scripts that source this file
# A throwaway PostgreSQL 15 server for the scripts (demo, benchmark, fault
# suite): initdb
# into a fresh temp directory as the postgres user, listen on a free loopback
# port, start with pg_ctl -w; pg_stop stops it and removes the directory.
# Source it; it defines functions and PG_* variables and changes nothing else.
#
#   source scripts/lib/postgres.sh
#   pg_start wal_level=logical max_wal_senders=10   # extra postgresql.conf settings
#   psql "$PG_CONNINFO" -c 'SELECT 1'
#   pg_restart fast                                  # pg_ctl restart -m fast (or immediate)
#   pg_create_slots a b; pg_drop_slot a              # pgoutput slots
#   pg_wait_flushed 0/16B3748                        # the WAL flushed up to an LSN
#   pg_wait_confirmed pgoutbox 0/16B3748 60          # a slot confirmed up to an LSN
#   pg_stop                                          # idempotent; call it from your EXIT trap
#
# PG_VERBOSE=1 (before pg_start) makes it say what it does, one line per step
# (initdb, starting and waiting for the server), for scripts a person watches.
#
# After pg_start: PG_DIR (temp dir: data/, postgres.log, the unix socket),
# PG_DATA, PG_LOG, PG_PORT, PG_CONNINFO (TCP, user postgres, dbname postgres;
# trust authentication, replication connections allowed from 127.0.0.1).

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_VERBOSE="${PG_VERBOSE:-0}"
PG_DIR=""
PG_DATA=""
PG_LOG=""
PG_PORT=""
PG_CONNINFO=""

# Runs a command as the postgres OS user when we are root (initdb and the
# server refuse to run as root), as ourselves otherwise.
as_postgres() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# pg_say TEXT: prints TEXT when PG_VERBOSE is 1.
pg_say() {
  if [[ "$PG_VERBOSE" == 1 ]]; then echo "$*"; fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local candidate
  for _ in $(seq 1 100); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "free_port: no free loopback port found" >&2
  return 1
}

# pg_start [name=value ...]: initdb and start a server; each argument is
# appended to postgresql.conf as name = 'value'. On failure prints the tail of
# the server log and returns 1 (the temp directory stays for pg_stop).
pg_start() {
  local setting
  if [[ ! -x "$PG_BIN/initdb" ]]; then
    echo "pg_start: $PG_BIN/initdb not found (install postgresql-15: scripts/install-deps.sh)" >&2
    return 1
  fi
  PG_DIR="$(mktemp -d /tmp/pgoutbox-pg.XXXXXX)"
  if [[ "$(id -u)" -eq 0 ]]; then chown postgres "$PG_DIR"; fi
  PG_DATA="$PG_DIR/data"
  PG_LOG="$PG_DIR/postgres.log"
  PG_PORT="$(free_port)" || return 1

  pg_say "initdb: creating a new cluster in $PG_DATA (trust authentication, no fsync of its files)"
  if ! as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres --no-sync \
    >"$PG_DIR/initdb.log" 2>&1; then
    echo "pg_start: initdb failed:" >&2
    tail -n 20 "$PG_DIR/initdb.log" >&2
    return 1
  fi
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PG_PORT"
    echo "unix_socket_directories = '$PG_DIR'"
    for setting in "$@"; do
      echo "${setting%%=*} = '${setting#*=}'"
    done
  } >>"$PG_DATA/postgresql.conf"
  echo "host replication all 127.0.0.1/32 trust" >>"$PG_DATA/pg_hba.conf"

  pg_say "pg_ctl start: port $PG_PORT on 127.0.0.1${*:+, $*}; waiting until it accepts connections (log: $PG_LOG)"
  if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
    >"$PG_DIR/pg_ctl.log" 2>&1; then
    echo "pg_start: PostgreSQL did not start; pg_ctl said:" >&2
    tail -n 5 "$PG_DIR/pg_ctl.log" >&2
    echo "server log ($PG_LOG):" >&2
    tail -n 30 "$PG_LOG" >&2 2>/dev/null || true
    return 1
  fi
  PG_CONNINFO="host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres"
  pg_say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') accepts connections: $PG_CONNINFO"
}

# pg_restart MODE: restarts the server with pg_ctl restart -m MODE (smart,
# fast or immediate; immediate means crash recovery on the way up), logging
# on to PG_LOG, and waits until it accepts connections again (up to 120 s).
# Returns pg_ctl's status; its output is appended to $PG_DIR/pg_ctl.log.
pg_restart() {
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -m "$1" -w -t 120 restart \
    >>"$PG_DIR/pg_ctl.log" 2>&1
}

# pg_create_slots SLOT...: logical replication slots with the pgoutput plugin.
pg_create_slots() {
  local slot
  for slot in "$@"; do
    psql "$PG_CONNINFO" -X -q -A -t -v ON_ERROR_STOP=1 \
      -c "SELECT pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
  done
}

# pg_drop_slot SLOT: drops it once it is inactive (its walsender may take a
# moment to go away after its client; up to 10 s).
pg_drop_slot() {
  local q=(psql "$PG_CONNINFO" -X -q -A -t -v ON_ERROR_STOP=1 -c)
  for _ in $(seq 1 100); do
    [[ "$("${q[@]}" "SELECT active FROM pg_replication_slots WHERE slot_name = '$1'")" == f ]] && break
    sleep 0.1
  done
  "${q[@]}" "SELECT pg_drop_replication_slot('$1')" >/dev/null
}

# pg_wait_flushed LSN: returns 0 once the server's WAL is flushed up to LSN
# (after writes with synchronous_commit=off, so that a walsender can send
# them), 1 if it is not within 10 s.
pg_wait_flushed() {
  local q=(psql "$PG_CONNINFO" -X -q -A -t -v ON_ERROR_STOP=1 -c)
  for _ in $(seq 1 100); do
    [[ "$("${q[@]}" "SELECT pg_current_wal_flush_lsn() >= '$1'")" == t ]] && return 0
    sleep 0.1
  done
  [[ "$("${q[@]}" "SELECT pg_current_wal_flush_lsn() >= '$1'")" == t ]]
}

# pg_wait_confirmed SLOT LSN SECONDS [CMD...]: returns 0 once SLOT's
# confirmed_flush_lsn reached LSN, 1 if SECONDS passed first. Runs CMD (when
# given; a script's supervisor, say) before each look.
pg_wait_confirmed() {
  local slot="$1" lsn="$2" deadline=$((SECONDS + $3))
  shift 3
  while :; do
    if [[ $# -gt 0 ]]; then "$@"; fi
    [[ "$(psql "$PG_CONNINFO" -X -q -A -t -c "SELECT confirmed_flush_lsn >= '$lsn'
          FROM pg_replication_slots WHERE slot_name = '$slot'" 2>/dev/null)" == t ]] && return 0
    [[ "$SECONDS" -lt "$deadline" ]] || return 1
    sleep 0.2
  done
}

# Stops the server (immediate: it is thrown away) and removes its directory.
# Safe to call more than once, or when pg_start failed half way.
pg_stop() {
  if [[ -n "$PG_DIR" ]]; then
    if [[ -f "$PG_DATA/postmaster.pid" ]]; then
      as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
  fi
  PG_DIR=""
  PG_DATA=""
  PG_CONNINFO=""
}
