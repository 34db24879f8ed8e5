#!/usr/bin/env bash
# Crucible's top-level test driver (used by `make test`).
#
#   scripts/run-tests.sh
#       Start throwaway PostgreSQL + MariaDB servers (scripts/test-servers.sh),
#       then configure, build and run the test suite four times: an
#       optimised gcc build in build/ (RelWithDebInfo, what `make demo`
#       builds: the warnings gcc gives only when optimising, link-time
#       optimisation, the code users run), a Debug AddressSanitizer+UBSan
#       build in build-asan/, a Debug clang build in build-clang/ and a
#       Debug ThreadSanitizer build in build-tsan/.
#
#   scripts/run-tests.sh --servers-only CMD [ARGS...]
#       Start the servers (and the scale-out topologies CRUCIBLE_SCALEOUT
#       names), export CRUCIBLE_PG_URL / CRUCIBLE_MYSQL_URL, run CMD
#       (in the current directory), stop the servers and exit with CMD's
#       status.  Handy for benchmarks or a single test binary.
#
# If the servers cannot be started, the PostgreSQL/MySQL suites are skipped
# with a warning -- unless CRUCIBLE_REQUIRE_ALL_BACKENDS=1 (as in CI), which
# makes that an error.  In --servers-only mode it is always an error.
#
# Environment: CRUCIBLE_JOBS (build and test parallelism, default 2).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo_root=$(cd "$script_dir/.." && pwd -P)
servers=$script_dir/test-servers.sh
jobs=${CRUCIBLE_JOBS:-2}

section() { printf '\n==== %s ====\n' "$*"; }
warn() { printf 'run-tests.sh: warning: %s\n' "$*" >&2; }
err() { printf 'run-tests.sh: error: %s\n' "$*" >&2; }

usage() {
    cat >&2 <<'EOF'
usage: scripts/run-tests.sh                      build and run all test suites
       scripts/run-tests.sh --servers-only CMD...  run CMD with test servers up
EOF
    exit 2
}

servers_dir=""

# Scale-out topologies (scripts/scaleout/NAME.sh start|stop DIR), started
# after the standard servers, once, and shared by the four builds; each
# writes its URLs to DIR/env. CRUCIBLE_SCALEOUT overrides the list (a
# space-separated list of names; empty for none).
all_scaleout=(pgbouncer pg-replicas mariadb-replica galera)
if [[ -v CRUCIBLE_SCALEOUT ]]; then
    read -r -a scaleout <<<"$CRUCIBLE_SCALEOUT"
else
    scaleout=("${all_scaleout[@]}")
fi
started_scaleout=()

# Start the topologies and export their variables; returns non-zero when
# one cannot be started (those started are stopped by stop_scaleout).
start_scaleout() {
    local name dir
    for name in "${scaleout[@]}"; do
        [[ -f $script_dir/scaleout/$name.sh ]] || { err "no topology scripts/scaleout/$name.sh"; return 1; }
        dir=$servers_dir/scaleout-$name
        mkdir -p "$dir"
        started_scaleout+=("$name")
        bash "$script_dir/scaleout/$name.sh" start "$dir" || { err "could not start $name"; return 1; }
        set -a
        # shellcheck source=/dev/null
        . "$dir/env"
        set +a
    done
}

stop_scaleout() {
    local i name rc=0
    for ((i = ${#started_scaleout[@]} - 1; i >= 0; i--)); do
        name=${started_scaleout[i]}
        bash "$script_dir/scaleout/$name.sh" stop "$servers_dir/scaleout-$name" || {
            err "could not stop $name cleanly"
            rc=1
        }
    done
    started_scaleout=()
    return "$rc"
}

cleanup() {
    local rc=$?
    trap - EXIT
    if [[ -n $servers_dir ]]; then
        stop_scaleout || rc=1
        if ! bash "$servers" stop "$servers_dir"; then
            err "could not stop the test servers cleanly"
            ((rc != 0)) || rc=1
        fi
        rm -rf "$servers_dir"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Start the servers and export their URLs.  Returns non-zero on failure
# (with the URLs unset).
start_servers() {
    servers_dir=$(mktemp -d "${TMPDIR:-/tmp}/crucible-test.XXXXXX")
    if bash "$servers" start "$servers_dir"; then
        # shellcheck source=/dev/null
        . "$servers_dir/env"
        export CRUCIBLE_PG_URL CRUCIBLE_MYSQL_URL
        export CRUCIBLE_TEST_SERVERS_DIR=$servers_dir
        return 0
    fi
    unset CRUCIBLE_PG_URL CRUCIBLE_MYSQL_URL
    return 1
}

if [[ ${1:-} == --servers-only ]]; then
    shift
    [[ $# -gt 0 ]] || usage
    start_servers || { err "could not start the test servers"; exit 1; }
    # Here the topologies are started only when CRUCIBLE_SCALEOUT names them.
    [[ -v CRUCIBLE_SCALEOUT ]] || scaleout=()
    start_scaleout || exit 1
    printf 'CRUCIBLE_PG_URL=%s\nCRUCIBLE_MYSQL_URL=%s\n' "$CRUCIBLE_PG_URL" "$CRUCIBLE_MYSQL_URL"
    status=0
    "$@" || status=$?
    exit "$status"
fi
[[ $# -eq 0 ]] || usage

cd "$repo_root"

section "Starting test database servers"
if start_servers; then
    echo "PostgreSQL: $CRUCIBLE_PG_URL"
    echo "MariaDB:    $CRUCIBLE_MYSQL_URL"
elif [[ ${CRUCIBLE_REQUIRE_ALL_BACKENDS:-0} == 1 ]]; then
    err "could not start the test servers and CRUCIBLE_REQUIRE_ALL_BACKENDS=1"
    exit 1
else
    warn "could not start the test servers: the PostgreSQL and MySQL suites will be SKIPPED"
fi
if [[ -n ${CRUCIBLE_PG_URL:-} ]] && ((${#scaleout[@]})); then
    section "Starting the scale-out topologies: ${scaleout[*]}"
    if ! start_scaleout; then
        if [[ ${CRUCIBLE_REQUIRE_ALL_BACKENDS:-0} == 1 ]]; then
            err "could not start the scale-out topologies and CRUCIBLE_REQUIRE_ALL_BACKENDS=1"
            exit 1
        fi
        warn "could not start the scale-out topologies: their suites will be SKIPPED"
    fi
fi

failures=()
total_passed=0
total_failed=0

# With every backend required, a missing client library fails the configure
# step instead of quietly building without that backend.
backend_mode=AUTO
[[ ${CRUCIBLE_REQUIRE_ALL_BACKENDS:-0} == 1 ]] && backend_mode=ON
backend_flags=("-DCRUCIBLE_WITH_SQLITE=$backend_mode" "-DCRUCIBLE_WITH_POSTGRESQL=$backend_mode"
               "-DCRUCIBLE_WITH_MYSQL=$backend_mode")

# run_suite NAME BUILD_DIR [CMAKE_ARGS...]: configure, build and test one
# build tree; records failures and carries on with the next suite.
run_suite() {
    local name=$1 dir=$2
    shift 2
    section "$name: configure ($dir)"
    if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug "${backend_flags[@]}" "$@"; then
        failures+=("$name: configure")
        return 0
    fi
    section "$name: build"
    if ! cmake --build "$dir" -j "$jobs"; then
        failures+=("$name: build")
        return 0
    fi
    section "$name: test"
    local log
    log=$(mktemp)
    if ! ctest --test-dir "$dir" --output-on-failure -j "$jobs" | tee "$log"; then
        failures+=("$name: tests")
    fi
    # "100% tests passed, 0 tests failed out of 9"
    local summary passed_failed
    summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1 || true)
    rm -f "$log"
    if [[ $summary =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
        passed_failed=("${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
        total_failed=$((total_failed + passed_failed[0]))
        total_passed=$((total_passed + passed_failed[1] - passed_failed[0]))
    fi
}

run_suite "gcc, optimised" build -DCMAKE_BUILD_TYPE=RelWithDebInfo

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite "ASan+UBSan" build-asan -DCRUCIBLE_SANITIZE=ON

# The library must build warning-free (-Werror) with clang as with gcc.
unset ASAN_OPTIONS UBSAN_OPTIONS
run_suite "clang" build-clang -DCMAKE_C_COMPILER=clang

# The engine and its pool are shared between threads: ThreadSanitizer.
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_suite "TSan" build-tsan -DCRUCIBLE_SANITIZE_THREAD=ON
unset TSAN_OPTIONS

# Stop the servers now, so that the tally below is the run's last line.
if [[ -n $servers_dir ]]; then
    stop_scaleout || failures+=("stopping the scale-out topologies")
    bash "$servers" stop "$servers_dir" || failures+=("stopping the test servers")
    rm -rf "$servers_dir"
    servers_dir=""
fi

section "Summary"
if [[ -z ${CRUCIBLE_PG_URL:-} ]]; then
    warn "PostgreSQL and MySQL suites were skipped (no test servers)"
fi
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "tests: $total_passed passed, $total_failed failed"
((${#failures[@]} == 0))
