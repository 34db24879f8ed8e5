/* model.c — the schema as the revisions so far leave it, replayed in memory: what rebuilds, MODIFY COLUMN and the check read. */
#include "migrate/migrate.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void cr_model_init(cr_model *m)
{
    memset(m, 0, sizeof *m);
    cr_arena_init(&m->arena, 1024);
}

void cr_mtable_free(cr_mtable *t)
{
    cr_free(t->cols);
    cr_free(t->cons);
    t->cols = NULL;
    t->cons = NULL;
    t->ncols = t->ncons = 0;
}

void cr_model_free(cr_model *m)
{
    for (size_t i = 0; i < m->n; i++)
        cr_mtable_free(&m->tables[i]);
    cr_free(m->tables);
    cr_free(m->triggers);
    cr_arena_free(&m->arena);
    memset(m, 0, sizeof *m);
}

cr_mtable *cr_model_table(const cr_model *m, const char *name)
{
    for (size_t i = 0; name && i < m->n; i++)
        if (strcmp(m->tables[i].name, name) == 0)
            return &m->tables[i];
    return NULL;
}

cr_migrate_column *cr_mtable_column(const cr_mtable *t, const char *name)
{
    for (size_t i = 0; t && i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

/* Append n items of size to *arr holding *count; false when out of memory. */
static bool append(void **arr, size_t *count, const void *items, size_t n, size_t size)
{
    if (n == 0)
        return true;
    void *p = cr_realloc(*arr, (*count + n) * size);
    if (!p)
        return false;
    memcpy((char *)p + *count * size, items, n * size);
    *arr = p;
    *count += n;
    return true;
}

bool cr_mtable_copy(cr_mtable *dst, const cr_mtable *t)
{
    memset(dst, 0, sizeof *dst);
    dst->name = t->name;
    if (append((void **)&dst->cols, &dst->ncols, t->cols, t->ncols, sizeof *t->cols) &&
        append((void **)&dst->cons, &dst->ncons, t->cons, t->ncons, sizeof *t->cons))
        return true;
    cr_mtable_free(dst);
    return false;
}

static bool names_column(const cr_migrate_constraint *k, const char *col)
{
    for (size_t i = 0; i < k->ncolumns; i++)
        if (strcmp(k->columns[i], col) == 0)
            return true;
    return false;
}

static void remove_constraint(cr_mtable *t, size_t i)
{
    memmove(&t->cons[i], &t->cons[i + 1], (t->ncons - i - 1) * sizeof *t->cons);
    t->ncons--;
}

/* A copy of names with from renamed to to, in the model's arena. */
static const char *const *renamed(cr_model *m, const char *const *names, size_t n,
                                  const char *from, const char *to)
{
    const char **c = cr_arena_alloc(&m->arena, (n ? n : 1) * sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++)
        c[i] = strcmp(names[i], from) == 0 ? to : names[i];
    return c;
}

static bool rename_column(cr_model *m, cr_mtable *t, const char *from, const char *to)
{
    cr_migrate_column *c = cr_mtable_column(t, from);
    if (c)
        c->name = to;
    for (size_t i = 0; i < t->ncons; i++)
        if (names_column(&t->cons[i], from) &&
            !(t->cons[i].columns = renamed(m, t->cons[i].columns, t->cons[i].ncolumns, from, to)))
            return false;
    /* Foreign keys of every table that refer to the column follow it. */
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->tables[i].ncons; j++) {
            cr_migrate_constraint *k = &m->tables[i].cons[j];
            if (k->kind != CR_MIGRATE_FOREIGN_KEY || strcmp(k->referred_table, t->name) != 0)
                continue;
            if (!(k->referred_columns = renamed(m, k->referred_columns, k->ncolumns, from, to)))
                return false;
        }
    return true;
}

static void alter_column(cr_mtable *t, const cr_migrate_op *op)
{
    cr_migrate_column *c = cr_mtable_column(t, op->name);
    if (!c)
        return;
    if (op->new_type)
        c->type = *op->new_type;
    if (op->new_nullable.value != CR_AUTO.value)
        c->nullable = op->new_nullable.value == CR_YES.value;
    if (op->set_default)
        c->server_default = op->new_default;
}

static void drop_column(cr_mtable *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0) {
            memmove(&t->cols[i], &t->cols[i + 1], (t->ncols - i - 1) * sizeof *t->cols);
            t->ncols--;
            break;
        }
    /* Constraints and indexes on the column go with it, as the databases
     * drop them (and as a rebuild must). */
    for (size_t i = t->ncons; i-- > 0;)
        if (names_column(&t->cons[i], name))
            remove_constraint(t, i);
}

static void drop_constraint(cr_mtable *t, const cr_migrate_constraint *k)
{
    for (size_t i = 0; i < t->ncons; i++)
        if (t->cons[i].name && strcmp(t->cons[i].name, k->name) == 0 &&
            t->cons[i].kind == k->kind) {
            remove_constraint(t, i);
            return;
        }
}

static bool create_table(cr_model *m, const cr_migrate_op *op)
{
    cr_mtable t = {op->table, NULL, 0, NULL, 0};
    if (!append((void **)&t.cols, &t.ncols, op->columns, op->ncolumns, sizeof *op->columns) ||
        !append((void **)&t.cons, &t.ncons, op->constraints, op->nconstraints,
                sizeof *op->constraints) ||
        !append((void **)&m->tables, &m->n, &t, 1, sizeof t)) {
        cr_mtable_free(&t);
        return false;
    }
    return true;
}

static void drop_table(cr_model *m, cr_mtable *t)
{
    size_t i = (size_t)(t - m->tables);
    cr_mtable_free(t);
    memmove(&m->tables[i], &m->tables[i + 1], (m->n - i - 1) * sizeof *m->tables);
    m->n--;
}

static void rename_table(cr_model *m, cr_mtable *t, const char *to)
{
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->tables[i].ncons; j++) {
            cr_migrate_constraint *k = &m->tables[i].cons[j];
            if (k->kind == CR_MIGRATE_FOREIGN_KEY && strcmp(k->referred_table, t->name) == 0)
                k->referred_table = to;
        }
    t->name = to;
}

/* ---- triggers made by execute statements ----------------------------------
 * Only the plain forms are followed: CREATE TRIGGER [IF NOT EXISTS] name ...
 * ON table ..., DROP TRIGGER [IF EXISTS] name. A temporary trigger is the
 * connection's, not the schema's, and is left out. */

typedef struct sqltok {
    const char *p;                  /* where the token starts */
    size_t n;                       /* its length; 0 at the end */
} sqltok;

static const char *skip_space(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* The next token after p: a word, a quoted name or string (its quotes
 * included), or one character. */
static sqltok next_token(const char *p)
{
    p = skip_space(p);
    sqltok t = {p, 0};
    if (!*p)
        return t;
    if (isalpha((unsigned char)*p) || *p == '_') {
        while (isalnum((unsigned char)p[t.n]) || p[t.n] == '_' || p[t.n] == '$')
            t.n++;
        return t;
    }
    char close = *p == '"' ? '"' : *p == '`' ? '`' : *p == '[' ? ']' : *p == '\'' ? '\'' : 0;
    t.n = 1;
    if (close) {
        while (p[t.n] && !(p[t.n] == close && p[t.n + 1] != close))
            t.n += p[t.n] == close ? 2 : 1;
        if (p[t.n])
            t.n++;
    }
    return t;
}

static bool is_word(sqltok t, const char *word)
{
    return t.n == strlen(word) && strncasecmp(t.p, word, t.n) == 0;
}

/* A name token without its quotes (doubled quotes undone), in the arena. */
static char *name_of(cr_arena *a, sqltok t)
{
    char *out = cr_arena_alloc(a, t.n + 1);
    if (!out)
        return NULL;
    bool quoted = t.n >= 2 && strchr("\"`[", t.p[0]);
    size_t o = 0;
    for (size_t i = quoted ? 1 : 0; i < (quoted ? t.n - 1 : t.n); i++) {
        out[o++] = t.p[i];
        if (quoted && t.p[i] == t.p[0] && t.p[0] != '[' && i + 1 < t.n - 1)
            i++;
    }
    out[o] = '\0';
    return out;
}

/* The name token after p (schema.name: the name), *after set past it. */
static sqltok qualified_name(const char *p, const char **after)
{
    sqltok t = next_token(p);
    sqltok dot = next_token(t.p + t.n);
    if (t.n && dot.n == 1 && *dot.p == '.')
        t = next_token(dot.p + 1);
    *after = t.p + t.n;
    return t;
}

static void forget_triggers(cr_model *m, const char *table, const char *name)
{
    for (size_t i = 0; i < m->ntriggers; i++) {
        const cr_mtrigger *g = &m->triggers[i];
        if ((table && strcasecmp(g->table, table) == 0) ||
            (name && strcasecmp(g->name, name) == 0)) {
            memmove(&m->triggers[i], &m->triggers[i + 1],
                    (m->ntriggers - i - 1) * sizeof *m->triggers);
            m->ntriggers--;
            i--;
        }
    }
}

static bool create_trigger(cr_model *m, const char *p)
{
    sqltok t = next_token(p);
    if (is_word(t, "IF")) {
        sqltok not = next_token(t.p + t.n);
        sqltok exists = next_token(not.p + not.n);
        if (!is_word(not, "NOT") || !is_word(exists, "EXISTS"))
            return true;
        p = exists.p + exists.n;
    }
    const char *after;
    sqltok name = qualified_name(p, &after);
    if (!name.n)
        return true;
    const char *from = name.p;      /* SQLite keeps no schema before the name */
    for (t = next_token(after); t.n && !is_word(t, "ON"); t = next_token(t.p + t.n))
        ;
    sqltok table = t.n ? qualified_name(t.p + t.n, &after) : t;
    if (!table.n)
        return true;
    size_t len = strlen(from);
    while (len && (isspace((unsigned char)from[len - 1]) || from[len - 1] == ';'))
        len--;
    static const char prefix[] = "CREATE TRIGGER ";
    char *sql = cr_arena_alloc(&m->arena, sizeof prefix + len);
    cr_mtrigger g = {name_of(&m->arena, name), name_of(&m->arena, table), sql};
    if (!g.name || !g.table || !sql)
        return false;
    memcpy(sql, prefix, sizeof prefix - 1);
    memcpy(sql + sizeof prefix - 1, from, len);
    sql[sizeof prefix - 1 + len] = '\0';
    forget_triggers(m, NULL, g.name);
    return append((void **)&m->triggers, &m->ntriggers, &g, 1, sizeof g);
}

/* What an execute statement does to the triggers the model knows. */
static bool execute(cr_model *m, const char *sql)
{
    sqltok verb = next_token(sql);
    sqltok what = next_token(verb.p + verb.n);
    if (is_word(verb, "CREATE") && is_word(what, "TRIGGER"))
        return create_trigger(m, what.p + what.n);
    if (is_word(verb, "DROP") && is_word(what, "TRIGGER")) {
        const char *after = what.p + what.n;
        sqltok t = next_token(after);
        if (is_word(t, "IF")) {
            sqltok exists = next_token(t.p + t.n);
            after = exists.p + exists.n;
        }
        sqltok name = qualified_name(after, &after);
        char *n = name.n ? name_of(&m->arena, name) : NULL;
        if (name.n && !n)
            return false;
        if (n)
            forget_triggers(m, NULL, n);
    }
    return true;
}

const cr_mtrigger *cr_model_trigger(const cr_model *m, const char *table, size_t i)
{
    for (size_t k = 0; k < m->ntriggers; k++)
        if (strcasecmp(m->triggers[k].table, table) == 0 && i-- == 0)
            return &m->triggers[k];
    return NULL;
}

bool cr_model_apply(cr_model *m, const cr_migrate_op *op, cr_error *err)
{
    cr_mtable *t = cr_model_table(m, op->table);
    bool ok = true;
    switch (op->kind) {
    case CR_MIGRATE_CREATE_TABLE:
        if (t)      /* made again after a drop the model missed: the new one wins */
            drop_table(m, t);
        ok = create_table(m, op);
        break;
    case CR_MIGRATE_DROP_TABLE:
        if (t)
            drop_table(m, t);
        forget_triggers(m, op->table, NULL);    /* they go with the table */
        break;
    case CR_MIGRATE_RENAME_TABLE:
        if (t)
            rename_table(m, t, op->new_name);
        /* SQLite rewrites their text for the new name, which the model
         * cannot follow: an offline rebuild no longer makes them again. */
        forget_triggers(m, op->table, NULL);
        break;
    case CR_MIGRATE_ADD_COLUMN:
        if (t)
            ok = append((void **)&t->cols, &t->ncols, op->columns, 1, sizeof *op->columns) &&
                 append((void **)&t->cons, &t->ncons, op->constraints, op->nconstraints,
                        sizeof *op->constraints);
        break;
    case CR_MIGRATE_DROP_COLUMN:
        if (t)
            drop_column(t, op->name);
        break;
    case CR_MIGRATE_ALTER_COLUMN:
        if (t) {
            alter_column(t, op);
            if (op->new_name)
                ok = rename_column(m, t, op->name, op->new_name);
        }
        break;
    case CR_MIGRATE_ADD_CONSTRAINT:
        if (t)
            ok = append((void **)&t->cons, &t->ncons, op->constraints, 1,
                        sizeof *op->constraints);
        break;
    case CR_MIGRATE_DROP_CONSTRAINT:
        if (t)
            drop_constraint(t, &op->constraints[0]);
        break;
    case CR_MIGRATE_EXECUTE:
        ok = execute(m, op->sql);
        break;
    }
    if (!ok)
        cr_error_oom(err);
    return ok;
}
