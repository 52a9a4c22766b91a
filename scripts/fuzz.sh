#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang-14 (with ASan and
# UBSan) into build-fuzz/ and runs each for SECONDS (default 600), starting
# from the seed corpus in tests/fuzz/corpus/<target>/ and the inputs kept in
# tests/fuzz/regressions/<target>/. New inputs go to
# build-fuzz/corpus-<target>/; a crash, hang, sanitizer report or broken
# property stops that target, leaves its input in build-fuzz/ and makes the
# script exit 1 (after the other targets ran).
#
# The targets (each file's header comment says what it checks):
#   decoder         the pgoutput decoder on any bytes
#   frame           CopyData framing (XLogData, keepalive) and the message inside
#   mapper          message sequences through the decoder and the EventMapper
#                   with its relation cache
#   headers         the headers column's JSON, against simdjson's DOM parser
#   topic_template  --topic template parsing, rendering, Kafka's topic name rule
#   options         --db conninfo redaction, -X properties, durations, byte sizes
#   config_text     the config file's syntax, read back from a canonical form
# The test suite replays both corpus folders through every target (ctest -R
# fuzz, built with g++ and no libFuzzer).
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default: every target, in turn)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

all_targets=(decoder frame mapper headers topic_template options config_text)
seconds="${1:-600}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a positive number" >&2; exit 2; }

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz: installing clang-14" >&2
  apt-get update -qq && apt-get install -y -qq clang-14 >/dev/null
fi

out="$repo_root/build-fuzz"
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$repo_root/src")
common=(src/common/status.cc src/common/types.cc src/common/json_escape.cc src/common/text.cc
        src/pgoutput/decoder.cc)
outbox="src/outbox/mapper.cc src/outbox/topic_template.cc src/outbox/pg_types.cc src/outbox/column_map.cc"
declare -A sources=(
  [decoder]="tests/fuzz/decoder_fuzz.cc"
  [frame]="tests/fuzz/frame_fuzz.cc src/replication/frame.cc"
  [mapper]="tests/fuzz/mapper_fuzz.cc $outbox"
  [headers]="tests/fuzz/headers_fuzz.cc $outbox"
  [topic_template]="tests/fuzz/topic_template_fuzz.cc $outbox"
  [options]="tests/fuzz/options_fuzz.cc src/pg/connection.cc src/kafka/publisher.cc
             src/common/duration.cc src/common/byte_size.cc"
  [config_text]="tests/fuzz/config_text_fuzz.cc src/cli/config_file.cc src/cli/suggest.cc"
)
# Include paths, definitions and libraries beyond the common ones.
declare -A extra=(
  [mapper]="-lsimdjson"
  [headers]="-lsimdjson"
  [topic_template]="-lsimdjson"
  [options]="-I/usr/include/postgresql -DSPDLOG_COMPILED_LIB -DSPDLOG_SHARED_LIB
             -DSPDLOG_FMT_EXTERNAL -DFMT_SHARED -lpq -lrdkafka -lspdlog -lfmt"
)

for target in "${targets[@]}"; do
  [[ -n "${sources[$target]:-}" ]] || { echo "fuzz: no target $target (targets: ${all_targets[*]})" >&2; exit 2; }
done

failed=0
for target in "${targets[@]}"; do
  echo "==> building $target"
  # shellcheck disable=SC2086
  clang++-14 "${flags[@]}" ${sources[$target]} "${common[@]}" ${extra[$target]:-} \
    -o "$out/${target}_fuzz"
  corpus="$out/corpus-$target"
  mkdir -p "$corpus"
  echo "==> fuzzing $target for ${seconds}s"
  inputs=("$corpus" "$repo_root/tests/fuzz/corpus/$target")
  # A target that never found a bug has no regressions folder.
  [[ -d "$repo_root/tests/fuzz/regressions/$target" ]] &&
    inputs+=("$repo_root/tests/fuzz/regressions/$target")
  if ! (cd "$out" && "./${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=1 "${inputs[@]}" >"$out/$target.log" 2>&1); then
    echo "FAIL: $target found a problem; see $out/$target.log and the crash-*/timeout-* file in $out" >&2
    tail -n 40 "$out/$target.log" >&2
    failed=1
  else
    grep -E "^stat::(number_of_executed_units|new_units_added)" "$out/$target.log" | sed "s/^/  $target /"
  fi
done
exit "$failed"
