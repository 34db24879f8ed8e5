/* mysql_reflect.c — how the Inspector reads MySQL / MariaDB's catalog (information_schema, DATABASE()). */
#include "schema/inspect.h"

#include <string.h>

/* MariaDB writes a column's default as an expression: 'text' quoted, NULL
 * for "no default" on a nullable column. That NULL is no server default. */
static cr_status fix_columns(cr_inspector *insp, const char *table, cr_reflected_column *cols,
                             size_t n)
{
    (void)insp;
    (void)table;
    for (size_t i = 0; i < n; i++) {
        if (cols[i].default_sql && strcmp(cols[i].default_sql, "NULL") == 0)
            cols[i].default_sql = NULL;
        if (cols[i].comment && !cols[i].comment[0])
            cols[i].comment = NULL;
    }
    return CR_OK;
}

/* The primary key's name is always PRIMARY: SQLAlchemy reports none. */
static cr_status fix_constraints(cr_inspector *insp, const char *table, cr_reflect_kind kind,
                                 cr_reflected_constraint *cons, size_t n)
{
    (void)insp;
    (void)table;
    if (kind == CR_REFLECT_PK)
        for (size_t i = 0; i < n; i++)
            cons[i].name = NULL;
    return CR_OK;
}

#define MY_INDEX_SQL(where)                                                   \
    "SELECT INDEX_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE = 0 "             \
    "FROM information_schema.STATISTICS "                                     \
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name " where " "       \
    "ORDER BY INDEX_NAME, SEQ_IN_INDEX"

const cr_reflect_ops cr_mysql_reflect = {
    .table_names_sql =
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    .has_table_sql =
        "SELECT 1 FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name",
    .columns_sql =
        "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_DEFAULT, "
        "EXTRA LIKE '%auto_increment%', COLUMN_COMMENT, NULL "
        "FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name "
        "ORDER BY ORDINAL_POSITION",
    .pk_sql = MY_INDEX_SQL("AND INDEX_NAME = 'PRIMARY'"),
    /* An action left out reads back as RESTRICT, MySQL's default: report
     * none, as SHOW CREATE TABLE (which SQLAlchemy parses) does. */
    .foreign_keys_sql =
        "SELECT k.CONSTRAINT_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, "
        "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, "
        "NULLIF(r.DELETE_RULE, 'RESTRICT'), NULLIF(r.UPDATE_RULE, 'RESTRICT') "
        "FROM information_schema.KEY_COLUMN_USAGE k "
        "JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
        "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
        "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME "
        "WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = :name "
        "AND k.REFERENCED_TABLE_NAME IS NOT NULL "
        "ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    /* A unique constraint is a unique index in MySQL: both getters see it,
     * as in SQLAlchemy. */
    .indexes_sql = MY_INDEX_SQL("AND INDEX_NAME <> 'PRIMARY'"),
    .unique_sql = MY_INDEX_SQL("AND INDEX_NAME <> 'PRIMARY' AND NON_UNIQUE = 0"),
    .fix_columns = fix_columns,
    .fix_constraints = fix_constraints,
};
