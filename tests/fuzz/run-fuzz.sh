#!/bin/sh
# Run one libFuzzer target: every input of its checked-in corpus first (a
# regression run), then new inputs for SECONDS seconds.
#   run-fuzz.sh TARGET CORPUS_DIR WORK_DIR SECONDS
# New inputs go to WORK_DIR/corpus (never into the checked-in corpus), a
# crashing input to WORK_DIR/artifacts/, the whole log to WORK_DIR/fuzz.log.
# Prints the run's summary (and the log's end when something was found);
# exits with the fuzzer's status (0: nothing found).
set -u
target=$1 corpus=$2 work=$3 seconds=$4
mkdir -p "$work/corpus" "$work/artifacts" || exit 1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
log=$work/fuzz.log
status=0
"$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus" \
    >"$log" 2>&1 || status=$?
grep -E '^INFO: seed corpus|^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$log"
if [ "$status" -ne 0 ]; then
    tail -n 80 "$log"
    echo "$(basename "$target"): FAILED (status $status); the input is in $work/artifacts/"
fi
exit "$status"
