/* postgresql_dialect.c — how SQL is written for PostgreSQL. */
#include "dialects/dialect.h"
#include "schema/ddl.h"
#include "schema/inspect.h"

const cr_dialect cr_postgresql_dialect = {
    .name = "postgresql",
    .param_style = CR_PARAM_DOLLAR,
    .quote = '"',
    .reserved = cr_reserved_words,
    .nreserved = CR_NRESERVED_WORDS,
    .limit_style = CR_LIMIT_PG,
    .upsert_style = CR_UPSERT_ON_CONFLICT,
    .native_boolean = true,
    .has_ilike = true,
    .has_full_outer_join = true,
    .has_nulls_ordering = true,
    .nulls_sort_high = true,
    .has_intersect_except = true,
    .has_returning = true,
    .has_returning_update = true,
    .has_lastrowid = false,
    .has_for_update = true,
    .has_skip_locked = true,
    .has_cte_in_subquery = true,
    .cast_untyped_text = true,
    .length_function = "length",
    .empty_in = "1 != 1",
    .empty_insert = "DEFAULT VALUES",
    .max_params = 65535,
    .ddl = &cr_postgresql_ddl,
    .reflect = &cr_postgresql_reflect,
};
