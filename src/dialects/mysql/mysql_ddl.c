/* mysql_ddl.c — how MySQL/MariaDB's CREATE TABLE spells types: BOOL, DATETIME(6), ENUM('a','b'), AUTO_INCREMENT. */
#include "schema/ddl.h"

static void mysql_type(cr_buf *b, const cr_sqltype *t)
{
    switch (t->kind) {
    case CR_SQLTYPE_STRING:
        /* SQLAlchemy refuses VARCHAR without a length on MySQL; TEXT is what
         * an unbounded String can be there. */
        if (t->length > 0)
            cr_buf_printf(b, "VARCHAR(%d)", t->length);
        else
            cr_buf_puts(b, "TEXT");
        break;
    case CR_SQLTYPE_BOOLEAN:
        cr_buf_puts(b, "BOOL");
        break;
    case CR_SQLTYPE_TIME:
        /* (6): the fractional seconds are kept, as on the other backends. */
        cr_buf_puts(b, "TIME(6)");
        break;
    case CR_SQLTYPE_DATETIME:
        cr_buf_puts(b, "DATETIME(6)");
        break;
    case CR_SQLTYPE_ENUM:
        cr_buf_puts(b, "ENUM(");
        for (size_t i = 0; t->enum_values && t->enum_values[i]; i++) {
            if (i)
                cr_buf_putc(b, ',');
            cr_ddl_put_literal(b, t->enum_values[i], true);
        }
        cr_buf_putc(b, ')');
        break;
    default:
        cr_ddl_generic_type(b, t);
        break;
    }
}

static void mysql_column_type(cr_buf *b, const struct cr_column *col, bool autoincrement)
{
    (void)autoincrement;        /* AUTO_INCREMENT is a clause of its own */
    mysql_type(b, &col->type);
}

/* CAST accepts only a few type names on MySQL (SQLAlchemy's visit_typeclause). */
static void mysql_cast_type(cr_buf *b, const cr_sqltype *t)
{
    switch (t->kind) {
    case CR_SQLTYPE_INTEGER:
    case CR_SQLTYPE_SMALLINT:
    case CR_SQLTYPE_BIGINT:
        cr_buf_puts(b, "SIGNED INTEGER");
        break;
    case CR_SQLTYPE_STRING:
        if (t->length > 0)
            cr_buf_printf(b, "CHAR(%d)", t->length);
        else
            cr_buf_puts(b, "CHAR");
        break;
    case CR_SQLTYPE_TEXT:
    case CR_SQLTYPE_UUID:
    case CR_SQLTYPE_ENUM:
        cr_buf_puts(b, "CHAR");
        break;
    case CR_SQLTYPE_NUMERIC:
        if (t->precision > 0)
            cr_buf_printf(b, "DECIMAL(%d, %d)", t->precision, t->scale);
        else
            cr_buf_puts(b, "DECIMAL");
        break;
    case CR_SQLTYPE_DATE:
        cr_buf_puts(b, "DATE");
        break;
    case CR_SQLTYPE_TIME:
        cr_buf_puts(b, "TIME(6)");
        break;
    case CR_SQLTYPE_DATETIME:
        cr_buf_puts(b, "DATETIME(6)");
        break;
    case CR_SQLTYPE_BINARY:
        cr_buf_puts(b, "BINARY");
        break;
    case CR_SQLTYPE_JSON:
        cr_buf_puts(b, "JSON");
        break;
    default:
        /* Boolean, Float, Double: no CAST target (the CAST is left out). */
        break;
    }
}

const cr_ddl_ops cr_mysql_ddl = {
    .column_type = mysql_column_type,
    .cast_type = mysql_cast_type,
    .autoincrement_clause = "AUTO_INCREMENT",
    .default_after_not_null = true,
    .default_parens = true,
    .comment_style = CR_DDL_COMMENT_INLINE,
    .named_enum_types = false,
    .backslash_escapes = true,
    .alter_style = CR_DDL_ALTER_MODIFY,
    .transactional_ddl = false,
    .drop_index_on_table = true,
    .drop_unique_clause = "DROP INDEX",
    /* MariaDB and MySQL 8.0.19+ both take DROP CONSTRAINT for a check. */
    .drop_check_clause = "DROP CONSTRAINT",
    .drop_fk_clause = "DROP FOREIGN KEY",
    /* A named lock of the session, not waited for (timeout 0). Lock names
     * are the server's, not a database's: the name carries the database
     * (hashed, as names are limited to 64 characters), so that programs
     * migrating different databases of one server do not block each other. */
    .migrate_lock_sql = "SELECT GET_LOCK(CONCAT('crucible_migrate.', MD5(IFNULL(DATABASE(), ''))), 0)",
    .migrate_unlock_sql = "SELECT RELEASE_LOCK(CONCAT('crucible_migrate.', "
                          "MD5(IFNULL(DATABASE(), ''))))",
};
