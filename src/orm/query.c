/* query.c — ORM queries: statements of a model, rows to objects through the identity map, get, refresh, merge. */
#include "orm/orm.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- statements ---- */

cr_stmt *cr_select_mapper(const cr_mapper *m)
{
    if (!m) {
        cr_stmt *q = cr_select_new();
        if (q)
            cr_stmt_fail(q, CR_ERR_UNMAPPED_INSTANCE, "select of a model: the mapper is NULL "
                         "(was the model's _define called?)");
        return q;
    }
    cr_stmt *q = cr_select_new();
    if (q) {
        q->orm_mapper = m;
        cr_mapper_columns(q, NULL, m, m->deferred);
    }
    return q;
}

/* ---- deferred columns ---- */

static const cr_mapper *entity_of(const cr_stmt *q);

/* The fields every load of m reads: its keys (primary and foreign: what
 * identity and relationships are made of) and the version counter. */
static uint64_t pinned_fields(const cr_mapper *m)
{
    return cr_mapper_key_fields(m) | (m->version >= 0 ? UINT64_C(1) << m->version : 0);
}

cr_expr *cr_field_item(cr_stmt *q, cr_expr *from, const cr_mapper *m, size_t i,
                       uint64_t unloaded)
{
    const cr_column *col = m->fields[i].col;
    if (unloaded >> i & 1)
        return cr_label(q, cr_null(q), col->name);
    return from ? cr_c(q, from, col->name) : (cr_expr *)(void *)col;
}

void cr_mapper_columns(cr_stmt *q, cr_expr *from, const cr_mapper *m, uint64_t unloaded)
{
    unloaded &= ~pinned_fields(m);
    if (!from && !unloaded) {
        cr_columns(q, m->table);
        return;
    }
    for (size_t i = 0; i < m->nfields; i++)
        cr_columns(q, cr_field_item(q, from, m, i, unloaded));
    if (!from && q->columns.n == m->nfields) {
        q->orm_fields = true;
        q->orm_unloaded = unloaded;
    }
}

/* Load q's model with the fields of unloaded left out: its first SELECT
 * item (the model's table) or its first nfields (the fields one by one)
 * become what cr_mapper_columns makes of them, the other items kept after
 * them. */
static void reload_fields(cr_stmt *q, const cr_mapper *m, uint64_t unloaded, const char *what)
{
    const cr_list *cols = &q->columns;
    size_t head = q->orm_fields ? m->nfields : 1;
    if (!q->orm_fields && (cols->n == 0 || cols->items[0] != (void *)m->table)) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "%s: the statement does not select %s's "
                     "table first", what, m->name);
        return;
    }
    size_t nrest = cols->n - head;
    void **rest = cr_malloc((nrest + 1) * sizeof *rest);
    if (!rest) {
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
        return;
    }
    memcpy(rest, cols->items + head, nrest * sizeof *rest);
    rest[nrest] = NULL;
    q->columns = (cr_list){0};
    q->orm_fields = false;
    cr_mapper_columns(q, NULL, m, unloaded);
    cr_columns_items(q, (const void *const *)rest);
    cr_free(rest);
}

/* The model of q, for an option on its column col (NULL: the error is on q). */
static const cr_mapper *option_model(cr_stmt *q, const cr_column *col, const char *what)
{
    if (!q || cr_stmt_error(q))
        return NULL;
    const cr_mapper *m = entity_of(q);
    if (!m) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "%s: the statement selects no model", what);
        return NULL;
    }
    if (!col || col->table != m->table) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: %s", what,
                     !col ? "the column is NULL"
                          : "the column is not one of the model the statement loads");
        return NULL;
    }
    return m;
}

void cr_query_defer(cr_stmt *q, const cr_column *col, bool defer)
{
    const char *what = defer ? "defer" : "undefer";
    const cr_mapper *m = option_model(q, col, what);
    if (!m)
        return;
    uint64_t bit = UINT64_C(1) << col->index;
    if (defer && (pinned_fields(m) & bit)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "defer: %s.%s is part of the primary key, the version "
                     "counter or a foreign key, which every load reads", m->name, col->name);
        return;
    }
    uint64_t now = q->orm_fields ? q->orm_unloaded : 0;
    reload_fields(q, m, defer ? now | bit : now & ~bit, what);
}

void cr_query_load_only(cr_stmt *q, const cr_column *const *cols, size_t n)
{
    const cr_mapper *m = option_model(q, cols && n ? cols[0] : NULL, "load_only");
    if (!m)
        return;
    uint64_t keep = 0;
    for (size_t k = 0; k < n; k++) {
        if (!cols[k] || cols[k]->table != m->table) {
            option_model(q, cols[k], "load_only");
            return;
        }
        keep |= UINT64_C(1) << cols[k]->index;
    }
    uint64_t all = m->nfields == 64 ? UINT64_MAX : (UINT64_C(1) << m->nfields) - 1;
    reload_fields(q, m, all & ~keep, "load_only");
}

cr_stmt *cr_session_query_mapper(cr_session *s, const cr_mapper *m)
{
    cr_stmt *q = cr_select_mapper(m);
    if (q) {
        q->orm_session = s;
        if (!s)
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "query: the session is NULL");
    }
    return q;
}

/* The mapper whose objects q's rows hold: the model it was made for, or the
 * mapped table it selects first. */
static const cr_mapper *entity_of(const cr_stmt *q)
{
    if (q->orm_mapper)
        return q->orm_mapper;
    if (q->kind == CR_STMT_COMPOUND)   /* a UNION of the model's selects */
        return q->left ? entity_of(q->left) : NULL;
    if (q->kind != CR_STMT_SELECT || q->columns.n == 0)
        return NULL;
    const cr_table *t = q->columns.items[0];
    return t->tag == CR_TAG_TABLE ? cr_table_mapper(t) : NULL;
}

void cr_filter_by_value(cr_stmt *q, const char *field, cr_value v)
{
    if (!q || cr_stmt_error(q))
        return;
    const cr_mapper *m = entity_of(q);
    if (!m) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "filter_by: the statement selects no model");
        return;
    }
    cr_column *col = field ? cr_table_column(m->table, field) : NULL;
    if (!col) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "filter_by: %s has no field '%s'", m->name,
                     field ? field : "(NULL)");
        return;
    }
    /* A field's NULL marker (an unset integer or double field passed as
     * it is) is None, as a NULL value is: IS NULL. */
    if ((v.type == CR_INT && v.v.i == CR_NULL_INT64) || (v.type == CR_DOUBLE && isnan(v.v.d)))
        v = cr_val_null();
    cr_where(q, cr_binary(q, CR_OP_EQ, cr__operand_column(q, col), cr__operand_value(q, v)));
}

/* ---- running a statement in the session ---- */

/* Autoflush, begin, and check q: what every query does first. */
static cr_status query_start(cr_session *s, cr_stmt *q)
{
    cr_status st = cr_session_check(s);
    if (st)
        return st;
    if (!q)
        return cr_session_fail(s, CR_ERR_ARGUMENT, "the statement is NULL");
    if (cr_stmt_error(q)) {
        cr_error_copy(&s->err, cr_stmt_error(q));
        return s->err.cls;
    }
    if ((st = cr_session_autoflush(s)))
        return st;
    return cr_session_begin_if_needed(s);
}

static cr_status conn_error(cr_session *s) { return cr_session_conn_failed(s, s->conn); }

/* Run q in the session, with values for its placeholders when params is
 * not NULL. */
static cr_result *execute_with(cr_session *s, cr_stmt *q, const cr_param *params)
{
    if (query_start(s, q))
        return NULL;
    cr_result *r = params ? cr_conn_execute_stmt_params(s->conn, q, params)
                          : cr_conn_execute_stmt(s->conn, q);
    if (!r)
        conn_error(s);
    return r;
}

cr_result *cr_session_execute(cr_session *s, cr_stmt *q)
{
    return s ? execute_with(s, q, NULL) : NULL;
}

/* A populate_existing run when on, ended by populate_end with what
 * populate_begin returned (the run going on before: one inside another is
 * part of it). Every object the run meets, in its rows and in those of the
 * eager loads it runs, is reloaded from the first row it meets it in. */
static uint32_t populate_begin(cr_session *s, bool on)
{
    uint32_t outer = s->populate_gen;
    if (on && !outer) {
        if (++s->populate_runs == 0)
            s->populate_runs = 1;
        s->populate_gen = s->populate_runs;
    }
    return outer;
}

static void populate_end(cr_session *s, uint32_t outer) { s->populate_gen = outer; }

/* The object's CR_LOAD or CR_REFRESH listeners (SQLAlchemy's instance
 * events), with the connection that read its row; session calls are
 * refused inside. What they set in a field the row loaded (one equal to the
 * snapshot before them) counts as loaded, as SQLAlchemy commits it with the
 * row; a field set by hand since an expiry stays a change. */
static __attribute__((noinline)) cr_status fire_loaded(cr_session *s, cr_instance *in,
                                                       cr_mapper_event ev)
{
    const cr_mapper *m = in->mapper;
    uint64_t loaded = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        cr_value now = cr_field_value(in, i), was = cr_snap_value(in, i);
        if (cr_value_same(&now, &was))
            loaded |= UINT64_C(1) << i;
    }
    cr_status rc = cr_mapper_fire(s, in, ev);
    if (rc)
        return cr_mapper_listener_failed(s, in, ev, rc, ev == CR_LOAD ? "load" : "refresh",
                                         CR_ERR_INVALID_REQUEST);
    cr_error_clear(&s->err);   /* of a session call the listener was refused */
    return cr_snapshot_take_fields(in, loaded) ? cr_error_oom(&s->err) : CR_OK;
}

/* Whether the object's mapper has listeners of ev. */
static inline bool listens(const cr_instance *in, cr_mapper_event ev)
{
    return in->mapper->listen_mask >> ev & 1;
}

/* The fields of `unloaded` the row holds no value of (a placeholder) into
 * an object already in the session that has them: those it holds no
 * value of either take the row's (SQLAlchemy populates the attributes a
 * loaded object lacks), but a field set since keeps its value. */
static cr_status fill_unloaded(cr_session *s, cr_instance *in, const cr_row *row, int base,
                               uint64_t fill)
{
    cr_status st = cr_instance_load_fields(in, row, base, fill, &s->err);
    if (st == CR_OK)
        in->unloaded &= ~fill;
    return st;
}

/* The session's object for the row: the one in the identity map (reloaded
 * from the row when expired, or the first time a populate_existing run
 * meets it: its unflushed changes discarded, its relationships to load
 * again), or a new persistent one (*made set). The fields of unloaded are
 * not in the row (deferred): a new object holds NULL in them, a reloaded
 * one what it held, and both count them unloaded. */
static void *object_at(cr_session *s, const cr_mapper *m, const cr_row *row, int base,
                       uint64_t unloaded, bool *made)
{
    *made = false;
    cr_value key[64];
    if (cr_row_key(m, row, base, key, &s->err))
        return NULL;
    uint64_t h = cr_key_hash(key, m->npk);
    cr_instance *in = cr_map_find(s, m, key, h);
    if (in) {
        if (s->populate_gen && in->populated_gen != s->populate_gen) {
            in->populated_gen = s->populate_gen;
            cr_instance_expire(in);
        }
        if (in->expired) {
            if (cr_instance_load_fields(in, row, base, ~unloaded, &s->err))
                return NULL;
            in->unloaded = unloaded;
            if (listens(in, CR_REFRESH) && fire_loaded(s, in, CR_REFRESH))
                return NULL;
        } else if (in->unloaded & ~unloaded) {
            if (fill_unloaded(s, in, row, base, in->unloaded & ~unloaded))
                return NULL;
        }
        return in->obj;
    }
    if (cr_map_reserve(s, 1)) {
        cr_error_oom(&s->err);
        return NULL;
    }
    if (!(in = cr_instance_from_row(m, row, base, &s->err)))
        return NULL;
    in->state = CR_INST_PERSISTENT;
    in->session = s;
    in->populated_gen = s->populate_gen;
    in->unloaded = unloaded;
    cr_owner_link(s, in);
    cr_map_insert_hashed(s, in, h);   /* the row's key is the snapshot's */
    *made = true;
    if (listens(in, CR_LOAD) && fire_loaded(s, in, CR_LOAD))
        return NULL;
    return in->obj;
}

/* The fields a query of its model leaves out (defer, load_only). */
static uint64_t query_unloaded(const cr_stmt *q)
{
    return q && q->orm_fields ? q->orm_unloaded : 0;
}

/* Whether the row's columns from column on are m's, as far as the row
 * knows (a row of textual SQL does not). */
static bool holds_model(const cr_row *row, const cr_mapper *m, int column)
{
    if (column < 0 || column + (int)m->nfields > row->ncols)
        return false;
    for (size_t i = 0; row->colkeys && i < m->nfields; i++)
        if (row->colkeys[column + (int)i] != (const void *)m->fields[i].col)
            return false;
    return true;
}

void *cr_session_row_object(cr_session *s, const cr_row *row, const cr_mapper *m, int column)
{
    if (!s)
        return NULL;
    cr_error_clear(&s->err);
    if (!row || !m) {
        cr_session_fail(s, CR_ERR_ARGUMENT, "row_object: the %s is NULL", !row ? "row" : "mapper");
        return NULL;
    }
    if (column == -1 && row->colkeys)
        for (int c = 0; c < row->ncols && column < 0; c++)
            if (holds_model(row, m, c))
                column = c;
    if (!holds_model(row, m, column)) {
        if (column < 0 && !row->colkeys)
            cr_session_fail(s, CR_ERR_ARGUMENT, "row_object: a row of textual SQL does not "
                            "tell whose its columns are: give the column where %s's start",
                            m->name);
        else if (column < 0)
            cr_session_fail(s, CR_ERR_ARGUMENT, "row_object: the row does not hold the columns "
                            "of %s (select its table: cr_select(%s_model.table, ...))", m->name,
                            m->name);
        else
            cr_session_fail(s, CR_ERR_ARGUMENT, "row_object: the row's columns from %d on are "
                            "not those of %s", column, m->name);
        return NULL;
    }
    if (cr_map_reserve(s, 1)) {
        cr_error_oom(&s->err);
        return NULL;
    }
    bool made;
    return object_at(s, m, row, column, 0, &made);
}

/* Execute q, whose rows are objects of the mapper stored in *m. */
static cr_result *run_entity(cr_session *s, cr_stmt *q, const cr_param *params,
                             const cr_mapper **m)
{
    *m = q ? entity_of(q) : NULL;
    if (q && !*m) {
        if (q->err)   /* its building error (a model not defined) says why */
            cr_error_copy(&s->err, q->err);
        else
            cr_session_fail(s, CR_ERR_INVALID_REQUEST, "the statement selects no model: select "
                            "a model's table first (cr_select(User_model.table), "
                            "cr_select_model)");
        return NULL;
    }
    return execute_with(s, q, params);
}

void *cr_session_object_at(cr_session *s, const cr_mapper *m, const cr_row *row, int base,
                           uint64_t unloaded)
{
    bool made;
    if (cr_map_reserve(s, 1)) {
        cr_error_oom(&s->err);
        return NULL;
    }
    return object_at(s, m, row, base, unloaded, &made);
}

static bool list_push(cr_objects *list, size_t *cap, void *obj)
{
    if (list->count == *cap) {
        size_t want = *cap ? *cap * 2 : 16;
        void **items = cr_realloc(list->items, want * sizeof *items);
        if (!items)
            return false;
        list->items = items;
        *cap = want;
    }
    list->items[list->count++] = obj;
    return true;
}

/* Run q (with params when not NULL) and turn up to max rows (0: all) into
 * objects, then load what its loader options ask. A joined eager load
 * adds its LEFT OUTER JOINs for the run; parents come once each. */
static cr_objects *load_run(cr_session *s, cr_stmt *q, const cr_param *params, size_t max,
                            size_t *seen)
{
    const cr_mapper *m;
    cr_joined j;
    *seen = 0;
    if (q && cr_stmt_error(q))
        return run_entity(s, q, params, &m), NULL;   /* reports it */
    size_t njoined = q ? cr_joined_begin(s, q, q->orm_mapper ? q->orm_mapper : entity_of(q), &j)
                       : 0;
    if (njoined == SIZE_MAX)
        return NULL;
    cr_result *r = run_entity(s, q ? cr_joined_stmt(q, &j) : q, params, &m);
    if (!r) {
        if (q)
            cr_joined_end(q, &j);
        return NULL;
    }
    cr_objects *list = cr_calloc(1, sizeof *list);
    size_t cap = 0;
    bool ok = list != NULL;
    const cr_row *row;
    /* A joined load reads on past max while the rows are of the parents
     * listed: they hold the rest of their children. */
    while (ok && (max == 0 || list->count < max || njoined) && (row = cr_result_fetchone(r))) {
        ++*seen;
        bool made;
        void *obj = object_at(s, m, row, 0, query_unloaded(q), &made);
        if (!obj) {
            ok = false;
            break;
        }
        if (njoined) {
            cr_instance *in = cr_instance_of(obj);
            if (max && list->count >= max && in->seen_gen != j.gen)
                break;
            if (cr_joined_row(s, &j, in, row)) {
                ok = false;
                break;
            }
            if (in->seen_gen == j.gen)
                continue;
            in->seen_gen = j.gen;
        }
        if (!list_push(list, &cap, obj)) {
            ok = false;
            cr_error_oom(&s->err);
            break;
        }
    }
    if (ok && cr_result_error(r)) {
        cr_error_copy(&s->err, cr_result_error(r));
        ok = false;
    }
    if (!list)
        cr_error_oom(&s->err);
    cr_result_free(r);
    if (q)
        cr_joined_end(q, &j);
    if (ok && njoined && cr_joined_finish(s, &j, list->items, list->count))
        ok = false;
    if (ok && m->nrels && cr_rel_eager(s, q, m, list->items, list->count))
        ok = false;
    if (!ok) {
        cr_objects_free(list);
        return NULL;
    }
    return list;
}

static cr_objects *load(cr_session *s, cr_stmt *q, const cr_param *params, size_t max,
                        size_t *seen)
{
    uint32_t outer = populate_begin(s, q && q->orm_populate);
    cr_objects *list = load_run(s, q, params, max, seen);
    populate_end(s, outer);
    return list;
}

cr_objects *cr_session_all_params(cr_session *s, cr_stmt *q, const cr_param *params)
{
    size_t seen;
    return load(s, q, params, 0, &seen);
}

cr_objects *cr_session_all(cr_session *s, cr_stmt *q)
{
    size_t seen;
    return s ? load(s, q, NULL, 0, &seen) : NULL;
}

/* The first object, and how many objects there were (up to limit). */
static void *load_single(cr_session *s, cr_stmt *q, const cr_param *params, size_t limit,
                         size_t *seen)
{
    size_t rows;
    *seen = 0;
    cr_objects *list = load(s, q, params, limit, &rows);
    if (!list)
        return NULL;
    *seen = list->count;
    void *first = list->count ? list->items[0] : NULL;
    cr_objects_free(list);
    return first;
}

void *cr_session_first(cr_session *s, cr_stmt *q)
{
    if (!s || !q)
        return s ? (cr_session_fail(s, CR_ERR_ARGUMENT, "the statement is NULL"), NULL) : NULL;
    cr_expr *old = q->limit;
    bool add = !old && q->kind == CR_STMT_SELECT && !cr_stmt_error(q);
    if (add)
        cr_limit(q, 1);
    size_t seen;
    void *obj = load_single(s, q, NULL, 1, &seen);
    if (add) {
        q->limit = old;
        cr_stmt_changed(q);
    }
    return obj;
}

static void *one(cr_session *s, cr_stmt *q, bool none_ok)
{
    size_t seen = 0;
    void *obj = load_single(s, q, NULL, 2, &seen);
    if (s->err.cls)
        return NULL;
    if (seen > 1) {
        cr_session_fail(s, CR_ERR_MULTIPLE_RESULTS, "Multiple rows were found when exactly one "
                        "was required");
        return NULL;
    }
    if (!obj && !none_ok)
        cr_session_fail(s, CR_ERR_NO_RESULT_FOUND, "No row was found when one was required");
    return obj;
}

void *cr_session_one(cr_session *s, cr_stmt *q) { return s ? one(s, q, false) : NULL; }
void *cr_session_one_or_none(cr_session *s, cr_stmt *q) { return s ? one(s, q, true) : NULL; }

/* SELECT <what>(q) where what wraps q (count over a subquery, EXISTS): q is
 * lent to the outer statement for the run and taken back after. */
static cr_status wrapped_scalar(cr_session *s, cr_stmt *q, bool exists, cr_value *out)
{
    cr_status st = query_start(s, q);
    if (st)
        return st;
    cr_stmt *outer = cr_select_new();
    if (!outer || !cr_stmt_reserve_adoption(outer)) {
        cr_stmt_free(outer);
        return cr_error_oom(&s->err);
    }
    if (exists) {
        cr_columns(outer, cr_exists(outer, q));
    } else {
        cr_columns(outer, cr_count_star(outer));
        cr_select_from(outer, cr_subquery(outer, q, "anon_1"));
    }
    if (cr_stmt_error(outer)) {
        cr_error_copy(&s->err, cr_stmt_error(outer));
        st = s->err.cls;
    } else {
        cr_result *r = cr_conn_execute_stmt(s->conn, outer);
        st = r ? cr_result_scalar(r, out) : conn_error(s);
        if (r && st)
            cr_error_copy(&s->err, cr_result_error(r));
        /* The value is an integer or a boolean: nothing borrowed survives. */
        cr_result_free(r);
    }
    /* Give q back: the outer statement must not free it. */
    cr_stmt_unadopt(outer, q);
    cr_stmt_free(outer);
    return st;
}

cr_status cr_session_count(cr_session *s, cr_stmt *q, int64_t *out)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (!out)
        return cr_session_fail(s, CR_ERR_ARGUMENT, "count: out is NULL");
    cr_value v;
    cr_status st = wrapped_scalar(s, q, false, &v);
    if (st)
        return st;
    *out = v.type == CR_INT ? v.v.i : 0;
    return CR_OK;
}

static cr_status exists(cr_session *s, cr_stmt *q, bool *out)
{
    if (!out)
        return cr_session_fail(s, CR_ERR_ARGUMENT, "exists: out is NULL");
    cr_value v;
    cr_status st = wrapped_scalar(s, q, true, &v);
    if (st)
        return st;
    *out = (v.type == CR_BOOL && v.v.b) || (v.type == CR_INT && v.v.i != 0);
    return CR_OK;
}

/* ---- through a query's own session ---- */

cr_session *cr_query_session(const cr_stmt *q) { return q ? q->orm_session : NULL; }

/* A statement of no session (cr_select_model) run by cr_query_<call>: an
 * error of its execution, which the next one clears. */
static void no_session(cr_stmt *q, const char *call)
{
    if (!q)
        return;
    if (strcmp(call, "exists") == 0)   /* there is no cr_session_exists */
        cr_stmt_compile_fail(q, CR_ERR_INVALID_REQUEST, "cr_query_exists: the statement belongs "
                             "to no session: make it with cr_session_query(s, Model)");
    else
        cr_stmt_compile_fail(q, CR_ERR_INVALID_REQUEST, "cr_query_%s: the statement belongs to "
                             "no session: make it with cr_session_query(s, Model), or run it "
                             "with cr_session_%s(s, q)", call, call);
}

#define QUERY_SESSION(q, call, fail)                                             \
    cr_session *s = cr_query_session(q);                                         \
    if (!s) {                                                                    \
        no_session(q, call);                                                     \
        return fail;                                                             \
    }

/* session.query(User)...all() gives each object once, as Query does for a
 * single entity (a JOIN that repeats a parent per child gives it once);
 * select() through cr_session_all does not. */
cr_objects *cr_query_all(cr_stmt *q)
{
    QUERY_SESSION(q, "all", NULL)
    cr_objects *list = cr_session_all(s, q);
    if (list && list->count > 1) {
        uint32_t gen = ++s->load_gen;
        size_t n = 0;
        for (size_t i = 0; i < list->count; i++) {
            cr_instance *in = cr_instance_of(list->items[i]);
            if (in->seen_gen == gen)
                continue;
            in->seen_gen = gen;
            list->items[n++] = list->items[i];
        }
        list->count = n;
    }
    return list;
}
void *cr_query_first(cr_stmt *q) { QUERY_SESSION(q, "first", NULL) return cr_session_first(s, q); }
void *cr_query_one(cr_stmt *q) { QUERY_SESSION(q, "one", NULL) return cr_session_one(s, q); }
void *cr_query_one_or_none(cr_stmt *q)
{
    QUERY_SESSION(q, "one_or_none", NULL)
    return one(s, q, true);
}
cr_status cr_query_count(cr_stmt *q, int64_t *out)
{
    QUERY_SESSION(q, "count", q ? CR_ERR_INVALID_REQUEST : CR_ERR_ARGUMENT)
    return cr_session_count(s, q, out);
}
cr_status cr_query_exists(cr_stmt *q, bool *out)
{
    QUERY_SESSION(q, "exists", q ? CR_ERR_INVALID_REQUEST : CR_ERR_ARGUMENT)
    return exists(s, q, out);
}

/* ---- by primary key ---- */

const char *const cr_key_names[8] = {"pk_0", "pk_1", "pk_2", "pk_3", "pk_4", "pk_5",
                                        "pk_6", "pk_7"};

/* SELECT the mapper's row of a key given as placeholders :pk_0, :pk_1 ...,
 * built once per session and mapper (the oldest of 8 makes room). NULL when
 * out of memory. */
/* WHERE each primary key column = :pk_<k>, on q. */
static void where_key(cr_stmt *q, const cr_mapper *m)
{
    for (size_t k = 0; k < m->npk; k++) {
        cr_column *col = m->fields[m->pk[k]].col;
        cr_where(q, cr_binary(q, CR_OP_EQ, cr__operand_column(q, col),
                              cr_bindparam(q, cr_key_names[k])));
    }
}

static cr_stmt *select_by_key(cr_session *s, const cr_mapper *m)
{
    for (size_t i = 0; i < s->nbykey; i++)
        if (s->bykey[i].m == m)
            return s->bykey[i].q;
    cr_stmt *q = cr_select_mapper(m);
    if (q)
        where_key(q, m);
    if (!q || cr_stmt_error(q)) {
        cr_stmt_free(q);
        return NULL;
    }
    if (s->nbykey == CR_ARRAY_LEN(s->bykey)) {
        cr_stmt_free(s->bykey[0].q);
        memmove(&s->bykey[0], &s->bykey[1], (s->nbykey - 1) * sizeof s->bykey[0]);
        s->nbykey--;
    }
    s->bykey[s->nbykey].m = m;
    s->bykey[s->nbykey++].q = q;
    return q;
}

/* The values of a key for select_by_key's placeholders. */
static void key_params(const cr_mapper *m, const cr_value *key, cr_param *params)
{
    for (size_t k = 0; k < m->npk; k++)
        params[k] = (cr_param){cr_key_names[k], key[k]};
    params[m->npk] = (cr_param){NULL, {CR_NULL, {0}}};
}

/* ObjectDeletedError: the object's row is not there. */
static cr_status row_gone(cr_session *s, const cr_instance *in)
{
    cr_buf b;
    cr_buf_init(&b);
    cr_describe(in, &b);
    cr_status st = cr_session_fail(s, CR_ERR_OBJECT_DELETED, "Instance '%s' has been deleted, "
                                   "or its row is otherwise not present.", cr_buf_cstr(&b));
    cr_buf_free(&b);
    return st;
}

/* Run q, which selects by the object's key (where_key), and load the
 * fields of the mask from its row, read from column base on; the row gone
 * is ObjectDeletedError. */
static cr_status load_by_key(cr_session *s, cr_instance *in, cr_stmt *q, int base,
                             uint64_t fields)
{
    const cr_mapper *m = in->mapper;
    cr_value key[8];
    for (size_t k = 0; k < m->npk; k++)
        key[k] = cr_snap_value(in, m->pk[k]);
    cr_param params[9];
    key_params(m, key, params);
    cr_status st = query_start(s, q);
    cr_result *r = st ? NULL : cr_conn_execute_stmt_params(s->conn, q, params);
    if (!st && !r)
        st = conn_error(s);
    const cr_row *row = r ? cr_result_fetchone(r) : NULL;
    if (r && !row) {
        const cr_error *e = cr_result_error(r);
        if (e) {
            cr_error_copy(&s->err, e);
            st = e->cls;
        } else {
            st = row_gone(s, in);
        }
    }
    if (row)
        st = cr_instance_load_fields(in, row, base, fields, &s->err);
    cr_result_free(r);
    return st;
}

cr_status cr_instance_reload(cr_session *s, cr_instance *in)
{
    uint64_t deferred = in->mapper->deferred;
    cr_stmt *q = select_by_key(s, in->mapper);
    cr_status st = q ? load_by_key(s, in, q, 0, ~deferred) : cr_error_oom(&s->err);
    if (!st)
        in->unloaded = deferred;
    if (!st && listens(in, CR_REFRESH))
        st = fire_loaded(s, in, CR_REFRESH);
    return st;
}

cr_status cr_instance_load_field(cr_session *s, cr_instance *in, size_t i)
{
    if (in->expired) {   /* loads the rest first, as SQLAlchemy's load of it does */
        cr_status st = cr_instance_reload(s, in);
        if (st || !(in->unloaded >> i & 1))
            return st;
    }
    /* SELECT users.bio FROM users WHERE users.id = :pk_0 */
    cr_stmt *q = cr_select(in->mapper->fields[i].col);
    if (!q)
        return cr_error_oom(&s->err);
    where_key(q, in->mapper);
    /* The autoflush of a lazy load: what can change the row (its DELETE). */
    bool autoflush = s->autoflush;
    s->autoflush = autoflush && (s->unsaved || s->rel_changed);
    /* The row's one column is field i's: read from base -i. */
    cr_status st = load_by_key(s, in, q, -(int)i, UINT64_C(1) << i);
    s->autoflush = autoflush;
    if (!st)
        in->unloaded &= ~(UINT64_C(1) << i);
    cr_stmt_free(q);
    return st;
}

cr_status cr_instance_refresh(cr_session *s, cr_instance *in)
{
    assert(in->expired && in->session == s);
    const cr_mapper *m = in->mapper;
    bool eager = false;
    for (size_t i = 0; i < m->nrels && !eager; i++)
        eager = m->rels[i]->lazy == CR_LOAD_JOINED || m->rels[i]->lazy == CR_LOAD_SELECTIN;
    if (!eager)
        return cr_instance_reload(s, in);
    /* The query path: its row reloads the expired object, its joins and
     * SELECT ... IN fill the relationships (and theirs, down the chain). */
    cr_value key[64];
    for (size_t k = 0; k < m->npk; k++)
        key[k] = cr_snap_value(in, m->pk[k]);
    cr_param params[9];
    cr_stmt *q = select_by_key(s, m);
    if (!q)
        return cr_error_oom(&s->err);
    key_params(m, key, params);
    bool autoflush = s->autoflush;
    s->autoflush = false;   /* the refresh flushed before it expired the object */
    size_t seen;
    cr_objects *list = load(s, q, params, 0, &seen);
    s->autoflush = autoflush;
    if (!list)
        return s->err.cls ? s->err.cls : cr_error_oom(&s->err);
    bool found = list->count > 0;
    assert(!found || (list->count == 1 && list->items[0] == in->obj));
    cr_objects_free(list);
    return found ? CR_OK : row_gone(s, in);
}

/* The key values converted to what the key fields hold (5 for a text key
 * is refused, a bool for an integer one taken as 0 / 1). */
static cr_status key_arg(cr_session *s, const cr_mapper *m, const cr_value *values, size_t n,
                         cr_value *key)
{
    if (!values || n != m->npk)
        return cr_session_fail(s, CR_ERR_ARGUMENT, "get: %s has a primary key of %zu "
                               "column(s); %zu value(s) were given", m->name, m->npk, n);
    for (size_t k = 0; k < n; k++) {
        cr_type want = m->fields[m->pk[k]].vtype;
        key[k] = values[k];
        if (key[k].type == CR_BOOL && want == CR_INT)
            key[k] = cr_val_int(values[k].v.b);
        if (key[k].type == CR_TEXT && want == CR_NUMERIC)
            key[k].type = CR_NUMERIC;
        if (key[k].type != want)
            return cr_session_fail(s, CR_ERR_ARGUMENT, "get: %s.%s takes %s values, not %s",
                                   m->name, m->fields[m->pk[k]].col->name, cr_type_name(want),
                                   cr_type_name(key[k].type));
    }
    return CR_OK;
}

void *cr_session_get_values(cr_session *s, const cr_mapper *m, const cr_value *values, size_t n)
{
    if (!s)
        return NULL;
    cr_error_clear(&s->err);
    if (!m) {
        cr_session_fail(s, CR_ERR_UNMAPPED_INSTANCE, "get: the mapper is NULL (was the model's "
                        "_define called?)");
        return NULL;
    }
    cr_value key[64];
    if (cr_session_check(s) || key_arg(s, m, values, n, key))
        return NULL;
    cr_instance *in = cr_map_find(s, m, key, cr_key_hash(key, m->npk));
    if (in) {
        /* one marked for deletion is still the session's object, as
         * SQLAlchemy's get gives it */
        if (in->state != CR_INST_PERSISTENT)
            return NULL;
        if (!in->expired)
            return in->obj;
        cr_status st = cr_instance_reload(s, in);
        if (st == CR_ERR_OBJECT_DELETED)
            cr_error_clear(&s->err);
        return st ? NULL : in->obj;
    }
    /* Only new and deleted objects (and orphans of the relationship calls)
     * can change whether the row is there: changed fields are left for the
     * next flush (a get does not scan the identity map for them). */
    bool autoflush = s->autoflush;
    s->autoflush = autoflush && (s->unsaved || s->rel_changed);
    /* A key names one row at most: the first is the one. */
    cr_param params[9];
    cr_stmt *q = select_by_key(s, m);
    key_params(m, key, params);
    size_t seen;
    void *obj = q ? load_single(s, q, params, 1, &seen) : (cr_error_oom(&s->err), NULL);
    s->autoflush = autoflush;
    return obj;
}

/* ---- streaming (yield_per) ---- */

struct cr_object_stream {
    cr_session *s;
    uint64_t unloaded;           /* the fields its query leaves out           */
    const cr_mapper *m;
    cr_result *r;
    size_t per;
    size_t cap;                  /* slots in batch.items and made (<= per)    */
    cr_objects batch;
    bool *made;                  /* per batch item: the stream loaded it      */
    bool was_streaming;
    bool done;
    bool populate;               /* populate_existing                         */
};

/* Let go of the last batch: objects the stream loaded and the program left
 * unchanged leave the session and are freed. */
static void release_batch(cr_object_stream *st)
{
    cr_session *s = st->s;
    for (size_t i = 0; i < st->batch.count; i++) {
        cr_instance *in = cr_instance_of(st->batch.items[i]);
        if (!st->made[i] || !in || in->session != s || in->state != CR_INST_PERSISTENT ||
            in->marked_delete || cr_instance_dirty(in))
            continue;
        cr_session_expunge(s, in->obj);   /* the program's now, and freed */
        cr_instance_destroy(in);
    }
    st->batch.count = 0;
}

cr_object_stream *cr_session_stream(cr_session *s, cr_stmt *q, size_t yield_per)
{
    if (!s)
        return NULL;
    const cr_mapper *m = q ? entity_of(q) : NULL;
    if (yield_per == 0) {
        cr_session_fail(s, CR_ERR_ARGUMENT, "stream: yield_per must be at least 1");
        return NULL;
    }
    if (q && !m) {
        cr_session_fail(s, CR_ERR_INVALID_REQUEST, "stream: the statement selects no model");
        return NULL;
    }
    if (query_start(s, q))
        return NULL;
    /* The batch grows up to yield_per as rows come: a yield_per larger than
     * the rows (SIZE_MAX, say) costs no allocation of its size. */
    size_t cap = yield_per < 64 ? yield_per : 64;
    cr_object_stream *st = cr_calloc(1, sizeof *st);
    void **items = cr_calloc(cap, sizeof *items);
    bool *made = cr_calloc(cap, sizeof *made);
    if (!st || !items || !made) {
        cr_free(st);
        cr_free(items);
        cr_free(made);
        cr_error_oom(&s->err);
        return NULL;
    }
    st->s = s;
    st->m = m;
    st->unloaded = query_unloaded(q);
    st->per = yield_per;
    st->cap = cap;
    st->batch.items = items;
    st->made = made;
    st->was_streaming = s->conn->stream;
    st->populate = q && q->orm_populate;
    cr_conn_set_stream_results(s->conn, true);
    st->r = cr_conn_execute_stmt(s->conn, q);
    cr_conn_set_stream_results(s->conn, st->was_streaming);
    if (!st->r) {
        conn_error(s);
        cr_stream_free(st);
        return NULL;
    }
    return st;
}

static bool grow_batch(cr_object_stream *st)
{
    size_t cap = st->cap <= st->per / 2 ? st->cap * 2 : st->per;
    void **items = cr_realloc(st->batch.items, cap * sizeof *items);
    if (!items)
        return false;
    st->batch.items = items;
    bool *made = cr_realloc(st->made, cap * sizeof *made);
    if (!made)
        return false;
    st->made = made;
    st->cap = cap;
    return true;
}

cr_objects *cr_stream_next(cr_object_stream *st)
{
    if (!st)
        return NULL;
    cr_session *s = st->s;
    cr_error_clear(&s->err);
    release_batch(st);
    /* With populate_existing, a run per batch: an object met again in a
     * later batch is reloaded again, its row newer. */
    uint32_t outer = populate_begin(s, st->populate);
    bool ok = true;
    const cr_row *row;
    while (ok && !st->done && st->batch.count < st->per) {
        if (!(row = cr_result_fetchone(st->r))) {
            st->done = true;
            if (cr_result_error(st->r)) {
                cr_error_copy(&s->err, cr_result_error(st->r));
                ok = false;
            }
            break;
        }
        if (st->batch.count == st->cap && !grow_batch(st)) {
            cr_error_oom(&s->err);
            ok = false;
            break;
        }
        bool made;
        void *obj = object_at(s, st->m, row, 0, st->unloaded, &made);
        if (!obj) {
            ok = false;
            break;
        }
        st->made[st->batch.count] = made;
        st->batch.items[st->batch.count++] = obj;
    }
    populate_end(s, outer);
    return ok ? &st->batch : NULL;
}

void cr_stream_free(cr_object_stream *st)
{
    if (!st)
        return;
    release_batch(st);
    cr_result_free(st->r);
    cr_free(st->batch.items);
    cr_free(st->made);
    cr_free(st);
}
