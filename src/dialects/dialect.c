/* dialect.c — finding a dialect, quoting identifiers, and the generic dialect str(stmt) uses. */
#include "dialects/dialect.h"

#include <stdlib.h>
#include <string.h>

/* Words that are reserved in SQL:2016, PostgreSQL, MySQL or SQLite, lower
 * case and sorted: an identifier spelled so is quoted on every backend. */
const char *const cr_reserved_words[CR_NRESERVED_WORDS] = {
    "abort", "accessible", "add", "all", "alter", "analyze", "and", "any", "array", "as", "asc",
    "asymmetric", "authorization", "before", "between", "bigint", "binary", "blob", "both", "by",
    "call", "cascade", "case", "cast", "change", "char", "character", "check", "collate",
    "column", "concurrently", "condition", "constraint", "continue", "convert", "create",
    "cross", "current_catalog", "current_date", "current_role", "current_schema",
    "current_time", "current_timestamp", "current_user", "cursor", "database", "databases",
    "dec", "decimal", "declare", "default", "deferrable", "delete", "desc", "describe",
    "distinct", "div", "do", "double", "drop", "each", "else", "elseif", "end", "escape",
    "except", "exists", "exit", "explain", "false", "fetch", "float", "for", "force",
    "foreign", "freeze", "from", "full", "fulltext", "glob", "grant", "group", "having", "if",
    "ignore", "ilike", "in", "index", "initially", "inner", "insert", "int", "integer",
    "intersect", "interval", "into", "is", "isnull", "join", "key", "keys", "kill", "lateral",
    "leading", "leave", "left", "like", "limit", "lines", "load", "localtime",
    "localtimestamp", "lock", "long", "loop", "match", "natural", "not", "notnull", "null",
    "numeric", "of", "offset", "on", "only", "optimize", "option", "or", "order", "out",
    "outer", "over", "overlaps", "partition", "placing", "pragma", "precision", "primary",
    "procedure", "purge", "range", "read", "real", "recursive", "references", "regexp",
    "reindex", "release", "rename", "repeat", "replace", "require", "restrict", "return",
    "returning", "revoke", "right", "rlike", "row", "rows", "schema", "select", "session_user",
    "set", "show", "similar", "smallint", "some", "spatial", "sql", "symmetric", "system_user",
    "table", "tablesample", "then", "to", "trailing", "trigger", "true", "undo", "union",
    "unique", "unlock", "unsigned", "update", "usage", "use", "user", "using", "vacuum",
    "values", "varchar", "variadic", "verbose", "when", "where", "while", "window", "with",
    "write", "xor", "zerofill",
};

_Static_assert(CR_ARRAY_LEN(cr_reserved_words) == CR_NRESERVED_WORDS, "reserved word count");

const cr_dialect cr_default_dialect = {
    .name = "default",
    .param_style = CR_PARAM_NAMED,
    .quote = '"',
    .reserved = cr_reserved_words,
    .nreserved = CR_NRESERVED_WORDS,
    .limit_style = CR_LIMIT_PG,
    .upsert_style = CR_UPSERT_ON_CONFLICT,
    .native_boolean = true,
    .has_ilike = false,
    .has_full_outer_join = true,
    .has_nulls_ordering = true,
    .has_intersect_except = true,
    .has_returning = true,
    .has_returning_update = true,
    .has_lastrowid = true,
    .has_for_update = true,
    .has_skip_locked = true,
    .has_cte_in_subquery = true,
    .length_function = "length",
    .empty_in = "1 != 1",
    .empty_insert = "DEFAULT VALUES",
    .max_params = 65535,
};

const cr_dialect *cr_dialect_find(const char *name)
{
    if (!name || strcmp(name, "default") == 0)
        return &cr_default_dialect;
    if (strcmp(name, "sqlite") == 0)
        return &cr_sqlite_dialect;
    if (strcmp(name, "postgresql") == 0 || strcmp(name, "postgres") == 0)
        return &cr_postgresql_dialect;
    if (strcmp(name, "mysql") == 0 || strcmp(name, "mariadb") == 0)
        return &cr_mysql_dialect;
    return NULL;
}

static int compare_word(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

/* A name is left bare when it is lower case letters, digits and '_', starts
 * with a letter or '_', and is not reserved; anything else is quoted (so a
 * mixed-case name keeps its case, as SQLAlchemy does). */
static bool needs_quotes(const cr_dialect *d, const char *name)
{
    if (!name[0] || (name[0] >= '0' && name[0] <= '9') || name[0] == '$')
        return true;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '$'))
            return true;
    if (strlen(name) > 32)
        return false;
    return bsearch(name, d->reserved, d->nreserved, sizeof(char *), compare_word) != NULL;
}

void cr_dialect_quote(const cr_dialect *d, cr_buf *b, const char *name)
{
    if (!needs_quotes(d, name)) {
        cr_buf_puts(b, name);
        return;
    }
    cr_buf_putc(b, d->quote);
    for (const char *p = name; *p; p++) {
        if (*p == d->quote)
            cr_buf_putc(b, d->quote);
        cr_buf_putc(b, *p);
    }
    cr_buf_putc(b, d->quote);
}
