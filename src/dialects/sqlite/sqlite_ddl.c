/* sqlite_ddl.c — how SQLite's CREATE TABLE spells types: SQLAlchemy's generic names. */
#include "schema/ddl.h"

static void sqlite_column_type(cr_buf *b, const struct cr_column *col, bool autoincrement)
{
    /* INTEGER ... PRIMARY KEY (id) makes the column the rowid alias, so the
     * generated key needs no keyword of its own. */
    (void)autoincrement;
    cr_ddl_generic_type(b, &col->type);
}

const cr_ddl_ops cr_sqlite_ddl = {
    .column_type = sqlite_column_type,
    .cast_type = cr_ddl_generic_type,
    .autoincrement_clause = NULL,
    .default_after_not_null = false,
    .default_parens = true,
    .comment_style = CR_DDL_COMMENT_NONE,
    .named_enum_types = false,
    .backslash_escapes = false,
    .alter_style = CR_DDL_ALTER_REBUILD,
    .rebuild_triggers_sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name = :table COLLATE NOCASE ORDER BY rowid",
    /* Not transactional: set and reset around the one statement. */
    .rebuild_rename_before = "PRAGMA legacy_alter_table = ON",
    .rebuild_rename_after = "PRAGMA legacy_alter_table = OFF",
    .transactional_ddl = true,
};
