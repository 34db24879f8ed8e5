/* test_pgbouncer.c — Crucible behind a real PgBouncer in pool_mode=transaction: the named-statement collision, and prepared_statements = CR_NO under load. */
/* Run with CRUCIBLE_PGBOUNCER_URL (a pool of CRUCIBLE_PGBOUNCER_POOL_SIZE
 * server connections) and CRUCIBLE_PGBOUNCER_SINGLE_URL (a pool of one), as
 * scripts/scaleout/pgbouncer.sh writes them. Without them the suite is
 * skipped (exit 77), or fails when CRUCIBLE_REQUIRE_ALL_BACKENDS=1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pool_url;     /* CRUCIBLE_PGBOUNCER_URL        */
static const char *single_url;   /* CRUCIBLE_PGBOUNCER_SINGLE_URL */
static int pool_size = 2;

#define ITEMS(C)                                                                       \
    C(id,     INTEGER, .primary_key = true)                                           \
    C(worker, INTEGER)                                                                 \
    C(k,      INTEGER)                                                                 \
    C(name,   STRING(40))                                                              \
    C(price,  DOUBLE)
CR_DECLARE_TABLE(items_table, ITEMS)

#define PNOTE(F)                                                                       \
    F(id,     INTEGER,     .primary_key = true)                                        \
    F(worker, INTEGER,     .nullable = CR_NO)                                          \
    F(title,  STRING(60),  .nullable = CR_NO)                                          \
    F(score,  DOUBLE)
CR_MODEL(PNote, "pgb_notes", PNOTE)

static cr_metadata *md;
static items_table items;

/* ---- helpers ---- */

static cr_engine *unnamed_engine(const char *url)
{
    cr_engine_options o = {.prepared_statements = CR_NO};
    return new_engine_at(url, &o);
}

/* A text scalar of sql, copied into out. */
static void scalar_text(cr_conn *c, const char *sql, char *out, size_t size)
{
    cr_result *r = cr_conn_execute(c, sql, NULL);
    if (!r) {
        print_error("%s: %s\n", sql, cr_error_message(cr_conn_error(c)));
        fail();
    }
    const char *s;
    size_t len;
    ASSERT_OK(cr_result_scalar_text(r, &s, &len), cr_result_error(r));
    snprintf(out, size, "%.*s", (int)len, s);
    cr_result_free(r);
}

/* Forget every named statement left on the single pool's server session by
 * an earlier run or test (DEALLOCATE ALL through that one connection). */
static void deallocate_all_single(void)
{
    cr_engine *e = unnamed_engine(single_url);
    cr_conn *c = connect_ok(e);
    exec_ok(c, "DEALLOCATE ALL");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_engine_free(e);
}

static int64_t named_statements_single(void)
{
    cr_engine *e = unnamed_engine(single_url);
    int64_t n = engine_scalar_int(e, "SELECT count(*) FROM pg_prepared_statements");
    cr_engine_free(e);
    return n;
}

/* ---- the problem the option solves ---- */

/* Two clients of one PgBouncer server connection: each names its first
 * statement cr_1, and the second PREPARE finds the first's there. With a
 * pool of one server connection this happens every time. */
static void test_named_statements_collide(void **state)
{
    (void)state;
    deallocate_all_single();
    cr_engine *e = new_engine_at(single_url, NULL);
    cr_conn *a = connect_ok(e), *b = connect_ok(e);
    assert_int_equal(scalar_int(a, "SELECT 1"), 1);
    ASSERT_OK(cr_conn_commit(a), cr_conn_error(a));   /* the server connection is free again */

    cr_result *r = cr_conn_execute(b, "SELECT 2", NULL);
    assert_null(r);
    const cr_error *err = cr_conn_error(b);
    assert_int_equal(cr_error_class(err), CR_ERR_PROGRAMMING);
    assert_string_equal(cr_error_sqlstate(err), "42P05");
    assert_non_null(strstr(cr_error_message(err), "prepared statement \"cr_1\" already exists"));
    assert_string_equal(cr_error_statement(err), "SELECT 2");
    cr_conn_rollback(b);
    cr_conn_close(b);
    cr_conn_close(a);   /* deallocates its cr_1, on the one server connection */
    cr_engine_free(e);
    deallocate_all_single();
}

/* The same two clients with prepared_statements = CR_NO, and a third, in
 * turns: nothing collides and no named statement is left on the server. */
static void test_unnamed_statements_share(void **state)
{
    (void)state;
    deallocate_all_single();
    cr_engine *e = unnamed_engine(single_url);
    cr_conn *c[3] = {connect_ok(e), connect_ok(e), connect_ok(e)};
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 3; i++) {
            cr_result *r = cr_conn_execute(c[i], "SELECT CAST(:x AS integer) * 10 + :y",
                                           CR_PARAMS({"x", cr_val_int(round)},
                                                     {"y", cr_val_int(i)}));
            ASSERT_OK(r ? CR_OK : CR_ERR_INTERNAL, cr_conn_error(c[i]));
            int64_t v = -1;
            ASSERT_OK(cr_result_scalar_int64(r, &v), cr_result_error(r));
            assert_int_equal(v, round * 10 + i);
            cr_result_free(r);
            ASSERT_OK(cr_conn_commit(c[i]), cr_conn_error(c[i]));
        }
    }
    for (int i = 0; i < 3; i++)
        cr_conn_close(c[i]);
    cr_engine_free(e);
    assert_int_equal(named_statements_single(), 0);
}

/* A DATABASE_URL alone configures it: prepared_statements=false in the URL
 * is Crucible's (libpq would refuse an option it does not know). */
static void test_url_option(void **state)
{
    (void)state;
    char url[1024];
    snprintf(url, sizeof url, "%s?prepared_statements=false", single_url);
    cr_engine *e = new_engine_at(url, NULL);
    cr_conn *a = connect_ok(e), *b = connect_ok(e);
    assert_int_equal(scalar_int(a, "SELECT 1"), 1);
    ASSERT_OK(cr_conn_commit(a), cr_conn_error(a));
    assert_int_equal(scalar_int(b, "SELECT 2"), 2);
    ASSERT_OK(cr_conn_commit(b), cr_conn_error(b));
    cr_conn_close(a);
    cr_conn_close(b);
    cr_engine_free(e);
    assert_int_equal(named_statements_single(), 0);
}

/* SET SESSION CHARACTERISTICS outlives the client under transaction
 * pooling: the next client of the server connection inherits it. With the
 * option the level goes with each BEGIN and nothing is left behind. */
static void test_isolation_per_transaction(void **state)
{
    (void)state;
    char level[64];
    cr_engine *prepared = new_engine_at(single_url, NULL);
    cr_engine *plain = unnamed_engine(single_url);
    cr_conn *a = connect_ok(prepared);
    cr_conn *probe = connect_ok(plain);
    ASSERT_OK(cr_conn_set_isolation_level(probe, "AUTOCOMMIT"), cr_conn_error(probe));

    /* Without the option: the session of the server connection is changed
     * for whichever client comes next. */
    ASSERT_OK(cr_conn_set_isolation_level(a, "SERIALIZABLE"), cr_conn_error(a));
    scalar_text(probe, "SHOW default_transaction_isolation", level, sizeof level);
    assert_string_equal(level, "serializable");
    cr_conn_close(a);   /* sets it back, on the same single server connection */
    scalar_text(probe, "SHOW default_transaction_isolation", level, sizeof level);
    assert_string_equal(level, "read committed");

    /* With it: per transaction, nothing in the session. */
    cr_engine_options o = {.prepared_statements = CR_NO, .isolation_level = "REPEATABLE READ",
                           .echo = true, .log_fn = harness_capture};
    cr_engine *e = new_engine_at(single_url, &o);
    cr_conn *c = connect_ok(e);
    harness_log_reset();
    scalar_text(c, "SHOW transaction_isolation", level, sizeof level);
    assert_string_equal(level, "repeatable read");
    ASSERT_SENT("BEGIN (implicit)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    ASSERT_OK(cr_conn_set_isolation_level(c, "SERIALIZABLE"), cr_conn_error(c));
    assert_string_equal(cr_conn_isolation_level(c), "SERIALIZABLE");
    scalar_text(probe, "SHOW default_transaction_isolation", level, sizeof level);
    assert_string_equal(level, "read committed");
    scalar_text(c, "SHOW transaction_isolation", level, sizeof level);
    assert_string_equal(level, "serializable");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    /* Another client at the engine's default level after it. */
    cr_conn *d = connect_ok(plain);
    scalar_text(d, "SHOW transaction_isolation", level, sizeof level);
    assert_string_equal(level, "read committed");
    ASSERT_OK(cr_conn_commit(d), cr_conn_error(d));
    ASSERT_OK(cr_conn_begin(d), cr_conn_error(d));
    ASSERT_OK(cr_conn_rollback(d), cr_conn_error(d));
    /* An explicit BEGIN takes the level too; a bad level is refused. */
    ASSERT_OK(cr_conn_set_isolation_level(d, "REPEATABLE READ"), cr_conn_error(d));
    ASSERT_OK(cr_conn_begin(d), cr_conn_error(d));
    scalar_text(d, "SHOW transaction_isolation", level, sizeof level);
    assert_string_equal(level, "repeatable read");
    ASSERT_OK(cr_conn_rollback(d), cr_conn_error(d));
    assert_int_equal(cr_conn_set_isolation_level(d, "SOMETIMES"), CR_ERR_ARGUMENT);
    cr_conn_close(d);
    /* Back at the default level when the connection comes back to the pool. */
    cr_conn_close(c);
    c = connect_ok(e);
    scalar_text(c, "SHOW transaction_isolation", level, sizeof level);
    assert_string_equal(level, "repeatable read");
    cr_conn_close(c);
    cr_conn_close(probe);
    cr_engine_free(e);
    cr_engine_free(plain);
    cr_engine_free(prepared);
}

/* ---- many clients, few server connections ---- */

#define WORKERS 6
#define ROUNDS 12

typedef struct worker {
    cr_engine *engine;
    int id;
    char failure[512];
    int64_t pids[ROUNDS];
    int npids;
} worker;

#define CHECK(w, cond, ...)                                                            \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            int n_ = snprintf((w)->failure, sizeof (w)->failure, "worker %d, line %d: ", \
                              (w)->id, __LINE__);                                      \
            snprintf((w)->failure + n_, sizeof (w)->failure - (size_t)n_, __VA_ARGS__); \
            return false;                                                              \
        }                                                                              \
    } while (0)
#define CHECK_OK(w, call, c) \
    CHECK(w, (call) == CR_OK, "%s: %s", #call, cr_error_message(cr_conn_error(c)))

static int64_t count_where(cr_conn *c, int worker_id, int64_t k)
{
    cr_result *r = cr_conn_execute(c, "SELECT count(*) FROM pgb_items WHERE worker = :w AND k = :k",
                                   CR_PARAMS({"w", cr_val_int(worker_id)}, {"k", cr_val_int(k)}));
    int64_t n = -1;
    if (r && cr_result_scalar_int64(r, &n) != CR_OK)
        n = -1;
    cr_result_free(r);
    return n;
}

static double price_of(int w, int64_t k) { return w * 1000.0 + (double)k + 0.25; }

/* Textual SQL with parameters, RETURNING, and the value read back. */
static bool round_textual(worker *w, cr_conn *c, int i)
{
    char name[40];
    snprintf(name, sizeof name, "w%d-k%d", w->id, i);
    cr_result *r = cr_conn_execute(
        c, "INSERT INTO pgb_items (worker, k, name, price) VALUES (:w, :k, :n, :p) RETURNING id",
        CR_PARAMS({"w", cr_val_int(w->id)}, {"k", cr_val_int(i)}, {"n", cr_val_text(name)},
                  {"p", cr_val_double(price_of(w->id, i))}));
    CHECK(w, r, "insert: %s", cr_error_message(cr_conn_error(c)));
    int64_t id = 0;
    cr_status st = cr_result_scalar_int64(r, &id);
    cr_result_free(r);
    CHECK(w, st == CR_OK && id > 0, "RETURNING id gave %lld", (long long)id);
    CHECK_OK(w, cr_conn_commit(c), c);
    r = cr_conn_execute(c, "SELECT name, price, worker FROM pgb_items WHERE id = :id",
                        CR_PARAMS({"id", cr_val_int(id)}));
    CHECK(w, r, "select: %s", cr_error_message(cr_conn_error(c)));
    const cr_row *row = cr_result_one(r);
    const char *got = NULL;
    size_t len = 0;
    double price = 0;
    int64_t wid = -1;
    bool ok = row && cr_row_text_at(row, 0, &got, &len) == CR_OK &&
              len == strlen(name) && memcmp(got, name, len) == 0 &&
              cr_row_double_at(row, 1, &price) == CR_OK && price == price_of(w->id, i) &&
              cr_row_int64_at(row, 2, &wid) == CR_OK && wid == w->id;
    cr_result_free(r);
    CHECK(w, ok, "row %lld read back wrong (%.*s, %g, %lld)", (long long)id, (int)len,
          got ? got : "", price, (long long)wid);
    CHECK_OK(w, cr_conn_commit(c), c);
    return true;
}

/* The expression language: a statement built once, compiled once per
 * connection, run with new values each round. */
static bool round_expression(worker *w, cr_conn *c, cr_stmt *sel, int i)
{
    cr_result *r = cr_conn_execute_stmt_params(
        c, sel, CR_PARAMS({"w", cr_val_int(w->id)}, {"k", cr_val_int(i)}));
    CHECK(w, r, "expression select: %s", cr_error_message(cr_conn_error(c)));
    const cr_row *row = cr_result_one(r);
    const char *got = NULL;
    size_t len = 0;
    double price = 0;
    char want[40];
    snprintf(want, sizeof want, "w%d-k%d", w->id, i);
    bool ok = row && cr_row_text_at(row, 0, &got, &len) == CR_OK && len == strlen(want) &&
              memcmp(got, want, len) == 0 && cr_row_double_at(row, 1, &price) == CR_OK &&
              price == price_of(w->id, i);
    cr_result_free(r);
    CHECK(w, ok, "expression select of k=%d read back wrong", i);
    CHECK_OK(w, cr_conn_commit(c), c);
    return true;
}

/* Rollback, commit, savepoints rolled back and released. */
static bool round_transactions(worker *w, cr_conn *c, int i)
{
    int64_t gone = 10000 + i, sp_gone = 20000 + i, sp_kept = 30000 + i;
    const char *ins = "INSERT INTO pgb_items (worker, k, name, price) VALUES (:w, :k, 'tx', 0)";
    CHECK_OK(w, cr_conn_exec(c, ins, CR_PARAMS({"w", cr_val_int(w->id)}, {"k", cr_val_int(gone)})), c);
    CHECK_OK(w, cr_conn_rollback(c), c);
    CHECK(w, count_where(c, w->id, gone) == 0, "a rolled back row is there");
    CHECK_OK(w, cr_conn_begin_nested(c), c);
    CHECK_OK(w, cr_conn_exec(c, ins, CR_PARAMS({"w", cr_val_int(w->id)}, {"k", cr_val_int(sp_gone)})), c);
    CHECK_OK(w, cr_conn_rollback_savepoint(c), c);
    CHECK_OK(w, cr_conn_begin_nested(c), c);
    CHECK_OK(w, cr_conn_exec(c, ins, CR_PARAMS({"w", cr_val_int(w->id)}, {"k", cr_val_int(sp_kept)})), c);
    CHECK_OK(w, cr_conn_release_savepoint(c), c);
    CHECK(w, cr_conn_savepoint_depth(c) == 0, "savepoint depth %d", cr_conn_savepoint_depth(c));
    CHECK_OK(w, cr_conn_commit(c), c);
    CHECK(w, count_where(c, w->id, sp_gone) == 0, "a row rolled back to its savepoint is there");
    CHECK(w, count_where(c, w->id, sp_kept) == 1, "a row of a released savepoint is missing");
    CHECK_OK(w, cr_conn_commit(c), c);
    return true;
}

/* The isolation level of each transaction, whatever other clients of the
 * same server connections asked for theirs. */
static bool round_isolation(worker *w, cr_conn *c, int i)
{
    static const char *const levels[][2] = {{"SERIALIZABLE", "serializable"},
                                            {"REPEATABLE READ", "repeatable read"},
                                            {"READ COMMITTED", "read committed"}};
    int pick = (w->id + i) % 3;
    CHECK_OK(w, cr_conn_set_isolation_level(c, levels[pick][0]), c);
    for (int t = 0; t < 2; t++) {
        cr_result *r = cr_conn_execute(c, "SHOW transaction_isolation", NULL);
        CHECK(w, r, "SHOW: %s", cr_error_message(cr_conn_error(c)));
        const char *s = NULL;
        size_t len = 0;
        bool ok = cr_result_scalar_text(r, &s, &len) == CR_OK &&
                  len == strlen(levels[pick][1]) && memcmp(s, levels[pick][1], len) == 0;
        cr_result_free(r);
        CHECK(w, ok, "transaction isolation is %.*s, not %s", (int)len, s ? s : "",
              levels[pick][1]);
        CHECK_OK(w, cr_conn_commit(c), c);
    }
    CHECK_OK(w, cr_conn_set_isolation_level(c, "READ COMMITTED"), c);
    return true;
}

/* executemany: textual, the expression language's batched INSERT, and an
 * UPDATE per parameter set. */
static bool round_executemany(worker *w, cr_conn *c, cr_stmt *upd, int i)
{
    int64_t base = 40000 + i * 10;
    const char *names[] = {"w", "k", "n"};
    cr_value v[9];
    for (int j = 0; j < 3; j++) {
        v[3 * j] = cr_val_int(w->id);
        v[3 * j + 1] = cr_val_int(base + j);
        v[3 * j + 2] = cr_val_text("many");
    }
    cr_result *r = cr_conn_executemany(
        c, "INSERT INTO pgb_items (worker, k, name, price) VALUES (:w, :k, :n, 1.5)", names, 3,
        v, 3);
    CHECK(w, r && cr_result_rowcount(r) == 3, "executemany: %s",
          r ? "wrong rowcount" : cr_error_message(cr_conn_error(c)));
    cr_result_free(r);

    cr_stmt *ins = cr_insert(items.table);
    cr_value rows[6];
    for (int j = 0; j < 2; j++) {
        rows[3 * j] = cr_val_int(w->id);
        rows[3 * j + 1] = cr_val_int(base + 3 + j);
        rows[3 * j + 2] = cr_val_text("batch");
    }
    r = cr_conn_executemany_stmt(c, ins, CR_COLS(items.c.worker, items.c.k, items.c.name), rows, 2);
    cr_stmt_free(ins);
    CHECK(w, r && cr_result_rowcount(r) == 2, "executemany_stmt: %s",
          r ? "wrong rowcount" : cr_error_message(cr_conn_error(c)));
    cr_result_free(r);

    const char *unames[] = {"k", "p"};
    cr_value u[4] = {cr_val_int(base), cr_val_double(7.5), cr_val_int(base + 4),
                     cr_val_double(8.5)};
    r = cr_conn_executemany_stmt_params(c, upd, unames, 2, u, 2);
    CHECK(w, r && cr_result_rowcount(r) == 2, "executemany_stmt_params: %s",
          r ? "wrong rowcount" : cr_error_message(cr_conn_error(c)));
    cr_result_free(r);
    CHECK_OK(w, cr_conn_commit(c), c);

    r = cr_conn_execute(c, "SELECT count(*), sum(price) FROM pgb_items "
                           "WHERE worker = :w AND k BETWEEN :lo AND :hi",
                        CR_PARAMS({"w", cr_val_int(w->id)}, {"lo", cr_val_int(base)},
                                  {"hi", cr_val_int(base + 9)}));
    CHECK(w, r, "count: %s", cr_error_message(cr_conn_error(c)));
    const cr_row *row = cr_result_one(r);
    int64_t n = -1;
    double sum = -1;
    bool ok = row && cr_row_int64_at(row, 0, &n) == CR_OK && cr_row_double_at(row, 1, &sum) == CR_OK;
    cr_result_free(r);
    /* 7.5 + 1.5 + 1.5 (textual rows) and 8.5 (batch row updated), the
     * other batch row's price NULL. */
    CHECK(w, ok && n == 5 && sum == 19.0, "executemany rows: count %lld, sum %g", (long long)n,
          sum);
    CHECK_OK(w, cr_conn_commit(c), c);
    return true;
}

/* A streamed result (single-row mode) of the worker's rows so far. */
static bool round_stream(worker *w, cr_conn *c, int i)
{
    CHECK_OK(w, cr_conn_set_stream_results(c, true), c);
    cr_result *r = cr_conn_execute(c, "SELECT k FROM pgb_items WHERE worker = :w AND k < 10000 "
                                      "ORDER BY k", CR_PARAMS({"w", cr_val_int(w->id)}));
    CHECK(w, r, "stream: %s", cr_error_message(cr_conn_error(c)));
    int64_t expect = 0, k = -1;
    const cr_row *row;
    bool ok = true;
    while ((row = cr_result_fetchone(r)) != NULL)
        ok &= cr_row_int64_at(row, 0, &k) == CR_OK && k == expect++;
    ok &= cr_result_error(r) == NULL;
    cr_result_free(r);
    CHECK(w, ok && expect == i + 1, "streamed %lld rows, wanted %d", (long long)expect, i + 1);
    CHECK_OK(w, cr_conn_set_stream_results(c, false), c);
    CHECK_OK(w, cr_conn_commit(c), c);
    return true;
}

/* An ORM session: objects added, flushed at commit, read back by key. */
static bool round_orm(worker *w, int i)
{
    cr_session *s = cr_session_new(w->engine, NULL);
    CHECK(w, s, "no session");
    char title[2][60];
    PNote *n[2];
    bool ok = true;
    for (int j = 0; j < 2; j++) {
        snprintf(title[j], sizeof title[j], "note %d.%d.%d", w->id, i, j);
        n[j] = cr_new(PNote);
        ok &= n[j] != NULL;
        if (!n[j])
            break;
        n[j]->worker = w->id;
        n[j]->title = title[j];
        n[j]->score = i + j / 2.0;
        ok &= cr_session_add(s, n[j]) == CR_OK;
    }
    ok &= ok && cr_session_commit(s) == CR_OK;
    int64_t ids[2] = {ok ? n[0]->id : 0, ok ? n[1]->id : 0};
    if (!ok) {
        snprintf(w->failure, sizeof w->failure, "worker %d: flush: %s", w->id,
                 cr_error_message(cr_session_error(s)));
        cr_session_free(s);
        return false;
    }
    cr_session_free(s);
    s = cr_session_new(w->engine, NULL);
    CHECK(w, s, "no session");
    for (int j = 0; j < 2 && ok; j++) {
        PNote *got = cr_session_get(s, PNote, ids[j]);
        ok = got && got->worker == w->id && got->title && strcmp(got->title, title[j]) == 0 &&
             got->score == i + j / 2.0;
    }
    cr_session_free(s);
    CHECK(w, ok, "ORM objects %lld, %lld read back wrong", (long long)ids[0], (long long)ids[1]);
    return true;
}

static bool round_backend_pid(worker *w, cr_conn *c)
{
    cr_result *r = cr_conn_execute(c, "SELECT pg_backend_pid()", NULL);
    CHECK(w, r, "pid: %s", cr_error_message(cr_conn_error(c)));
    int64_t pid = 0;
    cr_status st = cr_result_scalar_int64(r, &pid);
    cr_result_free(r);
    CHECK(w, st == CR_OK && pid > 0, "no backend pid");
    w->pids[w->npids++] = pid;
    CHECK_OK(w, cr_conn_commit(c), c);
    return true;
}

static void *work(void *arg)
{
    worker *w = arg;
    cr_error *err = NULL;
    cr_conn *c = cr_engine_connect(w->engine, &err);
    if (!c) {
        snprintf(w->failure, sizeof w->failure, "worker %d: connect: %s", w->id,
                 cr_error_message(err));
        cr_error_free(err);
        return NULL;
    }
    cr_stmt *sel = cr_select(items.c.name, items.c.price);
    cr_where(sel, cr_and(sel, cr_eq(sel, items.c.worker, cr_bindparam(sel, "w")),
                         cr_eq(sel, items.c.k, cr_bindparam(sel, "k"))));
    cr_stmt *upd = cr_update(items.table);
    cr_set(upd, items.c.price, cr_bindparam(upd, "p"));
    cr_where(upd, cr_and(upd, cr_eq(upd, items.c.worker, w->id),
                         cr_eq(upd, items.c.k, cr_bindparam(upd, "k"))));
    for (int i = 0; i < ROUNDS; i++) {
        if (!round_textual(w, c, i) || !round_expression(w, c, sel, i) ||
            !round_transactions(w, c, i) || !round_isolation(w, c, i) ||
            !round_executemany(w, c, upd, i) || !round_stream(w, c, i) || !round_orm(w, i) ||
            !round_backend_pid(w, c))
            break;
    }
    cr_stmt_free(upd);
    cr_stmt_free(sel);
    cr_conn_close(c);
    return NULL;
}

static void test_many_clients_few_servers(void **state)
{
    (void)state;
    assert_true(WORKERS > pool_size);
    cr_engine_options o = {.prepared_statements = CR_NO, .pool_size = WORKERS + 2};
    cr_engine *e = new_engine_at(pool_url, &o);
    cr_conn *c = connect_ok(e);
    ASSERT_OK(cr_metadata_drop_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_metadata_create_all(md, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));

    worker w[WORKERS];
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].engine = e;
        w[i].id = i + 1;
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    int failures = 0;
    for (int i = 0; i < WORKERS; i++)
        if (w[i].failure[0]) {
            print_error("%s\n", w[i].failure);
            failures++;
        }
    assert_int_equal(failures, 0);

    /* Every worker's rows, counted once more from outside. */
    for (int i = 0; i < WORKERS; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pgb_items WHERE worker = %d", i + 1);
        /* per round: 1 textual, 1 savepoint row, 3 + 2 executemany rows */
        assert_int_equal(scalar_int(c, sql), ROUNDS * 7);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pgb_notes WHERE worker = %d", i + 1);
        assert_int_equal(scalar_int(c, sql), ROUNDS * 2);
    }
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));

    /* The clients really shared the server connections: all those PIDs
     * came from at most pool_size server sessions. */
    int64_t seen[WORKERS * ROUNDS];
    int nseen = 0;
    for (int i = 0; i < WORKERS; i++)
        for (int j = 0; j < w[i].npids; j++) {
            bool known = false;
            for (int k = 0; k < nseen; k++)
                known |= seen[k] == w[i].pids[j];
            if (!known)
                seen[nseen++] = w[i].pids[j];
        }
    assert_true(nseen >= 1);
    assert_true(nseen <= pool_size);

    /* Compiled once per connection and shape, then found in the cache. */
    cr_cache_stats cs;
    ASSERT_OK(cr_engine_cache_stats(e, &cs), NULL);
    assert_true(cs.hits >= (uint64_t)(WORKERS * (ROUNDS - 1)));

    ASSERT_OK(cr_metadata_drop_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_engine_free(e);
}

int main(void)
{
    pool_url = getenv("CRUCIBLE_PGBOUNCER_URL");
    single_url = getenv("CRUCIBLE_PGBOUNCER_SINGLE_URL");
    const char *require = getenv("CRUCIBLE_REQUIRE_ALL_BACKENDS");
    bool required = require && strcmp(require, "1") == 0;
    if (!pool_url || !*pool_url || !single_url || !*single_url) {
        fprintf(stderr, "CRUCIBLE_PGBOUNCER_URL and CRUCIBLE_PGBOUNCER_SINGLE_URL are not set "
                        "(scripts/scaleout/pgbouncer.sh start DIR writes them): no PgBouncer "
                        "to test against%s\n",
                required ? " (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)" : "; skipping");
        return required ? 1 : 77;
    }
    if (!cr_backend_available("postgresql")) {
        fprintf(stderr, "this build has no postgresql driver%s\n",
                required ? " (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)" : "; skipping");
        return required ? 1 : 77;
    }
    const char *size = getenv("CRUCIBLE_PGBOUNCER_POOL_SIZE");
    if (size && atoi(size) > 0)
        pool_size = atoi(size);
    backend = "postgresql";   /* for the harness's helpers */
    backend_url = pool_url;

    md = cr_metadata_new(NULL);
    if (!md || items_table_define(&items, md, "pgb_items") || PNote_define(md)) {
        fprintf(stderr, "tables: %s\n", md ? cr_error_message(cr_metadata_error(md)) : "no memory");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_statements_collide),
        cmocka_unit_test(test_unnamed_statements_share),
        cmocka_unit_test(test_url_option),
        cmocka_unit_test(test_isolation_per_transaction),
        cmocka_unit_test(test_many_clients_few_servers),
    };
    int failed = cmocka_run_group_tests_name("pgbouncer", tests, NULL, NULL);
    cr_metadata_free(md);
    return failed;
}
