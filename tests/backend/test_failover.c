/* test_failover.c — a PostgreSQL primary dies and its synchronous standby is promoted under writers on a multi-host URL. */
/*
 * The suite starts its own primary + synchronous standby pair
 * (scripts/scaleout/pg-failover.sh start, in a temporary directory), since it
 * destroys the primary, and stops it afterwards. Writer threads commit rows
 * through one engine on postgresql://...@h1,h2/db?target_session_attrs=read-write
 * and record each id whose COMMIT reported success; the primary is killed
 * (pg_ctl stop -m immediate) and the standby promoted (pg_ctl promote). The
 * writers see errors and carry on (new checkouts reach the new primary);
 * afterwards every id reported committed is on the new primary, the pool has
 * invalidated its connections to the old one, and the transactions that were
 * open at the failure got clear errors: retryable when their COMMIT had not
 * been sent, commit_unknown when it had.
 *
 * Run as `test_failover postgresql` (ctest: failover_postgresql). Like the
 * other backend suites it runs when CRUCIBLE_PG_URL says PostgreSQL is to be
 * tested (its server is not used), and is skipped otherwise, or fails with
 * CRUCIBLE_REQUIRE_ALL_BACKENDS=1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CRUCIBLE_SOURCE_DIR
#error "CRUCIBLE_SOURCE_DIR must name the source tree (scripts/scaleout/pg-failover.sh)"
#endif

static char pair_dir[256];          /* the pair's directory; "" when not started */
static char failover_url[1024];
static int ports[2];                /* node 1 (the first primary), node 2 */

/* Run a subcommand of the topology script on the pair; 0 on success. */
static int pair(const char *subcommand)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "bash '%s/scripts/scaleout/pg-failover.sh' %s '%s' 1>&2",
             CRUCIBLE_SOURCE_DIR, subcommand, pair_dir);
    double t0 = harness_now();
    int rc = harness_system(cmd);
    print_message("pg-failover.sh %s: %.2f s (status %d)\n", subcommand, harness_now() - t0, rc);
    return rc;
}

/* The pair's settings from DIR/env (written with printf %q: unescaped here). */
static bool read_env(void)
{
    char path[300], line[2048];
    snprintf(path, sizeof path, "%s/env", pair_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char plain[2048];
        size_t n = 0;
        for (const char *p = line; *p && n + 1 < sizeof plain; p++) {
            if (*p == '\\' && p[1])
                p++;
            plain[n++] = *p;
        }
        plain[n] = '\0';
        if (strncmp(plain, "CRUCIBLE_PG_FAILOVER_URL=", 25) == 0)
            snprintf(failover_url, sizeof failover_url, "%s", plain + 25);
        else if (strncmp(plain, "CRUCIBLE_PG_FAILOVER_PORTS=", 27) == 0)
            sscanf(plain + 27, "%d %d", &ports[0], &ports[1]);
    }
    fclose(f);
    return failover_url[0] && ports[0] && ports[1];
}

static int stop_pair(void **state)
{
    (void)state;
    if (!pair_dir[0])
        return 0;
    int rc = pair("stop");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pair_dir);
    if (rc == 0 && system(cmd) != 0)
        rc = 1;
    pair_dir[0] = '\0';
    return rc == 0 ? 0 : -1;
}

static int start_pair(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(pair_dir, sizeof pair_dir, "%s/crfo-XXXXXX", tmp);
    if (strchr(pair_dir, '\'') || strchr(CRUCIBLE_SOURCE_DIR, '\'') || !mkdtemp(pair_dir)) {
        fprintf(stderr, "cannot make a directory for the failover pair under %s\n", tmp);
        pair_dir[0] = '\0';
        return -1;
    }
    if (pair("start") != 0 || !read_env()) {
        fprintf(stderr, "could not start the PostgreSQL failover pair (logs under %s/pgfo)\n",
                pair_dir);
        stop_pair(state);
        return -1;
    }
    return 0;
}

/* ---- writers ---------------------------------------------------------------- */

#define WRITERS 4
#define MAX_IDS 200000

typedef struct {
    cr_engine *engine;
    int index;
    atomic_int *next_id;
    atomic_bool *stop;
    atomic_bool *promoted;          /* set once the standby is the primary */
    /* Written by the writer only; read after join. */
    int64_t *committed;             /* ids whose commit reported success */
    int ncommitted;
    int64_t *unknown;               /* ids whose COMMIT outcome is unknown */
    int nunknown;
    int disconnects, connect_failures, retried_runs;
    int unclear;                    /* failures that were not OperationalError */
    char unclear_message[512];
    atomic_int after_promotion;     /* commits that succeeded once promoted */
} writer;

static cr_status insert_id(cr_conn *c, void *userdata)
{
    const int64_t *id = userdata;
    return cr_conn_exec(c, "INSERT INTO cr_failover (id, note) VALUES (:id, 'w')",
                        CR_PARAMS({"id", cr_val_int(*id)}));
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    while (!atomic_load(w->stop)) {
        int64_t id = atomic_fetch_add(w->next_id, 1);
        bool promoted = atomic_load(w->promoted);
        int attempts = 0;
        cr_error *err = NULL;
        cr_status st = cr_engine_run_transaction(w->engine, insert_id, &id,
                                                 &(cr_retry_options){.max_attempts = 3},
                                                 &attempts, &err);
        w->retried_runs += attempts > 1 ? attempts - 1 : 0;
        if (st == CR_OK) {
            if (w->ncommitted < MAX_IDS)
                w->committed[w->ncommitted++] = id;
            if (promoted)
                atomic_fetch_add(&w->after_promotion, 1);
            continue;
        }
        if (cr_error_class(err) != CR_ERR_OPERATIONAL && w->unclear++ == 0)
            snprintf(w->unclear_message, sizeof w->unclear_message, "%s: %s",
                     cr_error_class_name(err), cr_error_message(err));
        if (cr_error_is_commit_unknown(err) && w->nunknown < MAX_IDS)
            w->unknown[w->nunknown++] = id;
        if (cr_error_is_disconnect(err))
            w->disconnects++;
        else
            w->connect_failures++;
        cr_error_free(err);
        harness_sleep(0.02);    /* no primary yet: do not spin */
    }
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool has_id(const int64_t *sorted, size_t n, int64_t id)
{
    return bsearch(&id, sorted, n, sizeof id, cmp_id) != NULL;
}

static cr_pool_status pool_status(cr_engine *e)
{
    cr_pool_status s;
    assert_int_equal(cr_engine_pool_status(e, &s), CR_OK);
    return s;
}

/* A connection of e in a transaction with one row inserted, not committed. */
static cr_conn *open_transaction(cr_engine *e, int64_t id)
{
    cr_conn *c = connect_ok(e);
    ASSERT_OK(cr_conn_exec(c, "INSERT INTO cr_failover (id, note) VALUES (:id, 'held')",
                           CR_PARAMS({"id", cr_val_int(id)})),
              cr_conn_error(c));
    assert_true(cr_conn_in_transaction(c));
    return c;
}

static void test_failover_under_writers(void **state)
{
    (void)state;
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(failover_url,
                                    &(cr_engine_options){.pool_size = 8, .max_overflow = 0},
                                    &err);
    if (!e)
        print_error("engine: %s\n", cr_error_message(err));
    assert_non_null(e);
    /* The masked URL shows both hosts. */
    char hosts[64];
    snprintf(hosts, sizeof hosts, "@127.0.0.1:%d,127.0.0.1:%d/", ports[0], ports[1]);
    assert_non_null(strstr(cr_engine_url(e), hosts));
    cr_conn *c = connect_ok(e);
    assert_int_equal(scalar_int(c, "SELECT inet_server_port()"), ports[0]);
    create_table(c, "cr_failover", "id BIGINT PRIMARY KEY, note VARCHAR(8)");
    cr_conn_close(c);

    atomic_int next_id = 1;
    atomic_bool stop = false, promoted = false;
    writer w[WRITERS];
    pthread_t threads[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){.engine = e, .index = i, .next_id = &next_id, .stop = &stop,
                        .promoted = &promoted};
        w[i].committed = calloc(MAX_IDS, sizeof(int64_t));
        w[i].unknown = calloc(MAX_IDS, sizeof(int64_t));
        assert_non_null(w[i].committed);
        assert_non_null(w[i].unknown);
        atomic_init(&w[i].after_promotion, 0);
    }
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &w[i]), 0);

    /* Two transactions held open across the failure: one whose next
     * statement will meet it, one whose COMMIT will. */
    cr_conn *inflight = open_transaction(e, -1);
    cr_conn *committing = open_transaction(e, -2);

    /* Let the writers commit for a while on the first primary. */
    double t0 = harness_now();
    while (atomic_load(&next_id) < 200 && harness_now() - t0 < 20)
        harness_sleep(0.01);
    cr_pool_status before = pool_status(e);
    int open_before = before.checked_out + before.idle;
    print_message("before the failure: %d ids handed out, %d connections open\n",
                  atomic_load(&next_id) - 1, open_before);

    double t_kill = harness_now();
    assert_int_equal(pair("kill-primary"), 0);
    harness_sleep(0.3);     /* the writers meet a dead primary and no writable standby */
    assert_int_equal(pair("promote"), 0);
    atomic_store(&promoted, true);
    double t_promoted = harness_now();

    /* Every writer commits again, on the new primary. */
    bool all = false;
    double first_after = 0;
    while (!all && harness_now() - t_promoted < 30) {
        all = true;
        for (int i = 0; i < WRITERS; i++) {
            int n = atomic_load(&w[i].after_promotion);
            if (n > 0 && first_after == 0)
                first_after = harness_now();
            all &= n >= 20;
        }
        if (!all)
            harness_sleep(0.01);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(threads[i], NULL);
    print_message("kill to promoted: %.2f s; promoted to the first commit: %.2f s\n",
                  t_promoted - t_kill, first_after ? first_after - t_promoted : -1.0);
    assert_true(all);

    /* The transaction open at the failure: its next statement fails as a
     * lost connection, safe to run again (nothing of it was committed). */
    assert_int_equal(cr_conn_exec(inflight, "INSERT INTO cr_failover (id, note) VALUES (-3, 'x')",
                                  NULL), CR_ERR_OPERATIONAL);
    const cr_error *ie = cr_conn_error(inflight);
    print_message("statement in flight: %s: %s\n", cr_error_class_name(ie), cr_error_message(ie));
    assert_true(cr_error_is_disconnect(ie));
    assert_true(cr_error_is_retryable(ie));
    assert_false(cr_error_is_commit_unknown(ie));
    cr_conn_close(inflight);
    /* The one whose COMMIT meets the failure: outcome unknown, not retryable. */
    assert_int_equal(cr_conn_commit(committing), CR_ERR_OPERATIONAL);
    const cr_error *ce = cr_conn_error(committing);
    print_message("COMMIT in flight: %s: %s\n", cr_error_class_name(ce), cr_error_message(ce));
    assert_true(cr_error_is_disconnect(ce));
    assert_true(cr_error_is_commit_unknown(ce));
    assert_false(cr_error_is_retryable(ce));
    cr_conn_close(committing);

    /* What the writers saw. */
    int committed = 0, unknown = 0, disconnects = 0, connect_failures = 0, retried = 0;
    for (int i = 0; i < WRITERS; i++) {
        committed += w[i].ncommitted;
        unknown += w[i].nunknown;
        disconnects += w[i].disconnects;
        connect_failures += w[i].connect_failures;
        retried += w[i].retried_runs;
        if (w[i].unclear)
            print_error("writer %d: %d failures not OperationalError; first: %s\n", i,
                        w[i].unclear, w[i].unclear_message);
        assert_int_equal(w[i].unclear, 0);
        assert_true(w[i].ncommitted < MAX_IDS);
    }
    print_message("writers: %d commits, %d of unknown outcome, %d lost connections, "
                  "%d failed connects, %d runs retried by run_transaction\n",
                  committed, unknown, disconnects, connect_failures, retried);
    /* The failure was seen: as lost connections (returned when the COMMIT
     * was in flight, retried otherwise) or as no primary to connect to. */
    assert_true(disconnects + connect_failures + retried > 0);

    /* Every checkout now reaches the new primary: as many connections as
     * were open at the failure, all at once, all new. */
    cr_conn *now_open[8];
    int nnow = open_before < 8 ? (open_before > 0 ? open_before : 1) : 8;
    for (int i = 0; i < nnow; i++) {
        now_open[i] = connect_ok(e);
        assert_int_equal(scalar_int(now_open[i], "SELECT inet_server_port()"), ports[1]);
        assert_int_equal(scalar_int(now_open[i],
                                    "SELECT CAST(pg_is_in_recovery() AS INTEGER)"), 0);
    }
    for (int i = 0; i < nnow; i++)
        cr_conn_close(now_open[i]);
    cr_pool_status after = pool_status(e);
    print_message("pool: %ld invalidations (%d connections were open at the failure), "
                  "%ld connects, %d checked out\n",
                  after.invalidations - before.invalidations, open_before, after.connects,
                  after.checked_out);
    assert_true(after.invalidations - before.invalidations >= open_before);
    assert_int_equal(after.checked_out, 0);

    /* No commit reported successful is lost, and nothing else is there but
     * commits of unknown outcome. */
    int64_t *ok = calloc((size_t)committed + 1, sizeof *ok);
    int64_t *maybe = calloc((size_t)unknown + 1, sizeof *maybe);
    assert_non_null(ok);
    assert_non_null(maybe);
    size_t nok = 0, nmaybe = 0;
    for (int i = 0; i < WRITERS; i++) {
        memcpy(ok + nok, w[i].committed, sizeof *ok * (size_t)w[i].ncommitted);
        nok += (size_t)w[i].ncommitted;
        memcpy(maybe + nmaybe, w[i].unknown, sizeof *maybe * (size_t)w[i].nunknown);
        nmaybe += (size_t)w[i].nunknown;
        free(w[i].committed);
        free(w[i].unknown);
    }
    qsort(ok, nok, sizeof *ok, cmp_id);
    qsort(maybe, nmaybe, sizeof *maybe, cmp_id);
    c = connect_ok(e);
    cr_result *r = cr_conn_execute(c, "SELECT id FROM cr_failover ORDER BY id", NULL);
    assert_non_null(r);
    size_t found = 0, found_unknown = 0;
    int stray = 0;
    const cr_row *row;
    while ((row = cr_result_fetchone(r)) != NULL) {
        int64_t id = 0;
        assert_int_equal(cr_row_int64_at(row, 0, &id), CR_OK);
        if (has_id(ok, nok, id))
            found++;
        else if (has_id(maybe, nmaybe, id))
            found_unknown++;
        else if (stray++ == 0)
            print_error("row %lld is there, but its commit was not reported (held: -1, -2)\n",
                        (long long)id);
    }
    assert_null(cr_conn_error(c));
    cr_result_free(r);
    print_message("on the new primary: %zu of %zu reported commits, %zu of %zu unknown ones\n",
                  found, nok, found_unknown, nmaybe);
    assert_int_equal(found, nok);
    assert_int_equal(stray, 0);
    drop_table(c, "cr_failover");
    cr_conn_close(c);
    free(ok);
    free(maybe);
    cr_engine_free(e);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    if (!is_pg()) {
        fprintf(stderr, "the failover suite runs on postgresql only\n");
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover_under_writers),
    };
    int failed = _cmocka_run_group_tests("failover_postgresql", tests,
                                         sizeof tests / sizeof tests[0], start_pair, stop_pair);
    harness_cleanup();
    return failed ? 1 : 0;
}
