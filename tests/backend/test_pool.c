/* test_pool.c — the connection pool and the retry helper against a real SQLite,
 * PostgreSQL or MariaDB: sharing under threads, exhaustion and timeouts, LIFO
 * and FIFO, NullPool, dispose, freeing the engine under checked-out
 * connections, invalidation, recycling, pre-ping, options, echo_pool, and
 * cr_engine_run_transaction over real conflicts (SQLite busy, PostgreSQL
 * serialization failures, MariaDB deadlocks); with a server: sessions killed
 * from outside (one at a time, and at random under ORM sessions in
 * threads), a server restart (scripts/test-servers.sh restart, found
 * through CRUCIBLE_TEST_SERVERS_DIR), idle sessions dropped by the server.
 *
 *     test_pool sqlite|postgresql|mysql
 *
 * A database connection is recognised by a TEMPORARY table it holds (every
 * backend keeps those per connection) with an id handed out when it was
 * first seen: the "session id" below. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CRUCIBLE_SOURCE_DIR
#error "CRUCIBLE_SOURCE_DIR must name the source tree (scripts/test-servers.sh)"
#endif

/* ---- handles left behind by a failed test are released by its teardown ---------- */

#define MAX_TRACKED 64
static cr_engine *tracked_engines[MAX_TRACKED];
static cr_conn *tracked_conns[MAX_TRACKED];
static cr_error *tracked_errors[MAX_TRACKED];

static void track(void **slots, void *p)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (!slots[i]) {
            slots[i] = p;
            return;
        }
    print_error("too many handles tracked\n");
    fail();
}

static void untrack(void **slots, void *p)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (slots[i] == p) {
            slots[i] = NULL;
            return;
        }
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_TRACKED; i++) {
        cr_conn_close(tracked_conns[i]);
        tracked_conns[i] = NULL;
        cr_error_free(tracked_errors[i]);
        tracked_errors[i] = NULL;
    }
    for (int i = 0; i < MAX_TRACKED; i++) {
        cr_engine_free(tracked_engines[i]);
        tracked_engines[i] = NULL;
    }
    return 0;
}

static cr_engine *engine_for(const char *url, const cr_engine_options *o)
{
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, o, &err);
    if (!e) {
        print_error("create_engine: %s: %s\n", cr_error_class_name(err), cr_error_message(err));
        cr_error_free(err);
        fail();
    }
    track((void **)tracked_engines, e);
    return e;
}

static cr_engine *engine(const cr_engine_options *o) { return engine_for(backend_url, o); }

static void engine_done(cr_engine *e)
{
    untrack((void **)tracked_engines, e);
    cr_engine_free(e);
}

static cr_conn *checkout(cr_engine *e)
{
    cr_conn *c = connect_ok(e);
    track((void **)tracked_conns, c);
    return c;
}

static void checkin(cr_conn *c)
{
    untrack((void **)tracked_conns, c);
    cr_conn_close(c);
}

/* An error handed to the test, freed by forget_error or the teardown. */
static cr_error *keep_error(cr_error *err)
{
    if (err)
        track((void **)tracked_errors, err);
    return err;
}

static void forget_error(cr_error *err)
{
    untrack((void **)tracked_errors, err);
    cr_error_free(err);
}

static cr_pool_status pool_status(cr_engine *e)
{
    cr_pool_status s;
    memset(&s, 0x55, sizeof s);
    assert_int_equal(cr_engine_pool_status(e, &s), CR_OK);
    return s;
}

/* ---- which database connection is this? --------------------------------------------- */

static atomic_long sessions_made;

/* The id of the database connection behind c (see the top of the file),
 * made on its first checkout. Leaves c outside a transaction. Safe to call
 * from any thread: reports failures by status, with the detail on c. */
static cr_status try_session_id(cr_conn *c, int64_t *out)
{
    cr_status st = cr_conn_exec(c, "CREATE TEMPORARY TABLE IF NOT EXISTS cr_conn_id (id INTEGER)",
                                NULL);
    if (st)
        return st;
    cr_result *r = cr_conn_execute(c, "SELECT id FROM cr_conn_id", NULL);
    if (!r)
        return cr_error_class(cr_conn_error(c));
    cr_value v = cr_val_null();
    st = cr_result_scalar(r, &v);
    int64_t id = v.type == CR_INT ? v.v.i : -1;
    bool empty = st == CR_OK && v.type == CR_NULL;
    cr_result_free(r);
    if (st)
        return st;
    if (empty) {
        id = atomic_fetch_add(&sessions_made, 1) + 1;
        if ((st = cr_conn_exec(c, "INSERT INTO cr_conn_id (id) VALUES (:id)",
                               CR_PARAMS({"id", cr_val_int(id)}))))
            return st;
    }
    if ((st = cr_conn_commit(c)))
        return st;
    *out = id;
    return id > 0 ? CR_OK : CR_ERR_DATA;
}

static int64_t session_id(cr_conn *c)
{
    int64_t id = 0;
    ASSERT_OK(try_session_id(c, &id), cr_conn_error(c));
    return id;
}

/* The server's own id of the session: its backend pid or connection id. */
static int64_t server_session(cr_conn *c)
{
    int64_t id = scalar_int(c, is_pg() ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    return id;
}

/* Whether the server still has a session with that id. */
static bool server_has_session(cr_conn *admin, int64_t id)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             is_pg() ? "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %lld"
                     : "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %lld",
             (long long)id);
    int64_t n = scalar_int(admin, sql);
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));   /* fresh statistics next time */
    return n > 0;
}

/* Wait up to `seconds` for the server to forget the session; false if it does not. */
static bool wait_session_gone(cr_conn *admin, int64_t id, double seconds)
{
    double deadline = harness_now() + seconds;
    do {
        if (!server_has_session(admin, id))
            return true;
        harness_sleep(0.02);
    } while (harness_now() < deadline);
    return false;
}

static void kill_session(cr_conn *admin, int64_t id);

/* A connection of its own for setting up and inspecting (a NullPool engine,
 * so that it holds nothing across a server restart). */
static cr_engine *admin_engine(void)
{
    return engine(&(cr_engine_options){.poolclass = CR_POOL_NULL});
}

static bool contains(const int64_t *ids, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* What worker threads found wrong, the first failure kept for the test's
 * own thread to report (cmocka's asserts work only there). */
typedef struct {
    pthread_mutex_t lock;
    atomic_int count;
    char first[512];
} thread_failures;

static void thread_fail(thread_failures *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void thread_fail(thread_failures *f, const char *fmt, ...)
{
    pthread_mutex_lock(&f->lock);
    if (atomic_fetch_add(&f->count, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->first, sizeof f->first, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&f->lock);
}

/* Fail the test when a worker thread failed. */
static void assert_no_thread_failures(thread_failures *f)
{
    if (atomic_load(&f->count)) {
        print_error("%d failure(s); first: %s\n", atomic_load(&f->count), f->first);
        fail();
    }
}

/* ---- 1. threads share a QueuePool ------------------------------------------------------ */

#define SHARE_THREADS 16
#define SHARE_ROUNDS 40

typedef struct {
    cr_engine *e;
    pthread_mutex_t lock;
    int64_t in_use[SHARE_THREADS];   /* session ids checked out now */
    int n_in_use;
    atomic_int max_checked_out;
    atomic_long checkouts;
    thread_failures failed;
} share_state;

typedef struct {
    share_state *s;
    unsigned seed;
} share_arg;

static void *share_worker(void *arg)
{
    share_arg *a = arg;
    share_state *s = a->s;
    for (int k = 0; k < SHARE_ROUNDS && atomic_load(&s->failed.count) == 0; k++) {
        cr_error *err = NULL;
        cr_conn *c = cr_engine_connect(s->e, &err);
        if (!c) {
            thread_fail(&s->failed, "connect: %s: %s", cr_error_class_name(err), cr_error_message(err));
            cr_error_free(err);
            break;
        }
        atomic_fetch_add(&s->checkouts, 1);
        cr_pool_status ps;
        if (cr_engine_pool_status(s->e, &ps) != CR_OK) {
            thread_fail(&s->failed, "cr_engine_pool_status failed");
        } else {
            int seen = atomic_load(&s->max_checked_out);
            while (ps.checked_out > seen &&
                   !atomic_compare_exchange_weak(&s->max_checked_out, &seen, ps.checked_out))
                ;
            /* Never more than pool_size + max_overflow open at once. */
            if (ps.checked_out < 1 || ps.checked_out > 15 || ps.idle < 0 || ps.idle > 5 ||
                ps.overflow < 0 || ps.overflow > 10 || ps.checked_out + ps.idle > 15)
                thread_fail(&s->failed, "status out of bounds: checked_out %d idle %d overflow %d",
                           ps.checked_out, ps.idle, ps.overflow);
        }
        int64_t id = 0;
        if (try_session_id(c, &id) != CR_OK) {
            thread_fail(&s->failed, "session id: %s", cr_error_message(cr_conn_error(c)));
            cr_conn_close(c);
            break;
        }
        pthread_mutex_lock(&s->lock);
        bool twice = contains(s->in_use, s->n_in_use, id);
        if (!twice)
            s->in_use[s->n_in_use++] = id;
        pthread_mutex_unlock(&s->lock);
        if (twice) {
            thread_fail(&s->failed, "database connection %lld checked out by two threads at once",
                       (long long)id);
            cr_conn_close(c);
            break;
        }
        cr_result *r = cr_conn_execute(c, "SELECT :k * 2", CR_PARAMS({"k", cr_val_int(k)}));
        cr_value v;
        if (!r || cr_result_scalar(r, &v) != CR_OK || v.type != CR_INT || v.v.i != 2 * k)
            thread_fail(&s->failed, "SELECT :k * 2 failed: %s",
                       r ? cr_error_message(cr_result_error(r)) : cr_error_message(cr_conn_error(c)));
        cr_result_free(r);
        harness_sleep((double)(1 + rand_r(&a->seed) % 4) / 1000.0);
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < s->n_in_use; i++)
            if (s->in_use[i] == id) {
                s->in_use[i] = s->in_use[--s->n_in_use];
                break;
            }
        pthread_mutex_unlock(&s->lock);
        cr_conn_close(c);
    }
    return NULL;
}

static void test_threads_share_pool(void **state)
{
    (void)state;
    cr_engine *e = engine(&(cr_engine_options){.pool_size = 5, .max_overflow = 10});
    share_state s = {.e = e, .n_in_use = 0};
    pthread_mutex_init(&s.lock, NULL);
    pthread_mutex_init(&s.failed.lock, NULL);
    long made_before = atomic_load(&sessions_made);
    pthread_t t[SHARE_THREADS];
    share_arg args[SHARE_THREADS];
    int started = 0;
    for (int i = 0; i < SHARE_THREADS; i++) {
        args[i] = (share_arg){&s, (unsigned)(0x9e3779b9u * (unsigned)(i + 1))};
        if (pthread_create(&t[i], NULL, share_worker, &args[i]) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&s.lock);
    pthread_mutex_destroy(&s.failed.lock);
    assert_int_equal(started, SHARE_THREADS);
    assert_no_thread_failures(&s.failed);
    assert_int_equal(atomic_load(&s.checkouts), SHARE_THREADS * SHARE_ROUNDS);
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.pool_size, 5);
    assert_int_equal(ps.max_overflow, 10);
    assert_int_equal(ps.checked_out, 0);
    assert_true(ps.idle >= 1 && ps.idle <= 5);
    assert_int_equal(ps.overflow, 0);
    assert_int_equal(ps.checkouts, SHARE_THREADS * SHARE_ROUNDS);
    /* Usually at most 15 in all; but an overflow connection returned while
     * the pool already holds pool_size idle ones is closed, and a later rush
     * opens another (QueuePool does the same), so only "at most 15 open at
     * once" is checked exactly, above. */
    print_message("%ld connections opened for %ld checkouts\n", ps.connects, ps.checkouts);
    assert_true(ps.connects >= 6);
    /* Every connection opened was handed out, and got its session id then. */
    assert_int_equal(ps.connects, atomic_load(&sessions_made) - made_before);
    assert_int_equal(ps.timeouts, 0);
    assert_int_equal(ps.invalidations, 0);
    /* More than pool_size at once: overflow was used. */
    assert_true(atomic_load(&s.max_checked_out) > 5);
    engine_done(e);
}

/* ---- 2. exhaustion: waits and timeouts --------------------------------------------------- */

static void test_exhaustion_timeout(void **state)
{
    (void)state;
    cr_engine *e = engine(&(cr_engine_options){.pool_size = 2, .max_overflow = CR_NONE,
                                               .pool_timeout = 0.3});
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.pool_size, 2);
    assert_int_equal(ps.max_overflow, 0);
    cr_conn *a = checkout(e);
    cr_conn *b = checkout(e);
    int64_t id_b = session_id(b);
    cr_error *err = NULL;
    double t0 = harness_now();
    cr_conn *c = cr_engine_connect(e, &err);
    double waited = harness_now() - t0;
    keep_error(err);
    assert_null(c);
    assert_non_null(err);
    assert_int_equal(cr_error_class(err), CR_ERR_TIMEOUT);
    assert_string_equal(cr_status_name(CR_ERR_TIMEOUT), "TimeoutError");
    assert_true(waited >= 0.25);
    assert_true(waited < 3.0);
    const char *msg = cr_error_message(err);
    print_message("timeout message: %s\n", msg);
    assert_non_null(strstr(msg, "size 2"));
    assert_non_null(strstr(msg, "overflow 0"));
    assert_non_null(strstr(msg, "timeout"));
    assert_non_null(strstr(msg, "0.3"));
    forget_error(err);
    ps = pool_status(e);
    assert_int_equal(ps.checked_out, 2);
    assert_int_equal(ps.idle, 0);
    assert_int_equal(ps.overflow, 0);
    assert_int_equal(ps.checkouts, 2);
    assert_int_equal(ps.connects, 2);
    assert_int_equal(ps.timeouts, 1);
    assert_true(ps.waits >= 1);
    /* One back: the next checkout gets it, without waiting. */
    checkin(b);
    t0 = harness_now();
    c = checkout(e);
    assert_true(harness_now() - t0 < 0.25);
    assert_int_equal(session_id(c), id_b);
    ps = pool_status(e);
    assert_int_equal(ps.checkouts, 3);
    assert_int_equal(ps.connects, 2);
    assert_int_equal(ps.timeouts, 1);
    checkin(a);
    checkin(c);
    ps = pool_status(e);
    assert_int_equal(ps.checked_out, 0);
    assert_int_equal(ps.idle, 2);
    engine_done(e);

    /* pool_timeout CR_NONE: no waiting at all. */
    e = engine(&(cr_engine_options){.pool_size = 1, .max_overflow = CR_NONE,
                                    .pool_timeout = CR_NONE});
    a = checkout(e);
    t0 = harness_now();
    c = cr_engine_connect(e, &err);
    waited = harness_now() - t0;
    keep_error(err);
    assert_null(c);
    assert_int_equal(cr_error_class(err), CR_ERR_TIMEOUT);
    assert_true(waited < 0.2);
    forget_error(err);
    assert_int_equal(pool_status(e).timeouts, 1);
    checkin(a);
    engine_done(e);
}

typedef struct {
    cr_conn *conn;
    double delay;
} returner_arg;

static void *return_later(void *arg)
{
    returner_arg *r = arg;
    harness_sleep(r->delay);
    cr_conn_close(r->conn);
    return NULL;
}

/* A checkout waiting on a full pool is woken as soon as a connection comes back. */
static void test_waiter_woken(void **state)
{
    (void)state;
    cr_engine *e = engine(&(cr_engine_options){.pool_size = 1, .max_overflow = CR_NONE,
                                               .pool_timeout = 5});
    cr_conn *a = checkout(e);
    int64_t id_a = session_id(a);
    untrack((void **)tracked_conns, a);      /* the thread closes it */
    returner_arg ra = {a, 0.1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, return_later, &ra), 0);
    cr_error *err = NULL;
    double t0 = harness_now();
    cr_conn *c = cr_engine_connect(e, &err);
    double waited = harness_now() - t0;
    pthread_join(t, NULL);
    keep_error(err);
    if (!c) {
        print_error("connect while waiting: %s: %s\n", cr_error_class_name(err),
                    cr_error_message(err));
        fail();
    }
    track((void **)tracked_conns, c);
    assert_true(waited >= 0.05);
    assert_true(waited < 2.0);
    assert_int_equal(session_id(c), id_a);    /* the connection that came back */
    cr_pool_status ps = pool_status(e);
    assert_true(ps.waits >= 1);
    assert_int_equal(ps.timeouts, 0);
    assert_int_equal(ps.connects, 1);
    assert_int_equal(ps.checkouts, 2);
    checkin(c);
    engine_done(e);
}

/* ---- 3. LIFO and FIFO ----------------------------------------------------------------------- */

static void test_lifo_fifo(void **state)
{
    (void)state;
    for (int lifo = 0; lifo <= 1; lifo++) {
        cr_engine *e = engine(&(cr_engine_options){.pool_size = 3, .pool_use_lifo = lifo});
        cr_conn *c[3];
        int64_t id[3];
        for (int i = 0; i < 3; i++) {
            c[i] = checkout(e);
            id[i] = session_id(c[i]);
        }
        for (int i = 0; i < 3; i++)
            checkin(c[i]);                      /* A, B, C in that order */
        assert_int_equal(pool_status(e).idle, 3);
        cr_conn *next = checkout(e);
        cr_conn *after = checkout(e);
        assert_int_equal(session_id(next), lifo ? id[2] : id[0]);
        assert_int_equal(session_id(after), id[1]);
        checkin(next);
        checkin(after);
        cr_pool_status ps = pool_status(e);
        assert_int_equal(ps.connects, 3);
        assert_int_equal(ps.idle, 3);
        engine_done(e);
    }
}

/* ---- 4. NullPool ------------------------------------------------------------------------------ */

static void test_null_pool(void **state)
{
    (void)state;
    cr_engine *e = engine(&(cr_engine_options){.poolclass = CR_POOL_NULL});
    cr_conn *c = checkout(e);
    int64_t first = session_id(c);
    assert_int_equal(pool_status(e).connects, 1);
    assert_int_equal(pool_status(e).checked_out, 1);
    checkin(c);
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.idle, 0);
    assert_int_equal(ps.checked_out, 0);
    c = checkout(e);
    assert_int_not_equal(session_id(c), first);
    ps = pool_status(e);
    assert_int_equal(ps.connects, 2);
    assert_int_equal(ps.checkouts, 2);
    checkin(c);
    ps = pool_status(e);
    assert_int_equal(ps.idle, 0);
    assert_int_equal(ps.checked_out, 0);
    /* Two at once are two connections too. */
    cr_conn *a = checkout(e), *b = checkout(e);
    assert_int_not_equal(session_id(a), session_id(b));
    checkin(a);
    checkin(b);
    ps = pool_status(e);
    assert_int_equal(ps.connects, 4);
    assert_int_equal(ps.idle, 0);
    engine_done(e);
}

/* ---- 5. dispose ---------------------------------------------------------------------------------- */

static void test_dispose(void **state)
{
    (void)state;
    cr_engine *e = engine(NULL);
    cr_conn *kept = checkout(e);
    int64_t id_kept = session_id(kept);
    cr_conn *idle = checkout(e);
    int64_t id_idle = session_id(idle);
    checkin(idle);
    assert_int_equal(pool_status(e).idle, 1);
    cr_engine_dispose(e);
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.idle, 0);
    assert_int_equal(ps.checked_out, 1);
    /* A new checkout opens a new connection. */
    cr_conn *fresh = checkout(e);
    int64_t id_fresh = session_id(fresh);
    assert_int_not_equal(id_fresh, id_kept);
    assert_int_not_equal(id_fresh, id_idle);
    /* The one checked out before still works ... */
    assert_int_equal(scalar_int(kept, "SELECT 7"), 7);
    assert_int_equal(session_id(kept), id_kept);
    /* ... and is closed, not pooled, when it comes back. */
    checkin(kept);
    ps = pool_status(e);
    assert_int_equal(ps.idle, 0);
    assert_int_equal(ps.checked_out, 1);
    checkin(fresh);
    ps = pool_status(e);
    assert_int_equal(ps.idle, 1);           /* opened after dispose: pooled */
    assert_int_equal(ps.connects, 3);
    cr_conn *again = checkout(e);
    assert_int_equal(session_id(again), id_fresh);
    checkin(again);
    /* Disposing twice, and disposing an empty pool, are harmless. */
    cr_engine_dispose(e);
    cr_engine_dispose(e);
    assert_int_equal(pool_status(e).idle, 0);
    cr_engine_dispose(NULL);
    engine_done(e);
}

/* ---- 6. freeing the engine under checked-out connections ----------------------------------------- */

static void test_free_engine_with_checkouts(void **state)
{
    (void)state;
    cr_engine *e = engine(NULL);
    cr_conn *pooled = checkout(e);
    int64_t id_pooled = session_id(pooled);
    checkin(pooled);                           /* one idle */
    cr_conn *a = checkout(e);
    assert_int_equal(session_id(a), id_pooled);
    cr_conn *b = checkout(e);
    int64_t id_b = session_id(b);
    cr_result *open = cr_conn_execute(b, "SELECT 1 UNION ALL SELECT 2", NULL);
    assert_non_null(open);
    engine_done(e);                            /* with two connections out */
    /* A result open at that moment reads on; both connections still run
     * statements and transactions. */
    const cr_row *row = cr_result_fetchone(open);
    bool got_row = row != NULL;
    cr_result_free(open);
    assert_true(got_row);
    assert_int_equal(scalar_int(a, "SELECT 41 + 1"), 42);
    ASSERT_OK(cr_conn_commit(a), cr_conn_error(a));
    assert_int_equal(session_id(b), id_b);
    ASSERT_OK(cr_conn_begin(b), cr_conn_error(b));
    assert_int_equal(scalar_int(b, "SELECT 5"), 5);
    ASSERT_OK(cr_conn_rollback(b), cr_conn_error(b));
    checkin(a);
    /* The last one out still works after its sibling is gone. */
    assert_int_equal(scalar_int(b, "SELECT 6"), 6);
    checkin(b);                                /* frees what is left (ASan: no leak) */

    /* The last connection of a freed engine invalidated, then closed. */
    e = engine(NULL);
    a = checkout(e);
    engine_done(e);
    assert_int_equal(scalar_int(a, "SELECT 8"), 8);
    cr_conn_invalidate(a);                     /* the engine goes here ... */
    assert_int_equal(cr_conn_exec(a, "SELECT 1", NULL), CR_ERR_RESOURCE_CLOSED);
    checkin(a);                                /* ... and this frees only the handle */
}

/* ---- 7. invalidate ----------------------------------------------------------------------------------- */

static void test_invalidate(void **state)
{
    (void)state;
    cr_engine *e = engine(NULL);
    cr_conn *c = checkout(e);
    create_table(c, "cr_pool_inv", "id INTEGER PRIMARY KEY");
    int64_t id = session_id(c);
    exec_ok(c, "INSERT INTO cr_pool_inv (id) VALUES (1)");   /* in a transaction now */
    cr_result *open = cr_conn_execute(c, "SELECT 1 UNION ALL SELECT 2", NULL);
    assert_non_null(open);
    cr_conn_invalidate(c);
    /* A result open on it is closed with it. */
    const cr_row *row = cr_result_fetchone(open);
    cr_status open_st = cr_error_class(cr_result_error(open));
    cr_result_free(open);
    assert_null(row);
    assert_int_equal(open_st, CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_conn_exec(c, "SELECT 1", NULL), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_RESOURCE_CLOSED);
    assert_null(cr_conn_execute(c, "SELECT 1", NULL));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_conn_begin(c), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_conn_commit(c), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_conn_begin_nested(c), CR_ERR_RESOURCE_CLOSED);
    cr_conn_invalidate(c);                      /* twice: harmless */
    checkin(c);
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.checked_out, 0);
    assert_int_equal(ps.idle, 0);               /* closed, not pooled */
    assert_int_equal(ps.invalidations, 1);
    c = checkout(e);
    assert_int_not_equal(session_id(c), id);
    assert_int_equal(pool_status(e).connects, 2);
    /* Its transaction went with it. */
    assert_int_equal(scalar_int(c, "SELECT COUNT(*) FROM cr_pool_inv"), 0);
    drop_table(c, "cr_pool_inv");
    checkin(c);
    assert_int_equal(pool_status(e).idle, 1);
    cr_conn_invalidate(NULL);
    engine_done(e);
}

/* ---- pre-ping on a live connection, unlimited sizes, options, echo_pool ----------------------------- */

static void test_pre_ping_keeps_live_connection(void **state)
{
    (void)state;
    cr_engine *e = engine(&(cr_engine_options){.pool_pre_ping = true});
    cr_conn *c = checkout(e);
    int64_t id = session_id(c);
    checkin(c);
    for (int i = 0; i < 3; i++) {
        c = checkout(e);                        /* pinged, alive: the same one */
        assert_int_equal(session_id(c), id);
        assert_int_equal(scalar_int(c, "SELECT 2"), 2);
        checkin(c);
    }
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.connects, 1);
    assert_int_equal(ps.checkouts, 4);
    assert_int_equal(ps.invalidations, 0);
    assert_int_equal(ps.recycles, 0);
    engine_done(e);
}

static void test_unlimited_sizes(void **state)
{
    (void)state;
    enum { N = 12 };
    cr_conn *c[N];
    /* max_overflow CR_UNLIMITED: any number open; only pool_size kept. */
    cr_engine *e = engine(&(cr_engine_options){.pool_size = 1, .max_overflow = CR_UNLIMITED,
                                               .pool_timeout = CR_NONE});
    for (int i = 0; i < N; i++)
        c[i] = checkout(e);
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.pool_size, 1);
    assert_int_equal(ps.max_overflow, -1);
    assert_int_equal(ps.checked_out, N);
    assert_int_equal(ps.overflow, N - 1);
    assert_int_equal(ps.waits, 0);
    for (int i = 0; i < N; i++)
        checkin(c[i]);
    ps = pool_status(e);
    assert_int_equal(ps.idle, 1);
    assert_int_equal(ps.overflow, 0);
    assert_int_equal(ps.connects, N);
    engine_done(e);
    /* pool_size CR_UNLIMITED: every connection returned is kept. */
    e = engine(&(cr_engine_options){.pool_size = CR_UNLIMITED, .max_overflow = CR_NONE});
    for (int i = 0; i < N; i++)
        c[i] = checkout(e);
    ps = pool_status(e);
    assert_int_equal(ps.pool_size, -1);
    assert_int_equal(ps.max_overflow, 0);
    assert_int_equal(ps.overflow, 0);
    for (int i = 0; i < N; i++)
        checkin(c[i]);
    ps = pool_status(e);
    assert_int_equal(ps.idle, N);
    assert_int_equal(ps.checked_out, 0);
    engine_done(e);
}

static void expect_bad_options(const cr_engine_options *o, const char *mentions)
{
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(backend_url, o, &err);
    if (e) {
        cr_engine_free(e);
        print_error("options with a bad %s were accepted\n", mentions);
        fail();
    }
    keep_error(err);
    assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(err), mentions));
    forget_error(err);
}

static void test_pool_options_checked(void **state)
{
    (void)state;
    expect_bad_options(&(cr_engine_options){.pool_size = -5}, "pool_size");
    expect_bad_options(&(cr_engine_options){.max_overflow = -7}, "max_overflow");
    expect_bad_options(&(cr_engine_options){.pool_timeout = -3}, "pool_timeout");
    expect_bad_options(&(cr_engine_options){.pool_timeout = NAN}, "pool_timeout");
    expect_bad_options(&(cr_engine_options){.pool_recycle = -2}, "pool_recycle");
    expect_bad_options(&(cr_engine_options){.poolclass = (cr_pool_class)7}, "poolclass");
    cr_pool_status ps;
    assert_int_equal(cr_engine_pool_status(NULL, &ps), CR_ERR_ARGUMENT);
    cr_engine *e = engine(NULL);
    assert_int_equal(cr_engine_pool_status(e, NULL), CR_ERR_ARGUMENT);
    /* The defaults: QueuePool of 5 + 10. */
    ps = pool_status(e);
    assert_int_equal(ps.pool_size, 5);
    assert_int_equal(ps.max_overflow, 10);
    assert_int_equal(ps.checked_out + ps.idle + ps.overflow, 0);
    assert_int_equal(ps.checkouts + ps.connects + ps.waits + ps.timeouts + ps.invalidations +
                     ps.recycles, 0);
    engine_done(e);
}

/* A pool_timeout too large to be a deadline (infinity, 1e300) is refused or
 * waits like any other: woken when a connection comes back, without
 * spinning. Run in a child process, so that a checkout that never returns
 * (or holds the pool's lock for good) fails the test instead of hanging the
 * suite. The child's exit status says what happened. */
enum { UNB_OK, UNB_CREATE, UNB_CONNECT, UNB_TIMED_OUT, UNB_TOO_SOON, UNB_SPUN, UNB_THREAD };

static int unbounded_child(double timeout)
{
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(backend_url,
                                    &(cr_engine_options){.pool_size = 1,
                                                         .max_overflow = CR_NONE,
                                                         .pool_timeout = timeout},
                                    &err);
    if (!e) {
        int rc = cr_error_class(err) == CR_ERR_ARGUMENT ? UNB_OK : UNB_CREATE;
        fprintf(stderr, "pool_timeout %g refused: %s\n", timeout, cr_error_message(err));
        cr_error_free(err);
        return rc;
    }
    cr_conn *a = cr_engine_connect(e, &err);
    if (!a) {
        cr_error_free(err);
        cr_engine_free(e);
        return UNB_CONNECT;
    }
    returner_arg ra = {a, 0.3};
    pthread_t t;
    if (pthread_create(&t, NULL, return_later, &ra) != 0) {
        cr_conn_close(a);
        cr_engine_free(e);
        return UNB_THREAD;
    }
    clock_t cpu0 = clock();
    double t0 = harness_now();
    cr_conn *c = cr_engine_connect(e, &err);
    double waited = harness_now() - t0;
    double cpu = (double)(clock() - cpu0) / CLOCKS_PER_SEC;
    pthread_join(t, NULL);
    int rc = UNB_OK;
    if (!c) {
        fprintf(stderr, "pool_timeout %g: checkout failed after %.3f s: %s: %s\n", timeout,
                waited, cr_error_class_name(err), cr_error_message(err));
        rc = UNB_TIMED_OUT;
    } else if (waited < 0.2) {
        rc = UNB_TOO_SOON;
    } else if (cpu > 0.15) {
        fprintf(stderr, "pool_timeout %g: waited %.3f s using %.3f s of CPU\n", timeout,
                waited, cpu);
        rc = UNB_SPUN;
    }
    cr_error_free(err);
    cr_conn_close(c);
    cr_engine_free(e);
    return rc;
}

static void test_unbounded_pool_timeout(void **state)
{
    (void)state;
    const double huge[] = {INFINITY, 1e300};
    int failures = 0;
    for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
        /* The verdict comes back through a pipe: a sanitizer may override
         * the child's exit status. */
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            unsigned char verdict = (unsigned char)unbounded_child(huge[k]);
            ssize_t w = write(fds[1], &verdict, 1);
            _exit(w == 1 ? 0 : 1);
        }
        close(fds[1]);
        int status = 0;
        double deadline = harness_now() + 5;
        pid_t done;
        while ((done = waitpid(pid, &status, WNOHANG)) == 0 && harness_now() < deadline)
            harness_sleep(0.05);
        if (done == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            close(fds[0]);
            print_error("pool_timeout %g: a checkout waiting for a connection that came back "
                        "after 0.3 s had not returned 5 s later (killed)\n", huge[k]);
            failures++;
            continue;
        }
        unsigned char verdict = 0;
        int rc = read(fds[0], &verdict, 1) == 1 ? verdict : 100;
        close(fds[0]);
        if (rc != UNB_OK) {
            print_error("pool_timeout %g: %s\n", huge[k],
                        rc == UNB_TIMED_OUT ? "the checkout failed instead of waiting"
                        : rc == UNB_TOO_SOON ? "the checkout returned too soon"
                        : rc == UNB_SPUN ? "the checkout spun on the CPU while waiting"
                                         : "the child failed");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

typedef struct {
    char lines[64][256];
    int n;
} log_capture;

static void capture(void *userdata, const char *line)
{
    log_capture *cap = userdata;
    if (cap->n < 64)
        snprintf(cap->lines[cap->n++], sizeof cap->lines[0], "%s", line);
}

static int count_lines(const log_capture *cap, const char *needle)
{
    int n = 0;
    for (int i = 0; i < cap->n; i++)
        n += strstr(cap->lines[i], needle) != NULL;
    return n;
}

static void test_echo_pool(void **state)
{
    (void)state;
    log_capture cap = {.n = 0};
    cr_engine *e = engine(&(cr_engine_options){.echo_pool = true, .log_fn = capture,
                                               .log_userdata = &cap});
    cr_conn *c = checkout(e);
    assert_int_equal(scalar_int(c, "SELECT 1"), 1);
    checkin(c);
    for (int i = 0; i < cap.n; i++)
        print_message("echo_pool: %s\n", cap.lines[i]);
    assert_int_equal(count_lines(&cap, "checked out"), 1);
    assert_int_equal(count_lines(&cap, "returned"), 1);
    assert_int_equal(count_lines(&cap, "SELECT"), 0);   /* statements are echo's */
    engine_done(e);
}

/* ---- failed connects give their slot back ------------------------------------------------------------ */

/* The backend's URL pointed at nothing: a closed port, or a directory that
 * does not exist. */
static void unreachable_url(char *buf, size_t size)
{
    if (is_sqlite()) {
        snprintf(buf, size, "sqlite:////nonexistent-crucible-dir/x/y.db");
        return;
    }
    const char *at = strrchr(backend_url, '@');
    assert_non_null(at);
    const char *colon = strchr(at, ':');
    const char *slash = strchr(at, '/');
    assert_non_null(colon);
    assert_non_null(slash);
    snprintf(buf, size, "%.*s:1%s", (int)(colon - backend_url), backend_url, slash);
}

static void test_failed_connect_frees_slot(void **state)
{
    (void)state;
    char url[1024];
    unreachable_url(url, sizeof url);
    /* One slot, no waiting: a failed connect that kept its slot would turn
     * the next attempt into a TimeoutError. */
    cr_engine *e = engine_for(url, &(cr_engine_options){.pool_size = 1, .max_overflow = CR_NONE,
                                                        .pool_timeout = CR_NONE});
    for (int i = 0; i < 3; i++) {
        cr_error *err = NULL;
        cr_conn *c = cr_engine_connect(e, &err);
        keep_error(err);
        if (c)
            track((void **)tracked_conns, c);
        assert_null(c);
        assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
        forget_error(err);
    }
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.checked_out, 0);
    assert_int_equal(ps.idle, 0);
    assert_int_equal(ps.overflow, 0);
    assert_int_equal(ps.checkouts, 0);
    assert_int_equal(ps.connects, 0);
    assert_int_equal(ps.timeouts, 0);
    engine_done(e);
}

/* PostgreSQL: the pre-ping finds the connection dead and the new connect is
 * refused (CONNECTION LIMIT 0): the checkout fails with the connect's error
 * and the pool is left consistent, ready once connects work again. */
static void test_pre_ping_reconnect_fails(void **state)
{
    (void)state;
    cr_engine *ae = admin_engine();
    cr_conn *admin = checkout(ae);
    char dbname[128], refuse[256], allow[256];
    cr_result *r = cr_conn_execute(admin, "SELECT current_database()", NULL);
    assert_non_null(r);
    cr_value v = cr_val_null();
    ASSERT_OK(cr_result_scalar(r, &v), cr_result_error(r));
    assert_int_equal(v.type, CR_TEXT);
    snprintf(dbname, sizeof dbname, "%s", v.v.s.ptr);
    cr_result_free(r);
    assert_null(strchr(dbname, '"'));
    snprintf(refuse, sizeof refuse, "ALTER DATABASE \"%s\" CONNECTION LIMIT 0", dbname);
    snprintf(allow, sizeof allow, "ALTER DATABASE \"%s\" CONNECTION LIMIT -1", dbname);
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));
    cr_engine *e = engine(&(cr_engine_options){.pool_pre_ping = true, .pool_size = 1,
                                               .max_overflow = CR_NONE,
                                               .pool_timeout = CR_NONE});
    cr_conn *c = checkout(e);
    int64_t id = session_id(c);
    int64_t pid = server_session(c);
    checkin(c);
    kill_session(admin, pid);
    exec_ok(admin, refuse);
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));
    cr_error *err = NULL;
    c = cr_engine_connect(e, &err);
    keep_error(err);
    if (c)
        track((void **)tracked_conns, c);
    cr_pool_status ps = pool_status(e);
    /* Let connects work again before judging. */
    exec_ok(admin, allow);
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));
    assert_null(c);
    print_message("checkout while connects are refused: %s: %s\n", cr_error_class_name(err),
                  cr_error_message(err));
    assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
    forget_error(err);
    assert_int_equal(ps.checked_out, 0);
    assert_int_equal(ps.idle, 0);
    assert_true(ps.invalidations >= 1);
    /* The slot is free again. */
    c = checkout(e);
    assert_int_not_equal(session_id(c), id);
    checkin(c);
    ps = pool_status(e);
    assert_int_equal(ps.idle, 1);
    assert_int_equal(ps.connects, 2);
    assert_int_equal(ps.timeouts, 0);
    engine_done(e);
    checkin(admin);
    engine_done(ae);
}

/* ---- SQLite in memory: one database whatever the pool ------------------------------------------------------ */

static void test_sqlite_memory_any_pool(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        cr_engine *e = engine_for("sqlite://", &(cr_engine_options){
            .poolclass = k ? CR_POOL_NULL : CR_POOL_QUEUE, .pool_size = 1,
            .max_overflow = CR_NONE});
        cr_conn *a = checkout(e);
        exec_ok(a, "CREATE TABLE mem (x INTEGER)");
        exec_ok(a, "INSERT INTO mem VALUES (5)");
        ASSERT_OK(cr_conn_commit(a), cr_conn_error(a));
        checkin(a);
        cr_engine_dispose(e);                  /* no connection left but the engine's own */
        cr_conn *b = checkout(e);
        assert_int_equal(scalar_int(b, "SELECT x FROM mem"), 5);
        checkin(b);
        engine_done(e);
    }
}

/* ---- 8. recycle ---------------------------------------------------------------------------------------- */

static void test_recycle(void **state)
{
    (void)state;
    cr_engine *e = engine(&(cr_engine_options){.pool_recycle = 1.0});
    cr_conn *c = checkout(e);
    int64_t id = session_id(c);
    checkin(c);
    c = checkout(e);                            /* young: reused */
    assert_int_equal(session_id(c), id);
    checkin(c);
    assert_int_equal(pool_status(e).recycles, 0);
    harness_sleep(1.2);
    c = checkout(e);                            /* old: replaced */
    assert_int_not_equal(session_id(c), id);
    checkin(c);
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.recycles, 1);
    assert_int_equal(ps.connects, 2);
    assert_int_equal(ps.checkouts, 3);
    assert_int_equal(ps.idle, 1);
    engine_done(e);
}

/* ---- 12 (every backend). the retry helper does not retry other errors ------------------------------------ */

typedef struct {
    atomic_int calls;
    bool duplicate;
} once_arg;

static cr_status insert_row(cr_conn *c, void *userdata)
{
    once_arg *a = userdata;
    atomic_fetch_add(&a->calls, 1);
    return cr_conn_exec(c, "INSERT INTO cr_pool_once (id) VALUES (:id)",
                        CR_PARAMS({"id", cr_val_int(a->duplicate ? 1 : 2)}));
}

static void test_retry_not_for_other_errors(void **state)
{
    (void)state;
    cr_engine *e = engine(NULL);
    cr_conn *c = checkout(e);
    create_table(c, "cr_pool_once", "id INTEGER PRIMARY KEY");
    exec_ok(c, "INSERT INTO cr_pool_once (id) VALUES (1)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    checkin(c);

    /* IntegrityError: not retryable, one run only. */
    once_arg a = {.duplicate = true};
    int attempts = -1;
    cr_error *err = NULL;
    cr_status st = cr_engine_run_transaction(e, insert_row, &a, NULL, &attempts, &err);
    keep_error(err);
    assert_int_equal(st, CR_ERR_INTEGRITY);
    assert_int_equal(attempts, 1);
    assert_int_equal(atomic_load(&a.calls), 1);
    assert_non_null(err);
    assert_int_equal(cr_error_class(err), CR_ERR_INTEGRITY);
    assert_false(cr_error_is_retryable(err));
    assert_false(cr_error_is_disconnect(err));
    forget_error(err);
    err = NULL;
    /* Even with many attempts allowed. */
    a = (once_arg){.duplicate = true};
    st = cr_engine_run_transaction(e, insert_row, &a,
                                   &(cr_retry_options){.max_attempts = 10}, &attempts, NULL);
    assert_int_equal(st, CR_ERR_INTEGRITY);
    assert_int_equal(attempts, 1);
    assert_int_equal(atomic_load(&a.calls), 1);
    /* Success the first time: one run, committed. */
    a = (once_arg){.duplicate = false};
    st = cr_engine_run_transaction(e, insert_row, &a, NULL, &attempts, &err);
    keep_error(err);
    assert_int_equal(st, CR_OK);
    assert_null(err);
    assert_int_equal(attempts, 1);
    assert_int_equal(atomic_load(&a.calls), 1);
    /* Nothing checked out afterwards. */
    assert_int_equal(pool_status(e).checked_out, 0);
    c = checkout(e);
    assert_int_equal(scalar_int(c, "SELECT COUNT(*) FROM cr_pool_once"), 2);
    drop_table(c, "cr_pool_once");
    checkin(c);
    engine_done(e);
}

/* ---- 9. a session killed from outside ------------------------------------------------------------------ */

static void kill_session(cr_conn *admin, int64_t id)
{
    char sql[128];
    if (is_pg()) {
        /* With a timeout, it waits for the backend to be gone (PostgreSQL 14+). */
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld, 5000)", (long long)id);
        assert_int_equal(scalar_int(admin, sql), 1);
    } else {
        snprintf(sql, sizeof sql, "KILL CONNECTION %lld", (long long)id);
        exec_ok(admin, sql);
    }
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));
    assert_true(wait_session_gone(admin, id, 5.0));
}

/* The next statement on a connection whose server is gone fails as a
 * disconnect (OperationalError). */
static void expect_disconnect(cr_conn *c, const char *sql)
{
    cr_status st = cr_conn_exec(c, sql, NULL);
    const cr_error *err = cr_conn_error(c);
    print_message("after the disconnect: %s -> %s [%s] %ld: %s\n", sql, cr_status_name(st),
                  cr_error_sqlstate(err), cr_error_code(err), cr_error_message(err));
    assert_int_equal(st, CR_ERR_OPERATIONAL);
    assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
    assert_true(cr_error_is_disconnect(err));
    /* In a transaction, before its COMMIT: nothing of it was committed. */
    assert_true(cr_error_is_retryable(err));
    assert_false(cr_error_is_commit_unknown(err));
}

/* Check out n connections at once from e: none fails, each works, none is one of old[]. */
static void expect_new_sessions(cr_engine *e, int n, const int64_t *old, int nold)
{
    cr_conn *c[8];
    assert_true(n <= 8);
    for (int i = 0; i < n; i++) {
        cr_error *err = NULL;
        c[i] = cr_engine_connect(e, &err);
        if (!c[i]) {
            print_error("checkout %d after the disconnect: %s: %s\n", i,
                        cr_error_class_name(err), cr_error_message(err));
            cr_error_free(err);
            fail();
        }
        track((void **)tracked_conns, c[i]);
        int64_t id = 0;
        if (try_session_id(c[i], &id) != CR_OK) {
            print_error("checkout %d after the disconnect: first statement failed: %s: %s\n", i,
                        cr_error_class_name(cr_conn_error(c[i])),
                        cr_error_message(cr_conn_error(c[i])));
            fail();
        }
        if (contains(old, nold, id)) {
            print_error("checkout %d after the disconnect returned session %lld, opened "
                        "before it\n", i, (long long)id);
            fail();
        }
        assert_int_equal(scalar_int(c[i], "SELECT 3"), 3);
    }
    for (int i = 0; i < n; i++)
        checkin(c[i]);
}

static void test_killed_session(void **state)
{
    (void)state;
    cr_engine *ae = admin_engine();
    cr_conn *admin = checkout(ae);
    create_table(admin, "cr_pool_kill", "id INTEGER PRIMARY KEY");

    cr_engine *e = engine(&(cr_engine_options){.pool_size = 5});
    int64_t old[4];
    cr_conn *x = checkout(e);
    old[0] = session_id(x);
    cr_conn *others[3];
    for (int i = 0; i < 3; i++) {
        others[i] = checkout(e);
        old[i + 1] = session_id(others[i]);
    }
    for (int i = 0; i < 3; i++)
        checkin(others[i]);
    assert_int_equal(pool_status(e).idle, 3);

    ASSERT_OK(cr_conn_set_isolation_level(x, "SERIALIZABLE"), cr_conn_error(x));
    int64_t pid = server_session(x);
    exec_ok(x, "INSERT INTO cr_pool_kill (id) VALUES (1)");
    exec_ok(x, "INSERT INTO cr_pool_kill (id) VALUES (2)");
    exec_ok(x, "INSERT INTO cr_pool_kill (id) VALUES (3)");
    ASSERT_OK(cr_conn_commit(x), cr_conn_error(x));
    exec_ok(x, "INSERT INTO cr_pool_kill (id) VALUES (4)");
    ASSERT_OK(cr_conn_begin_nested(x), cr_conn_error(x));
    exec_ok(x, "INSERT INTO cr_pool_kill (id) VALUES (5)");
    assert_true(cr_conn_in_transaction(x));

    kill_session(admin, pid);
    expect_disconnect(x, "INSERT INTO cr_pool_kill (id) VALUES (6)");
    /* Until the transaction is rolled back, statements are refused (not
     * sent over the lost connection), still as a retryable disconnect. */
    assert_int_equal(cr_conn_exec(x, "INSERT INTO cr_pool_kill (id) VALUES (7)", NULL),
                     CR_ERR_OPERATIONAL);
    print_message("the next statement: %s\n", cr_error_message(cr_conn_error(x)));
    assert_true(cr_error_is_disconnect(cr_conn_error(x)));
    assert_true(cr_error_is_retryable(cr_conn_error(x)));
    assert_non_null(strstr(cr_error_message(cr_conn_error(x)), "cr_conn_rollback"));
    /* The server rolled the transaction back when it lost the connection:
     * a rollback now ends it here too, and succeeds (SQLAlchemy's rollback
     * of an invalidated connection), so the usual "on error, roll back"
     * does not replace the disconnect with an error of its own. A savepoint
     * is rolled back the same way. */
    assert_int_equal(cr_conn_savepoint_depth(x), 1);
    ASSERT_OK(cr_conn_rollback_savepoint(x), cr_conn_error(x));
    assert_int_equal(cr_conn_savepoint_depth(x), 0);
    assert_true(cr_conn_in_transaction(x));
    ASSERT_OK(cr_conn_rollback(x), cr_conn_error(x));
    assert_false(cr_conn_in_transaction(x));
    assert_null(cr_conn_error(x));
    /* Then the handle works again, on a new database connection with the
     * handle's isolation level (SQLAlchemy's Connection reconnects at its
     * next use once invalidated). */
    int64_t again = server_session(x);
    assert_true(again != pid);
    cr_result *r = cr_conn_execute(x, is_pg() ? "SHOW transaction_isolation"
                                              : "SELECT @@tx_isolation", NULL);
    assert_non_null(r);
    cr_value level = cr_val_null();
    ASSERT_OK(cr_result_scalar(r, &level), cr_result_error(r));
    assert_int_equal(level.type, CR_TEXT);
    assert_true(strncasecmp(level.v.s.ptr, "serializable", level.v.s.len) == 0);
    cr_result_free(r);
    ASSERT_OK(cr_conn_rollback(x), cr_conn_error(x));
    checkin(x);
    cr_pool_status ps = pool_status(e);
    assert_int_equal(ps.checked_out, 0);
    assert_true(ps.invalidations >= 1);

    /* Killed with nothing sent since: the ROLLBACK is what meets the loss,
     * and the rollback succeeds all the same (the server rolled back). */
    x = checkout(e);
    pid = server_session(x);
    exec_ok(x, "INSERT INTO cr_pool_kill (id) VALUES (8)");
    ASSERT_OK(cr_conn_begin_nested(x), cr_conn_error(x));
    kill_session(admin, pid);
    ASSERT_OK(cr_conn_rollback_savepoint(x), cr_conn_error(x));
    ASSERT_OK(cr_conn_rollback(x), cr_conn_error(x));
    assert_false(cr_conn_in_transaction(x));
    assert_true(server_session(x) != pid);
    checkin(x);

    /* The committed rows are there, the uncommitted ones are not. */
    assert_int_equal(scalar_int(admin, "SELECT COUNT(*) FROM cr_pool_kill"), 3);
    assert_int_equal(scalar_int(admin, "SELECT SUM(id) FROM cr_pool_kill"), 6);
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));

    /* The engine carries on, with connections opened after the disconnect:
     * the idle ones from before were invalidated with it. */
    expect_new_sessions(e, 4, old, 4);
    expect_new_sessions(e, 4, old, 4);
    ps = pool_status(e);
    assert_int_equal(ps.checked_out, 0);
    assert_true(ps.invalidations >= 1);
    engine_done(e);

    drop_table(admin, "cr_pool_kill");
    checkin(admin);
    engine_done(ae);
}

/* ---- 9a. a session whose connection is killed ------------------------------------------------------ */

#define KILLED_FIELDS(F) F(id, INTEGER, .primary_key = true) F(name, STRING(20))
CR_MODEL(Killed, "cr_pool_killed", KILLED_FIELDS)

/* The server's id of the connection the session works on (it begins the
 * session's transaction, as any statement does). */
static int64_t session_server_id(cr_session *s)
{
    cr_conn *c = cr_session_connection(s);
    assert_non_null(c);
    return scalar_int(c, is_pg() ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()");
}

static void expect_session_disconnect(cr_session *s, cr_status st)
{
    const cr_error *err = cr_session_error(s);
    print_message("after the disconnect: %s: %s\n", cr_status_name(st), cr_error_message(err));
    assert_int_equal(st, CR_ERR_OPERATIONAL);
    assert_true(cr_error_is_disconnect(err));
}

static Killed *killed_new(int64_t id, const char *name)
{
    Killed *k = cr_new(Killed);
    assert_non_null(k);
    k->id = id;
    assert_int_equal(cr_object_set_text(k, offsetof(Killed, name), name), CR_OK);
    return k;
}

/* How many objects a query of the session finds: -1 when it fails. */
static long killed_count(cr_session *s)
{
    cr_stmt *q = cr_session_query(s, Killed);
    assert_non_null(q);
    cr_objects *all = cr_session_all(s, q);
    long n = all ? (long)all->count : -1;
    cr_objects_free(all);
    cr_stmt_free(q);
    return n;
}

/* The ORM over a connection the server kills: the failing call reports the
 * disconnect, cr_session_rollback then succeeds (the server has rolled back
 * already) and restores the session as for any rollback, and the session
 * carries on with a new connection; what was committed is all there. */
static void test_session_killed(void **state)
{
    (void)state;
    cr_engine *ae = admin_engine();
    cr_conn *admin = checkout(ae);
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    ASSERT_OK(Killed_define(md), cr_metadata_error(md));
    cr_engine *e = engine(NULL);
    assert_int_equal(cr_metadata_drop_all_engine(md, e, true, NULL), CR_OK);
    assert_int_equal(cr_metadata_create_all_engine(md, e, true, NULL), CR_OK);
    cr_session *s = cr_session_new(e, NULL);
    assert_non_null(s);
    Killed *a = killed_new(1, "a");
    ASSERT_OK(cr_session_add(s, a), cr_session_error(s));
    ASSERT_OK(cr_session_commit(s), cr_session_error(s));

    /* Killed after a flush: the commit fails, the rollback takes the
     * flushed object out of the session again (it was new in it). */
    Killed *b = killed_new(2, "b");
    ASSERT_OK(cr_session_add(s, b), cr_session_error(s));
    ASSERT_OK(cr_session_flush(s), cr_session_error(s));
    assert_int_equal(cr_object_state_of(b), CR_STATE_PERSISTENT);
    kill_session(admin, session_server_id(s));
    expect_session_disconnect(s, cr_session_commit(s));
    ASSERT_OK(cr_session_rollback(s), cr_session_error(s));
    assert_int_equal(cr_object_state_of(b), CR_STATE_TRANSIENT);
    assert_int_equal(cr_object_state_of(a), CR_STATE_PERSISTENT);
    ASSERT_OK(cr_session_add(s, b), cr_session_error(s));
    ASSERT_OK(cr_session_commit(s), cr_session_error(s));

    /* Killed before a query: the query fails, the rollback succeeds, the
     * same query then runs on a new connection. */
    kill_session(admin, session_server_id(s));
    assert_int_equal(killed_count(s), -1);
    expect_session_disconnect(s, cr_error_class(cr_session_error(s)));
    ASSERT_OK(cr_session_rollback(s), cr_session_error(s));
    assert_int_equal(killed_count(s), 2);

    /* Killed with nothing sent since: the rollback is what meets the lost
     * connection, and succeeds all the same; the session carries on. */
    assert_int_equal(cr_object_state_of(a), CR_STATE_PERSISTENT);
    kill_session(admin, session_server_id(s));
    ASSERT_OK(cr_session_rollback(s), cr_session_error(s));
    assert_int_equal(killed_count(s), 2);

    /* Killed before the flush of a change: the commit fails, the rollback
     * expires the object, which reloads the committed name. */
    a->name[0] = 'A';
    kill_session(admin, session_server_id(s));
    expect_session_disconnect(s, cr_session_commit(s));
    ASSERT_OK(cr_session_rollback(s), cr_session_error(s));
    ASSERT_OK(cr_session_refresh(s, a), cr_session_error(s));
    assert_string_equal(a->name, "a");
    ASSERT_OK(cr_session_commit(s), cr_session_error(s));

    assert_int_equal(scalar_int(admin, "SELECT COUNT(*) FROM cr_pool_killed"), 2);
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));
    cr_session_free(s);
    assert_int_equal(cr_metadata_drop_all_engine(md, e, true, NULL), CR_OK);
    cr_metadata_free(md);
    engine_done(e);
    checkin(admin);
    engine_done(ae);
}

/* ---- 9c. ORM sessions in threads under faults ------------------------------------------------------- */

/* Worker threads each make users with posts and change them, in a session
 * per unit of work. On a server a killer thread terminates the server
 * connection of a random worker every few milliseconds; on SQLite the
 * workers' transactions contend for the one database file. Every call that
 * fails must fail as a lost connection or a conflict: retryable before the
 * COMMIT was sent (then cr_session_rollback succeeds and the same objects
 * are added and committed again), commit_unknown while it was in flight.
 * Afterwards the database holds exactly what was reported committed: each
 * user with its name, revision and posts, every unknown commit either whole
 * or absent, no attempt given up half-written, no orphaned post; a worker
 * that reads a user back checks it first. The pool ends with nothing
 * checked out. */

#define FAULT_THREADS 4
#define FAULT_SECONDS 4.0
#define FAULT_POSTS 3
#define FAULT_USERS 2000     /* per thread, at most */
#define FAULT_ATTEMPTS 6

#define FUSER(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(40),  .nullable = CR_NO)                                         \
    F(rev,     INTEGER,     .nullable = CR_NO)
#define FUSER_RELS(R)                                                                  \
    R(posts,   MANY(FPost),  .back_populates = "author",                               \
                             .cascade = "all, delete-orphan", .order_by = "id")
CR_MODEL(FUser, "cr_fault_users", FUSER, FUSER_RELS)

#define FPOST(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(title,   STRING(40),  .nullable = CR_NO)                                         \
    F(user_id, INTEGER,     .foreign_key = "cr_fault_users.id")
#define FPOST_RELS(R) R(author, ONE(FUser))
CR_MODEL(FPost, "cr_fault_posts", FPOST, FPOST_RELS)

/* A user as committed: its name, revision and post titles in id order. */
typedef struct {
    char name[32];
    int64_t rev;
    char titles[FAULT_POSTS][48];
} fault_row;

typedef struct {
    int64_t id;
    fault_row now;
    fault_row maybe;     /* what an update whose COMMIT's outcome is unknown made */
    bool unknown;        /* now, or maybe */
    bool insert_unknown; /* now, or no row at all */
} fault_user;

typedef struct fault_run fault_run;

typedef struct {
    fault_run *run;
    int index;
    unsigned seed;
    _Atomic int64_t pid;            /* the server connection it works on now */
    fault_user users[FAULT_USERS];
    int nusers;
    char gone[64][32];              /* inserts given up after FAULT_ATTEMPTS */
    int ngone;
    long commits, retries, unknowns;
} fault_thread;

struct fault_run {
    cr_engine *engine, *admin_engine;
    double deadline;
    atomic_bool stop;
    atomic_long kills;
    thread_failures failed;
    fault_thread threads[FAULT_THREADS];
};

enum { FAULT_RETRY, FAULT_UNKNOWN, FAULT_BAD };

/* What a failed call means: the only failures allowed are lost
 * connections and conflicts. */
static int fault_outcome(fault_thread *t, const cr_error *err, const char *what)
{
    if (err && cr_error_is_commit_unknown(err)) {
        t->unknowns++;
        return FAULT_UNKNOWN;
    }
    if (err && cr_error_is_retryable(err)) {
        t->retries++;
        return FAULT_RETRY;
    }
    thread_fail(&t->run->failed, "thread %d: %s failed with %s: %s", t->index, what,
               err ? cr_error_class_name(err) : "no error", err ? cr_error_message(err) : "");
    return FAULT_BAD;
}

/* Begin the session's transaction and tell the killer its server
 * connection (none on SQLite): FAULT_DONE, or what the failure means. */
enum { FAULT_DONE = -1 };
static int fault_publish(fault_thread *t, cr_session *s)
{
    cr_conn *c = cr_session_connection(s);
    if (!c)
        return fault_outcome(t, cr_session_error(s), "beginning the session's transaction");
    if (is_sqlite())
        return FAULT_DONE;
    cr_result *r = cr_conn_execute(c, is_pg() ? "SELECT pg_backend_pid()"
                                              : "SELECT CONNECTION_ID()", NULL);
    if (!r)
        return fault_outcome(t, cr_conn_error(c), "reading the connection id");
    int64_t pid = 0;
    int how = FAULT_DONE;
    if (cr_result_scalar_int64(r, &pid) == CR_OK)
        atomic_store(&t->pid, pid);
    else
        how = fault_outcome(t, cr_result_error(r), "reading the connection id");
    cr_result_free(r);
    return how;
}

static void fault_set_title(fault_row *row, int k, const char *name, const char *tag)
{
    snprintf(row->titles[k], sizeof row->titles[k], "%s/%s", name, tag);
}

static FPost *fault_post(fault_thread *t, const char *title)
{
    FPost *p = cr_new(FPost);
    if (!p || cr_field_set_text(p, title, title) != CR_OK) {
        thread_fail(&t->run->failed, "thread %d: making a post: out of memory", t->index);
        cr_object_free(p);
        return NULL;
    }
    return p;
}

/* A new user with FAULT_POSTS posts, committed (again after each lost
 * connection before the COMMIT) until it is, its outcome is unknown, or
 * FAULT_ATTEMPTS tries. */
static void fault_insert(fault_thread *t, int round)
{
    fault_run *run = t->run;
    fault_user *rec = &t->users[t->nusers];
    memset(rec, 0, sizeof *rec);
    snprintf(rec->now.name, sizeof rec->now.name, "t%d-r%d", t->index, round);
    rec->now.rev = 1;
    cr_session *s = cr_session_new(run->engine, NULL);
    FUser *u = cr_new(FUser);
    if (!s || !u || cr_field_set_text(u, name, rec->now.name) != CR_OK) {
        thread_fail(&run->failed, "thread %d: out of memory", t->index);
        cr_object_free(u);
        cr_session_free(s);
        return;
    }
    u->rev = 1;
    for (int k = 0; k < FAULT_POSTS; k++) {
        char tag[8];
        snprintf(tag, sizeof tag, "%d", k);
        fault_set_title(&rec->now, k, rec->now.name, tag);
        FPost *p = fault_post(t, rec->now.titles[k]);
        if (!p || cr_append(u, posts, p) != CR_OK) {
            thread_fail(&run->failed, "thread %d: cr_append failed", t->index);
            cr_object_free(p);
            cr_object_free(u);
            cr_session_free(s);
            return;
        }
    }
    if (cr_session_add(s, u) != CR_OK) {
        thread_fail(&run->failed, "thread %d: cr_session_add: %s", t->index,
                   cr_error_message(cr_session_error(s)));
        cr_object_free(u);
        cr_session_free(s);
        return;
    }
    for (int attempt = 0;; attempt++) {
        int how = fault_publish(t, s);
        if (how == FAULT_DONE) {
            if (cr_session_commit(s) == CR_OK) {
                rec->id = u->id;
                t->nusers++;
                t->commits++;
                break;
            }
            how = fault_outcome(t, cr_session_error(s), "committing a new user");
        }
        if (how == FAULT_UNKNOWN) {
            rec->id = u->id;
            rec->insert_unknown = true;
            t->nusers++;
            break;
        }
        if (how == FAULT_BAD)
            break;
        if (cr_session_rollback(s) != CR_OK) {
            thread_fail(&run->failed, "thread %d: rollback after a lost connection: %s", t->index,
                       cr_error_message(cr_session_error(s)));
            break;
        }
        if (cr_object_state_of(u) != CR_STATE_TRANSIENT) {
            thread_fail(&run->failed, "thread %d: a rolled-back new user is not transient", t->index);
            break;
        }
        if (attempt + 1 == FAULT_ATTEMPTS) {
            if (t->ngone < 64)
                memcpy(t->gone[t->ngone++], rec->now.name, sizeof rec->now.name);
            break;
        }
        if (cr_session_add(s, u) != CR_OK) {
            thread_fail(&run->failed, "thread %d: adding a rolled-back user again: %s", t->index,
                       cr_error_message(cr_session_error(s)));
            break;
        }
    }
    cr_session_free(s);   /* frees u and its posts */
}

/* Whether the loaded user is as committed. */
static bool fault_matches(const FUser *u, const fault_row *row)
{
    if (strcmp(u->name, row->name) != 0 || u->rev != row->rev ||
        u->posts.count != FAULT_POSTS)
        return false;
    for (int k = 0; k < FAULT_POSTS; k++)
        if (strcmp(((const FPost *)u->posts.items[k])->title, row->titles[k]) != 0)
            return false;
    return true;
}

/* Load one of the thread's users (checked against what was committed),
 * rename it, delete its first post (delete-orphan) and give it a new one. */
static void fault_update(fault_thread *t, int round)
{
    fault_run *run = t->run;
    fault_user *rec = &t->users[rand_r(&t->seed) % (unsigned)t->nusers];
    if (rec->unknown || rec->insert_unknown)
        return;
    cr_session *s = cr_session_new(run->engine, NULL);
    if (!s) {
        thread_fail(&run->failed, "thread %d: out of memory", t->index);
        return;
    }
    int how = fault_publish(t, s);
    FUser *u = NULL;
    if (how == FAULT_DONE) {
        u = cr_session_get(s, FUser, rec->id);
        if (!u && !cr_session_error(s))
            thread_fail(&run->failed, "thread %d: user %lld is gone", t->index, (long long)rec->id);
        if (!u || cr_load(u, posts) != CR_OK)
            how = fault_outcome(t, cr_session_error(s), "loading a user");
    }
    if (how != FAULT_DONE) {
        if (how == FAULT_RETRY && cr_session_rollback(s) != CR_OK)
            thread_fail(&run->failed, "thread %d: rollback after a lost connection: %s", t->index,
                       cr_error_message(cr_session_error(s)));
        cr_session_free(s);
        return;
    }
    if (!fault_matches(u, &rec->now)) {
        thread_fail(&run->failed, "thread %d: user %lld reads as %s rev %lld, committed as %s rev %lld",
                   t->index, (long long)rec->id, u->name, (long long)u->rev, rec->now.name,
                   (long long)rec->now.rev);
        cr_session_free(s);
        return;
    }
    fault_row next = rec->now;
    snprintf(next.name, sizeof next.name, "t%d-r%d", t->index, round);
    next.rev++;
    memmove(next.titles[0], next.titles[1], sizeof next.titles[0] * (FAULT_POSTS - 1));
    fault_set_title(&next, FAULT_POSTS - 1, next.name, "n");
    FPost *p = fault_post(t, next.titles[FAULT_POSTS - 1]);
    if (!p || cr_field_set_text(u, name, next.name) != CR_OK ||
        cr_remove(u, posts, u->posts.items[0]) != CR_OK || cr_append(u, posts, p) != CR_OK) {
        thread_fail(&run->failed, "thread %d: changing user %lld: %s", t->index, (long long)rec->id,
                   cr_error_message(cr_session_error(s)));
        cr_session_free(s);
        return;
    }
    u->rev = next.rev;
    if (cr_session_commit(s) == CR_OK) {
        rec->now = next;
        t->commits++;
    } else {
        how = fault_outcome(t, cr_session_error(s), "committing a changed user");
        if (how == FAULT_UNKNOWN) {
            rec->maybe = next;
            rec->unknown = true;
        } else if (how == FAULT_RETRY && cr_session_rollback(s) != CR_OK) {
            thread_fail(&run->failed, "thread %d: rollback after a lost connection: %s", t->index,
                       cr_error_message(cr_session_error(s)));
        }
    }
    cr_session_free(s);
}

static void *fault_worker(void *arg)
{
    fault_thread *t = arg;
    fault_run *run = t->run;
    for (int round = 1; harness_now() < run->deadline && atomic_load(&run->failed.count) == 0;
         round++) {
        if (t->nusers > 0 && rand_r(&t->seed) % 2)
            fault_update(t, round);
        else if (t->nusers < FAULT_USERS)
            fault_insert(t, round);
    }
    atomic_store(&t->pid, 0);
    return NULL;
}

/* Every few milliseconds, the server connection of a random worker killed. */
static void *fault_killer(void *arg)
{
    fault_run *run = arg;
    cr_error *err = NULL;
    cr_conn *admin = cr_engine_connect(run->admin_engine, &err);
    if (!admin) {
        thread_fail(&run->failed, "killer: connect: %s", cr_error_message(err));
        cr_error_free(err);
        return NULL;
    }
    unsigned seed = 7;
    while (!atomic_load(&run->stop)) {
        harness_sleep((double)(5 + rand_r(&seed) % 20) / 1000.0);
        int64_t pid = atomic_load(&run->threads[rand_r(&seed) % FAULT_THREADS].pid);
        if (!pid)
            continue;
        char sql[96];
        snprintf(sql, sizeof sql, is_pg() ? "SELECT pg_terminate_backend(%lld)"
                                          : "KILL CONNECTION %lld", (long long)pid);
        /* A connection gone already is an error on MariaDB: not counted. */
        if (cr_conn_exec(admin, sql, NULL) == CR_OK)
            atomic_fetch_add(&run->kills, 1);
        cr_conn_rollback(admin);
    }
    cr_conn_close(admin);
    return NULL;
}

/* The user's row and posts as they are in the database, into *row. */
static bool fault_read(cr_conn *c, int64_t id, fault_row *row)
{
    memset(row, 0, sizeof *row);
    cr_result *r = cr_conn_execute(c, "SELECT name, rev FROM cr_fault_users WHERE id = :id",
                                   CR_PARAMS({"id", cr_val_int(id)}));
    assert_non_null(r);
    const cr_row *got = cr_result_first(r);
    bool found = got != NULL;
    if (got) {
        const char *name;
        size_t len;
        ASSERT_OK(cr_row_text_at(got, 0, &name, &len), cr_result_error(r));
        snprintf(row->name, sizeof row->name, "%.*s", (int)len, name);
        ASSERT_OK(cr_row_int64_at(got, 1, &row->rev), cr_result_error(r));
    }
    assert_null(cr_result_error(r));
    cr_result_free(r);
    r = cr_conn_execute(c, "SELECT title FROM cr_fault_posts WHERE user_id = :id ORDER BY id",
                        CR_PARAMS({"id", cr_val_int(id)}));
    assert_non_null(r);
    int n = 0;
    while ((got = cr_result_fetchone(r)) != NULL) {
        const char *title;
        size_t len;
        ASSERT_OK(cr_row_text_at(got, 0, &title, &len), cr_result_error(r));
        if (n < FAULT_POSTS)
            snprintf(row->titles[n], sizeof row->titles[n], "%.*s", (int)len, title);
        n++;
    }
    assert_null(cr_result_error(r));
    cr_result_free(r);
    assert_true(found || n == 0);   /* no post without its user */
    if (found)
        assert_int_equal(n, FAULT_POSTS);
    return found;
}

static bool fault_same(const fault_row *a, const fault_row *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static void test_sessions_under_faults(void **state)
{
    (void)state;
    static fault_run run;   /* large: not on the stack */
    memset(&run, 0, sizeof run);
    pthread_mutex_init(&run.failed.lock, NULL);
    run.admin_engine = admin_engine();
    cr_conn *admin = checkout(run.admin_engine);
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    ASSERT_OK(FUser_define(md), cr_metadata_error(md));
    ASSERT_OK(FPost_define(md), cr_metadata_error(md));
    run.engine = engine(NULL);
    assert_int_equal(cr_metadata_drop_all_engine(md, run.engine, true, NULL), CR_OK);
    assert_int_equal(cr_metadata_create_all_engine(md, run.engine, true, NULL), CR_OK);

    run.deadline = harness_now() + FAULT_SECONDS;
    pthread_t workers[FAULT_THREADS], killer;
    for (int i = 0; i < FAULT_THREADS; i++) {
        run.threads[i].run = &run;
        run.threads[i].index = i;
        run.threads[i].seed = 1000u + (unsigned)i;
        assert_int_equal(pthread_create(&workers[i], NULL, fault_worker, &run.threads[i]), 0);
    }
    if (!is_sqlite())
        assert_int_equal(pthread_create(&killer, NULL, fault_killer, &run), 0);
    for (int i = 0; i < FAULT_THREADS; i++)
        pthread_join(workers[i], NULL);
    atomic_store(&run.stop, true);
    if (!is_sqlite())
        pthread_join(killer, NULL);

    long commits = 0, retries = 0, unknowns = 0;
    for (int i = 0; i < FAULT_THREADS; i++) {
        commits += run.threads[i].commits;
        retries += run.threads[i].retries;
        unknowns += run.threads[i].unknowns;
    }
    print_message("%ld commits, %ld kills sent, %ld retried after a lost connection or a "
                  "conflict, %ld commits of unknown outcome\n", commits, atomic_load(&run.kills), retries, unknowns);
    assert_no_thread_failures(&run.failed);
    /* The run did what it is for: work went on between many kills. */
    assert_true(commits >= 50);
    if (!is_sqlite()) {
        assert_true(atomic_load(&run.kills) >= 20);
        assert_true(retries + unknowns >= 5);
    }
    assert_int_equal(pool_status(run.engine).checked_out, 0);

    /* The database holds what was committed, and only that. */
    long present = 0;
    for (int i = 0; i < FAULT_THREADS; i++) {
        fault_thread *t = &run.threads[i];
        for (int k = 0; k < t->nusers; k++) {
            fault_user *rec = &t->users[k];
            fault_row row;
            bool found = fault_read(admin, rec->id, &row);
            bool ok = rec->insert_unknown ? !found || fault_same(&row, &rec->now)
                      : rec->unknown ? found && (fault_same(&row, &rec->now) ||
                                                 fault_same(&row, &rec->maybe))
                                     : found && fault_same(&row, &rec->now);
            if (!ok)
                print_error("user %lld (%s): the database has %s %s rev %lld\n",
                            (long long)rec->id, rec->now.name, found ? "" : "no row,",
                            row.name, (long long)row.rev);
            assert_true(ok);
            present += found;
        }
        for (int k = 0; k < t->ngone; k++) {
            char sql[160];
            snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM cr_fault_users WHERE name = '%s'",
                     t->gone[k]);
            assert_int_equal(scalar_int(admin, sql), 0);
        }
    }
    assert_int_equal(scalar_int(admin, "SELECT COUNT(*) FROM cr_fault_users"), present);
    assert_int_equal(scalar_int(admin, "SELECT COUNT(*) FROM cr_fault_posts"),
                     present * FAULT_POSTS);
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));

    /* The killer may have hit the workers' pooled connections after their
     * last use: the tables go through the admin engine's own. */
    assert_int_equal(cr_metadata_drop_all_engine(md, run.admin_engine, true, NULL), CR_OK);
    cr_metadata_free(md);
    engine_done(run.engine);
    checkin(admin);
    engine_done(run.admin_engine);
    pthread_mutex_destroy(&run.failed.lock);
}

/* ---- 9b. what a lost connection means for the transaction -------------------------------------------- */

typedef struct {
    cr_engine *engine;
    cr_conn *admin;
    const int64_t *old;         /* sessions idle in the pool before the run */
    int nold;
    int calls;
    cr_status first_status;     /* the first run's failed statement ... */
    bool first_disconnect, first_retryable, first_unknown;   /* ... and its error */
} lose_arg;

/* First run: the session is killed in the middle of the transaction, and
 * while this connection is still checked out the pool already hands out
 * only new connections. Second run: inserts and commits. */
static cr_status insert_after_loss(cr_conn *c, void *userdata)
{
    lose_arg *a = userdata;
    a->calls++;
    cr_status st = cr_conn_exec(c, "INSERT INTO cr_pool_lose (id) VALUES (:id)",
                                CR_PARAMS({"id", cr_val_int(a->calls)}));
    if (st || a->calls > 1)
        return st;
    int64_t pid = scalar_int(c, is_pg() ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()");
    kill_session(a->admin, pid);
    st = cr_conn_exec(c, "INSERT INTO cr_pool_lose (id) VALUES (100)", NULL);
    const cr_error *err = cr_conn_error(c);
    a->first_status = cr_error_class(err);
    a->first_disconnect = cr_error_is_disconnect(err);
    a->first_retryable = cr_error_is_retryable(err);
    a->first_unknown = cr_error_is_commit_unknown(err);
    if (st == CR_OK)
        return CR_OK;
    /* Invalidated at once (not when c comes back): an idle connection from
     * before is not handed out. */
    expect_new_sessions(a->engine, a->nold, a->old, a->nold);
    return st;
}

static void test_lost_connection_retry(void **state)
{
    (void)state;
    cr_engine *ae = admin_engine();
    cr_conn *admin = checkout(ae);
    create_table(admin, "cr_pool_lose", "id INTEGER PRIMARY KEY");
    cr_engine *e = engine(&(cr_engine_options){.pool_size = 5});
    int64_t old[2];
    cr_conn *idle[2];
    for (int i = 0; i < 2; i++) {
        idle[i] = checkout(e);
        old[i] = session_id(idle[i]);
    }
    for (int i = 0; i < 2; i++)
        checkin(idle[i]);

    /* Lost before COMMIT was sent: retried on a new connection. */
    lose_arg a = {.engine = e, .admin = admin, .old = old, .nold = 2};
    int attempts = 0;
    cr_error *err = NULL;
    cr_status st = cr_engine_run_transaction(e, insert_after_loss, &a, NULL, &attempts, &err);
    keep_error(err);
    if (st)
        print_error("run_transaction: %s: %s\n", cr_status_name(st), cr_error_message(err));
    assert_int_equal(st, CR_OK);
    assert_int_equal(attempts, 2);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.first_status, CR_ERR_OPERATIONAL);
    assert_true(a.first_disconnect);
    assert_true(a.first_retryable);
    assert_false(a.first_unknown);
    assert_true(pool_status(e).invalidations >= 1);
    /* Only the second run's row: the first was rolled back by the server. */
    assert_int_equal(scalar_int(admin, "SELECT COUNT(*) FROM cr_pool_lose"), 1);
    assert_int_equal(scalar_int(admin, "SELECT MIN(id) FROM cr_pool_lose"), 2);
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));

    /* Lost before a COMMIT the program sends anyway: refused, not sent. */
    cr_conn *c = checkout(e);
    int64_t pid = server_session(c);
    exec_ok(c, "INSERT INTO cr_pool_lose (id) VALUES (10)");
    kill_session(admin, pid);
    assert_int_equal(cr_conn_exec(c, "INSERT INTO cr_pool_lose (id) VALUES (11)", NULL),
                     CR_ERR_OPERATIONAL);
    assert_int_equal(cr_conn_commit(c), CR_ERR_OPERATIONAL);
    const cr_error *ce = cr_conn_error(c);
    assert_non_null(strstr(cr_error_message(ce), "lost earlier in this transaction"));
    assert_true(cr_error_is_disconnect(ce));
    assert_true(cr_error_is_retryable(ce));
    assert_false(cr_error_is_commit_unknown(ce));
    assert_false(cr_conn_in_transaction(c));
    checkin(c);

    /* Lost when COMMIT is sent: its outcome is unknown (here the server was
     * gone before it, which this side cannot tell), and it is not
     * retryable. */
    c = checkout(e);
    pid = server_session(c);
    exec_ok(c, "INSERT INTO cr_pool_lose (id) VALUES (20)");
    kill_session(admin, pid);
    assert_int_equal(cr_conn_commit(c), CR_ERR_OPERATIONAL);
    ce = cr_conn_error(c);
    print_message("COMMIT after the loss: %s\n", cr_error_message(ce));
    assert_true(cr_error_is_disconnect(ce));
    assert_true(cr_error_is_commit_unknown(ce));
    assert_false(cr_error_is_retryable(ce));
    assert_string_equal(cr_error_statement(ce), "COMMIT");
    checkin(c);

    /* In AUTOCOMMIT every statement commits itself: a lost one is unknown too. */
    cr_engine *ac = engine(&(cr_engine_options){.isolation_level = "AUTOCOMMIT"});
    c = checkout(ac);
    pid = server_session(c);
    kill_session(admin, pid);
    assert_int_equal(cr_conn_exec(c, "INSERT INTO cr_pool_lose (id) VALUES (30)", NULL),
                     CR_ERR_OPERATIONAL);
    assert_true(cr_error_is_commit_unknown(cr_conn_error(c)));
    assert_false(cr_error_is_retryable(cr_conn_error(c)));
    checkin(c);
    engine_done(ac);

    /* Nothing of the lost transactions was committed. */
    assert_int_equal(scalar_int(admin, "SELECT COUNT(*) FROM cr_pool_lose"), 1);
    drop_table(admin, "cr_pool_lose");
    checkin(admin);
    engine_done(e);
    engine_done(ae);
}

/* ---- 10. a server restart ------------------------------------------------------------------------------ */

static void restart_server(const char *dir)
{
    char cmd[2048];
    if (strchr(dir, '\'') || strchr(CRUCIBLE_SOURCE_DIR, '\'')) {
        print_error("cannot quote the servers directory %s\n", dir);
        fail();
    }
    snprintf(cmd, sizeof cmd, "bash '%s/scripts/test-servers.sh' restart %s '%s' 1>&2",
             CRUCIBLE_SOURCE_DIR, is_pg() ? "postgresql" : "mysql", dir);
    double t0 = harness_now();
    int rc = harness_system(cmd);
    print_message("restarted the server in %.2f s\n", harness_now() - t0);
    if (rc != 0) {
        print_error("%s\n  failed (status %d)\n", cmd, rc);
        fail();
    }
}

static void test_server_restart(void **state)
{
    (void)state;
    const char *dir = getenv("CRUCIBLE_TEST_SERVERS_DIR");
    if (!dir || !*dir) {
        const char *require = getenv("CRUCIBLE_REQUIRE_ALL_BACKENDS");
        if (require && strcmp(require, "1") == 0) {
            print_error("CRUCIBLE_TEST_SERVERS_DIR is not set: cannot restart the server "
                        "(CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)\n");
            fail();
        }
        print_message("CRUCIBLE_TEST_SERVERS_DIR is not set (scripts/run-tests.sh sets it); "
                      "skipping the restart test\n");
        skip();
    }
    cr_engine *ae = admin_engine();
    cr_conn *admin = checkout(ae);
    create_table(admin, "cr_pool_restart", "id INTEGER PRIMARY KEY");
    checkin(admin);

    /* Engine A without pre-ping, engine B with it: each with a connection
     * in a transaction and three idle ones. */
    cr_engine *ea = engine(NULL);
    cr_engine *eb = engine(&(cr_engine_options){.pool_pre_ping = true});
    cr_engine *engines[2] = {ea, eb};
    cr_conn *x[2];
    int64_t old[2][4];
    for (int k = 0; k < 2; k++) {
        x[k] = checkout(engines[k]);
        old[k][0] = session_id(x[k]);
        cr_conn *others[3];
        for (int i = 0; i < 3; i++) {
            others[i] = checkout(engines[k]);
            old[k][i + 1] = session_id(others[i]);
        }
        for (int i = 0; i < 3; i++)
            checkin(others[i]);
        int64_t base = 10 * (k + 1);
        for (int64_t i = 0; i < 2; i++)
            ASSERT_OK(cr_conn_exec(x[k], "INSERT INTO cr_pool_restart (id) VALUES (:id)",
                                   CR_PARAMS({"id", cr_val_int(base + i)})),
                      cr_conn_error(x[k]));
        ASSERT_OK(cr_conn_commit(x[k]), cr_conn_error(x[k]));
        ASSERT_OK(cr_conn_exec(x[k], "INSERT INTO cr_pool_restart (id) VALUES (:id)",
                               CR_PARAMS({"id", cr_val_int(base + 5)})),
                  cr_conn_error(x[k]));
        assert_true(cr_conn_in_transaction(x[k]));
    }

    restart_server(dir);

    /* B (pre-ping): its idle connections from before are replaced silently,
     * while its in-flight transaction has not even failed yet. */
    expect_new_sessions(eb, 4, old[1], 4);
    assert_true(pool_status(eb).invalidations >= 1);
    /* A: the in-flight transaction's next statement fails as a disconnect ... */
    expect_disconnect(x[0], "INSERT INTO cr_pool_restart (id) VALUES (17)");
    checkin(x[0]);
    /* ... which invalidates A's connections from before: the next checkouts work. */
    expect_new_sessions(ea, 4, old[0], 4);
    cr_pool_status ps = pool_status(ea);
    assert_true(ps.invalidations >= 1);
    assert_int_equal(ps.checked_out, 0);
    /* B's transaction from before the restart fails too. */
    expect_disconnect(x[1], "INSERT INTO cr_pool_restart (id) VALUES (27)");
    checkin(x[1]);
    expect_new_sessions(eb, 4, old[1], 4);
    assert_int_equal(pool_status(eb).checked_out, 0);

    /* Committed rows survived the restart; the in-flight ones did not. */
    admin = checkout(ae);
    assert_int_equal(scalar_int(admin, "SELECT COUNT(*) FROM cr_pool_restart"), 4);
    assert_int_equal(scalar_int(admin, "SELECT SUM(id) FROM cr_pool_restart"), 10 + 11 + 20 + 21);
    drop_table(admin, "cr_pool_restart");
    checkin(admin);
    engine_done(ea);
    engine_done(eb);
    engine_done(ae);
}

/* ---- 11. idle connections dropped by the server ------------------------------------------------------------- */

static void test_idle_dropped_by_server(void **state)
{
    (void)state;
    char url[1024];
    if (is_pg()) {
        /* Every session of these engines ends after a second idle. */
        snprintf(url, sizeof url, "%s%coptions=-c%%20idle_session_timeout%%3D1000", backend_url,
                 strchr(backend_url, '?') ? '&' : '?');
    } else {
        snprintf(url, sizeof url, "%s", backend_url);
    }
    cr_engine *ae = admin_engine();
    cr_conn *admin = checkout(ae);
    cr_engine *ep = engine_for(url, &(cr_engine_options){.pool_pre_ping = true});
    cr_engine *er = engine_for(url, &(cr_engine_options){.pool_recycle = 1});
    cr_engine *engines[2] = {ep, er};
    int64_t sid[2], pid[2];
    for (int k = 0; k < 2; k++) {
        cr_conn *c = checkout(engines[k]);
        sid[k] = session_id(c);
        pid[k] = server_session(c);
        if (is_pg()) {
            assert_int_equal(scalar_int(c, "SELECT CAST(current_setting('idle_session_timeout') "
                                           "= '1s' AS INTEGER)"), 1);
        } else {
            exec_ok(c, "SET SESSION wait_timeout = 1");
        }
        ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
        checkin(c);
        assert_int_equal(pool_status(engines[k]).idle, 1);
    }
    harness_sleep(2.0);
    /* The server has dropped both. */
    for (int k = 0; k < 2; k++)
        assert_true(wait_session_gone(admin, pid[k], 5.0));
    /* No error reaches the program, and the connection is a new one. */
    for (int k = 0; k < 2; k++) {
        cr_error *err = NULL;
        cr_conn *c = cr_engine_connect(engines[k], &err);
        if (!c) {
            print_error("%s: checkout after the idle drop: %s: %s\n", k ? "recycle" : "pre-ping",
                        cr_error_class_name(err), cr_error_message(err));
            cr_error_free(err);
            fail();
        }
        track((void **)tracked_conns, c);
        int64_t id = 0;
        if (try_session_id(c, &id) != CR_OK) {
            print_error("%s: first statement after the idle drop: %s: %s\n",
                        k ? "recycle" : "pre-ping", cr_error_class_name(cr_conn_error(c)),
                        cr_error_message(cr_conn_error(c)));
            fail();
        }
        assert_int_not_equal(id, sid[k]);
        assert_int_equal(scalar_int(c, "SELECT 11"), 11);
        checkin(c);
    }
    cr_pool_status ps = pool_status(ep);
    assert_true(ps.invalidations >= 1);
    assert_int_equal(ps.connects, 2);
    ps = pool_status(er);
    assert_int_equal(ps.recycles, 1);
    assert_int_equal(ps.connects, 2);
    checkin(admin);
    engine_done(ep);
    engine_done(er);
    engine_done(ae);
}

/* ---- 12. the retry helper over real serialization failures and deadlocks ---------------------------------------- */

/* A barrier that gives up after a while, so that a thread whose partner
 * never arrives cannot hang the suite. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int waiting, generation, parties;
} barrier;

static void barrier_init(barrier *b, int parties)
{
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    b->waiting = 0;
    b->generation = 0;
    b->parties = parties;
}

static void barrier_destroy(barrier *b)
{
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
}

static bool barrier_wait(barrier *b, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)seconds;
    pthread_mutex_lock(&b->lock);
    int gen = b->generation;
    bool ok = true;
    if (++b->waiting == b->parties) {
        b->waiting = 0;
        b->generation++;
        pthread_cond_broadcast(&b->cond);
    } else {
        while (gen == b->generation)
            if (pthread_cond_timedwait(&b->cond, &b->lock, &until) != 0) {
                ok = gen != b->generation;
                if (!ok)
                    b->waiting--;
                break;
            }
    }
    pthread_mutex_unlock(&b->lock);
    return ok;
}

/* ---- the last connections of a freed engine closed at the same moment ----------------------------------------- */

#define FREED_THREADS 8
#define FREED_ROUNDS 25

typedef struct {
    cr_conn *conn;
    barrier *bar;
    bool ok;
} closer_arg;

static void *close_at_barrier(void *arg)
{
    closer_arg *a = arg;
    a->ok = barrier_wait(a->bar, 10);
    cr_conn_close(a->conn);
    return NULL;
}

/* Whichever closes last frees the engine; the others must not touch it
 * after they let go of the pool's lock (ASan: heap-use-after-free). */
static void test_freed_engine_closed_concurrently(void **state)
{
    (void)state;
    for (int round = 0; round < FREED_ROUNDS; round++) {
        cr_engine *e = engine(&(cr_engine_options){.pool_size = 2});
        closer_arg args[FREED_THREADS];
        barrier bar;
        barrier_init(&bar, FREED_THREADS);
        for (int i = 0; i < FREED_THREADS; i++) {
            args[i] = (closer_arg){.conn = checkout(e), .bar = &bar};
            untrack((void **)tracked_conns, args[i].conn);   /* the threads close them */
        }
        engine_done(e);
        pthread_t t[FREED_THREADS];
        int started = 0;
        for (int i = 0; i < FREED_THREADS; i++) {
            if (pthread_create(&t[i], NULL, close_at_barrier, &args[i]) != 0)
                break;
            started++;
        }
        for (int i = started; i < FREED_THREADS; i++)
            cr_conn_close(args[i].conn);               /* (the barrier then times out) */
        for (int i = 0; i < started; i++)
            pthread_join(t[i], NULL);
        barrier_destroy(&bar);
        assert_int_equal(started, FREED_THREADS);
        for (int i = 0; i < FREED_THREADS; i++)
            assert_true(args[i].ok);
    }
}

/* Fill c's statement cache, so that closing it takes a while. */
static void fill_statement_cache(cr_conn *c, int n)
{
    for (int i = 0; i < n; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT %d + 1", i);
        ASSERT_OK(cr_conn_exec(c, sql, NULL), cr_conn_error(c));
    }
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
}

static void *close_now(void *arg)
{
    cr_conn_close(arg);
    return NULL;
}

/* Two connections out of a freed engine: a slow one (a full statement
 * cache to finalize) is closed first, and while it is being closed the
 * other, quick one closes and, being the last, frees the engine. The slow
 * one must not read the engine after that (ASan: heap-use-after-free in
 * cr_pconn_destroy via cr_pool_checkin). */
static void test_freed_engine_slow_close(void **state)
{
    (void)state;
    enum { STATEMENTS = 1500 };
    cr_engine_options o = {.statement_cache_size = STATEMENTS + 10};
    /* How long a close with a full cache takes here. */
    cr_engine *e = engine(&o);
    cr_conn *slow = checkout(e);
    fill_statement_cache(slow, STATEMENTS);
    checkin(slow);
    double t0 = harness_now();
    engine_done(e);                     /* closes it */
    double slow_close = harness_now() - t0;
    print_message("closing a connection with %d cached statements: %.1f ms\n", STATEMENTS,
                  slow_close * 1e3);
    for (int round = 0; round < 3; round++) {
        e = engine(&o);
        slow = checkout(e);
        fill_statement_cache(slow, STATEMENTS);
        cr_conn *quick = checkout(e);
        engine_done(e);
        untrack((void **)tracked_conns, slow);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, close_now, slow), 0);
        harness_sleep(slow_close / 4);
        checkin(quick);                 /* the last one out: frees the engine */
        pthread_join(t, NULL);
    }
}

typedef struct {
    cr_engine *e;
    barrier *bar;
    atomic_int *calls;          /* callback runs, over both threads */
    int me;                     /* 0 or 1 */
    int runs;                   /* this thread's callback runs */
    bool barrier_timed_out;
    cr_retry_options opts;
    cr_status status;
    int attempts;
    cr_error *err;
} conflict_arg;

/* Write skew: both read the sum, then each adds a row holding it. On
 * PostgreSQL at SERIALIZABLE one fails with 40001; on SQLite the second
 * writer, holding a read lock, gets SQLITE_BUSY at once. Only the first run
 * of each thread meets the other at the barrier. */
static cr_status write_skew(cr_conn *c, void *userdata)
{
    conflict_arg *a = userdata;
    atomic_fetch_add(a->calls, 1);
    a->runs++;
    cr_result *r = cr_conn_execute(c, "SELECT SUM(v) FROM cr_pool_skew", NULL);
    if (!r)
        return cr_error_class(cr_conn_error(c));
    cr_value v = cr_val_null();
    cr_status st = cr_result_scalar(r, &v);
    int64_t sum = v.type == CR_INT ? v.v.i : v.type == CR_NUMERIC ? strtoll(v.v.s.ptr, NULL, 10) : -1;
    cr_result_free(r);
    if (st)
        return st;
    if (a->runs == 1 && !barrier_wait(a->bar, 10))
        a->barrier_timed_out = true;
    return cr_conn_exec(c, "INSERT INTO cr_pool_skew (v) VALUES (:v)",
                        CR_PARAMS({"v", cr_val_int(sum)}));
}

/* MariaDB deadlock: lock rows 1 and 2 in opposite orders, then bump both. */
static cr_status opposite_locks(cr_conn *c, void *userdata)
{
    conflict_arg *a = userdata;
    atomic_fetch_add(a->calls, 1);
    a->runs++;
    int64_t order[2] = {a->me ? 2 : 1, a->me ? 1 : 2};
    for (int i = 0; i < 2; i++) {
        cr_result *r = cr_conn_execute(c, "SELECT v FROM cr_pool_dl WHERE id = :id FOR UPDATE",
                                       CR_PARAMS({"id", cr_val_int(order[i])}));
        if (!r)
            return cr_error_class(cr_conn_error(c));
        cr_value v;
        cr_status st = cr_result_scalar(r, &v);
        cr_result_free(r);
        if (st)
            return st;
        if (i == 0 && a->runs == 1 && !barrier_wait(a->bar, 10))
            a->barrier_timed_out = true;
    }
    return cr_conn_exec(c, "UPDATE cr_pool_dl SET v = v + 1", NULL);
}

static void *conflict_thread(void *arg)
{
    conflict_arg *a = arg;
    a->status = cr_engine_run_transaction(a->e, is_mysql() ? opposite_locks : write_skew, a,
                                          &a->opts, &a->attempts, &a->err);
    return NULL;
}

/* Run the conflict in two threads; results in args[]. */
static void run_conflict(cr_engine *e, int max_attempts, conflict_arg args[2], atomic_int *calls)
{
    barrier bar;
    barrier_init(&bar, 2);
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        args[k] = (conflict_arg){.e = e, .bar = &bar, .calls = calls, .me = k,
                                 .opts = {.max_attempts = max_attempts}, .attempts = -1};
        assert_int_equal(pthread_create(&t[k], NULL, conflict_thread, &args[k]), 0);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    barrier_destroy(&bar);
    for (int k = 0; k < 2; k++) {
        keep_error(args[k].err);
        print_message("thread %d: %s after %d run(s)%s%s\n", k, cr_status_name(args[k].status),
                      args[k].attempts, args[k].err ? ": " : "",
                      args[k].err ? cr_error_message(args[k].err) : "");
        assert_false(args[k].barrier_timed_out);
        assert_int_equal(args[k].attempts, args[k].runs);
    }
}

static void prepare_conflict(cr_conn *admin)
{
    if (!is_mysql()) {
        create_table(admin, "cr_pool_skew", "v INTEGER");
        exec_ok(admin, "INSERT INTO cr_pool_skew (v) VALUES (1)");
    } else {
        create_table(admin, "cr_pool_dl", "id INTEGER PRIMARY KEY, v INTEGER");
        exec_ok(admin, "INSERT INTO cr_pool_dl (id, v) VALUES (1, 0), (2, 0)");
    }
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));
}

static void expect_conflict_error(const cr_error *err)
{
    assert_non_null(err);
    assert_true(cr_error_is_retryable(err));
    assert_false(cr_error_is_disconnect(err));
    if (is_pg())
        assert_string_equal(cr_error_sqlstate(err), "40001");
    else if (is_mysql())
        assert_int_equal(cr_error_code(err), 1213);
    else
        assert_int_equal(cr_error_code(err) & 0xff, 5);   /* SQLITE_BUSY */
}

static void test_retry_conflict(void **state)
{
    (void)state;
    cr_engine *ae = admin_engine();
    cr_conn *admin = checkout(ae);
    cr_engine *e = engine(&(cr_engine_options){
        .isolation_level = is_pg() ? "SERIALIZABLE" : NULL});

    /* Retried until both commit. */
    prepare_conflict(admin);
    atomic_int calls = 0;
    conflict_arg args[2];
    run_conflict(e, 0, args, &calls);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(args[k].status, CR_OK);
        assert_null(args[k].err);
    }
    assert_true(args[0].attempts + args[1].attempts >= 3);
    assert_int_equal(atomic_load(&calls), args[0].attempts + args[1].attempts);
    if (!is_mysql()) {
        /* As if one ran after the other: rows 1, 1, 2. */
        assert_int_equal(scalar_int(admin, "SELECT COUNT(*) FROM cr_pool_skew"), 3);
        assert_int_equal(scalar_int(admin, "SELECT SUM(v) FROM cr_pool_skew"), 4);
        assert_int_equal(scalar_int(admin, "SELECT MAX(v) FROM cr_pool_skew"), 2);
    } else {
        /* Each committed run bumped both rows once; the victim's run left nothing. */
        assert_int_equal(scalar_int(admin, "SELECT SUM(v) FROM cr_pool_dl"), 4);
        assert_int_equal(scalar_int(admin, "SELECT MIN(v) FROM cr_pool_dl"), 2);
    }
    ASSERT_OK(cr_conn_commit(admin), cr_conn_error(admin));
    assert_int_equal(pool_status(e).checked_out, 0);

    /* max_attempts 1: no retry; the conflict comes back, marked retryable. */
    prepare_conflict(admin);
    atomic_store(&calls, 0);
    run_conflict(e, 1, args, &calls);
    int failed = 0;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(args[k].attempts, 1);
        if (args[k].status != CR_OK) {
            failed++;
            assert_int_equal(args[k].status, cr_error_class(args[k].err));
            expect_conflict_error(args[k].err);
        } else {
            assert_null(args[k].err);
        }
    }
    assert_true(failed >= 1);
    assert_int_equal(atomic_load(&calls), 2);
    for (int k = 0; k < 2; k++) {
        forget_error(args[k].err);
        args[k].err = NULL;
    }
    assert_int_equal(pool_status(e).checked_out, 0);

    drop_table(admin, is_mysql() ? "cr_pool_dl" : "cr_pool_skew");
    checkin(admin);
    engine_done(e);
    engine_done(ae);
}

/* ---- the suite ------------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_threads_share_pool, teardown),
        cmocka_unit_test_teardown(test_exhaustion_timeout, teardown),
        cmocka_unit_test_teardown(test_waiter_woken, teardown),
        cmocka_unit_test_teardown(test_lifo_fifo, teardown),
        cmocka_unit_test_teardown(test_null_pool, teardown),
        cmocka_unit_test_teardown(test_dispose, teardown),
        cmocka_unit_test_teardown(test_free_engine_with_checkouts, teardown),
        cmocka_unit_test_teardown(test_invalidate, teardown),
        cmocka_unit_test_teardown(test_recycle, teardown),
        cmocka_unit_test_teardown(test_pre_ping_keeps_live_connection, teardown),
        cmocka_unit_test_teardown(test_unlimited_sizes, teardown),
        cmocka_unit_test_teardown(test_pool_options_checked, teardown),
        cmocka_unit_test_teardown(test_unbounded_pool_timeout, teardown),
        cmocka_unit_test_teardown(test_echo_pool, teardown),
        cmocka_unit_test_teardown(test_failed_connect_frees_slot, teardown),
        cmocka_unit_test_teardown(test_retry_not_for_other_errors, teardown),
        cmocka_unit_test_teardown(test_retry_conflict, teardown),
        cmocka_unit_test_teardown(test_sessions_under_faults, teardown),
    };
    const struct CMUnitTest server_tests[] = {
        cmocka_unit_test_teardown(test_killed_session, teardown),
        cmocka_unit_test_teardown(test_session_killed, teardown),
        cmocka_unit_test_teardown(test_lost_connection_retry, teardown),
        cmocka_unit_test_teardown(test_idle_dropped_by_server, teardown),
        cmocka_unit_test_teardown(test_server_restart, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_teardown(test_pre_ping_reconnect_fails, teardown),
    };
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test_teardown(test_sqlite_memory_any_pool, teardown),
    };
    /* Last: under ASan a use-after-free here aborts the program. */
    const struct CMUnitTest race_tests[] = {
        cmocka_unit_test_teardown(test_freed_engine_closed_concurrently, teardown),
        cmocka_unit_test_teardown(test_freed_engine_slow_close, teardown),
    };
    int failed = HARNESS_RUN("pool", NULL, tests, NULL);
    if (!is_sqlite()) {
        failed += HARNESS_RUN("pool", "server", server_tests, NULL);
        if (is_pg())
            failed += HARNESS_RUN("pool", "only", pg_tests, NULL);
    } else {
        failed += HARNESS_RUN("pool", "only", sqlite_tests, NULL);
    }
    failed += HARNESS_RUN("pool", "freed_engine", race_tests, NULL);
    harness_cleanup();
    return failed ? 1 : 0;
}
