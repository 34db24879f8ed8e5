#!/bin/sh
# check-misuse-coverage.sh — fails when a public function (CR_API in the public headers) is not called by the misuse sweep (tests/unit/test_misuse.c).
#
# Usage: check-misuse-coverage.sh <include dir> <test_misuse.c>
# The headers and the sweep are read with comments and preprocessor lines
# removed; a function counts as covered when the sweep calls it, by name
# followed by "(" (directly or through the header's macro of the same name),
# outside comments, string literals and the sweep's own #define lines.
set -eu
inc=${1:?include dir}
sweep=${2:?sweep source}

strip() {
    # Comments out, preprocessor lines (with their continuations) out.
    perl -0777 -pe 's{/\*.*?\*/}{ }gs; s{//[^\n]*}{}g; s{^[ \t]*#(?:[^\n]*\\\n)*[^\n]*}{}gm' "$@"
}

api=$(strip "$inc/crucible.h" "$inc"/crucible/*.h |
      perl -0777 -ne 'while (/\bCR_API\b[^;(]*?\b([A-Za-z_]\w*)\s*\(/g) { print "$1\n" }' |
      sort -u)
count=$(printf '%s\n' "$api" | grep -c .)
if [ "$count" -lt 100 ]; then
    echo "check-misuse-coverage: found only $count CR_API functions in $inc: the extraction is broken" >&2
    exit 1
fi
# (String literals out too: a name in a message is no call.)
called=$(strip "$sweep" | perl -0777 -pe 's{"(?:[^"\\\n]|\\.)*"}{""}g' | perl -0777 -ne 'while (/\b([A-Za-z_]\w*)\s*\)?\s*\(/g) { print "$1\n" }' |
         sort -u)
missing=$(printf '%s\n' "$api" | grep -vxF -e "$called" || true)
if [ -n "$missing" ]; then
    echo "check-misuse-coverage: public functions not exercised by $(basename "$sweep"):" >&2
    printf '  %s\n' $missing >&2
    echo "Add a NULL-argument and wrong-state check for each to the sweep." >&2
    exit 1
fi
echo "check-misuse-coverage: all $count public functions are exercised by $(basename "$sweep")"
