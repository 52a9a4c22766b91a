#!/usr/bin/env bash
# HEALTHCHECK of the pgoutbox image: healthy while GET /healthz answers 200 on
# PGOUTBOX_HTTP_ADDR (the process is alive and serving; /readyz, which also
# turns 503 while Kafka or PostgreSQL is away, is for orchestrators' readiness
# probes). Bash's /dev/tcp, as a slim image has no curl.
set -euo pipefail

addr="${PGOUTBOX_HTTP_ADDR-127.0.0.1:9187}"
port="${addr##*:}"
host="${addr%:*}"
# An empty address turns the HTTP server off, port 0 picks one: nothing to ask.
if [[ -z "$addr" || "$port" == 0 ]]; then
  exit 0
fi
case "$host" in
  "" | 0.0.0.0 | "[::]" | "::") host=127.0.0.1 ;;
esac
host="${host#[}"
host="${host%]}"

exec 3<>"/dev/tcp/${host}/${port}"
printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
read -r status_line <&3
[[ "$status_line" == HTTP/*" 200 "* ]]
