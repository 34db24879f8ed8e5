#!/usr/bin/env bash
# cli_migrate.sh BACKEND CRUCIBLE SCRATCH_DB
#
# The `crucible` command's migration workflow on one backend, in a database
# of its own (scratch.sh): revision
# files written by `crucible revision` and filled in, upgrade, current,
# history, heads, the check, downgrade, stamp, offline SQL, a merge of two
# branches; and bad input answered with a clear message and a non-zero status.
set -euo pipefail
backend=$1 crucible=$2 scratch_db=$3
# shellcheck source=scratch.sh
. "$(dirname "${BASH_SOURCE[0]}")/scratch.sh"
scratch_database "$backend" "$scratch_db" cli
work=$WORK url=$URL
dir=$work/migrations
cr() { "$crucible" "$@" -d "$dir"; }
fail() { echo "cli_migrate: $*" >&2; exit 1; }
expect() {   # WANT GOT WHAT
    [[ $2 == "$1" ]] || fail "$3: got '$2', want '$1'"
}

# Fill in a revision file's sections (`crucible revision` prints its path).
fill() {   # FILE UPGRADE DOWNGRADE
    local f=$1
    shift
    awk -v up="$1" -v down="$2" '
        { print }
        /^-- upgrade$/ { print up }
        /^-- downgrade$/ { print down }' "$f" >"$f.new"
    mv "$f.new" "$f"
}
id_of() { sed -n 's/^-- revision: //p' "$1"; }

f=$(cr revision "create users")
fill "$f" "create_table cli_users (id integer primary key, name varchar(50) not null)" \
     "drop_table cli_users"
r1=$(id_of "$f")
f=$(cr revision -m "users get an email")   # Alembic's spelling
fill "$f" "add_column cli_users email varchar(100)" "drop_column cli_users email"
r2=$(id_of "$f")

expect "<base>" "$(cr current "$url")" "current before any upgrade"
expect "$r2 (head)" "$(cr heads)" "heads"
[[ $(cr history | head -n 1) == "$r1 -> $r2 (head), users get an email" ]] ||
    fail "history: $(cr history)"
cr check "$url" | grep -q "found nothing" || fail "check: $(cr check "$url")"
cr upgrade "$url" --sql | grep -q 'CREATE TABLE' || fail "offline SQL has no CREATE TABLE"
expect "<base>" "$(cr current "$url")" "--sql ran nothing"

cr upgrade "$url"
expect "$r2" "$(cr current "$url")" "current after upgrade"
"$crucible" inspect "$url" --tables cli_users | grep -q "column email" ||
    fail "no email column after upgrade"

cr downgrade "$url" "$r1"
expect "$r1" "$(cr current "$url")" "current after downgrade"
"$crucible" inspect "$url" --tables cli_users | grep -q "column email" &&
    fail "email column still there after downgrade"

cr stamp "$url" head
expect "$r2" "$(cr current "$url")" "current after stamp"
cr stamp "$url" "$r1"
cr upgrade "$url"

# Two branches and their merge.
f=$(cr revision "add an index")
fill "$f" "create_index ix_cli_users_name on cli_users (name)" "drop_index ix_cli_users_name on cli_users"
sed -i "s/^-- parent: .*/-- parent: $r1/" "$f"   # a second branch, from r1
[[ $(cr heads | wc -l) == 2 ]] || fail "two heads expected: $(cr heads)"
"$crucible" revision "third" -d "$dir" >"$work/out" 2>&1 && fail "revision with two heads succeeded"
grep -q "heads" "$work/out" || fail "revision with two heads: $(cat "$work/out")"
cr merge "merge the branches" >/dev/null
expect 1 "$(cr heads | wc -l)" "heads after merge"
cr upgrade "$url"
"$crucible" inspect "$url" --tables cli_users | grep -q "index ix_cli_users_name" ||
    fail "no index after upgrading through the merge"

# A drop is flagged by the check and refused by --strict.
f=$(cr revision "drop the email")
fill "$f" "drop_column cli_users email" "add_column cli_users email varchar(100)"
cr check "$url" >"$work/out" 2>&1 && fail "check passed over a dropped column"
grep -q "drop" "$work/out" || fail "check: $(cat "$work/out")"
cr upgrade "$url" --strict >"$work/out" 2>&1 && fail "--strict ran a dropped column"
cr downgrade "$url" base
expect "<base>" "$(cr current "$url")" "current after downgrade to base"

# Bad input: a clear message, a non-zero status, nothing half done.
expect_fail() {   # STATUS TEXT COMMAND...
    local want=$1 text=$2 status=0
    shift 2
    "$@" >"$work/out" 2>"$work/err" || status=$?
    [[ $status == "$want" ]] && grep -q -- "$text" "$work/err" ||
        fail "'$*' exited $status (want $want) saying: $(cat "$work/err")"
}
expect_fail 1 "no revision 'nosuch'" "$crucible" upgrade "$url" nosuch -d "$dir"
expect_fail 1 "downgrade needs a target" "$crucible" downgrade "$url" -d "$dir"
expect_fail 1 "cannot open the migrations directory" "$crucible" current "$url" -d "$work/none"
printf -- '-- revision: bad1\n-- upgrade\nfrobnicate cli_users\n-- downgrade\n' >"$dir/zz_bad.rev"
expect_fail 1 "zz_bad.rev:3" "$crucible" upgrade "$url" -d "$dir"
rm "$dir/zz_bad.rev"
expect "<base>" "$(cr current "$url")" "current after a refused upgrade"
echo "crucible migration commands on $backend: ok"
