/* test_sqlite_oom.c — out of memory at every allocation of a small workload
 * through the public API on embedded SQLite: each failure comes back as an
 * error, nothing crashes, nothing leaks (ASan's leak check). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"

#include <stdio.h>
#include <string.h>

#define MAX_ITERATIONS 2000

/* What one run of the workload did. */
typedef struct run {
    cr_status status;       /* CR_OK, or the status of the step that failed */
    const char *step;       /* that step */
    char message[256];      /* and its message */
} run;

/* A step failed: record it; the failure must be reported as out of memory
 * (the only thing going wrong), with an error object saying so. */
static void step_failed(run *out, const char *step, cr_status st, const cr_error *err)
{
    out->status = st;
    out->step = step;
    snprintf(out->message, sizeof out->message, "%s: %s (%s)", step, cr_error_message(err),
             cr_error_class_name(err));
    if (st != CR_ERR_NO_MEMORY || cr_error_class(err) != CR_ERR_NO_MEMORY)
        print_error("step %s failed with %s, error object %s: %s\n", step, cr_status_name(st),
                    cr_error_class_name(err), cr_error_message(err));
    assert_int_equal(st, CR_ERR_NO_MEMORY);
    assert_non_null(err);
    assert_int_equal(cr_error_class(err), CR_ERR_NO_MEMORY);
}

static int log_lines;
static void count_line(void *userdata, const char *line)
{
    (void)userdata;
    assert_non_null(line);
    log_lines++;
}

/* Fail the step and go to cleanup. */
#define FAIL_STEP(name, st, err)                                                             \
    do {                                                                                     \
        step_failed(out, name, st, err);                                                     \
        goto done;                                                                           \
    } while (0)

/* A statement through cr_conn_exec. */
#define EXEC(name, sql, params)                                                              \
    do {                                                                                     \
        cr_status st_ = cr_conn_exec(c, sql, params);                                        \
        if (st_ != CR_OK)                                                                    \
            FAIL_STEP(name, st_, cr_conn_error(c));                                          \
        assert_null(cr_conn_error(c));                                                       \
    } while (0)

/* A statement whose result is kept in r. */
#define EXECUTE(name, sql, params)                                                           \
    do {                                                                                     \
        r = cr_conn_execute(c, sql, params);                                                 \
        if (!r) {                                                                            \
            assert_non_null(cr_conn_error(c));                                               \
            FAIL_STEP(name, cr_error_class(cr_conn_error(c)), cr_conn_error(c));             \
        }                                                                                    \
    } while (0)

/* Check a row of t: (id, name, note). */
static void check_row(const cr_row *row, int64_t id, const char *name)
{
    int64_t got_id = 0;
    const char *got_name = NULL;
    size_t len = 0;
    assert_int_equal(cr_row_int64(row, 0, &got_id), CR_OK);
    assert_int_equal(got_id, id);
    assert_int_equal(cr_row_text(row, "name", &got_name, &len), CR_OK);
    assert_string_equal(got_name, name);
    assert_int_equal(len, strlen(name));
}

static const char *const first_names[] = {"alpha", "bravo", "charlie"};

static void workload(bool echo, run *out)
{
    memset(out, 0, sizeof *out);
    cr_engine *e = NULL;
    cr_conn *c = NULL;
    cr_result *r = NULL;
    cr_rowset *rs = NULL;
    cr_error *err = NULL;
    const cr_row *row;
    cr_value v;
    cr_status st;

    cr_engine_options opts = {0};
    opts.echo = echo;
    opts.log_fn = count_line;

    e = cr_create_engine("sqlite://", &opts, &err);
    if (!e)
        FAIL_STEP("create_engine", cr_error_class(err), err);
    assert_null(err);

    c = cr_engine_connect(e, &err);
    if (!c)
        FAIL_STEP("connect", cr_error_class(err), err);
    assert_null(err);

    EXEC("create table", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)",
         NULL);
    for (int i = 0; i < 3; i++)
        EXEC("insert", "INSERT INTO t (name, note) VALUES (:name, :note)",
             CR_PARAMS({"name", cr_val_text(first_names[i])},
                       {"note", cr_val_text("a note long enough to be copied around")}));

    /* fetchall */
    EXECUTE("select for fetchall", "SELECT id, name, note FROM t ORDER BY id", NULL);
    rs = cr_result_fetchall(r);
    if (!rs)
        FAIL_STEP("fetchall", cr_error_class(cr_result_error(r)), cr_result_error(r));
    assert_int_equal(cr_rowset_count(rs), 3);
    for (size_t i = 0; i < 3; i++)
        check_row(cr_rowset_row(rs, i), (int64_t)i + 1, first_names[i]);
    cr_rowset_free(rs);
    rs = NULL;
    cr_result_free(r);
    r = NULL;

    /* fetchone: rows exist, so NULL can only be an error. */
    EXECUTE("select for fetchone", "SELECT id, name, note FROM t ORDER BY id", NULL);
    row = cr_result_fetchone(r);
    if (!row) {
        assert_non_null(cr_result_error(r));
        FAIL_STEP("fetchone", cr_error_class(cr_result_error(r)), cr_result_error(r));
    }
    check_row(row, 1, "alpha");
    row = cr_result_fetchone(r);
    if (!row) {
        assert_non_null(cr_result_error(r));
        FAIL_STEP("fetchone 2", cr_error_class(cr_result_error(r)), cr_result_error(r));
    }
    check_row(row, 2, "bravo");
    cr_result_free(r);                    /* with a row left unread */
    r = NULL;

    /* first */
    EXECUTE("select for first", "SELECT id, name, note FROM t WHERE id >= :min ORDER BY id",
            CR_PARAMS({"min", cr_val_int(2)}));
    row = cr_result_first(r);
    if (!row) {
        assert_non_null(cr_result_error(r));
        FAIL_STEP("first", cr_error_class(cr_result_error(r)), cr_result_error(r));
    }
    check_row(row, 2, "bravo");
    cr_result_free(r);
    r = NULL;

    /* scalar */
    EXECUTE("select for scalar", "SELECT count(*) FROM t WHERE name <> :skip",
            CR_PARAMS({"skip", cr_val_text("nobody")}));
    st = cr_result_scalar(r, &v);
    if (st)
        FAIL_STEP("scalar", st, cr_result_error(r));
    assert_int_equal(v.type, CR_INT);
    assert_int_equal(v.v.i, 3);
    cr_result_free(r);
    r = NULL;

    /* executemany of 5 rows */
    {
        static const char *const names[] = {"name", "note"};
        cr_value values[10];
        static const char *const more[] = {"delta", "echo", "foxtrot", "golf", "hotel"};
        for (int i = 0; i < 5; i++) {
            values[2 * i] = cr_val_text(more[i]);
            values[2 * i + 1] = i % 2 ? cr_val_null() : cr_val_text("many");
        }
        r = cr_conn_executemany(c, "INSERT INTO t (name, note) VALUES (:name, :note)", names, 2,
                                values, 5);
        if (!r) {
            assert_non_null(cr_conn_error(c));
            FAIL_STEP("executemany", cr_error_class(cr_conn_error(c)), cr_conn_error(c));
        }
        assert_int_equal(cr_result_rowcount(r), 5);
        cr_result_free(r);
        r = NULL;
    }

    /* A savepoint rolled back. */
    st = cr_conn_begin_nested(c);
    if (st)
        FAIL_STEP("begin_nested", st, cr_conn_error(c));
    assert_int_equal(cr_conn_savepoint_depth(c), 1);
    EXEC("insert in savepoint", "INSERT INTO t (name) VALUES (:name)",
         CR_PARAMS({"name", cr_val_text("rolled back")}));
    st = cr_conn_rollback_savepoint(c);
    if (st)
        FAIL_STEP("rollback_savepoint", st, cr_conn_error(c));
    assert_int_equal(cr_conn_savepoint_depth(c), 0);
    assert_true(cr_conn_in_transaction(c));

    st = cr_conn_commit(c);
    if (st)
        FAIL_STEP("commit", st, cr_conn_error(c));
    assert_false(cr_conn_in_transaction(c));
    cr_conn_close(c);
    c = NULL;

    /* A connection from the pool sees the committed rows, not the rolled back one. */
    c = cr_engine_connect(e, &err);
    if (!c)
        FAIL_STEP("connect again", cr_error_class(err), err);
    EXECUTE("count", "SELECT count(*) FROM t", NULL);
    st = cr_result_scalar(r, &v);
    if (st)
        FAIL_STEP("count scalar", st, cr_result_error(r));
    assert_int_equal(v.type, CR_INT);
    assert_int_equal(v.v.i, 8);

done:
    cr_rowset_free(rs);
    cr_result_free(r);
    cr_conn_close(c);
    cr_engine_free(e);
    cr_error_free(err);
}

/* Fail the n-th allocation for n = 0, 1, 2 ... until a run reaches its end
 * without meeting the failure. */
static void oom_everywhere(bool echo)
{
    run out;
    cr_mem_fail_after(-1);
    log_lines = 0;
    workload(echo, &out);                     /* the workload itself is sound */
    if (out.status)
        print_error("clean run failed: %s\n", out.message);
    assert_int_equal(out.status, CR_OK);
    if (echo)
        assert_true(log_lines > 10);

    int failed_runs = 0, tolerated = 0;
    long n;
    for (n = 0; n < MAX_ITERATIONS; n++) {
        cr_mem_fail_after(n);
        workload(echo, &out);
        bool untouched = cr_mem_fail_disarm();
        if (untouched) {
            /* Every allocation succeeded: the run must have succeeded. */
            if (out.status)
                print_error("run %ld failed with no injected failure: %s\n", n, out.message);
            assert_int_equal(out.status, CR_OK);
            break;
        }
        if (out.status)
            failed_runs++;
        else
            tolerated++;                          /* a failure the library absorbed */
    }
    cr_mem_fail_after(-1);
    print_message("%s: %ld allocations, %d runs failed cleanly, %d absorbed the failure\n",
                  echo ? "echo on" : "echo off", n, failed_runs, tolerated);
    assert_true(n < MAX_ITERATIONS);
    assert_true(n > 20);                          /* the workload does allocate */
    assert_true(failed_runs > 0);
}

static void test_oom_workload(void **state)
{
    (void)state;
    if (!cr_backend_available("sqlite"))
        skip();
    oom_everywhere(false);
}

static void test_oom_workload_with_echo(void **state)
{
    (void)state;
    if (!cr_backend_available("sqlite"))
        skip();
    oom_everywhere(true);
}

/* More paths: a one-statement cache (eviction), the same SQL open twice (an
 * uncached statement), one / fetchmany / scalar_one, typed parameters, an
 * IntegrityError, and closing a connection under an open result and
 * transaction. */
static void workload_more(run *out)
{
    memset(out, 0, sizeof *out);
    cr_engine *e = NULL;
    cr_conn *c = NULL;
    cr_result *r = NULL, *r2 = NULL;
    cr_rowset *rs = NULL;
    cr_error *err = NULL;
    const cr_row *row;
    cr_value v;
    cr_status st;

    cr_engine_options opts = {0};
    opts.statement_cache_size = 1;
    e = cr_create_engine("sqlite://", &opts, &err);
    if (!e)
        FAIL_STEP("create_engine", cr_error_class(err), err);
    c = cr_engine_connect(e, &err);
    if (!c)
        FAIL_STEP("connect", cr_error_class(err), err);

    EXEC("create table",
         "CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT UNIQUE, born DATE, "
         "seen DATETIME, data BLOB, price NUMERIC(10, 2), ok BOOLEAN)", NULL);
    st = cr_conn_commit(c);
    if (st)
        FAIL_STEP("commit table", st, cr_conn_error(c));
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "user%d", i);
        unsigned char blob[3] = {(unsigned char)i, 0, 255};
        EXEC("insert typed",
             "INSERT INTO u (name, born, seen, data, price, ok) "
             "VALUES (:name, :born, :seen, :data, :price, :ok)",
             CR_PARAMS({"name", cr_val_text(name)}, {"born", cr_val_date(1990 + i, 1, 2)},
                       {"seen", cr_val_datetime(2024, 2, 29, 13, 5, i, 123456)},
                       {"data", cr_val_blob(blob, sizeof blob)},
                       {"price", cr_val_numeric("12.50")}, {"ok", cr_val_bool(i % 2)}));
    }

    /* An IntegrityError: under memory pressure it may be out of memory instead. */
    st = cr_conn_exec(c, "INSERT INTO u (name) VALUES (:name)",
                      CR_PARAMS({"name", cr_val_text("user1")}));
    if (st != CR_ERR_INTEGRITY)
        FAIL_STEP("duplicate insert", st, cr_conn_error(c));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_INTEGRITY);

    /* The same SELECT twice at once: the second is prepared apart from the
     * cached one, and both read correctly. */
    EXECUTE("select 1", "SELECT id, name, born, seen, data, price, ok FROM u ORDER BY id", NULL);
    r2 = cr_conn_execute(c, "SELECT id, name, born, seen, data, price, ok FROM u ORDER BY id",
                         NULL);
    if (!r2)
        FAIL_STEP("select 2", cr_error_class(cr_conn_error(c)), cr_conn_error(c));
    rs = cr_result_fetchmany(r, 3);
    if (!rs)
        FAIL_STEP("fetchmany", cr_error_class(cr_result_error(r)), cr_result_error(r));
    assert_int_equal(cr_rowset_count(rs), 3);
    {
        cr_datetime dt;
        double price;
        const void *data;
        size_t len;
        bool ok;
        row = cr_rowset_row(rs, 2);
        assert_int_equal(cr_row_date(row, "born", &dt), CR_OK);
        assert_int_equal(dt.year, 1992);
        assert_int_equal(cr_row_datetime(row, "seen", &dt), CR_OK);
        assert_int_equal(dt.second, 2);
        assert_int_equal(dt.microsecond, 123456);
        assert_int_equal(cr_row_double(row, "price", &price), CR_OK);
        assert_true(price == 12.5);
        assert_int_equal(cr_row_blob(row, "data", &data, &len), CR_OK);
        assert_int_equal(len, 3);
        assert_int_equal(((const unsigned char *)data)[0], 2);
        assert_int_equal(cr_row_bool(row, "ok", &ok), CR_OK);
        assert_false(ok);
    }
    cr_rowset_free(rs);
    rs = NULL;
    row = cr_result_fetchone(r2);
    if (!row)
        FAIL_STEP("fetchone 2", cr_error_class(cr_result_error(r2)), cr_result_error(r2));
    assert_string_equal(cr_result_column_name(r2, 1), "name");
    cr_result_free(r2);
    r2 = NULL;
    cr_result_free(r);
    r = NULL;

    /* one and scalar_one */
    EXECUTE("select one", "SELECT name FROM u WHERE id = :id", CR_PARAMS({"id", cr_val_int(2)}));
    row = cr_result_one(r);
    if (!row)
        FAIL_STEP("one", cr_error_class(cr_result_error(r)), cr_result_error(r));
    {
        const char *name;
        assert_int_equal(cr_row_text(row, 0, &name, NULL), CR_OK);
        assert_string_equal(name, "user1");
    }
    cr_result_free(r);
    r = NULL;
    EXECUTE("select scalar_one", "SELECT max(id) FROM u", NULL);
    st = cr_result_scalar_one(r, &v);
    if (st)
        FAIL_STEP("scalar_one", st, cr_result_error(r));
    assert_int_equal(v.v.i, 4);
    cr_result_free(r);
    r = NULL;

    /* lastrowid of an insert. */
    EXECUTE("insert for lastrowid", "INSERT INTO u (name) VALUES (:n)",
            CR_PARAMS({"n", cr_val_text("last")}));
    {
        int64_t id = 0;
        assert_int_equal(cr_result_lastrowid(r, &id), CR_OK);
        assert_int_equal(id, 5);
    }
    cr_result_free(r);
    r = NULL;

    /* Close with a result still open and the transaction still running:
     * the result is detached, the transaction rolled back. */
    EXECUTE("select left open", "SELECT id FROM u", NULL);
    cr_conn_close(c);
    c = NULL;
    assert_null(cr_result_fetchone(r));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_RESOURCE_CLOSED);
    cr_result_free(r);
    r = NULL;

    c = cr_engine_connect(e, &err);
    if (!c)
        FAIL_STEP("connect again", cr_error_class(err), err);
    EXECUTE("count", "SELECT count(*) FROM u", NULL);
    st = cr_result_scalar(r, &v);
    if (st)
        FAIL_STEP("count scalar", st, cr_result_error(r));
    assert_int_equal(v.type, CR_INT);
    assert_int_equal(v.v.i, 0);                       /* rows never committed */

done:
    cr_rowset_free(rs);
    cr_result_free(r2);
    cr_result_free(r);
    cr_conn_close(c);
    cr_engine_free(e);
    cr_error_free(err);
}

static void test_oom_more_paths(void **state)
{
    (void)state;
    if (!cr_backend_available("sqlite"))
        skip();
    run out;
    cr_mem_fail_after(-1);
    workload_more(&out);
    if (out.status)
        print_error("clean run failed: %s\n", out.message);
    assert_int_equal(out.status, CR_OK);
    long n;
    int failed_runs = 0;
    for (n = 0; n < MAX_ITERATIONS; n++) {
        cr_mem_fail_after(n);
        workload_more(&out);
        bool untouched = cr_mem_fail_disarm();
        if (untouched) {
            if (out.status)
                print_error("run %ld failed with no injected failure: %s\n", n, out.message);
            assert_int_equal(out.status, CR_OK);
            break;
        }
        failed_runs += out.status != CR_OK;
    }
    cr_mem_fail_after(-1);
    print_message("more paths: %ld allocations, %d runs failed cleanly\n", n, failed_runs);
    assert_true(n < MAX_ITERATIONS);
    assert_true(failed_runs > 0);
}

static cr_status insert_one(cr_conn *c, void *userdata)
{
    (*(int *)userdata)++;
    return cr_conn_exec(c, "INSERT INTO t (x) VALUES (:x)", CR_PARAMS({"x", cr_val_int(1)}));
}

/* cr_engine_transaction under memory failure, with and without an error
 * out-parameter: the status is the class of what went wrong in both cases. */
static void test_oom_engine_transaction(void **state)
{
    (void)state;
    if (!cr_backend_available("sqlite"))
        skip();
    for (int with_err = 1; with_err >= 0; with_err--) {
        cr_error *err = NULL;
        cr_engine *e = cr_create_engine("sqlite://", NULL, &err);
        assert_non_null(e);
        cr_conn *c = cr_engine_connect(e, &err);
        assert_non_null(c);
        assert_int_equal(cr_conn_exec(c, "CREATE TABLE t (x INTEGER)", NULL), CR_OK);
        assert_int_equal(cr_conn_commit(c), CR_OK);
        cr_conn_close(c);
        cr_engine_dispose(e);          /* the next connect opens a new connection */

        /* Findings are checked after the engine is freed, so that a failed
         * check does not also leak. */
        long n, bad_at = -1;
        cr_status bad = CR_OK;
        bool missing_detail = false, completed = false;
        int calls = 0;
        for (n = 0; n < MAX_ITERATIONS; n++) {
            err = NULL;
            calls = 0;
            cr_mem_fail_after(n);
            cr_status st = cr_engine_transaction(e, insert_one, &calls, with_err ? &err : NULL);
            bool untouched = cr_mem_fail_disarm();
            if (st != CR_OK && st != CR_ERR_NO_MEMORY && bad_at < 0) {
                bad_at = n;
                bad = st;
            }
            if (with_err && st != CR_OK && cr_error_class(err) != st)
                missing_detail = true;
            cr_error_free(err);
            cr_engine_dispose(e);
            if (untouched) {
                completed = st == CR_OK;
                break;
            }
        }
        cr_engine_free(e);
        if (bad_at >= 0)
            print_error("cr_engine_transaction(err %s) with allocation %ld failing -> %s, "
                        "want OutOfMemoryError\n", with_err ? "given" : "NULL", bad_at,
                        cr_status_name(bad));
        assert_int_equal(bad_at, -1);
        assert_false(missing_detail);
        assert_true(n < MAX_ITERATIONS);
        assert_true(n > 0);
        assert_true(completed);
        assert_int_equal(calls, 1);
    }
}

/* Failures while creating engines with options and connections that need
 * their isolation level set. */
static void test_oom_engine_options(void **state)
{
    (void)state;
    if (!cr_backend_available("sqlite"))
        skip();
    long n;
    for (n = 0; n < MAX_ITERATIONS; n++) {
        cr_engine_options o = {0};
        o.isolation_level = "read uncommitted";
        o.pool_size = 1;
        cr_error *err = NULL;
        cr_mem_fail_after(n);
        cr_engine *e = cr_create_engine("sqlite:///:memory:?timeout=1", &o, &err);
        cr_conn *c = NULL;
        cr_status st = CR_OK;
        if (!e) {
            assert_int_equal(cr_error_class(err), CR_ERR_NO_MEMORY);
            st = CR_ERR_NO_MEMORY;
        } else if (!(c = cr_engine_connect(e, &err))) {
            assert_int_equal(cr_error_class(err), CR_ERR_NO_MEMORY);
            st = CR_ERR_NO_MEMORY;
        } else {
            assert_string_equal(cr_conn_isolation_level(c), "READ UNCOMMITTED");
            st = cr_conn_set_isolation_level(c, "SERIALIZABLE");
            if (st)
                assert_int_equal(st, CR_ERR_NO_MEMORY);
        }
        bool untouched = cr_mem_fail_disarm();
        cr_conn_close(c);
        cr_engine_free(e);
        cr_error_free(err);
        if (untouched) {
            assert_int_equal(st, CR_OK);
            break;
        }
    }
    assert_true(n < MAX_ITERATIONS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_workload),
        cmocka_unit_test(test_oom_workload_with_echo),
        cmocka_unit_test(test_oom_more_paths),
        cmocka_unit_test(test_oom_engine_transaction),
        cmocka_unit_test(test_oom_engine_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
