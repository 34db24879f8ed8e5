#!/usr/bin/env bash
# check-tutorial.sh BACKEND CC INCLUDE_DIR LIBRARY TUTORIAL CACHE_DIR SCRATCH_DB [CFLAGS...]
#
# docs/tutorial.md cannot go stale: each chapter ("## N. Title") is one
# program made of its ```c blocks in order, compiled with -Werror against the
# library and run on BACKEND's database; its stdout must equal the chapter's
# ```output blocks, in order. The programs are kept in CACHE_DIR, so that the
# runs on the other backends compile only what changed. On PostgreSQL and
# MariaDB the chapters run in a database of their own (scratch.sh), for the
# test database holds other suites' tables, users and posts among them.
set -euo pipefail
backend=$1 cc=$2 include=$3 library=$(realpath "$4") tutorial=$5 cache=$6 scratch_db=$7
shift 7
mkdir -p "$cache"
# shellcheck source=../tools/scratch.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tools/scratch.sh"
scratch_database "$backend" "$scratch_db" tutorial
work=$WORK url=$URL

# Split the tutorial: chapter N's code into N.c, its output into N.out.
awk -v dir="$work" '
    /^## [0-9]+\./ { chapter = $2; sub(/\.$/, "", chapter); next }
    /^```c$/ && chapter != "" { into = dir "/" chapter ".c"; next }
    /^```output$/ && chapter != "" { into = dir "/" chapter ".out"; printf "" >> into; next }
    /^```/ { into = ""; next }
    into != "" { print >> into }
' "$tutorial"

chapters=0
for src in "$work"/*.c; do
    n=$(basename "$src" .c)
    if ! cmp -s "$src" "$cache/$n.c" || [[ ! -x $cache/$n || $library -nt $cache/$n ]]; then
        "$cc" -std=c11 -Wall -Wextra -Werror "$@" -I "$include" "$src" -o "$work/$n" \
            "$library" -Wl,-rpath,"$(dirname "$library")" ||
            { echo "chapter $n does not compile" >&2; exit 1; }
        mv "$work/$n" "$cache/$n"
        cp "$src" "$cache/$n.c"
    fi
    (cd "$work" && DATABASE_URL=$url "$cache/$n") >"$work/$n.got" ||
        { echo "chapter $n exited with status $?; it printed:" >&2; cat "$work/$n.got" >&2; exit 1; }
    if ! diff -u "$work/$n.out" "$work/$n.got"; then
        echo "chapter $n printed something else than the tutorial says (above)" >&2
        exit 1
    fi
    chapters=$((chapters + 1))
done
[[ $chapters -ge 7 ]] || { echo "only $chapters chapters found" >&2; exit 1; }
echo "tutorial on $backend: $chapters chapters compiled, run and matched"
