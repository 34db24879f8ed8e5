#!/usr/bin/env bash
# check-example.sh — runs an example program against one backend and compares its stdout with its .expected file.
#
#   tests/examples/check-example.sh BINARY EXPECTED BACKEND
#
# BACKEND is sqlite (run in a fresh temporary working directory, on the
# default my_sqlite_db.db), postgresql (DATABASE_URL=$CRUCIBLE_PG_URL) or
# mysql (DATABASE_URL=$CRUCIBLE_MYSQL_URL). A server backend whose URL is
# unset is skipped (exit 77), or fails when CRUCIBLE_REQUIRE_ALL_BACKENDS=1,
# as the backend suites do.
#
# With CRUCIBLE_EXAMPLE_UNDER set (a command and its options, such as
# valgrind's), the example runs under it: whatever it writes to stderr fails
# the check, as the example's own stderr does.
#
# Only datetimes are masked (as <datetime>, with or without a fraction). The
# expected file writes the engine's URL as @URL@: the URL the example was
# given, its password replaced by ***.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 BINARY EXPECTED sqlite|postgresql|mysql" >&2
    exit 2
fi
binary=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")
name=$(basename "$1")
expected=$2
backend=$3

case $backend in
sqlite) url="" ;;
postgresql) url=${CRUCIBLE_PG_URL:-} ;;
mysql) url=${CRUCIBLE_MYSQL_URL:-} ;;
*) echo "check-example.sh: unknown backend '$backend'" >&2; exit 2 ;;
esac
if [[ $backend != sqlite && -z $url ]]; then
    if [[ ${CRUCIBLE_REQUIRE_ALL_BACKENDS:-0} == 1 ]]; then
        echo "check-example.sh: no URL for $backend (CRUCIBLE_PG_URL / CRUCIBLE_MYSQL_URL)" >&2
        exit 1
    fi
    echo "check-example.sh: $backend skipped: no URL in the environment" >&2
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/example.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ $backend == sqlite ]]; then
    shown="sqlite:///my_sqlite_db.db"
    # shellcheck disable=SC2086
    (cd "$work" && env -u DATABASE_URL -u CRUCIBLE_ECHO ${CRUCIBLE_EXAMPLE_UNDER:-} "$binary") \
        >"$work/stdout" 2>"$work/stderr" && rc=0 || rc=$?
else
    # scheme://user:password@host... -> scheme://user:***@host...
    shown=$(printf '%s' "$url" | sed -E 's#^([^:/]+://[^:@/]*):[^@/]*@#\1:***@#')
    # shellcheck disable=SC2086
    (cd "$work" && env -u CRUCIBLE_ECHO DATABASE_URL="$url" ${CRUCIBLE_EXAMPLE_UNDER:-} "$binary") \
        >"$work/stdout" 2>"$work/stderr" && rc=0 || rc=$?
fi

if [[ $rc -ne 0 ]]; then
    echo "check-example.sh: $name exited with status $rc on $backend" >&2
    cat "$work/stderr" >&2
    exit 1
fi
if [[ -s $work/stderr ]]; then
    echo "check-example.sh: $name wrote to stderr on $backend:" >&2
    cat "$work/stderr" >&2
    exit 1
fi

sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?/<datetime>/g' \
    "$work/stdout" >"$work/actual"
SHOWN_URL=$shown awk '{
    i = index($0, "@URL@")
    if (i) $0 = substr($0, 1, i - 1) ENVIRON["SHOWN_URL"] substr($0, i + 5)
    print
}' "$expected" >"$work/expected"

if ! diff -u "$work/expected" "$work/actual"; then
    echo "check-example.sh: the output on $backend differs from $expected (- expected, + actual)" >&2
    exit 1
fi
echo "$name on $backend: $(wc -l <"$work/actual") lines as expected"
