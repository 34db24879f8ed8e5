#!/usr/bin/env bash
# codegen_roundtrip.sh BACKEND CRUCIBLE SCHEMA CC INCLUDE_DIR LIBRARY SCRATCH_DB [CFLAGS...]
#
# The round trip of `crucible codegen`: a schema declared in C
# (codegen_schema.c) is created in the database; `crucible inspect` lists
# it; `crucible codegen` declares it in a header; a program compiled against
# that header (codegen_check.c) drops the tables, creates them again from the
# generated declarations and uses the generated models and relationships;
# `crucible inspect` must then list exactly the same schema. In a database of
# its own (scratch.sh).
set -euo pipefail
backend=$1 crucible=$2 schema=$3 cc=$4 include=$5 library=$6 scratch_db=$7
shift 7
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scratch.sh
. "$here/scratch.sh"
scratch_database "$backend" "$scratch_db" codegen
work=$WORK url=$URL
tables="cg_users,cg_posts,cg_profiles,cg_tags,cg_post_tags,cg_regions,cg_offices,cg_audit,cg odd-names"

"$schema" "$url"
"$crucible" inspect "$url" --tables "$tables" >"$work/before.txt"
"$crucible" codegen "$url" --tables "$tables" -o "$work/models.h"
"$cc" -std=c11 -Wall -Wextra -Werror "$@" -I "$work" -I "$include" "$here/codegen_check.c" \
    -o "$work/check" "$library" -Wl,-rpath,"$(dirname "$library")"
"$work/check" "$url"
"$crucible" inspect "$url" --tables "$tables" >"$work/after.txt"
if ! diff -u "$work/before.txt" "$work/after.txt"; then
    echo "the schema created from the generated header differs (above); the header:" >&2
    cat "$work/models.h" >&2
    exit 1
fi
# Tables only: the same round trip without models.
"$crucible" codegen "$url" --tables "$tables" --tables-only -o "$work/tables.h"
grep -q CR_DECLARE_MODEL "$work/tables.h" && { echo "--tables-only wrote a model" >&2; exit 1; }
# Bad input: a clear message and a non-zero status, never a crash.
expect_fail() {   # STATUS TEXT COMMAND...
    local want=$1 text=$2 status=0
    shift 2
    "$@" >"$work/out" 2>"$work/err" || status=$?
    if [[ $status != "$want" ]] || ! grep -q -- "$text" "$work/err"; then
        echo "'$*' exited $status (want $want) saying: $(cat "$work/err")" >&2
        exit 1
    fi
}
expect_fail 2 "unknown command" "$crucible" frobnicate "$url"
expect_fail 2 "usage" "$crucible" inspect
expect_fail 2 "needs a value" "$crucible" codegen "$url" --prefix
expect_fail 1 "not a C identifier" "$crucible" codegen "$url" --prefix 9lives
expect_fail 1 "cannot connect" "$crucible" inspect "nosuchdb://x"
echo "codegen round trip on $backend: $(grep -c '^table ' "$work/before.txt") tables, same schema"
