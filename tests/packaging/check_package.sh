#!/usr/bin/env bash
# Checks a Debian package of pgoutbox without installing it:
#
#   - its files: /usr/bin/pgoutbox (stripped, 0755 root:root) and no other
#     program, the SQL of sql/ and the example config under
#     /usr/share/pgoutbox/, the unit template pgoutbox@.service in
#     /usr/lib/systemd/system/ (or /lib/...), the README, nothing in /etc;
#   - its control fields, the version matching `pgoutbox --version`;
#   - Depends: for each shared library the binary needs (NEEDED in its
#     dynamic section), the package that owns it here (dpkg -S) is in
#     Depends, and is no -dev package, so that installing it on a machine
#     without the build dependencies pulls in everything it runs with;
#   - the maintainer scripts postinst, prerm and postrm: executable, POSIX
#     sh (sh -n, and shellcheck when installed);
#   - the unit template: `systemd-analyze verify` of an instance, clean, in
#     a root made of this machine's units and the package's files; its stop
#     timeout above the binary's default --shutdown-timeout;
#   - the example config: `run` and `status` read it, as shipped and with
#     every commented-out key set, without a config error.
#
#   tests/packaging/check_package.sh build-release/pgoutbox_0.1.0-1_amd64.deb
#   tests/packaging/check_package.sh --cpack BUILD_DIR   # packages BUILD_DIR first
#                                                        # (cpack, into a temp dir)
#
# Prints one line per check, "FAIL: ..." for each problem, and exits 1 if
# there was any, 2 on bad arguments.
# shellcheck shell=bash
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

usage() {
  sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

# The tools it runs, with the packages that hold them.
needs=(dpkg-deb:dpkg readelf:binutils ldd:libc-bin systemd-analyze:systemd)
[[ "${1:-}" != --cpack ]] || needs+=(cpack:cmake dpkg-shlibdeps:dpkg-dev file:file)
for tool in "${needs[@]}"; do
  if ! command -v "${tool%%:*}" >/dev/null; then
    echo "FAIL: ${tool%%:*} is not installed (apt-get install ${tool#*:}; scripts/package.sh installs it)" >&2
    exit 1
  fi
done

work="$(mktemp -d /tmp/pgoutbox-check-package.XXXXXX)"
trap 'rm -rf "$work"' EXIT

deb=""
case "${1:-}" in
  --cpack)
    [[ $# -eq 2 && -f "$2/CPackConfig.cmake" ]] || usage
    echo "packaging $2 with cpack into $work/cpack"
    if ! cpack -G DEB --config "$2/CPackConfig.cmake" -B "$work/cpack" >"$work/cpack.log" 2>&1; then
      cat "$work/cpack.log" >&2
      echo "FAIL: cpack did not make the package" >&2
      exit 1
    fi
    deb="$(find "$work/cpack" -maxdepth 1 -name 'pgoutbox_*.deb' | head -n 1)"
    ;;
  "" | -*) usage ;;
  *)
    [[ $# -eq 1 && -f "$1" ]] || usage
    deb="$1"
    ;;
esac
[[ -n "$deb" ]] || { echo "FAIL: no pgoutbox_*.deb made" >&2; exit 1; }

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
ok() { echo "ok: $*"; }

echo "checking $deb"
root="$work/root"
control="$work/control"
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$control"
dpkg-deb -c "$deb" >"$work/contents"

# --- Files -------------------------------------------------------------------

# The paths of the package, without the leading "." (directories end in /).
awk '{ print substr($6, 2) }' "$work/contents" >"$work/paths"

unit_path=""
for candidate in /usr/lib/systemd/system/pgoutbox@.service /lib/systemd/system/pgoutbox@.service; do
  if grep -qxF "$candidate" "$work/paths"; then unit_path="$candidate"; fi
done
[[ -n "$unit_path" ]] || fail "no pgoutbox@.service in /usr/lib/systemd/system/ or /lib/systemd/system/"

expected=(/usr/bin/pgoutbox /usr/share/pgoutbox/pgoutbox.conf.example /usr/share/doc/pgoutbox/README.md)
for sql in "$repo_root"/sql/*.sql; do expected+=("/usr/share/pgoutbox/sql/$(basename "$sql")"); done
missing=0
for path in "${expected[@]}"; do
  grep -qxF "$path" "$work/paths" || { fail "the package has no $path"; missing=1; }
done
[[ $missing -eq 1 ]] || ok "${#expected[@]} files in place, unit at ${unit_path:-?}"

if grep -q '^/etc/' "$work/paths"; then
  fail "the package ships files under /etc: $(grep '^/etc/' "$work/paths" | tr '\n' ' ')"
else
  ok "nothing under /etc (the config files are the administrator's)"
fi

programs="$(awk '$1 ~ /^-..x/ { print substr($6, 2) }' "$work/contents")"
if [[ "$programs" != "/usr/bin/pgoutbox" ]]; then
  fail "the executable files should be /usr/bin/pgoutbox alone, are: $(echo "$programs" | tr '\n' ' ')"
else
  ok "one program, /usr/bin/pgoutbox"
fi
binary_line="$(awk '$6 == "./usr/bin/pgoutbox"' "$work/contents")"
if [[ "$binary_line" != "-rwxr-xr-x root/root "* ]]; then
  fail "/usr/bin/pgoutbox should be -rwxr-xr-x root/root: $binary_line"
fi

binary="$root/usr/bin/pgoutbox"
elf=0
if [[ ! -f "$binary" ]]; then
  :
elif ! readelf -h "$binary" >/dev/null 2>&1; then
  fail "/usr/bin/pgoutbox is not an ELF program"
else
  elf=1
  if readelf -S "$binary" | grep -qE '\.symtab|\.debug_'; then
    fail "/usr/bin/pgoutbox is not stripped (it has a symbol table or debug sections)"
  else
    ok "/usr/bin/pgoutbox is stripped"
  fi
fi

# --- Control fields ----------------------------------------------------------

field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == pgoutbox ]] || fail "Package is $(field Package), not pgoutbox"
for name in Maintainer Section Priority Description Architecture; do
  [[ -n "$(field "$name")" ]] || fail "no $name field"
done
version="$("$binary" --version 2>/dev/null | awk '{ print $2 }')" || true
if [[ -z "$version" ]]; then
  fail "the packaged binary does not run here: $("$binary" --version 2>&1 | head -n 1)"
elif [[ "$(field Version)" != "$version-"* ]]; then
  fail "Version $(field Version) does not match pgoutbox --version ($version)"
else
  ok "Version $(field Version), Section $(field Section), Maintainer $(field Maintainer)"
fi

# --- Depends -----------------------------------------------------------------

depends="$(field Depends)"
echo "Depends: $depends"
# The package names of Depends, one per line (alternatives split too).
dep_names="$(tr ',|' '\n' <<<"$depends" | sed 's/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true)"
grep -qxF adduser <<<"$dep_names" || fail "Depends lacks adduser (postinst runs adduser)"

# owner PATH: the package that owns PATH here, trying its /usr-merged
# spellings too (dpkg records the path as the package shipped it).
owner() {
  local path spellings
  path="$(realpath "$1")"
  spellings=("$1" "$path" "${path#/usr}" "/usr$path")
  for p in "${spellings[@]}"; do
    dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1 && return 0
  done
  return 1
}

# provides PACKAGE: the names the installed PACKAGE provides, one a line
# (libspdlog1.10 provides libspdlog1.10-fmt9, the name its shlibs file gives
# dpkg-shlibdeps).
provides() {
  dpkg-query -W -f='${Provides}' "$1" 2>/dev/null | tr ',' '\n' | sed 's/(.*)//; s/[[:space:]]//g' | grep -v '^$'
}

needed=""
[[ $elf -eq 0 ]] || needed="$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
[[ -n "$needed" ]] || fail "readelf -d finds no NEEDED library in /usr/bin/pgoutbox"
for lib in $needed; do
  path="$(ldd "$binary" | awk -v lib="$lib" '$1 == lib && $3 ~ /^\// { print $3 }')"
  if [[ -z "$path" ]]; then
    fail "$lib: not found by ldd on this machine"
    continue
  fi
  pkg="$(owner "$path")" || { fail "$lib ($path): no package owns it (dpkg -S)"; continue; }
  if [[ "$pkg" == *-dev ]]; then
    fail "$lib comes from $pkg, a -dev package: the binary links a development library"
  elif grep -qxF "$pkg" <<<"$dep_names"; then
    ok "$lib: $pkg is in Depends"
  elif provided="$(provides "$pkg" | grep -xF "$dep_names")"; then
    ok "$lib: $pkg is in Depends as $provided, which it provides"
  else
    fail "$lib ($path) comes from $pkg, which is not in Depends"
  fi
done

# --- Maintainer scripts ------------------------------------------------------

for script in postinst prerm postrm; do
  file="$control/$script"
  if [[ ! -f "$file" ]]; then
    fail "no $script maintainer script"
    continue
  fi
  [[ -x "$file" ]] || fail "$script is not executable"
  [[ "$(head -n 1 "$file")" == "#!/bin/sh" ]] || fail "$script does not start with #!/bin/sh"
  if ! sh -n "$file" 2>"$work/sh-n.err"; then
    fail "$script: sh -n: $(cat "$work/sh-n.err")"
  elif command -v shellcheck >/dev/null && ! shellcheck -s sh "$file" >"$work/shellcheck.out" 2>&1; then
    fail "$script: shellcheck:"
    cat "$work/shellcheck.out"
  else
    ok "$script: sh -n$(command -v shellcheck >/dev/null && echo ', shellcheck') clean"
  fi
done
if [[ -f "$control/conffiles" ]] && grep -qv '^/etc/' "$control/conffiles"; then
  fail "conffiles outside /etc: $(grep -v '^/etc/' "$control/conffiles")"
fi

# --- The unit template -------------------------------------------------------

if [[ -n "$unit_path" ]]; then
  unit="$root$unit_path"
  # A root with this machine's units (the targets the unit depends on) and
  # the package's files, where systemd-analyze looks for the unit and for
  # the program of ExecStart.
  vroot="$work/vroot"
  mkdir -p "$vroot/usr/lib/systemd/system"
  cp -a /usr/lib/systemd/system/. "$vroot/usr/lib/systemd/system/"
  cp -a "$root/." "$vroot/"
  if ! systemd-analyze verify --root="$vroot" pgoutbox@check.service >"$work/verify.out" 2>&1 ||
    [[ -s "$work/verify.out" ]]; then
    fail "systemd-analyze verify pgoutbox@check.service:"
    cat "$work/verify.out"
  else
    ok "systemd-analyze verify pgoutbox@check.service: clean"
  fi

  # seconds DURATION: 45s, 2m, 1min 30s... as seconds (s, min, m, h only).
  seconds() {
    local total=0 part parts
    read -ra parts <<<"$(sed -E 's/([0-9]+)[[:space:]]*(min|m|s|h)/\1\2 /g' <<<"$1")"
    for part in "${parts[@]}"; do
      case "$part" in
        *min) total=$((total + ${part%min} * 60)) ;;
        *h) total=$((total + ${part%h} * 3600)) ;;
        *m) total=$((total + ${part%m} * 60)) ;;
        *s) total=$((total + ${part%s})) ;;
        *) total=$((total + part)) ;;
      esac
    done
    echo "$total"
  }
  stop="$(sed -n 's/^TimeoutStopSec=//p' "$unit")"
  shutdown="$("$binary" run --help 2>/dev/null | sed -nE 's/^ *--shutdown-timeout [A-Z]+=([^ ]+).*/\1/p')"
  if [[ -z "$stop" || -z "$shutdown" ]]; then
    fail "TimeoutStopSec (${stop:-unset}) or the default --shutdown-timeout (${shutdown:-not in run --help}) not found"
  elif (($(seconds "$stop") <= $(seconds "$shutdown"))); then
    fail "TimeoutStopSec=$stop is not above the default --shutdown-timeout $shutdown: systemd would SIGKILL a graceful stop"
  else
    ok "TimeoutStopSec=$stop above the default --shutdown-timeout $shutdown"
  fi
fi

# --- The example config ------------------------------------------------------

# pgoutbox reads the example as shipped, and with every commented-out key set
# to the default it shows, for `run` and for `status`: both go on to connect
# to the database (--db on the command line points at a closed port) and exit
# 1, where a mistake in the file (an unknown key, a value that does not
# parse) is exit 2. The example's password file and -X line name files of a
# real set-up; a temp file and a plain property stand in for them.
example="$root/usr/share/pgoutbox/pgoutbox.conf.example"
if [[ -f "$example" && $elf -eq 1 ]]; then
  install -m 0600 /dev/null "$work/password"
  echo secret >"$work/password"
  sed -E 's/^# ?([A-Za-z][A-Za-z0-9-]* = .*)$/\1/; s/^# ?(\[[a-z]+\])$/\1/' "$example" |
    sed -E "s|^db-password-file = .*|db-password-file = \"$work/password\"|; s|^X = .*|X = [\"acks=all\"]|" \
      >"$work/example-all.conf"
  closed_db="host=127.0.0.1 port=1 dbname=check connect_timeout=5"
  read_ok=1
  for conf in "$example" "$work/example-all.conf"; do
    for sub in run status; do
      args=(--config "$conf" "$sub" --db "$closed_db")
      [[ "$sub" != run ]] || args+=(--http-addr '')
      rc=0
      env -i HOME=/nonexistent timeout 60 "$binary" "${args[@]}" >"$work/example.out" 2>&1 || rc=$?
      if [[ $rc -ne 1 ]] || ! grep -q 'cannot connect to the database' "$work/example.out"; then
        fail "pgoutbox --config $(basename "$conf") $sub exited $rc, not 1 at the database:"
        head -n 5 "$work/example.out"
        read_ok=0
      fi
    done
  done
  [[ $read_ok -eq 0 ]] ||
    ok "run and status read the example config, as shipped and with its $(grep -cE '^[A-Za-z][A-Za-z0-9-]* = ' "$work/example-all.conf") keys set"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures problem(s) in $deb"
  exit 1
fi
echo "the package is fine: $deb"
