/* inspect.h — the Inspector's per-dialect part: the queries that read each backend's catalog. */
#ifndef CR_INSPECT_H
#define CR_INSPECT_H

#include "base/base.h"
#include "dialects/dialect.h"
#include "engine/engine.h"
#include "schema/schema.h"

/* What a constraint query reads; passed to the dialect's fix-up hook. */
typedef enum cr_reflect_kind {
    CR_REFLECT_PK,
    CR_REFLECT_FK,
    CR_REFLECT_INDEX,
    CR_REFLECT_UNIQUE
} cr_reflect_kind;

typedef struct cr_reflect_ops cr_reflect_ops;

struct cr_inspector {
    cr_conn *conn;               /* NULL once the connection is closed */
    cr_conn_ref ref;             /* keeps conn so */
    const cr_reflect_ops *ops;
    cr_arena arena;              /* everything the getters return */
};

/* A dialect's catalog queries. Every query but table_names_sql takes the
 * table name as the one parameter :name (never pasted into the SQL), reads
 * the current schema / database only, and returns its columns by position:
 *
 *   table_names_sql  name                           (no parameter)
 *   has_table_sql    any row when the table or a view of that name exists
 *   columns_sql      name, type_name, nullable, default_sql, autoincrement,
 *                    comment, enum_name             in column order
 *   constraint queries (pk, foreign_keys, indexes, unique):
 *                    group, name, column, then for foreign keys
 *                    referred_table, referred_column, ondelete, onupdate,
 *                    for indexes unique — one row per column, the rows of one
 *                    constraint adjacent (same group) and in key order.
 *
 * Booleans may come back as booleans, integers or 't'/'f' text. The hooks,
 * optional, fix what a query alone cannot say (constraint names that only
 * the CREATE TABLE text holds, enum labels); they allocate in insp->arena. */
struct cr_reflect_ops {
    const char *table_names_sql;
    const char *has_table_sql;
    const char *columns_sql;
    const char *pk_sql;
    const char *foreign_keys_sql;
    const char *indexes_sql;
    const char *unique_sql;
    cr_status (*fix_columns)(cr_inspector *insp, const char *table, cr_reflected_column *cols,
                             size_t n);
    cr_status (*fix_constraints)(cr_inspector *insp, const char *table, cr_reflect_kind kind,
                                 cr_reflected_constraint *cons, size_t n);
};

/* Helpers for the hooks. */

/* Run sql with :name bound to table (table NULL: no parameter) and read all
 * its rows; NULL on error (recorded on the connection). The caller frees
 * the rowset with cr_rowset_free. */
cr_rowset *cr_reflect_query(cr_inspector *insp, const char *sql, const char *table);
/* A copy in the inspector's arena of text of length len; NULL when out of
 * memory (recorded on the connection). */
char *cr_reflect_strndup(cr_inspector *insp, const char *s, size_t len);
/* Record out of memory on the inspector's connection; returns CR_ERR_NO_MEMORY. */
cr_status cr_reflect_oom(cr_inspector *insp);
/* The value at col as text copied into the arena, NULL for SQL NULL (and out
 * of memory: check *oom). Integers and booleans are rendered as text. */
const char *cr_reflect_text(cr_inspector *insp, const cr_row *row, int col, bool *oom);
/* The value at col as a truth value: booleans, non-zero integers, and text
 * "t", "true", "1", "yes". NULL is false. */
bool cr_reflect_bool(const cr_row *row, int col);
/* Map a type as the database spells it ("VARCHAR(50)", "numeric(10,2)",
 * "timestamp with time zone", "tinyint(1)", "enum('a','b')") to a Crucible
 * type. Enum labels written in the text are parsed into the arena. Unknown
 * types map to CR_SQLTYPE_NONE. CR_ERR_NO_MEMORY when out of memory. */
cr_status cr_reflect_parse_type(cr_inspector *insp, const char *type_name, cr_sqltype *out);

extern const cr_reflect_ops cr_sqlite_reflect;
extern const cr_reflect_ops cr_postgresql_reflect;
extern const cr_reflect_ops cr_mysql_reflect;

#endif
