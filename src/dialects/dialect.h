/* dialect.h — what each backend's SQL looks like: quoting, parameters, features, DDL, reflection. */
#ifndef CR_DIALECT_H
#define CR_DIALECT_H

#include "dialects/driver.h"

struct cr_ddl_ops;       /* schema/ddl.h     — per-dialect DDL            */
struct cr_reflect_ops;   /* schema/inspect.h — per-dialect reflection     */

typedef enum cr_limit_style {
    CR_LIMIT_OFFSET,         /* LIMIT ? OFFSET ?; OFFSET alone: LIMIT -1 OFFSET ? (SQLite) */
    CR_LIMIT_PG,             /* LIMIT ? OFFSET ?; OFFSET alone: OFFSET ?                   */
    CR_LIMIT_MYSQL           /* LIMIT ?, ? (offset first); OFFSET alone: LIMIT ?, 18446744073709551615 */
} cr_limit_style;

typedef enum cr_upsert_style {
    CR_UPSERT_ON_CONFLICT,   /* ON CONFLICT (cols) DO NOTHING / DO UPDATE SET col = excluded.col */
    CR_UPSERT_ON_DUPLICATE   /* ON DUPLICATE KEY UPDATE col = VALUES(col)                        */
} cr_upsert_style;

/* A dialect: data and a few hooks. The SQL compiler and the DDL compiler
 * are generic and ask these; nothing above dialects/ names a backend. */
typedef struct cr_dialect {
    const char *name;              /* "sqlite", "postgresql", "mysql", "default" */
    cr_param_style param_style;
    char quote;                    /* identifier quote: '"' or '`'               */
    /* Lower-case reserved words, sorted (bsearch), that must be quoted. */
    const char *const *reserved;
    size_t nreserved;

    cr_limit_style limit_style;
    cr_upsert_style upsert_style;
    bool native_boolean;           /* true / false literals and a BOOLEAN type  */
    bool has_ilike;
    bool has_full_outer_join;
    bool has_nulls_ordering;       /* NULLS FIRST / LAST                         */
    bool nulls_sort_high;          /* NULL sorts above every value (ASC: last)   */
    bool has_intersect_except;
    bool concat_function;          /* CONCAT(a, b) rather than a || b            */
    bool has_returning;            /* INSERT / UPDATE / DELETE ... RETURNING     */
    bool has_returning_update;     /* (MariaDB: insert and delete only)          */
    bool has_lastrowid;            /* the driver reports a one-row INSERT's key  */
    bool has_for_update;
    bool has_skip_locked;          /* NOWAIT and SKIP LOCKED                     */
    bool percent_is_mod;           /* % for modulo needs no escaping             */
    bool backslash_escapes;        /* '\' escapes in string literals (MySQL)     */
    bool has_cte_in_subquery;
    bool compound_member_subquery; /* a member that needs grouping is
                                    * SELECT * FROM (...), not (...) (SQLite)     */
    bool upsert_select_where;      /* INSERT ... SELECT needs a WHERE before ON
                                    * CONFLICT (SQLite's parsing ambiguity)       */
    bool upsert_no_default_values; /* DEFAULT VALUES takes no ON CONFLICT (SQLite) */
    bool cast_untyped_text;        /* a text parameter no column types renders as
                                    * $1::VARCHAR (PostgreSQL cannot infer it in
                                    * $1 IS NULL, $1 || $2 ...)                   */
    const char *length_function;   /* "length" or "char_length"                  */
    const char *empty_in;          /* the SQL of a false condition: "1 != 1"     */
    const char *empty_insert;      /* INSERT of no columns: "DEFAULT VALUES"     */
    size_t max_params;             /* bound parameters one statement may hold     */

    const struct cr_ddl_ops *ddl;
    const struct cr_reflect_ops *reflect;
} cr_dialect;

/* The dialect of a backend by name, or NULL. NULL or "default" gives the
 * generic dialect that renders :name parameters (str(stmt)). */
const cr_dialect *cr_dialect_find(const char *name);

/* Append name as an identifier: quoted when it is a reserved word or is not
 * a plain lower-case identifier, with the quote character doubled inside. */
void cr_dialect_quote(const cr_dialect *d, cr_buf *b, const char *name);

/* The words every dialect quotes (dialect.c), sorted. */
#define CR_NRESERVED_WORDS 202
extern const char *const cr_reserved_words[CR_NRESERVED_WORDS];

extern const cr_dialect cr_sqlite_dialect;
extern const cr_dialect cr_postgresql_dialect;
extern const cr_dialect cr_mysql_dialect;
extern const cr_dialect cr_default_dialect;

#endif
