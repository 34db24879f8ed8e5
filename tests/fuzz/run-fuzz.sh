#!/bin/sh
# Run one libFuzzer target: every input of its checked-in corpus first (a
# regression run), then new inputs for SECONDS seconds.
#   run-fuzz.sh TARGET CORPUS_DIR WORK_DIR SECONDS
# New inputs go to WORK_DIR (never into the checked-in corpus), crash inputs
# to WORK_DIR/artifacts/. Exit status: the fuzzer's (0: nothing found).
set -eu
target=$1 corpus=$2 work=$3 seconds=$4
mkdir -p "$work/corpus" "$work/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec "$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus"
