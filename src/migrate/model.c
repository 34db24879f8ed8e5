/* model.c — the schema as the revisions so far leave it, replayed in memory: what rebuilds, MODIFY COLUMN and the check read. */
#include "migrate/migrate.h"

#include <string.h>

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
    if (op->new_nullable != CR_AUTO)
        c->nullable = op->new_nullable == CR_YES;
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
        break;
    case CR_MIGRATE_RENAME_TABLE:
        if (t)
            rename_table(m, t, op->new_name);
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
        break;
    }
    if (!ok)
        cr_error_oom(err);
    return ok;
}
