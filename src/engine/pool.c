/* pool.c — the engine's pool of database connections: idle connections kept for reuse. */
#include "engine/engine.h"

#include <string.h>

void cr_pconn_destroy(cr_engine *e, cr_pconn *pc)
{
    if (!pc)
        return;
    cr_stmt_cache_clear(e->drv, pc);
    cr_free(pc->buckets);
    e->drv->close(pc->dc);
    cr_free(pc);
}

/* A new database connection, set to the engine's isolation level. */
static cr_status open_pconn(cr_engine *e, cr_pconn **out, cr_error *err)
{
    cr_pconn *pc = cr_calloc(1, sizeof *pc);
    if (!pc)
        return cr_error_oom(err);
    pc->nbuckets = 64;
    while (pc->nbuckets < (size_t)e->stmt_cache_size * 2)
        pc->nbuckets *= 2;
    pc->buckets = cr_calloc(pc->nbuckets, sizeof(cr_stmt *));
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
    pc->server_isolation = e->drv->default_isolation;
    if (e->isolation && strcmp(e->isolation, "AUTOCOMMIT") != 0 &&
        strcmp(e->isolation, pc->server_isolation) != 0) {
        if ((st = e->drv->set_isolation(pc->dc, e->isolation, err))) {
            cr_pconn_destroy(e, pc);
            return st;
        }
        pc->server_isolation = e->isolation;
    }
    *out = pc;
    return CR_OK;
}

cr_status cr_pool_checkout(cr_engine *e, cr_pconn **out, cr_error *err)
{
    pthread_mutex_lock(&e->lock);
    cr_pconn *pc = e->idle;
    if (pc) {
        e->idle = pc->next_idle;
        e->nidle--;
        pc->next_idle = NULL;
    }
    pthread_mutex_unlock(&e->lock);
    if (pc) {
        *out = pc;
        return CR_OK;
    }
    return open_pconn(e, out, err);
}

void cr_pool_checkin(cr_engine *e, cr_pconn *pc)
{
    if (!pc->broken) {
        pthread_mutex_lock(&e->lock);
        if (e->nidle < e->pool_size) {
            pc->next_idle = e->idle;
            e->idle = pc;
            e->nidle++;
            pc = NULL;
        }
        pthread_mutex_unlock(&e->lock);
    }
    if (pc)
        cr_pconn_destroy(e, pc);
}

void cr_pool_dispose(cr_engine *e)
{
    pthread_mutex_lock(&e->lock);
    cr_pconn *pc = e->idle;
    e->idle = NULL;
    e->nidle = 0;
    pthread_mutex_unlock(&e->lock);
    while (pc) {
        cr_pconn *next = pc->next_idle;
        cr_pconn_destroy(e, pc);
        pc = next;
    }
}
