/* shard.c — shard sets: engines under names, the choosers' answers checked, and the ORDER BY merge of the shards' rows. */
#include "engine/shardset.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const cr_error null_set_error = {
    .cls = CR_ERR_ARGUMENT, .message = "shard set handle is NULL",
};

cr_shard_set *cr_shard_set_new(const cr_shard_choosers *choosers)
{
    cr_shard_set *set = cr_calloc(1, sizeof *set);
    if (!set)
        return NULL;
    if (choosers)
        set->choosers = *choosers;
    cr_error_init(&set->err);
    return set;
}

void cr_shard_set_free(cr_shard_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        if (set->shards[i].owned)
            cr_engine_free(set->shards[i].engine);
    cr_error_clear(&set->err);
    cr_free(set);
}

const cr_error *cr_shard_set_error(const cr_shard_set *set)
{
    if (!set)
        return &null_set_error;
    return set->err.cls ? &set->err : NULL;
}

int cr_shard_find(const cr_shard_set *set, const char *name)
{
    for (size_t i = 0; name && i < set->n; i++)
        if (strcmp(set->shards[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* "a, b, c": the set's shards, for messages. */
static void list_names(const cr_shard_set *set, cr_buf *b)
{
    for (size_t i = 0; i < set->n; i++)
        cr_buf_printf(b, "%s'%s'", i ? ", " : "", set->shards[i].name);
    if (!set->n)
        cr_buf_puts(b, "none");
}

int cr_shard_resolve(const cr_shard_set *set, const char *name, const char *what, cr_error *err)
{
    int i = cr_shard_find(set, name);
    if (i >= 0)
        return i;
    cr_buf b;
    cr_buf_init(&b);
    list_names(set, &b);
    if (!name)
        cr_error_set(err, CR_ERR_ARGUMENT, "the %s chooser returned no shard name (NULL); the "
                     "shards are %s", what, cr_buf_cstr(&b) ? cr_buf_cstr(&b) : "...");
    else
        cr_error_set(err, CR_ERR_ARGUMENT, "the %s chooser returned '%.100s', which is not a "
                     "shard of this set; the shards are %s", what, name,
                     cr_buf_cstr(&b) ? cr_buf_cstr(&b) : "...");
    cr_buf_free(&b);
    return -1;
}

int cr_shard_named(const cr_shard_set *set, const char *name, cr_error *err)
{
    int i = cr_shard_find(set, name);
    if (i < 0 && !name)
        cr_error_set(err, CR_ERR_ARGUMENT, "the shard name is NULL");
    else if (i < 0) {
        cr_buf b;
        cr_buf_init(&b);
        list_names(set, &b);
        cr_error_set(err, CR_ERR_ARGUMENT, "no shard named '%.100s' in this set; the "
                     "shards are %s", name, cr_buf_cstr(&b) ? cr_buf_cstr(&b) : "...");
        cr_buf_free(&b);
    }
    return i;
}

static int named(cr_shard_set *set, const char *name)
{
    return cr_shard_named(set, name, &set->err);
}

size_t cr_shard_targets(cr_shard_set *set, const cr_stmt *q, const char *const *names,
                        size_t nnames, int *idx, cr_error *err)
{
    const char *chosen[CR_SHARD_MAX];
    const char *what = "query";
    if (names && nnames) {
        if (nnames > CR_SHARD_MAX) {
            cr_error_set(err, CR_ERR_ARGUMENT, "%zu shard names given; a set has at most %d",
                         nnames, CR_SHARD_MAX);
            return 0;
        }
        what = NULL;
    } else if (set->choosers.query) {
        nnames = set->choosers.query(set->choosers.userdata, q, chosen, CR_SHARD_MAX);
        names = chosen;
        if (nnames > CR_SHARD_MAX) {
            cr_error_set(err, CR_ERR_ARGUMENT, "the query chooser returned %zu shards; a set "
                         "has at most %d", nnames, CR_SHARD_MAX);
            return 0;
        }
    } else {
        nnames = 0;
    }
    if (!nnames) {   /* every shard, in shard order */
        for (size_t i = 0; i < set->n; i++)
            idx[i] = (int)i;
        if (!set->n)
            cr_error_set(err, CR_ERR_INVALID_REQUEST, "the shard set has no shards");
        return set->n;
    }
    for (size_t i = 0; i < nnames; i++) {
        idx[i] = what ? cr_shard_resolve(set, names[i], what, err)
                      : cr_shard_named(set, names[i], err);
        if (idx[i] < 0)
            return 0;
        for (size_t j = 0; j < i; j++)
            if (idx[j] == idx[i]) {
                cr_error_set(err, CR_ERR_ARGUMENT, "shard '%s' is named twice", names[i]);
                return 0;
            }
    }
    return nnames;
}

static cr_status add_shard(cr_shard_set *set, const char *name, cr_engine *engine, bool owned)
{
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof set->shards[0].name)
        return cr_error_set(&set->err, CR_ERR_ARGUMENT, "a shard name is 1 to %zu characters; "
                            "'%.100s' is %zu", sizeof set->shards[0].name - 1, name, len);
    if (cr_shard_find(set, name) >= 0)
        return cr_error_set(&set->err, CR_ERR_ARGUMENT, "the set already has a shard named "
                            "'%s'", name);
    if (set->n == CR_SHARD_MAX)
        return cr_error_set(&set->err, CR_ERR_ARGUMENT, "the set already holds %d shards, "
                            "the most it can", CR_SHARD_MAX);
    cr_shard *sh = &set->shards[set->n++];
    memcpy(sh->name, name, len + 1);
    sh->engine = engine;
    sh->owned = owned;
    return CR_OK;
}

cr_status cr_shard_set_add_engine(cr_shard_set *set, const char *name, cr_engine *engine)
{
    if (!set)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&set->err);
    if (!name || !engine)
        return cr_error_set(&set->err, CR_ERR_ARGUMENT, "add_engine: the %s is NULL",
                            name ? "engine" : "shard name");
    return add_shard(set, name, engine, false);
}

cr_status cr_shard_set_add_url(cr_shard_set *set, const char *name, const char *url,
                               const cr_engine_options *options)
{
    if (!set)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&set->err);
    if (!name || !url)
        return cr_error_set(&set->err, CR_ERR_ARGUMENT, "add_url: the %s is NULL",
                            name ? "URL" : "shard name");
    /* The name is checked before an engine is made for nothing. */
    if (cr_shard_find(set, name) >= 0 || !*name || set->n == CR_SHARD_MAX)
        return add_shard(set, name, NULL, false);
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, options, &err);
    if (!e) {
        cr_error_copy(&set->err, err);
        cr_error_free(err);
        return set->err.cls;
    }
    cr_status rc = add_shard(set, name, e, true);
    if (rc)
        cr_engine_free(e);
    return rc;
}

size_t cr_shard_set_count(const cr_shard_set *set) { return set ? set->n : 0; }

const char *cr_shard_set_name(const cr_shard_set *set, size_t i)
{
    return set && i < set->n ? set->shards[i].name : NULL;
}

cr_engine *cr_shard_set_engine(cr_shard_set *set, const char *name)
{
    if (!set)
        return NULL;
    cr_error_clear(&set->err);
    int i = named(set, name);
    return i < 0 ? NULL : set->shards[i].engine;
}

const char *cr_shard_set_choose(cr_shard_set *set, const cr_value *key, size_t n)
{
    if (!set)
        return NULL;
    cr_error_clear(&set->err);
    if (!key || !n) {
        cr_error_set(&set->err, CR_ERR_ARGUMENT, "choose: the key is %s",
                     key ? "empty (0 values)" : "NULL");
        return NULL;
    }
    if (!set->choosers.key) {
        cr_error_set(&set->err, CR_ERR_INVALID_REQUEST, "choose: the shard set has no key "
                     "chooser (cr_shard_choosers.key)");
        return NULL;
    }
    int i = cr_shard_resolve(set, set->choosers.key(set->choosers.userdata, key, n), "key",
                             &set->err);
    return i < 0 ? NULL : set->shards[i].name;
}

cr_conn *cr_shard_set_connect(cr_shard_set *set, const char *name)
{
    if (!set)
        return NULL;
    cr_error_clear(&set->err);
    int i = named(set, name);
    if (i < 0)
        return NULL;
    cr_error *err = NULL;
    cr_conn *c = cr_engine_connect(set->shards[i].engine, &err);
    if (!c) {
        cr_error_copy(&set->err, err);
        cr_error_free(err);
    }
    return c;
}

const char *cr_rowset_shard(const cr_rowset *rows, size_t i)
{
    return rows && rows->shards && i < rows->count ? rows->shards[i] : NULL;
}

/* ---- the merge ------------------------------------------------------------- */

static int sign(double d) { return d < 0 ? -1 : d > 0; }

static bool numeric_kind(cr_type t)
{
    return t == CR_INT || t == CR_DOUBLE || t == CR_BOOL || t == CR_NUMERIC;
}

static double as_double(const cr_value *v)
{
    switch (v->type) {
    case CR_INT: return (double)v->v.i;
    case CR_BOOL: return v->v.b;
    case CR_NUMERIC: return strtod(v->v.s.ptr, NULL);
    default: return v->v.d;
    }
}

static int bytes_compare(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? sign(c) : sign((double)alen - (double)blen);
}

static int datetime_compare(const cr_datetime *a, const cr_datetime *b)
{
    const int x[] = {a->year, a->month, a->day, a->hour, a->minute, a->second, a->microsecond};
    const int y[] = {b->year, b->month, b->day, b->hour, b->minute, b->second, b->microsecond};
    for (size_t i = 0; i < CR_ARRAY_LEN(x); i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* Two non-NULL values, ascending, as the database compares them (the C
 * collation for text). Values of unlike kinds (which one column of one
 * statement does not hold) order by kind, for a total order. */
static int value_compare(const cr_value *a, const cr_value *b)
{
    if (a->type == CR_INT && b->type == CR_INT)
        return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    if (numeric_kind(a->type) && numeric_kind(b->type))
        return sign(as_double(a) - as_double(b));
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case CR_TEXT:
        return bytes_compare(a->v.s.ptr, a->v.s.len, b->v.s.ptr, b->v.s.len);
    case CR_BLOB:
        return bytes_compare(a->v.blob.ptr, a->v.blob.len, b->v.blob.ptr, b->v.blob.len);
    case CR_DATE: case CR_TIME: case CR_DATETIME:
        return datetime_compare(&a->v.dt, &b->v.dt);
    default:
        return 0;
    }
}

int cr_order_compare(const cr_value *a, const cr_value *b, unsigned flags, bool nulls_high)
{
    bool an = a->type == CR_NULL, bn = b->type == CR_NULL;
    if (an || bn) {
        if (an && bn)
            return 0;
        /* Where NULLs go among the sorted rows: NULLS FIRST / LAST, else the
         * backend's own rule, which DESC turns around. */
        bool first = flags & CR_MERGE_NULLS_FIRST ? true
                   : flags & CR_MERGE_NULLS_LAST ? false
                   : (flags & CR_MERGE_DESC) ? nulls_high : !nulls_high;
        return (an ? -1 : 1) * (first ? 1 : -1);
    }
    int c = value_compare(a, b);
    return flags & CR_MERGE_DESC ? -c : c;
}

size_t cr_merge_order(size_t nsrc, const size_t *counts, cr_merge_cmp cmp, void *ctx,
                      int64_t offset, int64_t limit, cr_merge_pick *out)
{
    assert(nsrc <= CR_SHARD_MAX);
    size_t head[CR_SHARD_MAX] = {0};
    size_t n = 0;
    int64_t skip = offset > 0 ? offset : 0;
    for (;;) {
        if (limit >= 0 && (int64_t)n >= limit)
            break;
        /* The least head; a handful of shards: a scan beats a heap. */
        size_t best = SIZE_MAX;
        for (size_t s = 0; s < nsrc; s++) {
            if (head[s] == counts[s])
                continue;
            if (best == SIZE_MAX)
                best = s;
            else if (!cmp)
                break;   /* concatenation: the first source not yet done */
            else if (cmp(ctx, s, head[s], best, head[best]) < 0)
                best = s;
        }
        if (best == SIZE_MAX)
            break;
        if (skip > 0)
            skip--;
        else
            out[n++] = (cr_merge_pick){(uint32_t)best, head[best]};
        head[best]++;
    }
    return n;
}

typedef struct row_merge {
    cr_rowset **parts;
    const cr_order_key *keys;
    size_t nkeys;
    bool nulls_high;
} row_merge;

static int compare_rows(void *ctx, size_t s1, size_t i1, size_t s2, size_t i2)
{
    const row_merge *m = ctx;
    const cr_value *a = m->parts[s1]->rows[i1].values, *b = m->parts[s2]->rows[i2].values;
    for (size_t k = 0; k < m->nkeys; k++) {
        int c = cr_order_compare(&a[m->keys[k].at], &b[m->keys[k].at], m->keys[k].flags,
                                 m->nulls_high);
        if (c)
            return c;
    }
    return 0;
}

cr_rowset *cr_rowset_merge(cr_rowset **parts, const char *const *shard_names, size_t nparts,
                           const cr_order_key *keys, size_t nkeys, bool nulls_high,
                           int64_t offset, int64_t limit, cr_error *err)
{
    assert(nparts > 0 && nparts <= CR_SHARD_MAX);
    size_t counts[CR_SHARD_MAX], total = 0;
    for (size_t s = 0; s < nparts; s++)
        total += counts[s] = parts[s]->count;
    cr_rowset *rs = cr_calloc(1, sizeof *rs);
    cr_merge_pick *picks = cr_malloc((total ? total : 1) * sizeof *picks);
    const char *names[CR_SHARD_MAX];
    if (!rs || !picks || !(rs->parts = cr_malloc(nparts * sizeof *rs->parts)))
        goto oom;
    cr_arena_init(&rs->arena, 256);
    memcpy(rs->parts, parts, nparts * sizeof *parts);   /* from here on freed with rs */
    rs->nparts = nparts;
    parts = NULL;
    /* The first set's column names serve all: one statement made them. */
    rs->ncols = rs->parts[0]->ncols;
    rs->colnames = rs->parts[0]->colnames;
    rs->colkeys = rs->parts[0]->colkeys;
    for (size_t s = 0; s < nparts; s++) {
        size_t len = strlen(shard_names[s]) + 1;
        char *copy = cr_arena_alloc(&rs->arena, len);
        if (!copy)
            goto oom;
        names[s] = memcpy(copy, shard_names[s], len);
    }
    row_merge m = {rs->parts, keys, nkeys, nulls_high};
    size_t n = cr_merge_order(nparts, counts, nkeys ? compare_rows : NULL, &m, offset, limit,
                              picks);
    rs->rows = cr_malloc((n ? n : 1) * sizeof *rs->rows);
    rs->shards = cr_malloc((n ? n : 1) * sizeof *rs->shards);
    if (!rs->rows || !rs->shards)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        rs->rows[i] = rs->parts[picks[i].src]->rows[picks[i].idx];
        rs->rows[i].err = &rs->err;   /* getters report on the merged set */
        rs->shards[i] = names[picks[i].src];
    }
    rs->count = rs->cap = n;
    cr_free(picks);
    return rs;
oom:
    for (size_t s = 0; parts && s < nparts; s++)
        cr_rowset_free(parts[s]);
    cr_rowset_free(rs);
    cr_free(picks);
    cr_error_oom(err);
    return NULL;
}
