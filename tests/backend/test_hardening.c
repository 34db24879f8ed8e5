/* test_hardening.c — issue 8's findings that need a real backend, once per
 * backend: engine-level create_all / drop_all, foreign keys to tables that
 * are not there, SQLAlchemy data parity, and the read conveniences. Tables
 * are named hd_* (no other suite uses them). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two tables, the second referring to the first. */
static cr_metadata *parent_child(const char *parent, const char *child, const char *fk)
{
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    cr_table *p = cr_table_new(md, parent);
    cr_table_add_column(p, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                            .primary_key = true});
    cr_table *k = cr_table_new(md, child);
    cr_table_add_column(k, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                            .primary_key = true});
    cr_table_add_column(k, &(cr_column_def){.name = "parent_id", .type = CR_SQL_INTEGER,
                                            .foreign_key = fk});
    assert_null(cr_metadata_error(md));
    return md;
}

/* ---- finding 14: metadata.create_all(engine) --------------------------------- */

static void test_create_all_engine(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_metadata *md = parent_child("hd_parent", "hd_child", "hd_parent.id");
    cr_error *err = (cr_error *)0x1;
    /* Its own connection, committed: another connection sees the tables. */
    cr_status st = cr_metadata_create_all_engine(md, e, true, &err);
    if (st)
        print_error("create_all_engine: %s\n", cr_error_message(err));
    assert_int_equal(st, CR_OK);
    assert_null(err);
    assert_true(harness_has_table(e, "hd_parent"));
    assert_true(harness_has_table(e, "hd_child"));
    /* checkfirst: a second run leaves them alone. */
    assert_int_equal(cr_metadata_create_all_engine(md, e, true, NULL), CR_OK);
    /* Without checkfirst the second CREATE fails, the error handed over. */
    st = cr_metadata_create_all_engine(md, e, false, &err);
    assert_int_not_equal(st, CR_OK);
    assert_non_null(err);
    assert_int_equal(cr_error_class(err), st);
    cr_error_free(err);
    cr_pool_status ps;
    assert_int_equal(cr_engine_pool_status(e, &ps), CR_OK);
    assert_int_equal(ps.checked_out, 0);

    assert_int_equal(cr_metadata_drop_all_engine(md, e, true, &err), CR_OK);
    assert_null(err);
    assert_false(harness_has_table(e, "hd_parent"));
    assert_false(harness_has_table(e, "hd_child"));
    assert_int_equal(cr_metadata_drop_all_engine(md, e, true, NULL), CR_OK);

    /* NULL handles are argument errors, with the detail handed over. */
    assert_int_equal(cr_metadata_create_all_engine(NULL, e, true, &err), CR_ERR_ARGUMENT);
    assert_non_null(err);
    cr_error_free(err);
    assert_int_equal(cr_metadata_drop_all_engine(md, NULL, true, &err), CR_ERR_ARGUMENT);
    assert_non_null(err);
    cr_error_free(err);
    cr_metadata_free(md);
    cr_engine_free(e);
}

/* ---- finding 15: a foreign key to a table or column that is not there ------- */

static void refused_before_sending(const char *fk, const char *want1, const char *want2)
{
    cr_engine *e = new_engine(NULL);
    cr_metadata *md = parent_child("hd_parent", "hd_child", fk);
    cr_error *err = NULL;
    assert_int_equal(cr_metadata_create_all_engine(md, e, true, &err), CR_ERR_INVALID_REQUEST);
    assert_non_null(err);
    const char *msg = cr_error_message(err);
    if (!strstr(msg, want1) || !strstr(msg, want2))
        print_error("message \"%s\" does not name '%s' and '%s'\n", msg, want1, want2);
    assert_non_null(strstr(msg, want1));
    assert_non_null(strstr(msg, want2));
    assert_null(cr_error_statement(err));
    cr_error_free(err);
    /* Nothing was sent: not even the table the others refer to. */
    assert_false(harness_has_table(e, "hd_parent"));
    assert_false(harness_has_table(e, "hd_child"));

    /* The same for one table on a connection; no transaction was begun. */
    cr_conn *c = connect_ok(e);
    cr_table *child = cr_metadata_table(md, "hd_child");
    assert_int_equal(cr_table_create(child, c, false), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), want1));
    assert_false(cr_conn_in_transaction(c));
    cr_conn_close(c);
    assert_false(harness_has_table(e, "hd_child"));
    cr_metadata_free(md);
    cr_engine_free(e);
}

static void test_fk_to_missing_table(void **state)
{
    (void)state;
    /* NoReferencedTableError */
    refused_before_sending("hd_parents.id", "hd_child.parent_id", "'hd_parents'");
}

static void test_fk_to_missing_column(void **state)
{
    (void)state;
    /* NoReferencedColumnError */
    refused_before_sending("hd_parent.ident", "'hd_parent'", "'ident'");
}

/* ---- finding 17: one call for an inserted key, a typed scalar, a NULL ------- */

/* hd_items (id, name, score, ratio, flag), made through the metadata. */
typedef struct items {
    cr_metadata *md;
    cr_table *t;
    cr_column *id, *name, *score, *ratio, *flag;
} items;

static items make_items(cr_engine *e)
{
    items it;
    it.md = cr_metadata_new(NULL);
    it.t = cr_table_new(it.md, "hd_items");
    it.id = cr_table_add_column(it.t, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                       .primary_key = true});
    it.name = cr_table_add_column(it.t, &(cr_column_def){.name = "name",
                                                         .type = CR_SQL_STRING(20)});
    it.score = cr_table_add_column(it.t, &(cr_column_def){.name = "score",
                                                          .type = CR_SQL_INTEGER});
    it.ratio = cr_table_add_column(it.t, &(cr_column_def){.name = "ratio",
                                                          .type = CR_SQL_DOUBLE});
    it.flag = cr_table_add_column(it.t, &(cr_column_def){.name = "flag",
                                                         .type = CR_SQL_BOOLEAN});
    assert_null(cr_metadata_error(it.md));
    cr_error *err = NULL;
    ASSERT_OK(cr_metadata_drop_all_engine(it.md, e, true, &err), err);
    ASSERT_OK(cr_metadata_create_all_engine(it.md, e, false, &err), err);
    return it;
}

static void test_inserted_id(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    items it = make_items(e);
    cr_conn *c = connect_ok(e);
    int64_t first = -1, second = -1;
    cr_stmt *q = cr_insert(it.t);
    cr_set(q, it.name, "one");
    cr_result *r = cr_conn_execute_stmt(c, q);
    assert_non_null(r);
    ASSERT_OK(cr_result_inserted_id(r, &first), cr_result_error(r));
    cr_result_free(r);
    r = cr_conn_execute_stmt(c, q);
    assert_non_null(r);
    ASSERT_OK(cr_result_inserted_id(r, &second), cr_result_error(r));
    cr_result_free(r);
    cr_stmt_free(q);
    assert_true(first >= 1);
    assert_int_equal(second, first + 1);

    /* Textual SQL: the driver's lastrowid, where the backend has one. */
    r = cr_conn_execute(c, "INSERT INTO hd_items (name) VALUES ('three')", NULL);
    assert_non_null(r);
    int64_t third = -1;
    cr_status st = cr_result_inserted_id(r, &third);
    if (is_pg()) {
        assert_int_equal(st, CR_ERR_NOT_SUPPORTED);
    } else {
        assert_int_equal(st, CR_OK);
        assert_int_equal(third, second + 1);
    }
    cr_result_free(r);

    /* Not an INSERT: no key, an InvalidRequestError, nothing stored. */
    r = cr_conn_execute(c, "SELECT 1", NULL);
    assert_non_null(r);
    int64_t untouched = 77;
    st = cr_result_inserted_id(r, &untouched);
    assert_int_not_equal(st, CR_OK);
    assert_int_equal(untouched, 77);
    assert_non_null(cr_result_error(r));
    cr_result_free(r);
    assert_int_equal(cr_result_inserted_id(NULL, &untouched), CR_ERR_ARGUMENT);

    /* A built UPDATE or DELETE, right after an INSERT: no key either (not
     * the backend's last insert id, which is the INSERT's). */
    cr_stmt *upd = cr_update(it.t);
    cr_set(upd, it.name, "renamed");
    cr_where(upd, cr_eq(upd, it.id, first));
    cr_stmt *del = cr_delete(it.t);
    cr_where(del, cr_eq(del, it.id, second));
    cr_stmt *built[] = {upd, del};
    for (size_t i = 0; i < 2; i++) {
        r = cr_conn_execute_stmt(c, built[i]);
        assert_non_null(r);
        assert_int_equal(cr_result_rowcount(r), 1);
        st = cr_result_inserted_id(r, &untouched);
        assert_int_equal(st, CR_ERR_INVALID_REQUEST);
        assert_int_equal(untouched, 77);
        assert_non_null(strstr(cr_error_message(cr_result_error(r)), "not an INSERT"));
        cr_result_free(r);
        cr_stmt_free(built[i]);
    }
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_metadata_free(it.md);
    cr_engine_free(e);
}

static cr_result *query(cr_conn *c, const char *sql)
{
    cr_result *r = cr_conn_execute(c, sql, NULL);
    if (!r)
        print_error("%s: %s\n", sql, cr_error_message(cr_conn_error(c)));
    assert_non_null(r);
    return r;
}

static void test_typed_scalars(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    items it = make_items(e);
    cr_conn *c = connect_ok(e);
    exec_ok(c, "INSERT INTO hd_items (id, name, score, ratio, flag) VALUES "
               "(1, 'a', 10, 0.5, true), (2, 'b', NULL, NULL, NULL), (3, 'c', 30, 2.25, false)");
    int64_t n = -1;
    cr_result *r = query(c, "SELECT count(*) FROM hd_items");
    ASSERT_OK(cr_result_scalar_int64(r, &n), cr_result_error(r));
    assert_int_equal(n, 3);
    cr_result_free(r);
    double d = 0;
    r = query(c, "SELECT ratio FROM hd_items WHERE id = 3");
    ASSERT_OK(cr_result_scalar_double(r, &d), cr_result_error(r));
    assert_true(d == 2.25);
    cr_result_free(r);
    const char *text = NULL;
    size_t len = 0;
    r = query(c, "SELECT name FROM hd_items ORDER BY id DESC");
    ASSERT_OK(cr_result_scalar_text(r, &text, &len), cr_result_error(r));
    assert_string_equal(text, "c");
    assert_int_equal(len, 1);
    cr_result_free(r);
    bool b = true;
    r = query(c, "SELECT flag FROM hd_items WHERE id = 3");
    ASSERT_OK(cr_result_scalar_bool(r, &b), cr_result_error(r));
    assert_false(b);
    cr_result_free(r);

    /* No row: NoResultFound. A NULL: ArgumentError naming it; out untouched. */
    n = 5;
    r = query(c, "SELECT score FROM hd_items WHERE id = 99");
    assert_int_equal(cr_result_scalar_int64(r, &n), CR_ERR_NO_RESULT_FOUND);
    assert_int_equal(n, 5);
    cr_result_free(r);
    r = query(c, "SELECT score FROM hd_items WHERE id = 2");
    assert_int_equal(cr_result_scalar_int64(r, &n), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_result_error(r)), "NULL"));
    assert_int_equal(n, 5);
    cr_result_free(r);
    assert_int_equal(cr_result_scalar_int64(NULL, &n), CR_ERR_ARGUMENT);
    r = query(c, "SELECT 1");
    assert_int_equal(cr_result_scalar_int64(r, NULL), CR_ERR_ARGUMENT);
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_metadata_free(it.md);
    cr_engine_free(e);
}

static void test_nullable_reads(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    items it = make_items(e);
    cr_conn *c = connect_ok(e);
    exec_ok(c, "INSERT INTO hd_items (id, name, score, ratio, flag) VALUES "
               "(1, 'a', 10, 0.5, true), (2, NULL, NULL, NULL, NULL)");
    cr_stmt *q = cr_select(it.id, it.name, it.score, it.ratio, it.flag);
    cr_order_by(q, it.id);
    cr_result *r = cr_conn_execute_stmt(c, q);
    assert_non_null(r);
    const cr_row *row = cr_result_fetchone(r);
    assert_non_null(row);
    int64_t score = -1;
    bool is_null = true;
    /* By column handle, by name and by index. */
    ASSERT_OK(cr_row_int64_or_null(row, it.score, &score, &is_null), cr_row_error(row));
    assert_false(is_null);
    assert_int_equal(score, 10);
    is_null = true;
    double ratio = 0;
    ASSERT_OK(cr_row_double_or_null(row, "ratio", &ratio, &is_null), cr_row_error(row));
    assert_false(is_null);
    assert_true(ratio == 0.5);
    const char *name = NULL;
    size_t len = 0;
    ASSERT_OK(cr_row_text_or_null(row, 1, &name, &len, &is_null), cr_row_error(row));
    assert_string_equal(name, "a");
    bool flag = false;
    ASSERT_OK(cr_row_bool_or_null(row, it.flag, &flag, &is_null), cr_row_error(row));
    assert_true(flag);

    row = cr_result_fetchone(r);
    assert_non_null(row);
    /* A NULL is reported, not an error; the output keeps the default put
     * there first. */
    score = -7;
    ASSERT_OK(cr_row_int64_or_null(row, it.score, &score, &is_null), cr_row_error(row));
    assert_true(is_null);
    assert_int_equal(score, -7);
    assert_null(cr_row_error(row));
    is_null = false;
    ASSERT_OK(cr_row_double_or_null(row, "ratio", &ratio, &is_null), cr_row_error(row));
    assert_true(is_null);
    is_null = false;
    name = "default";
    ASSERT_OK(cr_row_text_or_null(row, 1, &name, &len, &is_null), cr_row_error(row));
    assert_true(is_null);
    assert_string_equal(name, "default");
    is_null = false;
    cr_datetime dt;
    ASSERT_OK(cr_row_datetime_or_null(row, it.flag, &dt, &is_null), cr_row_error(row));
    assert_true(is_null);
    /* Still errors: a bad column, a value of another type. */
    assert_int_equal(cr_row_int64_or_null(row, "nope", &score, &is_null), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_row_error(row)), "nope"));
    assert_int_equal(cr_row_int64_or_null(row, 9, &score, &is_null), CR_ERR_ARGUMENT);
    row = NULL;
    cr_result_free(r);
    r = cr_conn_execute_stmt(c, q);
    row = cr_result_fetchone(r);
    assert_int_equal(cr_row_int64_or_null(row, it.name, &score, &is_null), CR_ERR_ARGUMENT);
    /* is_null may be NULL: then a NULL is an error as for cr_row_int64. */
    assert_int_equal(cr_row_int64_or_null(row, it.score, &score, NULL), CR_OK);
    cr_result_free(r);
    cr_stmt_free(q);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_metadata_free(it.md);
    cr_engine_free(e);
}

/* ---- findings 9 to 12: the same values as SQLAlchemy reads and writes ------- */

/* hd_data (id, amount NUMERIC(22, 6), ratio FLOAT, at DATETIME(timezone),
 * n INTEGER), made through the metadata so that each backend gets
 * SQLAlchemy's DDL. */
static cr_metadata *make_data(cr_engine *e)
{
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(md, "hd_data");
    cr_table_add_column(t, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                            .primary_key = true});
    cr_table_add_column(t, &(cr_column_def){.name = "amount", .type = CR_SQL_NUMERIC(22, 6)});
    cr_table_add_column(t, &(cr_column_def){.name = "ratio", .type = CR_SQL_FLOAT});
    cr_table_add_column(t, &(cr_column_def){.name = "at", .type = CR_SQL_DATETIME_TZ});
    cr_table_add_column(t, &(cr_column_def){.name = "n", .type = CR_SQL_INTEGER});
    assert_null(cr_metadata_error(md));
    cr_error *err = NULL;
    ASSERT_OK(cr_metadata_drop_all_engine(md, e, true, &err), err);
    ASSERT_OK(cr_metadata_create_all_engine(md, e, false, &err), err);
    return md;
}

/* Finding 9: a Numeric(p, s) value reads at its declared scale whatever
 * SQLite stored it as (an integer here), as SQLAlchemy's Numeric does. */
static void test_numeric_scale(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_metadata *md = make_data(e);
    cr_conn *c = connect_ok(e);
    exec_ok(c, "INSERT INTO hd_data (id, amount) VALUES (1, 100000000000000), (2, 0), "
               "(3, -7), (4, 2.5)");
    static const char *const want[] = {"100000000000000.000000", "0.000000", "-7.000000",
                                       "2.500000"};
    cr_result *r = cr_conn_execute(c, "SELECT amount FROM hd_data ORDER BY id", NULL);
    assert_non_null(r);
    for (size_t i = 0; i < 4; i++) {
        const cr_row *row = cr_result_fetchone(r);
        assert_non_null(row);
        const char *amount = NULL;
        ASSERT_OK(cr_row_numeric(row, 0, &amount), cr_row_error(row));
        assert_string_equal(amount, want[i]);
    }
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(e);
}

/* Finding 10: on SQLite, where SQLAlchemy's DATETIME keeps no offset and
 * reads back a naive time, a datetime with an offset is stored as the same
 * instant in UTC. */
static void test_sqlite_datetime_with_offset(void **state)
{
    (void)state;
    if (!is_sqlite())
        skip();
    cr_engine *e = new_engine(NULL);
    cr_metadata *md = make_data(e);
    cr_conn *c = connect_ok(e);
    cr_value at = cr_val_datetime(2024, 5, 1, 12, 0, 0, 250000);
    at.v.dt.has_utc_offset = true;
    at.v.dt.utc_offset = 2 * 3600;
    cr_value across = cr_val_datetime(2024, 3, 1, 1, 30, 0, 0);   /* leap day back */
    across.v.dt.has_utc_offset = true;
    across.v.dt.utc_offset = 5 * 3600;
    cr_value west = cr_val_datetime(2023, 12, 31, 20, 0, 0, 0);   /* new year ahead */
    west.v.dt.has_utc_offset = true;
    west.v.dt.utc_offset = -(5 * 3600 + 30 * 60);
    ASSERT_OK(cr_conn_exec(c, "INSERT INTO hd_data (id, at) VALUES (1, :a), (2, :b), (3, :c)",
                           CR_PARAMS({"a", at}, {"b", across}, {"c", west})),
              cr_conn_error(c));
    static const char *const want[] = {"2024-05-01 10:00:00.250000", "2024-02-29 20:30:00.000000",
                                       "2024-01-01 01:30:00.000000"};
    cr_result *r = cr_conn_execute(c, "SELECT at || '' FROM hd_data ORDER BY id", NULL);
    assert_non_null(r);
    for (size_t i = 0; i < 3; i++) {
        const cr_row *row = cr_result_fetchone(r);
        assert_non_null(row);
        const char *text = NULL;
        ASSERT_OK(cr_row_text(row, 0, &text, NULL), cr_row_error(row));
        assert_string_equal(text, want[i]);
    }
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(e);
}

/* Finding 11: a single-precision FLOAT holding 0.1 reads as 0.1. */
static void test_float_reads_shortest(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_metadata *md = make_data(e);
    cr_conn *c = connect_ok(e);
    exec_ok(c, "INSERT INTO hd_data (id, ratio) VALUES (1, 0.1), (2, 1.5e38), "
               "(3, 1e-10), (4, -2.5), (5, 16777217)");
    static const double want[] = {0.1, 1.5e38, 1e-10, -2.5, 16777216};
    cr_result *r = cr_conn_execute(c, "SELECT ratio FROM hd_data ORDER BY id", NULL);
    assert_non_null(r);
    for (size_t i = 0; i < 5; i++) {
        const cr_row *row = cr_result_fetchone(r);
        assert_non_null(row);
        double d = 0;
        ASSERT_OK(cr_row_double(row, 0, &d), cr_row_error(row));
        if (!is_mysql() && i == 4)
            continue;   /* FLOAT is a double on SQLite and PostgreSQL: 16777217 stays */
        if (d != want[i])
            print_error("row %zu: %.17g, want %.17g\n", i + 1, d, want[i]);
        assert_true(d == want[i]);
    }
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(e);
}

/* Finding 12: MySQL's "incorrect value" errors are DataError, as
 * SQLAlchemy's MySQL drivers classify them. */
static void test_mysql_data_errors(void **state)
{
    (void)state;
    if (!is_mysql())
        skip();
    cr_engine *e = new_engine(NULL);
    cr_metadata *md = make_data(e);
    cr_conn *c = connect_ok(e);
    exec_ok(c, "SET SESSION sql_mode = 'STRICT_TRANS_TABLES'");
    cr_status st = cr_conn_exec(c, "INSERT INTO hd_data (id, n) VALUES (1, 'abc')", NULL);
    const cr_error *err = cr_conn_error(c);
    if (st != CR_ERR_DATA)
        print_error("%s (%ld): %s\n", cr_status_name(st), cr_error_code(err),
                    cr_error_message(err));
    assert_int_equal(st, CR_ERR_DATA);
    assert_int_equal(cr_error_code(err), 1366);
    assert_string_equal(cr_error_class_name(err), "DataError");
    cr_conn_rollback(c);
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(e);
}

static int group_teardown(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    static const char *const tables[] = {"hd_child", "hd_parent", "hd_items", "hd_data"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        drop_table(c, tables[i]);
    cr_conn_close(c);
    cr_engine_free(e);
    return 0;
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_all_engine),
        cmocka_unit_test(test_fk_to_missing_table),
        cmocka_unit_test(test_fk_to_missing_column),
        cmocka_unit_test(test_inserted_id),
        cmocka_unit_test(test_typed_scalars),
        cmocka_unit_test(test_nullable_reads),
        cmocka_unit_test(test_numeric_scale),
        cmocka_unit_test(test_sqlite_datetime_with_offset),
        cmocka_unit_test(test_float_reads_shortest),
        cmocka_unit_test(test_mysql_data_errors),
    };
    int failed = HARNESS_RUN("hardening", NULL, tests, group_teardown);
    harness_cleanup();
    return failed ? 1 : 0;
}
