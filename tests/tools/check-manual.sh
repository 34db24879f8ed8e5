#!/bin/sh
# check-manual.sh MANGEN DOC_DIR SOURCE_DIR — the reference manual is whole and well-formed:
# every CR_API function has a comment (mangen --check), every generated man
# page and the command's page render with groff without a warning, the index
# names every page, and the HTML page has an anchor for every function.
set -eu
mangen=$1 doc=$2 src=$3
"$mangen" --check "$src"/include/crucible.h "$src"/include/crucible/*.h
cd "$doc"
warnings=$(groff -man -Tutf8 -ww -z man3/*.3 "$src/docs/man/crucible.1" 2>&1 || true)
if [ -n "$warnings" ]; then
    echo "groff warnings:" >&2
    echo "$warnings" | head -n 20 >&2
    exit 1
fi
# Every page's name, in the index (.BR name (3)) and the HTML (id="name").
ls man3 | sed -n 's/\.3$//p' | grep -vx crucible | sort >names.txt
sed -n 's/^\.BR \([^ ]*\) (3)$/\1/p' man3/crucible.3 | sort -u >index.txt
grep -o 'id="[^"]*"' html/reference.html | sed 's/^id="//; s/"$//' | sort -u >html.txt
missing=$(comm -23 names.txt index.txt; comm -23 names.txt html.txt)
if [ -n "$missing" ]; then
    echo "pages missing from crucible(3) or reference.html:" >&2
    echo "$missing" | head -n 20 >&2
    exit 1
fi
pages=$(wc -l <names.txt)
rm -f names.txt index.txt html.txt
[ "$pages" -gt 300 ] || { echo "only $pages pages" >&2; exit 1; }
echo "manual: $pages pages, all in the index and the HTML reference"
