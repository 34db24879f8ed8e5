/* test_galera.c — Crucible on a three-node MariaDB Galera cluster: writes on every node, certification conflicts resolved by retry, a node killed mid-load (also under a multi-host URL), a node cut off from the cluster.
 *
 *     test_galera
 *
 * The cluster is scripts/scaleout/galera.sh's: CRUCIBLE_GALERA_URL1..3 name
 * its nodes, CRUCIBLE_GALERA_URL all three in one multi-host URL, and
 * CRUCIBLE_GALERA_DIR its directory, through which the tests kill, restart,
 * isolate and rejoin node 1, the multi-host URL's first host (each test that
 * does puts the node back: the cluster is left with its three nodes
 * Synced). Without them the suite is skipped (exit 77), or fails when
 * CRUCIBLE_REQUIRE_ALL_BACKENDS=1.
 *
 * Reads that must see what another node committed run with
 * wsrep_sync_wait (causal reads): Galera replication is synchronous, but a
 * node applies what it received asynchronously. */
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
#include <time.h>

#ifndef CRUCIBLE_SOURCE_DIR
#error "CRUCIBLE_SOURCE_DIR must name the source tree (scripts/scaleout/galera.sh)"
#endif

#define NODES 3

/* The node the fault tests take away: the multi-host URL's first host. */
#define VICTIM 1

static const char *node_url[NODES + 1];
static const char *multi_url;
static const char *cluster_dir;
static cr_engine *eng[NODES + 1];   /* one a node */
static cr_engine *multi;            /* on the multi-host URL */
/* What a test did to a node and must undo, also when it failed half-way. */
static bool node_killed[NODES + 1], node_isolated[NODES + 1];

/* ---- the cluster ---------------------------------------------------------------- */

/* scripts/scaleout/galera.sh COMMAND NODE DIR; true when it succeeded. */
static bool cluster(const char *command, int node)
{
    char cmd[4096];
    if (strchr(cluster_dir, '\'') || strchr(CRUCIBLE_SOURCE_DIR, '\'')) {
        print_error("a quote in the path of the cluster or the source tree\n");
        return false;
    }
    snprintf(cmd, sizeof cmd, "bash '%s/scripts/scaleout/galera.sh' %s %d '%s' >&2",
             CRUCIBLE_SOURCE_DIR, command, node, cluster_dir);
    int rc = system(cmd);
    if (rc != 0)
        print_error("%s failed (status %d)\n", cmd, rc);
    return rc == 0;
}

/* Put back the nodes a test killed or isolated. */
static bool restore_nodes(void)
{
    bool ok = true;
    for (int n = 1; n <= NODES; n++) {
        if (node_killed[n]) {
            node_killed[n] = !cluster("start-node", n);
            ok = ok && !node_killed[n];
        }
        if (node_isolated[n]) {
            node_isolated[n] = !cluster("rejoin-node", n);
            ok = ok && !node_isolated[n];
        }
        /* Pooled connections to a server that was killed or cut off. */
        cr_engine_dispose(eng[n]);
    }
    cr_engine_dispose(multi);
    return ok;
}

/* The fault tests need the topology script's kill and isolate commands
 * and the multi-host URL: without them they are skipped, or fail when
 * every backend is required. */
static bool have_fault_setup(void)
{
    const char *missing = !cluster_dir ? "CRUCIBLE_GALERA_DIR" : !multi ? "CRUCIBLE_GALERA_URL" : NULL;
    if (!missing)
        return true;
    const char *require = getenv("CRUCIBLE_REQUIRE_ALL_BACKENDS");
    if (require && strcmp(require, "1") == 0) {
        print_error("%s is not set (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)\n", missing);
        fail();
    }
    print_message("%s is not set (scripts/scaleout/galera.sh start writes it); skipping\n",
                  missing);
    skip();
    return false;
}

/* ---- SQL helpers ----------------------------------------------------------------- */

/* Every read on this connection waits until the node has applied what the
 * cluster committed before it (wsrep_sync_wait: 1 reads, 2 UPDATE and
 * DELETE, 4 INSERT and REPLACE, 8 SHOW). */
static cr_conn *connect_causal(int node)
{
    cr_conn *c = connect_ok(eng[node]);
    exec_ok(c, "SET SESSION wsrep_sync_wait = 15");
    return c;
}

/* The node a connection is on: 1 for "node1" (galera.sh names them). */
static int node_of(cr_conn *c)
{
    cr_result *r = cr_conn_execute(c, "SELECT @@wsrep_node_name", NULL);
    const char *name = NULL;
    assert_non_null(r);
    ASSERT_OK(cr_result_scalar_text(r, &name, NULL), cr_result_error(r));
    int n = name && strncmp(name, "node", 4) == 0 ? atoi(name + 4) : -1;
    cr_result_free(r);
    return n;
}

/* The node a new checkout from engine lands on. */
static int checkout_node(cr_engine *engine)
{
    cr_conn *c = connect_ok(engine);
    int n = node_of(c);
    cr_conn_close(c);
    return n;
}

/* DDL on node 1, replicated to all nodes in total order (TOI). */
static void recreate(const char *table, const char *columns)
{
    char sql[512];
    cr_conn *c = connect_ok(eng[1]);
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", table);
    exec_ok(c, sql);
    snprintf(sql, sizeof sql, "CREATE TABLE %s (%s) ENGINE=InnoDB", table, columns);
    exec_ok(c, sql);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
}

/* A node's wsrep status counter (SHOW GLOBAL STATUS needs no privilege). */
static int64_t wsrep_status(int node, const char *name)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.GLOBAL_STATUS "
             "WHERE VARIABLE_NAME = '%s'", name);
    cr_conn *c = connect_ok(eng[node]);
    int64_t v = scalar_int(c, sql);
    cr_conn_close(c);
    return v;
}

/* ---- writes on every node ------------------------------------------------------- */

static void test_writes_on_every_node(void **state)
{
    (void)state;
    recreate("galera_rows", "id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, node INTEGER NOT NULL, "
                            "note VARCHAR(50) NOT NULL");
    int64_t id[NODES + 1];
    for (int n = 1; n <= NODES; n++) {
        cr_conn *c = connect_causal(n);
        char note[32];
        snprintf(note, sizeof note, "written on node %d", n);
        cr_result *r = cr_conn_execute(c, "INSERT INTO galera_rows (node, note) VALUES (:n, :note)",
                                       CR_PARAMS({"n", cr_val_int(n)}, {"note", cr_val_text(note)}));
        assert_non_null(r);
        ASSERT_OK(cr_result_inserted_id(r, &id[n]), cr_result_error(r));
        cr_result_free(r);
        ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
        cr_conn_close(c);
    }
    /* Galera gives each node its own auto-increment offset: no two nodes
     * hand out the same id. */
    assert_true(id[1] != id[2] && id[2] != id[3] && id[1] != id[3]);
    for (int m = 1; m <= NODES; m++) {
        cr_conn *c = connect_causal(m);
        assert_int_equal(scalar_int(c, "SELECT COUNT(*) FROM galera_rows"), NODES);
        for (int n = 1; n <= NODES; n++) {
            cr_result *r = cr_conn_execute(c, "SELECT node FROM galera_rows WHERE id = :id",
                                           CR_PARAMS({"id", cr_val_int(id[n])}));
            int64_t written_on = 0;
            assert_non_null(r);
            ASSERT_OK(cr_result_scalar_int64(r, &written_on), cr_result_error(r));
            cr_result_free(r);
            assert_int_equal(written_on, n);
        }
        cr_conn_close(c);
    }
}

/* ---- certification conflicts ---------------------------------------------------- */

#define COUNTER_THREADS 6      /* two a node */
#define INCREMENTS 12

typedef struct counter_worker {
    pthread_t thread;
    int node;
    int done;                  /* increments committed */
    int retried;               /* of them, those that took more than one run */
    int max_attempts;
    cr_status failed;          /* the first increment that failed for good */
    char message[512];
} counter_worker;

/* Read, then write what was read plus one: locally the row lock orders the
 * two threads of a node, but nothing orders writers on different nodes
 * until commit, where Galera's certification lets the first through and
 * fails the others (1213), whose retry reads the new value. */
static cr_status increment(cr_conn *c, void *userdata)
{
    (void)userdata;
    cr_result *r = cr_conn_execute(c, "SELECT n FROM galera_counter WHERE id = 1 FOR UPDATE", NULL);
    if (!r)
        return cr_error_class(cr_conn_error(c));
    int64_t n = 0;
    cr_status st = cr_result_scalar_int64(r, &n);
    cr_result_free(r);
    if (st)
        return st;
    return cr_conn_exec(c, "UPDATE galera_counter SET n = :n WHERE id = 1",
                        CR_PARAMS({"n", cr_val_int(n + 1)}));
}

static void *counter_main(void *arg)
{
    counter_worker *w = arg;
    const cr_retry_options retry = {.max_attempts = 200, .initial_backoff = 0.002,
                                    .max_backoff = 0.05};
    for (int i = 0; i < INCREMENTS; i++) {
        int attempts = 0;
        cr_error *err = NULL;
        cr_status st = cr_engine_run_transaction(eng[w->node], increment, NULL, &retry, &attempts,
                                                 &err);
        if (st != CR_OK) {
            w->failed = st;
            snprintf(w->message, sizeof w->message, "%s", cr_error_message(err));
            cr_error_free(err);
            return NULL;
        }
        w->done++;
        if (attempts > 1)
            w->retried++;
        if (attempts > w->max_attempts)
            w->max_attempts = attempts;
    }
    return NULL;
}

static void test_certification_conflicts_retried(void **state)
{
    (void)state;
    recreate("galera_counter", "id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL");
    cr_conn *c = connect_causal(1);
    exec_ok(c, "INSERT INTO galera_counter (id, n) VALUES (1, 0)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    /* Every node applies the row before its threads read it (a plain read on
     * another node may run before the row's writeset is applied there, and
     * find nothing): a causal read waits for what the cluster certified. */
    for (int n = 1; n <= NODES; n++) {
        c = connect_causal(n);
        assert_int_equal(scalar_int(c, "SELECT COUNT(*) FROM galera_counter WHERE id = 1"), 1);
        cr_conn_close(c);
    }
    int64_t conflicts_before = 0;
    for (int n = 1; n <= NODES; n++)
        conflicts_before += wsrep_status(n, "WSREP_LOCAL_CERT_FAILURES") +
                            wsrep_status(n, "WSREP_LOCAL_BF_ABORTS");

    counter_worker w[COUNTER_THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < COUNTER_THREADS; i++) {
        w[i].node = i % NODES + 1;
        assert_int_equal(pthread_create(&w[i].thread, NULL, counter_main, &w[i]), 0);
    }
    int done = 0, retried = 0, max_attempts = 0;
    for (int i = 0; i < COUNTER_THREADS; i++) {
        pthread_join(w[i].thread, NULL);
        if (w[i].failed)
            print_error("thread %d (node %d): %s: %s\n", i, w[i].node,
                        cr_status_name(w[i].failed), w[i].message);
        done += w[i].done;
        retried += w[i].retried;
        if (w[i].max_attempts > max_attempts)
            max_attempts = w[i].max_attempts;
    }
    int64_t conflicts = -conflicts_before;
    for (int n = 1; n <= NODES; n++)
        conflicts += wsrep_status(n, "WSREP_LOCAL_CERT_FAILURES") +
                     wsrep_status(n, "WSREP_LOCAL_BF_ABORTS");
    print_message("%d increments from %d threads on %d nodes: %d needed more than one run "
                  "(at most %d); %lld certification failures and brute-force aborts\n",
                  done, COUNTER_THREADS, NODES, retried, max_attempts, (long long)conflicts);
    assert_int_equal(done, COUNTER_THREADS * INCREMENTS);
    /* The conflicts were real, and resolved by running again. */
    assert_true(retried > 0);
    assert_true(conflicts > 0);
    /* Every increment landed, on every node. */
    for (int n = 1; n <= NODES; n++) {
        c = connect_causal(n);
        assert_int_equal(scalar_int(c, "SELECT n FROM galera_counter WHERE id = 1"),
                         COUNTER_THREADS * INCREMENTS);
        cr_conn_close(c);
    }
}

/* ---- a node killed mid-load ----------------------------------------------------- */

#define NODE_WRITERS 6         /* two a node, each on its node's URL */
#define MULTI_WRITERS 3        /* on the multi-host URL, with retries */
#define LOAD_THREADS (NODE_WRITERS + MULTI_WRITERS)
#define MAX_COMMITS 100000
/* Static, so that a failed assertion (a longjmp) leaks nothing. */
static int64_t committed_ids[LOAD_THREADS][MAX_COMMITS];

typedef struct load_worker {
    pthread_t thread;
    int index, node;           /* node 0: the multi-host engine */
    cr_engine *engine;
    atomic_bool *stop;
    const atomic_bool *killed;
    int64_t *ids;              /* ids whose commit reported success */
    int nids;
    atomic_int after_kill;     /* of them, committed once the kill was done */
    int failures;
    int unknown;               /* of them, a COMMIT whose outcome is unknown */
    int max_attempts;
    char last_error[512];
} load_worker;

typedef struct load_row {
    int64_t id;
    int node;
} load_row;

/* Two rows a transaction: a commit that succeeded must leave both. */
static cr_status insert_pair(cr_conn *c, void *userdata)
{
    const load_row *row = userdata;
    cr_status st = cr_conn_exec(c, "INSERT INTO galera_load (id, node) VALUES (:id, :node)",
                                CR_PARAMS({"id", cr_val_int(row->id)}, {"node", cr_val_int(row->node)}));
    if (st)
        return st;
    return cr_conn_exec(c, "INSERT INTO galera_load (id, node) VALUES (:id, :node)",
                        CR_PARAMS({"id", cr_val_int(-row->id)}, {"node", cr_val_int(row->node)}));
}

static void *load_main(void *arg)
{
    load_worker *w = arg;
    int64_t seq = 0;
    while (!atomic_load(w->stop) && w->nids < MAX_COMMITS) {
        bool after = atomic_load(w->killed);
        load_row row = {(int64_t)(w->index + 1) * 10000000 + ++seq, w->node};
        cr_error *err = NULL;
        cr_status st;
        if (w->node) {
            st = cr_engine_transaction(w->engine, insert_pair, &row, &err);
        } else {
            /* A transaction lost before its COMMIT runs again, on a new
             * connection: on the next node once the first is gone. */
            const cr_retry_options retry = {.max_attempts = 20, .initial_backoff = 0.05,
                                            .max_backoff = 0.5};
            int attempts = 0;
            st = cr_engine_run_transaction(w->engine, insert_pair, &row, &retry, &attempts, &err);
            if (attempts > w->max_attempts)
                w->max_attempts = attempts;
        }
        if (st == CR_OK) {
            w->ids[w->nids++] = row.id;
            if (after)
                atomic_fetch_add(&w->after_kill, 1);
        } else {
            /* The killed node's writers (and a transaction caught in the
             * membership change) fail: nothing is recorded, and a commit
             * whose answer was lost may or may not be there. */
            w->failures++;
            if (cr_error_is_commit_unknown(err))
                w->unknown++;
            snprintf(w->last_error, sizeof w->last_error, "%s", cr_error_message(err));
            harness_sleep(0.02);
        }
        cr_error_free(err);
    }
    return NULL;
}

static int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* How many of the recorded ids (and their pairs) node does not hold. */
static int missing_on(int node, load_worker *w, int nworkers)
{
    cr_conn *c = connect_causal(node);
    int64_t count = scalar_int(c, "SELECT COUNT(*) FROM galera_load");
    assert_true(count >= 0);
    int64_t *have = malloc(((size_t)count + 1) * sizeof *have);
    assert_non_null(have);
    cr_result *r = cr_conn_execute(c, "SELECT id FROM galera_load", NULL);
    assert_non_null(r);
    size_t n = 0;
    const cr_row *row;
    while ((row = cr_result_fetchone(r)) && n < (size_t)count)
        ASSERT_OK(cr_row_int64_at(row, 0, &have[n++]), cr_row_error(row));
    assert_null(cr_result_error(r));
    cr_result_free(r);
    cr_conn_close(c);
    qsort(have, n, sizeof *have, cmp_int64);
    int missing = 0;
    for (int i = 0; i < nworkers; i++)
        for (int j = 0; j < w[i].nids; j++) {
            int64_t id = w[i].ids[j], pair = -id;
            if (!bsearch(&id, have, n, sizeof *have, cmp_int64) ||
                !bsearch(&pair, have, n, sizeof *have, cmp_int64)) {
                if (missing < 5)
                    print_error("node %d lacks committed id %lld\n", node, (long long)id);
                missing++;
            }
        }
    free(have);
    return missing;
}

/* Writers on each node's URL and on the multi-host URL; node 1 (the
 * multi-host URL's first host, where its connections go) is killed with
 * SIGKILL mid-load. Every commit that reported success must be on the
 * survivors, and on node 1 once it has rejoined; the multi-host writers
 * carry on on node 2. */
static void test_node_killed_mid_load_loses_nothing(void **state)
{
    (void)state;
    if (!have_fault_setup())
        return;
    recreate("galera_load", "id BIGINT NOT NULL PRIMARY KEY, node INTEGER NOT NULL");
    assert_int_equal(checkout_node(multi), VICTIM);
    cr_pool_status before, after_status;
    ASSERT_OK(cr_engine_pool_status(multi, &before), NULL);
    atomic_bool stop = false, killed = false;
    load_worker w[LOAD_THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < LOAD_THREADS; i++) {
        w[i].index = i;
        w[i].node = i < NODE_WRITERS ? i % NODES + 1 : 0;
        w[i].engine = w[i].node ? eng[w[i].node] : multi;
        w[i].stop = &stop;
        w[i].killed = &killed;
        w[i].ids = committed_ids[i];
        atomic_init(&w[i].after_kill, 0);
        assert_int_equal(pthread_create(&w[i].thread, NULL, load_main, &w[i]), 0);
    }
    harness_sleep(1.0);
    node_killed[VICTIM] = true;   /* set first: a half-done kill is restored too */
    bool kill_ok = cluster("kill-node", VICTIM);
    atomic_store(&killed, true);
    double t0 = harness_now();
    /* The survivors stall until they stop waiting for the dead node
     * (evs.suspect_timeout, 3 s), then carry on as a two-node cluster. */
    while (harness_now() - t0 < 20) {
        harness_sleep(0.25);
        int node_after = 0, multi_after = 0;
        for (int i = 0; i < LOAD_THREADS; i++) {
            if (w[i].node == 0)
                multi_after += atomic_load(&w[i].after_kill);
            else if (w[i].node != VICTIM)
                node_after += atomic_load(&w[i].after_kill);
        }
        if (node_after >= 40 && multi_after >= 20 && harness_now() - t0 > 1.0)
            break;
    }
    atomic_store(&stop, true);
    int total = 0, total_after = 0, multi_after = 0;
    for (int i = 0; i < LOAD_THREADS; i++) {
        pthread_join(w[i].thread, NULL);
        int after = atomic_load(&w[i].after_kill);
        total += w[i].nids;
        total_after += after;
        if (w[i].node == 0)
            multi_after += after;
        print_message("writer %d on %s %d: %d commits (%d after the kill), %d failures "
                      "(%d of unknown outcome)%s%s\n", i, w[i].node ? "node" : "multi-host URL, at most",
                      w[i].node ? w[i].node : w[i].max_attempts, w[i].nids, after, w[i].failures,
                      w[i].unknown, w[i].failures ? "; last: " : "",
                      w[i].failures ? w[i].last_error : "");
    }
    print_message("%d commits in all, %d after node %d was killed (%.1f s of load after it)\n",
                  total, total_after, VICTIM, harness_now() - t0);
    assert_true(kill_ok);
    /* The survivors went on taking writes, and so did the multi-host
     * engine, on node 2 now. */
    assert_true(total_after > 0);
    assert_true(multi_after > 0);
    for (int i = 0; i < LOAD_THREADS; i++)
        if (w[i].node != VICTIM)
            assert_true(w[i].nids > 0);
    assert_int_equal(checkout_node(multi), 2);
    /* Its connections to node 1 were invalidated, not handed out again. */
    ASSERT_OK(cr_engine_pool_status(multi, &after_status), NULL);
    assert_true(after_status.invalidations > before.invalidations);
    /* Every commit that reported success is on both survivors ... */
    assert_int_equal(missing_on(2, w, LOAD_THREADS), 0);
    assert_int_equal(missing_on(3, w, LOAD_THREADS), 0);
    /* ... and on the killed node once it has rejoined (IST). */
    assert_true(restore_nodes());
    assert_int_equal(missing_on(VICTIM, w, LOAD_THREADS), 0);
    /* The three nodes hold the same rows, not only those recorded. */
    int64_t sums[NODES + 1];
    for (int n = 1; n <= NODES; n++) {
        cr_conn *c = connect_causal(n);
        sums[n] = scalar_int(c, "SELECT COUNT(*) * 1000003 + COALESCE(SUM(ABS(id) % 1000003), 0) "
                                "FROM galera_load");
        cr_conn_close(c);
    }
    assert_true(sums[1] == sums[2] && sums[2] == sums[3]);
    /* Back in the cluster, node 1 is the multi-host URL's choice again. */
    assert_int_equal(checkout_node(multi), VICTIM);
}

/* ---- a node that leaves the cluster --------------------------------------------- */

static cr_status insert_note(cr_conn *c, void *userdata)
{
    return cr_conn_exec(c, "INSERT INTO galera_rows (node, note) VALUES (0, :note)",
                        CR_PARAMS({"note", cr_val_text(userdata)}));
}

static int64_t notes_on(int node, const char *note)
{
    cr_conn *c = connect_causal(node);
    cr_result *r = cr_conn_execute(c, "SELECT COUNT(*) FROM galera_rows WHERE note = :note",
                                   CR_PARAMS({"note", cr_val_text(note)}));
    int64_t n = -1;
    assert_non_null(r);
    ASSERT_OK(cr_result_scalar_int64(r, &n), cr_result_error(r));
    cr_result_free(r);
    cr_conn_close(c);
    return n;
}

/* Node 1 cut off from the others (a network partition): it stays up and
 * accepts connections, but refuses statements. */
static void test_node_out_of_cluster(void **state)
{
    (void)state;
    if (!have_fault_setup())
        return;
    recreate("galera_rows", "id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, node INTEGER NOT NULL, "
                            "note VARCHAR(50) NOT NULL");
    /* Opened while node 1 was in the cluster: a connection, one with a
     * transaction in progress, and the multi-host engine's pooled one. */
    cr_conn *held = connect_causal(VICTIM);
    assert_int_equal(scalar_int(held, "SELECT COUNT(*) FROM galera_rows"), 0);
    ASSERT_OK(cr_conn_commit(held), cr_conn_error(held));
    cr_conn *pending = connect_ok(eng[VICTIM]);
    exec_ok(pending, "INSERT INTO galera_rows (node, note) VALUES (1, 'commit refused')");
    assert_int_equal(checkout_node(multi), VICTIM);

    node_isolated[VICTIM] = true;
    assert_true(cluster("isolate-node", VICTIM));

    /* The connection is alive, but the node refuses work: a clear
     * OperationalError, marked as a lost connection and retryable. */
    cr_result *r = cr_conn_execute(held, "SELECT COUNT(*) FROM galera_rows", NULL);
    assert_null(r);
    const cr_error *e = cr_conn_error(held);
    print_message("node 1 cut off: %s %ld %s: %s\n", cr_error_class_name(e), cr_error_code(e),
                  cr_error_sqlstate(e), cr_error_message(e));
    assert_int_equal(cr_error_class(e), CR_ERR_OPERATIONAL);
    assert_int_equal(cr_error_code(e), 1047);
    assert_string_equal(cr_error_sqlstate(e), "08S01");
    assert_non_null(strstr(cr_error_message(e), "Galera node is not a synced member"));
    assert_true(cr_error_is_disconnect(e));
    assert_true(cr_error_is_retryable(e));
    cr_conn_close(held);

    /* A COMMIT it refuses did not happen (checked below): retryable, not
     * of unknown outcome. */
    assert_int_equal(cr_conn_commit(pending), CR_ERR_OPERATIONAL);
    e = cr_conn_error(pending);
    assert_int_equal(cr_error_code(e), 1047);
    assert_true(cr_error_is_retryable(e));
    assert_false(cr_error_is_commit_unknown(e));
    cr_conn_close(pending);

    /* On node 1's own URL the retry helper runs the transaction again on
     * new connections, to the same node: it gives up with the same error
     * after max_attempts runs, nothing written. */
    const cr_retry_options retry = {.max_attempts = 3, .initial_backoff = 0.01};
    int attempts = 0;
    cr_error *err = NULL;
    assert_int_equal(cr_engine_run_transaction(eng[VICTIM], insert_note, "refused", &retry,
                                               &attempts, &err),
                     CR_ERR_OPERATIONAL);
    assert_int_equal(attempts, 3);
    assert_int_equal(cr_error_code(err), 1047);
    cr_error_free(err);

    /* On the multi-host URL the pooled connection to node 1 fails the first
     * run; the second, on a new connection, passes node 1 over (it answers,
     * but is not Synced) and commits on node 2. */
    cr_pool_status before, after;
    ASSERT_OK(cr_engine_pool_status(multi, &before), NULL);
    attempts = 0;
    ASSERT_OK(cr_engine_run_transaction(multi, insert_note, "via the multi-host URL", &retry,
                                        &attempts, &err), err);
    cr_error_free(err);
    print_message("multi-host URL: committed in %d runs\n", attempts);
    assert_int_equal(attempts, 2);
    ASSERT_OK(cr_engine_pool_status(multi, &after), NULL);
    assert_true(after.invalidations > before.invalidations);
    assert_int_equal(checkout_node(multi), 2);

    /* Every host of a multi-host URL down or not ready: one clear error
     * naming each host's failure. */
    const char *at = strrchr(node_url[VICTIM], '@');
    const char *slash = at ? strchr(at, '/') : NULL;
    assert_non_null(slash);
    char url[1024];
    snprintf(url, sizeof url, "%.*s127.0.0.1:1,%.*s,127.0.0.1:2%s",
             (int)(at + 1 - node_url[VICTIM]), node_url[VICTIM], (int)(slash - at - 1), at + 1,
             slash);
    cr_engine *none_ready = cr_create_engine(url, NULL, &err);
    assert_non_null(none_ready);
    assert_null(cr_engine_connect(none_ready, &err));
    print_message("%s\n", cr_error_message(err));
    assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
    assert_non_null(strstr(cr_error_message(err), "could not connect to any of the 3 hosts"));
    assert_non_null(strstr(cr_error_message(err), "not a synced member"));
    assert_non_null(strstr(cr_error_message(err), "127.0.0.1:2: "));
    cr_error_free(err);
    cr_engine_free(none_ready);

    /* The two nodes left keep quorum and take writes meanwhile. */
    assert_int_equal(cr_engine_run_transaction(eng[2], insert_note, "while 1 was away", NULL,
                                               NULL, NULL), CR_OK);

    /* Back in the cluster, node 1 has caught up: nothing committed is lost,
     * nothing refused was written. */
    assert_true(restore_nodes());
    for (int n = 1; n <= NODES; n++) {
        assert_int_equal(notes_on(n, "while 1 was away"), 1);
        assert_int_equal(notes_on(n, "via the multi-host URL"), 1);
        assert_int_equal(notes_on(n, "commit refused"), 0);
        assert_int_equal(notes_on(n, "refused"), 0);
    }
}

/* ---- setup ---------------------------------------------------------------------- */

static int teardown_test(void **state)
{
    (void)state;
    /* A test that failed with a node down or cut off puts it back. */
    return restore_nodes() ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    for (int n = 1; n <= NODES; n++) {
        cr_error *err = NULL;
        cr_engine_options o = {.pool_size = 4};
        eng[n] = cr_create_engine(node_url[n], &o, &err);
        if (!eng[n]) {
            print_error("engine for node %d: %s\n", n, cr_error_message(err));
            cr_error_free(err);
            return -1;
        }
    }
    if (multi_url) {
        cr_error *err = NULL;
        cr_engine_options o = {.pool_size = 4};
        multi = cr_create_engine(multi_url, &o, &err);
        if (!multi) {
            print_error("engine for the multi-host URL: %s\n", cr_error_message(err));
            cr_error_free(err);
            return -1;
        }
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = restore_nodes() ? 0 : -1;
    if (eng[1]) {
        cr_error *err = NULL;
        cr_conn *c = cr_engine_connect(eng[1], &err);
        if (c) {
            cr_conn_exec(c, "DROP TABLE IF EXISTS galera_rows, galera_counter, galera_load", NULL);
            cr_conn_close(c);
        }
        cr_error_free(err);
    }
    for (int n = 1; n <= NODES; n++) {
        cr_engine_free(eng[n]);
        eng[n] = NULL;
    }
    cr_engine_free(multi);
    multi = NULL;
    return rc;
}

int main(void)
{
    const char *require = getenv("CRUCIBLE_REQUIRE_ALL_BACKENDS");
    bool required = require && strcmp(require, "1") == 0;
    static const char *const names[NODES + 1] = {NULL, "CRUCIBLE_GALERA_URL1",
                                                 "CRUCIBLE_GALERA_URL2", "CRUCIBLE_GALERA_URL3"};
    for (int n = 1; n <= NODES; n++) {
        node_url[n] = getenv(names[n]);
        if (!node_url[n] || !node_url[n][0]) {
            fprintf(stderr, "test_galera: %s is not set (scripts/scaleout/galera.sh start DIR "
                            "writes it to DIR/env)%s\n", names[n],
                    required ? " (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)" : "; skipping");
            return required ? 1 : 77;
        }
    }
    cluster_dir = getenv("CRUCIBLE_GALERA_DIR");
    if (cluster_dir && !cluster_dir[0])
        cluster_dir = NULL;
    multi_url = getenv("CRUCIBLE_GALERA_URL");
    if (multi_url && !multi_url[0])
        multi_url = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_writes_on_every_node, teardown_test),
        cmocka_unit_test_teardown(test_certification_conflicts_retried, teardown_test),
        cmocka_unit_test_teardown(test_node_killed_mid_load_loses_nothing, teardown_test),
        cmocka_unit_test_teardown(test_node_out_of_cluster, teardown_test),
    };
    return cmocka_run_group_tests_name("galera", tests, group_setup, group_teardown);
}
