/* shard_session.c — the sharded session: one session per shard, objects routed by the choosers, queries fanned out and merged. */
#include "orm/orm.h"
#include "sql/shard_sql.h"

#include <string.h>

struct cr_shard_session {
    cr_shard_set *set;
    cr_session *sessions[CR_SHARD_MAX];   /* shard i's, as the set orders them */
    size_t n;
    cr_error err;
};

static const cr_error null_ss_error = {
    .cls = CR_ERR_ARGUMENT, .message = "sharded session handle is NULL",
};

cr_shard_session *cr_shard_session_new(cr_shard_set *set, const cr_session_options *options)
{
    if (!set || !set->n)
        return NULL;
    cr_shard_session *ss = cr_calloc(1, sizeof *ss);
    if (!ss)
        return NULL;
    cr_error_init(&ss->err);
    ss->set = set;
    for (; ss->n < set->n; ss->n++)
        if (!(ss->sessions[ss->n] = cr_session_new(set->shards[ss->n].engine, options))) {
            cr_shard_session_free(ss);
            return NULL;
        }
    return ss;
}

void cr_shard_session_free(cr_shard_session *ss)
{
    if (!ss)
        return;
    for (size_t i = 0; i < ss->n; i++)
        cr_session_free(ss->sessions[i]);
    cr_error_clear(&ss->err);
    cr_free(ss);
}

const cr_error *cr_shard_session_error(const cr_shard_session *ss)
{
    if (!ss)
        return &null_ss_error;
    return ss->err.cls ? &ss->err : NULL;
}

/* Shard i's session failed: its error, named, is ss's. */
static cr_status shard_failed(cr_shard_session *ss, size_t i)
{
    return cr_shard_error(&ss->err, ss->set->shards[i].name, cr_session_error(ss->sessions[i]));
}

/* The shard a program names; -1 with the error on ss. */
static int named(cr_shard_session *ss, const char *name)
{
    return cr_shard_named(ss->set, name, &ss->err);
}

/* The shard whose session the object is in (or, detached, was in and
 * still frees it): -1 for none of ours. */
static int shard_of(const cr_shard_session *ss, const cr_instance *in)
{
    const cr_session *s = in->session ? in->session : in->owner;
    for (size_t i = 0; s && i < ss->n; i++)
        if (ss->sessions[i] == s)
            return (int)i;
    return -1;
}

cr_session *cr_shard_session_shard(cr_shard_session *ss, const char *name)
{
    if (!ss)
        return NULL;
    cr_error_clear(&ss->err);
    int i = named(ss, name);
    return i < 0 ? NULL : ss->sessions[i];
}

const char *cr_shard_session_object_shard(const cr_shard_session *ss, const void *obj)
{
    const cr_instance *in = ss ? cr_instance_of(obj) : NULL;
    int i = in ? shard_of(ss, in) : -1;
    return i < 0 ? NULL : ss->set->shards[i].name;
}

/* The object's instance, or an UnmappedInstanceError on ss. */
static cr_instance *instance(cr_shard_session *ss, void *obj)
{
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        cr_error_set(&ss->err, CR_ERR_UNMAPPED_INSTANCE, "%s", obj ? "the object is not an "
                     "object of a model (made by cr_new or loaded)" : "the object is NULL");
    return in;
}

static cr_status add_at(cr_shard_session *ss, int i, void *obj)
{
    return cr_session_add(ss->sessions[i], obj) ? shard_failed(ss, (size_t)i) : CR_OK;
}

/* The start of a call on one object: its instance, or the error. */
static cr_status object_call(cr_shard_session *ss, void *obj, cr_instance **in)
{
    if (!ss)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&ss->err);
    *in = instance(ss, obj);
    return *in ? CR_OK : ss->err.cls;
}

cr_status cr_shard_session_add(cr_shard_session *ss, void *obj)
{
    cr_instance *in;
    cr_status rc = object_call(ss, obj, &in);
    if (rc)
        return rc;
    int i = shard_of(ss, in);
    if (i < 0) {
        const cr_shard_choosers *ch = &ss->set->choosers;
        if (!ch->object)
            return cr_error_set(&ss->err, CR_ERR_INVALID_REQUEST, "add: the shard set has no "
                                "object chooser (cr_shard_choosers.object); name the shard "
                                "with cr_shard_session_add_to");
        i = cr_shard_resolve(ss->set, ch->object(ch->userdata, in->mapper, obj), "object",
                             &ss->err);
        if (i < 0)
            return ss->err.cls;
    }
    return add_at(ss, i, obj);
}

cr_status cr_shard_session_add_to(cr_shard_session *ss, const char *name, void *obj)
{
    if (!ss)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&ss->err);
    int i = named(ss, name);
    cr_instance *in = i < 0 ? NULL : instance(ss, obj);
    if (!in)
        return ss->err.cls;
    int was = shard_of(ss, in);
    if (was >= 0 && was != i) {
        cr_buf b;
        cr_buf_init(&b);
        cr_describe(in, &b);
        cr_error_set(&ss->err, CR_ERR_INVALID_REQUEST, "add_to: %s belongs to shard '%s'; it "
                     "cannot be added to shard '%s'", cr_buf_cstr(&b) ? cr_buf_cstr(&b) : "the "
                     "object", ss->set->shards[was].name, ss->set->shards[i].name);
        cr_buf_free(&b);
        return ss->err.cls;
    }
    return add_at(ss, i, obj);
}

cr_status cr_shard_session_delete(cr_shard_session *ss, void *obj)
{
    cr_instance *in;
    cr_status rc = object_call(ss, obj, &in);
    if (rc)
        return rc;
    int i = in->session ? shard_of(ss, in) : -1;
    if (i < 0)
        return cr_error_set(&ss->err, CR_ERR_INVALID_REQUEST, "delete: the object is in none "
                            "of the shards' sessions");
    return cr_session_delete(ss->sessions[i], obj) ? shard_failed(ss, (size_t)i) : CR_OK;
}

/* Call op on every shard's session in shard order; the first failure is
 * reported (all_shards: the others still run, as a rollback must). */
static cr_status each_shard(cr_shard_session *ss, cr_status (*op)(cr_session *), bool all_shards)
{
    if (!ss)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&ss->err);
    for (size_t i = 0; i < ss->n; i++)
        if (op(ss->sessions[i]) != CR_OK) {
            if (!ss->err.cls)
                shard_failed(ss, i);
            if (!all_shards)
                break;
        }
    return ss->err.cls;
}

cr_status cr_shard_session_flush(cr_shard_session *ss)
{
    return each_shard(ss, cr_session_flush, false);
}

cr_status cr_shard_session_commit(cr_shard_session *ss)
{
    /* Every shard flushed before any commits: a failing flush commits none. */
    cr_status rc = each_shard(ss, cr_session_flush, false);
    return rc ? rc : each_shard(ss, cr_session_commit, false);
}

cr_status cr_shard_session_rollback(cr_shard_session *ss)
{
    return each_shard(ss, cr_session_rollback, true);
}

size_t cr_shard_session_identity_count(const cr_shard_session *ss)
{
    size_t n = 0;
    for (size_t i = 0; ss && i < ss->n; i++)
        n += cr_session_identity_count(ss->sessions[i]);
    return n;
}

void *cr_shard_session_get_values(cr_shard_session *ss, const cr_mapper *m,
                                  const cr_value *values, size_t n)
{
    if (!ss)
        return NULL;
    cr_error_clear(&ss->err);
    if (!m || !values || !n) {
        cr_error_set(&ss->err, CR_ERR_ARGUMENT, "get: the %s", !m ? "mapper is NULL (the "
                     "model is not defined)" : "primary key has no values");
        return NULL;
    }
    const cr_shard_choosers *ch = &ss->set->choosers;
    const char *chosen[CR_SHARD_MAX];
    int idx[CR_SHARD_MAX];
    size_t k = ch->ids ? ch->ids(ch->userdata, m, values, n, chosen, CR_SHARD_MAX) : 0;
    if (k > CR_SHARD_MAX) {
        cr_error_set(&ss->err, CR_ERR_ARGUMENT, "the id chooser returned %zu shards; a set has "
                     "at most %d", k, CR_SHARD_MAX);
        return NULL;
    }
    for (size_t i = 0; i < k; i++)
        if ((idx[i] = cr_shard_resolve(ss->set, chosen[i], "id", &ss->err)) < 0)
            return NULL;
    if (!k)
        for (; k < ss->n; k++)
            idx[k] = (int)k;
    for (size_t i = 0; i < k; i++) {
        void *obj = cr_session_get_values(ss->sessions[idx[i]], m, values, n);
        if (obj)
            return obj;
        if (cr_session_error(ss->sessions[idx[i]])) {
            shard_failed(ss, (size_t)idx[i]);
            return NULL;
        }
    }
    return NULL;
}

/* The mapper whose objects q loads. */
static const cr_mapper *query_mapper(const cr_stmt *q)
{
    if (q->orm_mapper)
        return q->orm_mapper;
    if (q->kind == CR_STMT_SELECT && q->columns.n &&
        *(const uint32_t *)q->columns.items[0] == CR_TAG_TABLE)
        return cr_table_mapper(q->columns.items[0]);
    return NULL;
}

/* Each ORDER BY item of q as a field of m. */
static cr_status field_keys(cr_shard_session *ss, const cr_stmt *q, const cr_mapper *m,
                            cr_order_key *keys, size_t *nkeys)
{
    *nkeys = q->order_by.n;
    if (*nkeys > CR_MERGE_MAX_KEYS)
        return cr_error_set(&ss->err, CR_ERR_NOT_SUPPORTED, "a fan-out merges by at most %d "
                            "ORDER BY items; this query has %zu", CR_MERGE_MAX_KEYS, *nkeys);
    for (size_t i = 0; i < *nkeys; i++) {
        const cr_expr *x = cr_order_item(q, i, &keys[i].flags);
        keys[i].at = -1;
        for (size_t f = 0; f < m->nfields && keys[i].at < 0; f++)
            if ((const void *)m->fields[f].col == (const void *)x)
                keys[i].at = (int)f;
        if (keys[i].at < 0)
            return cr_error_set(&ss->err, CR_ERR_INVALID_REQUEST, "ORDER BY item %zu of a "
                                "fan-out query is not a column of %s's table: the shards' "
                                "objects cannot be merged in its order", i + 1, m->name);
    }
    return CR_OK;
}

typedef struct object_merge {
    cr_objects **lists;
    const cr_order_key *keys;
    size_t nkeys;
    bool nulls_high;
} object_merge;

static int compare_objects(void *ctx, size_t s1, size_t i1, size_t s2, size_t i2)
{
    const object_merge *m = ctx;
    const cr_instance *a = cr_instance_of(m->lists[s1]->items[i1]);
    const cr_instance *b = cr_instance_of(m->lists[s2]->items[i2]);
    for (size_t k = 0; k < m->nkeys; k++) {
        cr_value va = cr_field_value(a, (size_t)m->keys[k].at);
        cr_value vb = cr_field_value(b, (size_t)m->keys[k].at);
        int c = cr_order_compare(&va, &vb, m->keys[k].flags, m->nulls_high);
        if (c)
            return c;
    }
    return 0;
}

cr_objects *cr_shard_session_all(cr_shard_session *ss, cr_stmt *q, const char *const *names,
                                 size_t nnames)
{
    if (!ss)
        return NULL;
    cr_error_clear(&ss->err);
    const cr_mapper *m = q ? query_mapper(q) : NULL;
    if (!m) {
        cr_error_set(&ss->err, CR_ERR_ARGUMENT, "%s", q ? "all: the statement selects no "
                     "model (build it with cr_select_model)" : "all: the statement is NULL");
        return NULL;
    }
    int idx[CR_SHARD_MAX];
    size_t n = cr_shard_targets(ss->set, q, names, nnames, idx, &ss->err);
    cr_order_key keys[CR_MERGE_MAX_KEYS];
    size_t nkeys = 0;
    if (!n || (q->order_by.n && field_keys(ss, q, m, keys, &nkeys)))
        return NULL;
    cr_objects *lists[CR_SHARD_MAX];
    size_t counts[CR_SHARD_MAX], got = 0, total = 0;
    cr_limit_push p;
    cr_limit_push_down(q, &p);
    for (; got < n; got++) {
        if (!(lists[got] = cr_session_all(ss->sessions[idx[got]], q))) {
            shard_failed(ss, (size_t)idx[got]);
            break;
        }
        total += counts[got] = lists[got]->count;
    }
    cr_limit_pop(q, &p);
    cr_objects *out = NULL;
    if (got == n) {
        out = cr_calloc(1, sizeof *out);
        cr_merge_pick *picks = cr_malloc((total ? total : 1) * sizeof *picks);
        if (out && picks && (out->items = cr_malloc((total ? total : 1) * sizeof(void *)))) {
            object_merge om = {lists, keys, nkeys,
                               ss->set->shards[idx[0]].engine->dialect->nulls_sort_high};
            out->count = cr_merge_order(n, counts, nkeys ? compare_objects : NULL, &om,
                                        p.offset, p.limit, picks);
            for (size_t i = 0; i < out->count; i++)
                out->items[i] = lists[picks[i].src]->items[picks[i].idx];
        } else {
            cr_objects_free(out);
            out = NULL;
            cr_error_oom(&ss->err);
        }
        cr_free(picks);
    }
    for (size_t i = 0; i < got; i++)
        cr_objects_free(lists[i]);
    return out;
}
