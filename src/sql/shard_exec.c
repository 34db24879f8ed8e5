/* shard_exec.c — statements on shard sets: one shard's execution, the fan-out SELECT and its merge, a WHERE's values for query choosers. */
#include "sql/shard_sql.h"
#include "schema/schema.h"

#include <stdio.h>
#include <string.h>

cr_status cr_shard_error(cr_error *err, const char *shard, const cr_error *src)
{
    /* (A message at its longest loses its end to the prefix.) */
    char message[sizeof err->message];
    int len = snprintf(message, sizeof message, "shard '%s': ", shard);
    if (len > 0 && (size_t)len < sizeof message) {
        const char *text = src ? src->message : "unknown error";
        size_t room = sizeof message - (size_t)len - 1, n = strlen(text);
        memcpy(message + len, text, n < room ? n : room);
        message[(size_t)len + (n < room ? n : room)] = '\0';
    }
    if (src)
        cr_error_copy(err, src);
    else
        cr_error_set(err, CR_ERR_INTERNAL, "%s", "");
    memcpy(err->message, message, sizeof message);
    return err->cls;
}

void cr_limit_push_down(cr_stmt *q, cr_limit_push *p)
{
    *p = (cr_limit_push){.offset = 0, .limit = -1};
    if (q->kind != CR_STMT_SELECT && q->kind != CR_STMT_COMPOUND)
        return;
    if (q->limit && q->limit->u.value.type == CR_INT)
        p->limit = q->limit->u.value.v.i;
    if (q->offset && q->offset->u.value.type == CR_INT)
        p->offset = q->offset->u.value.v.i;
    if (!q->offset)
        return;
    /* Each shard's first n + m rows hold the merged first n + m. */
    p->active = true;
    p->offset_node = q->offset;
    q->offset = NULL;
    if (q->limit) {
        p->limit_was = q->limit->u.value;
        q->limit->u.value.v.i = p->limit > INT64_MAX - p->offset ? INT64_MAX
                                                                 : p->limit + p->offset;
    }
    cr_stmt_changed(q);
}

void cr_limit_pop(cr_stmt *q, cr_limit_push *p)
{
    if (!p->active)
        return;
    q->offset = p->offset_node;
    if (q->limit)
        q->limit->u.value = p->limit_was;
    p->active = false;
    cr_stmt_changed(q);
}

const cr_expr *cr_order_item(const cr_stmt *q, size_t i, unsigned *flags)
{
    const cr_expr *e = q->order_by.items[i];
    *flags = 0;
    if (e->kind == CR_N_ORDER) {
        *flags = e->op;
        e = e->u.un.e;
    }
    return e;
}

static bool is_table_item(const void *p) { return *(const uint32_t *)p == CR_TAG_TABLE; }

/* The result column of x by the SELECT's own list: the very expression
 * selected (tables count their columns). -1 when it is not there. */
static int selected_position(const cr_stmt *q, const cr_expr *x)
{
    while (q->kind == CR_STMT_COMPOUND)   /* a compound's columns are its first member's */
        q = q->left;
    int at = 0;
    for (size_t i = 0; i < q->columns.n; i++) {
        const void *item = q->columns.items[i];
        if (item == (const void *)x)
            return at;
        at += is_table_item(item) ? (int)cr_table_column_count(item) : 1;
    }
    return -1;
}

/* Where each ORDER BY item of q is in the rows of rs. */
static cr_status order_keys(cr_stmt *q, const cr_rowset *rs, cr_order_key *keys, size_t *nkeys,
                            cr_error *err)
{
    *nkeys = q->order_by.n;
    if (*nkeys > CR_MERGE_MAX_KEYS)
        return cr_error_set(err, CR_ERR_NOT_SUPPORTED, "a fan-out merges by at most %d ORDER "
                            "BY items; this statement has %zu", CR_MERGE_MAX_KEYS, *nkeys);
    for (size_t i = 0; i < *nkeys; i++) {
        const cr_expr *x = cr_order_item(q, i, &keys[i].flags);
        int at = -1;
        for (int j = 0; at < 0 && rs->colkeys && j < rs->ncols; j++)
            if (x->kind == CR_N_COLUMN && rs->colkeys[j] == (const void *)x)
                at = j;
        for (int j = 0; at < 0 && x->kind == CR_N_LABEL && j < rs->ncols; j++)
            if (strcmp(rs->colnames[j], x->u.label.name) == 0)
                at = j;
        if (at < 0)
            at = selected_position(q, x);
        if (at < 0 || at >= rs->ncols)
            return cr_error_set(err, CR_ERR_INVALID_REQUEST, "ORDER BY item %zu of a fan-out "
                                "query is not among the selected columns: the shards' rows "
                                "cannot be merged in its order (select it, or label it and "
                                "select the label)", i + 1);
        keys[i].at = at;
    }
    return CR_OK;
}

/* Run q on shard sh and fetch its rows. */
static cr_rowset *fetch_one(cr_shard_set *set, const cr_shard *sh, cr_stmt *q)
{
    cr_error *cerr = NULL;
    cr_conn *c = cr_engine_connect(sh->engine, &cerr);
    if (!c) {
        cr_shard_error(&set->err, sh->name, cerr);
        cr_error_free(cerr);
        return NULL;
    }
    cr_rowset *rs = NULL;
    cr_result *r = cr_conn_execute_stmt(c, q);
    if (!r)
        cr_shard_error(&set->err, sh->name, cr_conn_error(c));
    else if (!(rs = cr_result_fetchall(r)))
        cr_shard_error(&set->err, sh->name, cr_result_error(r));
    cr_result_free(r);
    cr_conn_close(c);
    return rs;
}

cr_rowset *cr_shard_set_fetch(cr_shard_set *set, cr_stmt *q, const char *const *names,
                              size_t nnames)
{
    if (!set)
        return NULL;
    cr_error_clear(&set->err);
    if (!q) {
        cr_error_set(&set->err, CR_ERR_ARGUMENT, "fetch: the statement is NULL");
        return NULL;
    }
    if (q->kind != CR_STMT_SELECT && q->kind != CR_STMT_COMPOUND) {
        cr_error_set(&set->err, CR_ERR_ARGUMENT, "fetch runs a SELECT on several shards; run "
                     "an INSERT, UPDATE or DELETE on one with cr_shard_set_exec");
        return NULL;
    }
    if (q->err) {
        cr_error_copy(&set->err, q->err);
        return NULL;
    }
    int idx[CR_SHARD_MAX];
    size_t n = cr_shard_targets(set, q, names, nnames, idx, &set->err);
    if (!n)
        return NULL;
    cr_rowset *parts[CR_SHARD_MAX];
    const char *part_names[CR_SHARD_MAX];
    cr_order_key keys[CR_MERGE_MAX_KEYS];
    size_t nkeys = 0, got = 0;
    cr_limit_push p;
    cr_limit_push_down(q, &p);
    bool failed = false;
    for (size_t i = 0; i < n && !failed; i++) {
        const cr_shard *sh = &set->shards[idx[i]];
        if (!(parts[got] = fetch_one(set, sh, q)))
            failed = true;
        else
            part_names[got++] = sh->name;
        /* Shards whose tables differ (a migration half done) give rows of
         * other widths: the merge would read past them. */
        if (got > 1 && !failed && parts[got - 1]->ncols != parts[0]->ncols) {
            cr_error_set(&set->err, CR_ERR_INVALID_REQUEST, "shard '%s' returned %d columns "
                         "and shard '%s' %d: the shards' rows cannot be merged", sh->name,
                         parts[got - 1]->ncols, part_names[0], parts[0]->ncols);
            failed = true;
        }
        /* The ORDER BY is checked against the first shard's columns,
         * before the others run for nothing. */
        if (got == 1 && !failed && q->order_by.n &&
            order_keys(q, parts[0], keys, &nkeys, &set->err))
            failed = true;
    }
    cr_limit_pop(q, &p);
    if (failed) {
        for (size_t i = 0; i < got; i++)
            cr_rowset_free(parts[i]);
        return NULL;
    }
    bool nulls_high = set->shards[idx[0]].engine->dialect->nulls_sort_high;
    return cr_rowset_merge(parts, part_names, got, keys, nkeys, nulls_high, p.offset, p.limit,
                           &set->err);
}

cr_status cr_shard_set_exec(cr_shard_set *set, const char *name, cr_stmt *q, int64_t *rowcount)
{
    if (!set)
        return CR_ERR_ARGUMENT;
    if (!q) {
        cr_error_clear(&set->err);
        return cr_error_set(&set->err, CR_ERR_ARGUMENT, "exec: the statement is NULL");
    }
    cr_conn *c = cr_shard_set_connect(set, name);
    if (!c)
        return set->err.cls;
    cr_result *r = cr_conn_execute_stmt(c, q);
    int64_t count = r ? cr_result_rowcount(r) : -1;
    cr_result_free(r);
    if (!r || cr_conn_commit(c) != CR_OK)
        cr_shard_error(&set->err, name, cr_conn_error(c));
    else if (rowcount)
        *rowcount = count;
    cr_conn_close(c);   /* (rolls back what failed) */
    return set->err.cls;
}

/* ---- a WHERE's values, for query choosers ---------------------------------- */

typedef struct where_values {
    const cr_expr *col;
    cr_value *out;
    size_t max, n;
} where_values;

static void take(where_values *w, const cr_expr *v)
{
    if (v->kind != CR_N_BIND || v->param)   /* a placeholder has no value yet */
        return;
    if (w->n < w->max)
        w->out[w->n] = v->u.value;
    w->n++;
}

static void collect(where_values *w, const cr_expr *e)
{
    if (!e)
        return;
    switch (e->kind) {
    case CR_N_AND:
        for (size_t i = 0; i < e->u.list.n; i++)
            collect(w, e->u.list.items[i]);
        break;
    case CR_N_BINARY:
        if (e->op != CR_OP_EQ)
            break;
        if (e->u.bin.left == w->col)
            take(w, e->u.bin.right);
        else if (e->u.bin.right == w->col)
            take(w, e->u.bin.left);
        break;
    case CR_N_IN:
        if (e->u.in.e == w->col)
            for (size_t i = 0; i < e->u.in.n; i++)
                take(w, e->u.in.vals[i]);
        break;
    default:   /* OR, NOT ...: pin nothing */
        break;
    }
}

size_t cr_stmt_where_values(const cr_stmt *q, const cr_column *col, cr_value *out, size_t max)
{
    if (!q || !col || (max && !out) || q->kind == CR_STMT_INSERT)
        return 0;
    where_values w = {(const cr_expr *)col, out, max, 0};
    collect(&w, q->where);
    return w.n;
}
