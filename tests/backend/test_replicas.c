/* test_replicas.c — read replicas against a real PostgreSQL primary with two streaming replicas, or a MariaDB primary with a GTID replica: routing, read-your-writes, lag, failures, the ORM session option. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The topology (scripts/scaleout/pg-replicas.sh, mariadb-replica.sh). */
static const char *primary_url;
static const char *replica_urls[2];
static int nreplicas;
static const char *topology_dir;
static const char *topology_script;
/* Each server's port, to tell from a connection where it really is. */
static int64_t primary_port, replica_ports[2];
/* Connections straight to each replica (AUTOCOMMIT), to hold its replay. */
static cr_engine *admin[2];

#define TABLE "replica_items"

static const char *port_sql(void) { return is_pg() ? "SELECT inet_server_port()" : "SELECT @@port"; }

static cr_engine *plain_engine(const char *url, bool autocommit)
{
    /* pre-ping: the admin connections outlive a replica's restart. */
    cr_engine_options o = {.isolation_level = autocommit ? "AUTOCOMMIT" : NULL,
                           .pool_pre_ping = autocommit};
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, &o, &err);
    if (!e) {
        print_error("%s: %s\n", url, cr_error_message(err));
        cr_error_free(err);
        fail();
    }
    return e;
}

/* An engine on the primary with every replica, and these options. */
static cr_engine *replicated(const cr_replica_options *o)
{
    cr_engine *e = plain_engine(primary_url, false);
    cr_error *err = NULL;
    for (int i = 0; i < nreplicas; i++) {
        cr_status st = cr_engine_add_replica(e, replica_urls[i], &err);
        if (st) {
            print_error("add_replica: %s\n", cr_error_message(err));
            cr_error_free(err);
            fail();
        }
    }
    if (cr_engine_set_replica_options(e, o, &err)) {
        print_error("set_replica_options: %s\n", cr_error_message(err));
        cr_error_free(err);
        fail();
    }
    return e;
}

static cr_conn *readonly_ok(cr_engine *e, const char *token)
{
    cr_error *err = NULL;
    cr_conn *c = cr_engine_connect_readonly_after(e, token, &err);
    if (!c) {
        print_error("connect_readonly: %s: %s\n", cr_error_class_name(err), cr_error_message(err));
        cr_error_free(err);
        fail();
    }
    return c;
}

/* Which server c is on: -1 the primary, else the replica's index. */
static int server_of(cr_conn *c)
{
    int64_t port = scalar_int(c, port_sql());
    for (int i = 0; i < nreplicas; i++)
        if (port == replica_ports[i])
            return i;
    assert_int_equal(port, primary_port);
    return -1;
}

/* Hold or release replica i's replay of what it receives. */
static void replay(int i, bool on)
{
    cr_conn *c = connect_ok(admin[i]);
    if (is_pg())
        exec_ok(c, on ? "SELECT pg_wal_replay_resume()" : "SELECT pg_wal_replay_pause()");
    else
        exec_ok(c, on ? "START SLAVE SQL_THREAD" : "STOP SLAVE SQL_THREAD");
    cr_conn_close(c);
}

static void replay_all(bool on)
{
    for (int i = 0; i < nreplicas; i++)
        replay(i, on);
}

/* Resume every replica's replay after a delay, from another thread. */
static void *resume_later(void *arg)
{
    harness_sleep(*(double *)arg);
    replay_all(true);
    return NULL;
}

static int64_t insert_row(cr_engine *e, int64_t id)
{
    cr_conn *c = connect_ok(e);
    ASSERT_OK(cr_conn_exec(c, "INSERT INTO " TABLE " (id, note) VALUES (:id, 'x')",
                           CR_PARAMS({"id", cr_val_int(id)})),
              cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    return id;
}

static int64_t count_id(cr_conn *c, int64_t id)
{
    cr_result *r = cr_conn_execute(c, "SELECT count(*) FROM " TABLE " WHERE id = :id",
                                   CR_PARAMS({"id", cr_val_int(id)}));
    assert_non_null(r);
    int64_t n = -1;
    ASSERT_OK(cr_result_scalar_int64(r, &n), cr_result_error(r));
    cr_result_free(r);
    return n;
}

/* Wait until every replica has what the primary has (replay running). */
static void catch_up(void)
{
    cr_engine *p = plain_engine(primary_url, true);
    cr_conn *c = connect_ok(p);
    char token[CR_TOKEN_MAX];
    ASSERT_OK(cr_conn_commit_token(c, token, sizeof token), cr_conn_error(c));
    cr_conn_close(c);
    cr_engine_free(p);
    for (int i = 0; i < nreplicas; i++) {
        cr_engine *e = plain_engine(primary_url, false);
        cr_error *err = NULL;
        ASSERT_OK(cr_engine_add_replica(e, replica_urls[i], &err), err);
        cr_replica_options o = {.primary_fallback = CR_NO, .wait_timeout = 30};
        ASSERT_OK(cr_engine_set_replica_options(e, &o, &err), err);
        cr_conn *rc = readonly_ok(e, token);
        cr_conn_close(rc);
        cr_engine_free(e);
    }
}

static int64_t next_id = 1;

static int setup(void **state)
{
    (void)state;
    replay_all(true);
    return 0;
}

/* ---- routing --------------------------------------------------------------------- */

static void test_routing(void **state)
{
    (void)state;
    cr_engine *e = replicated(NULL);
    assert_int_equal(cr_engine_replica_count(e), nreplicas);
    /* Writes and ordinary connections: the primary. */
    cr_conn *w = connect_ok(e);
    assert_int_equal(cr_conn_replica(w), -1);
    assert_int_equal(server_of(w), -1);
    assert_ptr_equal(cr_conn_engine(w), e);
    cr_conn_close(w);
    insert_row(e, next_id++);
    /* Read-only connections: the replicas in turn, as cr_conn_replica says. */
    int served[2] = {0, 0};
    for (int k = 0; k < 20; k++) {
        cr_conn *c = readonly_ok(e, NULL);
        int r = cr_conn_replica(c);
        assert_true(r >= 0 && r < nreplicas);
        assert_int_equal(server_of(c), r);
        assert_ptr_equal(cr_conn_engine(c), e);
        served[r]++;
        cr_conn_close(c);
    }
    for (int i = 0; i < nreplicas; i++) {
        assert_int_equal(served[i], 20 / nreplicas);
        cr_replica_status st;
        ASSERT_OK(cr_engine_replica_status(e, i, &st), NULL);
        assert_int_equal(st.reads, 20 / nreplicas);
        assert_true(st.up);
        assert_non_null(strstr(st.url, "***"));
    }
    cr_replica_status ps;
    ASSERT_OK(cr_engine_replica_status(e, -1, &ps), NULL);
    assert_int_equal(ps.reads, 0);
    /* A replica refuses writes. */
    cr_conn *c = readonly_ok(e, NULL);
    assert_int_not_equal(cr_conn_exec(c, "INSERT INTO " TABLE " (id, note) VALUES (-1, 'no')",
                                      NULL), CR_OK);
    print_message("a write on a replica: %s\n", cr_error_message(cr_conn_error(c)));
    cr_conn_close(c);
    /* begin_readonly: a transaction on a replica. */
    cr_error *err = NULL;
    c = cr_engine_begin_readonly(e, &err);
    assert_non_null(c);
    assert_true(cr_conn_in_transaction(c));
    assert_true(cr_conn_replica(c) >= 0);
    cr_conn_close(c);
    assert_int_equal(cr_engine_replica_status(e, nreplicas, &ps), CR_ERR_ARGUMENT);
    assert_int_equal(cr_engine_replica_status(e, -2, &ps), CR_ERR_ARGUMENT);
    cr_engine_free(e);
}

/* Freeing the engine with read-only connections still out: they stay
 * usable until closed, as any connection does (ASan watches). */
static void test_free_engine_with_readonly_out(void **state)
{
    (void)state;
    cr_replica_options o = {.primary_fallback = CR_YES};
    cr_engine *e = replicated(&o);
    cr_conn *on_replica = readonly_ok(e, NULL);
    assert_true(cr_conn_replica(on_replica) >= 0);
    cr_conn *w = connect_ok(e);
    cr_engine_free(e);
    assert_int_equal(scalar_int(on_replica, "SELECT 1"), 1);
    assert_int_equal(scalar_int(w, "SELECT 2"), 2);
    cr_conn_close(w);
    assert_int_equal(scalar_int(on_replica, "SELECT 3"), 3);
    cr_conn_close(on_replica);
}

/* An engine without replicas: read-only work is the primary's. */
static void test_no_replicas(void **state)
{
    (void)state;
    cr_engine *e = plain_engine(primary_url, false);
    assert_int_equal(cr_engine_replica_count(e), 0);
    cr_conn *c = readonly_ok(e, NULL);
    assert_int_equal(cr_conn_replica(c), -1);
    assert_int_equal(server_of(c), -1);
    cr_conn_close(c);
    cr_engine_free(e);
}

/* ---- read-your-writes -------------------------------------------------------------- */

/* With replay held back on every replica and let go 50 ms later, a read
 * after a commit must wait for it: without the wait it would miss the row. */
static void ryw_rounds(cr_engine *e, int rounds, bool auto_mode)
{
    cr_engine *writer = auto_mode ? e : plain_engine(primary_url, false);
    int on_replica = 0;
    for (int k = 0; k < rounds; k++) {
        bool held = k % 4 == 0;   /* every fourth round; the rest at full speed */
        if (held)
            replay_all(false);
        int64_t id = insert_row(writer, next_id++);
        char token[CR_TOKEN_MAX] = "";
        if (!auto_mode) {
            cr_conn *w = connect_ok(writer);
            ASSERT_OK(cr_conn_commit_token(w, token, sizeof token), cr_conn_error(w));
            cr_conn_close(w);
        }
        pthread_t t;
        double delay = 0.05;
        if (held)
            assert_int_equal(pthread_create(&t, NULL, resume_later, &delay), 0);
        cr_conn *c = readonly_ok(e, auto_mode ? NULL : token);
        int64_t seen = count_id(c, id);
        if (seen != 1)
            print_error("round %d: row %lld not seen on %d\n", k, (long long)id,
                        cr_conn_replica(c));
        assert_int_equal(seen, 1);
        on_replica += cr_conn_replica(c) >= 0;
        cr_conn_close(c);
        if (held)
            pthread_join(t, NULL);
    }
    /* The wait made the replicas usable, not the fallback. */
    print_message("%d of %d reads after a commit served by a replica\n", on_replica, rounds);
    assert_true(on_replica >= rounds * 9 / 10);
    if (!auto_mode)
        cr_engine_free(writer);
}

static void test_ryw_engine_wide(void **state)
{
    (void)state;
    cr_replica_options o = {.read_your_writes = true, .wait_timeout = 5};
    cr_engine *e = replicated(&o);
    ryw_rounds(e, 60, true);
    long waits = 0, timeouts = 0;
    for (int i = 0; i < nreplicas; i++) {
        cr_replica_status st;
        ASSERT_OK(cr_engine_replica_status(e, i, &st), NULL);
        waits += st.waits;
        timeouts += st.wait_timeouts;
    }
    assert_int_equal(waits, 60);
    assert_int_equal(timeouts, 0);
    cr_engine_free(e);
}

/* The token of a commit made through another engine (another process in
 * real life), carried to the read. */
static void test_ryw_token(void **state)
{
    (void)state;
    cr_replica_options o = {.wait_timeout = 5};
    cr_engine *e = replicated(&o);
    ryw_rounds(e, 40, false);
    /* The control: without the token, a held replica misses the row. */
    replay_all(false);
    int64_t id = insert_row(e, next_id++);
    cr_conn *c = readonly_ok(e, NULL);
    assert_true(cr_conn_replica(c) >= 0);
    assert_int_equal(count_id(c, id), 0);
    cr_conn_close(c);
    replay_all(true);
    cr_engine_free(e);
}

static void test_token_misuse(void **state)
{
    (void)state;
    cr_engine *e = replicated(NULL);
    cr_conn *w = connect_ok(e);
    char token[CR_TOKEN_MAX];
    exec_ok(w, "SELECT 1");   /* a transaction in progress */
    assert_int_equal(cr_conn_commit_token(w, token, sizeof token), CR_ERR_INVALID_REQUEST);
    ASSERT_OK(cr_conn_commit(w), cr_conn_error(w));
    assert_int_equal(cr_conn_commit_token(w, token, 2), CR_ERR_ARGUMENT);
    print_message("%s\n", cr_error_message(cr_conn_error(w)));
    assert_int_equal(cr_conn_commit_token(w, NULL, 10), CR_ERR_ARGUMENT);
    ASSERT_OK(cr_conn_commit_token(w, token, sizeof token), cr_conn_error(w));
    cr_conn_close(w);
    cr_conn *r = readonly_ok(e, token);
    assert_int_equal(cr_conn_commit_token(r, token, sizeof token), CR_ERR_INVALID_REQUEST);
    cr_conn_close(r);
    /* Not a position of this backend. */
    const char *bad[] = {"garbage", "0/zz", "1-2", "'; DROP TABLE x; --", "0-1-2,x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_error *err = NULL;
        assert_null(cr_engine_connect_readonly_after(e, bad[i], &err));
        assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
        print_message("token %s: %s\n", bad[i], cr_error_message(err));
        cr_error_free(err);
    }
    cr_engine_free(e);
}

/* The wait is bounded: past it the read goes to the primary, and sees the
 * row; with primary_fallback off it fails with a TimeoutError. */
static void test_wait_timeout_falls_back(void **state)
{
    (void)state;
    cr_replica_options o = {.read_your_writes = true, .wait_timeout = 0.3};
    cr_engine *e = replicated(&o);
    replay_all(false);
    int64_t id = insert_row(e, next_id++);
    double t0 = harness_now();
    cr_conn *c = readonly_ok(e, NULL);
    double waited = harness_now() - t0;
    assert_int_equal(cr_conn_replica(c), -1);
    assert_int_equal(server_of(c), -1);
    assert_int_equal(count_id(c, id), 1);
    cr_conn_close(c);
    print_message("fell back to the primary after %.3f s\n", waited);
    assert_true(waited >= 0.3 && waited < 2.0);
    cr_replica_status st;
    ASSERT_OK(cr_engine_replica_status(e, -1, &st), NULL);
    assert_int_equal(st.reads, 1);
    long timeouts = 0;
    for (int i = 0; i < nreplicas; i++) {
        ASSERT_OK(cr_engine_replica_status(e, i, &st), NULL);
        timeouts += st.wait_timeouts;
        assert_true(st.up);   /* slow is not down */
    }
    assert_int_equal(timeouts, 1);

    o.primary_fallback = CR_NO;
    cr_error *err = NULL;
    ASSERT_OK(cr_engine_set_replica_options(e, &o, &err), err);
    assert_null(cr_engine_connect_readonly(e, &err));
    assert_int_equal(cr_error_class(err), CR_ERR_TIMEOUT);
    print_message("%s\n", cr_error_message(err));
    cr_error_free(err);
    replay_all(true);
    cr_engine_free(e);
}

/* ---- lag, failures ------------------------------------------------------------------ */

static void test_lagging_replica_skipped(void **state)
{
    (void)state;
    cr_replica_options o = {.max_lag = 0.5, .check_interval = CR_NONE};
    cr_engine *e = replicated(&o);
    replay(0, false);
    insert_row(e, next_id++);
    harness_sleep(1.0);
    insert_row(e, next_id++);   /* WAL received and not replayed */
    for (int k = 0; k < 10; k++) {
        cr_conn *c = readonly_ok(e, NULL);
        int r = cr_conn_replica(c);
        assert_int_not_equal(r, 0);
        assert_int_equal(server_of(c), r);
        cr_conn_close(c);
    }
    cr_replica_status st;
    ASSERT_OK(cr_engine_replica_status(e, 0, &st), NULL);
    print_message("replica 0: lag %.3f s, lagging %d, skips %ld\n", st.lag, st.lagging, st.skips);
    assert_true(st.lagging);
    assert_true(st.lag > 0.5);
    assert_true(st.skips >= 3);   /* when its turn came first */
    assert_int_equal(st.reads, 0);
    /* Caught up again: used again at its next check. */
    replay(0, true);
    catch_up();
    bool used = false;
    for (int k = 0; k < 10 && !used; k++) {
        cr_conn *c = readonly_ok(e, NULL);
        used = cr_conn_replica(c) == 0;
        cr_conn_close(c);
    }
    assert_true(used);
    cr_engine_free(e);
}

static void run_script(const char *verb, int replica)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "bash '%s/scripts/scaleout/%s' %s %d '%s' 1>&2", CRUCIBLE_SOURCE_DIR,
             topology_script, verb, replica, topology_dir);
    double t0 = harness_now();
    int rc = harness_system(cmd);
    print_message("%s replica %d: %.2f s\n", verb, replica, harness_now() - t0);
    if (rc != 0) {
        print_error("%s\n  failed (status %d)\n", cmd, rc);
        fail();
    }
}

/* A replica killed with connections in its pool loses no read: they go to
 * the other replica (or the primary), and to it again once it is back and
 * the retry interval has passed. */
static void test_killed_replica(void **state)
{
    (void)state;
    cr_replica_options o = {.retry_interval = 0.5};
    cr_engine *e = replicated(&o);
    int64_t id = insert_row(e, next_id++);
    catch_up();
    /* Pooled connections on every replica. */
    cr_conn *held[4];
    for (int k = 0; k < 4; k++)
        held[k] = readonly_ok(e, NULL);
    for (int k = 0; k < 4; k++)
        cr_conn_close(held[k]);
    int victim = nreplicas - 1;
    run_script("kill-replica", victim + 1);
    int lost = 0;
    for (int k = 0; k < 40; k++) {
        cr_conn *c = readonly_ok(e, NULL);
        assert_int_not_equal(cr_conn_replica(c), victim);
        cr_result *r = cr_conn_execute(c, "SELECT count(*) FROM " TABLE " WHERE id = :id",
                                       CR_PARAMS({"id", cr_val_int(id)}));
        int64_t n = 0;
        if (!r || cr_result_scalar_int64(r, &n) != CR_OK || n != 1)
            lost++;
        cr_result_free(r);
        cr_conn_close(c);
    }
    assert_int_equal(lost, 0);
    cr_replica_status st;
    ASSERT_OK(cr_engine_replica_status(e, victim, &st), NULL);
    print_message("killed replica: failures %ld, skips %ld, up %d: %s\n", st.failures, st.skips,
                  st.up, st.last_error);
    assert_true(st.failures >= 1);
    assert_true(st.last_error[0] != '\0');
    run_script("start-replica", victim + 1);
    catch_up();
    harness_sleep(0.6);
    bool back = false;
    for (int k = 0; k < 10 && !back; k++) {
        cr_conn *c = readonly_ok(e, NULL);
        back = cr_conn_replica(c) == victim;
        if (back)
            assert_int_equal(count_id(c, id), 1);
        cr_conn_close(c);
    }
    assert_true(back);
    cr_engine_free(e);
}

/* A replica URL on which nothing listens: skipped, reads served elsewhere;
 * with primary_fallback off and no other replica, an OperationalError
 * naming it. */
static void test_unreachable_replica(void **state)
{
    (void)state;
    char url[512];
    /* The primary's URL with port 1, where nothing listens. */
    snprintf(url, sizeof url, "%s", primary_url);
    char *at = strrchr(url, '@');
    char *colon = at ? strchr(at, ':') : NULL;
    char *slash = colon ? strchr(colon, '/') : NULL;
    assert_non_null(slash);
    char rest[256];
    snprintf(rest, sizeof rest, "%s", slash);
    snprintf(colon, sizeof url - (size_t)(colon - url), ":1%s", rest);

    cr_engine *e = plain_engine(primary_url, false);
    cr_error *err = NULL;
    ASSERT_OK(cr_engine_add_replica(e, url, &err), err);
    ASSERT_OK(cr_engine_add_replica(e, replica_urls[0], &err), err);
    for (int k = 0; k < 6; k++) {
        cr_conn *c = readonly_ok(e, NULL);
        assert_int_equal(cr_conn_replica(c), 1);
        assert_int_equal(server_of(c), 0);
        cr_conn_close(c);
    }
    cr_replica_status st;
    ASSERT_OK(cr_engine_replica_status(e, 0, &st), NULL);
    assert_false(st.up);
    assert_int_equal(st.failures, 1);   /* then skipped until the retry */
    assert_true(st.skips >= 2);
    print_message("unreachable: %s\n", st.last_error);
    assert_non_null(strstr(st.last_error, "connect"));
    cr_engine_free(e);

    e = plain_engine(primary_url, false);
    ASSERT_OK(cr_engine_add_replica(e, url, &err), err);
    cr_replica_options o = {.primary_fallback = CR_NO};
    ASSERT_OK(cr_engine_set_replica_options(e, &o, &err), err);
    assert_null(cr_engine_connect_readonly(e, &err));
    assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
    print_message("%s\n", cr_error_message(err));
    assert_non_null(strstr(cr_error_message(err), "replica 0"));
    cr_error_free(err);
    cr_engine_free(e);
}

/* Configuration mistakes are refused, naming what is wrong. */
static void test_bad_configuration(void **state)
{
    (void)state;
    cr_engine *e = plain_engine(primary_url, false);
    cr_error *err = NULL;
    assert_int_equal(cr_engine_add_replica(e, "not a url", &err), CR_ERR_ARGUMENT);
    cr_error_free(err);
    assert_int_equal(cr_engine_add_replica(e, NULL, &err), CR_ERR_ARGUMENT);
    cr_error_free(err);
    if (cr_backend_available("sqlite")) {
        assert_int_equal(cr_engine_add_replica(e, "sqlite://", &err), CR_ERR_ARGUMENT);
        print_message("%s\n", cr_error_message(err));
        cr_error_free(err);
        cr_engine *lite = plain_engine("sqlite://", false);
        assert_int_equal(cr_engine_add_replica(lite, "sqlite://", &err), CR_ERR_NOT_SUPPORTED);
        print_message("%s\n", cr_error_message(err));
        cr_error_free(err);
        cr_conn *c = readonly_ok(lite, NULL);   /* no replicas: the database itself */
        char token[CR_TOKEN_MAX];
        assert_int_equal(cr_conn_commit_token(c, token, sizeof token), CR_ERR_NOT_SUPPORTED);
        cr_conn_close(c);
        cr_engine_free(lite);
    }
    cr_replica_options bad[] = {
        {.max_lag = -3}, {.wait_timeout = -2.5}, {.retry_interval = -0.5}, {.check_interval = -4},
        {.policy = (cr_replica_policy)7}, {.primary_fallback = (cr_tristate){9}},
        {.check_connections = (cr_tristate){4}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cr_engine_set_replica_options(e, &bad[i], &err), CR_ERR_ARGUMENT);
        print_message("%s\n", cr_error_message(err));
        cr_error_free(err);
    }
    for (int i = 0; i < CR_MAX_REPLICAS; i++)
        ASSERT_OK(cr_engine_add_replica(e, replica_urls[0], &err), err);
    assert_int_equal(cr_engine_add_replica(e, replica_urls[0], &err), CR_ERR_ARGUMENT);
    cr_error_free(err);
    cr_engine_free(e);
}

/* Least lag: a replica behind is not chosen while another is caught up. */
static void test_least_lag(void **state)
{
    (void)state;
    if (nreplicas < 2)
        skip();
    cr_replica_options o = {.policy = CR_REPLICA_LEAST_LAG, .check_interval = CR_NONE};
    cr_engine *e = replicated(&o);
    replay(1, false);
    insert_row(e, next_id++);
    harness_sleep(0.3);
    insert_row(e, next_id++);
    int on[2] = {0, 0};
    for (int k = 0; k < 10; k++) {
        cr_conn *c = readonly_ok(e, NULL);
        on[cr_conn_replica(c)]++;
        cr_conn_close(c);
    }
    print_message("least lag: %d on replica 0, %d on the held replica 1\n", on[0], on[1]);
    assert_true(on[0] >= 9);
    replay(1, true);
    cr_engine_free(e);
}

/* Threads reading through one engine, while another writes: every read
 * that asked for read-your-writes sees its writer's rows. */
typedef struct reader_arg {
    cr_engine *e;
    int64_t base;
    int failures;
} reader_arg;

static void *read_own_writes(void *p)
{
    reader_arg *a = p;
    for (int k = 0; k < 25; k++) {
        int64_t id = a->base + k;
        cr_error *err = NULL;
        cr_conn *w = cr_engine_connect(a->e, &err);
        char token[CR_TOKEN_MAX];
        if (!w || cr_conn_exec(w, "INSERT INTO " TABLE " (id, note) VALUES (:id, 't')",
                               CR_PARAMS({"id", cr_val_int(id)})) ||
            cr_conn_commit(w) || cr_conn_commit_token(w, token, sizeof token)) {
            a->failures++;
            cr_error_free(err);
            cr_conn_close(w);
            continue;
        }
        cr_conn_close(w);
        cr_conn *c = cr_engine_connect_readonly_after(a->e, token, &err);
        cr_result *r = c ? cr_conn_execute(c, "SELECT count(*) FROM " TABLE " WHERE id = :id",
                                           CR_PARAMS({"id", cr_val_int(id)}))
                         : NULL;
        int64_t n = 0;
        if (!r || cr_result_scalar_int64(r, &n) || n != 1)
            a->failures++;
        cr_result_free(r);
        cr_conn_close(c);
        cr_error_free(err);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    cr_engine *e = replicated(NULL);
    pthread_t t[4];
    reader_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg){e, 1000000 + i * 1000, 0};
        assert_int_equal(pthread_create(&t[i], NULL, read_own_writes, &args[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        failures += args[i].failures;
    }
    assert_int_equal(failures, 0);
    cr_engine_free(e);
}

/* ---- the ORM ----------------------------------------------------------------------- */

#define RNOTE(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true, .autoincrement = CR_NO)               \
    F(body,    STRING(50))
CR_MODEL(RNote, "replica_notes", RNOTE)
static cr_metadata *md;

static long replica_reads(cr_engine *e)
{
    long n = 0;
    for (int i = 0; i < nreplicas; i++) {
        cr_replica_status st;
        ASSERT_OK(cr_engine_replica_status(e, i, &st), NULL);
        n += st.reads;
    }
    return n;
}

/* after_begin: the replica (or -1, the primary) of each connection the
 * session began on. */
static int begun_on[64];
static int nbegun;

static cr_status note_begin(cr_session *s, cr_conn *conn, void *userdata)
{
    (void)s, (void)userdata;
    if (nbegun < 64)
        begun_on[nbegun++] = cr_conn_replica(conn);
    return CR_OK;
}

static void test_orm_session_reads_replicas(void **state)
{
    (void)state;
    cr_replica_options o = {.wait_timeout = 5};
    cr_engine *e = replicated(&o);
    cr_session_options so = {.read_from_replicas = true};
    cr_session *s = cr_session_new(e, &so);
    assert_non_null(s);
    nbegun = 0;
    ASSERT_OK(cr_session_listen(s, CR_AFTER_BEGIN, note_begin, NULL), cr_session_error(s));
    int on_replica = 0;
    for (int k = 0; k < 12; k++) {
        bool held = k % 3 == 0;
        RNote *n = cr_new(RNote);
        n->id = 100 + k;
        n->body = "hello";
        ASSERT_OK(cr_session_add(s, n), cr_session_error(s));
        /* The flush and commit: the primary. */
        ASSERT_OK(cr_session_flush(s), cr_session_error(s));
        assert_int_equal(cr_conn_replica(cr_session_connection(s)), -1);
        if (held)
            replay_all(false);
        ASSERT_OK(cr_session_commit(s), cr_session_error(s));
        pthread_t t;
        double delay = 0.05;
        if (held)
            assert_int_equal(pthread_create(&t, NULL, resume_later, &delay), 0);
        /* A new session's read would not wait; this one waits for its commit. */
        ASSERT_OK(cr_session_expunge(s, n), cr_session_error(s));
        cr_object_free(n);
        long before = replica_reads(e);
        RNote *again = cr_session_get(s, RNote, 100 + k);
        if (!again)
            print_error("round %d: %s\n", k, cr_error_message(cr_session_error(s)));
        assert_non_null(again);
        assert_string_equal(again->body, "hello");
        bool read_replica = replica_reads(e) > before;
        on_replica += read_replica;
        /* The flush began on the primary, the get on where it read. */
        assert_int_equal(nbegun, 2 * k + 2);
        assert_int_equal(begun_on[2 * k], -1);
        assert_true(read_replica ? begun_on[2 * k + 1] >= 0 : begun_on[2 * k + 1] == -1);
        ASSERT_OK(cr_session_commit(s), cr_session_error(s));
        if (held)
            pthread_join(t, NULL);
    }
    print_message("%d of 12 session reads after a commit on a replica\n", on_replica);
    assert_true(on_replica >= 11);
    /* An expired object a flush updates is read again on the primary, in
     * the flush's transaction: one transaction begun, there. */
    RNote *last = cr_session_get(s, RNote, 111);
    assert_non_null(last);
    ASSERT_OK(cr_session_commit(s), cr_session_error(s));
    assert_true(cr_object_expired(last));
    last->body = "bye";
    nbegun = 0;
    ASSERT_OK(cr_session_flush(s), cr_session_error(s));
    assert_int_equal(nbegun, 1);
    assert_int_equal(begun_on[0], -1);
    assert_false(cr_object_expired(last));
    ASSERT_OK(cr_session_commit(s), cr_session_error(s));
    cr_session_free(s);
    cr_engine_free(e);
}

static int group_teardown(void **state)
{
    (void)state;
    replay_all(true);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "postgresql") != 0 && strcmp(argv[1], "mysql") != 0)) {
        fprintf(stderr, "usage: %s postgresql|mysql\n", argv[0]);
        return 2;
    }
    backend = argv[1];
    bool pg = is_pg();
    const char *need[] = {pg ? "CRUCIBLE_PG_PRIMARY_URL" : "CRUCIBLE_MYSQL_PRIMARY_URL",
                          pg ? "CRUCIBLE_PG_REPLICA1_URL" : "CRUCIBLE_MYSQL_REPLICA_URL",
                          pg ? "CRUCIBLE_PG_REPLICA2_URL" : NULL,
                          pg ? "CRUCIBLE_PG_REPLICAS_DIR" : "CRUCIBLE_MYSQL_REPLICA_DIR"};
    const char *require = getenv("CRUCIBLE_REQUIRE_ALL_BACKENDS");
    bool required = require && strcmp(require, "1") == 0;
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (need[i] && (!getenv(need[i]) || !*getenv(need[i]))) {
            fprintf(stderr, "%s is not set: no %s replica topology (scripts/scaleout/%s)%s\n",
                    need[i], backend, pg ? "pg-replicas.sh" : "mariadb-replica.sh",
                    required ? " (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)" : "; skipping");
            return required ? 1 : 77;
        }
    }
    primary_url = backend_url = getenv(need[0]);
    replica_urls[0] = getenv(need[1]);
    replica_urls[1] = pg ? getenv(need[2]) : NULL;
    nreplicas = pg ? 2 : 1;
    topology_dir = getenv(need[3]);
    topology_script = pg ? "pg-replicas.sh" : "mariadb-replica.sh";

    /* The ports, and the tables, once. */
    cr_engine *p = cr_create_engine(primary_url, NULL, NULL);
    cr_conn *c = p ? cr_engine_connect(p, NULL) : NULL;
    if (!c) {
        fprintf(stderr, "cannot connect to the primary %s\n", primary_url);
        return 1;
    }
    cr_result *r = cr_conn_execute(c, port_sql(), NULL);
    if (!r || cr_result_scalar_int64(r, &primary_port))
        return 1;
    cr_result_free(r);
    if (cr_conn_exec(c, "DROP TABLE IF EXISTS " TABLE, NULL) ||
        cr_conn_exec(c, "CREATE TABLE " TABLE " (id BIGINT PRIMARY KEY, note VARCHAR(20))", NULL) ||
        cr_conn_exec(c, "DROP TABLE IF EXISTS replica_notes", NULL) ||
        cr_conn_exec(c, "CREATE TABLE replica_notes (id INTEGER PRIMARY KEY, body VARCHAR(50))",
                     NULL) ||
        cr_conn_commit(c)) {
        fprintf(stderr, "tables: %s\n", cr_error_message(cr_conn_error(c)));
        return 1;
    }
    cr_conn_close(c);
    cr_engine_free(p);
    for (int i = 0; i < nreplicas; i++) {
        cr_engine_options o = {.isolation_level = "AUTOCOMMIT", .pool_pre_ping = true};
        admin[i] = cr_create_engine(replica_urls[i], &o, NULL);
        c = admin[i] ? cr_engine_connect(admin[i], NULL) : NULL;
        r = c ? cr_conn_execute(c, port_sql(), NULL) : NULL;
        if (!r || cr_result_scalar_int64(r, &replica_ports[i])) {
            fprintf(stderr, "cannot connect to replica %d: %s\n", i, replica_urls[i]);
            return 1;
        }
        cr_result_free(r);
        cr_conn_close(c);
    }
    md = cr_metadata_new(NULL);
    if (!md || RNote_define(md))
        return 1;

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_routing, setup),
        cmocka_unit_test_setup(test_no_replicas, setup),
        cmocka_unit_test_setup(test_free_engine_with_readonly_out, setup),
        cmocka_unit_test_setup(test_ryw_engine_wide, setup),
        cmocka_unit_test_setup(test_ryw_token, setup),
        cmocka_unit_test_setup(test_token_misuse, setup),
        cmocka_unit_test_setup(test_wait_timeout_falls_back, setup),
        cmocka_unit_test_setup(test_lagging_replica_skipped, setup),
        cmocka_unit_test_setup(test_least_lag, setup),
        cmocka_unit_test_setup(test_killed_replica, setup),
        cmocka_unit_test_setup(test_unreachable_replica, setup),
        cmocka_unit_test_setup(test_bad_configuration, setup),
        cmocka_unit_test_setup(test_threads, setup),
        cmocka_unit_test_setup(test_orm_session_reads_replicas, setup),
    };
    int failed = HARNESS_RUN("replicas", NULL, tests, group_teardown);
    for (int i = 0; i < nreplicas; i++)
        cr_engine_free(admin[i]);
    cr_metadata_free(md);
    return failed ? 1 : 0;
}
