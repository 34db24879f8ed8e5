/* snapshot.c — a database's schema (and rows) as text through the Inspector, for suites that compare a schema before and after. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof t->buf - t->len);
    t->len += (size_t)n;
}

static void put_names(text *t, const char *const *names, size_t n)
{
    put(t, "(");
    for (size_t i = 0; i < n; i++)
        put(t, "%s%s", i ? "," : "", names[i]);
    put(t, ")");
}

static void put_constraints(text *t, const char *what, const cr_reflected_constraint *k,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put(t, "  %s %s ", what, k[i].name ? k[i].name : "-");
        put_names(t, k[i].columns, k[i].ncolumns);
        if (k[i].referred_table) {
            put(t, " -> %s", k[i].referred_table);
            put_names(t, k[i].referred_columns, k[i].ncolumns);
            put(t, " %s", k[i].ondelete ? k[i].ondelete : "");
        }
        put(t, "%s\n", k[i].unique ? " unique" : "");
    }
}

static void put_rows(text *t, cr_conn *c, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY id", table);
    cr_result *res = cr_conn_execute(c, sql, NULL);
    assert_non_null(res);
    const cr_row *row;
    while ((row = cr_result_fetchone(res))) {
        put(t, "  row");
        for (int i = 0; i < cr_row_column_count(row); i++) {
            const cr_value *v = cr_row_value_at(row, i);
            int64_t n;
            if (v->type == CR_NULL)
                put(t, " %s=NULL", cr_row_column_name(row, i));
            else if (cr_row_int64_at(row, i, &n) == CR_OK)   /* booleans as 0 / 1 */
                put(t, " %s=%lld", cr_row_column_name(row, i), (long long)n);
            else if (v->type == CR_TEXT)
                put(t, " %s='%.*s'", cr_row_column_name(row, i), (int)v->v.s.len, v->v.s.ptr);
            else
                put(t, " %s:%s", cr_row_column_name(row, i), cr_type_name(v->type));
        }
        put(t, "\n");
    }
    assert_null(cr_result_error(res));
    cr_result_free(res);
}

static int by_column_name(const void *a, const void *b)
{
    return strcmp(((const cr_reflected_column *)a)->name, ((const cr_reflected_column *)b)->name);
}

void snapshot_of(cr_engine *engine, const char *prefix, text *t, bool with_rows, bool by_name)
{
    t->len = 0;
    t->buf[0] = '\0';
    cr_conn *c = connect_ok(engine);
    cr_inspector *insp = cr_inspect(c);
    assert_non_null(insp);
    const char *const *names;
    size_t n;
    ASSERT_OK(cr_inspector_get_table_names(insp, &names, &n), cr_conn_error(c));
    for (size_t i = 0; i < n; i++) {
        if (strncmp(names[i], prefix, strlen(prefix)) != 0)
            continue;
        put(t, "table %s\n", names[i]);
        const cr_reflected_column *cols;
        size_t nc;
        ASSERT_OK(cr_inspector_get_columns(insp, names[i], &cols, &nc), cr_conn_error(c));
        cr_reflected_column sorted[32];
        assert_true(nc <= 32);
        memcpy(sorted, cols, nc * sizeof *cols);
        if (by_name)
            qsort(sorted, nc, sizeof *sorted, by_column_name);
        for (size_t k = 0; k < nc; k++)
            put(t, "  column %s %s%s default=%s\n", sorted[k].name, sorted[k].type_name,
                sorted[k].nullable ? "" : " not null",
                sorted[k].default_sql ? sorted[k].default_sql : "-");
        const cr_reflected_constraint *k;
        ASSERT_OK(cr_inspector_get_pk_constraint(insp, names[i], &k), cr_conn_error(c));
        put_constraints(t, "pk", k, 1);
        ASSERT_OK(cr_inspector_get_foreign_keys(insp, names[i], &k, &nc), cr_conn_error(c));
        put_constraints(t, "fk", k, nc);
        ASSERT_OK(cr_inspector_get_indexes(insp, names[i], &k, &nc), cr_conn_error(c));
        put_constraints(t, "index", k, nc);
        ASSERT_OK(cr_inspector_get_unique_constraints(insp, names[i], &k, &nc),
                  cr_conn_error(c));
        put_constraints(t, "unique", k, nc);
        if (with_rows)
            put_rows(t, c, names[i]);
    }
    cr_inspector_free(insp);
    cr_conn_rollback(c);
    cr_conn_close(c);
}

void same_text(const text *a, const text *b, const char *what)
{
    if (strcmp(a->buf, b->buf) != 0) {
        print_error("%s differ:\n--- before\n%s--- after\n%s", what, a->buf, b->buf);
        fail();
    }
}

