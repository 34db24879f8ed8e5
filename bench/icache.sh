#!/bin/bash
# icache.sh — where a SQLite primary-key lookup's time goes beyond the raw
# library: instructions, and the level-1 instruction cache, simulated by
# valgrind's callgrind on this machine's cache geometry.
#
#   bench/icache.sh [BUILD_DIR]      (default build-release; needs valgrind, python3)
#
# For the raw loop (rawsl_lookup) and the reused select() (core_lookup_reused)
# it prints, per lookup: instructions, simulated I1 misses, the code lines
# (64 bytes) run by most lookups — the client library's, Crucible's and the
# C library's — and how many of those fall in cache sets holding more lines
# than the cache's ways, which then miss on every lookup.
set -euo pipefail
build=${1:-build-release}
bench=$build/bench/bench
[[ -x $bench ]] || { echo "icache.sh: no $bench (make bench builds it)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "icache.sh: valgrind is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for fn in rawsl_lookup core_lookup_reused; do
    valgrind --tool=callgrind --cache-sim=yes --dump-instr=yes --compress-pos=no \
        --compress-strings=no --callgrind-out-file="$work/$fn.out" --toggle-collect="$fn" \
        "$bench" sqlite --only lookup --rows 100000 --reps 1 >"$work/$fn.log" 2>&1 ||
        { cat "$work/$fn.log" >&2; exit 1; }
    python3 - "$work/$fn.out" "$fn" <<'PY'
import collections, re, sys
path, name = sys.argv[1], sys.argv[2]
ob, incall, events, totals = '', False, [], None
hot, runs, geometry = set(), None, None
lines = open(path).read().splitlines()
for l in lines:
    if l.startswith('events:'):
        events = l.split()[1:]
    elif l.startswith('desc: I1 cache:'):
        m = re.search(r'(\d+) B, (\d+) B, (\d+)-way', l)
        geometry = tuple(int(x) for x in m.groups())
    elif l.startswith('totals:') or l.startswith('summary:'):
        totals = [int(x) for x in l.split()[1:]]
n = 10000   # the lookups of --rows 100000
for l in lines:
    if l.startswith('ob='):
        ob = l[3:].strip().split('/')[-1]
    elif l[:4] in ('cob=', 'cfn=', 'cfi=', 'cfl='):
        continue
    elif l.startswith('calls='):
        incall = True
    elif l.startswith('0x'):
        if incall:
            incall = False
            continue
        p = l.split()
        if len(p) > 2 and int(p[2]) >= n // 2:
            hot.add((ob, int(p[0], 16) >> 6))
size, line, ways = geometry
nsets = size // line // ways
sets = collections.Counter(a % nsets for _, a in hot)
over = sum(c for c in sets.values() if c > ways)
by_ob = collections.Counter(o for o, _ in hot)
ir, i1 = totals[events.index('Ir')], totals[events.index('I1mr')]
print(f"{name:20s} per lookup: {ir / n:5.0f} instructions, {i1 / n:5.1f} I1 misses; "
      f"hot code lines {len(hot)} ({', '.join(f'{o} {c}' for o, c in by_ob.most_common())}); "
      f"{over} in sets over {ways} ways")
PY
done
