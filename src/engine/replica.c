/* replica.c — read replicas: routing read-only checkouts, health and lag checks, read-your-writes. */
#include "engine/engine.h"

#include <assert.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

/* One replica: an engine of its own (pool, statement caches) and what the
 * router knows of it. The fields after engine are guarded by the set's
 * lock. */
typedef struct cr_replica {
    cr_engine *engine;
    double down_until;          /* skipped until then (cr_now_seconds)       */
    double checked_at;          /* when its last lag check began; 0: never   */
    double lag;                 /* seconds at the last check; -1: none yet   */
    bool lagging;               /* past max_lag at the last check            */
    long reads, skips, failures, waits, wait_timeouts;
    char last_error[200];
} cr_replica;

typedef struct cr_replica_set {
    pthread_mutex_t lock;       /* guards what changes after configuration  */
    cr_replica r[CR_MAX_REPLICAS];
    int n;
    cr_replica_policy policy;
    double max_lag;             /* 0: no bound                               */
    double check_interval, retry_interval, wait_timeout;
    bool read_your_writes;
    bool primary_fallback;
    bool check_connections;
    unsigned long turn;         /* round-robin                               */
    /* Engine-wide read-your-writes: every commit seen, merged. */
    char position[CR_POSITION_MAX];
    /* A commit whose position could not be read: only the primary surely
     * has it, until a position read after it (lost_gen tells). */
    bool position_lost;
    unsigned long lost_gen;
    long primary_reads;         /* read-only checkouts that fell back        */
} cr_replica_set;

void cr_replicas_free(cr_replica_set *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        cr_engine_free(s->r[i].engine);
    pthread_mutex_destroy(&s->lock);
    cr_free(s);
}

/* ---- configuration ------------------------------------------------------------ */

static cr_status apply_options(cr_replica_set *s, const cr_replica_options *o, cr_error *err)
{
    static const cr_replica_options defaults;
    if (!o)
        o = &defaults;
    if (o->policy != CR_REPLICA_ROUND_ROBIN && o->policy != CR_REPLICA_LEAST_LAG)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "unknown replica policy %d (CR_REPLICA_ROUND_ROBIN or "
                            "CR_REPLICA_LEAST_LAG)", (int)o->policy);
    if (cr_tristate_check(o->primary_fallback, "primary_fallback", err) ||
        cr_tristate_check(o->check_connections, "check_connections", err))
        return err->cls;
    double max_lag, check, retry, wait;
    cr_status st;
    if ((st = cr_seconds_option("max_lag", o->max_lag, 0, &max_lag, err)) ||
        (st = cr_seconds_option("check_interval", o->check_interval, 1, &check, err)) ||
        (st = cr_seconds_option("retry_interval", o->retry_interval, 5, &retry, err)) ||
        (st = cr_seconds_option("wait_timeout", o->wait_timeout, 2, &wait, err)))
        return st;
    pthread_mutex_lock(&s->lock);
    s->policy = o->policy;
    s->max_lag = max_lag;
    s->check_interval = check;
    s->retry_interval = retry;
    s->wait_timeout = wait;
    s->read_your_writes = o->read_your_writes;
    s->primary_fallback = o->primary_fallback.value != CR_NO.value;
    s->check_connections = o->check_connections.value != CR_NO.value;
    pthread_mutex_unlock(&s->lock);
    return CR_OK;
}

/* The engine's replica set, made with the default options on first use. */
static cr_status replica_set(cr_engine *e, cr_replica_set **out, cr_error *err)
{
    /* (The statuses are spelled out: the analyzer cannot see that
     * cr_error_set returns the class it is given.) */
    if (!e->drv->write_position) {
        cr_error_set(err, CR_ERR_NOT_SUPPORTED,
                     "the %s backend has no replicas: read replicas are for PostgreSQL and "
                     "MariaDB/MySQL", e->drv->name);
        return CR_ERR_NOT_SUPPORTED;
    }
    if (!e->replicas) {
        cr_replica_set *s = cr_calloc(1, sizeof *s);
        if (!s) {
            cr_error_oom(err);
            return CR_ERR_NO_MEMORY;
        }
        if (pthread_mutex_init(&s->lock, NULL) != 0) {
            cr_free(s);
            cr_error_set(err, CR_ERR_INTERNAL, "could not create the replicas' mutex");
            return CR_ERR_INTERNAL;
        }
        if (apply_options(s, NULL, err) != CR_OK) {   /* the defaults: cannot fail */
            cr_replicas_free(s);
            return CR_ERR_INTERNAL;
        }
        e->replicas = s;
    }
    *out = e->replicas;
    assert(*out != NULL);
    return CR_OK;
}

cr_status cr_engine_set_replica_options(cr_engine *e, const cr_replica_options *o, cr_error **err)
{
    cr_error local = {0};
    cr_replica_set *s = NULL;
    cr_status st;
    if (err)
        *err = NULL;
    if (!e) {
        st = CR_ERR_ARGUMENT;
        cr_error_set(&local, st, "engine handle is NULL");
    } else if ((st = replica_set(e, &s, &local)) == CR_OK) {
        assert(s != NULL);
        st = apply_options(s, o, &local);
    }
    if (st)
        cr_error_hand_over(&local, err);
    return st;
}

/* A replica's engine takes the primary's options, as they were given. */
static int count_back(int v) { return v < 0 ? CR_UNLIMITED : v == 0 ? CR_NONE : v; }

static void inherit_options(const cr_engine *e, cr_engine_options *o)
{
    memset(o, 0, sizeof *o);
    o->echo = e->echo;
    o->echo_pool = e->echo_pool;
    o->log_fn = e->log_fn;
    o->log_userdata = e->log_userdata;
    o->isolation_level = e->autocommit ? "AUTOCOMMIT" : e->server_isolation;
    o->statement_cache_size = e->stmt_cache_size >= 1 << 20 ? CR_UNLIMITED
                                                            : count_back(e->stmt_cache_size);
    o->poolclass = e->poolclass;
    o->pool_size = count_back(e->pool_size);
    o->max_overflow = count_back(e->max_overflow);
    o->pool_timeout = e->pool_timeout > 0 ? e->pool_timeout : CR_NONE;
    o->pool_recycle = e->pool_recycle;
    o->pool_pre_ping = e->pre_ping;
    o->pool_use_lifo = e->lifo;
}

cr_status cr_engine_add_replica(cr_engine *e, const char *url, cr_error **err)
{
    cr_error local = {0};
    cr_replica_set *s = NULL;
    cr_status st = CR_ERR_ARGUMENT;
    if (err)
        *err = NULL;
    if (!e)
        cr_error_set(&local, st, "engine handle is NULL");
    else if (!url)
        cr_error_set(&local, st, "replica URL is NULL");
    else if ((st = replica_set(e, &s, &local)) == CR_OK && s->n == CR_MAX_REPLICAS)
        st = cr_error_set(&local, CR_ERR_ARGUMENT, "an engine has at most %d replicas",
                          CR_MAX_REPLICAS);
    if (st || !e || !s) {
        cr_error_hand_over(&local, err);
        return st;
    }
    cr_engine_options o;
    inherit_options(e, &o);
    cr_engine *re = cr_create_engine(url, &o, err);
    if (!re)
        return err && *err ? cr_error_class(*err) : CR_ERR_ARGUMENT;
    if (strcmp(re->drv->name, e->drv->name) != 0) {
        st = cr_error_set(&local, CR_ERR_ARGUMENT,
                          "replica %s is a %s database; the engine's primary is %s",
                          re->safe_url, re->drv->name, e->drv->name);
        cr_engine_free(re);
        cr_error_hand_over(&local, err);
        return st;
    }
    pthread_mutex_lock(&s->lock);
    s->r[s->n] = (cr_replica){.engine = re, .lag = -1};
    s->n++;
    pthread_mutex_unlock(&s->lock);
    cr_engine_log(e, "Replica %d added: %s", s->n - 1, re->safe_url);
    return CR_OK;
}

int cr_engine_replica_count(const cr_engine *e)
{
    return e && e->replicas ? e->replicas->n : 0;
}

/* ---- read-your-writes --------------------------------------------------------- */

void cr_replicas_note_commit(cr_conn *c)
{
    cr_replica_set *s = c->engine->replicas;
    pthread_mutex_lock(&s->lock);
    bool wanted = s->read_your_writes;
    unsigned long gen = s->lost_gen;
    pthread_mutex_unlock(&s->lock);
    if (!wanted)
        return;
    char pos[CR_POSITION_MAX];
    cr_error local;
    cr_error_init(&local);
    cr_status st = c->engine->drv->write_position(c->pc->dc, pos, sizeof pos, &local);
    pthread_mutex_lock(&s->lock);
    if (!st)
        st = c->engine->drv->merge_position(s->position, sizeof s->position, pos, &local);
    if (st) {
        s->position_lost = true;
        s->lost_gen++;
    } else if (gen == s->lost_gen) {
        /* Read after every lost one: it covers them. */
        s->position_lost = false;
    }
    pthread_mutex_unlock(&s->lock);
    if (st) {
        cr_conn_note_error(c, &local, false);
        cr_engine_log(c->engine, "Commit position not read (%s): read-only work goes to the "
                      "primary until the next commit", local.message);
    }
    cr_error_clear(&local);
}

cr_status cr_conn_commit_token(cr_conn *c, char *buf, size_t size)
{
    cr_status st = cr_conn_check_statement(c);
    if (st)
        return st;
    if (!buf || !size)
        return cr_error_set(&c->err, CR_ERR_ARGUMENT, "the token buffer is NULL or empty");
    if (c->replica_slot)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "this read-only connection is on a replica, which commits "
                            "nothing: take the token on the primary connection that committed");
    if (c->in_tx)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "a transaction is in progress: commit it first, so that the token "
                            "covers its writes");
    const cr_driver *drv = c->engine->drv;
    if (!drv->write_position)
        return cr_error_set(&c->err, CR_ERR_NOT_SUPPORTED,
                            "the %s backend has no replicas, hence no read-your-writes tokens",
                            drv->name);
    char pos[CR_POSITION_MAX];
    if ((st = drv->write_position(c->pc->dc, pos, sizeof pos, &c->err))) {
        cr_conn_note_error(c, &c->err, false);
        return st;
    }
    size_t len = strlen(pos);
    if (len >= size)
        return cr_error_set(&c->err, CR_ERR_ARGUMENT,
                            "the token needs %zu bytes (CR_TOKEN_MAX is always enough); the "
                            "buffer has %zu", len + 1, size);
    memcpy(buf, pos, len + 1);
    return CR_OK;
}

int cr_conn_replica(const cr_conn *c) { return c ? c->replica_slot - 1 : -1; }

/* ---- routing ------------------------------------------------------------------ */

/* One read-only checkout's way through the replicas. */
typedef struct route {
    char target[CR_POSITION_MAX];   /* wait for this ("": no wait) */
    bool timed_out;                 /* a read-your-writes wait ran out */
    char why[400];                  /* why the replicas tried could not serve */
} route;

static void route_note(route *rt, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void route_note(route *rt, int i, const char *fmt, ...)
{
    size_t len = strlen(rt->why);
    if (len + 8 >= sizeof rt->why)
        return;
    int w = snprintf(rt->why + len, sizeof rt->why - len, "%sreplica %d: ", len ? "; " : "", i);
    if (w < 0 || (size_t)w >= sizeof rt->why - len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rt->why + len + (size_t)w, sizeof rt->why - len - (size_t)w, fmt, ap);
    va_end(ap);
}

/* The replica failed: skip it for retry_interval, and close its idle
 * connections (a server that failed one has most likely failed them all). */
static void mark_down(cr_replica_set *s, cr_replica *r, int i, route *rt, const char *what,
                      const cr_error *err)
{
    const char *msg = cr_error_message(err);
    pthread_mutex_lock(&s->lock);
    r->down_until = cr_now_seconds() + s->retry_interval;
    r->failures++;
    snprintf(r->last_error, sizeof r->last_error, "%s: %s", what, msg);
    pthread_mutex_unlock(&s->lock);
    route_note(rt, i, "%s: %s", what, msg);
    cr_engine_dispose(r->engine);
}

/* Whether an idle connection's socket has something to read: the server
 * closed it, or said why it is about to. A poll, no round trip. */
static bool socket_suspect(const cr_driver *drv, cr_pconn *pc)
{
    int fd = drv->socket ? drv->socket(pc->dc) : -1;
    if (fd < 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

/* Give back a connection the router will not hand out; a failed one is not
 * pooled again. */
static void discard(cr_conn *c, const cr_error *failure)
{
    if (failure) {
        if (failure->disconnect)
            cr_pool_note_lost(c->engine, c->pc);
        c->pc->invalidated = true;
    }
    cr_conn_close(c);
}

/* Replica i as the connection for this checkout, or NULL (why noted). */
static cr_conn *try_replica(cr_engine *e, cr_replica_set *s, int i, route *rt)
{
    cr_replica *r = &s->r[i];
    double now = cr_now_seconds();
    pthread_mutex_lock(&s->lock);
    bool down = r->down_until > now;
    bool lagging = r->lagging && now - r->checked_at < s->check_interval;
    bool check = !down && !lagging && (s->max_lag > 0 || s->policy == CR_REPLICA_LEAST_LAG) &&
                 (r->checked_at == 0 || now - r->checked_at >= s->check_interval);
    if (down || lagging)
        r->skips++;
    if (check)
        r->checked_at = now;    /* this checkout checks; the others need not */
    double lag_was = r->lag;
    char last_error[sizeof r->last_error];
    memcpy(last_error, r->last_error, sizeof last_error);
    pthread_mutex_unlock(&s->lock);
    if (down || lagging) {
        if (down)
            route_note(rt, i, "down (%s)", last_error);
        else
            route_note(rt, i, "%.3gs behind, past max_lag %.3gs", lag_was, s->max_lag);
        return NULL;
    }

    cr_error *cerr = NULL;
    cr_conn *c = cr_engine_connect(r->engine, &cerr);
    if (!c) {
        mark_down(s, r, i, rt, "connect", cerr);
        cr_error_free(cerr);
        return NULL;
    }
    const cr_driver *drv = r->engine->drv;
    cr_error local;
    cr_error_init(&local);
    const char *what = "connection lost";
    cr_status st = s->check_connections && socket_suspect(drv, c->pc)
                       ? drv->exec_simple(c->pc->dc, "SELECT 1", &local)
                       : CR_OK;
    double lag = 0;
    if (!st && check && (st = drv->replica_lag(c->pc->dc, &lag, &local)))
        what = "lag check";
    if (!st && check) {
        pthread_mutex_lock(&s->lock);
        r->lag = lag;
        r->lagging = s->max_lag > 0 && lag > s->max_lag;
        if (r->lagging)
            r->skips++;
        pthread_mutex_unlock(&s->lock);
        if (s->max_lag > 0 && lag > s->max_lag) {
            route_note(rt, i, "%.3gs behind, past max_lag %.3gs", lag, s->max_lag);
            discard(c, NULL);
            return NULL;
        }
    }
    bool reached = true;
    if (!st && rt->target[0]) {
        pthread_mutex_lock(&s->lock);
        r->waits++;
        pthread_mutex_unlock(&s->lock);
        if ((st = drv->wait_position(c->pc->dc, rt->target, s->wait_timeout, &reached, &local)))
            what = "read-your-writes wait";
    }
    if (st) {
        discard(c, &local);
        mark_down(s, r, i, rt, what, &local);
        cr_error_clear(&local);
        return NULL;
    }
    if (!reached) {
        pthread_mutex_lock(&s->lock);
        r->wait_timeouts++;
        pthread_mutex_unlock(&s->lock);
        route_note(rt, i, "had not replayed %s after %.3gs", rt->target, s->wait_timeout);
        rt->timed_out = true;
        discard(c, NULL);
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    r->reads++;
    pthread_mutex_unlock(&s->lock);
    c->routed_from = e;
    c->replica_slot = i + 1;
    return c;
}

/* The order in which to try the replicas: round-robin from the next turn,
 * or by the lag last seen (never checked counts as none) with the turn
 * breaking ties. */
static int candidates(cr_replica_set *s, int *order)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n;
    unsigned long start = s->turn++;
    double lag[CR_MAX_REPLICAS];
    for (int k = 0; k < n; k++) {
        order[k] = (int)((start + (unsigned long)k) % (unsigned long)n);
        lag[k] = s->r[order[k]].lag > 0 ? s->r[order[k]].lag : 0;
    }
    bool by_lag = s->policy == CR_REPLICA_LEAST_LAG;
    pthread_mutex_unlock(&s->lock);
    for (int k = 1; by_lag && k < n; k++)
        for (int j = k; j > 0 && lag[j] < lag[j - 1]; j--) {
            double tl = lag[j];
            lag[j] = lag[j - 1];
            lag[j - 1] = tl;
            int to = order[j];
            order[j] = order[j - 1];
            order[j - 1] = to;
        }
    return n;
}

/* Through the replicas, or NULL with *why saying why none served. */
static cr_conn *route_to_replica(cr_engine *e, cr_replica_set *s, const char *token,
                                 route *rt, cr_error *err, cr_status *st)
{
    pthread_mutex_lock(&s->lock);
    bool lost = s->read_your_writes && s->position_lost;
    if (s->read_your_writes)
        memcpy(rt->target, s->position, sizeof rt->target);
    pthread_mutex_unlock(&s->lock);
    if (token && *token &&
        (*st = e->drv->merge_position(rt->target, sizeof rt->target, token, err)))
        return NULL;
    if (lost) {
        snprintf(rt->why, sizeof rt->why,
                 "the position of a commit could not be read: only the primary surely has it");
        return NULL;
    }
    int order[CR_MAX_REPLICAS];
    int n = candidates(s, order);
    for (int k = 0; k < n && !rt->timed_out; k++) {
        cr_conn *c = try_replica(e, s, order[k], rt);
        if (c)
            return c;
    }
    return NULL;
}

static cr_conn *connect_readonly(cr_engine *e, const char *token, bool begin, cr_error **err)
{
    cr_error local;
    cr_error_init(&local);
    cr_status st = CR_OK;
    if (err)
        *err = NULL;
    if (!e)
        st = cr_error_set(&local, CR_ERR_ARGUMENT, "engine handle is NULL");
    else if (token && *token && !e->drv->check_position)
        st = cr_error_set(&local, CR_ERR_NOT_SUPPORTED,
                          "the %s backend has no replicas, hence no read-your-writes tokens",
                          e->drv->name);
    else if (token && *token)
        st = e->drv->check_position(token, &local);
    cr_replica_set *s = e ? e->replicas : NULL;
    cr_conn *c = NULL;
    if (!st && s && s->n > 0) {
        route rt;
        rt.target[0] = rt.why[0] = '\0';
        rt.timed_out = false;
        c = route_to_replica(e, s, token, &rt, &local, &st);
        if (c) {
            cr_engine_log(e, "Read-only connection on replica %d", c->replica_slot - 1);
        } else if (!st && !s->primary_fallback) {
            st = cr_error_set(&local, rt.timed_out ? CR_ERR_TIMEOUT : CR_ERR_OPERATIONAL,
                              "no replica could serve read-only work (primary_fallback is "
                              "off): %s", rt.why);
        } else if (!st) {
            pthread_mutex_lock(&s->lock);
            s->primary_reads++;
            pthread_mutex_unlock(&s->lock);
            cr_engine_log(e, "Read-only connection on the primary: %s", rt.why);
        }
    }
    if (st) {
        cr_error_hand_over(&local, err);
        return NULL;
    }
    if (!c && (c = cr_engine_connect(e, err)) != NULL)
        c->routed_from = e;
    if (c && begin && cr_conn_begin(c)) {
        if (err)
            *err = cr_error_dup(&c->err);
        cr_conn_close(c);
        return NULL;
    }
    return c;
}

cr_conn *cr_engine_connect_readonly(cr_engine *e, cr_error **err)
{
    return connect_readonly(e, NULL, false, err);
}

cr_conn *cr_engine_connect_readonly_after(cr_engine *e, const char *token, cr_error **err)
{
    return connect_readonly(e, token, false, err);
}

cr_conn *cr_engine_begin_readonly(cr_engine *e, cr_error **err)
{
    return connect_readonly(e, NULL, true, err);
}

/* ---- status ------------------------------------------------------------------- */

cr_status cr_engine_replica_status(cr_engine *e, int index, cr_replica_status *out)
{
    int n = cr_engine_replica_count(e);
    if (!e || !out || index < -1 || index >= n)
        return CR_ERR_ARGUMENT;
    memset(out, 0, sizeof *out);
    cr_replica_set *s = e->replicas;
    if (index < 0) {
        out->url = e->safe_url;
        out->up = true;
        out->lag = 0;
        if (s) {
            pthread_mutex_lock(&s->lock);
            out->reads = s->primary_reads;
            pthread_mutex_unlock(&s->lock);
        }
        return CR_OK;
    }
    cr_replica *r = &s->r[index];
    pthread_mutex_lock(&s->lock);
    out->url = r->engine->safe_url;
    out->up = r->down_until <= cr_now_seconds();
    out->lagging = r->lagging;
    out->lag = r->lag;
    out->reads = r->reads;
    out->skips = r->skips;
    out->failures = r->failures;
    out->waits = r->waits;
    out->wait_timeouts = r->wait_timeouts;
    memcpy(out->last_error, r->last_error, sizeof out->last_error);
    pthread_mutex_unlock(&s->lock);
    return CR_OK;
}
