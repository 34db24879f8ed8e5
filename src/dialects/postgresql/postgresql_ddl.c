/* postgresql_ddl.c — how PostgreSQL's CREATE TABLE spells types: SERIAL, TIMESTAMP, BYTEA, named ENUMs. */
#include "schema/ddl.h"

static void pg_type(cr_buf *b, const cr_sqltype *t)
{
    switch (t->kind) {
    case CR_SQLTYPE_DOUBLE:
        cr_buf_puts(b, "DOUBLE PRECISION");
        break;
    case CR_SQLTYPE_TIME:
        cr_buf_puts(b, t->timezone ? "TIME WITH TIME ZONE" : "TIME WITHOUT TIME ZONE");
        break;
    case CR_SQLTYPE_DATETIME:
        cr_buf_puts(b, t->timezone ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP WITHOUT TIME ZONE");
        break;
    case CR_SQLTYPE_BINARY:
        cr_buf_puts(b, "BYTEA");
        break;
    case CR_SQLTYPE_UUID:
        cr_buf_puts(b, "UUID");
        break;
    case CR_SQLTYPE_ENUM:
        /* The type CREATE TYPE made; a nameless enum is refused before this. */
        if (t->enum_name)
            cr_dialect_quote(&cr_postgresql_dialect, b, t->enum_name);
        else
            cr_ddl_generic_type(b, t);
        break;
    default:
        cr_ddl_generic_type(b, t);
        break;
    }
}

static void pg_column_type(cr_buf *b, const struct cr_column *col, bool autoincrement)
{
    if (autoincrement) {
        switch (col->type.kind) {
        case CR_SQLTYPE_BIGINT:
            cr_buf_puts(b, "BIGSERIAL");
            return;
        case CR_SQLTYPE_SMALLINT:
            cr_buf_puts(b, "SMALLSERIAL");
            return;
        case CR_SQLTYPE_INTEGER:
            cr_buf_puts(b, "SERIAL");
            return;
        default:
            break;
        }
    }
    pg_type(b, &col->type);
}

const cr_ddl_ops cr_postgresql_ddl = {
    .column_type = pg_column_type,
    .cast_type = pg_type,
    .autoincrement_clause = NULL,
    .default_after_not_null = false,
    .default_parens = false,
    .comment_style = CR_DDL_COMMENT_ON,
    .named_enum_types = true,
    .backslash_escapes = false,
    /* As PGDialect.has_type: a type visible on the search path. */
    .has_type_sql = "SELECT count(*) FROM pg_catalog.pg_type t "
                    "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE t.typname = :name AND pg_catalog.pg_type_is_visible(t.oid)",
    .alter_style = CR_DDL_ALTER_SEPARATE,
    .transactional_ddl = true,
    .drop_unique_clause = "DROP CONSTRAINT",
    .drop_check_clause = "DROP CONSTRAINT",
    .drop_fk_clause = "DROP CONSTRAINT",
    /* A session-level advisory lock on a key of Crucible's own, not waited
     * for: a second migrating process is told at once. */
    .migrate_lock_sql = "SELECT pg_try_advisory_lock(7243190412)",
    .migrate_unlock_sql = "SELECT pg_advisory_unlock(7243190412)",
    .index_blocks_writes = true,
};
