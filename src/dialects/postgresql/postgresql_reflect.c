/* postgresql_reflect.c — how the Inspector reads PostgreSQL's catalog (pg_catalog, current schema). */
#include "schema/inspect.h"

#include <string.h>

/* The table's oid, found by name in the current schema; the name is bound,
 * never pasted, so no to_regclass() quoting is needed. */
#define PG_TABLE_OID                                                          \
    "(SELECT c.oid FROM pg_catalog.pg_class c "                               \
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "               \
    "WHERE c.relname = :name AND n.nspname = current_schema() "               \
    "AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))"

#define PG_ACTION(col)                                                        \
    "CASE " col " WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' "          \
    "WHEN 'd' THEN 'SET DEFAULT' WHEN 'r' THEN 'RESTRICT' END"

/* One row per key column of the constraints of type contype, in key order. */
#define PG_CONSTRAINT_SQL(contype)                                            \
    "SELECT con.conname, con.conname, a.attname "                             \
    "FROM pg_catalog.pg_constraint con "                                      \
    "CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) " \
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid "            \
    "AND a.attnum = k.attnum "                                                \
    "WHERE con.conrelid = " PG_TABLE_OID " AND con.contype = '" contype "' "  \
    "ORDER BY con.conname, k.ord"

/* Enum types carry their labels in pg_enum, not in the type's name. */
static cr_status fix_columns(cr_inspector *insp, const char *table, cr_reflected_column *cols,
                             size_t n)
{
    (void)table;
    for (size_t i = 0; i < n; i++) {
        if (cols[i].type.kind != CR_SQLTYPE_ENUM || !cols[i].type.enum_name)
            continue;
        cr_rowset *rows = cr_reflect_query(
            insp,
            "SELECT e.enumlabel FROM pg_catalog.pg_enum e "
            "JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
            "WHERE t.typname = :name AND n.nspname = current_schema() "
            "ORDER BY e.enumsortorder",
            cols[i].type.enum_name);
        if (!rows)
            return cr_error_class(cr_conn_error(insp->conn));
        size_t nrows = cr_rowset_count(rows);
        const char **labels = cr_arena_alloc(&insp->arena, (nrows + 1) * sizeof *labels);
        bool oom = !labels;
        for (size_t j = 0; !oom && j < nrows; j++)
            labels[j] = cr_reflect_text(insp, cr_rowset_row(rows, j), 0, &oom);
        cr_rowset_free(rows);
        if (oom)
            return cr_reflect_oom(insp);
        labels[nrows] = NULL;
        cols[i].type.enum_values = labels;
    }
    return CR_OK;
}

const cr_reflect_ops cr_postgresql_reflect = {
    .table_names_sql =
        "SELECT c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')",
    .has_table_sql = "SELECT 1 WHERE " PG_TABLE_OID " IS NOT NULL",
    /* A serial's default is nextval(...) on an integer column; an identity
     * column has attidentity set. */
    .columns_sql =
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
        "NOT a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), "
        "a.attidentity <> '' OR (t.typname IN ('int2', 'int4', 'int8') "
        "AND pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'), "
        "pg_catalog.col_description(a.attrelid, a.attnum), "
        "CASE WHEN t.typtype = 'e' THEN t.typname END "
        "FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = " PG_TABLE_OID " AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
    .pk_sql = PG_CONSTRAINT_SQL("p"),
    .foreign_keys_sql =
        "SELECT con.conname, con.conname, a.attname, rc.relname, ra.attname, "
        PG_ACTION("con.confdeltype") ", " PG_ACTION("con.confupdtype") " "
        "FROM pg_catalog.pg_constraint con "
        "JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid "
        "CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY "
        "AS k(attnum, refnum, ord) "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
        "JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid "
        "AND ra.attnum = k.refnum "
        "WHERE con.conrelid = " PG_TABLE_OID " AND con.contype = 'f' "
        "ORDER BY con.conname, k.ord",
    /* As SQLAlchemy: every index but the primary key's, unique constraints'
     * own indexes included; an expression's column is NULL. */
    .indexes_sql =
        "SELECT ic.relname, ic.relname, a.attname, ix.indisunique "
        "FROM pg_catalog.pg_index ix "
        "JOIN pg_catalog.pg_class ic ON ic.oid = ix.indexrelid "
        "CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid "
        "AND a.attnum = k.attnum AND k.attnum > 0 "
        "WHERE ix.indrelid = " PG_TABLE_OID " AND NOT ix.indisprimary "
        "AND k.ord <= ix.indnkeyatts "
        "ORDER BY ic.relname, k.ord",
    .unique_sql = PG_CONSTRAINT_SQL("u"),
    .fix_columns = fix_columns,
    .fix_constraints = NULL,
};
