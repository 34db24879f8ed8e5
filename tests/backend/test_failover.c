/* test_failover.c — a node of a multi-host URL is lost under writers: a proxied node cut off, and a PostgreSQL primary killed and its synchronous standby promoted. */
/*
 * Writer threads commit rows through one engine on a multi-host URL and
 * record each id whose COMMIT reported success; then the node they use is
 * lost. The writers see errors and carry on (new checkouts reach the other
 * node); afterwards every id reported committed is there, the pool has
 * invalidated its connections to the lost node, and the transactions that
 * were open at the failure got clear errors: retryable when their COMMIT had
 * not been sent, commit_unknown when it had.
 *
 * Two ways to lose a node:
 * - node_lost (PostgreSQL and MariaDB): the first host of the URL is a TCP
 *   proxy, in this process, to the backend's test server; cutting it off
 *   closes every connection through it and refuses new ones, as a node that
 *   dies does. The second host is the server itself.
 * - promotion (PostgreSQL): the suite starts its own primary and synchronous
 *   standby (scripts/scaleout/pg-failover.sh start, in a temporary
 *   directory), since it destroys the primary, and stops them afterwards.
 *   The primary is stopped -m immediate and the standby promoted; the URL
 *   has target_session_attrs=read-write.
 *
 * Run as `test_failover postgresql|mysql` (ctest: failover_postgresql,
 * failover_mysql). Like the other backend suites it needs the backend's
 * URL (CRUCIBLE_PG_URL, CRUCIBLE_MYSQL_URL), and is skipped without it, or
 * fails with CRUCIBLE_REQUIRE_ALL_BACKENDS=1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "dialects/driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
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
        if (strncmp(plain, "CRUCIBLE_PG_FAILOVER_URL=", 25) == 0 &&
            strlen(plain + 25) < sizeof failover_url)
            memcpy(failover_url, plain + 25, strlen(plain + 25) + 1);
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
    double failover_wait;           /* cr_retry_options.failover_wait        */
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
                                                 &(cr_retry_options){.max_attempts = 3,
                                                                     .max_backoff = 0.2,
                                                                     .failover_wait =
                                                                         w->failover_wait},
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

/* How a node is lost, and how to tell which node a connection reached. */
typedef struct scenario {
    const char *url;
    const char *hosts;                          /* what the masked URL shows */
    void (*on_first)(cr_engine *e, cr_conn *c); /* c reached the first node  */
    void (*lose)(void);                         /* the first node is lost     */
    void (*on_survivor)(cr_engine *e, cr_conn *c);
} scenario;

static void run_failover(const scenario *sc)
{
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(sc->url,
                                    &(cr_engine_options){.pool_size = 8, .max_overflow = 0},
                                    &err);
    if (!e)
        print_error("engine: %s\n", cr_error_message(err));
    assert_non_null(e);
    if (!strstr(cr_engine_url(e), sc->hosts))
        print_error("%s does not show %s\n", cr_engine_url(e), sc->hosts);
    assert_non_null(strstr(cr_engine_url(e), sc->hosts));
    cr_conn *c = connect_ok(e);
    sc->on_first(e, c);
    create_table(c, "cr_failover", "id BIGINT PRIMARY KEY, note VARCHAR(8)");
    cr_conn_close(c);

    atomic_int next_id = 1;
    atomic_bool stop = false, promoted = false;
    writer w[WRITERS];
    pthread_t threads[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        /* Half the writers let run_transaction wait out the failover;
         * the others see the failures to connect and retry themselves. */
        w[i] = (writer){.engine = e, .index = i, .next_id = &next_id, .stop = &stop,
                        .promoted = &promoted, .failover_wait = i % 2 ? 30.0 : 0.0};
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

    /* Let the writers commit for a while on the first node. */
    double t0 = harness_now();
    while (atomic_load(&next_id) < 200 && harness_now() - t0 < 20)
        harness_sleep(0.01);
    cr_pool_status before = pool_status(e);
    int open_before = before.checked_out + before.idle;
    print_message("before the failure: %d ids handed out, %d connections open\n",
                  atomic_load(&next_id) - 1, open_before);

    double t_fail = harness_now();
    sc->lose();
    atomic_store(&promoted, true);
    double t_recovered = harness_now();

    /* Every writer commits again, on the surviving node. */
    bool all = false;
    double first_after = 0;
    while (!all && harness_now() - t_recovered < 30) {
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
    print_message("failure to a writable node: %.2f s; then to the first commit: %.2f s\n",
                  t_recovered - t_fail, first_after ? first_after - t_recovered : -1.0);
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
        print_message("writer %d (failover_wait %g): %d commits, %d unknown, %d lost, "
                      "%d failed connects, %d retried runs\n", i, w[i].failover_wait,
                      w[i].ncommitted, w[i].nunknown, w[i].disconnects,
                      w[i].connect_failures, w[i].retried_runs);
        /* With failover_wait, no failure to connect reaches the program. */
        if (w[i].failover_wait > 0)
            assert_int_equal(w[i].connect_failures, 0);
        assert_true(w[i].ncommitted < MAX_IDS);
    }
    print_message("writers: %d commits, %d of unknown outcome, %d lost connections, "
                  "%d failed connects, %d runs retried by run_transaction\n",
                  committed, unknown, disconnects, connect_failures, retried);
    /* The failure was seen: as lost connections (returned when the COMMIT
     * was in flight, retried otherwise) or as no node to connect to. */
    assert_true(disconnects + connect_failures + retried > 0);

    /* Every checkout now reaches the surviving node: as many connections as
     * were open at the failure, all at once, all new. */
    cr_conn *now_open[8];
    int nnow = open_before < 1 ? 1 : open_before > 8 ? 8 : open_before;
    for (int i = 0; i < nnow; i++) {
        now_open[i] = connect_ok(e);
        sc->on_survivor(e, now_open[i]);
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
    print_message("on the surviving node: %zu of %zu reported commits, %zu of %zu unknown ones\n",
                  found, nok, found_unknown, nmaybe);
    assert_int_equal(found, nok);
    assert_int_equal(stray, 0);
    drop_table(c, "cr_failover");
    cr_conn_close(c);
    free(ok);
    free(maybe);
    cr_engine_free(e);
}

/* ---- a node lost: the first host is a proxy that is cut off ------------------- */

#define MAX_LINKS 32

/* A TCP proxy from 127.0.0.1:port to the test server, on a thread of its
 * own: every accepted client gets a connection to the server, and bytes are
 * copied both ways. Cutting it off closes all of them and the listener. */
typedef struct proxy {
    int listen_fd, wake[2];
    int port;
    struct sockaddr_in target;
    pthread_t thread;
    atomic_int accepted;
    int fds[2 * MAX_LINKS];     /* pairs (client, server); -1: free */
} proxy;

static proxy node;

static void proxy_close_pair(proxy *p, int i)
{
    int j = i ^ 1;
    close(p->fds[i]);
    close(p->fds[j]);
    p->fds[i] = p->fds[j] = -1;
}

static void proxy_accept(proxy *p)
{
    int client = accept(p->listen_fd, NULL, NULL);
    if (client < 0)
        return;
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int slot = -1;
    for (int i = 0; i < 2 * MAX_LINKS && slot < 0; i += 2)
        if (p->fds[i] < 0)
            slot = i;
    if (server < 0 || slot < 0 ||
        connect(server, (struct sockaddr *)&p->target, sizeof p->target) != 0) {
        close(client);
        if (server >= 0)
            close(server);
        return;
    }
    p->fds[slot] = client;
    p->fds[slot + 1] = server;
    atomic_fetch_add(&p->accepted, 1);
}

/* Copy what fds[i] has to its peer; a closed or failed side closes both. */
static void proxy_copy(proxy *p, int i)
{
    char buf[16384];
    ssize_t n = read(p->fds[i], buf, sizeof buf);
    if (n <= 0) {
        proxy_close_pair(p, i);
        return;
    }
    for (ssize_t off = 0; off < n;) {
        ssize_t m = write(p->fds[i ^ 1], buf + off, (size_t)(n - off));
        if (m <= 0) {
            proxy_close_pair(p, i);
            return;
        }
        off += m;
    }
}

static void *proxy_main(void *arg)
{
    proxy *p = arg;
    for (;;) {
        struct pollfd pf[2 + 2 * MAX_LINKS];
        int which[2 + 2 * MAX_LINKS];
        int n = 0;
        pf[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
        for (int i = 0; i < 2 * MAX_LINKS; i++) {
            if (p->fds[i] >= 0) {
                which[n] = i;
                pf[n++] = (struct pollfd){.fd = p->fds[i], .events = POLLIN};
            }
        }
        if (poll(pf, (nfds_t)n, -1) < 0)
            continue;
        if (pf[0].revents)
            break;
        if (pf[1].revents & POLLIN)
            proxy_accept(p);
        for (int k = 2; k < n; k++)
            if (pf[k].revents && p->fds[which[k]] == pf[k].fd)   /* not closed meanwhile */
                proxy_copy(p, which[k]);
    }
    for (int i = 0; i < 2 * MAX_LINKS; i += 2)
        if (p->fds[i] >= 0)
            proxy_close_pair(p, i);
    close(p->listen_fd);
    return NULL;
}

/* Listen on 127.0.0.1 (a port the kernel picks) for host:port. */
static bool proxy_start(proxy *p, const char *host, int port)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 2 * MAX_LINKS; i++)
        p->fds[i] = -1;
    p->target.sin_family = AF_INET;
    p->target.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &p->target.sin_addr) != 1)
        return false;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(p->listen_fd, 64) != 0 ||
        getsockname(p->listen_fd, (struct sockaddr *)&addr, &len) != 0 || pipe(p->wake) != 0)
        return false;
    p->port = ntohs(addr.sin_port);
    return pthread_create(&p->thread, NULL, proxy_main, p) == 0;
}

static void proxy_cut(proxy *p)
{
    ssize_t n = write(p->wake[1], "x", 1);
    (void)n;
    pthread_join(p->thread, NULL);
    close(p->wake[0]);
    close(p->wake[1]);
}

static void node_on_first(cr_engine *e, cr_conn *c)
{
    (void)c;
    /* Every connection the engine opened went through the first host. */
    assert_int_equal(atomic_load(&node.accepted), pool_status(e).connects);
}

static void node_fail(void)
{
    proxy_cut(&node);
    print_message("node lost: %d connections had gone through it\n",
                  atomic_load(&node.accepted));
}

static void node_on_survivor(cr_engine *e, cr_conn *c)
{
    (void)e;
    /* The proxy is gone: a working connection is to the second host. */
    int64_t one = 0;
    cr_result *r = cr_conn_execute(c, "SELECT 1", NULL);
    assert_non_null(r);
    assert_int_equal(cr_result_scalar_int64(r, &one), CR_OK);
    assert_int_equal(one, 1);
    cr_result_free(r);
}

static void test_node_lost(void **state)
{
    (void)state;
    /* backend://user:pw@127.0.0.1:PROXY,HOST:PORT/db */
    cr_url u;
    cr_error perr = {0};
    assert_int_equal(cr_url_parse(backend_url, &u, &perr), CR_OK);
    assert_non_null(u.host);
    bool started = proxy_start(&node, u.host, u.port ? u.port : is_pg() ? 5432 : 3306);
    cr_url_free(&u);
    assert_true(started);
    const char *at = strrchr(backend_url, '@');
    assert_non_null(at);
    char url[1024], hosts[64];
    snprintf(url, sizeof url, "%.*s@127.0.0.1:%d,%s", (int)(at - backend_url), backend_url,
             node.port, at + 1);
    snprintf(hosts, sizeof hosts, "@127.0.0.1:%d,", node.port);
    run_failover(&(scenario){.url = url, .hosts = hosts, .on_first = node_on_first,
                             .lose = node_fail, .on_survivor = node_on_survivor});
}

/* failover_wait waits only after a lost connection: an engine that never
 * lost one fails to connect at once (a bad password is no failover). */
static void test_connect_failure_not_waited(void **state)
{
    (void)state;
    cr_url u;
    cr_error perr = {0};
    assert_int_equal(cr_url_parse(backend_url, &u, &perr), CR_OK);
    char url[1024];
    snprintf(url, sizeof url, "%s://%s:wrong-password@%s:%d/%s", u.backend,
             u.username ? u.username : "nobody", u.host ? u.host : "127.0.0.1", u.port,
             u.database ? u.database : "");
    cr_url_free(&u);
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, NULL, &err);
    assert_non_null(e);
    int64_t id = 1;
    int attempts = 0;
    double t0 = harness_now();
    cr_status st = cr_engine_run_transaction(e, insert_id, &id,
                                             &(cr_retry_options){.failover_wait = 30},
                                             &attempts, &err);
    double took = harness_now() - t0;
    print_message("bad password: %s after %.2f s: %s\n", cr_status_name(st), took,
                  cr_error_message(err));
    assert_int_equal(st, CR_ERR_OPERATIONAL);
    assert_int_equal(attempts, 1);
    assert_true(took < 5);
    assert_false(cr_error_is_retryable(err));
    cr_error_free(err);
    cr_engine_free(e);
}

/* A host that takes the TCP connection and never answers (a listening
 * socket nobody accepts on): with connect_timeout, PostgreSQL's connect
 * leaves it after that many seconds for the next host of the URL, and with
 * no next host fails with "timeout expired". Crucible drives libpq's connect
 * itself (to silence the server's startup notices), so this is its own. */
static void test_silent_host_timeout(void **state)
{
    (void)state;
    if (!is_pg())
        skip();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    int silent = ntohs(a.sin_port);

    const char *at = strrchr(backend_url, '@');
    assert_non_null(at);
    const char *path = strchr(at, '/');
    assert_non_null(path);
    char url[1024];
    snprintf(url, sizeof url, "%.*s@127.0.0.1:%d,%s%sconnect_timeout=2",
             (int)(at - backend_url), backend_url, silent, at + 1,
             strchr(at, '?') ? "&" : "?");
    cr_engine *e = cr_create_engine(url, NULL, NULL);
    assert_non_null(e);
    cr_error *err = NULL;
    double t0 = harness_now();
    cr_conn *c = cr_engine_connect(e, &err);
    double took = harness_now() - t0;
    print_message("silent first host: connected after %.2f s\n", took);
    if (!c)
        print_error("%s\n", cr_error_message(err));
    assert_non_null(c);
    assert_true(took >= 1.9 && took < 6);
    assert_int_equal(scalar_int(c, "SELECT 1"), 1);
    cr_conn_close(c);
    cr_engine_free(e);

    /* The silent host alone. */
    snprintf(url, sizeof url, "%.*s@127.0.0.1:%d%.*s%sconnect_timeout=2",
             (int)(at - backend_url), backend_url, silent, (int)strcspn(path, "?"), path,
             "?");
    e = cr_create_engine(url, NULL, NULL);
    assert_non_null(e);
    t0 = harness_now();
    c = cr_engine_connect(e, &err);
    took = harness_now() - t0;
    print_message("silent host alone: %s after %.2f s\n", cr_error_message(err), took);
    assert_null(c);
    assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
    assert_non_null(strstr(cr_error_message(err), "timeout expired"));
    assert_true(took >= 1.9 && took < 6);
    cr_error_free(err);
    cr_engine_free(e);
    close(fd);
}

/* ---- PostgreSQL: the primary killed, the standby promoted ---------------------- */

static void pg_on_first(cr_engine *e, cr_conn *c)
{
    (void)e;
    assert_int_equal(scalar_int(c, "SELECT inet_server_port()"), ports[0]);
}

static void pg_fail(void)
{
    assert_int_equal(pair("kill-primary"), 0);
    harness_sleep(0.3);     /* the writers meet a dead primary and no writable standby */
    assert_int_equal(pair("promote"), 0);
}

static void pg_on_survivor(cr_engine *e, cr_conn *c)
{
    (void)e;
    assert_int_equal(scalar_int(c, "SELECT inet_server_port()"), ports[1]);
    assert_int_equal(scalar_int(c, "SELECT CAST(pg_is_in_recovery() AS INTEGER)"), 0);
}

static void test_promotion(void **state)
{
    (void)state;
    char hosts[64];
    snprintf(hosts, sizeof hosts, "@127.0.0.1:%d,127.0.0.1:%d/", ports[0], ports[1]);
    run_failover(&(scenario){.url = failover_url, .hosts = hosts, .on_first = pg_on_first,
                             .lose = pg_fail, .on_survivor = pg_on_survivor});
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    if (is_sqlite()) {
        fprintf(stderr, "the failover suite runs on postgresql and mysql\n");
        return 2;
    }
    const struct CMUnitTest node_tests[] = {
        cmocka_unit_test(test_node_lost),
        cmocka_unit_test(test_connect_failure_not_waited),
        cmocka_unit_test(test_silent_host_timeout),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test(test_promotion),
    };
    int failed = HARNESS_RUN("failover", "node_lost", node_tests, NULL);
    if (is_pg())
        failed += _cmocka_run_group_tests("failover_postgresql_promotion", pg_tests,
                                          sizeof pg_tests / sizeof pg_tests[0], start_pair,
                                          stop_pair);
    harness_cleanup();
    return failed ? 1 : 0;
}
