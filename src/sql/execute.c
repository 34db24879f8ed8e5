/* execute.c — running compiled statements on a connection: cache, binding, primary keys, batches. */
#include "engine/engine.h"
#include "sql/stmt.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ---- rendering for a dialect (stmt.compile(dialect=...)) ---- */

cr_compiled *cr_stmt_compile(cr_stmt *q, const char *dialect)
{
    if (!q)
        return NULL;
    const cr_dialect *d = cr_dialect_find(dialect);
    if (!d) {
        cr_stmt_compile_fail(q, CR_ERR_ARGUMENT, "unknown dialect '%s' (known: sqlite, "
                             "postgresql, mysql, or NULL for the generic one)", dialect);
        return NULL;
    }
    if (cr_stmt_key(q))
        return NULL;
    cr_compiled *c = cr_calloc(1, sizeof *c);
    cr_error err;
    cr_error_init(&err);
    if (!c) {
        cr_stmt_compile_fail(q, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        return NULL;
    }
    if (cr_stmt_compile_into(q, d, false, c, &err)) {
        /* A compile error is this dialect's: the statement stays as built
         * (another dialect may render it). */
        cr_stmt_compile_fail(q, err.cls, "%s", err.message);
        cr_error_clear(&err);
        cr_free(c);
        return NULL;
    }
    c->param_values = cr_malloc((c->nslots ? c->nslots : 1) * sizeof(cr_value));
    if (!c->param_values) {
        cr_compiled_free(c);
        cr_stmt_compile_fail(q, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        return NULL;
    }
    /* The values stay valid while q lives (they point into its arena). */
    for (size_t k = 0; k < c->nslots; k++)
        c->param_values[k] = q->binds[c->slot_bind[k]];
    return c;
}

void cr_compiled_free(cr_compiled *c)
{
    if (!c)
        return;
    cr_compiled_clear(c);
    cr_free(c);
}

const char *cr_compiled_sql(const cr_compiled *c) { return c ? c->sql : NULL; }
size_t cr_compiled_param_count(const cr_compiled *c) { return c ? c->nslots : 0; }

const char *cr_compiled_param_name(const cr_compiled *c, size_t i)
{
    return c && i < c->nslots ? c->param_names[i] : NULL;
}

const cr_value *cr_compiled_param_value(const cr_compiled *c, size_t i)
{
    return c && c->param_values && i < c->nslots ? &c->param_values[i] : NULL;
}

/* ---- execution ---- */

typedef struct compile_ctx {
    cr_stmt *q;
    const cr_dialect *d;
    bool implicit_pk;       /* fetch generated keys (not for executemany) */
} compile_ctx;

typedef struct compiled_entry {
    cr_compiled c;
    const void **colkeys;
} compiled_entry;

static void entry_free(void *p)
{
    compiled_entry *e = p;
    cr_compiled_clear(&e->c);
    cr_free(e->colkeys);
    cr_free(e);
}

/* A cache miss: compile q for the connection's dialect. */
static cr_status compile_for_cache(void *ctx, cr_compile_out *out, cr_error *err)
{
    compile_ctx *cc = ctx;
    compiled_entry *e = cr_calloc(1, sizeof *e);
    if (!e)
        return cr_error_oom(err);
    cr_status rc = cr_stmt_compile_into(cc->q, cc->d, cc->implicit_pk, &e->c, err);
    if (rc == CR_OK && e->c.ncolumns) {
        e->colkeys = cr_malloc(e->c.ncolumns * sizeof *e->colkeys);
        if (!e->colkeys)
            rc = cr_error_oom(err);
        for (size_t i = 0; rc == CR_OK && i < e->c.ncolumns; i++)
            e->colkeys[i] = e->c.columns[i].col;
    }
    if (rc) {
        entry_free(e);
        /* The statement tells of its failed compile too (cr_stmt_error), as
         * after cr_stmt_compile; the next compile or execution clears it. */
        if (rc != CR_ERR_NO_MEMORY)
            cr_stmt_compile_fail(cc->q, rc, "%s", err->message);
        return rc;
    }
    out->sql = e->c.sql;
    out->nslots = (int)e->c.nslots;
    out->extra = e;
    out->extra_free = entry_free;
    return CR_OK;
}

/* Whether value v of parameter k cannot be sent (then st is given back and
 * the error set on c). */
static CR_COLD bool refused(cr_conn *c, cr_prepared *st, const cr_value *v, size_t k)
{
    char why[128];
    if (cr_value_check(v, why, sizeof why) == CR_OK)
        return false;
    cr_error_set(&c->err, CR_ERR_ARGUMENT, "parameter %zu: %s", k + 1, why);
    cr_prepared_release(c, st, false);
    return true;
}

/* Find or compile and prepare q (keyed, binds set), bind and run it. The
 * transaction begins only once the statement compiled and prepared: a
 * statement refused before it is sent begins nothing. */
static CR_HOT cr_prepared *run_keyed(cr_conn *c, cr_stmt *q, bool stream, bool implicit_pk,
                              const char *note)
{
    compile_ctx ctx = {q, c->engine->dialect, implicit_pk};
    cr_prepared *st;
    bool cached;
    if (cr_prepared_get_keyed(c, q->key.data, q->key.len, compile_for_cache, &ctx, &q->memo, &st,
                              &cached))
        return NULL;
    compiled_entry *e = st->extra;
    /* The values in placeholder order. A value no backend could store (an
     * impossible date a bare cr_bind took, say) is refused before anything
     * is sent, as for textual SQL; a null, number or boolean needs no
     * check. */
    for (size_t k = 0; k < e->c.nslots; k++) {
        const cr_value *v = &q->binds[e->c.slot_bind[k]];
        if (!cr_value_check_needless(v) && refused(c, st, v, k))
            return NULL;
        st->slots[k] = *v;
    }
    if (cr_conn_autobegin(c)) {
        cr_prepared_release(c, st, false);
        return NULL;
    }
    if (!st->colkeys && e->colkeys) {
        st->colkeys = e->colkeys;
        st->ncolkeys = (int)e->c.ncolumns;
    }
    if (c->engine->echo)
        cr_conn_log_positional(c, st, cached, note, st->slots, e->c.nslots);
    if (cr_conn_run(c, st, st->slots, stream)) {
        cr_prepared_release(c, st, true);
        return NULL;
    }
    return st;
}

/* Run q (keyed) as one set of an executemany, adding its rowcount to
 * *total (-1 once any set's is unknown). */
static cr_status run_counted(cr_conn *c, cr_stmt *q, const char *note, int64_t *total)
{
    cr_prepared *st = run_keyed(c, q, false, false, note);
    if (!st)
        return c->err.cls ? c->err.cls : CR_ERR_INTERNAL;
    int64_t got = c->engine->drv->rowcount(st->ds);
    *total = *total < 0 || got < 0 ? -1 : *total + got;
    cr_prepared_release(c, st, true);
    return CR_OK;
}


/* Checks before a statement is used on c: a connection that can take one,
 * and a statement. */
static bool ready(cr_conn *c, const cr_stmt *q)
{
    if (!c || cr_conn_check_statement(c))
        return false;
    if (!q)
        cr_error_set(&c->err, CR_ERR_ARGUMENT, "statement is NULL");
    return q != NULL;
}

/* Checks before q runs on c, and q keyed: again (a run with parameter
 * values) reuses what its last keying found when q is unchanged since. */
static CR_COLD bool start_general(cr_conn *c, cr_stmt *q, bool again)
{
    if (!ready(c, q))
        return false;
    if (again ? cr_stmt_key_again(q) : cr_stmt_key(q)) {
        cr_error_copy(&c->err, cr_stmt_error(q));
        return false;
    }
    return true;
}

/* start: the common case first, on every run of a statement built once — a
 * live connection (not lost) with no error to clear and no stream open, and a
 * statement whose keying is current — else the general way. */
static inline bool start(cr_conn *c, cr_stmt *q, bool again)
{
    if (again && c && c->pc && !c->pc->broken && !c->streaming && cr_error_is_clear(&c->err) &&
        q && cr_stmt_key_is_current(q))
        return true;
    return start_general(c, q, again);
}

/* ---- named placeholders (cr_bindparam) ---- */

/* The general check of a value given for placeholder p: as a value met by
 * its column is when a statement is built (converted to what the column
 * holds). */
static __attribute__((noinline)) cr_status check_param_slow(cr_conn *c, const cr_param_node *p,
                                                             cr_value *v)
{
    char msg[600];
    if ((unsigned)v->type > CR_NUMERIC)
        return cr_error_set(&c->err, CR_ERR_ARGUMENT, "parameter '%s': the value has no valid "
                            "type (%d)", p->name, (int)v->type);
    if (v->type != CR_NULL && cr_value_check(v, msg, sizeof msg))
        return cr_error_set(&c->err, CR_ERR_ARGUMENT, "parameter '%s': %s", p->name, msg);
    /* Empty text or bytes without a pointer: bound as empty, not as NULL. */
    if ((v->type == CR_TEXT || v->type == CR_NUMERIC) && !v->v.s.ptr)
        v->v.s.ptr = "";
    if (v->type == CR_BLOB && !v->v.blob.ptr)
        v->v.blob.ptr = "";
    if (!p->col)
        return CR_OK;
    cr_status rc = cr_value_fit_column(v, p->col, msg, sizeof msg);
    return rc ? cr_error_set(&c->err, rc, "parameter '%s': %s", p->name, msg) : CR_OK;
}

/* Store value v given for placeholder p into *to. The common case first,
 * on every execution: a value of the very type its column holds (text with
 * its bytes), stored as given; else checked and converted. */
static inline cr_status put_param_value(cr_conn *c, const cr_param_node *p, const cr_value *v,
                                        cr_value *to)
{
    if ((int)v->type == p->plain_type && (v->type != CR_TEXT || v->v.s.ptr)) {
        *to = *v;
        return CR_OK;
    }
    cr_value conv = *v;
    cr_status rc = check_param_slow(c, p, &conv);
    if (rc == CR_OK)
        *to = conv;
    return rc;
}

static bool has_placeholder(const cr_stmt *q, const char *name)
{
    for (size_t i = 0; i < q->nplaceholders; i++)
        if (cr_same_name(q->placeholders[i].e->param->name, name))
            return true;
    return false;
}

static cr_status unknown_param(cr_conn *c, const char *name)
{
    return cr_error_set(&c->err, CR_ERR_ARGUMENT, "parameter '%s' is not a placeholder of the "
                        "statement (cr_bindparam)", name);
}

static cr_status missing_param(cr_conn *c, const char *name)
{
    return cr_error_set(&c->err, CR_ERR_ARGUMENT, "a value is required for bind parameter '%s'",
                        name);
}

static cr_status bind_params_by_name(cr_conn *c, cr_stmt *q, const cr_param *params);

/* Give q's placeholders (q keyed) their values from params, a list ended by
 * a NULL name (NULL for none): every placeholder a value, every value a
 * placeholder. */
static CR_HOT cr_status bind_params(cr_conn *c, cr_stmt *q, const cr_param *params)
{
    /* The common case, on every execution: a value for each placeholder, in
     * their order, placeholders of different names each rendered once. */
    if (q->placeholders_plain && params) {
        size_t i = 0;
        for (; i < q->nplaceholders && params[i].name; i++) {
            const cr_placeholder *ph = &q->placeholders[i];
            if (!cr_same_name(params[i].name, ph->e->param->name))
                break;
            if (put_param_value(c, ph->e->param, &params[i].value, &q->binds[ph->bind_index]))
                return c->err.cls;
        }
        if (i == q->nplaceholders && !params[i].name)
            return CR_OK;
    }
    return bind_params_by_name(c, q, params);
}

/* bind_params in general: any order, names used more than once, and the
 * errors. */
static __attribute__((noinline)) cr_status bind_params_by_name(cr_conn *c, cr_stmt *q,
                                                               const cr_param *params)
{
    for (const cr_param *p = params; p && p->name; p++) {
        if (!has_placeholder(q, p->name))
            return unknown_param(c, p->name);
        for (const cr_param *o = params; o != p; o++)
            if (cr_same_name(o->name, p->name))
                return cr_error_set(&c->err, CR_ERR_ARGUMENT, "parameter '%s' is given twice",
                                    p->name);
    }
    for (size_t i = 0; i < q->nplaceholders; i++) {
        const cr_placeholder *ph = &q->placeholders[i];
        if (ph->bind_index < 0)
            continue;
        const char *name = ph->e->param->name;
        const cr_param *p = params;
        while (p && p->name && !cr_same_name(p->name, name))
            p++;
        if (!p || !p->name)
            return missing_param(c, name);
        assert((size_t)ph->bind_index < q->nbinds);
        cr_status rc = put_param_value(c, ph->e->param, &p->value, &q->binds[ph->bind_index]);
        if (rc)
            return rc;
    }
    return CR_OK;
}

/* The primary key of each inserted row: values given for the key columns,
 * else what RETURNING gave back, else the driver's lastrowid. */
static cr_status collect_inserted_pk(cr_conn *c, cr_result *r, cr_stmt *q, bool pk_returning,
                                     cr_rowset *returned)
{
    cr_table *t = q->table;
    struct cr_column *const *pk;
    size_t npk = cr_table_pk(t, &pk);
    size_t nrows = q->eff_rows.n;
    const struct cr_column *ai = cr_table_autoincrement(t);
    if (npk == 0 || nrows == 0)
        return CR_OK;
    cr_value *vals = cr_calloc(npk * nrows, sizeof *vals);
    char **names = cr_calloc(npk, sizeof *names);
    if (!vals || !names) {
        cr_free(vals);
        cr_free(names);
        return cr_error_oom(&c->err);
    }
    bool have_lastrowid = r->lastrowid_status == CR_OK;
    for (size_t k = 0; k < npk; k++)
        names[k] = pk[k]->name;
    for (size_t row = 0; row < nrows; row++) {
        const cr_list *assigns = q->eff_rows.items[row];
        for (size_t k = 0; k < npk; k++) {
            cr_value *v = &vals[row * npk + k];
            *v = cr_val_null();
            const cr_assign *a = cr_assign_find(assigns, pk[k]);
            bool given = a && a->value->kind == CR_N_BIND;
            if (given)
                *v = q->binds[a->value->bind_index];
            if (given || pk[k] != ai)
                continue;
            if (pk_returning && returned && row < returned->count)
                *v = returned->rows[row].values[0];
            else if (nrows == 1 && have_lastrowid)
                *v = cr_val_int(r->lastrowid);
        }
    }
    r->inserted_pk = cr_rowset_build((int)npk, names, vals, nrows);
    cr_free(vals);
    cr_free(names);
    return r->inserted_pk ? CR_OK : cr_error_oom(&c->err);
}

/* What an INSERT's result tells besides its rowcount: the primary keys it
 * made and the defaults it fetched back (what its RETURNING, if any, was
 * added for). r is freed when that fails. */
static __attribute__((noinline)) cr_result *insert_outcome(cr_conn *c, cr_stmt *q,
                                                           bool pk_returning,
                                                           bool defaults_returning, cr_result *r)
{
    r->is_insert = true;
    cr_rowset *returned = NULL;
    if (pk_returning || defaults_returning) {
        /* The RETURNING was ours, not the caller's: read it here. */
        returned = cr_result_fetchall(r);
        if (!returned) {
            cr_error_copy(&c->err, &r->err);
            cr_result_free(r);
            return NULL;
        }
        r->returns_rows = false;
        r->rowcount = (int64_t)returned->count;
        r->ncols = 0;
    }
    cr_status rc = q->from_select ? CR_OK : collect_inserted_pk(c, r, q, pk_returning, returned);
    if (defaults_returning)
        r->returned_defaults = returned;
    else
        cr_rowset_free(returned);
    if (rc) {
        cr_result_free(r);
        return NULL;
    }
    return r;
}

/* Run q (keyed, its values bound) and read back what an INSERT made. */
static CR_HOT cr_result *execute_keyed(cr_conn *c, cr_stmt *q)
{
    cr_prepared *st = run_keyed(c, q, c->stream && q->kind == CR_STMT_SELECT, true, NULL);
    if (!st)
        return NULL;
    /* Read now: a result of no rows gives st back, and with no statement
     * cache st is then gone, its compiled form with it. */
    const compiled_entry *e = st->extra;
    bool pk_returning = e->c.pk_returning, defaults_returning = e->c.defaults_returning;
    cr_result *r = cr_result_new(c, st);
    if (r)
        r->built = true;
    if (!r || q->kind != CR_STMT_INSERT)
        return r;
    return insert_outcome(c, q, pk_returning, defaults_returning, r);
}

CR_FLATTEN cr_result *cr_conn_execute_stmt(cr_conn *c, cr_stmt *q)
{
    if (!start(c, q, false))
        return NULL;
    if (q->nplaceholders && bind_params(c, q, NULL))
        return NULL;
    return execute_keyed(c, q);
}

CR_FLATTEN cr_result *cr_conn_execute_stmt_params(cr_conn *c, cr_stmt *q, const cr_param *params)
{
    if (!start(c, q, true) || bind_params(c, q, params))
        return NULL;
    return execute_keyed(c, q);
}

cr_status cr_conn_exec_stmt_params(cr_conn *c, cr_stmt *q, const cr_param *params)
{
    cr_result *r = cr_conn_execute_stmt_params(c, q, params);
    if (!r)
        return c ? (c->err.cls ? c->err.cls : CR_ERR_INTERNAL) : CR_ERR_ARGUMENT;
    cr_result_free(r);
    return CR_OK;
}

/* For each placeholder of q, the index of its name in names (-1 for one
 * not rendered); every name a placeholder's, none twice. */
static cr_status map_param_names(cr_conn *c, const cr_stmt *q, const char *const *names,
                                 size_t nparams, int *col)
{
    for (size_t j = 0; j < nparams; j++) {
        if (!names[j])
            return cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany: parameter name %zu is "
                                "NULL", j + 1);
        if (!has_placeholder(q, names[j]))
            return unknown_param(c, names[j]);
        for (size_t o = 0; o < j; o++)
            if (strcmp(names[o], names[j]) == 0)
                return cr_error_set(&c->err, CR_ERR_ARGUMENT, "parameter '%s' is given twice",
                                    names[j]);
    }
    for (size_t i = 0; i < q->nplaceholders; i++) {
        const cr_placeholder *ph = &q->placeholders[i];
        col[i] = -1;
        if (ph->bind_index < 0)
            continue;
        for (size_t j = 0; j < nparams && col[i] < 0; j++)
            if (strcmp(names[j], ph->e->param->name) == 0)
                col[i] = (int)j;
        if (col[i] < 0)
            return missing_param(c, ph->e->param->name);
    }
    return CR_OK;
}

/* One set of an executemany: q's placeholders take their values from row. */
static cr_status bind_row(cr_conn *c, cr_stmt *q, const int *col, const cr_value *row)
{
    for (size_t i = 0; i < q->nplaceholders; i++) {
        const cr_placeholder *ph = &q->placeholders[i];
        if (col[i] < 0)
            continue;
        cr_status rc = put_param_value(c, ph->e->param, &row[col[i]], &q->binds[ph->bind_index]);
        if (rc)
            return rc;
    }
    return CR_OK;
}

cr_result *cr_conn_executemany_stmt_params(cr_conn *c, cr_stmt *q, const char *const *names,
                                           size_t nparams, const cr_value *values, size_t nsets)
{
    if (!start(c, q, true))
        return NULL;
    if ((nparams && !names) || (nsets && nparams && !values)) {
        cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany: names or values is NULL");
        return NULL;
    }
    if (q->kind == CR_STMT_SELECT || q->kind == CR_STMT_COMPOUND || q->returning.n ||
        q->return_defaults) {
        cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany runs statements that return no "
                     "rows (INSERT, UPDATE, DELETE without RETURNING); execute a SELECT once "
                     "per set with cr_conn_execute_stmt_params");
        return NULL;
    }
    int *col = cr_malloc((q->nplaceholders ? q->nplaceholders : 1) * sizeof *col);
    if (!col) {
        cr_error_oom(&c->err);
        return NULL;
    }
    cr_status rc = map_param_names(c, q, names, nparams, col);
    /* Every set is checked before anything is sent. */
    for (size_t s = 0; rc == CR_OK && s < nsets; s++)
        rc = bind_row(c, q, col, values + s * nparams);
    int64_t total = 0;
    char note[64];
    for (size_t s = 0; rc == CR_OK && s < nsets; s++) {
        if (s > 0 && cr_stmt_key_again(q)) {
            cr_error_copy(&c->err, cr_stmt_error(q));
            rc = c->err.cls ? c->err.cls : CR_ERR_INTERNAL;
            break;
        }
        if ((rc = bind_row(c, q, col, values + s * nparams)))
            break;
        /* An INSERT run for many sets fetches no keys back: keyed apart
         * from the same INSERT run once, which does. */
        bool insert = q->kind == CR_STMT_INSERT;
        if (insert) {
            cr_buf_putc(&q->key, 'M');
            if (q->key.oom) {
                rc = cr_error_oom(&c->err);
                break;
            }
        }
        if (c->engine->echo)
            snprintf(note, sizeof note, "executemany %zu/%zu", s + 1, nsets);
        rc = run_counted(c, q, c->engine->echo ? note : NULL, &total);
        if (insert)
            q->key.len--;
        if (rc)
            break;
    }
    cr_free(col);
    if (rc)
        return NULL;
    cr_result *r = cr_result_new(c, NULL);
    if (r)
        r->rowcount = total;
    return r;
}

const cr_row *cr_result_returned_defaults(cr_result *r)
{
    if (!r)
        return NULL;
    cr_error_clear(&r->err);
    if (!r->returned_defaults || r->returned_defaults->count == 0) {
        cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                     "returned_defaults: the statement fetched no defaults (cr_return_defaults "
                     "on an INSERT, on a backend with RETURNING)");
        return NULL;
    }
    return &r->returned_defaults->rows[0];
}

cr_status cr_conn_exec_stmt(cr_conn *c, cr_stmt *q)
{
    cr_result *r = cr_conn_execute_stmt(c, q);
    if (!r)
        return c ? (c->err.cls ? c->err.cls : CR_ERR_INTERNAL) : CR_ERR_ARGUMENT;
    cr_result_free(r);
    return CR_OK;
}

const cr_row *cr_result_inserted_primary_key(cr_result *r)
{
    if (!r)
        return NULL;
    cr_error_clear(&r->err);
    if (!r->is_insert) {
        cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                     "inserted_primary_key: the statement was not an INSERT of values");
        return NULL;
    }
    if (!r->inserted_pk || r->inserted_pk->count != 1) {
        cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                     "inserted_primary_key: the INSERT made %zu rows; use "
                     "inserted_primary_key_rows", r->inserted_pk ? r->inserted_pk->count : 0);
        return NULL;
    }
    return &r->inserted_pk->rows[0];
}

const cr_rowset *cr_result_inserted_primary_key_rows(cr_result *r)
{
    if (!r)
        return NULL;
    cr_error_clear(&r->err);
    if (!r->is_insert || !r->inserted_pk) {
        cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                     "inserted_primary_key_rows: the statement was not an INSERT of values");
        return NULL;
    }
    return r->inserted_pk;
}

/* ---- executemany of an INSERT: rows in batches of multi-row VALUES ---- */

/* The batch statement: the INSERT's table, its columns, nrows rows of binds. */
static cr_stmt *batch_stmt(cr_stmt *proto, struct cr_column *const *cols, size_t ncols,
                           size_t nrows)
{
    cr_stmt *b = cr_insert(proto->table);
    for (size_t r = 0; b && !b->err && r < nrows; r++) {
        for (size_t i = 0; i < ncols; i++) {
            cr_expr *v = cr_bind(b, cr_val_null());
            if (v) {
                v->type = (uint8_t)cols[i]->type.kind;
                v->hint = cols[i]->name;
            }
            cr_set_expr(b, cols[i], v);
        }
        cr_next_row(b);
    }
    return b;
}

cr_result *cr_conn_executemany_stmt(cr_conn *c, cr_stmt *q, cr_column *const *cols, size_t ncols,
                                    const cr_value *values, size_t nsets)
{
    /* q itself is never run, so not keyed: keying would call its columns'
     * default_fn once more than there are rows. */
    if (!ready(c, q))
        return NULL;
    if (q->err) {
        cr_error_copy(&c->err, cr_stmt_error(q));
        return NULL;
    }
    if (q->kind != CR_STMT_INSERT || q->row.n || q->rows.n || q->from_select ||
        q->returning.n || q->conflict) {
        cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany takes an INSERT with no values, "
                     "RETURNING or upsert of its own");
        return NULL;
    }
    if (!cols || !ncols || (nsets && !values)) {
        cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany: no columns or no values");
        return NULL;
    }
    /* Columns given, then those with client-side defaults, in table order. */
    const cr_table *t = q->table;
    struct cr_column **all = cr_calloc(t->ncols, sizeof *all);
    int *from = cr_calloc(t->ncols, sizeof *from);   /* source column, or -1 */
    cr_status rc = all && from ? CR_OK : cr_error_oom(&c->err);
    size_t nall = 0;
    for (size_t i = 0; rc == CR_OK && i < ncols; i++) {
        if (!cols[i] || cols[i]->base.tag != CR_TAG_EXPR || cols[i]->base.kind != CR_N_COLUMN ||
            cols[i]->table != t)
            rc = cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany: column %zu is not a "
                              "column of table '%s'", i + 1, t->name);
        for (size_t j = 0; rc == CR_OK && j < i; j++)
            if (cols[j] == cols[i])
                rc = cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany: column '%s' is given "
                                  "twice", cols[i]->name);
    }
    for (size_t k = 0; rc == CR_OK && k < t->ncols; k++) {
        struct cr_column *col = t->cols[k];
        int src = -1;
        for (size_t i = 0; i < ncols && src < 0; i++)
            if (cols[i] == col)
                src = (int)i;
        if (src < 0 && !col->default_fn && col->default_value.type == CR_NULL)
            continue;
        all[nall] = col;
        from[nall++] = src;
    }
    size_t per = c->engine->dialect->max_params / (nall ? nall : 1);
    size_t batch = per < 1000 ? per : 1000;
    if (batch == 0)
        batch = 1;
    cr_stmt *full = NULL, *part = NULL;
    int64_t total = 0;
    size_t nbatches = (nsets + batch - 1) / batch, done = 0;
    char note[64];
    for (size_t first = 0; rc == CR_OK && first < nsets; first += batch) {
        size_t n = nsets - first < batch ? nsets - first : batch;
        cr_stmt **slot = n == batch ? &full : &part;
        if (!*slot) {
            *slot = batch_stmt(q, all, nall, n);
            if (!*slot || cr_stmt_key(*slot)) {
                rc = *slot ? cr_error_set(&c->err, cr_stmt_error(*slot)->cls, "%s",
                                          cr_stmt_error(*slot)->message)
                           : cr_error_oom(&c->err);
                break;
            }
            /* A batch never fetches keys back: it is keyed apart from the
             * INSERT of the same rows that does. */
            cr_buf_putc(&(*slot)->key, 'M');
            if ((*slot)->key.oom) {
                rc = cr_error_oom(&c->err);
                break;
            }
        }
        cr_stmt *b = *slot;
        /* Binds were numbered row by row in table order: fill them in place. */
        for (size_t r = 0; r < n && rc == CR_OK; r++) {
            const cr_value *src = values + (first + r) * ncols;
            for (size_t i = 0; i < nall; i++) {
                cr_value v;
                if (from[i] >= 0)
                    v = src[from[i]];
                else
                    v = all[i]->default_fn ? all[i]->default_fn() : all[i]->default_value;
                char why[128];
                if (cr_value_check(&v, why, sizeof why) != CR_OK) {
                    /* Refused before anything is sent, as cr_conn_executemany does. */
                    rc = cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany: row %zu, column "
                                      "'%s': %s", first + r + 1, all[i]->name, why);
                    break;
                }
                if (all[i]->type.kind == CR_SQLTYPE_BOOLEAN && v.type == CR_INT)
                    v = cr_val_bool(v.v.i != 0);
                b->binds[r * nall + i] = v;
            }
        }
        if (rc != CR_OK)
            break;
        snprintf(note, sizeof note, "insertmanyvalues %zu/%zu", ++done, nbatches);
        if ((rc = run_counted(c, b, note, &total)))
            break;
    }
    cr_stmt_free(full);
    cr_stmt_free(part);
    cr_free(all);
    cr_free(from);
    if (rc)
        return NULL;
    cr_result *r = cr_result_new(c, NULL);
    if (r)
        r->rowcount = total;
    return r;
}

cr_status cr_engine_cache_stats(cr_engine *e, cr_cache_stats *out)
{
    if (!e || !out)
        return CR_ERR_ARGUMENT;
    out->hits = __atomic_load_n(&e->cache_hits, __ATOMIC_RELAXED);
    out->misses = __atomic_load_n(&e->cache_misses, __ATOMIC_RELAXED);
    out->size = e->stmt_cache_size;
    return CR_OK;
}
