/* pool.c — the engine's connection pool: QueuePool and NullPool semantics, stale-connection replacement, statistics. */
#include "engine/engine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

cr_status cr_pool_init(cr_engine *e)
{
    if (pthread_mutex_init(&e->lock, NULL) != 0)
        return CR_ERR_INTERNAL;
    /* Timed waits measure CLOCK_MONOTONIC, immune to wall-clock changes. */
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        pthread_mutex_destroy(&e->lock);
        return CR_ERR_INTERNAL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&e->returned, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_destroy(&e->lock);
        return CR_ERR_INTERNAL;
    }
    return CR_OK;
}

void cr_pool_destroy(cr_engine *e)
{
    pthread_cond_destroy(&e->returned);
    pthread_mutex_destroy(&e->lock);
}

void cr_pconn_destroy(cr_engine *e, cr_pconn *pc)
{
    if (!pc)
        return;
    cr_prepared_cache_clear(e->drv, pc);
    cr_free(pc->buckets);
    e->drv->close(pc->dc);
    cr_free(pc);
}

/* A new database connection, set to the engine's isolation level. */
cr_status cr_pconn_open(cr_engine *e, cr_pconn **out, cr_error *err)
{
    cr_pconn *pc = cr_calloc(1, sizeof *pc);
    if (!pc)
        return cr_error_oom(err);
    static uint64_t last_id;
    pc->id = __atomic_add_fetch(&last_id, 1, __ATOMIC_RELAXED);
    pc->nbuckets = 64;
    while (pc->nbuckets < (size_t)e->stmt_cache_size * 2)
        pc->nbuckets *= 2;
    pc->buckets = cr_calloc(pc->nbuckets, sizeof(cr_prepared *));
    if (!pc->buckets) {
        cr_free(pc);
        return cr_error_oom(err);
    }
    cr_status st = e->drv->connect(&e->url, &pc->dc, err);
    if (st) {
        cr_free(pc->buckets);
        cr_free(pc);
        return st;
    }
    pc->created = cr_now_seconds();
    pc->server_isolation = e->drv->default_isolation;
    if (e->unnamed_statements)   /* the level goes with each BEGIN instead */
        e->drv->unnamed_statements(pc->dc);
    else if (strcmp(e->server_isolation, pc->server_isolation) != 0) {
        if ((st = e->drv->set_isolation(pc->dc, e->server_isolation, err))) {
            cr_pconn_destroy(e, pc);
            return st;
        }
        pc->server_isolation = e->server_isolation;
    }
    *out = pc;
    return CR_OK;
}

void cr_pool_note_lost(cr_engine *e, cr_pconn *pc)
{
    if (pc->broken)
        return;
    pc->broken = true;
    pc->lost_at = cr_now_seconds();
    pthread_mutex_lock(&e->lock);
    if (pc->lost_at > e->stale_before)
        e->stale_before = pc->lost_at;
    e->last_loss = pc->lost_at;
    pthread_mutex_unlock(&e->lock);
    cr_pool_log(e, "Connection %p lost; invalidating the connections opened before it",
                (void *)pc->dc);
}

/* ---- the idle queue (caller holds the lock) --------------------------------- */

static cr_pconn *pop_idle(cr_engine *e)
{
    cr_pconn *pc = e->idle;
    if (pc) {
        e->idle = pc->next_idle;
        if (!e->idle)
            e->idle_tail = NULL;
        pc->next_idle = NULL;
        e->nidle--;
    }
    return pc;
}

/* LIFO puts the returned connection first in line, FIFO last. */
static void push_idle(cr_engine *e, cr_pconn *pc)
{
    if (e->lifo || !e->idle) {
        pc->next_idle = e->idle;
        e->idle = pc;
        if (!e->idle_tail)
            e->idle_tail = pc;
    } else {
        pc->next_idle = NULL;
        e->idle_tail->next_idle = pc;
        e->idle_tail = pc;
    }
    e->nidle++;
}

static bool has_capacity(const cr_engine *e)
{
    if (e->poolclass == CR_POOL_NULL || e->pool_size < 0 || e->max_overflow < 0)
        return true;
    return e->nopen < e->pool_size + e->max_overflow;
}

/* ---- checkout --------------------------------------------------------------- */

/* Why an idle connection must not be handed out, or NULL when it may be. */
static const char *unfit(cr_engine *e, cr_pconn *pc, double now, double stale_before)
{
    if (pc->created <= stale_before)
        return "opened before a disconnect";
    if (e->pool_recycle > 0 && now - pc->created > e->pool_recycle)
        return "recycled";
    if (e->pre_ping) {
        cr_error ping;
        cr_error_init(&ping);   /* not the 1 KiB message: once per checkout */
        cr_status st = e->drv->exec_simple(pc->dc, "SELECT 1", &ping);
        bool lost = st != CR_OK;
        cr_error_clear(&ping);
        if (lost)
            return "failed its pre-ping";
    }
    return NULL;
}

/* Replace an unfit connection with a new one, in its slot. */
static cr_status replace(cr_engine *e, cr_pconn **pc, const char *why, cr_error *err)
{
    pthread_mutex_lock(&e->lock);
    if (strcmp(why, "recycled") == 0) {
        e->stats.recycles++;
    } else {
        e->stats.invalidations++;
        /* A connection that failed its ping was dropped by the server; so,
         * most likely, were those opened with it. */
        if (strcmp(why, "failed its pre-ping") == 0) {
            e->stale_before = (*pc)->created;
            e->last_loss = cr_now_seconds();
        }
    }
    pthread_mutex_unlock(&e->lock);
    cr_pool_log(e, "Connection %p %s; replacing it", (void *)(*pc)->dc, why);
    cr_pconn_destroy(e, *pc);
    *pc = NULL;
    cr_status st = cr_pconn_open(e, pc, err);
    if (st == CR_OK) {
        pthread_mutex_lock(&e->lock);
        e->stats.connects++;
        pthread_mutex_unlock(&e->lock);
    }
    return st;
}

static cr_status timed_out(cr_engine *e, cr_error *err)
{
    e->stats.timeouts++;
    char size[16], overflow[16];
    snprintf(size, sizeof size, "%d", e->pool_size);
    snprintf(overflow, sizeof overflow, "%d", e->max_overflow);
    return cr_error_set(err, CR_ERR_TIMEOUT,
                        "QueuePool limit of size %s overflow %s reached, connection timed "
                        "out, timeout %.2f",
                        e->pool_size < 0 ? "unlimited" : size,
                        e->max_overflow < 0 ? "unlimited" : overflow, e->pool_timeout);
}

/* CLOCK_MONOTONIC now plus seconds (less than 1e9). */
static struct timespec deadline_after(double seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double whole = floor(seconds);
    t.tv_sec += (time_t)whole;
    t.tv_nsec += (long)((seconds - whole) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

cr_status cr_pool_checkout(cr_engine *e, cr_pconn **out, cr_error *err)
{
    struct timespec deadline = {0, 0};
    bool waited = false;
    /* A timeout past any real deadline (INFINITY) waits without one. */
    bool forever = e->pool_timeout >= 1e9;
    cr_status st = CR_OK;
    cr_pconn *pc = NULL;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        if (e->poolclass == CR_POOL_QUEUE && (pc = pop_idle(e)) != NULL)
            break;
        if (has_capacity(e)) {
            e->nopen++;
            break;
        }
        if (!waited) {
            waited = true;
            if (e->pool_timeout > 0)      /* CR_NONE fails without waiting */
                e->stats.waits++;
            if (!forever)
                deadline = deadline_after(e->pool_timeout);
        }
        if (forever) {
            pthread_cond_wait(&e->returned, &e->lock);
            continue;
        }
        if (e->pool_timeout <= 0 ||
            pthread_cond_timedwait(&e->returned, &e->lock, &deadline) == ETIMEDOUT) {
            /* One last look: a connection may have come back at the deadline. */
            if ((e->poolclass == CR_POOL_QUEUE && e->idle) || has_capacity(e))
                continue;
            st = timed_out(e, err);
            pthread_mutex_unlock(&e->lock);
            return st;
        }
    }
    e->nchecked++;
    e->refs++;
    double stale_before = e->stale_before;
    pthread_mutex_unlock(&e->lock);

    bool opened = !pc;
    if (pc) {
        const char *why = unfit(e, pc, cr_now_seconds(), stale_before);
        if (why) {
            st = replace(e, &pc, why, err);
            opened = true;
        }
    } else if ((st = cr_pconn_open(e, &pc, err)) == CR_OK) {
        pthread_mutex_lock(&e->lock);
        e->stats.connects++;
        pthread_mutex_unlock(&e->lock);
    }
    pthread_mutex_lock(&e->lock);
    if (st) {
        e->nchecked--;
        e->refs--;
        e->nopen--;
        pthread_cond_signal(&e->returned);
    } else {
        if (opened)
            pc->generation = e->generation;
        e->stats.checkouts++;
    }
    pthread_mutex_unlock(&e->lock);
    if (st)
        return st;
    cr_pool_log(e, "Connection %p checked out from pool", (void *)pc->dc);
    *out = pc;
    return CR_OK;
}

/* ---- checkin ------------------------------------------------------------------ */

void cr_pool_checkin(cr_engine *e, cr_pconn *pc)
{
    /* The returning connection holds a reference (refs) until this function
     * is done with both it and the engine: a concurrent cr_engine_free, or
     * the last other connection coming back, frees the engine only when refs
     * reaches zero. */
    const void *dc = pc->dc;          /* for the log: pc may be reused at once */
    bool invalidated = pc->broken || pc->invalidated;
    pthread_mutex_lock(&e->lock);
    /* (A lost connection has already made the older ones stale:
     * cr_pool_note_lost.) */
    if (invalidated)
        e->stats.invalidations++;
    bool keep = !invalidated && !e->freed && e->poolclass == CR_POOL_QUEUE &&
                pc->generation == e->generation &&
                (e->pool_size < 0 || e->nidle < e->pool_size);
    e->nchecked--;
    if (keep)
        push_idle(e, pc);             /* another thread may take it from here */
    else
        e->nopen--;
    pthread_cond_signal(&e->returned);
    pthread_mutex_unlock(&e->lock);

    if (keep) {
        cr_pool_log(e, "Connection %p being returned to pool", dc);
    } else {
        cr_pool_log(e, "Connection %p closed%s", dc, invalidated ? " (invalidated)" : "");
        cr_pconn_destroy(e, pc);
    }

    pthread_mutex_lock(&e->lock);
    e->refs--;
    bool last = e->freed && e->refs == 0;
    pthread_mutex_unlock(&e->lock);
    if (last)
        cr_engine_destroy(e);
}

/* ---- dispose, free, status ---------------------------------------------------- */

/* Take the idle list out under the lock, close it outside. */
static void close_idle(cr_engine *e)
{
    pthread_mutex_lock(&e->lock);
    cr_pconn *pc = e->idle;
    e->nopen -= e->nidle;
    e->idle = e->idle_tail = NULL;
    e->nidle = 0;
    pthread_mutex_unlock(&e->lock);
    while (pc) {
        cr_pconn *next = pc->next_idle;
        cr_pconn_destroy(e, pc);
        pc = next;
    }
}

void cr_pool_dispose(cr_engine *e)
{
    /* Connections checked out now belong to the old generation: they are
     * closed when they come back. */
    pthread_mutex_lock(&e->lock);
    e->generation++;
    pthread_mutex_unlock(&e->lock);
    close_idle(e);
    cr_pool_log(e, "Pool disposed");
}

bool cr_pool_close_for_free(cr_engine *e)
{
    pthread_mutex_lock(&e->lock);
    e->freed = true;
    bool none_out = e->refs == 0;
    pthread_mutex_unlock(&e->lock);
    close_idle(e);
    return none_out;
}

cr_status cr_engine_pool_status(cr_engine *e, cr_pool_status *out)
{
    if (!e || !out)
        return CR_ERR_ARGUMENT;
    pthread_mutex_lock(&e->lock);
    *out = e->stats;
    out->pool_size = e->pool_size;
    out->max_overflow = e->max_overflow;
    out->checked_out = e->nchecked;
    out->idle = e->nidle;
    int base = e->pool_size < 0 ? e->nopen : e->pool_size;
    out->overflow = e->nopen > base ? e->nopen - base : 0;
    pthread_mutex_unlock(&e->lock);
    return CR_OK;
}
