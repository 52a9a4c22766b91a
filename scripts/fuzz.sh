#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang-14 (with ASan and
# UBSan) into build-fuzz/ and runs each for SECONDS (default 600), starting
# from the seed corpus in tests/fuzz/corpus/<target>/ (captured from
# PostgreSQL 15). New inputs go to build-fuzz/corpus-<target>/; a crash,
# hang or sanitizer report stops that target, leaves its input in
# build-fuzz/ and makes the script exit 1.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: decoder frame)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

seconds="${1:-600}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(decoder frame)
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a positive number" >&2; exit 2; }

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz: installing clang-14" >&2
  apt-get update -qq && apt-get install -y -qq clang-14 >/dev/null
fi

out="$repo_root/build-fuzz"
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$repo_root/src")
common=(src/common/status.cc src/common/types.cc src/pgoutput/decoder.cc)
declare -A sources=(
  [decoder]="tests/fuzz/decoder_fuzz.cc"
  [frame]="tests/fuzz/frame_fuzz.cc src/replication/frame.cc"
)

failed=0
for target in "${targets[@]}"; do
  [[ -n "${sources[$target]:-}" ]] || { echo "fuzz: no target $target" >&2; exit 2; }
  echo "==> building $target"
  # shellcheck disable=SC2086
  clang++-14 "${flags[@]}" ${sources[$target]} "${common[@]}" -o "$out/${target}_fuzz"
  corpus="$out/corpus-$target"
  mkdir -p "$corpus"
  echo "==> fuzzing $target for ${seconds}s"
  if ! (cd "$out" && "./${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=1 "$corpus" "$repo_root/tests/fuzz/corpus/$target" \
          >"$out/$target.log" 2>&1); then
    echo "FAIL: $target found a problem; see $out/$target.log and the crash-*/timeout-* file in $out" >&2
    tail -n 40 "$out/$target.log" >&2
    failed=1
  else
    grep -E "^stat::(number_of_executed_units|new_units_added)" "$out/$target.log" | sed "s/^/  $target /"
  fi
done
exit "$failed"
