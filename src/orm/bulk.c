/* bulk.c — UPDATE and DELETE by query, keeping the session's objects in step (synchronize_session). */
#include "orm/orm.h"

#include <string.h>

/* The keys of the rows q selects, and the session's objects among them. */
typedef struct matched {
    cr_value *keys;              /* nrows * npk, text in the arena            */
    size_t nrows, cap;
    cr_instance **objs;          /* the session's objects for the rows, or NULL */
    cr_arena arena;
} matched;

static void matched_free(matched *mt)
{
    cr_free(mt->keys);
    cr_free(mt->objs);
    cr_arena_free(&mt->arena);
}

static cr_status matched_push(cr_session *s, matched *mt, const cr_mapper *m, const cr_value *key,
                              cr_instance *in)
{
    if (mt->nrows == mt->cap) {
        size_t cap = mt->cap ? mt->cap * 2 : 64;
        cr_value *keys = cr_realloc(mt->keys, cap * m->npk * sizeof *keys);
        if (keys)
            mt->keys = keys;
        cr_instance **objs = keys ? cr_realloc(mt->objs, cap * sizeof *objs) : NULL;
        if (!objs)
            return cr_error_oom(&s->err);
        mt->objs = objs;
        mt->cap = cap;
    }
    cr_value *copy = cr_arena_copy_values(&mt->arena, key, (int)m->npk);
    if (!copy)
        return cr_error_oom(&s->err);
    memcpy(&mt->keys[mt->nrows * m->npk], copy, m->npk * sizeof *copy);
    mt->objs[mt->nrows++] = in;
    return CR_OK;
}

/* Run q (autoflushed first) and collect what it matches. */
static cr_status match(cr_session *s, cr_stmt *q, const cr_mapper *m, matched *mt)
{
    memset(mt, 0, sizeof *mt);
    cr_arena_init(&mt->arena, 4096);
    cr_result *r = cr_session_execute(s, q);
    if (!r)
        return s->err.cls ? s->err.cls : CR_ERR_INTERNAL;
    cr_status st = CR_OK;
    const cr_row *row;
    while (!st && (row = cr_result_fetchone(r))) {
        cr_value key[64];
        st = cr_row_key(m, row, 0, key, &s->err);
        if (!st)
            st = matched_push(s, mt, m, key,
                              cr_map_find(s, m, key, cr_key_hash(key, m->npk)));
    }
    if (!st && cr_result_error(r)) {
        cr_error_copy(&s->err, cr_result_error(r));
        st = s->err.cls;
    }
    cr_result_free(r);
    return st;
}

/* WHERE the rows first .. first + n of mt: key IN (...), or an OR of ANDs
 * for a composite key. */
static void where_keys(cr_stmt *q, const cr_mapper *m, const matched *mt, size_t first, size_t n)
{
    cr_expr *pkcol = cr__operand_column(q, m->fields[m->pk[0]].col);
    if (m->npk == 1) {
        cr_where(q, cr_in_values(q, pkcol, &mt->keys[first], n));
        return;
    }
    const void *ors[101];
    for (size_t r = 0; r < n; r++) {
        const void *ands[65];
        for (size_t k = 0; k < m->npk; k++)
            ands[k] = cr_binary(q, CR_OP_EQ, cr__operand_column(q, m->fields[m->pk[k]].col),
                                cr__operand_value(q, mt->keys[(first + r) * m->npk + k]));
        ands[m->npk] = NULL;
        ors[r] = cr_and_items(q, ands);
    }
    ors[n] = NULL;
    cr_where(q, cr_or_items(q, ors));
}

/* Run the UPDATE or DELETE over the matched rows in chunks. */
static cr_status run_chunks(cr_session *s, const cr_mapper *m, const matched *mt,
                            const cr_assignment *set, size_t nset, int64_t *rowcount)
{
    size_t chunk = m->npk == 1 ? 500 : 100;
    int64_t total = 0;
    for (size_t first = 0; first < mt->nrows; first += chunk) {
        size_t n = mt->nrows - first < chunk ? mt->nrows - first : chunk;
        cr_stmt *q = set ? cr_update(m->table) : cr_delete(m->table);
        for (size_t k = 0; q && k < nset; k++)
            cr_set_expr(q, set[k].column, cr__operand_value(q, set[k].value));
        if (q)
            where_keys(q, m, mt, first, n);
        cr_result *r = cr_session_run(s, q);
        cr_stmt_free(q);
        if (!r)
            return s->err.cls;
        total += cr_result_rowcount(r);
        cr_result_free(r);
    }
    if (rowcount)
        *rowcount = total;
    return CR_OK;
}

/* The mapper whose rows a bulk statement changes. */
static const cr_mapper *bulk_start(cr_session *s, cr_stmt *q, const char *what)
{
    if (cr_session_check(s))
        return NULL;
    const cr_mapper *m = q ? q->orm_mapper : NULL;
    if (!m && q && q->kind == CR_STMT_SELECT && q->columns.n) {
        const cr_table *t = q->columns.items[0];
        m = t->tag == CR_TAG_TABLE ? cr_table_mapper(t) : NULL;
    }
    if (!m)
        cr_session_fail(s, CR_ERR_INVALID_REQUEST, "%s: the statement selects no model", what);
    return m;
}

cr_status cr_session_update_where(cr_session *s, cr_stmt *q, const cr_assignment *set,
                                  size_t nset, int64_t *rowcount)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    const cr_mapper *m = bulk_start(s, q, "update");
    if (!m)
        return s->err.cls;
    if (!set || !nset)
        return cr_session_fail(s, CR_ERR_ARGUMENT, "update: no values to set");
    for (size_t k = 0; k < nset; k++)
        if (!set[k].column || set[k].column->table != m->table)
            return cr_session_fail(s, CR_ERR_ARGUMENT, "update: value %zu is not for a column "
                                   "of %s", k + 1, m->name);
    matched mt;
    cr_status st = match(s, q, m, &mt);
    if (!st)
        st = run_chunks(s, m, &mt, set, nset, rowcount);
    /* synchronize_session: the session's objects take the new values. */
    for (size_t r = 0; !st && r < mt.nrows; r++) {
        cr_instance *in = mt.objs[r];
        if (!in)
            continue;
        for (size_t k = 0; !st && k < nset; k++)
            if (cr_field_store(in, set[k].column->index, &set[k].value))
                st = cr_error_oom(&s->err);
        if (!st && cr_snapshot_take(in))
            st = cr_error_oom(&s->err);
    }
    matched_free(&mt);
    return st;
}

cr_status cr_session_delete_where(cr_session *s, cr_stmt *q, int64_t *rowcount)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    const cr_mapper *m = bulk_start(s, q, "delete");
    if (!m)
        return s->err.cls;
    matched mt;
    cr_status st = match(s, q, m, &mt);
    if (!st)
        st = run_chunks(s, m, &mt, NULL, 0, rowcount);
    /* synchronize_session: the session's objects of those rows are deleted. */
    for (size_t r = 0; !st && r < mt.nrows; r++) {
        cr_instance *in = mt.objs[r];
        if (!in)
            continue;
        cr_map_remove(s, in);
        in->marked_delete = false;
        in->state = CR_INST_DELETED;
        in->delete_level = s->level;
    }
    matched_free(&mt);
    return st;
}

cr_status cr_query_update(cr_stmt *q, const cr_assignment *set, size_t nset, int64_t *rowcount)
{
    cr_session *s = cr_query_session(q);
    return s ? cr_session_update_where(s, q, set, nset, rowcount) : CR_ERR_ARGUMENT;
}

cr_status cr_query_delete(cr_stmt *q, int64_t *rowcount)
{
    cr_session *s = cr_query_session(q);
    return s ? cr_session_delete_where(s, q, rowcount) : CR_ERR_ARGUMENT;
}
