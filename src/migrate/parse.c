/* parse.c — revision files: the line-based format of crucible/migrate.h parsed into operations, and the revision graph. */
#include "migrate/migrate.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the lexer over one operation's text ---------------------------------- */

typedef struct lexer {
    cr_migrate_script *s;
    const char *file;
    int line;
    const char *p;
} lexer;

static bool fail(lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(lexer *lx, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cr_error_set(&lx->s->err, CR_ERR_ARGUMENT, "%s:%d: %s", lx->file, lx->line, what);
    return false;
}

static void skip_ws(lexer *lx)
{
    while (*lx->p && isspace((unsigned char)*lx->p))
        lx->p++;
}

static bool is_word_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* What stands next, for "found ..." in errors. */
static const char *found(lexer *lx, char *buf, size_t size)
{
    skip_ws(lx);
    if (!*lx->p)
        return "the end of the line";
    size_t n = 0;
    if (is_word_start(*lx->p))
        while (is_word_char(lx->p[n]))
            n++;
    else
        n = 1;
    snprintf(buf, size, "'%.*s'", (int)(n > 40 ? 40 : n), lx->p);
    return buf;
}

static bool expected(lexer *lx, const char *what)
{
    char buf[64];
    return fail(lx, "expected %s, found %s", what, found(lx, buf, sizeof buf));
}

static char *copy(lexer *lx, const char *p, size_t n)
{
    char *c = cr_arena_alloc(&lx->s->arena, n + 1);
    if (!c) {
        cr_error_oom(&lx->s->err);
        return NULL;
    }
    memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

/* The keyword kw next (case-insensitive, a whole word): consumed. */
static bool keyword(lexer *lx, const char *kw)
{
    skip_ws(lx);
    size_t n = strlen(kw);
    if (strncasecmp(lx->p, kw, n) != 0 || is_word_char(lx->p[n]))
        return false;
    lx->p += n;
    return true;
}

static bool punct(lexer *lx, char c)
{
    skip_ws(lx);
    if (*lx->p != c)
        return false;
    lx->p++;
    return true;
}

static bool expect_punct(lexer *lx, char c, const char *what)
{
    if (punct(lx, c))
        return true;
    return expected(lx, what);
}

/* A name: a word, or "double quoted" ("" inside for a quote). */
static const char *name(lexer *lx, const char *what)
{
    skip_ws(lx);
    const char *start = lx->p;
    if (*lx->p == '"') {
        cr_buf b;
        cr_buf_init(&b);
        for (lx->p++;; lx->p++) {
            if (!*lx->p) {
                cr_buf_free(&b);
                lx->p = start;
                fail(lx, "unterminated quoted name for %s", what);
                return NULL;
            }
            if (*lx->p == '"') {
                if (lx->p[1] != '"')
                    break;
                lx->p++;
            }
            cr_buf_putc(&b, *lx->p);
        }
        lx->p++;
        const char *text = cr_buf_cstr(&b);
        char *c = NULL;
        if (!text)
            cr_error_oom(&lx->s->err);
        else if (!*text)
            fail(lx, "empty quoted name for %s", what);
        else
            c = copy(lx, text, strlen(text));
        cr_buf_free(&b);
        return c;
    }
    if (!is_word_start(*lx->p)) {
        expected(lx, what);
        return NULL;
    }
    while (is_word_char(*lx->p))
        lx->p++;
    return copy(lx, start, (size_t)(lx->p - start));
}

/* Balanced parentheses from the '(' next, quotes respected: the text
 * inside (parens false) or with them (parens true). */
static const char *paren_text(lexer *lx, bool parens, const char *what)
{
    skip_ws(lx);
    if (*lx->p != '(') {
        expected(lx, what);
        return NULL;
    }
    const char *start = lx->p;
    int depth = 0;
    char quote = 0;
    for (; *lx->p; lx->p++) {
        char c = *lx->p;
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && --depth == 0) {
            lx->p++;
            if (parens)
                return copy(lx, start, (size_t)(lx->p - start));
            return copy(lx, start + 1, (size_t)(lx->p - start - 2));
        }
    }
    lx->p = start;
    fail(lx, "unbalanced parentheses in %s", what);
    return NULL;
}

static bool integer(lexer *lx, int *out, const char *what)
{
    skip_ws(lx);
    if (!isdigit((unsigned char)*lx->p))
        return expected(lx, what);
    long v = 0;
    while (isdigit((unsigned char)*lx->p)) {
        v = v * 10 + (*lx->p++ - '0');
        if (v > 1000000000)
            return fail(lx, "%s is too large", what);
    }
    *out = (int)v;
    return true;
}

/* ---- types, defaults, columns -------------------------------------------- */

static bool length_arg(lexer *lx, int *len, bool required, const char *type)
{
    char what[64];
    snprintf(what, sizeof what, "the length of %s in parentheses", type);
    if (!punct(lx, '(')) {
        if (required)
            return expected(lx, what);
        return true;
    }
    return integer(lx, len, what) && expect_punct(lx, ')', "')' after the length");
}

static bool sqltype(lexer *lx, cr_sqltype *t)
{
    static const struct { const char *word; cr_sqltype_kind kind; } simple[] = {
        {"integer", CR_SQLTYPE_INTEGER}, {"int", CR_SQLTYPE_INTEGER},
        {"smallint", CR_SQLTYPE_SMALLINT}, {"bigint", CR_SQLTYPE_BIGINT},
        {"text", CR_SQLTYPE_TEXT}, {"boolean", CR_SQLTYPE_BOOLEAN},
        {"bool", CR_SQLTYPE_BOOLEAN}, {"float", CR_SQLTYPE_FLOAT},
        {"double", CR_SQLTYPE_DOUBLE}, {"date", CR_SQLTYPE_DATE}, {"time", CR_SQLTYPE_TIME},
        {"blob", CR_SQLTYPE_BINARY}, {"largebinary", CR_SQLTYPE_BINARY},
        {"json", CR_SQLTYPE_JSON}, {"uuid", CR_SQLTYPE_UUID},
        {"timestamptz", CR_SQLTYPE_DATETIME},
    };
    memset(t, 0, sizeof *t);
    if (keyword(lx, "varchar") || keyword(lx, "string")) {
        t->kind = CR_SQLTYPE_STRING;
        return length_arg(lx, &t->length, false, "varchar");
    }
    if (keyword(lx, "numeric") || keyword(lx, "decimal")) {
        t->kind = CR_SQLTYPE_NUMERIC;
        if (!punct(lx, '('))
            return true;
        if (!integer(lx, &t->precision, "the precision of numeric"))
            return false;
        if (punct(lx, ',') && !integer(lx, &t->scale, "the scale of numeric"))
            return false;
        return expect_punct(lx, ')', "')' after numeric's precision and scale");
    }
    if (keyword(lx, "datetime") || keyword(lx, "timestamp")) {
        t->kind = CR_SQLTYPE_DATETIME;
        if (keyword(lx, "with")) {
            if (!keyword(lx, "time") || !keyword(lx, "zone"))
                return expected(lx, "'time zone' after 'with'");
            t->timezone = true;
        }
        return true;
    }
    for (size_t i = 0; i < CR_ARRAY_LEN(simple); i++)
        if (keyword(lx, simple[i].word)) {
            t->kind = simple[i].kind;
            t->timezone = strcmp(simple[i].word, "timestamptz") == 0;
            return true;
        }
    return expected(lx, "a type (integer, varchar(n), text, boolean, numeric(p, s), datetime, "
                        "...)");
}

/* DEFAULT's SQL text: a number, a 'string', a word or a (parenthesized
 * expression). */
static const char *default_value(lexer *lx)
{
    skip_ws(lx);
    const char *start = lx->p;
    if (*lx->p == '(')
        return paren_text(lx, true, "the default expression");
    if (*lx->p == '\'') {
        for (lx->p++;; lx->p++) {
            if (!*lx->p) {
                lx->p = start;
                fail(lx, "unterminated string in default");
                return NULL;
            }
            if (*lx->p == '\'' && lx->p[1] != '\'')
                break;
            if (*lx->p == '\'')
                lx->p++;
        }
        lx->p++;
        return copy(lx, start, (size_t)(lx->p - start));
    }
    if (*lx->p == '-' || *lx->p == '+')
        lx->p++;
    if (isdigit((unsigned char)*lx->p)) {
        while (isdigit((unsigned char)*lx->p) || *lx->p == '.')
            lx->p++;
        return copy(lx, start, (size_t)(lx->p - start));
    }
    lx->p = start;
    if (is_word_start(*lx->p)) {
        while (is_word_char(*lx->p))
            lx->p++;
        return copy(lx, start, (size_t)(lx->p - start));
    }
    expected(lx, "a default: a number, a 'string', a word or a (parenthesized expression)");
    return NULL;
}

/* A growable array in the script's arena: doubling, the old block left to
 * the arena (revisions are small). */
static void *grow(lexer *lx, void *arr, size_t n, size_t size)
{
    bool full = n == 0 || (n >= 4 && (n & (n - 1)) == 0);
    if (!full)
        return arr;
    size_t cap = n ? n * 2 : 4;
    void *p = cr_arena_alloc(&lx->s->arena, cap * size);
    if (!p) {
        cr_error_oom(&lx->s->err);
        return NULL;
    }
    if (n)
        memcpy(p, arr, n * size);
    return p;
}

/* (a, b, ...): names into *out. */
static bool name_list(lexer *lx, const char *const **out, size_t *n, const char *what)
{
    char w[96];
    snprintf(w, sizeof w, "'(' and the %s", what);
    if (!expect_punct(lx, '(', w))
        return false;
    const char **names = NULL;
    *n = 0;
    do {
        if (!(names = grow(lx, (void *)names, *n, sizeof *names)))
            return false;
        if (!(names[*n] = name(lx, what)))
            return false;
        (*n)++;
    } while (punct(lx, ','));
    *out = names;
    return expect_punct(lx, ')', "',' or ')' in the list of columns");
}

static bool fk_action(lexer *lx, const char **out)
{
    static const char *const actions[] = {"CASCADE", "RESTRICT", "SET NULL", "SET DEFAULT",
                                           "NO ACTION"};
    for (size_t i = 0; i < CR_ARRAY_LEN(actions); i++) {
        const char *space = strchr(actions[i], ' ');
        if (space) {
            char first[16];
            snprintf(first, sizeof first, "%.*s", (int)(space - actions[i]), actions[i]);
            const char *save = lx->p;
            if (keyword(lx, first) && keyword(lx, space + 1)) {
                *out = actions[i];
                return true;
            }
            lx->p = save;
        } else if (keyword(lx, actions[i])) {
            *out = actions[i];
            return true;
        }
    }
    return expected(lx, "cascade, restrict, set null, set default or no action");
}

/* references T (c, ...) [on delete A] [on update A], after "references". */
static bool references(lexer *lx, cr_migrate_constraint *k)
{
    size_t n;
    if (!(k->referred_table = name(lx, "the referred table")))
        return false;
    if (!name_list(lx, &k->referred_columns, &n, "referred columns"))
        return false;
    if (n != k->ncolumns)
        return fail(lx, "the foreign key has %zu column(s) but refers to %zu", k->ncolumns, n);
    while (keyword(lx, "on")) {
        if (keyword(lx, "delete")) {
            if (!fk_action(lx, &k->ondelete))
                return false;
        } else if (keyword(lx, "update")) {
            if (!fk_action(lx, &k->onupdate))
                return false;
        } else {
            return expected(lx, "'delete' or 'update' after 'on'");
        }
    }
    return true;
}

/* The constraints a column's options make (unique, references), appended
 * to *cons. */
typedef struct conlist {
    cr_migrate_constraint *items;
    size_t n;
} conlist;

static cr_migrate_constraint *conlist_add(lexer *lx, conlist *l)
{
    if (!(l->items = grow(lx, l->items, l->n, sizeof *l->items)))
        return NULL;
    cr_migrate_constraint *k = &l->items[l->n++];
    memset(k, 0, sizeof *k);
    return k;
}

static const char *const *one_name(lexer *lx, const char *n)
{
    const char **a = cr_arena_alloc(&lx->s->arena, sizeof *a);
    if (!a) {
        cr_error_oom(&lx->s->err);
        return NULL;
    }
    a[0] = n;
    return a;
}

static bool column(lexer *lx, cr_migrate_column *c, conlist *cons)
{
    memset(c, 0, sizeof *c);
    if (!(c->name = name(lx, "a column name")) || !sqltype(lx, &c->type))
        return false;
    c->nullable = true;
    bool said_null = false;
    for (;;) {
        if (keyword(lx, "primary")) {
            if (!keyword(lx, "key"))
                return expected(lx, "'key' after 'primary'");
            c->primary_key = true;
            if (!said_null)
                c->nullable = false;
        } else if (keyword(lx, "not")) {
            if (!keyword(lx, "null"))
                return expected(lx, "'null' after 'not'");
            c->nullable = false;
            said_null = true;
        } else if (keyword(lx, "null")) {
            c->nullable = true;
            said_null = true;
        } else if (keyword(lx, "unique")) {
            cr_migrate_constraint *k = conlist_add(lx, cons);
            if (!k || !(k->columns = one_name(lx, c->name)))
                return false;
            k->kind = CR_MIGRATE_UNIQUE;
            k->ncolumns = 1;
        } else if (keyword(lx, "default")) {
            if (!(c->server_default = default_value(lx)))
                return false;
        } else if (keyword(lx, "references")) {
            cr_migrate_constraint *k = conlist_add(lx, cons);
            if (!k || !(k->columns = one_name(lx, c->name)))
                return false;
            k->kind = CR_MIGRATE_FOREIGN_KEY;
            k->ncolumns = 1;
            if (!references(lx, k))
                return false;
        } else {
            return true;
        }
    }
}

/* A table constraint inside create_table, or false with *is_constraint
 * false when the item is a column. */
static bool table_constraint(lexer *lx, conlist *cons, bool *is_constraint)
{
    const char *save = lx->p;
    const char *cname = NULL;
    *is_constraint = true;
    if (keyword(lx, "constraint") && !(cname = name(lx, "the constraint's name")))
        return false;
    cr_migrate_constraint k = {0};
    k.name = cname;
    const char *after = lx->p;
    if (keyword(lx, "primary") && keyword(lx, "key")) {
        k.kind = CR_MIGRATE_PRIMARY_KEY;
    } else if ((lx->p = after, keyword(lx, "unique")) && (skip_ws(lx), *lx->p == '(')) {
        k.kind = CR_MIGRATE_UNIQUE;
    } else if ((lx->p = after, keyword(lx, "check")) && (skip_ws(lx), *lx->p == '(')) {
        k.kind = CR_MIGRATE_CHECK;
        if (!(k.sqltext = paren_text(lx, false, "the check's condition")))
            return false;
    } else if ((lx->p = after, keyword(lx, "foreign")) && keyword(lx, "key")) {
        k.kind = CR_MIGRATE_FOREIGN_KEY;
    } else {
        if (cname) {
            lx->p = after;
            return expected(lx, "primary key, unique, check or foreign key after the "
                                "constraint's name");
        }
        lx->p = save;
        *is_constraint = false;
        return false;
    }
    if (k.kind != CR_MIGRATE_CHECK &&
        !name_list(lx, &k.columns, &k.ncolumns, "constrained columns"))
        return false;
    if (k.kind == CR_MIGRATE_FOREIGN_KEY &&
        !(keyword(lx, "references") ? references(lx, &k) : expected(lx, "'references'")))
        return false;
    cr_migrate_constraint *slot = conlist_add(lx, cons);
    if (!slot)
        return false;
    *slot = k;
    return true;
}

/* ---- operations ------------------------------------------------------------ */

static bool op_create_table(lexer *lx, cr_migrate_op *op)
{
    if (!(op->table = name(lx, "the table's name")) ||
        !expect_punct(lx, '(', "'(' and the table's columns"))
        return false;
    cr_migrate_column *cols = NULL;
    conlist cons = {0};
    do {
        bool is_constraint;
        if (table_constraint(lx, &cons, &is_constraint))
            continue;
        if (is_constraint)
            return false;
        if (!(cols = grow(lx, cols, op->ncolumns, sizeof *cols)) ||
            !column(lx, &cols[op->ncolumns], &cons))
            return false;
        op->ncolumns++;
    } while (punct(lx, ','));
    if (!expect_punct(lx, ')', "',' or ')' after a column"))
        return false;
    if (op->ncolumns == 0)
        return fail(lx, "create_table %s has no columns", op->table);
    /* A table-level primary key makes its columns NOT NULL, as the database
     * will. */
    assert(cols);       /* at least one column, checked above */
    for (size_t i = 0; i < cons.n; i++)
        for (size_t j = 0; cons.items[i].kind == CR_MIGRATE_PRIMARY_KEY &&
                           j < cons.items[i].ncolumns; j++) {
            size_t c = 0;
            while (c < op->ncolumns && strcmp(cols[c].name, cons.items[i].columns[j]) != 0)
                c++;
            if (c == op->ncolumns)
                return fail(lx, "primary key names column '%s', which table %s does not have",
                            cons.items[i].columns[j], op->table);
            cols[c].nullable = false;
        }
    op->columns = cols;
    op->constraints = cons.items;
    op->nconstraints = cons.n;
    return true;
}

static bool op_add_column(lexer *lx, cr_migrate_op *op)
{
    cr_migrate_column *c = cr_arena_alloc(&lx->s->arena, sizeof *c);
    conlist cons = {0};
    if (!c) {
        cr_error_oom(&lx->s->err);
        return false;
    }
    if (!(op->table = name(lx, "the table's name")) || !column(lx, c, &cons))
        return false;
    op->columns = c;
    op->ncolumns = 1;
    op->constraints = cons.items;
    op->nconstraints = cons.n;
    return true;
}

static bool op_alter_column(lexer *lx, cr_migrate_op *op)
{
    if (!(op->table = name(lx, "the table's name")) || !(op->name = name(lx, "the column")))
        return false;
    bool any = false;
    for (;; any = true) {
        if (keyword(lx, "type")) {
            cr_sqltype *t = cr_arena_alloc(&lx->s->arena, sizeof *t);
            if (!t) {
                cr_error_oom(&lx->s->err);
                return false;
            }
            if (!sqltype(lx, t))
                return false;
            op->new_type = t;
            if (keyword(lx, "using") &&
                !(op->type_using = paren_text(lx, false, "using's expression")))
                return false;
        } else if (keyword(lx, "not")) {
            if (!keyword(lx, "null"))
                return expected(lx, "'null' after 'not'");
            op->new_nullable = CR_NO;
        } else if (keyword(lx, "null")) {
            op->new_nullable = CR_YES;
        } else if (keyword(lx, "default")) {
            op->set_default = true;
            if (!(op->new_default = default_value(lx)))
                return false;
        } else if (keyword(lx, "drop")) {
            if (!keyword(lx, "default"))
                return expected(lx, "'default' after 'drop'");
            op->set_default = true;
            op->new_default = NULL;
        } else if (keyword(lx, "rename")) {
            if (!keyword(lx, "to"))
                return expected(lx, "'to' after 'rename'");
            if (!(op->new_name = name(lx, "the column's new name")))
                return false;
        } else {
            break;
        }
    }
    if (!any)
        return expected(lx, "a change: type T, null, not null, default V, drop default or "
                            "rename to C");
    return true;
}

/* NAME on T, as the index and constraint operations start. */
static bool named_on(lexer *lx, cr_migrate_op *op, cr_migrate_constraint *k, const char *what)
{
    if (!(k->name = name(lx, what)))
        return false;
    if (!keyword(lx, "on"))
        return expected(lx, "'on' and the table's name");
    return (op->table = name(lx, "the table's name")) != NULL;
}

static bool op_constraint(lexer *lx, cr_migrate_op *op, cr_migrate_constraint_kind kind,
                          bool drop)
{
    cr_migrate_constraint *k = cr_arena_alloc(&lx->s->arena, sizeof *k);
    if (!k) {
        cr_error_oom(&lx->s->err);
        return false;
    }
    memset(k, 0, sizeof *k);
    k->kind = kind;
    op->kind = drop ? CR_MIGRATE_DROP_CONSTRAINT : CR_MIGRATE_ADD_CONSTRAINT;
    op->constraints = k;
    op->nconstraints = 1;
    if (!named_on(lx, op, k, kind == CR_MIGRATE_INDEX ? "the index's name"
                                                      : "the constraint's name"))
        return false;
    if (drop)
        return true;
    if (kind == CR_MIGRATE_CHECK)
        return (k->sqltext = paren_text(lx, false, "the check's condition")) != NULL;
    if (!name_list(lx, &k->columns, &k->ncolumns, "columns"))
        return false;
    if (kind == CR_MIGRATE_INDEX) {
        k->unique = keyword(lx, "unique");
        op->concurrently = keyword(lx, "concurrently");
    }
    if (kind == CR_MIGRATE_FOREIGN_KEY)
        return keyword(lx, "references") ? references(lx, k) : expected(lx, "'references'");
    return true;
}

/* One operation from its (joined) text. */
static bool parse_op(lexer *lx, cr_migrate_op *op)
{
    static const struct { const char *word; cr_migrate_constraint_kind kind; bool drop; } cons[] = {
        {"create_index", CR_MIGRATE_INDEX, false}, {"drop_index", CR_MIGRATE_INDEX, true},
        {"create_unique", CR_MIGRATE_UNIQUE, false}, {"drop_unique", CR_MIGRATE_UNIQUE, true},
        {"create_check", CR_MIGRATE_CHECK, false}, {"drop_check", CR_MIGRATE_CHECK, true},
        {"create_foreign_key", CR_MIGRATE_FOREIGN_KEY, false},
        {"drop_foreign_key", CR_MIGRATE_FOREIGN_KEY, true},
    };
    memset(op, 0, sizeof *op);
    op->line = lx->line;
    bool ok;
    if (keyword(lx, "execute")) {
        op->kind = CR_MIGRATE_EXECUTE;
        skip_ws(lx);
        if (!*lx->p)
            return expected(lx, "the SQL statement after execute");
        /* A trailing ';' is the statement's end, not part of it. */
        size_t n = strlen(lx->p);
        while (n && (lx->p[n - 1] == ';' || isspace((unsigned char)lx->p[n - 1])))
            n--;
        if (n == 0)
            return expected(lx, "the SQL statement after execute");
        op->sql = copy(lx, lx->p, n);
        return op->sql != NULL;
    }
    if (keyword(lx, "create_table")) {
        op->kind = CR_MIGRATE_CREATE_TABLE;
        ok = op_create_table(lx, op);
    } else if (keyword(lx, "drop_table")) {
        op->kind = CR_MIGRATE_DROP_TABLE;
        ok = (op->table = name(lx, "the table's name")) != NULL;
    } else if (keyword(lx, "rename_table")) {
        op->kind = CR_MIGRATE_RENAME_TABLE;
        ok = (op->table = name(lx, "the table's name")) &&
             (keyword(lx, "to") ? (op->new_name = name(lx, "the new name")) != NULL
                                : expected(lx, "'to' and the new name"));
    } else if (keyword(lx, "add_column")) {
        op->kind = CR_MIGRATE_ADD_COLUMN;
        ok = op_add_column(lx, op);
    } else if (keyword(lx, "drop_column")) {
        op->kind = CR_MIGRATE_DROP_COLUMN;
        ok = (op->table = name(lx, "the table's name")) && (op->name = name(lx, "the column"));
    } else if (keyword(lx, "alter_column")) {
        op->kind = CR_MIGRATE_ALTER_COLUMN;
        ok = op_alter_column(lx, op);
    } else {
        size_t i = 0;
        while (i < CR_ARRAY_LEN(cons) && !keyword(lx, cons[i].word))
            i++;
        if (i == CR_ARRAY_LEN(cons))
            return expected(lx, "an operation (create_table, drop_table, rename_table, "
                                "add_column, drop_column, alter_column, create_index, "
                                "drop_index, create_unique, drop_unique, create_check, "
                                "drop_check, create_foreign_key, drop_foreign_key, execute)");
        ok = op_constraint(lx, op, cons[i].kind, cons[i].drop);
    }
    if (ok) {
        skip_ws(lx);
        if (*lx->p)
            return expected(lx, "the end of the operation");
    }
    return ok;
}

/* ---- files ------------------------------------------------------------------ */

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > CR_MIGRATE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_word_char(id[i]))
            return false;
    return true;
}

static char *trimmed(lexer *lx, const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p))
        p++, n--;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    return copy(lx, p, n);
}

/* "-- key: value" before the first section. */
static bool header(lexer *lx, cr_revision *rev, const char *text)
{
    const char *colon = strchr(text, ':');
    const char *key = text;
    while (*key == ' ' || *key == '\t')
        key++;
    size_t klen = colon ? (size_t)(colon - key) : 0;
    while (klen && isspace((unsigned char)key[klen - 1]))
        klen--;
    if (!colon)
        return fail(lx, "expected '-- upgrade', '-- downgrade' or a header '-- key: value', "
                        "found '--%s'", text);
    char *value = trimmed(lx, colon + 1, strlen(colon + 1));
    if (!value)
        return false;
    if (klen == 8 && strncasecmp(key, "revision", 8) == 0) {
        if (!valid_id(value))
            return fail(lx, "revision id '%s' must be 1 to %d letters, digits or '_'", value,
                        CR_MIGRATE_ID_MAX);
        rev->id = value;
    } else if ((klen == 6 && strncasecmp(key, "parent", 6) == 0) ||
               (klen == 7 && strncasecmp(key, "parents", 7) == 0) ||
               (klen == 13 && strncasecmp(key, "down_revision", 13) == 0)) {
        if (rev->nparents)
            return fail(lx, "the parents are given twice");
        if (!*value || strcasecmp(value, "base") == 0 || strcasecmp(value, "none") == 0)
            return true;
        const char **parents = NULL;
        for (char *p = value;;) {
            char *comma = strchr(p, ',');
            char *id = trimmed(lx, p, comma ? (size_t)(comma - p) : strlen(p));
            if (!id || !(parents = grow(lx, (void *)parents, rev->nparents, sizeof *parents)))
                return false;
            if (!valid_id(id))
                return fail(lx, "parent id '%s' must be 1 to %d letters, digits or '_'", id,
                            CR_MIGRATE_ID_MAX);
            if (rev->nparents == 16)
                return fail(lx, "more than 16 parents");
            parents[rev->nparents++] = id;
            if (!comma)
                break;
            p = comma + 1;
        }
        rev->parents = parents;
    } else if (klen == 7 && strncasecmp(key, "message", 7) == 0) {
        rev->message = value;
    } else if ((klen == 4 && strncasecmp(key, "date", 4) == 0) ||
               (klen == 11 && strncasecmp(key, "create_date", 11) == 0)) {
        rev->date = value;
    } else {
        return fail(lx, "unknown header '%.*s' (expected revision, parent, message or date)",
                    (int)klen, key);
    }
    return true;
}

typedef struct oplist {
    cr_migrate_op *items;
    size_t n;
} oplist;

/* The logical line starting at *pos: the line and its indented
 * continuation lines, joined with newlines. Advances *pos and *lineno. */
static char *logical_line(lexer *lx, const char **pos, int *lineno)
{
    cr_buf b;
    cr_buf_init(&b);
    const char *p = *pos;
    for (bool first = true;; first = false) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n && p[n - 1] == '\r')
            n--;
        if (!first) {
            /* Continuation: an indented, non-blank line. */
            size_t k = 0;
            while (k < n && (p[k] == ' ' || p[k] == '\t'))
                k++;
            if (k == 0 || k == n)
                break;
            cr_buf_putc(&b, '\n');
            cr_buf_append(&b, p + k, n - k);
        } else {
            cr_buf_append(&b, p, n);
        }
        (*lineno)++;
        p = end ? end + 1 : p + strlen(p);
        if (!end)
            break;
    }
    *pos = p;
    const char *text = cr_buf_cstr(&b);
    char *c = text ? copy(lx, text, strlen(text)) : NULL;
    if (!text)
        cr_error_oom(&lx->s->err);
    cr_buf_free(&b);
    return c;
}

static bool blank_or_comment(const char *line)
{
    while (*line == ' ' || *line == '\t' || *line == '\r')
        line++;
    return !*line || *line == '\n' || *line == '#';
}

static bool parse_file(cr_migrate_script *s, const char *file, const char *text,
                       cr_revision *rev)
{
    lexer lx = {s, file, 0, ""};
    memset(rev, 0, sizeof *rev);
    if (!(rev->file = copy(&lx, file, strlen(file))))
        return false;
    lx.file = rev->file;
    rev->message = rev->date = "";
    oplist up = {0}, down = {0};
    oplist *section = NULL;
    bool seen_up = false, seen_down = false;
    int lineno = 1;
    for (const char *p = text; *p;) {
        lx.line = lineno;
        if (blank_or_comment(p)) {
            const char *end = strchr(p, '\n');
            p = end ? end + 1 : p + strlen(p);
            lineno++;
            continue;
        }
        char *line = logical_line(&lx, &p, &lineno);
        if (!line)
            return false;
        if (strncmp(line, "--", 2) == 0) {
            char *word = trimmed(&lx, line + 2, strlen(line + 2));
            if (!word)
                return false;
            if (strcasecmp(word, "upgrade") == 0 || strcasecmp(word, "downgrade") == 0) {
                bool *seen = tolower((unsigned char)word[0]) == 'u' ? &seen_up : &seen_down;
                if (*seen)
                    return fail(&lx, "a second '-- %s' section", word);
                *seen = true;
                section = seen == &seen_up ? &up : &down;
                continue;
            }
            if (section)
                return fail(&lx, "expected an operation, found '%.40s' (headers come before "
                                 "'-- upgrade')", line);
            if (!header(&lx, rev, line + 2))
                return false;
            continue;
        }
        if (!section)
            return fail(&lx, "expected a header '-- key: value' or '-- upgrade', found "
                             "'%.40s'", line);
        if (!(section->items = grow(&lx, section->items, section->n, sizeof *section->items)))
            return false;
        lx.p = line;
        if (!parse_op(&lx, &section->items[section->n]))
            return false;
        section->n++;
    }
    lx.line = lineno;
    if (!rev->id)
        return fail(&lx, "no '-- revision: ID' header");
    if (!seen_up || !seen_down)
        return fail(&lx, "no '-- %s' section (a revision has both, even if one is empty)",
                    seen_up ? "downgrade" : "upgrade");
    for (size_t i = 0; i < rev->nparents; i++)
        if (strcmp(rev->parents[i], rev->id) == 0)
            return fail(&lx, "revision '%s' names itself as its parent", rev->id);
    rev->upgrade = up.items;
    rev->nupgrade = up.n;
    rev->downgrade = down.items;
    rev->ndowngrade = down.n;
    return true;
}

/* ---- the script ------------------------------------------------------------- */

cr_migrate_script *cr_migrate_script_new(void)
{
    cr_migrate_script *s = cr_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    cr_error_init(&s->err);
    cr_arena_init(&s->arena, 4096);
    return s;
}

void cr_migrate_script_free(cr_migrate_script *s)
{
    if (!s)
        return;
    cr_arena_free(&s->arena);
    cr_free(s->revs);
    cr_error_clear(&s->err);
    cr_free(s);
}

const cr_error *cr_migrate_script_error(const cr_migrate_script *s)
{
    static const cr_error null_script = {.cls = CR_ERR_ARGUMENT,
                                         .message = "the migration script is NULL"};
    if (!s)
        return &null_script;
    return s->err.cls ? &s->err : NULL;
}

long cr_migrate_find(const cr_migrate_script *s, const char *id)
{
    assert(id);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->revs[i].id, id) == 0)
            return (long)i;
    return -1;
}

cr_status cr_migrate_script_add(cr_migrate_script *s, const char *name, const char *text)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&s->err);
    if (!name || !text)
        return cr_error_set(&s->err, CR_ERR_ARGUMENT, "cr_migrate_script_add: %s is NULL",
                            name ? "the text" : "the name");
    if (s->resolved)
        return cr_error_set(&s->err, CR_ERR_INVALID_REQUEST,
                            "%s: the script is resolved; it takes no more revisions", name);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        cr_revision *p = cr_realloc(s->revs, cap * sizeof *p);
        if (!p)
            return cr_error_oom(&s->err);
        s->revs = p;
        s->cap = cap;
    }
    cr_revision rev;
    if (!parse_file(s, name, text, &rev))
        return s->err.cls;
    if (cr_migrate_find(s, rev.id) >= 0)
        return cr_error_set(&s->err, CR_ERR_INVALID_REQUEST,
                            "%s: revision '%s' is already defined by %s", name, rev.id,
                            s->revs[cr_migrate_find(s, rev.id)].file);
    s->revs[s->n++] = rev;
    return CR_OK;
}

static cr_status broken_chain(cr_migrate_script *s, size_t i, size_t p)
{
    return cr_error_set(&s->err, CR_ERR_INVALID_REQUEST,
                        "%s: revision '%s' names parent '%s', which no revision defines (a "
                        "broken chain)", s->revs[i].file, s->revs[i].id, s->revs[i].parents[p]);
}

/* Depth-first placement of revision i after its parents; state 1: on the
 * path (a cycle when met again), 2: placed. */
static cr_status place(cr_migrate_script *s, size_t i, unsigned char *state, cr_revision *out,
                       size_t *nout)
{
    assert(state && out);
    if (state[i] == 2)
        return CR_OK;
    if (state[i] == 1)
        return cr_error_set(&s->err, CR_ERR_INVALID_REQUEST,
                            "%s: revision '%s' is its own ancestor (a cycle in the history)",
                            s->revs[i].file, s->revs[i].id);
    state[i] = 1;
    for (size_t p = 0; p < s->revs[i].nparents; p++) {
        long k = cr_migrate_find(s, s->revs[i].parents[p]);
        if (k < 0)
            return broken_chain(s, i, p);
        cr_status st = place(s, (size_t)k, state, out, nout);
        if (st)
            return st;
    }
    state[i] = 2;
    out[(*nout)++] = s->revs[i];
    return CR_OK;
}

cr_status cr_migrate_script_resolve(cr_migrate_script *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&s->err);
    if (s->resolved)
        return CR_OK;
    unsigned char *state = cr_calloc(s->n ? s->n : 1, 1);
    cr_revision *sorted = cr_malloc((s->n ? s->n : 1) * sizeof *sorted);
    cr_status st = state && sorted ? CR_OK : cr_error_oom(&s->err);
    size_t n = 0;
    bool has_root = s->n == 0;
    for (size_t i = 0; i < s->n; i++)
        has_root |= s->revs[i].nparents == 0;
    /* A parent no revision defines is the plainer error, even when it also
     * leaves the history without a start. */
    for (size_t i = 0; st == CR_OK && i < s->n; i++)
        for (size_t p = 0; st == CR_OK && p < s->revs[i].nparents; p++)
            if (cr_migrate_find(s, s->revs[i].parents[p]) < 0)
                st = broken_chain(s, i, p);
    if (st == CR_OK && !has_root)
        st = cr_error_set(&s->err, CR_ERR_INVALID_REQUEST,
                          "no revision starts the history (every one names a parent)");
    for (size_t i = 0; st == CR_OK && i < s->n; i++)
        st = place(s, i, state, sorted, &n);
    if (st == CR_OK) {
        assert(sorted);
        if (n)          /* an empty directory has no revs to copy into */
            memcpy(s->revs, sorted, n * sizeof *sorted);
        s->resolved = true;
    }
    cr_free(state);
    cr_free(sorted);
    return st;
}

size_t cr_migrate_revision_count(const cr_migrate_script *s)
{
    return s && s->resolved ? s->n : 0;
}

const cr_revision *cr_migrate_revision_at(const cr_migrate_script *s, size_t i)
{
    return s && s->resolved && i < s->n ? &s->revs[i] : NULL;
}

const cr_revision *cr_migrate_revision(const cr_migrate_script *s, const char *id)
{
    if (!s || !id || !s->resolved)
        return NULL;
    long i = cr_migrate_find(s, id);
    return i >= 0 ? &s->revs[i] : NULL;
}

size_t cr_migrate_script_heads(const cr_migrate_script *s, const cr_revision **out, size_t n)
{
    if (!s || !s->resolved)
        return 0;
    size_t count = 0;
    for (size_t i = 0; i < s->n; i++) {
        bool is_parent = false;
        for (size_t j = i + 1; j < s->n && !is_parent; j++)
            for (size_t p = 0; p < s->revs[j].nparents; p++)
                is_parent |= strcmp(s->revs[j].parents[p], s->revs[i].id) == 0;
        if (is_parent)
            continue;
        if (out && count < n)
            out[count] = &s->revs[i];
        count++;
    }
    return count;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole of a file, or NULL with the error on the script. */
static char *read_all(cr_migrate_script *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cr_error_set(&s->err, CR_ERR_OPERATIONAL, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    cr_buf b;
    cr_buf_init(&b);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        cr_buf_append(&b, chunk, got);
    bool bad = ferror(f);
    fclose(f);
    const char *text = cr_buf_cstr(&b);
    char *c = NULL;
    if (bad)
        cr_error_set(&s->err, CR_ERR_OPERATIONAL, "cannot read %s", path);
    else if (!text)
        cr_error_oom(&s->err);
    else if (strlen(text) != b.len)
        cr_error_set(&s->err, CR_ERR_ARGUMENT, "%s: a NUL byte in a revision file", path);
    else if (!(c = cr_strdup(text)))
        cr_error_oom(&s->err);
    cr_buf_free(&b);
    return c;
}

/* The *.rev names of dir, sorted; NULL with the error on the script. */
static char **rev_files(cr_migrate_script *s, const char *dir, size_t *n)
{
    assert(dir);
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        cr_error_set(&s->err, CR_ERR_OPERATIONAL, "cannot open the migrations directory %s: %s",
                     dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t cap = 0;
    bool oom = false;
    struct dirent *e;
    while (!oom && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".rev") != 0 || e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = cr_realloc(names, cap * sizeof *p);
            if (!p) {
                oom = true;
                break;
            }
            names = p;
        }
        if (!(names[*n] = cr_strdup(e->d_name)))
            oom = true;
        else
            (*n)++;
    }
    closedir(d);
    if (oom) {
        for (size_t i = 0; i < *n; i++)
            cr_free(names[i]);
        cr_free(names);
        cr_error_oom(&s->err);
        return NULL;
    }
    if (*n)
        qsort(names, *n, sizeof *names, by_name);
    return names ? names : cr_calloc(1, sizeof *names);
}

static cr_status load_files(cr_migrate_script *s, const char *dir)
{
    size_t n;
    char **names = rev_files(s, dir, &n);
    if (!names)
        return s->err.cls ? s->err.cls : cr_error_oom(&s->err);
    cr_status st = CR_OK;
    for (size_t i = 0; st == CR_OK && i < n; i++) {
        cr_buf path;
        cr_buf_init(&path);
        cr_buf_printf(&path, "%s/%s", dir, names[i]);
        const char *p = cr_buf_cstr(&path);
        char *text = p ? read_all(s, p) : NULL;
        if (!p)
            cr_error_oom(&s->err);
        st = text ? cr_migrate_script_add(s, p, text) : s->err.cls;
        cr_free(text);
        cr_buf_free(&path);
    }
    for (size_t i = 0; i < n; i++)
        cr_free(names[i]);
    cr_free(names);
    return st;
}

cr_migrate_script *cr_migrate_load(const char *dir, cr_error **err)
{
    if (err)
        *err = NULL;
    cr_migrate_script *s = cr_migrate_script_new();
    cr_status st = s ? CR_OK : CR_ERR_NO_MEMORY;
    if (st == CR_OK && !dir)
        st = cr_error_set(&s->err, CR_ERR_ARGUMENT, "cr_migrate_load: the directory is NULL");
    if (st == CR_OK)
        st = load_files(s, dir);
    if (st == CR_OK)
        st = cr_migrate_script_resolve(s);
    if (st == CR_OK)
        return s;
    if (err) {
        cr_error oom;
        cr_error_init(&oom);
        if (!s)
            cr_error_oom(&oom);
        *err = cr_error_dup(s ? &s->err : &oom);
    }
    cr_migrate_script_free(s);
    return NULL;
}
