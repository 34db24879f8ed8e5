/* sqlite_limits.h — bounds on what fuzzed SQL may cost on a connection of the SQLite driver. */
#ifndef CRUCIBLE_FUZZ_SQLITE_LIMITS_H
#define CRUCIBLE_FUZZ_SQLITE_LIMITS_H

#include "engine/engine.h"

#include <sqlite3.h>

static int fuzz_progress(void *ctx)
{
    (void)ctx;
    return 1;   /* interrupt: the statement ran too long (a recursive CTE, say) */
}

/* The SQLite handle under a connection of the SQLite driver: the first field
 * of its cr_driver_conn (sqlite_driver.c). Only the fuzz targets reach in. */
static inline sqlite3 *fuzz_sqlite_handle(cr_conn *c)
{
    return *(sqlite3 **)(void *)c->pc->dc;
}

/* Interrupt any statement after a few million virtual machine steps and cap
 * strings and blobs at 1 MB, so that a fuzzed statement costs little. */
static inline void fuzz_limit_sqlite(cr_conn *c)
{
    sqlite3 *db = fuzz_sqlite_handle(c);
    sqlite3_progress_handler(db, 2000000, fuzz_progress, NULL);
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1000000);
}

#endif
