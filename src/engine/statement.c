/* statement.c — each database connection's cache of prepared statements, least recently used out. */
#include "engine/engine.h"

#include <string.h>

static uint64_t hash_bytes(const void *p, size_t n, bool compiled)
{
    const unsigned char *s = p;
    uint64_t h = compiled ? 7809847782465536322ULL : 1469598103934665603ULL;   /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static bool same_key(const cr_prepared *st, const void *key, size_t keylen, bool compiled)
{
    return st->compiled == compiled && st->keylen == keylen && memcmp(st->key, key, keylen) == 0;
}

static void free_colnames(cr_prepared *st)
{
    for (int i = 0; i < st->ncols; i++)
        cr_free(st->colnames[i]);
    cr_free(st->colnames);
    cr_free(st->row);
    st->colnames = NULL;
    st->row = NULL;
    st->ncols = 0;
}

void cr_prepared_destroy(const cr_driver *drv, cr_prepared *st)
{
    if (!st)
        return;
    if (st->ds)
        drv->finalize(st->ds);
    free_colnames(st);
    cr_sqltext_free(&st->text);
    if (st->extra_free)
        st->extra_free(st->extra);
    cr_free(st->by_name);
    cr_free(st->slots);
    cr_free(st->key);
    cr_free(st);
}

static void lru_unlink(cr_pconn *pc, cr_prepared *st)
{
    if (st->prev) st->prev->next = st->next; else pc->lru_head = st->next;
    if (st->next) st->next->prev = st->prev; else pc->lru_tail = st->prev;
    st->prev = st->next = NULL;
}

static void lru_push_front(cr_pconn *pc, cr_prepared *st)
{
    st->prev = NULL;
    st->next = pc->lru_head;
    if (pc->lru_head) pc->lru_head->prev = st; else pc->lru_tail = st;
    pc->lru_head = st;
}

/* Take st out of the cache; a statement still being read is freed by its
 * result when it is done. */
static void evict(const cr_driver *drv, cr_pconn *pc, cr_prepared *st)
{
    cr_prepared **pp = &pc->buckets[st->hash & (pc->nbuckets - 1)];
    while (*pp != st)
        pp = &(*pp)->hnext;
    *pp = st->hnext;
    lru_unlink(pc, st);
    pc->ncached--;
    pc->evictions++;
    st->cached = false;
    if (!st->busy)
        cr_prepared_destroy(drv, st);
}

void cr_prepared_cache_clear(const cr_driver *drv, cr_pconn *pc)
{
    while (pc->lru_head)
        evict(drv, pc, pc->lru_head);
}

/* Prepare a statement: textual SQL (compile NULL) is rewritten from :name
 * parameters; compiled SQL comes from compile(ctx) in the driver's style. */
static cr_status prepare(cr_conn *c, const void *key, size_t keylen, uint64_t hash,
                         cr_compile_fn compile, void *ctx, cr_prepared **out)
{
    const cr_driver *drv = c->engine->drv;
    cr_prepared *st = cr_calloc(1, sizeof *st);
    if (!st)
        return cr_error_oom(&c->err);
    bool have_sql = false;       /* st->sql is SQL text, not a shape key */
    st->hash = hash;
    st->compiled = compile != NULL;
    st->prepared_at = c->engine->echo ? cr_now_seconds() : 0;
    cr_status rc;
    if (!(st->key = cr_malloc(keylen + 1))) {
        rc = cr_error_oom(&c->err);
        goto fail;
    }
    memcpy(st->key, key, keylen);
    st->key[keylen] = '\0';
    st->keylen = keylen;
    st->sql = st->key;
    const char *driver_sql;
    if (compile) {
        cr_compile_out co = {0};
        if ((rc = compile(ctx, &co, &c->err)))
            goto fail;
        have_sql = true;
        st->extra = co.extra;
        st->extra_free = co.extra_free;
        if (co.sql)                /* NULL: the key is the SQL itself */
            st->sql = co.sql;
        st->text.nslots = co.nslots;
        driver_sql = st->sql;
    } else {
        if ((rc = cr_sqltext_parse(key, drv->param_style, &st->text, &c->err)))
            goto fail;
        driver_sql = st->text.sql;
    }
    int nn = st->text.nnames, ns = st->text.nslots;
    st->by_name = cr_calloc((size_t)(nn ? nn : 1), sizeof *st->by_name);
    st->slots = cr_calloc((size_t)(ns ? ns : 1), sizeof *st->slots);
    if (!st->by_name || !st->slots) {
        rc = cr_error_oom(&c->err);
        goto fail;
    }
    if ((rc = drv->prepare(c->pc->dc, driver_sql, ns, &st->ds, &c->err))) {
        cr_conn_note_error(c, &c->err, false);
        goto fail;
    }
    *out = st;
    return CR_OK;
fail:
    /* The error names its statement: the text as given, or as compiled
     * (which is the key itself for SQL run as written). */
    if (!compile)
        cr_error_set_statement(&c->err, key);
    else if (have_sql)
        cr_error_set_statement(&c->err, st->sql);
    cr_prepared_destroy(drv, st);
    return rc;
}

static cr_status lookup(cr_conn *c, const void *key, size_t keylen, cr_compile_fn compile,
                        void *ctx, cr_prepared **out, bool *was_cached)
{
    cr_engine *e = c->engine;
    cr_pconn *pc = c->pc;
    bool compiled = compile != NULL;
    /* A loop runs one statement over and over: try the last one used before
     * hashing the key. */
    cr_prepared *st = pc->lru_head;
    if (st && !st->busy && same_key(st, key, keylen, compiled)) {
        st->busy = true;
        *was_cached = true;
        *out = st;
        return CR_OK;
    }
    uint64_t h = hash_bytes(key, keylen, compiled);
    st = pc->buckets[h & (pc->nbuckets - 1)];
    while (st && (st->hash != h || !same_key(st, key, keylen, compiled)))
        st = st->hnext;
    *was_cached = st != NULL && !st->busy;
    if (st && !st->busy) {
        if (pc->lru_head != st) {
            lru_unlink(pc, st);
            lru_push_front(pc, st);
        }
        st->busy = true;
        *out = st;
        return CR_OK;
    }
    /* Not cached, or the cached one is still being read by an open result:
     * prepare a fresh one. Only the first of a kind goes into the cache. */
    cr_status rc = prepare(c, key, keylen, h, compile, ctx, out);
    if (rc)
        return rc;
    (*out)->busy = true;
    if (!st && e->stmt_cache_size > 0) {
        if (pc->ncached >= e->stmt_cache_size)
            evict(e->drv, pc, pc->lru_tail);
        cr_prepared **bucket = &pc->buckets[h & (pc->nbuckets - 1)];
        (*out)->hnext = *bucket;
        *bucket = *out;
        lru_push_front(pc, *out);
        pc->ncached++;
        (*out)->cached = true;
    }
    return CR_OK;
}

cr_status cr_prepared_get(cr_conn *c, const char *sql, cr_prepared **out, bool *was_cached)
{
    return lookup(c, sql, strlen(sql), NULL, NULL, out, was_cached);
}

/* cr_prepared_get_keyed without a memo to trust: the cache's lookup. */
static __attribute__((noinline)) cr_status
get_keyed_general(cr_conn *c, const void *key, size_t keylen, cr_compile_fn compile, void *ctx,
                  cr_prepared_memo *memo, cr_prepared **out, bool *was_cached)
{
    cr_pconn *pc = c->pc;
    cr_status rc = lookup(c, key, keylen, compile, ctx, out, was_cached);
    if (memo)
        *memo = (cr_prepared_memo){pc->id, pc->evictions,
                                   rc == CR_OK && (*out)->cached ? *out : NULL};
    if (rc == CR_OK)
        __atomic_add_fetch(*was_cached ? &c->engine->cache_hits : &c->engine->cache_misses, 1,
                           __ATOMIC_RELAXED);
    return rc;
}

CR_HOT cr_status cr_prepared_get_keyed(cr_conn *c, const void *key, size_t keylen,
                                       cr_compile_fn compile, void *ctx, cr_prepared_memo *memo,
                                       cr_prepared **out, bool *was_cached)
{
    cr_pconn *pc = c->pc;
    cr_prepared *st = memo ? memo->st : NULL;
    if (!st || memo->pc_id != pc->id || memo->evictions != pc->evictions || st->busy)
        return get_keyed_general(c, key, keylen, compile, ctx, memo, out, was_cached);
    /* Still cached (nothing was evicted since): the statement itself. */
    if (pc->lru_head != st) {
        lru_unlink(pc, st);
        lru_push_front(pc, st);
    }
    st->busy = true;
    *out = st;
    *was_cached = true;
    __atomic_add_fetch(&c->engine->cache_hits, 1, __ATOMIC_RELAXED);
    return CR_OK;
}

CR_HOT void cr_prepared_release(cr_conn *c, cr_prepared *st, bool reset)
{
    const cr_driver *drv = c->engine->drv;
    if (reset)
        drv->reset(st->ds);
    st->busy = false;
    if (!st->cached)
        cr_prepared_destroy(drv, st);
}

/* Make the statement's column names and row buffer match what the driver
 * reports after this execution (they change when the schema does). */
static __attribute__((noinline)) cr_status sync_columns(cr_prepared *st, const cr_driver *drv,
                                                        uint64_t shape, cr_error *err)
{
    int n = drv->ncols(st->ds);
    st->shape = shape;
    st->shaped = false;
    bool same = n == st->ncols && (n == 0 || st->row);
    for (int i = 0; same && i < n; i++) {
        const char *name = drv->colname(st->ds, i);
        same = strcmp(st->colnames[i], name ? name : "") == 0;
    }
    if (same) {
        st->shaped = true;
        return CR_OK;
    }
    free_colnames(st);
    if (n == 0) {
        st->shaped = true;
        return CR_OK;
    }
    st->colnames = cr_calloc((size_t)n, sizeof(char *));
    st->row = cr_calloc((size_t)n, sizeof(cr_value));
    if (!st->colnames || !st->row) {
        cr_free(st->colnames);
        cr_free(st->row);
        st->colnames = NULL;
        st->row = NULL;
        return cr_error_oom(err);
    }
    st->ncols = n;
    for (int i = 0; i < n; i++) {
        const char *name = drv->colname(st->ds, i);
        if (!(st->colnames[i] = cr_strdup(name ? name : ""))) {
            free_colnames(st);
            return cr_error_oom(err);
        }
    }
    st->shaped = true;
    return CR_OK;
}

/* The common case first, on every execute: the driver's shape counter
 * unchanged since the columns last matched it. */
CR_HOT cr_status cr_prepared_sync_columns(cr_prepared *st, const cr_driver *drv, cr_error *err)
{
    uint64_t shape = drv->shape ? drv->shape(st->ds) : 0;
    if (drv->shape && shape == st->shape && st->shaped)
        return CR_OK;
    return sync_columns(st, drv, shape, err);
}
