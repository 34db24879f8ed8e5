/* sqlite_dialect.c — how SQL is written for SQLite. */
#include "dialects/dialect.h"
#include "schema/ddl.h"
#include "schema/inspect.h"

const cr_dialect cr_sqlite_dialect = {
    .name = "sqlite",
    .param_style = CR_PARAM_QMARK,         /* ? as SQLAlchemy writes it: no per-number lookups */
    .quote = '"',
    .reserved = cr_reserved_words,
    .nreserved = CR_NRESERVED_WORDS,
    .limit_style = CR_LIMIT_OFFSET,
    .upsert_style = CR_UPSERT_ON_CONFLICT,
    .native_boolean = false,       /* booleans are 0 / 1 */
    .has_ilike = false,
    .has_full_outer_join = true,   /* SQLite 3.39+ */
    .has_nulls_ordering = true,    /* SQLite 3.30+ */
    .has_intersect_except = true,
    .has_returning = true,         /* SQLite 3.35+ */
    .has_returning_update = true,
    .has_lastrowid = true,
    .has_for_update = false,       /* the database lock is stronger: FOR UPDATE is left out */
    .has_skip_locked = false,
    .has_cte_in_subquery = true,
    .compound_member_subquery = true,
    .upsert_select_where = true,
    .upsert_no_default_values = true,
    .length_function = "length",
    .empty_in = "1 != 1",
    .empty_insert = "DEFAULT VALUES",
    .max_params = 32766,
    .ddl = &cr_sqlite_ddl,
    .reflect = &cr_sqlite_reflect,
};
