/* test_sqlite_foreign_keys.c — SQLite URL options. It enforces foreign keys by default
 * (PRAGMA foreign_keys=ON on every connection), turned off by the URL's
 * foreign_keys=0 or the engine option sqlite_foreign_keys = CR_NO (issue 8,
 * finding 18). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crucible.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PRAGMA foreign_keys on a new connection of an engine for url. */
static int64_t pragma(const char *url, const cr_engine_options *o)
{
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, o, &err);
    if (!e)
        print_error("%s: %s\n", url, cr_error_message(err));
    assert_non_null(e);
    cr_conn *c = cr_engine_connect(e, &err);
    assert_non_null(c);
    cr_result *r = cr_conn_execute(c, "PRAGMA foreign_keys", NULL);
    assert_non_null(r);
    cr_value v;
    assert_int_equal(cr_result_scalar_one(r, &v), CR_OK);
    assert_int_equal(v.type, CR_INT);
    int64_t on = v.v.i;
    cr_result_free(r);
    cr_conn_close(c);
    cr_engine_free(e);
    return on;
}

static void test_on_by_default(void **state)
{
    (void)state;
    assert_int_equal(pragma("sqlite://", NULL), 1);
    assert_int_equal(pragma("sqlite:///:memory:", &(cr_engine_options){.echo = false}), 1);
    assert_int_equal(pragma("sqlite://?foreign_keys=1", NULL), 1);
    assert_int_equal(pragma("sqlite://?foreign_keys=true", NULL), 1);
    /* Enforced: a row that refers to nothing is an IntegrityError. */
    cr_engine *e = cr_create_engine("sqlite://", NULL, NULL);
    cr_conn *c = cr_engine_connect(e, NULL);
    assert_int_equal(cr_conn_exec(c, "CREATE TABLE p (id INTEGER PRIMARY KEY)", NULL), CR_OK);
    assert_int_equal(cr_conn_exec(c, "CREATE TABLE k (id INTEGER PRIMARY KEY, "
                                     "p_id INTEGER REFERENCES p (id))", NULL), CR_OK);
    assert_int_equal(cr_conn_exec(c, "INSERT INTO k (p_id) VALUES (7)", NULL), CR_ERR_INTEGRITY);
    cr_conn_close(c);
    cr_engine_free(e);
}

static void test_turned_off(void **state)
{
    (void)state;
    assert_int_equal(pragma("sqlite://?foreign_keys=0", NULL), 0);
    assert_int_equal(pragma("sqlite://?foreign_keys=false", NULL), 0);
    assert_int_equal(pragma("sqlite://", &(cr_engine_options){.sqlite_foreign_keys = CR_NO}), 0);
    /* The engine option wins over the URL. */
    assert_int_equal(pragma("sqlite://?foreign_keys=0",
                            &(cr_engine_options){.sqlite_foreign_keys = CR_YES}), 1);
    /* With uri=true the option is still Crucible's, not passed to SQLite. */
    assert_int_equal(pragma("sqlite:///file:fkmem?mode=memory&uri=true&foreign_keys=off", NULL),
                     0);
}

static void test_bad_values(void **state)
{
    (void)state;
    cr_error *err = NULL;
    assert_null(cr_create_engine("sqlite://?foreign_keys=maybe", NULL, &err));
    assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(err), "foreign_keys"));
    cr_error_free(err);
    cr_engine_options bad = {.sqlite_foreign_keys = (cr_tristate){7}};
    assert_null(cr_create_engine("sqlite://", &bad, &err));
    assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(err), "sqlite_foreign_keys"));
    cr_error_free(err);
}

/* journal_mode=wal: a connection that has read, its transaction still open,
 * does not keep another from committing (it reads its snapshot on); in the
 * default rollback journal it does: "database is locked" once the busy
 * timeout ends. */
static void test_journal_mode(void **state)
{
    (void)state;
    char dir[] = "/tmp/crucible-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (int wal = 0; wal < 2; wal++) {
        char url[128];
        snprintf(url, sizeof url, "sqlite:///%s/j%d.db?timeout=0.2%s", dir, wal,
                 wal ? "&journal_mode=WAL" : "");
        cr_error *err = NULL;
        cr_engine *e = cr_create_engine(url, NULL, &err);
        assert_non_null(e);
        cr_conn *a = cr_engine_connect(e, &err), *b = cr_engine_connect(e, &err);
        assert_non_null(a);
        assert_non_null(b);
        cr_result *r = cr_conn_execute(a, "PRAGMA journal_mode", NULL);
        const char *mode;
        size_t len;
        assert_int_equal(cr_row_text_at(cr_result_fetchone(r), 0, &mode, &len), CR_OK);
        assert_string_equal(mode, wal ? "wal" : "delete");
        cr_result_free(r);
        assert_int_equal(cr_conn_exec(a, "CREATE TABLE t (x INTEGER)", NULL), CR_OK);
        assert_int_equal(cr_conn_exec(a, "INSERT INTO t VALUES (1)", NULL), CR_OK);
        assert_int_equal(cr_conn_commit(a), CR_OK);
        cr_value v;
        r = cr_conn_execute(a, "SELECT x FROM t", NULL);   /* a's read: BEGIN, SELECT */
        assert_int_equal(cr_result_scalar_one(r, &v), CR_OK);
        cr_result_free(r);
        assert_int_equal(cr_conn_exec(b, "UPDATE t SET x = 2", NULL), CR_OK);
        cr_status st = cr_conn_commit(b);
        if (wal) {
            assert_int_equal(st, CR_OK);
            r = cr_conn_execute(a, "SELECT x FROM t", NULL);   /* a's snapshot */
            assert_int_equal(cr_result_scalar_one(r, &v), CR_OK);
            assert_int_equal(v.v.i, 1);
            cr_result_free(r);
        } else {
            assert_int_equal(st, CR_ERR_OPERATIONAL);
            assert_non_null(strstr(cr_error_message(cr_conn_error(b)), "locked"));
            assert_int_equal(cr_conn_rollback(b), CR_OK);
        }
        assert_int_equal(cr_conn_rollback(a), CR_OK);
        cr_conn_close(a);
        cr_conn_close(b);
        cr_engine_free(e);
    }
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    /* a mode SQLite does not have */
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine("sqlite://?journal_mode=fast", NULL, &err);
    cr_conn *c = e ? cr_engine_connect(e, &err) : NULL;
    assert_null(c);
    assert_non_null(err);
    assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(err), "journal_mode must be"));
    cr_error_free(err);
    cr_engine_free(e);
}

int main(void)
{
    if (!cr_backend_available("sqlite"))
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_by_default),
        cmocka_unit_test(test_turned_off),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_journal_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
