/* values_crucible.c — Crucible's side of run_values_differential.py: the
 * table diff_values, reflected, read with select(table) (each row printed
 * with cr_row_format, the tuple Python prints) or written with insert().
 *
 *   values_crucible URL read|write
 *
 * The rows written are run_values_differential.py's ROWS: change both
 * together. */
#include <crucible.h>

#include <stdio.h>
#include <string.h>

#define NCOLS 16

static const char *const names[NCOLS] = {"id", "i",  "si", "s",  "tx", "b",  "f",  "n",
                                         "n0", "d",  "tm", "dt", "bl", "tz", "j",  "en"};

static cr_value with_offset(cr_value v, int seconds)
{
    v.v.dt.has_utc_offset = true;
    v.v.dt.utc_offset = seconds;
    return v;
}

/* ROWS, in names' order. */
static void fill_rows(cr_value rows[][NCOLS], size_t *nrows)
{
    static char long_text[301];
    static unsigned char controls[32];
    memset(long_text, 'x', 300);
    for (int k = 0; k < 32; k++)
        controls[k] = (unsigned char)k;
    cr_value tz0 = cr_val_datetime(2024, 1, 2, 3, 4, 5, 0);
    const cr_value r[][NCOLS] = {
        {cr_val_int(1), cr_val_int(INT64_MAX), cr_val_int(32767), cr_val_text("plain"),
         cr_val_text("it's \"q\"\n\ttab"), cr_val_bool(true), cr_val_double(0.1),
         cr_val_numeric("1.50"), cr_val_numeric("12"), cr_val_date(2024, 1, 2),
         cr_val_time(3, 4, 5, 6), cr_val_datetime(2024, 1, 2, 3, 4, 5, 123456),
         cr_val_blob("\0ab\xff", 4), with_offset(tz0, 0),
         cr_val_text("{\"a\": [1, 2.5, null, \"x\"]}"), cr_val_text("a")},
        {cr_val_int(2), cr_val_int(-INT64_MAX), cr_val_int(-32768), cr_val_text(""),
         cr_val_text(""), cr_val_bool(false), cr_val_double(-2.5e-300), cr_val_numeric("-0.01"),
         cr_val_numeric("0"), cr_val_date(1, 1, 1), cr_val_time(0, 0, 0, 0),
         cr_val_datetime(1999, 12, 31, 23, 59, 59, 0), cr_val_blob("", 0),
         with_offset(tz0, 5 * 3600 + 30 * 60), cr_val_text("[]"), cr_val_text("b c")},
        {cr_val_int(3), cr_val_null(), cr_val_null(), cr_val_null(), cr_val_null(),
         cr_val_null(), cr_val_null(), cr_val_null(), cr_val_null(), cr_val_null(),
         cr_val_null(), cr_val_null(), cr_val_null(), cr_val_null(), cr_val_null(),
         cr_val_null()},
        {cr_val_int(4), cr_val_int(0), cr_val_int(0),
         cr_val_text("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"), cr_val_text("back\\slash"),
         cr_val_bool(true), cr_val_double(1e16), cr_val_numeric("99999999.99"),
         cr_val_numeric("123456789012"), cr_val_date(9999, 12, 31),
         cr_val_time(23, 59, 59, 999999), cr_val_datetime(2024, 2, 29, 0, 0, 0, 1),
         cr_val_blob("'\"\\", 3), with_offset(tz0, -8 * 3600), cr_val_text("\"str\""),
         cr_val_text("a")},
        {cr_val_int(5), cr_val_int(42), cr_val_int(1), cr_val_text("a%b_c"),
         cr_val_text(long_text), cr_val_bool(false), cr_val_double(3.0), cr_val_numeric("0.10"),
         cr_val_numeric("-5"), cr_val_date(2024, 2, 29), cr_val_time(12, 0, 0, 500000),
         cr_val_datetime(2024, 6, 1, 0, 0, 0, 0), cr_val_blob(controls, sizeof controls),
         cr_val_null(), cr_val_text("1.5"), cr_val_null()},
    };
    *nrows = sizeof r / sizeof r[0];
    memcpy(rows, r, sizeof r);
}

static int failed(const char *what, const cr_error *err)
{
    fprintf(stderr, "values_crucible: %s: %s: %s\n", what, cr_error_class_name(err),
            cr_error_message(err));
    return 1;
}

static int read_rows(cr_conn *c, cr_table *t)
{
    cr_stmt *q = cr_select(t);
    cr_order_by(q, cr_table_column(t, "id"));
    cr_result *r = cr_conn_execute_stmt(c, q);
    if (!r) {
        cr_stmt_free(q);
        return failed("select", cr_conn_error(c));
    }
    const cr_row *row;
    char line[2048];
    while ((row = cr_result_fetchone(r))) {
        int n = cr_row_format(row, line, sizeof line);
        if (n < 0 || (size_t)n >= sizeof line) {
            cr_result_free(r);
            cr_stmt_free(q);
            fprintf(stderr, "values_crucible: cr_row_format returned %d\n", n);
            return 1;
        }
        printf("%s\n", line);
    }
    int rc = cr_result_error(r) ? failed("fetch", cr_result_error(r)) : 0;
    cr_result_free(r);
    cr_stmt_free(q);
    return rc;
}

static int write_rows(cr_conn *c, cr_table *t)
{
    cr_value rows[8][NCOLS];
    size_t nrows;
    fill_rows(rows, &nrows);
    cr_stmt *q = cr_insert(t);
    for (size_t k = 0; k < nrows; k++) {
        if (k)
            cr_next_row(q);
        for (int i = 0; i < NCOLS; i++)
            cr_set(q, cr_table_column(t, names[i]), rows[k][i]);
    }
    int rc = cr_conn_exec_stmt(c, q) ? failed("insert", cr_conn_error(c)) : 0;
    cr_stmt_free(q);
    if (!rc && cr_conn_commit(c))
        rc = failed("commit", cr_conn_error(c));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "read") && strcmp(argv[2], "write"))) {
        fprintf(stderr, "usage: values_crucible URL read|write\n");
        return 2;
    }
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(argv[1], NULL, &err);
    if (!e)
        return failed("create_engine", err);
    cr_conn *c = cr_engine_connect(e, &err);
    if (!c) {
        failed("connect", err);
        cr_error_free(err);
        cr_engine_free(e);
        return 1;
    }
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_metadata_reflect_table(md, c, "diff_values");
    int rc = !t                             ? failed("reflect", cr_metadata_error(md))
             : strcmp(argv[2], "read") == 0 ? read_rows(c, t)
                                            : write_rows(c, t);
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(e);
    return rc;
}
