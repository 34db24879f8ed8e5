/* test_sqlite_foreign_keys.c — SQLite enforces foreign keys by default
 * (PRAGMA foreign_keys=ON on every connection), turned off by the URL's
 * foreign_keys=0 or the engine option sqlite_foreign_keys = CR_NO (issue 8,
 * finding 18). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crucible.h"

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

int main(void)
{
    if (!cr_backend_available("sqlite"))
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_by_default),
        cmocka_unit_test(test_turned_off),
        cmocka_unit_test(test_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
