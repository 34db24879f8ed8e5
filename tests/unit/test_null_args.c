/* test_null_args.c — NULL and wrong-state arguments to the engine, schema and
 * Inspector calls are reported as errors, never a crash (issue 8, finding 3),
 * on embedded in-memory SQLite. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crucible.h"

#include <string.h>

static cr_conn *memory_conn(cr_engine **engine)
{
    cr_error *err = NULL;
    *engine = cr_create_engine("sqlite://", NULL, &err);
    assert_non_null(*engine);
    cr_conn *c = cr_engine_connect(*engine, &err);
    assert_non_null(c);
    assert_int_equal(cr_conn_exec(c, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", NULL),
                     CR_OK);
    return c;
}

static void test_inspector_null_handle(void **state)
{
    (void)state;
    const char *const *names = (const char *const *)&names;
    const cr_reflected_column *cols = (const cr_reflected_column *)&cols;
    const cr_reflected_constraint *cons = (const cr_reflected_constraint *)&cons;
    size_t n = 99;
    bool exists = true;
    assert_int_equal(cr_inspector_get_table_names(NULL, &names, &n), CR_ERR_ARGUMENT);
    assert_null(names);
    assert_int_equal(n, 0);
    assert_int_equal(cr_inspector_has_table(NULL, "t", &exists), CR_ERR_ARGUMENT);
    assert_false(exists);
    assert_int_equal(cr_inspector_get_columns(NULL, "t", &cols, &n), CR_ERR_ARGUMENT);
    assert_null(cols);
    assert_int_equal(cr_inspector_get_pk_constraint(NULL, "t", &cons), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_foreign_keys(NULL, "t", &cons, &n), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_indexes(NULL, "t", &cons, &n), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_unique_constraints(NULL, "t", &cons, &n),
                     CR_ERR_ARGUMENT);
    assert_null(cr_inspect(NULL));
    cr_inspector_free(NULL);
}

static void test_inspector_null_outputs(void **state)
{
    (void)state;
    cr_engine *e;
    cr_conn *c = memory_conn(&e);
    cr_inspector *insp = cr_inspect(c);
    assert_non_null(insp);
    const char *const *names;
    const cr_reflected_column *cols;
    const cr_reflected_constraint *cons;
    size_t n;
    bool exists;
    assert_int_equal(cr_inspector_get_table_names(insp, NULL, &n), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "NULL"));
    assert_int_equal(cr_inspector_get_table_names(insp, &names, NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_has_table(insp, "t", NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_columns(insp, "t", NULL, &n), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_columns(insp, "t", &cols, NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_pk_constraint(insp, "t", NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_foreign_keys(insp, "t", NULL, &n), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_foreign_keys(insp, "t", &cons, NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_indexes(insp, "t", NULL, &n), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_indexes(insp, "t", &cons, NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_unique_constraints(insp, "t", NULL, &n), CR_ERR_ARGUMENT);
    assert_int_equal(cr_inspector_get_unique_constraints(insp, "t", &cons, NULL),
                     CR_ERR_ARGUMENT);
    /* And the inspector still works. */
    assert_int_equal(cr_inspector_has_table(insp, "t", &exists), CR_OK);
    assert_true(exists);
    assert_int_equal(cr_inspector_get_columns(insp, "t", &cols, &n), CR_OK);
    assert_int_equal(n, 2);
    cr_inspector_free(insp);
    cr_conn_close(c);
    cr_engine_free(e);
}

/* An inspector outliving its connection reports ResourceClosedError instead
 * of reading freed memory. */
static void test_inspector_after_close(void **state)
{
    (void)state;
    cr_engine *e;
    cr_conn *c = memory_conn(&e);
    cr_inspector *insp = cr_inspect(c);
    assert_non_null(insp);
    cr_conn_close(c);
    const char *const *names;
    const cr_reflected_column *cols;
    const cr_reflected_constraint *cons;
    size_t n;
    bool exists;
    assert_int_equal(cr_inspector_get_table_names(insp, &names, &n), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_inspector_has_table(insp, "t", &exists), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_inspector_get_columns(insp, "t", &cols, &n), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_inspector_get_pk_constraint(insp, "t", &cons), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_inspector_get_foreign_keys(insp, "t", &cons, &n),
                     CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_inspector_get_indexes(insp, "t", &cons, &n), CR_ERR_RESOURCE_CLOSED);
    assert_int_equal(cr_inspector_get_unique_constraints(insp, "t", &cons, &n),
                     CR_ERR_RESOURCE_CLOSED);
    cr_inspector_free(insp);

    /* Freed before its connection: the connection forgets it. */
    c = cr_engine_connect(e, NULL);
    assert_non_null(c);
    cr_inspector *a = cr_inspect(c), *b = cr_inspect(c);
    assert_non_null(a);
    assert_non_null(b);
    cr_inspector_free(a);
    cr_conn_close(c);
    assert_int_equal(cr_inspector_has_table(b, "t", &exists), CR_ERR_RESOURCE_CLOSED);
    cr_inspector_free(b);
    cr_engine_free(e);
}

static void test_table_define_null_defs(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    cr_table *t = (cr_table *)md;
    assert_int_equal(cr_table_define(md, "x", NULL, 3, NULL, &t), CR_ERR_ARGUMENT);
    assert_null(t);
    assert_non_null(strstr(cr_error_message(cr_metadata_error(md)), "x"));
    /* No columns at all is a table without columns, as before. */
    assert_int_equal(cr_table_define(md, "y", NULL, 0, NULL, &t), CR_OK);
    assert_non_null(t);
    cr_metadata_free(md);
}

/* A text or blob value whose pointer is NULL with a length other than 0
 * never reaches memcpy: it is an ArgumentError naming the parameter. */
static void test_null_pointer_values(void **state)
{
    (void)state;
    cr_engine *e;
    cr_conn *c = memory_conn(&e);
    cr_value text = {CR_TEXT, {0}};
    text.v.s.len = 5;
    cr_value blob = {CR_BLOB, {0}};
    blob.v.blob.len = 7;
    cr_value numeric = {CR_NUMERIC, {0}};
    numeric.v.s.len = 3;
    const cr_value bad[] = {text, blob, numeric};
    for (size_t i = 0; i < 3; i++) {
        cr_param params[] = {{"v", bad[i]}, {NULL, {CR_NULL, {0}}}};
        assert_int_equal(cr_conn_exec(c, "INSERT INTO t (name) VALUES (:v)", params),
                         CR_ERR_ARGUMENT);
        const char *msg = cr_error_message(cr_conn_error(c));
        assert_non_null(strstr(msg, "'v'"));
        assert_non_null(strstr(msg, "NULL"));
    }
    const char *names[] = {"v"};
    cr_result *r = cr_conn_executemany(c, "INSERT INTO t (name) VALUES (:v)", names, 1, bad, 1);
    assert_null(r);
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_ARGUMENT);
    /* A NULL pointer of length 0 is the empty text or blob. */
    text.v.s.len = 0;
    cr_param ok[] = {{"v", text}, {NULL, {CR_NULL, {0}}}};
    assert_int_equal(cr_conn_exec(c, "INSERT INTO t (name) VALUES (:v)", ok), CR_OK);
    cr_conn_close(c);
    cr_engine_free(e);

    /* Column defaults are copied when the column is made. */
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(md, "d");
    cr_column_def def = {.name = "x", .type = CR_SQL_TEXT, .default_value = bad[0]};
    assert_null(cr_table_add_column(t, &def));
    assert_int_equal(cr_error_class(cr_metadata_error(md)), CR_ERR_ARGUMENT);
    cr_column_def def2 = {.name = "y", .type = CR_SQL_LARGEBINARY, .onupdate_value = bad[1]};
    assert_null(cr_table_add_column(t, &def2));
    cr_metadata_free(md);

    /* Values bound by the expression language (cr_set, cr_eq, cr_bind). */
    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "s");
    cr_column *name = cr_table_add_column(t, &(cr_column_def){.name = "name",
                                                              .type = CR_SQL_TEXT});
    cr_column *data = cr_table_add_column(t, &(cr_column_def){.name = "data",
                                                              .type = CR_SQL_LARGEBINARY});
    cr_stmt *q = cr_insert(t);
    cr_set(q, name, bad[0]);
    assert_int_equal(cr_error_class(cr_stmt_error(q)), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_stmt_error(q)), "NULL pointer"));
    cr_stmt_free(q);
    q = cr_select(t);
    cr_where(q, cr_eq(q, data, bad[1]));
    assert_int_equal(cr_error_class(cr_stmt_error(q)), CR_ERR_ARGUMENT);
    cr_stmt_free(q);
    cr_metadata_free(md);
}

/* A NUMERIC value is a decimal number, as Python's Decimal reads one:
 * anything else ("abc", "1,5") is an ArgumentError before it is sent, not
 * text stored in a NUMERIC column that SQLAlchemy then cannot read. */
static void test_numeric_text_values(void **state)
{
    (void)state;
    cr_engine *e;
    cr_conn *c = memory_conn(&e);
    static const char *const bad[] = {"abc", "1,5", "", "12.5.6", "1e", ".", "-", "e5",
                                      "1 ", "nanx", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_param params[] = {{"v", cr_val_numeric(bad[i])}, {NULL, {CR_NULL, {0}}}};
        assert_int_equal(cr_conn_exec(c, "INSERT INTO t (name) VALUES (:v)", params),
                         CR_ERR_ARGUMENT);
        assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "not a decimal number"));
    }
    static const char *const good[] = {"-12.50", "+.5", "1e-3", "5.", "7E+2", "0", "NaN",
                                       "-Infinity", "inf"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        cr_param params[] = {{"v", cr_val_numeric(good[i])}, {NULL, {CR_NULL, {0}}}};
        assert_int_equal(cr_conn_exec(c, "INSERT INTO t (name) VALUES (:v)", params), CR_OK);
    }
    cr_conn_close(c);
    cr_engine_free(e);

    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(md, "m");
    cr_column *amount = cr_table_add_column(t, &(cr_column_def){.name = "amount",
                                                                .type = CR_SQL_NUMERIC(10, 2)});
    cr_stmt *q = cr_insert(t);
    cr_set(q, amount, cr_val_numeric("abc"));
    assert_int_equal(cr_error_class(cr_stmt_error(q)), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_stmt_error(q)), "'abc' is not a decimal"));
    cr_stmt_free(q);
    cr_metadata_free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspector_null_handle),
        cmocka_unit_test(test_inspector_null_outputs),
        cmocka_unit_test(test_inspector_after_close),
        cmocka_unit_test(test_table_define_null_defs),
        cmocka_unit_test(test_null_pointer_values),
        cmocka_unit_test(test_numeric_text_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
