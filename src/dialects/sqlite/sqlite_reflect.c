/* sqlite_reflect.c — how the Inspector reads SQLite's catalog (sqlite_master and the pragma functions). */
#include "schema/inspect.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* A token of a CREATE TABLE statement: a word or quoted identifier (text
 * unquoted into the arena), or one punctuation character. */
typedef struct token {
    const char *start;
    size_t len;
    char punct;            /* 0 for a word */
    const char *word;      /* unquoted; NULL for punctuation */
} token;

typedef struct lexer {
    cr_inspector *insp;
    const char *p;
    bool oom;
} lexer;

/* The next token; false at the end. Comments and string literals are
 * skipped whole so their contents never look like keywords. */
static bool next_token(lexer *lx, token *t)
{
    for (;;) {
        while (*lx->p && isspace((unsigned char)*lx->p))
            lx->p++;
        if (lx->p[0] == '-' && lx->p[1] == '-') {
            while (*lx->p && *lx->p != '\n')
                lx->p++;
        } else if (lx->p[0] == '/' && lx->p[1] == '*') {
            const char *end = strstr(lx->p + 2, "*/");
            lx->p = end ? end + 2 : lx->p + strlen(lx->p);
        } else {
            break;
        }
    }
    const char *s = lx->p;
    if (!*s)
        return false;
    t->start = s;
    t->punct = 0;
    t->word = NULL;
    char q = *s == '[' ? ']' : *s;
    if (q == '"' || q == '`' || q == ']' || q == '\'') {
        /* Quoted: the closing quote doubled stands for itself. */
        cr_buf b;
        cr_buf_init(&b);
        const char *p = s + 1;
        for (; *p; p++) {
            if (*p == q) {
                if (q != ']' && p[1] == q) {
                    cr_buf_putc(&b, q);
                    p++;
                    continue;
                }
                p++;
                break;
            }
            cr_buf_putc(&b, *p);
        }
        lx->p = p;
        t->len = (size_t)(p - s);
        const char *text = cr_buf_cstr(&b);
        if (q == '\'') {
            t->punct = '\'';   /* a string literal: never a name here */
        } else {
            t->word = text ? cr_reflect_strndup(lx->insp, text, strlen(text)) : NULL;
            if (!t->word)
                lx->oom = true;
        }
        cr_buf_free(&b);
        return !lx->oom;
    }
    if (isalnum((unsigned char)*s) || *s == '_' || (unsigned char)*s >= 0x80) {
        const char *p = s;
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80)
            p++;
        lx->p = p;
        t->len = (size_t)(p - s);
        t->word = cr_reflect_strndup(lx->insp, s, t->len);
        if (!t->word)
            lx->oom = true;
        return !lx->oom;
    }
    lx->p = s + 1;
    t->len = 1;
    t->punct = *s;
    return true;
}

static bool is_kw(const token *t, const char *kw)
{
    return t->word && t->start[0] != '"' && t->start[0] != '`' && t->start[0] != '[' &&
           strcasecmp(t->word, kw) == 0;
}

/* Read "(a, b COLLATE x DESC, ...)" after the keyword: the first word of
 * each item. Returns the count (up to max), or -1 when it is not a list. */
static int read_column_list(lexer *lx, const char **cols, int max)
{
    token t;
    if (!next_token(lx, &t) || t.punct != '(')
        return -1;
    int n = 0, depth = 1;
    bool item_start = true;
    while (depth > 0 && next_token(lx, &t)) {
        if (t.punct == '(')
            depth++;
        else if (t.punct == ')')
            depth--;
        else if (t.punct == ',' && depth == 1)
            item_start = true;
        else if (item_start && t.word && depth == 1) {
            if (n < max)
                cols[n] = t.word;
            n++;
            item_start = false;
        }
    }
    return n;
}

/* "REFERENCES parent" without columns refers to parent's primary key, and
 * pragma_foreign_key_list leaves those columns NULL: fill them in. */
static cr_status fill_referred_pk(cr_inspector *insp, cr_reflected_constraint *cons, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!cons[i].referred_table || cons[i].ncolumns == 0 || cons[i].referred_columns[0])
            continue;
        cr_rowset *rows = cr_reflect_query(
            insp, "SELECT name FROM pragma_table_info(:name) WHERE pk > 0 ORDER BY pk",
            cons[i].referred_table);
        if (!rows)
            return cr_error_class(cr_conn_error(insp->conn));
        size_t count = cr_rowset_count(rows);
        const char **refs = NULL;
        bool oom = false;
        if (count == cons[i].ncolumns) {
            refs = cr_arena_alloc(&insp->arena, count * sizeof *refs);
            oom = !refs;
            for (size_t j = 0; !oom && j < count; j++)
                refs[j] = cr_reflect_text(insp, cr_rowset_row(rows, j), 0, &oom);
        }
        cr_rowset_free(rows);
        if (oom)
            return cr_reflect_oom(insp);
        if (refs)
            cons[i].referred_columns = refs;
    }
    return CR_OK;
}

/* SQLite keeps constraint names only in the CREATE TABLE text: find each
 * "CONSTRAINT name <kind> (columns)" there and give the name to the
 * reflected constraint of that kind with the same columns, as SQLAlchemy
 * does. Unique constraints read from pragma_index_list carry the name of
 * their automatic index, which is no constraint name: cleared first. */
static cr_status fix_constraints(cr_inspector *insp, const char *table, cr_reflect_kind kind,
                                 cr_reflected_constraint *cons, size_t n)
{
    if (kind == CR_REFLECT_INDEX || n == 0)
        return CR_OK;
    if (kind == CR_REFLECT_FK) {
        cr_status st = fill_referred_pk(insp, cons, n);
        if (st != CR_OK)
            return st;
    }
    for (size_t i = 0; i < n; i++)
        cons[i].name = NULL;
    cr_rowset *rows = cr_reflect_query(
        insp, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name", table);
    if (!rows)
        return cr_error_class(cr_conn_error(insp->conn));
    bool oom = false;
    const char *sql = cr_rowset_count(rows) ? cr_reflect_text(insp, cr_rowset_row(rows, 0), 0, &oom)
                                            : NULL;
    cr_rowset_free(rows);
    if (oom)
        return cr_reflect_oom(insp);
    if (!sql)
        return CR_OK;

    lexer lx = {insp, sql, false};
    token t;
    while (next_token(&lx, &t)) {
        if (!is_kw(&t, "constraint"))
            continue;
        token name, k1;
        if (!next_token(&lx, &name) || !name.word || !next_token(&lx, &k1))
            break;
        cr_reflect_kind found;
        if (is_kw(&k1, "unique")) {
            found = CR_REFLECT_UNIQUE;
        } else if (is_kw(&k1, "primary") || is_kw(&k1, "foreign")) {
            token k2;
            if (!next_token(&lx, &k2) || !is_kw(&k2, "key"))
                continue;
            found = is_kw(&k1, "primary") ? CR_REFLECT_PK : CR_REFLECT_FK;
        } else {
            continue;
        }
        if (found != kind)
            continue;
        const char *cols[64];
        int ncols = read_column_list(&lx, cols, 64);
        if (ncols <= 0 || ncols > 64)
            continue;   /* a column constraint, or too wide to match */
        for (size_t i = 0; i < n; i++) {
            if (cons[i].name || cons[i].ncolumns != (size_t)ncols)
                continue;
            size_t j = 0;
            while (j < cons[i].ncolumns && cons[i].columns[j] &&
                   strcasecmp(cons[i].columns[j], cols[j]) == 0)
                j++;
            if (j == cons[i].ncolumns) {
                cons[i].name = name.word;
                break;
            }
        }
    }
    return lx.oom ? cr_reflect_oom(insp) : CR_OK;
}

/* One row per column of the indexes whose origin is o ('c': CREATE INDEX,
 * 'u': UNIQUE constraint), in index order. */
#define SQLITE_INDEX_SQL(origin)                                              \
    "SELECT il.name, il.name, ii.name, il.\"unique\" "                        \
    "FROM pragma_index_list(:name) AS il, pragma_index_info(il.name) AS ii "  \
    "WHERE il.origin = '" origin "' ORDER BY il.name, ii.seqno"

const cr_reflect_ops cr_sqlite_reflect = {
    .table_names_sql =
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite~_%' ESCAPE '~'",
    .has_table_sql =
        "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = :name",
    /* The rowid alias is the one INTEGER column that is the whole primary
     * key: it autoincrements. */
    .columns_sql =
        "SELECT name, type, \"notnull\" = 0, dflt_value, "
        "pk = 1 AND upper(type) = 'INTEGER' "
        "AND (SELECT count(*) FROM pragma_table_info(:name) WHERE pk > 0) = 1, "
        "NULL, NULL FROM pragma_table_info(:name) ORDER BY cid",
    .pk_sql = "SELECT 1, NULL, name FROM pragma_table_info(:name) WHERE pk > 0 ORDER BY pk",
    /* NO ACTION, SQLite's default, is reported as no action at all. */
    .foreign_keys_sql =
        "SELECT id, NULL, \"from\", \"table\", \"to\", "
        "NULLIF(on_delete, 'NO ACTION'), NULLIF(on_update, 'NO ACTION') "
        "FROM pragma_foreign_key_list(:name) ORDER BY id DESC, seq",
    .indexes_sql = SQLITE_INDEX_SQL("c"),
    .unique_sql = SQLITE_INDEX_SQL("u"),
    .fix_columns = NULL,
    .fix_constraints = fix_constraints,
};
