/* test_backend.c — the backend suite: the engine API against a real SQLite, PostgreSQL or MariaDB. */
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
#include <unistd.h>

static cr_result *execute_ok(cr_conn *c, const char *sql, const cr_param *params)
{
    cr_result *r = cr_conn_execute(c, sql, params);
    if (!r) {
        print_error("%s\n  failed: %s: %s\n", sql, cr_error_class_name(cr_conn_error(c)),
                    cr_error_message(cr_conn_error(c)));
        fail();
    }
    return r;
}

/* ---- connecting and plain statements ------------------------------------ */

static void test_select_literal(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    assert_string_equal(cr_engine_backend(e), backend);
    cr_conn *c = connect_ok(e);
    assert_int_equal(scalar_int(c, "SELECT 1"), 1);
    assert_true(cr_conn_in_transaction(c));          /* autobegin */
    cr_result *r = execute_ok(c, "SELECT 1 + :a AS total, :b AS word",
                              CR_PARAMS({"a", cr_val_int(41)}, {"b", cr_val_text("hi")}));
    assert_true(cr_result_returns_rows(r));
    assert_int_equal(cr_result_column_count(r), 2);
    assert_string_equal(cr_result_column_name(r, 0), "total");
    assert_string_equal(cr_result_column_name(r, 1), "word");
    assert_null(cr_result_column_name(r, 2));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_ARGUMENT);
    const cr_row *row = cr_result_fetchone(r);
    assert_non_null(row);
    int64_t total;
    const char *word;
    size_t len;
    ASSERT_OK(cr_row_int64(row, "total", &total), cr_row_error(row));
    assert_int_equal(total, 42);
    ASSERT_OK(cr_row_text(row, 1, &word, &len), cr_row_error(row));
    assert_string_equal(word, "hi");
    assert_int_equal(len, 2);
    assert_null(cr_result_fetchone(r));
    assert_null(cr_result_error(r));
    cr_result_free(r);
    cr_conn_close(c);
    cr_engine_free(e);
}

/* Every value type survives a round trip through a table, and NULL too. */
static void test_types_round_trip(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    char cols[512];
    snprintf(cols, sizeof cols,
             "id %s, i BIGINT, d %s, b BOOLEAN, t TEXT, bl %s, n NUMERIC(12,3), dt DATE, "
             "tm %s, ts %s", t_pk(), t_double(), t_blob(), t_time(), t_datetime());
    create_table(c, "cr_types", cols);
    const unsigned char blob[] = {0, 1, 2, 255, 0, 'x'};
    const char *insert = "INSERT INTO cr_types (i, d, b, t, bl, n, dt, tm, ts) "
                         "VALUES (:i, :d, :b, :t, :bl, :n, :dt, :tm, :ts)";
    ASSERT_OK(cr_conn_exec(c, insert,
        CR_PARAMS({"i", cr_val_int(INT64_MIN + 1)}, {"d", cr_val_double(-2.5e-3)},
                  {"b", cr_val_bool(true)}, {"t", cr_val_text("h\xc3\xa9llo")},
                  {"bl", cr_val_blob(blob, sizeof blob)}, {"n", cr_val_numeric("-123456789.125")},
                  {"dt", cr_val_date(2024, 2, 29)}, {"tm", cr_val_time(23, 59, 58, 999999)},
                  {"ts", cr_val_datetime(1999, 12, 31, 23, 59, 59, 123456)})), cr_conn_error(c));
    ASSERT_OK(cr_conn_exec(c, insert,
        CR_PARAMS({"i", cr_val_null()}, {"d", cr_val_null()}, {"b", cr_val_null()},
                  {"t", cr_val_text(NULL)}, {"bl", cr_val_null()}, {"n", cr_val_null()},
                  {"dt", cr_val_null()}, {"tm", cr_val_null()}, {"ts", cr_val_null()})),
              cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));

    cr_result *r = execute_ok(c, "SELECT i, d, b, t, bl, n, dt, tm, ts FROM cr_types ORDER BY id",
                              NULL);
    const cr_row *row = cr_result_fetchone(r);
    assert_non_null(row);
    int64_t i;
    double d;
    bool b;
    const char *t, *n;
    const void *bl;
    size_t len;
    cr_datetime dt;
    ASSERT_OK(cr_row_int64(row, "i", &i), cr_row_error(row));
    assert_true(i == INT64_MIN + 1);
    ASSERT_OK(cr_row_double(row, "d", &d), cr_row_error(row));
    assert_true(d == -2.5e-3);
    ASSERT_OK(cr_row_bool(row, "b", &b), cr_row_error(row));
    assert_true(b);
    ASSERT_OK(cr_row_text(row, "t", &t, &len), cr_row_error(row));
    assert_string_equal(t, "h\xc3\xa9llo");
    ASSERT_OK(cr_row_blob(row, "bl", &bl, &len), cr_row_error(row));
    assert_int_equal(len, sizeof blob);
    assert_memory_equal(bl, blob, sizeof blob);
    ASSERT_OK(cr_row_numeric(row, "n", &n), cr_row_error(row));
    assert_string_equal(n, "-123456789.125");
    ASSERT_OK(cr_row_date(row, "dt", &dt), cr_row_error(row));
    assert_int_equal(dt.year, 2024);
    assert_int_equal(dt.month, 2);
    assert_int_equal(dt.day, 29);
    ASSERT_OK(cr_row_time(row, "tm", &dt), cr_row_error(row));
    assert_int_equal(dt.hour, 23);
    assert_int_equal(dt.minute, 59);
    assert_int_equal(dt.second, 58);
    assert_int_equal(dt.microsecond, 999999);
    ASSERT_OK(cr_row_datetime(row, "ts", &dt), cr_row_error(row));
    char text[40];
    cr_datetime_format(&dt, CR_DATETIME, text, sizeof text);
    assert_string_equal(text, "1999-12-31 23:59:59.123456");
    /* The row as Python prints one. */
    char shown[300];
    /* MariaDB's BOOLEAN, TINYINT(1), reads as a bool too. */
    const char *expect =
        "(-9223372036854775807, -0.0025, True, 'h\xc3\xa9llo', b'\\x00\\x01\\x02\\xff\\x00x', "
        "Decimal('-123456789.125'), datetime.date(2024, 2, 29), "
        "datetime.time(23, 59, 58, 999999), "
        "datetime.datetime(1999, 12, 31, 23, 59, 59, 123456))";
    assert_int_equal(cr_row_format(row, shown, sizeof shown), (int)strlen(expect));
    assert_string_equal(shown, expect);

    row = cr_result_fetchone(r);
    assert_non_null(row);
    for (int k = 0; k < 9; k++)
        assert_int_equal(cr_row_is_null(row, k), 1);
    assert_int_equal(cr_row_format(row, shown, sizeof shown), 54);
    assert_string_equal(shown, "(None, None, None, None, None, None, None, None, None)");
    /* A typed getter on NULL says so. */
    assert_int_equal(cr_row_int64(row, "i", &i), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_row_error(row)), "NULL"));
    assert_null(cr_result_fetchone(r));
    cr_result_free(r);
    drop_table(c, "cr_types");

    if (is_mysql()) {
        /* TINYINT(1) reads as a bool when it holds 0 or 1, as an int else;
         * a wider TINYINT stays an int. */
        create_table(c, "cr_tiny", "id INT PRIMARY KEY, b TINYINT(1), t TINYINT");
        ASSERT_OK(cr_conn_exec(c, "INSERT INTO cr_tiny VALUES (1, 0, 0), (2, 1, 1), "
                                  "(3, 5, 5), (4, NULL, NULL)", NULL), cr_conn_error(c));
        r = execute_ok(c, "SELECT b, t FROM cr_tiny ORDER BY id", NULL);
        static const char *const tiny[] = {"(False, 0)", "(True, 1)", "(5, 5)", "(None, None)"};
        for (size_t k = 0; k < 4; k++) {
            row = cr_result_fetchone(r);
            assert_non_null(row);
            cr_row_format(row, shown, sizeof shown);
            assert_string_equal(shown, tiny[k]);
        }
        cr_result_free(r);
        drop_table(c, "cr_tiny");
    }
    cr_conn_close(c);
    cr_engine_free(e);
}

/* A JSON column holding the document null reads as NULL, as SQLAlchemy's
 * JSON reads it (None), on every backend: SQLite's JSON declared type,
 * PostgreSQL's json and jsonb, MariaDB's JSON (LONGTEXT told apart by its
 * extended metadata). The text "null" in quotes, a document holding a
 * null and the same text in a plain text column stay text. */
static void test_json_null(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    create_table(c, "cr_json", is_pg() ? "id INTEGER PRIMARY KEY, j JSON, jb JSONB, t TEXT"
                                       : "id INTEGER PRIMARY KEY, j JSON, jb JSON, t TEXT");
    ASSERT_OK(cr_conn_exec(c, "INSERT INTO cr_json VALUES (1, 'null', 'null', 'null'), "
                              "(2, ' null\n', ' null\n', ' null'), "
                              "(3, '\"null\"', '\"null\"', 'x'), "
                              "(4, '{\"a\": null}', '{\"a\": null}', 'x'), "
                              "(5, NULL, NULL, NULL), (6, '7', '7', '7')", NULL),
              cr_conn_error(c));
    cr_result *r = execute_ok(c, "SELECT j, jb, t FROM cr_json ORDER BY id", NULL);
    static const char *const want[] = {
        "(None, None, 'null')", "(None, None, ' null')", "('\"null\"', '\"null\"', 'x')",
        "('{\"a\": null}', '{\"a\": null}', 'x')", "(None, None, None)", "('7', '7', '7')",
    };
    char shown[200];
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const cr_row *row = cr_result_fetchone(r);
        assert_non_null(row);
        cr_row_format(row, shown, sizeof shown);
        assert_string_equal(shown, want[k]);
    }
    assert_null(cr_result_fetchone(r));
    cr_result_free(r);
    drop_table(c, "cr_json");
    cr_conn_close(c);
    cr_engine_free(e);
}

/* Values that would break SQL pasted together come back unchanged. */
static void test_hostile_values(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    char cols[256];
    /* MySQL's TEXT holds 64 KB; the long value needs LONGTEXT. */
    snprintf(cols, sizeof cols, "id INTEGER PRIMARY KEY, t %s, bl %s",
             is_mysql() ? "LONGTEXT" : "TEXT", t_blob());
    create_table(c, "cr_hostile", cols);
    static char longtext[100001];
    for (size_t k = 0; k < sizeof longtext - 1; k++)
        longtext[k] = (char)('a' + k % 26);
    const char *values[] = {
        "O'Reilly", "\"double\"", "back\\slash\\", "100% _wild_", "a; DROP TABLE cr_hostile; --",
        "'); DELETE FROM cr_hostile; --", ":notaparam", "$1 ? %s", "\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x98\x80",
        "", "tab\tnewline\n", longtext,
    };
    size_t nv = sizeof values / sizeof values[0];
    for (size_t k = 0; k < nv; k++) {
        unsigned char bin[256];
        for (int x = 0; x < 256; x++)
            bin[x] = (unsigned char)(x * 7 + k);
        ASSERT_OK(cr_conn_exec(c, "INSERT INTO cr_hostile (id, t, bl) VALUES (:id, :t, :bl)",
                               CR_PARAMS({"id", cr_val_int((int64_t)k)},
                                         {"t", cr_val_text(values[k])},
                                         {"bl", cr_val_blob(bin, sizeof bin)})),
                  cr_conn_error(c));
    }
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_hostile"), nv);
    for (size_t k = 0; k < nv; k++) {
        cr_result *r = execute_ok(c, "SELECT t, bl FROM cr_hostile WHERE t = :t",
                                  CR_PARAMS({"t", cr_val_text(values[k])}));
        const cr_row *row = cr_result_one(r);
        if (!row)
            print_error("value %zu: %s\n", k, cr_error_message(cr_result_error(r)));
        assert_non_null(row);
        const char *t;
        size_t len;
        const void *bl;
        ASSERT_OK(cr_row_text(row, 0, &t, &len), cr_row_error(row));
        assert_int_equal(len, strlen(values[k]));
        assert_memory_equal(t, values[k], len);
        ASSERT_OK(cr_row_blob(row, 1, &bl, &len), cr_row_error(row));
        assert_int_equal(len, 256);
        assert_int_equal(((const unsigned char *)bl)[255], (unsigned char)(255 * 7 + k));
        cr_result_free(r);
    }
    /* LIKE patterns are values too: '%' in a value matches only through LIKE. */
    cr_result *r = execute_ok(c, "SELECT count(*) FROM cr_hostile WHERE t = :p",
                              CR_PARAMS({"p", cr_val_text("100%")}));
    cr_value v;
    ASSERT_OK(cr_result_scalar(r, &v), cr_result_error(r));
    assert_int_equal(v.v.i, 0);
    cr_result_free(r);
    drop_table(c, "cr_hostile");
    cr_conn_close(c);
    cr_engine_free(e);
}

/* ---- parameters ------------------------------------------------------------ */

static void test_parameter_errors(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    /* Missing, unknown, duplicated. */
    assert_null(cr_conn_execute(c, "SELECT :a + :b", CR_PARAMS({"a", cr_val_int(1)})));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "'b'"));
    assert_string_equal(cr_error_statement(cr_conn_error(c)), "SELECT :a + :b");
    assert_null(cr_conn_execute(c, "SELECT :name",
                                CR_PARAMS({"name", cr_val_int(1)}, {"nmae", cr_val_int(2)})));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "'nmae'"));
    assert_null(cr_conn_execute(c, "SELECT :a", CR_PARAMS({"a", cr_val_int(1)}, {"a", cr_val_int(2)})));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_ARGUMENT);
    /* The same name twice binds one value; a name in a string literal is text;
     * "\:" is a literal colon. */
    cr_result *r = execute_ok(c, "SELECT :x + :x, ':x', 'a\\:b'",
                              CR_PARAMS({"x", cr_val_int(21)}));
    const cr_row *row = cr_result_one(r);
    assert_non_null(row);
    int64_t sum;
    const char *lit;
    ASSERT_OK(cr_row_int64(row, 0, &sum), cr_row_error(row));
    assert_int_equal(sum, 42);
    ASSERT_OK(cr_row_text(row, 1, &lit, NULL), cr_row_error(row));
    assert_string_equal(lit, ":x");
    cr_result_free(r);
    if (is_pg()) {
        /* PostgreSQL casts are not parameters. */
        r = execute_ok(c, "SELECT :v::integer + 1", CR_PARAMS({"v", cr_val_text("41")}));
        cr_value v;
        ASSERT_OK(cr_result_scalar(r, &v), cr_result_error(r));
        assert_int_equal(v.v.i, 42);
        cr_result_free(r);
    }
    /* NULL arguments name themselves. */
    assert_null(cr_conn_execute(NULL, "SELECT 1", NULL));
    assert_int_equal(cr_error_class(cr_conn_error(NULL)), CR_ERR_ARGUMENT);
    assert_null(cr_conn_execute(c, NULL, NULL));
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "NULL"));
    cr_conn_close(c);
    cr_engine_free(e);
}

static void test_executemany(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    create_table(c, "cr_many", "id INTEGER PRIMARY KEY, name VARCHAR(40), qty INTEGER");
    enum { N = 1000 };
    static cr_value values[N * 3];
    static char names[N][16];
    for (int k = 0; k < N; k++) {
        snprintf(names[k], sizeof names[k], "item-%d", k);
        values[k * 3] = cr_val_int(k + 1);
        values[k * 3 + 1] = cr_val_text(names[k]);
        values[k * 3 + 2] = k % 10 ? cr_val_int(k) : cr_val_null();
    }
    const char *const cols[] = {"id", "name", "qty"};
    cr_result *r = cr_conn_executemany(c, "INSERT INTO cr_many (id, name, qty) VALUES (:id, :name, :qty)",
                                       cols, 3, values, N);
    assert_non_null(r);
    assert_int_equal(cr_result_rowcount(r), N);
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_many"), N);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_many WHERE qty IS NULL"), N / 10);
    assert_int_equal(scalar_int(c, "SELECT qty FROM cr_many WHERE name = 'item-999'"), 999);
    /* A name the statement lacks, and a duplicate key mid-way. */
    const char *const wrong[] = {"id", "nmae", "qty"};
    assert_null(cr_conn_executemany(c, "INSERT INTO cr_many (id, name, qty) VALUES (:id, :name, :qty)",
                                    wrong, 3, values, 1));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_ARGUMENT);
    values[3] = cr_val_int(N + 1);                   /* set 1 new, set 2 duplicates id 3 */
    values[6] = cr_val_int(3);
    assert_null(cr_conn_executemany(c, "INSERT INTO cr_many (id, name, qty) VALUES (:id, :name, :qty)",
                                    cols, 3, values + 3, 2));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_INTEGRITY);
    ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_many"), N);
    drop_table(c, "cr_many");
    cr_conn_close(c);
    cr_engine_free(e);
}

/* ---- transactions ---------------------------------------------------------- */

static void test_commit_rollback(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    create_table(c, "cr_tx", "id INTEGER PRIMARY KEY");
    assert_false(cr_conn_in_transaction(c));
    exec_ok(c, "INSERT INTO cr_tx VALUES (1)");
    assert_true(cr_conn_in_transaction(c));
    ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
    assert_false(cr_conn_in_transaction(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_tx"), 0);
    exec_ok(c, "INSERT INTO cr_tx VALUES (2)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));       /* nothing to commit: a no-op */
    /* Seen from another connection. */
    cr_conn *other = connect_ok(e);
    assert_int_equal(scalar_int(other, "SELECT count(*) FROM cr_tx"), 1);
    cr_conn_rollback(other);
    /* Explicit begin, twice. */
    cr_conn_rollback(c);
    ASSERT_OK(cr_conn_begin(c), cr_conn_error(c));
    assert_int_equal(cr_conn_begin(c), CR_ERR_INVALID_REQUEST);
    exec_ok(c, "INSERT INTO cr_tx VALUES (3)");
    /* Closing inside a transaction rolls it back. */
    cr_conn_close(c);
    assert_int_equal(scalar_int(other, "SELECT count(*) FROM cr_tx"), 1);
    cr_conn_rollback(other);
    drop_table(other, "cr_tx");
    cr_conn_close(other);
    cr_engine_free(e);
}

static cr_status tx_insert(cr_conn *c, void *userdata)
{
    int *id = userdata;
    if (cr_conn_exec(c, "INSERT INTO cr_tx2 VALUES (:id)", CR_PARAMS({"id", cr_val_int(*id)})))
        return cr_error_class(cr_conn_error(c));
    return *id == 2 ? CR_ERR_INVALID_REQUEST : CR_OK;   /* id 2: the callback gives up */
}

static void test_engine_begin_and_transaction(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    create_table(c, "cr_tx2", "id INTEGER PRIMARY KEY");
    cr_error *err = NULL;
    cr_conn *b = cr_engine_begin(e, &err);
    assert_non_null(b);
    assert_true(cr_conn_in_transaction(b));
    exec_ok(b, "INSERT INTO cr_tx2 VALUES (10)");
    ASSERT_OK(cr_conn_commit(b), cr_conn_error(b));
    cr_conn_close(b);
    int one = 1, two = 2;
    assert_int_equal(cr_engine_transaction(e, tx_insert, &one, &err), CR_OK);
    assert_null(err);
    assert_int_equal(cr_engine_transaction(e, tx_insert, &two, &err), CR_ERR_INVALID_REQUEST);
    cr_error_free(err);
    /* A failing statement inside: its error reaches the caller. */
    assert_int_equal(cr_engine_transaction(e, tx_insert, &one, &err), CR_ERR_INTEGRITY);
    assert_int_equal(cr_error_class(err), CR_ERR_INTEGRITY);
    cr_error_free(err);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_tx2"), 2);   /* 10 and 1 */
    drop_table(c, "cr_tx2");
    cr_conn_close(c);
    cr_engine_free(e);
}

static void test_savepoints(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    create_table(c, "cr_sp", "id INTEGER PRIMARY KEY");
    exec_ok(c, "INSERT INTO cr_sp VALUES (1)");
    ASSERT_OK(cr_conn_begin_nested(c), cr_conn_error(c));
    exec_ok(c, "INSERT INTO cr_sp VALUES (2)");
    ASSERT_OK(cr_conn_begin_nested(c), cr_conn_error(c));
    exec_ok(c, "INSERT INTO cr_sp VALUES (3)");
    ASSERT_OK(cr_conn_begin_nested(c), cr_conn_error(c));
    assert_int_equal(cr_conn_savepoint_depth(c), 3);
    exec_ok(c, "INSERT INTO cr_sp VALUES (4)");
    ASSERT_OK(cr_conn_rollback_savepoint(c), cr_conn_error(c));      /* drops 4 */
    ASSERT_OK(cr_conn_release_savepoint(c), cr_conn_error(c));       /* keeps 3 */
    ASSERT_OK(cr_conn_rollback_savepoint(c), cr_conn_error(c));      /* drops 2 and 3 */
    assert_int_equal(cr_conn_savepoint_depth(c), 0);
    assert_int_equal(cr_conn_rollback_savepoint(c), CR_ERR_INVALID_REQUEST);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_sp"), 1);
    assert_int_equal(scalar_int(c, "SELECT max(id) FROM cr_sp"), 1);
    /* A savepoint rescues a transaction from a failed statement. */
    ASSERT_OK(cr_conn_begin_nested(c), cr_conn_error(c));
    assert_int_equal(cr_conn_exec(c, "INSERT INTO cr_sp VALUES (1)", NULL), CR_ERR_INTEGRITY);
    ASSERT_OK(cr_conn_rollback_savepoint(c), cr_conn_error(c));
    exec_ok(c, "INSERT INTO cr_sp VALUES (5)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_sp"), 2);
    drop_table(c, "cr_sp");
    cr_conn_close(c);
    cr_engine_free(e);
}

static void test_isolation_levels(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    create_table(c, "cr_iso", "id INTEGER PRIMARY KEY");
    assert_int_equal(cr_conn_set_isolation_level(c, "bogus"), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "bogus"));
    ASSERT_OK(cr_conn_set_isolation_level(c, "SERIALIZABLE"), cr_conn_error(c));
    assert_string_equal(cr_conn_isolation_level(c), "SERIALIZABLE");
    exec_ok(c, "INSERT INTO cr_iso VALUES (1)");
    assert_int_equal(cr_conn_set_isolation_level(c, "READ COMMITTED"), CR_ERR_INVALID_REQUEST);
    cr_conn_rollback(c);
    /* AUTOCOMMIT: no BEGIN, each statement is committed at once. */
    ASSERT_OK(cr_conn_set_isolation_level(c, "autocommit"), cr_conn_error(c));
    exec_ok(c, "INSERT INTO cr_iso VALUES (2)");
    assert_false(cr_conn_in_transaction(c));
    cr_conn *other = connect_ok(e);
    assert_int_equal(scalar_int(other, "SELECT count(*) FROM cr_iso"), 1);
    cr_conn_rollback(other);
    cr_conn_close(other);
    if (!is_sqlite()) {
        ASSERT_OK(cr_conn_set_isolation_level(c, "REPEATABLE READ"), cr_conn_error(c));
        /* MariaDB before 11.1 names the variable tx_isolation. */
        cr_result *r = cr_conn_execute(c, is_pg() ? "SELECT current_setting('transaction_isolation')"
                                                  : "SELECT @@session.transaction_isolation", NULL);
        if (!r && is_mysql())
            r = execute_ok(c, "SELECT @@session.tx_isolation", NULL);
        assert_non_null(r);
        cr_value v;
        ASSERT_OK(cr_result_scalar(r, &v), cr_result_error(r));
        assert_true(strcmp(v.v.s.ptr, "repeatable read") == 0 ||
                    strcmp(v.v.s.ptr, "REPEATABLE-READ") == 0);
        cr_result_free(r);
        cr_conn_rollback(c);
    } else {
        assert_int_equal(cr_conn_set_isolation_level(c, "REPEATABLE READ"), CR_ERR_ARGUMENT);
    }
    cr_conn_close(c);
    /* The engine's level applies to every connection; a connection's own
     * level does not outlive its checkout. */
    cr_engine *ae = new_engine(&(cr_engine_options){.isolation_level = "AUTOCOMMIT"});
    c = connect_ok(ae);
    assert_string_equal(cr_conn_isolation_level(c), "AUTOCOMMIT");
    exec_ok(c, "DELETE FROM cr_iso");
    assert_false(cr_conn_in_transaction(c));
    cr_conn_close(c);
    c = connect_ok(e);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_iso"), 0);
    drop_table(c, "cr_iso");
    cr_conn_close(c);
    cr_engine_free(ae);
    cr_engine_free(e);
}

/* ---- results ---------------------------------------------------------------- */

static void fill_numbers(cr_conn *c, int n)
{
    create_table(c, "cr_nums", "n INTEGER PRIMARY KEY, label VARCHAR(20)");
    for (int k = 1; k <= n; k++) {
        char label[20];
        snprintf(label, sizeof label, "n%d", k);
        ASSERT_OK(cr_conn_exec(c, "INSERT INTO cr_nums VALUES (:n, :label)",
                               CR_PARAMS({"n", cr_val_int(k)}, {"label", cr_val_text(label)})),
                  cr_conn_error(c));
    }
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
}

static void test_fetch_styles(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    fill_numbers(c, 10);
    const char *q = "SELECT n, label FROM cr_nums ORDER BY n";

    cr_result *r = execute_ok(c, q, NULL);
    const cr_row *row = cr_result_fetchone(r);
    int64_t n;
    ASSERT_OK(cr_row_int64(row, 0, &n), cr_row_error(row));
    assert_int_equal(n, 1);
    cr_rowset *some = cr_result_fetchmany(r, 4);
    assert_non_null(some);
    assert_int_equal(cr_rowset_count(some), 4);
    ASSERT_OK(cr_row_int64(cr_rowset_row(some, 3), "n", &n), cr_row_error(cr_rowset_row(some, 3)));
    assert_int_equal(n, 5);
    assert_null(cr_rowset_row(some, 4));
    cr_rowset *rest = cr_result_fetchall(r);
    assert_int_equal(cr_rowset_count(rest), 5);
    cr_result_free(r);                    /* row sets outlive their result */
    const char *label;
    ASSERT_OK(cr_row_text(cr_rowset_row(rest, 4), "label", &label, NULL), NULL);
    assert_string_equal(label, "n10");
    assert_string_equal(cr_row_column_name(cr_rowset_row(rest, 0), 1), "label");
    cr_rowset_free(some);
    cr_rowset_free(rest);

    /* first: the row, then the result is closed. */
    r = execute_ok(c, q, NULL);
    row = cr_result_first(r);
    assert_non_null(row);
    ASSERT_OK(cr_row_int64(row, "n", &n), cr_row_error(row));
    assert_int_equal(n, 1);
    assert_null(cr_result_fetchone(r));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_RESOURCE_CLOSED);
    ASSERT_OK(cr_row_text(row, 1, &label, NULL), cr_row_error(row));   /* still readable */
    assert_string_equal(label, "n1");
    cr_result_free(r);

    /* one / one_or_none / scalar_one on 0, 1 and many rows. */
    r = execute_ok(c, "SELECT n FROM cr_nums WHERE n > 100", NULL);
    assert_null(cr_result_one(r));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_NO_RESULT_FOUND);
    cr_result_free(r);
    r = execute_ok(c, "SELECT n FROM cr_nums WHERE n > 100", NULL);
    assert_null(cr_result_one_or_none(r));
    assert_null(cr_result_error(r));
    cr_result_free(r);
    r = execute_ok(c, "SELECT n FROM cr_nums WHERE n > 8", NULL);
    assert_null(cr_result_one(r));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_MULTIPLE_RESULTS);
    cr_result_free(r);
    r = execute_ok(c, "SELECT n FROM cr_nums WHERE n > 8", NULL);
    assert_null(cr_result_one_or_none(r));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_MULTIPLE_RESULTS);
    cr_result_free(r);
    r = execute_ok(c, "SELECT label FROM cr_nums WHERE n = :n", CR_PARAMS({"n", cr_val_int(7)}));
    row = cr_result_one(r);
    assert_non_null(row);
    ASSERT_OK(cr_row_text(row, 0, &label, NULL), cr_row_error(row));
    assert_string_equal(label, "n7");
    cr_result_free(r);
    cr_value v;
    r = execute_ok(c, "SELECT n FROM cr_nums WHERE n > 100", NULL);
    ASSERT_OK(cr_result_scalar(r, &v), cr_result_error(r));
    assert_int_equal(v.type, CR_NULL);
    cr_result_free(r);
    r = execute_ok(c, "SELECT n FROM cr_nums WHERE n > 100", NULL);
    assert_int_equal(cr_result_scalar_one(r, &v), CR_ERR_NO_RESULT_FOUND);
    cr_result_free(r);

    /* scalars: the first column of every row. */
    r = cr_result_scalars(execute_ok(c, "SELECT n, label FROM cr_nums ORDER BY n DESC", NULL));
    assert_int_equal(cr_result_column_count(r), 1);
    cr_rowset *all = cr_result_all(r);
    assert_int_equal(cr_rowset_count(all), 10);
    assert_int_equal(cr_row_column_count(cr_rowset_row(all, 0)), 1);
    ASSERT_OK(cr_row_int64(cr_rowset_row(all, 0), 0, &n), NULL);
    assert_int_equal(n, 10);
    cr_rowset_free(all);
    cr_result_free(r);

    /* rowcount of update and delete; a result without rows. */
    r = execute_ok(c, "UPDATE cr_nums SET label = 'x' WHERE n <= :k", CR_PARAMS({"k", cr_val_int(3)}));
    assert_false(cr_result_returns_rows(r));
    assert_int_equal(cr_result_rowcount(r), 3);
    assert_null(cr_result_fetchone(r));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_RESOURCE_CLOSED);
    cr_result_free(r);
    /* Matched rows count even when unchanged (MySQL's FOUND_ROWS). */
    r = execute_ok(c, "UPDATE cr_nums SET label = 'x' WHERE n <= 3", NULL);
    assert_int_equal(cr_result_rowcount(r), 3);
    cr_result_free(r);
    r = execute_ok(c, "DELETE FROM cr_nums WHERE n > 5", NULL);
    assert_int_equal(cr_result_rowcount(r), 5);
    cr_result_free(r);
    drop_table(c, "cr_nums");
    cr_conn_close(c);
    cr_engine_free(e);
}

static void test_lastrowid_and_returning(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    char cols[256];
    snprintf(cols, sizeof cols, "id %s, name VARCHAR(20)", t_pk());
    create_table(c, "cr_ids", cols);
    cr_result *r = execute_ok(c, "INSERT INTO cr_ids (name) VALUES ('a')", NULL);
    int64_t id = 0;
    if (is_pg()) {
        assert_int_equal(cr_result_lastrowid(r, &id), CR_ERR_NOT_SUPPORTED);
        assert_non_null(strstr(cr_error_message(cr_result_error(r)), "RETURNING"));
    } else {
        ASSERT_OK(cr_result_lastrowid(r, &id), cr_result_error(r));
        assert_int_equal(id, 1);
    }
    cr_result_free(r);
    /* RETURNING works on all three (SQLite 3.35+, MariaDB 10.5+). */
    r = execute_ok(c, "INSERT INTO cr_ids (name) VALUES (:n) RETURNING id",
                   CR_PARAMS({"n", cr_val_text("b")}));
    cr_value v;
    ASSERT_OK(cr_result_scalar_one(r, &v), cr_result_error(r));
    assert_int_equal(v.v.i, 2);
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    drop_table(c, "cr_ids");
    cr_conn_close(c);
    cr_engine_free(e);
}

static void test_getter_errors(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    cr_result *r = execute_ok(c, "SELECT 'text' AS word, 5 AS num", NULL);
    const cr_row *row = cr_result_fetchone(r);
    assert_non_null(row);
    int64_t n;
    const char *s;
    double d;
    bool b;
    assert_int_equal(cr_row_int64(row, "word", &n), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_row_error(row)), "'word'"));
    assert_non_null(strstr(cr_error_message(cr_row_error(row)), "TEXT"));
    assert_int_equal(cr_row_text(row, "num", &s, NULL), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_row_error(row)), "INTEGER"));
    assert_int_equal(cr_row_int64(row, 7, &n), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_row_error(row)), "7"));
    assert_int_equal(cr_row_int64(row, "nmu", &n), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_row_error(row)), "nmu"));
    assert_non_null(strstr(cr_error_message(cr_row_error(row)), "word, num"));
    assert_int_equal(cr_row_int64(row, (const char *)NULL, &n), CR_ERR_ARGUMENT);
    assert_int_equal(cr_row_is_null(row, 9), -1);
    /* Allowed conversions: an integer as a double, 5 is no boolean. */
    ASSERT_OK(cr_row_double(row, "num", &d), cr_row_error(row));
    assert_true(d == 5.0);
    assert_int_equal(cr_row_bool(row, "num", &b), CR_ERR_ARGUMENT);
    ASSERT_OK(cr_row_int64(row, 1, &n), cr_row_error(row));
    assert_null(cr_row_error(row));                  /* success clears the error */
    assert_int_equal(cr_row_index(row, "num"), 1);
    assert_int_equal(cr_row_index(row, "zzz"), -1);
    cr_result_free(r);
    /* Freed twice: the connection keeps the result for its next execute,
     * and the second free leaves it there (it used to free it under the
     * connection, which then handed out freed memory). */
    cr_result_free(r);
    assert_null(cr_result_fetchone(r));
    for (int i = 0; i < 3; i++) {
        cr_result *again = execute_ok(c, "SELECT 2 AS two", NULL);
        row = cr_result_fetchone(again);
        assert_non_null(row);
        ASSERT_OK(cr_row_int64(row, 0, &n), cr_row_error(row));
        assert_int_equal(n, 2);
        cr_result_free(again);
    }
    /* NULL handles. */
    assert_null(cr_result_fetchone(NULL));
    assert_int_equal(cr_row_int64((const cr_row *)NULL, 0, &n), CR_ERR_ARGUMENT);
    assert_int_equal(cr_error_class(cr_row_error(NULL)), CR_ERR_ARGUMENT);
    assert_int_equal(cr_error_class(cr_result_error(NULL)), CR_ERR_ARGUMENT);
    cr_result_free(NULL);
    cr_conn_close(NULL);
    cr_engine_free(NULL);
    cr_rowset_free(NULL);
    cr_conn_close(c);
    cr_engine_free(e);
}

/* ---- errors ------------------------------------------------------------------ */

static void test_error_classes(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    create_table(c, "cr_err", "id INTEGER PRIMARY KEY, email VARCHAR(50) NOT NULL UNIQUE, "
                              "small VARCHAR(3)");
    exec_ok(c, "INSERT INTO cr_err (id, email) VALUES (1, 'a@x')");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));

    const char *dup = "INSERT INTO cr_err (id, email) VALUES (2, :e)";
    assert_int_equal(cr_conn_exec(c, dup, CR_PARAMS({"e", cr_val_text("a@x")})), CR_ERR_INTEGRITY);
    const cr_error *err = cr_conn_error(c);
    assert_string_equal(cr_error_class_name(err), "IntegrityError");
    assert_string_equal(cr_error_statement(err), dup);
    if (is_pg())
        assert_string_equal(cr_error_sqlstate(err), "23505");
    if (is_mysql()) {
        assert_string_equal(cr_error_sqlstate(err), "23000");
        assert_int_equal(cr_error_code(err), 1062);
    }
    if (is_sqlite())
        assert_int_equal(cr_error_code(err), 2067);     /* SQLITE_CONSTRAINT_UNIQUE */
    assert_false(cr_error_is_disconnect(err));
    cr_conn_rollback(c);

    assert_int_equal(cr_conn_exec(c, "INSERT INTO cr_err (id, email) VALUES (3, NULL)", NULL),
                     CR_ERR_INTEGRITY);
    cr_conn_rollback(c);

    /* Syntax and missing tables: ProgrammingError; Python's sqlite3 calls
     * them OperationalError, and SQLAlchemy passes that on. */
    cr_status syntax = is_sqlite() ? CR_ERR_OPERATIONAL : CR_ERR_PROGRAMMING;
    assert_int_equal(cr_conn_exec(c, "SELEC 1", NULL), syntax);
    assert_string_equal(cr_error_statement(cr_conn_error(c)), "SELEC 1");
    cr_conn_rollback(c);
    assert_int_equal(cr_conn_exec(c, "SELECT * FROM cr_no_such_table", NULL), syntax);
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "cr_no_such_table"));
    cr_conn_rollback(c);
    if (!is_sqlite()) {
        /* Values the column cannot hold: DataError. */
        assert_int_equal(cr_conn_exec(c, "INSERT INTO cr_err (id, email, small) VALUES (4, 'b', :s)",
                                      CR_PARAMS({"s", cr_val_text("too long")})), CR_ERR_DATA);
        assert_string_equal(cr_error_sqlstate(cr_conn_error(c)), "22001");
        cr_conn_rollback(c);
    }
    if (is_pg()) {
        assert_int_equal(cr_conn_exec(c, "SELECT CAST(:v AS INTEGER)",
                                      CR_PARAMS({"v", cr_val_text("nope")})), CR_ERR_DATA);
        assert_string_equal(cr_error_sqlstate(cr_conn_error(c)), "22P02");
        cr_conn_rollback(c);
    }
    /* The connection stays usable after each error. */
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_err"), 1);
    drop_table(c, "cr_err");
    cr_conn_close(c);
    cr_engine_free(e);
}

/* A wrong password or an unreachable server fails at connect, without the
 * password in any message. */
static void test_connect_errors(void **state)
{
    (void)state;
    if (is_sqlite()) {
        cr_error *err = NULL;
        cr_engine *e = cr_create_engine("sqlite:////nonexistent-dir/x/y.db", NULL, &err);
        assert_non_null(e);
        cr_conn *c = cr_engine_connect(e, &err);
        assert_null(c);
        assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
        assert_non_null(strstr(cr_error_message(err), "unable to open"));
        cr_error_free(err);
        cr_engine_free(e);
        /* A bad option is reported when the engine is made, as SQLAlchemy's
         * create_engine reports it. */
        e = cr_create_engine("sqlite:///x.db?bogus=1", NULL, &err);
        assert_null(e);
        assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
        assert_non_null(strstr(cr_error_message(err), "bogus"));
        cr_error_free(err);
        return;
    }
    /* Same server, wrong password. */
    char url[512];
    const char *at = strrchr(backend_url, '@');
    const char *scheme_end = strstr(backend_url, "://");
    const char *colon = memchr(scheme_end + 3, ':', (size_t)(at - scheme_end - 3));
    assert_non_null(colon);
    snprintf(url, sizeof url, "%.*s:Secr3tWrong%s", (int)(colon - backend_url), backend_url, at);
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, NULL, &err);
    assert_non_null(e);
    assert_null(strstr(cr_engine_url(e), "Secr3tWrong"));
    assert_non_null(strstr(cr_engine_url(e), "***"));
    cr_conn *c = cr_engine_connect(e, &err);
    assert_null(c);
    assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
    assert_null(strstr(cr_error_message(err), "Secr3tWrong"));
    if (is_mysql())
        assert_int_equal(cr_error_code(err), 1045);
    cr_error_free(err);
    cr_engine_free(e);
}

/* A multi-host URL fails over to the next host: the first host here is a
 * port nothing listens on (PostgreSQL: libpq tries the hosts; MySQL: the
 * driver does). PostgreSQL also takes SQLAlchemy's ?host= spelling. */
static void test_multi_host(void **state)
{
    (void)state;
    const char *at = strrchr(backend_url, '@');
    assert_non_null(at);
    size_t alen = strcspn(at + 1, "/?");
    const char *attrs = is_pg() ? "target_session_attrs=read-write" : "";
    char url[1024];
    /* backend://user:pw@127.0.0.1:1,HOST:PORT/db[?target_session_attrs=read-write] */
    snprintf(url, sizeof url, "%.*s@127.0.0.1:1,%.*s%s%s%s", (int)(at - backend_url),
             backend_url, (int)alen, at + 1, at + 1 + alen,
             !*attrs ? "" : strchr(at, '?') ? "&" : "?", attrs);
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, NULL, &err);
    assert_non_null(e);
    assert_non_null(strstr(cr_engine_url(e), "127.0.0.1:1,"));
    cr_conn *c = connect_ok(e);
    assert_int_equal(scalar_int(c, "SELECT 1"), 1);
    cr_conn_close(c);
    cr_engine_free(e);
    if (is_pg()) {
        /* postgresql://user:pw@/db?host=127.0.0.1:1&host=HOST:PORT */
        snprintf(url, sizeof url, "%.*s@%s%shost=127.0.0.1:1&host=%.*s",
                 (int)(at - backend_url), backend_url, at + 1 + alen,
                 strchr(at, '?') ? "&" : "?", (int)alen, at + 1);
        e = cr_create_engine(url, NULL, &err);
        assert_non_null(e);
        c = connect_ok(e);
        assert_int_equal(scalar_int(c, "SELECT 2"), 2);
        cr_conn_close(c);
        cr_engine_free(e);
    }
    /* Every host down: one OperationalError naming the hosts tried. */
    snprintf(url, sizeof url, "%.*s@127.0.0.1:1,127.0.0.1:2%s", (int)(at - backend_url),
             backend_url, at + 1 + alen);
    e = cr_create_engine(url, NULL, &err);
    assert_non_null(e);
    assert_null(cr_engine_connect(e, &err));
    assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
    assert_false(cr_error_is_disconnect(err));
    assert_non_null(strstr(cr_error_message(err), "127.0.0.1"));
    assert_non_null(strstr(cr_error_message(err), is_pg() ? "port 2" : "127.0.0.1:2"));
    cr_error_free(err);
    cr_engine_free(e);
}

/* ---- echo logging ------------------------------------------------------------ */

typedef struct { char lines[64][512]; int n; } log_capture;

static void capture(void *userdata, const char *line)
{
    log_capture *cap = userdata;
    if (cap->n < 64)
        snprintf(cap->lines[cap->n++], sizeof cap->lines[0], "%s", line);
}

static int find_line(const log_capture *cap, const char *text, int from)
{
    for (int i = from; i < cap->n; i++)
        if (strstr(cap->lines[i], text))
            return i;
    return -1;
}

static void test_echo_logging(void **state)
{
    (void)state;
    static log_capture cap;
    memset(&cap, 0, sizeof cap);
    cr_engine *e = new_engine(&(cr_engine_options){.echo = true, .log_fn = capture,
                                                   .log_userdata = &cap});
    cr_conn *c = connect_ok(e);
    cr_result *r = execute_ok(c, "SELECT :word AS w", CR_PARAMS({"word", cr_val_text("it's")}));
    cr_result_free(r);
    r = execute_ok(c, "SELECT :word AS w", CR_PARAMS({"word", cr_val_text("again")}));
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    ASSERT_OK(cr_conn_begin_nested(c), cr_conn_error(c));
    ASSERT_OK(cr_conn_rollback_savepoint(c), cr_conn_error(c));
    ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
    int at = find_line(&cap, "Engine created for", 0);
    assert_true(at >= 0);
    if (!is_sqlite())
        assert_non_null(strstr(cap.lines[at], "***"));
    at = find_line(&cap, "BEGIN (implicit)", 0);
    assert_true(at >= 0);
    at = find_line(&cap, "SELECT :word AS w", at);
    assert_true(at >= 0);
    assert_non_null(strstr(cap.lines[at + 1], "[generated in"));
    assert_non_null(strstr(cap.lines[at + 1], "{'word': \"it's\"}"));
    at = find_line(&cap, "SELECT :word AS w", at + 1);
    assert_non_null(strstr(cap.lines[at + 1], "[cached since"));
    assert_true(find_line(&cap, "COMMIT", at) > at);
    assert_true(find_line(&cap, "SAVEPOINT sa_savepoint_1", at) > at);
    assert_true(find_line(&cap, "ROLLBACK TO SAVEPOINT sa_savepoint_1", at) > at);
    assert_true(find_line(&cap, "ROLLBACK", at) > at);
    cr_conn_close(c);
    cr_engine_free(e);
    /* Off by default: nothing logged. */
    memset(&cap, 0, sizeof cap);
    e = new_engine(&(cr_engine_options){.log_fn = capture, .log_userdata = &cap});
    c = connect_ok(e);
    assert_int_equal(scalar_int(c, "SELECT 1"), 1);
    cr_conn_close(c);
    cr_engine_free(e);
    assert_int_equal(cap.n, 0);
}

/* ---- streaming, statement cache, open results --------------------------------- */

static void test_stream_results(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    fill_numbers(c, 300);
    ASSERT_OK(cr_conn_set_stream_results(c, true), cr_conn_error(c));
    cr_result *r = execute_ok(c, "SELECT n FROM cr_nums ORDER BY n", NULL);
    const cr_row *row = cr_result_fetchone(r);
    assert_non_null(row);
    /* Nothing else may run while a streamed result is open. */
    assert_null(cr_conn_execute(c, "SELECT 1", NULL));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_INVALID_REQUEST);
    int64_t sum = 0, n;
    do {
        ASSERT_OK(cr_row_int64(row, 0, &n), cr_row_error(row));
        sum += n;
    } while ((row = cr_result_fetchone(r)));
    assert_null(cr_result_error(r));
    assert_int_equal(sum, 300 * 301 / 2);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM cr_nums"), 300);   /* free again */
    cr_result_free(r);
    /* A streamed result freed half-read leaves the connection usable. */
    r = execute_ok(c, "SELECT n FROM cr_nums ORDER BY n", NULL);
    assert_non_null(cr_result_fetchone(r));
    cr_result_free(r);
    assert_int_equal(scalar_int(c, "SELECT max(n) FROM cr_nums"), 300);
    cr_conn_set_stream_results(c, false);
    drop_table(c, "cr_nums");
    cr_conn_close(c);
    cr_engine_free(e);
}

static void test_statement_cache(void **state)
{
    (void)state;
    /* A cache of two statements, three in rotation: every eviction path. */
    cr_engine *e = new_engine(&(cr_engine_options){.statement_cache_size = 2});
    cr_conn *c = connect_ok(e);
    const char *sql[] = {"SELECT :v + 1", "SELECT :v + 2", "SELECT :v + 3"};
    for (int k = 0; k < 30; k++) {
        cr_result *r = execute_ok(c, sql[k % 3], CR_PARAMS({"v", cr_val_int(k)}));
        cr_value v;
        ASSERT_OK(cr_result_scalar(r, &v), cr_result_error(r));
        assert_int_equal(v.v.i, k + k % 3 + 1);
        cr_result_free(r);
    }
    /* The same statement open twice at once (nested loops). */
    cr_result *outer = execute_ok(c, "SELECT :v AS x UNION ALL SELECT :v + 1", CR_PARAMS({"v", cr_val_int(1)}));
    const cr_row *orow;
    int rows = 0;
    while ((orow = cr_result_fetchone(outer))) {
        int64_t x;
        ASSERT_OK(cr_row_int64(orow, 0, &x), cr_row_error(orow));
        cr_result *inner = execute_ok(c, "SELECT :v AS x UNION ALL SELECT :v + 1", CR_PARAMS({"v", cr_val_int(x * 10)}));
        cr_rowset *in = cr_result_fetchall(inner);
        assert_int_equal(cr_rowset_count(in), 2);
        int64_t y;
        ASSERT_OK(cr_row_int64(cr_rowset_row(in, 1), 0, &y), NULL);
        assert_int_equal(y, x * 10 + 1);
        cr_rowset_free(in);
        cr_result_free(inner);
        rows++;
    }
    assert_int_equal(rows, 2);
    cr_result_free(outer);
    /* A result left open when its connection closes reports that. */
    cr_result *open = execute_ok(c, "SELECT 1 UNION ALL SELECT 2", NULL);
    cr_conn_close(c);
    assert_null(cr_result_fetchone(open));
    assert_int_equal(cr_error_class(cr_result_error(open)), CR_ERR_RESOURCE_CLOSED);
    cr_result_free(open);
    cr_engine_free(e);
}

/* ---- threads ------------------------------------------------------------------- */

static void *worker(void *arg)
{
    cr_engine *e = arg;
    for (int k = 0; k < 50; k++) {
        cr_conn *c = cr_engine_connect(e, NULL);
        if (!c)
            return (void *)1;
        cr_result *r = cr_conn_execute(c, "SELECT :k * 2", CR_PARAMS({"k", cr_val_int(k)}));
        cr_value v;
        bool ok = r && cr_result_scalar(r, &v) == CR_OK && v.v.i == 2 * k;
        cr_result_free(r);
        cr_conn_close(c);
        if (!ok)
            return (void *)1;
    }
    return NULL;
}

static void test_threads_share_engine(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    pthread_t t[4];
    for (int k = 0; k < 4; k++)
        assert_int_equal(pthread_create(&t[k], NULL, worker, e), 0);
    for (int k = 0; k < 4; k++) {
        void *rc;
        pthread_join(t[k], &rc);
        assert_null(rc);
    }
    cr_engine_free(e);
}

/* ---- SQLite data compatibility with SQLAlchemy ------------------------------------ */

static void test_sqlite_storage_format(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    create_table(c, "cr_compat", "id INTEGER PRIMARY KEY, flag BOOLEAN, at DATETIME, d DATE");
    ASSERT_OK(cr_conn_exec(c, "INSERT INTO cr_compat VALUES (1, :f, :at, :d)",
                           CR_PARAMS({"f", cr_val_bool(true)},
                                     {"at", cr_val_datetime(2024, 5, 6, 7, 8, 9, 0)},
                                     {"d", cr_val_date(2024, 5, 6)})), cr_conn_error(c));
    /* What a Python SQLAlchemy program wrote. */
    exec_ok(c, "INSERT INTO cr_compat VALUES (2, 0, '2023-01-02 03:04:05.678900', '2023-01-02')");
    cr_result *r = execute_ok(c, "SELECT typeof(flag), flag, typeof(at), at, d FROM cr_compat "
                                 "WHERE id = 1", NULL);
    cr_rowset *rs = cr_result_fetchall(r);
    const cr_row *row = cr_rowset_row(rs, 0);
    const char *s;
    ASSERT_OK(cr_row_text(row, 0, &s, NULL), NULL);
    assert_string_equal(s, "integer");
    ASSERT_OK(cr_row_text(row, 2, &s, NULL), NULL);
    assert_string_equal(s, "text");
    cr_result_free(r);
    cr_rowset_free(rs);
    r = execute_ok(c, "SELECT CAST(at AS TEXT), CAST(d AS TEXT), flag + 0 FROM cr_compat WHERE id = 1", NULL);
    row = cr_result_one(r);
    ASSERT_OK(cr_row_text(row, 0, &s, NULL), cr_row_error(row));
    assert_string_equal(s, "2024-05-06 07:08:09.000000");
    ASSERT_OK(cr_row_text(row, 1, &s, NULL), cr_row_error(row));
    assert_string_equal(s, "2024-05-06");
    cr_result_free(r);
    r = execute_ok(c, "SELECT flag, at, d FROM cr_compat WHERE id = 2", NULL);
    row = cr_result_one(r);
    bool flag = true;
    cr_datetime at;
    ASSERT_OK(cr_row_bool(row, 0, &flag), cr_row_error(row));
    assert_false(flag);
    ASSERT_OK(cr_row_datetime(row, 1, &at), cr_row_error(row));
    assert_int_equal(at.year, 2023);
    assert_int_equal(at.microsecond, 678900);
    ASSERT_OK(cr_row_date(row, 2, &at), cr_row_error(row));
    assert_int_equal(at.day, 2);
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    drop_table(c, "cr_compat");
    cr_conn_close(c);
    cr_engine_free(e);
}

/* Every connection of an in-memory engine sees one database. */
static void test_sqlite_memory_shared(void **state)
{
    (void)state;
    cr_engine *e = cr_create_engine("sqlite://", NULL, NULL);
    assert_non_null(e);
    cr_conn *a = connect_ok(e);
    cr_conn *b = connect_ok(e);
    exec_ok(a, "CREATE TABLE shared (x INTEGER)");
    exec_ok(a, "INSERT INTO shared VALUES (7)");
    ASSERT_OK(cr_conn_commit(a), cr_conn_error(a));
    assert_int_equal(scalar_int(b, "SELECT x FROM shared"), 7);
    cr_conn_close(a);
    cr_conn_close(b);
    cr_engine_free(e);
    /* A second engine has a database of its own. */
    e = cr_create_engine("sqlite:///:memory:", NULL, NULL);
    a = connect_ok(e);
    assert_int_equal(cr_conn_exec(a, "SELECT x FROM shared", NULL), CR_ERR_OPERATIONAL);
    cr_conn_close(a);
    cr_engine_free(e);
}

/* A server that sends a notice while a connection starts (here a WARNING for
 * a database setting it cannot apply; a session killed while it starts sends
 * its FATAL the same way) is heard by nobody: libpq's default would print it
 * on stderr, and the library never prints. */
static void test_startup_notice_silent(void **state)
{
    (void)state;
    /* Through PgBouncer (through-pgbouncer.sh) a new database is not served. */
    const char *bouncer = getenv("CRUCIBLE_PGBOUNCER_URL");
    if (bouncer && strncmp(backend_url, bouncer, strlen(bouncer)) == 0)
        skip();
    char url[1024];
    harness_scratch_database("crucible_scratch_notice", url, sizeof url);
    cr_engine *e = cr_create_engine(backend_url,
                                    &(cr_engine_options){.isolation_level = "AUTOCOMMIT"}, NULL);
    assert_non_null(e);
    cr_conn *c = connect_ok(e);
    exec_ok(c, "ALTER DATABASE crucible_scratch_notice "
               "SET default_text_search_config = 'cr_no_such_config'");
    cr_conn_close(c);
    cr_engine_free(e);

    /* stderr into a file while the connection starts and runs a query. */
    FILE *out = tmpfile();
    assert_non_null(out);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(out), 2) == 2);
    e = cr_create_engine(url, NULL, NULL);
    cr_error *err = NULL;
    c = e ? cr_engine_connect(e, &err) : NULL;
    cr_status st = c ? cr_conn_exec(c, "SELECT 1", NULL) : CR_ERR_OPERATIONAL;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    char printed[512] = "";
    rewind(out);
    size_t n = fread(printed, 1, sizeof printed - 1, out);
    printed[n] = '\0';
    fclose(out);
    if (!c)
        print_error("connect: %s\n", cr_error_message(err));
    cr_error_free(err);
    assert_non_null(c);
    assert_int_equal(st, CR_OK);
    cr_conn_close(c);
    cr_engine_free(e);
    harness_scratch_database("crucible_scratch_notice", NULL, 0);
    if (n)
        print_error("printed on stderr while connecting: %s\n", printed);
    assert_int_equal(n, 0);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_literal),
        cmocka_unit_test(test_types_round_trip),
        cmocka_unit_test(test_json_null),
        cmocka_unit_test(test_hostile_values),
        cmocka_unit_test(test_parameter_errors),
        cmocka_unit_test(test_executemany),
        cmocka_unit_test(test_commit_rollback),
        cmocka_unit_test(test_engine_begin_and_transaction),
        cmocka_unit_test(test_savepoints),
        cmocka_unit_test(test_isolation_levels),
        cmocka_unit_test(test_fetch_styles),
        cmocka_unit_test(test_lastrowid_and_returning),
        cmocka_unit_test(test_getter_errors),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_connect_errors),
        cmocka_unit_test(test_echo_logging),
        cmocka_unit_test(test_stream_results),
        cmocka_unit_test(test_statement_cache),
        cmocka_unit_test(test_threads_share_engine),
    };
    const struct CMUnitTest server_tests[] = {
        cmocka_unit_test(test_multi_host),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test(test_startup_notice_silent),
    };
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test(test_sqlite_storage_format),
        cmocka_unit_test(test_sqlite_memory_shared),
    };
    int failed = HARNESS_RUN("backend", NULL, tests, NULL);
    if (!is_sqlite())
        failed += HARNESS_RUN("backend", "server", server_tests, NULL);
    if (is_pg())
        failed += HARNESS_RUN("backend", "only", pg_tests, NULL);
    if (is_sqlite())
        failed += HARNESS_RUN("backend", "only", sqlite_tests, NULL);
    harness_cleanup();
    return failed ? 1 : 0;
}
