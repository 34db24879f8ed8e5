/* engine.c — engines: URL to driver, options, echo logging, checkout of connections. */
#include "engine/engine.h"
#include "dialects/dialect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const cr_driver *const drivers[] = {
#ifdef CRUCIBLE_HAVE_SQLITE
    &cr_sqlite_driver,
#endif
#ifdef CRUCIBLE_HAVE_POSTGRESQL
    &cr_postgresql_driver,
#endif
#ifdef CRUCIBLE_HAVE_MYSQL
    &cr_mysql_driver,
#endif
};

static const cr_driver *find_driver(const char *backend)
{
    for (size_t i = 0; i < CR_ARRAY_LEN(drivers); i++)
        if (strcmp(drivers[i]->name, backend) == 0)
            return drivers[i];
    return NULL;
}

bool cr_backend_available(const char *backend)
{
    return backend && find_driver(backend) != NULL;
}

static void emit(cr_engine *e, const char *logger, const char *fmt, va_list ap)
{
    char small[512];
    char *line = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= 0 && (size_t)n >= sizeof small && (line = cr_malloc((size_t)n + 1)) != NULL)
        vsnprintf(line, (size_t)n + 1, fmt, again);
    else if (!line)
        line = small;                 /* out of memory: log what fits */
    va_end(again);
    if (n < 0)
        return;
    if (e->log_fn) {
        e->log_fn(e->log_userdata, line);
    } else {
        /* The format of Python's logging, which SQLAlchemy's echo uses. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        localtime_r(&ts.tv_sec, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(stderr, "%s,%03ld INFO %s %s\n", stamp, ts.tv_nsec / 1000000, logger, line);
    }
    if (line != small)
        cr_free(line);
}

void cr_engine_log(cr_engine *e, const char *fmt, ...)
{
    if (!e->echo)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(e, "crucible.engine.Engine", fmt, ap);
    va_end(ap);
}

void cr_pool_log(cr_engine *e, const char *fmt, ...)
{
    if (!e->echo_pool)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(e, e->poolclass == CR_POOL_NULL ? "crucible.pool.NullPool" : "crucible.pool.QueuePool",
         fmt, ap);
    va_end(ap);
}

/* A count option: 0 takes the default, CR_NONE is 0, CR_UNLIMITED is -1. */
static cr_status count_option(const char *name, int value, int dflt, int *out, cr_error *err)
{
    if (value == 0)
        *out = dflt;
    else if (value == CR_NONE)
        *out = 0;
    else if (value == CR_UNLIMITED)
        *out = -1;
    else if (value > 0)
        *out = value;
    else
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "%s must be positive, CR_NONE or CR_UNLIMITED (got %d)", name, value);
    return CR_OK;
}

/* A seconds option: 0 takes the default, CR_NONE is 0. */
cr_status cr_seconds_option(const char *name, double value, double dflt, double *out,
                            cr_error *err)
{
    if (value == 0)
        *out = dflt;
    else if (value == CR_NONE)
        *out = 0;
    else if (value > 0)
        *out = value;
    else
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "%s must be a positive number of seconds or CR_NONE (got %g)", name,
                            value);
    return CR_OK;
}

/* Options to the engine that are not the driver's business. */
static cr_status apply_options(cr_engine *e, const cr_engine_options *o, cr_error *err)
{
    static const cr_engine_options defaults;
    if (!o)
        o = &defaults;
    e->echo = o->echo;
    e->echo_pool = o->echo_pool;
    e->log_fn = o->log_fn;
    e->log_userdata = o->log_userdata;
    e->pre_ping = o->pool_pre_ping;
    e->lifo = o->pool_use_lifo;
    if (cr_tristate_check(o->sqlite_foreign_keys, "sqlite_foreign_keys", err))
        return err->cls;
    if (o->poolclass != CR_POOL_QUEUE && o->poolclass != CR_POOL_NULL)
        return cr_error_set(err, CR_ERR_ARGUMENT, "unknown poolclass %d", (int)o->poolclass);
    e->poolclass = o->poolclass;
    cr_status st;
    if ((st = count_option("pool_size", o->pool_size, 5, &e->pool_size, err)) ||
        (st = count_option("max_overflow", o->max_overflow, 10, &e->max_overflow, err)) ||
        (st = count_option("statement_cache_size", o->statement_cache_size, 100,
                           &e->stmt_cache_size, err)) ||
        (st = cr_seconds_option("pool_timeout", o->pool_timeout, 30, &e->pool_timeout, err)) ||
        (st = cr_seconds_option("pool_recycle", o->pool_recycle, 0, &e->pool_recycle, err)))
        return st;
    if (e->stmt_cache_size < 0)
        e->stmt_cache_size = 1 << 20;
    if (o->isolation_level) {
        const char *level = cr_isolation_canonical(o->isolation_level);
        if (!level)
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "unknown isolation level '%s' (known: SERIALIZABLE, "
                                "REPEATABLE READ, READ COMMITTED, READ UNCOMMITTED, AUTOCOMMIT)",
                                o->isolation_level);
        e->autocommit = strcmp(level, "AUTOCOMMIT") == 0;
        if (!e->autocommit)
            e->server_isolation = level;
    }
    return CR_OK;
}

/* prepared_statements: the option's tristate, else the URL's option of
 * that name, which Crucible takes out of the URL (no driver knows it). */
static cr_status statement_option(cr_engine *e, const cr_engine_options *o, cr_error *err)
{
    cr_tristate choice = o ? o->prepared_statements : CR_AUTO;
    if (cr_tristate_check(choice, "prepared_statements", err))
        return err->cls;
    char *v = cr_url_take_query(&e->url, "prepared_statements");
    bool on;
    if (v && choice.value == CR_AUTO.value) {
        if (!cr_url_parse_flag(v, &on)) {
            cr_error_set(err, CR_ERR_ARGUMENT,
                         "URL option prepared_statements must be true or false (1 or 0, yes "
                         "or no, on or off), not '%s'", v);
            cr_free(v);
            return CR_ERR_ARGUMENT;
        }
        choice = on ? CR_YES : CR_NO;
    }
    cr_free(v);
    e->unnamed_statements = choice.value == CR_NO.value;
    if (e->unnamed_statements && (!e->drv->unnamed_statements || !e->drv->begin_isolated))
        return cr_error_set(err, CR_ERR_NOT_SUPPORTED,
                            "prepared_statements=false (statements without named server-side "
                            "prepared statements, for transaction poolers) is not supported "
                            "by the %s driver; only by PostgreSQL's", e->drv->name);
    return CR_OK;
}

/* Each connection to "sqlite://" would get a database of its own. Instead
 * the engine names one in SQLite's memdb VFS, which all connections of the
 * process share, and holds one connection (opened at the first checkout:
 * no connection is made before) so that it lives as long as the engine
 * does. */
static cr_status share_memory_database(cr_engine *e, cr_error *err)
{
    static _Atomic unsigned long counter;
    const char *db = e->url.database;
    if (strcmp(e->url.backend, "sqlite") != 0 || (db && *db && strcmp(db, ":memory:") != 0))
        return CR_OK;
    char name[96];
    snprintf(name, sizeof name, "file:/crucible-memdb-%ld-%lu?vfs=memdb", (long)getpid(),
             ++counter);
    cr_status st = cr_url_set_database(&e->url, name, err);
    if (!st)
        st = cr_url_set_query(&e->url, "uri", "true", err);
    e->memory_shared = st == CR_OK;
    return st;
}

/* The shared in-memory database's keeper, opened at the first checkout. */
static cr_status keep_memory_database(cr_engine *e, cr_error *err)
{
    cr_status st = CR_OK;
    pthread_mutex_lock(&e->lock);
    if (!e->keeper)
        st = cr_pconn_open(e, &e->keeper, err);
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* Everything of the engine; its connections are all back (or it never had
 * any). */
void cr_engine_destroy(cr_engine *e)
{
    cr_replicas_free(e->replicas);
    cr_pool_close_for_free(e);
    if (e->keeper)
        cr_pconn_destroy(e, e->keeper);
    cr_pool_destroy(e);
    cr_url_free(&e->url);
    cr_free(e->safe_url);
    cr_free(e);
}

void cr_error_hand_over(cr_error *local, cr_error **err)
{
    if (err)
        *err = cr_error_dup(local);
    cr_error_clear(local);
}

static cr_engine *fail(cr_engine *e, cr_error *local, cr_error **err)
{
    cr_error_hand_over(local, err);
    if (e)
        cr_engine_destroy(e);
    return NULL;
}

cr_engine *cr_create_engine(const char *url, const cr_engine_options *options, cr_error **err)
{
    cr_error local = {0};
    if (err)
        *err = NULL;
    if (!url && !(url = getenv("DATABASE_URL"))) {
        cr_error_set(&local, CR_ERR_ARGUMENT,
                     "no database URL given and DATABASE_URL is not set");
        return fail(NULL, &local, err);
    }
    cr_engine *e = cr_calloc(1, sizeof *e);
    if (!e) {
        cr_error_oom(&local);
        return fail(NULL, &local, err);
    }
    if (cr_pool_init(e) != CR_OK) {
        cr_free(e);
        cr_error_set(&local, CR_ERR_INTERNAL, "could not create the pool's mutex");
        return fail(NULL, &local, err);
    }
    if (cr_url_parse(url, &e->url, &local) || apply_options(e, options, &local))
        return fail(e, &local, err);
    e->drv = find_driver(e->url.backend);
    if (!e->drv) {
        cr_error_set(&local, CR_ERR_NOT_SUPPORTED,
                     "backend '%s' is not available: Crucible was built without its "
                     "client library", e->url.backend);
        return fail(e, &local, err);
    }
    e->dialect = cr_dialect_find(e->drv->name);
    if (!e->server_isolation)
        e->server_isolation = e->drv->default_isolation;
    if (!(e->safe_url = cr_url_render_safe(&e->url))) {
        cr_error_oom(&local);
        return fail(e, &local, err);
    }
    if (statement_option(e, options, &local))
        return fail(e, &local, err);
    if (options && options->sqlite_foreign_keys.value != CR_AUTO.value &&
        strcmp(e->drv->name, "sqlite") == 0 &&
        cr_url_set_query(&e->url, "foreign_keys",
                         options->sqlite_foreign_keys.value == CR_YES.value ? "1" : "0", &local))
        return fail(e, &local, err);
    if ((e->drv->check_url && e->drv->check_url(&e->url, &local)) ||
        share_memory_database(e, &local))
        return fail(e, &local, err);
    cr_engine_log(e, "Engine created for %s", e->safe_url);
    return e;
}

void cr_engine_free(cr_engine *e)
{
    /* With connections still out, the last one back frees the engine. */
    if (e && cr_pool_close_for_free(e))
        cr_engine_destroy(e);
}

void cr_engine_dispose(cr_engine *e)
{
    if (e)
        cr_pool_dispose(e);
}

const char *cr_engine_backend(const cr_engine *e) { return e ? e->drv->name : NULL; }
const char *cr_engine_url(const cr_engine *e) { return e ? e->safe_url : NULL; }

cr_conn *cr_engine_connect(cr_engine *e, cr_error **err)
{
    cr_error local;
    cr_error_init(&local);   /* not the 1 KiB message: once per checkout */
    if (err)
        *err = NULL;
    cr_conn *c = NULL;
    if (!e)
        cr_error_set(&local, CR_ERR_ARGUMENT, "engine handle is NULL");
    else if (e->memory_shared && keep_memory_database(e, &local) != CR_OK)
        c = NULL;
    else if (!(c = cr_calloc(1, sizeof *c)))
        cr_error_oom(&local);
    else if (cr_pool_checkout(e, &c->pc, &local)) {
        cr_free(c);
        c = NULL;
    }
    if (!c) {
        cr_error_hand_over(&local, err);
        return NULL;
    }
    c->engine = e;
    c->isolation = e->server_isolation;
    c->autocommit = e->autocommit;
    return c;
}

cr_conn *cr_engine_begin(cr_engine *e, cr_error **err)
{
    cr_conn *c = cr_engine_connect(e, err);
    if (c && cr_conn_begin(c)) {
        if (err)
            *err = cr_error_dup(&c->err);
        cr_conn_close(c);
        return NULL;
    }
    return c;
}

/* One transaction: begin on a new connection, fn, commit or roll back,
 * close. *connected (when not NULL) says whether a connection was had. */
static cr_status transaction_once(cr_engine *e, cr_status (*fn)(cr_conn *, void *),
                                  void *userdata, cr_error **err, bool *connected)
{
    if (err)
        *err = NULL;
    if (connected)
        *connected = false;
    if (!fn) {
        cr_error local = {0};
        cr_error_set(&local, CR_ERR_ARGUMENT, "transaction callback is NULL");
        cr_error_hand_over(&local, err);
        return CR_ERR_ARGUMENT;
    }
    cr_error *begin_err = NULL;
    cr_conn *c = cr_engine_begin(e, &begin_err);
    if (!c) {
        cr_status st = begin_err ? cr_error_class(begin_err) : CR_ERR_NO_MEMORY;
        if (err)
            *err = begin_err;
        else
            cr_error_free(begin_err);
        return st;
    }
    if (connected)
        *connected = true;
    cr_status st = fn(c, userdata);
    if (st == CR_OK) {
        st = cr_conn_commit(c);
    } else {
        /* Keep the callback's error for the caller, not the rollback's. */
        if (err && c->err.cls)
            *err = cr_error_dup(&c->err);
        cr_conn_rollback(c);
    }
    if (st && err && !*err && c->err.cls)
        *err = cr_error_dup(&c->err);
    cr_conn_close(c);
    return st;
}

cr_status cr_engine_transaction(cr_engine *e, cr_status (*fn)(cr_conn *, void *),
                                void *userdata, cr_error **err)
{
    return transaction_once(e, fn, userdata, err, NULL);
}

/* When the engine last saw a connection lost (0: never). */
static double last_loss(cr_engine *e)
{
    pthread_mutex_lock(&e->lock);
    double t = e->last_loss;
    pthread_mutex_unlock(&e->lock);
    return t;
}

/* A small per-thread generator for backoff jitter: no shared state, no
 * lock, no dependence on rand()'s global seed. */
static double jitter(void)
{
    static _Thread_local uint64_t x;
    if (!x) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec ^ ((uint64_t)(uintptr_t)&x << 16) ^ 0x9E3779B97F4A7C15ULL;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (double)(x >> 11) / 9007199254740992.0;   /* [0, 1) */
}

cr_status cr_engine_run_transaction(cr_engine *e, cr_status (*fn)(cr_conn *, void *),
                                    void *userdata, const cr_retry_options *options,
                                    int *attempts, cr_error **err)
{
    int max = options && options->max_attempts > 0 ? options->max_attempts : 5;
    double backoff = options && options->initial_backoff > 0 ? options->initial_backoff : 0.01;
    double cap = options && options->max_backoff > 0 ? options->max_backoff : 1.0;
    double failover_wait = options && options->failover_wait > 0 ? options->failover_wait : 0;
    if (err)
        *err = NULL;
    for (int run = 1;;) {
        cr_error *failure = NULL;
        bool connected = false;
        cr_status st = transaction_once(e, fn, userdata, &failure, &connected);
        bool again = st != CR_OK && run < max && cr_error_is_retryable(failure);
        /* No connection while a failover may be under way (a connection was
         * lost lately): wait for the new primary, without counting a run. */
        bool waiting = st != CR_OK && !again && !connected && e && failover_wait > 0 &&
                       cr_error_class(failure) == CR_ERR_OPERATIONAL &&
                       cr_now_seconds() < last_loss(e) + failover_wait;
        if (!again && !waiting) {
            if (attempts)
                *attempts = run;
            if (err)
                *err = failure;
            else
                cr_error_free(failure);
            return st;
        }
        cr_error_free(failure);
        if (again)
            run++;
        /* Half to one and a half times the backoff, so that the transactions
         * that collided do not collide again in step. */
        double pause = backoff * (0.5 + jitter());
        struct timespec ts = {(time_t)pause, (long)((pause - (double)(time_t)pause) * 1e9)};
        nanosleep(&ts, NULL);
        backoff = backoff * 2 > cap ? cap : backoff * 2;
    }
}
