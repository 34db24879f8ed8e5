#!/bin/sh
# through-pgbouncer.sh — run a PostgreSQL backend suite through PgBouncer (pool_mode=transaction) with prepared_statements=false.
#
#   through-pgbouncer.sh PROGRAM
#
# PROGRAM (test_core, test_orm ...) runs as `PROGRAM postgresql` with
# CRUCIBLE_PG_URL pointing at CRUCIBLE_PGBOUNCER_URL (scripts/scaleout/
# pgbouncer.sh), whose few server connections its connections share one
# transaction at a time. Without CRUCIBLE_PGBOUNCER_URL: skipped (exit 77),
# or a failure when CRUCIBLE_REQUIRE_ALL_BACKENDS=1.
set -eu
prog=$1
if [ -z "${CRUCIBLE_PGBOUNCER_URL:-}" ]; then
    if [ "${CRUCIBLE_REQUIRE_ALL_BACKENDS:-0}" = 1 ]; then
        echo "CRUCIBLE_PGBOUNCER_URL is not set: no PgBouncer to test against (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)" >&2
        exit 1
    fi
    echo "CRUCIBLE_PGBOUNCER_URL is not set: no PgBouncer to test against; skipping" >&2
    exit 77
fi
case $CRUCIBLE_PGBOUNCER_URL in
    *\?*) sep='&' ;;
    *) sep='?' ;;
esac
CRUCIBLE_PG_URL="$CRUCIBLE_PGBOUNCER_URL${sep}prepared_statements=false"
export CRUCIBLE_PG_URL
exec "$prog" postgresql
