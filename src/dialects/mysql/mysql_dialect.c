/* mysql_dialect.c — how SQL is written for MySQL and MariaDB. */
#include "dialects/dialect.h"
#include "schema/ddl.h"
#include "schema/inspect.h"

const cr_dialect cr_mysql_dialect = {
    .name = "mysql",
    .param_style = CR_PARAM_QMARK,
    .quote = '`',
    .reserved = cr_reserved_words,
    .nreserved = CR_NRESERVED_WORDS,
    .limit_style = CR_LIMIT_MYSQL,
    .upsert_style = CR_UPSERT_ON_DUPLICATE,
    .native_boolean = false,       /* BOOL is TINYINT(1): true / false render 1 / 0 */
    .has_ilike = false,
    .has_full_outer_join = false,
    .has_nulls_ordering = false,   /* emulated with an IS NULL sort key */
    .has_intersect_except = true,  /* MariaDB 10.3+, MySQL 8.0.31+ */
    .concat_function = true,
    .has_returning = true,         /* MariaDB 10.5+: INSERT and DELETE */
    .has_returning_update = false,
    .has_lastrowid = true,
    .has_for_update = true,
    .has_skip_locked = true,       /* MariaDB 10.6+, MySQL 8.0+ */
    .backslash_escapes = true,
    .has_cte_in_subquery = true,
    .length_function = "char_length",
    .empty_in = "1 != 1",
    .empty_insert = "() VALUES ()",
    .max_params = 65535,
    .ddl = &cr_mysql_ddl,
    .reflect = &cr_mysql_reflect,
};
