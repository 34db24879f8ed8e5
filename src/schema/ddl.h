/* ddl.h — the DDL compiler's per-dialect part: how each backend spells types and columns. */
#ifndef CR_DDL_H
#define CR_DDL_H

#include "dialects/dialect.h"
#include "schema/schema.h"

/* Where a column's comment goes. */
typedef enum cr_ddl_comment_style {
    CR_DDL_COMMENT_NONE,         /* dropped (SQLite has no comments)                 */
    CR_DDL_COMMENT_INLINE,       /* COMMENT 'text' in the column (MySQL)             */
    CR_DDL_COMMENT_ON            /* COMMENT ON COLUMN t.c IS 'text' after the table  */
} cr_ddl_comment_style;

/* How a migration changes a column (migrate/). */
typedef enum cr_ddl_alter_style {
    CR_DDL_ALTER_SEPARATE,       /* ALTER COLUMN c TYPE / SET NOT NULL / SET DEFAULT,
                                  * RENAME COLUMN (PostgreSQL)                      */
    CR_DDL_ALTER_MODIFY,         /* MODIFY c <full spec>, CHANGE c d <full spec>;
                                  * ALTER COLUMN c SET DEFAULT alone (MySQL)        */
    CR_DDL_ALTER_REBUILD         /* RENAME COLUMN; anything else rebuilds the table
                                  * (SQLite's ALTER TABLE does no more)             */
} cr_ddl_alter_style;

/* What a dialect decides in DDL. */
typedef struct cr_ddl_ops {
    /* Append the type of col as CREATE TABLE spells it (autoincrement: the
     * column is the table's generated key, for SERIAL and the like). */
    void (*column_type)(cr_buf *b, const struct cr_column *col, bool autoincrement);
    /* Append the type CAST(x AS type) names. Appends nothing when the
     * backend cannot CAST to the type (MySQL: Boolean); the SQL compiler
     * then leaves the CAST out, as SQLAlchemy does. */
    void (*cast_type)(cr_buf *b, const cr_sqltype *type);

    /* Written after the NOT NULL of the generated key column, in place of
     * its DEFAULT ("AUTO_INCREMENT"); NULL when the type says it (SERIAL)
     * or the database does it by itself (SQLite's rowid). */
    const char *autoincrement_clause;
    /* The column spec is "name type NOT NULL COMMENT DEFAULT" (MySQL) rather
     * than "name type DEFAULT NOT NULL". */
    bool default_after_not_null;
    /* A server default that is an expression (has a non-word character and
     * does not start with a quote or parenthesis) is put in parentheses, as
     * SQLite and MySQL 8 require for DEFAULT (expr). */
    bool default_parens;
    cr_ddl_comment_style comment_style;
    /* Enums are types of their own, created before the table and dropped
     * after it (PostgreSQL's CREATE TYPE name AS ENUM). */
    bool named_enum_types;
    /* String literals take backslash escapes (MySQL): '\' is doubled. */
    bool backslash_escapes;
    /* A query with one :name parameter whose scalar is non-zero when a
     * type of that name exists (checkfirst for named enum types), or NULL. */
    const char *has_type_sql;

    /* Schema migrations (migrate/). */
    cr_ddl_alter_style alter_style;
    /* DDL runs inside a transaction and rolls back with it. */
    bool transactional_ddl;
    /* DROP INDEX name ON table (MySQL) rather than DROP INDEX name. */
    bool drop_index_on_table;
    /* ALTER TABLE t <clause> name, dropping a unique constraint, a check and
     * a foreign key ("DROP CONSTRAINT"; MySQL: "DROP INDEX", "DROP FOREIGN
     * KEY"); NULL where the table is rebuilt instead. */
    const char *drop_unique_clause, *drop_check_clause, *drop_fk_clause;
    /* The migration lock: a query whose scalar is true / 1 when this
     * session got the lock at once, and the statement that releases it;
     * NULL where each revision's transaction locks (SQLite). */
    const char *migrate_lock_sql, *migrate_unlock_sql;
    /* CREATE INDEX (without CONCURRENTLY) blocks the table's writes while it
     * builds: the migration check flags it; CREATE INDEX CONCURRENTLY, run
     * outside a transaction, does not (PostgreSQL). */
    bool index_blocks_writes;
    /* A table rebuild (CR_DDL_ALTER_REBUILD), what dropping the old table
     * would lose: a query with one :table parameter giving the name and the
     * CREATE statement of each trigger on that table, oldest first (made
     * again after the rename); and the statements sent around renaming the
     * new table to the old one's name, so that the rename does not refuse
     * the views naming the table that, dropped, is missing for a moment
     * (SQLite >= 3.26 checks every view and trigger on a rename). Where they
     * are set, the rebuild ends with the check the rename skipped: ALTER
     * TABLE t RENAME COLUMN c TO c. NULL where tables are not rebuilt. */
    const char *rebuild_triggers_sql;
    const char *rebuild_rename_before, *rebuild_rename_after;
} cr_ddl_ops;

extern const cr_ddl_ops cr_sqlite_ddl;
extern const cr_ddl_ops cr_postgresql_ddl;
extern const cr_ddl_ops cr_mysql_ddl;

/* Pieces of the DDL compiler on their own, for migrations (migrate/).
 * Errors (a bad ON DELETE phrase, a nameless enum) go to err. */
bool cr_ddl_render_create_table(const cr_dialect *d, cr_buf *b, const cr_table *t, cr_error *err);
void cr_ddl_render_create_index(const cr_dialect *d, cr_buf *b, const cr_table *t,
                                const cr_constraint *k);
/* A column's spec as CREATE TABLE writes it: name TYPE [DEFAULT x] [NOT NULL]. */
void cr_ddl_render_column(const cr_dialect *d, cr_buf *b, const struct cr_column *col);
/* [CONSTRAINT name] UNIQUE (...) / CHECK (...) / FOREIGN KEY(...) REFERENCES ... */
bool cr_ddl_render_constraint(const cr_dialect *d, cr_buf *b, const cr_table *t,
                              const cr_constraint *k, cr_error *err);

/* Helpers the dialects' DDL files share (ddl.c). */

/* The generic (SQLAlchemy GenericTypeCompiler) spelling of a type, which
 * SQLite uses as it is: INTEGER, VARCHAR(50), NUMERIC(10, 2), CHAR(32) ... */
void cr_ddl_generic_type(cr_buf *b, const cr_sqltype *type);
/* The longest value of an Enum, the length of its VARCHAR. */
size_t cr_ddl_enum_length(const cr_sqltype *type);
/* Append s as a SQL string literal: quoted, ' doubled, and \ doubled when
 * backslashes escape. */
void cr_ddl_put_literal(cr_buf *b, const char *s, bool backslash_escapes);

/* The name a constraint of this kind gets from the naming convention when
 * it has none of its own (the table's implicit primary key), or NULL
 * (unnamed, or out of memory: check md's error). Caller frees with cr_free.
 * Defined in metadata.c. */
char *cr_schema_convention_name(const cr_table *t, cr_constraint_kind kind, const char *name,
                                struct cr_column *const *cols, size_t ncols,
                                char *const *ref_tables, char *const *ref_columns);
/* Sort tables so that referred tables come first (SQLAlchemy's
 * sort_tables: rounds of ready tables, each in the given order; tables in a
 * cycle last, in the given order). False when out of memory. metadata.c. */
bool cr_schema_sort_tables(cr_table **tables, size_t n);

#endif
