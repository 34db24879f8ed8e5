/* test_core.c — the SQL expression language against a real SQLite, PostgreSQL or MariaDB:
 * every construct executed and its rows asserted, hostile values and identifiers round-trip,
 * and bad input refused before anything is sent. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the schema (names no other suite uses) ------------------------------------- */

static cr_value fixed_time(void) { return cr_val_datetime(2024, 1, 2, 3, 4, 5, 6); }
static int auto_tag_calls;   /* how many times a default_fn ran */
static cr_value auto_tag(void)
{
    auto_tag_calls++;
    return cr_val_text("auto");
}

#define USERS(COLUMN)                                                                  \
    COLUMN(id,        INTEGER,     .primary_key = true)                                \
    COLUMN(name,      STRING(50),  .nullable = CR_NO)                                  \
    COLUMN(email,     STRING(100), .unique = true)                                     \
    COLUMN(is_active, BOOLEAN,     .default_value = cr_val_bool(true))                 \
    COLUMN(score,     DOUBLE)
CR_DECLARE_TABLE(users_table, USERS)

#define POSTS(COLUMN)                                                                  \
    COLUMN(id,        INTEGER,     .primary_key = true)                                \
    COLUMN(user_id,   INTEGER,     .foreign_key = "core_users.id")                     \
    COLUMN(title,     STRING(200), .nullable = CR_NO)                                  \
    COLUMN(tag,       STRING(20),  .default_fn = auto_tag)                             \
    COLUMN(updated,   DATETIME,    .onupdate_fn = fixed_time)
CR_DECLARE_TABLE(posts_table, POSTS)

#define VALS(COLUMN)                                                                   \
    COLUMN(id,        INTEGER,     .primary_key = true)                                \
    COLUMN(txt,       TEXT)                                                            \
    COLUMN(data,      LARGEBINARY)
CR_DECLARE_TABLE(vals_table, VALS)

static cr_metadata *md;
static users_table users;
static posts_table posts;
static vals_table vals;
/* A table whose names all need quoting. */
static cr_table *odd;
static cr_column *odd_id, *odd_order, *odd_mixed, *odd_quote, *odd_space, *odd_unicode;

static void build_schema(void)
{
    md = cr_metadata_new(NULL);
    assert_non_null(md);
    assert_int_equal(users_table_define(&users, md, "core_users"), CR_OK);
    assert_int_equal(posts_table_define(&posts, md, "core_posts"), CR_OK);
    assert_int_equal(vals_table_define(&vals, md, "core_vals"), CR_OK);
    odd = cr_table_new(md, "core select");
    odd_id = cr_table_add_column(odd, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                       .primary_key = true});
    odd_order = cr_table_add_column(odd, &(cr_column_def){.name = "order",
                                                          .type = CR_SQL_INTEGER});
    odd_mixed = cr_table_add_column(odd, &(cr_column_def){.name = "MixedCase",
                                                          .type = CR_SQL_STRING(40)});
    odd_quote = cr_table_add_column(odd, &(cr_column_def){.name = "quo\"te's",
                                                          .type = CR_SQL_STRING(40)});
    odd_space = cr_table_add_column(odd, &(cr_column_def){.name = "with space",
                                                          .type = CR_SQL_STRING(40)});
    odd_unicode = cr_table_add_column(odd, &(cr_column_def){.name = "n\xc3\xa4me_\xe2\x82\xac",
                                                            .type = CR_SQL_STRING(40)});
    if (cr_metadata_error(md)) {
        print_error("metadata: %s\n", cr_error_message(cr_metadata_error(md)));
        fail();
    }
}

/* ---- helpers ---------------------------------------------------------------------- */

static cr_result *run(cr_conn *c, cr_stmt *q)
{
    assert_non_null(q);
    cr_result *r = cr_conn_execute_stmt(c, q);
    if (!r) {
        cr_compiled *cc = cr_stmt_compile(q, backend);
        print_error("execute failed: %s: %s\n  SQL: %s\n", cr_error_class_name(cr_conn_error(c)),
                    cr_error_message(cr_conn_error(c)), cc ? cr_compiled_sql(cc) : "?");
        cr_compiled_free(cc);
        fail();
    }
    return r;
}

static void run_ok(cr_conn *c, cr_stmt *q)
{
    cr_result_free(run(c, q));
    cr_stmt_free(q);
}

/* One value as text: NULL as "~", booleans as 1 / 0, numbers as %g. */
static void put_value(char *buf, size_t size, const cr_value *v)
{
    switch (v->type) {
    case CR_NULL: snprintf(buf, size, "~"); break;
    case CR_INT: snprintf(buf, size, "%lld", (long long)v->v.i); break;
    case CR_BOOL: snprintf(buf, size, "%d", v->v.b ? 1 : 0); break;
    case CR_DOUBLE: snprintf(buf, size, "%g", v->v.d); break;
    case CR_NUMERIC: snprintf(buf, size, "%g", strtod(v->v.s.ptr, NULL)); break;
    case CR_TEXT: snprintf(buf, size, "%.*s", (int)v->v.s.len, v->v.s.ptr); break;
    case CR_BLOB: snprintf(buf, size, "<%zu bytes>", v->v.blob.len); break;
    default: cr_datetime_format(&v->v.dt, v->type, buf, size); break;
    }
}

/* The rows of q as "a|b;c|d". */
static void rows_of(cr_conn *c, cr_stmt *q, char *out, size_t size)
{
    cr_result *r = run(c, q);
    cr_rowset *rows = cr_result_all(r);
    assert_non_null(rows);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cr_rowset_count(rows); i++) {
        const cr_row *row = cr_rowset_row(rows, i);
        for (int k = 0; k < cr_row_column_count(row); k++) {
            char v[512];
            put_value(v, sizeof v, cr_row_value_at(row, k));
            o += (size_t)snprintf(out + o, size - o, "%s%s", k ? "|" : i ? ";" : "", v);
            assert_true(o < size);
        }
    }
    cr_rowset_free(rows);
    cr_result_free(r);
}

/* q returns want; q is freed. */
static void expect_rows(cr_conn *c, cr_stmt *q, const char *want)
{
    char got[8192];
    rows_of(c, q, got, sizeof got);
    if (strcmp(got, want) != 0) {
        cr_compiled *cc = cr_stmt_compile(q, backend);
        print_error("rows: %s\nwant: %s\n SQL: %s\n", got, want, cc ? cr_compiled_sql(cc) : "?");
        cr_compiled_free(cc);
        cr_stmt_free(q);
        fail();
    }
    cr_stmt_free(q);
}

/* Echo lines of statements, to tell what was sent. The implicit BEGIN a
 * connection issues before its first statement is not counted: a refused
 * statement may still begin the transaction. */
static int sent;
static void count_line(void *userdata, const char *line)
{
    (void)userdata;
    if (strcmp(line, "BEGIN (implicit)") != 0)
        sent++;
}

static cr_engine *engine_counting(void)
{
    cr_engine_options o = {.echo = true, .log_fn = count_line};
    return new_engine(&o);
}

/* Fresh tables with known rows:
 *   users: 1 alice a@x 1 10.5 | 2 bob ~ 1 ~ | 3 carol c@x 0 99 | 4 dave d@x 1 150
 *   posts: 1 (1, hello, a) | 2 (1, world, b) | 3 (2, x, a) | 4 (~, orphan, auto) */
static void reset(cr_conn *c)
{
    cr_conn_rollback(c);
    ASSERT_OK(cr_metadata_drop_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_metadata_create_all(md, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    /* Keys generated (1, 2, ...), so that the sequences follow. */
    cr_stmt *q = cr_insert(users.table);
    cr_values_rows(q, CR_COLS(users.c.name, users.c.email, users.c.is_active, users.c.score),
                   (const cr_value[]){
                       cr_val_text("alice"), cr_val_text("a@x"), cr_val_bool(true), cr_val_double(10.5),
                       cr_val_text("bob"), cr_val_null(), cr_val_bool(true), cr_val_null(),
                       cr_val_text("carol"), cr_val_text("c@x"), cr_val_bool(false), cr_val_double(99),
                       cr_val_text("dave"), cr_val_text("d@x"), cr_val_bool(true), cr_val_double(150),
                   }, 4);
    run_ok(c, q);
    q = cr_insert(posts.table);
    cr_values_rows(q, CR_COLS(posts.c.user_id, posts.c.title, posts.c.tag),
                   (const cr_value[]){
                       cr_val_int(1), cr_val_text("hello"), cr_val_text("a"),
                       cr_val_int(1), cr_val_text("world"), cr_val_text("b"),
                       cr_val_int(2), cr_val_text("x"), cr_val_text("a"),
                   }, 3);
    run_ok(c, q);
    q = cr_insert(posts.table);
    cr_set(q, posts.c.title, "orphan");
    run_ok(c, q);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
}

static void drop_all(cr_conn *c)
{
    cr_conn_rollback(c);
    ASSERT_OK(cr_metadata_drop_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
}

typedef struct fixture {
    cr_engine *e;
    cr_conn *c;
} fixture;

static int fx_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->e = engine_counting();
    f->c = connect_ok(f->e);
    reset(f->c);
    sent = 0;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    cr_conn_close(f->c);
    cr_engine_free(f->e);
    free(f);
    return 0;
}

#define FX cr_conn *c = ((fixture *)*state)->c

/* ---- SELECT, WHERE, operators -------------------------------------------------------- */

static void test_select_where(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.id, users.c.name);
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "1|alice;2|bob;3|carol;4|dave");

    q = cr_select(users.c.name);
    cr_where(q, cr_and(q, cr_or(q, cr_eq(q, users.c.id, 1), cr_ge(q, users.c.id, 3)),
                       cr_not(q, cr_eq(q, users.c.name, "carol"))));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;dave");

    static const struct { cr_operator op; const char *want; } cmp[] = {
        {CR_OP_EQ, "2"}, {CR_OP_NE, "1;3;4"}, {CR_OP_LT, "1"}, {CR_OP_LE, "1;2"},
        {CR_OP_GT, "3;4"}, {CR_OP_GE, "2;3;4"},
    };
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
        q = cr_select(users.c.id);
        cr_where(q, cr_binary(q, cmp[i].op, (cr_expr *)users.c.id, cr_bind(q, cr_val_int(2))));
        cr_order_by(q, users.c.id);
        expect_rows(c, q, cmp[i].want);
    }

    /* Booleans: an integer meeting a boolean column; true / false. */
    q = cr_select(users.c.name);
    cr_where(q, cr_eq(q, users.c.is_active, 0));
    expect_rows(c, q, "carol");
    q = cr_select(users.c.name);
    cr_where(q, cr_eq(q, users.c.is_active, false));
    expect_rows(c, q, "carol");

    /* Reading rows by column handle, by name and by index. */
    q = cr_select(users.table);
    cr_where(q, cr_eq(q, users.c.id, 1));
    cr_result *r = run(c, q);
    const cr_row *row = cr_result_one(r);
    assert_non_null(row);
    const char *s;
    size_t len;
    int64_t id;
    bool active;
    double score;
    ASSERT_OK(cr_row_text(row, users.c.name, &s, &len), cr_row_error(row));
    assert_string_equal(s, "alice");
    assert_int_equal(len, 5);
    ASSERT_OK(cr_row_text(row, "email", &s, NULL), cr_row_error(row));
    assert_string_equal(s, "a@x");
    ASSERT_OK(cr_row_int64(row, 0, &id), cr_row_error(row));
    assert_int_equal(id, 1);
    ASSERT_OK(cr_row_bool(row, users.c.is_active, &active), cr_row_error(row));
    assert_true(active);
    ASSERT_OK(cr_row_double(row, users.c.score, &score), cr_row_error(row));
    assert_true(score == 10.5);
    assert_int_equal(cr_row_is_null(row, users.c.email), 0);
    /* A column the SELECT does not have. */
    assert_int_equal(cr_row_text(row, posts.c.title, &s, NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_error_class(cr_row_error(row)), CR_ERR_ARGUMENT);
    cr_result_free(r);
    cr_stmt_free(q);
}

static void test_arithmetic_and_concat(void **state)
{
    FX;
    cr_stmt *q = cr_select_new();
    cr_columns(q, cr_label(q, cr_add(q, users.c.id, 10), "a"),
               cr_label(q, cr_mul(q, cr_sub(q, users.c.id, 3), 2), "b"),
               cr_label(q, cr_sub(q, users.c.id, cr_sub(q, users.c.id, 1)), "one"),
               cr_label(q, cr_div(q, users.c.score, 2), "half"),
               cr_label(q, cr_mod(q, users.c.id, 3), "m"),
               cr_label(q, cr_concat(q, cr_concat(q, users.c.name, "-"), users.c.email), "s"));
    cr_where(q, cr_eq(q, users.c.id, 1));
    expect_rows(c, q, "11|-4|1|5.25|1|alice-a@x");

    /* The label names the row's column. */
    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_concat(q, users.c.name, "!"), "shout"));
    cr_where(q, cr_eq(q, users.c.id, 4));
    cr_result *r = run(c, q);
    const cr_row *row = cr_result_one(r);
    const char *s;
    ASSERT_OK(cr_row_text(row, "shout", &s, NULL), cr_row_error(row));
    assert_string_equal(s, "dave!");
    cr_result_free(r);
    cr_stmt_free(q);
}

static void test_in_between_like(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name);
    cr_where(q, cr_in(q, users.c.id, CR_VALUES(cr_val_int(1), cr_val_int(3), cr_val_int(9))));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;carol");

    q = cr_select(users.c.name);
    cr_where(q, cr_not_in(q, users.c.name, CR_VALUES(cr_val_text("alice"), cr_val_text("bob"))));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "carol;dave");

    q = cr_select(users.c.name);
    cr_where(q, cr_in_values(q, (cr_expr *)users.c.id, NULL, 0));
    expect_rows(c, q, "");
    q = cr_select(users.c.id);
    cr_where(q, cr_not_in_values(q, (cr_expr *)users.c.email, NULL, 0));   /* NULL email too */
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "1;2;3;4");

    q = cr_select(users.c.name);
    cr_where(q, cr_between(q, users.c.score, 10, 99));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;carol");
    q = cr_select(users.c.name);
    cr_where(q, cr_not(q, cr_between(q, users.c.id, 2, 3)));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;dave");

    q = cr_select(users.c.name);
    cr_where(q, cr_like(q, users.c.name, "%a%"));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;carol;dave");
    q = cr_select(users.c.name);
    cr_where(q, cr_not_like(q, users.c.name, "_a%"));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;bob");
    q = cr_select(users.c.name);
    cr_where(q, cr_ilike(q, users.c.name, "%LIC%"));
    expect_rows(c, q, "alice");
    q = cr_select(users.c.name);
    cr_where(q, cr_not_ilike(q, users.c.name, "%A%"));
    expect_rows(c, q, "bob");

    /* contains / startswith / endswith take % and _ literally. */
    cr_stmt *ins = cr_insert(users.table);
    cr_values_rows(ins, CR_COLS(users.c.id, users.c.name),
                   (const cr_value[]){cr_val_int(10), cr_val_text("50%_off/x"),
                                      cr_val_int(11), cr_val_text("50xyoff/x"),
                                      cr_val_int(12), cr_val_text("5_%")}, 3);
    run_ok(c, ins);
    q = cr_select(users.c.id);
    cr_where(q, cr_contains(q, users.c.name, "%_"));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "10");
    q = cr_select(users.c.id);
    cr_where(q, cr_startswith(q, users.c.name, "50%"));
    expect_rows(c, q, "10");
    q = cr_select(users.c.id);
    cr_where(q, cr_endswith(q, users.c.name, "_%"));
    expect_rows(c, q, "12");
    q = cr_select(users.c.id);
    cr_where(q, cr_contains(q, users.c.name, "f/x"));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "10;11");
    q = cr_select(users.c.id);
    cr_where(q, cr_like(q, users.c.name, "50__off%"));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "10;11");
}

static void test_null_tests(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name);
    cr_where(q, cr_is_null(q, users.c.email));
    expect_rows(c, q, "bob");
    q = cr_select(users.c.name);
    cr_where(q, cr_eq(q, users.c.score, NULL));
    expect_rows(c, q, "bob");
    q = cr_select(users.c.name);
    cr_where(q, cr_is_not_null(q, users.c.email));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;carol;dave");
    q = cr_select(users.c.name);
    cr_where(q, cr_ne(q, users.c.score, NULL));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;carol;dave");
}

static void test_distinct_order_limit(void **state)
{
    FX;
    cr_stmt *q = cr_select(posts.c.tag);
    cr_distinct(q);
    cr_order_by(q, cr_desc(q, posts.c.tag));
    expect_rows(c, q, "b;auto;a");

    q = cr_select(users.c.name);
    cr_order_by(q, cr_nulls_first(q, cr_asc(q, users.c.score)));
    expect_rows(c, q, "bob;alice;carol;dave");
    q = cr_select(users.c.name);
    cr_order_by(q, cr_nulls_last(q, cr_asc(q, users.c.score)));
    expect_rows(c, q, "alice;carol;dave;bob");
    q = cr_select(users.c.name);
    cr_order_by(q, cr_nulls_first(q, cr_desc(q, users.c.score)));
    expect_rows(c, q, "bob;dave;carol;alice");
    q = cr_select(users.c.name);
    cr_order_by(q, cr_nulls_last(q, cr_desc(q, users.c.score)));
    expect_rows(c, q, "dave;carol;alice;bob");

    q = cr_select(users.c.id);
    cr_order_by(q, users.c.id);
    cr_limit(q, 2);
    expect_rows(c, q, "1;2");
    q = cr_select(users.c.id);
    cr_order_by(q, users.c.id);
    cr_limit(q, 2);
    cr_offset(q, 1);
    expect_rows(c, q, "2;3");
    q = cr_select(users.c.id);
    cr_order_by(q, users.c.id);
    cr_offset(q, 3);
    expect_rows(c, q, "4");
    q = cr_select(users.c.id);
    cr_order_by(q, users.c.id);
    cr_limit(q, 0);
    expect_rows(c, q, "");
}

static void test_group_by_functions(void **state)
{
    FX;
    cr_stmt *q = cr_select(posts.c.user_id);
    cr_columns(q, cr_label(q, cr_count_star(q), "n"), cr_label(q, cr_sum(q, posts.c.id), "s"),
               cr_label(q, cr_min(q, posts.c.title), "lo"),
               cr_label(q, cr_max(q, posts.c.title), "hi"),
               cr_label(q, cr_count_distinct(q, posts.c.tag), "tags"));
    cr_where(q, cr_is_not_null(q, posts.c.user_id));
    cr_group_by(q, posts.c.user_id);
    cr_having(q, cr_ge(q, cr_count_star(q), 1));
    cr_order_by(q, posts.c.user_id);
    expect_rows(c, q, "1|2|3|hello|world|2;2|1|3|x|x|1");

    q = cr_select(posts.c.user_id);
    cr_group_by(q, posts.c.user_id);
    cr_having(q, cr_gt(q, cr_count(q, posts.c.id), 1));
    expect_rows(c, q, "1");

    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_avg(q, users.c.score), "avg"),
               cr_label(q, cr_count(q, users.c.score), "n"),
               cr_label(q, cr_sum(q, users.c.score), "total"));
    expect_rows(c, q, "86.5|3|259.5");

    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_lower(q, cr_bind(q, cr_val_text("MiXeD"))), "lo"),
               cr_label(q, cr_upper(q, users.c.name), "up"),
               cr_label(q, cr_coalesce(q, users.c.email, cr_bind(q, cr_val_text("none"))), "em"),
               cr_label(q, cr_length(q, users.c.name), "len"),
               cr_label(q, cr_length(q, cr_bind(q, cr_val_text("h\xc3\xa9!"))), "chars"),
               cr_label(q, cr_func(q, "abs", cr_sub(q, users.c.id, 10)), "abs"));
    cr_where(q, cr_eq(q, users.c.id, 2));
    expect_rows(c, q, "mixed|BOB|none|3|3|8");

    /* CURRENT_TIMESTAMP comes back as a datetime (text on SQLite). */
    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_current_timestamp(q), "now"));
    cr_result *r = run(c, q);
    const cr_row *row = cr_result_one(r);
    cr_datetime dt;
    ASSERT_OK(cr_row_datetime(row, "now", &dt), cr_row_error(row));
    assert_true(dt.year >= 2024);
    cr_result_free(r);
    cr_stmt_free(q);
}

static void test_case_cast_alias(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name);
    cr_expr *k = cr_case(q);
    cr_case_when(q, k, cr_lt(q, users.c.score, 50), "low");
    cr_case_when(q, k, cr_lt(q, users.c.score, 100), "mid");
    cr_case_else(q, k, "high");
    cr_columns(q, cr_label(q, k, "band"));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice|low;bob|high;carol|mid;dave|high");

    /* CASE without ELSE is NULL. */
    q = cr_select(users.c.id);
    k = cr_case(q);
    cr_case_when(q, k, cr_eq(q, users.c.id, 1), 100);
    cr_columns(q, cr_label(q, k, "x"));
    cr_order_by(q, users.c.id);
    cr_limit(q, 2);
    expect_rows(c, q, "1|100;2|~");

    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_cast(q, users.c.id, (cr_sqltype)CR_SQL_STRING(10)), "s"),
               cr_label(q, cr_concat(q, cr_cast(q, users.c.id, (cr_sqltype)CR_SQL_STRING(10)),
                                     "x"), "sx"),
               cr_label(q, cr_cast(q, cr_bind(q, cr_val_text("42")), (cr_sqltype)CR_SQL_INTEGER),
                        "i"),
               cr_label(q, cr_add(q, cr_cast(q, users.c.score, (cr_sqltype)CR_SQL_NUMERIC(10, 2)),
                                  1), "n"));
    cr_where(q, cr_eq(q, users.c.id, 1));
    expect_rows(c, q, "1|1x|42|11.5");

    /* Aliases: a self-join. */
    q = cr_select_new();
    cr_expr *a = cr_alias(q, users.table, "a"), *b = cr_alias(q, users.table, "b b");
    cr_columns(q, cr_label(q, cr_c(q, a, "name"), "lo"), cr_label(q, cr_c(q, b, "name"), "hi"));
    cr_select_from(q, a);
    cr_join(q, b, cr_eq(q, cr_add(q, cr_c(q, a, "id"), 1), cr_c(q, b, "id")));
    cr_order_by(q, cr_c(q, a, "id"));
    expect_rows(c, q, "alice|bob;bob|carol;carol|dave");
}

static void test_subqueries(void **state)
{
    FX;
    /* Scalar, correlated. */
    cr_stmt *q = cr_select(users.c.name);
    cr_stmt *sub = cr_select_new();
    cr_columns(sub, cr_count_star(sub));
    cr_where(sub, cr_eq(sub, posts.c.user_id, users.c.id));
    cr_columns(q, cr_label(q, cr_scalar_subquery(q, sub), "n"));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice|2;bob|1;carol|0;dave|0");

    /* IN, NOT IN, EXISTS, NOT EXISTS. */
    q = cr_select(users.c.name);
    sub = cr_select(posts.c.user_id);
    cr_where(sub, cr_eq(sub, posts.c.tag, "a"));
    cr_where(q, cr_in_select(q, users.c.id, sub));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;bob");

    q = cr_select(users.c.name);
    sub = cr_select(posts.c.user_id);
    cr_where(sub, cr_is_not_null(sub, posts.c.user_id));
    cr_where(q, cr_not_in_select(q, users.c.id, sub));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "carol;dave");

    q = cr_select(users.c.name);
    sub = cr_select(posts.c.id);
    cr_where(sub, cr_eq(sub, posts.c.user_id, users.c.id));
    cr_where(q, cr_exists(q, sub));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;bob");

    q = cr_select(users.c.name);
    sub = cr_select(posts.c.id);
    cr_where(sub, cr_eq(sub, posts.c.user_id, users.c.id));
    cr_where(q, cr_not(q, cr_exists(q, sub)));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "carol;dave");

    /* A derived table. */
    q = cr_select_new();
    sub = cr_select(posts.c.user_id);
    cr_columns(sub, cr_label(sub, cr_count_star(sub), "n"));
    cr_group_by(sub, posts.c.user_id);
    cr_expr *counts = cr_subquery(q, sub, "counts");
    cr_columns(q, users.c.name, cr_c(q, counts, "n"));
    cr_select_from(q, users.table);
    cr_join(q, counts, cr_eq(q, cr_c(q, counts, "user_id"), users.c.id));
    cr_order_by(q, cr_desc(q, cr_c(q, counts, "n")));
    expect_rows(c, q, "alice|2;bob|1");

    /* Selecting from a derived table alone. */
    q = cr_select_new();
    sub = cr_select(users.c.id, users.c.name);
    cr_where(sub, cr_gt(sub, users.c.id, 2));
    cr_expr *big = cr_subquery(q, sub, "big");
    cr_columns(q, cr_c(q, big, "name"));
    cr_select_from(q, big);
    cr_order_by(q, cr_c(q, big, "id"));
    expect_rows(c, q, "carol;dave");
}

static void test_joins(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name, posts.c.title);
    cr_join(q, posts.table, cr_eq(q, posts.c.user_id, users.c.id));
    cr_order_by(q, posts.c.id);
    expect_rows(c, q, "alice|hello;alice|world;bob|x");

    q = cr_select(users.c.name, posts.c.title);
    cr_select_from(q, users.table);
    cr_outerjoin(q, posts.table, cr_eq(q, posts.c.user_id, users.c.id));
    cr_order_by(q, users.c.id, posts.c.id);
    expect_rows(c, q, "alice|hello;alice|world;bob|x;carol|~;dave|~");

    q = cr_select(users.c.name, posts.c.title);
    cr_select_from(q, users.table);
    cr_full_outerjoin(q, posts.table, cr_eq(q, posts.c.user_id, users.c.id));
    cr_order_by(q, cr_nulls_last(q, users.c.id), posts.c.id);
    if (is_mysql()) {
        sent = 0;
        assert_null(cr_conn_execute_stmt(c, q));
        assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_NOT_SUPPORTED);
        assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "FULL OUTER JOIN"));
        assert_int_equal(sent, 0);
        cr_stmt_free(q);
    } else {
        expect_rows(c, q, "alice|hello;alice|world;bob|x;carol|~;dave|~;~|orphan");
    }

    /* select_from a table the columns do not name. */
    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_count_star(q), "n"));
    cr_select_from(q, posts.table);
    expect_rows(c, q, "4");
}

static void test_compound(void **state)
{
    FX;
    cr_stmt *a = cr_select(users.c.id);
    cr_where(a, cr_le(a, users.c.id, 2));
    cr_stmt *b = cr_select(posts.c.user_id);
    cr_where(b, cr_is_not_null(b, posts.c.user_id));
    cr_stmt *q = cr_union(a, b);
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "1;2");

    a = cr_select(users.c.id);
    cr_where(a, cr_le(a, users.c.id, 2));
    b = cr_select(posts.c.user_id);
    cr_where(b, cr_is_not_null(b, posts.c.user_id));
    q = cr_union_all(a, b);
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "1;1;1;2;2");

    a = cr_select(users.c.id);
    b = cr_select(posts.c.user_id);
    q = cr_intersect(a, b);
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "1;2");

    a = cr_select(users.c.id);
    b = cr_select(posts.c.user_id);
    cr_where(b, cr_is_not_null(b, posts.c.user_id));
    q = cr_except(a, b);
    cr_order_by(q, users.c.id);
    cr_limit(q, 1);
    expect_rows(c, q, "3");
}

static void test_ctes(void **state)
{
    FX;
    cr_stmt *q = cr_select_new();
    cr_stmt *sub = cr_select(posts.c.user_id);
    cr_where(sub, cr_eq(sub, posts.c.tag, "a"));
    cr_expr *tagged = cr_cte(q, sub, "tagged", false);
    cr_columns(q, users.c.name);
    cr_where(q, cr_in_select(q, users.c.id, cr_select(cr_c(q, tagged, "user_id"))));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;bob");

    /* Joined like a table. */
    q = cr_select_new();
    sub = cr_select(posts.c.user_id, posts.c.title);
    cr_expr *p = cr_cte(q, sub, "p", false);
    cr_columns(q, users.c.name, cr_c(q, p, "title"));
    cr_select_from(q, users.table);
    cr_join(q, p, cr_eq(q, cr_c(q, p, "user_id"), users.c.id));
    cr_order_by(q, cr_c(q, p, "title"));
    expect_rows(c, q, "alice|hello;alice|world;bob|x");

    /* Recursive: 1 to 5. */
    q = cr_select_new();
    cr_stmt *anchor = cr_select_new();
    /* The anchor's type is the recursive part's (a bound integer is a
     * BIGINT on PostgreSQL). */
    cr_columns(anchor, cr_label(anchor, cr_cast(anchor, cr_literal(anchor, "1"),
                                                (cr_sqltype)CR_SQL_BIGINTEGER), "n"));
    cr_expr *cnt = cr_cte(q, anchor, "cnt", true);
    cr_stmt *step = cr_select_new();
    cr_columns(step, cr_add(step, cr_c(step, cnt, "n"), 1));
    cr_where(step, cr_lt(step, cr_c(step, cnt, "n"), 5));
    cr_cte_union_all(q, cnt, step);
    cr_columns(q, cr_c(q, cnt, "n"));
    cr_order_by(q, cr_c(q, cnt, "n"));
    expect_rows(c, q, "1;2;3;4;5");
}

static void test_window(void **state)
{
    FX;
    cr_stmt *q = cr_select(posts.c.title);
    cr_expr *w = cr_over(q, cr_func0(q, "row_number"));
    cr_partition_by(q, w, posts.c.user_id);
    cr_window_order_by(q, w, cr_desc(q, posts.c.id));
    cr_expr *total = cr_over(q, cr_count_star(q));
    cr_columns(q, cr_label(q, w, "rn"), cr_label(q, total, "total"));
    cr_order_by(q, posts.c.id);
    expect_rows(c, q, "hello|2|4;world|1|4;x|1|4;orphan|1|4");

    q = cr_select(posts.c.title);
    cr_expr *run_sum = cr_over(q, cr_sum(q, posts.c.id));
    cr_window_order_by(q, run_sum, posts.c.id);
    cr_columns(q, cr_label(q, run_sum, "running"));
    cr_order_by(q, posts.c.id);
    expect_rows(c, q, "hello|1;world|3;x|6;orphan|10");
}

/* ---- INSERT, UPDATE, DELETE ---------------------------------------------------------- */

static void test_insert_and_primary_keys(void **state)
{
    FX;
    /* One row: the generated key, client default is_active. */
    cr_stmt *q = cr_insert(users.table);
    cr_set(q, users.c.name, "erin");
    cr_result *r = run(c, q);
    assert_int_equal(cr_result_rowcount(r), 1);
    const cr_row *pk = cr_result_inserted_primary_key(r);
    assert_non_null(pk);
    int64_t id = 0;
    ASSERT_OK(cr_row_int64(pk, "id", &id), cr_row_error(pk));
    assert_int_equal(id, 5);
    assert_int_equal(cr_row_column_count(pk), 1);
    const cr_rowset *pks = cr_result_inserted_primary_key_rows(r);
    assert_non_null(pks);
    assert_int_equal(cr_rowset_count(pks), 1);
    cr_result_free(r);
    cr_stmt_free(q);

    /* The key given. */
    q = cr_insert(users.table);
    cr_set(q, users.c.id, 40);
    cr_set(q, users.c.name, "given");
    r = run(c, q);
    pk = cr_result_inserted_primary_key(r);
    ASSERT_OK(cr_row_int64(pk, 0, &id), cr_row_error(pk));
    assert_int_equal(id, 40);
    cr_result_free(r);
    cr_stmt_free(q);

    /* Many rows at once: every key, in order. */
    q = cr_insert(users.table);
    cr_set(q, users.c.name, "m1");
    cr_next_row(q);
    cr_set(q, users.c.name, "m2");
    cr_next_row(q);
    cr_set(q, users.c.name, "m3");
    r = run(c, q);
    assert_int_equal(cr_result_rowcount(r), 3);
    assert_null(cr_result_inserted_primary_key(r));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_INVALID_REQUEST);
    pks = cr_result_inserted_primary_key_rows(r);
    assert_non_null(pks);
    assert_int_equal(cr_rowset_count(pks), 3);
    int64_t first = 0;
    for (size_t i = 0; i < 3; i++) {
        const cr_row *row = cr_rowset_row(pks, i);
        if (cr_row_is_null(row, "id") == 1) {
            /* Without RETURNING a backend cannot tell several keys. */
            assert_true(is_mysql());
            continue;
        }
        ASSERT_OK(cr_row_int64(row, "id", &id), cr_row_error(row));
        if (i == 0)
            first = id;
        /* Consecutive (on PostgreSQL the sequence did not see key 40). */
        assert_int_equal(id, first + (int64_t)i);
        assert_true(id > 5);
    }
    cr_result_free(r);
    cr_stmt_free(q);

    q = cr_select(users.c.name, users.c.is_active);
    cr_where(q, cr_gt(q, users.c.id, 4));
    cr_order_by(q, users.c.name);
    expect_rows(c, q, "erin|1;given|1;m1|1;m2|1;m3|1");

    /* values_rows with keys given. */
    q = cr_insert(users.table);
    cr_values_rows(q, CR_COLS(users.c.id, users.c.name, users.c.is_active),
                   (const cr_value[]){cr_val_int(100), cr_val_text("v1"), cr_val_int(0),
                                      cr_val_int(101), cr_val_text("v2"), cr_val_bool(true)}, 2);
    r = run(c, q);
    pks = cr_result_inserted_primary_key_rows(r);
    assert_int_equal(cr_rowset_count(pks), 2);
    ASSERT_OK(cr_row_int64(cr_rowset_row(pks, 1), "id", &id), cr_result_error(r));
    assert_int_equal(id, 101);
    cr_result_free(r);
    cr_stmt_free(q);
    q = cr_select(users.c.name, users.c.is_active);
    cr_where(q, cr_ge(q, users.c.id, 100));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "v1|0;v2|1");

    /* INSERT ... SELECT, client default not applied (SQLAlchemy neither). */
    q = cr_insert(posts.table);
    cr_stmt *sel = cr_select(users.c.id, users.c.name);
    cr_where(sel, cr_ge(sel, users.c.id, 100));
    cr_from_select(q, CR_COLS(posts.c.user_id, posts.c.title), sel);
    r = run(c, q);
    assert_int_equal(cr_result_rowcount(r), 2);
    cr_result_free(r);
    cr_stmt_free(q);
    q = cr_select(posts.c.user_id, posts.c.title, posts.c.tag);
    cr_where(q, cr_ge(q, posts.c.user_id, 100));
    cr_order_by(q, posts.c.user_id);
    expect_rows(c, q, "100|v1|~;101|v2|~");

    /* An INSERT of no values. */
    q = cr_insert(vals.table);
    r = run(c, q);
    pk = cr_result_inserted_primary_key(r);
    ASSERT_OK(cr_row_int64(pk, "id", &id), cr_row_error(pk));
    assert_int_equal(id, 1);
    cr_result_free(r);
    cr_stmt_free(q);

    /* inserted_primary_key of a SELECT is an error. */
    q = cr_select(users.c.id);
    r = run(c, q);
    assert_null(cr_result_inserted_primary_key(r));
    assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_INVALID_REQUEST);
    cr_result_free(r);
    cr_stmt_free(q);
}

static void test_update_delete_defaults(void **state)
{
    FX;
    cr_stmt *q = cr_update(users.table);
    cr_set(q, users.c.score, cr_add(q, users.c.score, 1));
    cr_set(q, users.c.name, cr_upper(q, users.c.name));
    cr_where(q, cr_in(q, users.c.id, CR_VALUES(cr_val_int(1), cr_val_int(3))));
    cr_result *r = run(c, q);
    assert_int_equal(cr_result_rowcount(r), 2);
    cr_result_free(r);
    cr_stmt_free(q);
    q = cr_select(users.c.name, users.c.score);
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "ALICE|11.5;bob|~;CAROL|100;dave|150");

    /* onupdate: updated is set by every UPDATE that does not set it. */
    q = cr_update(posts.table);
    cr_set(q, posts.c.title, "hello2");
    cr_where(q, cr_eq(q, posts.c.id, 1));
    run_ok(c, q);
    q = cr_select(posts.c.title, posts.c.updated);
    cr_where(q, cr_le(q, posts.c.id, 2));
    cr_order_by(q, posts.c.id);
    expect_rows(c, q, "hello2|2024-01-02 03:04:05.000006;world|~");
    /* ... unless it sets it. */
    q = cr_update(posts.table);
    cr_set(q, posts.c.updated, cr_val_datetime(2030, 5, 6, 7, 8, 9, 0));
    cr_where(q, cr_eq(q, posts.c.id, 2));
    run_ok(c, q);
    q = cr_select(posts.c.updated);
    cr_where(q, cr_eq(q, posts.c.id, 2));
    expect_rows(c, q, "2030-05-06 07:08:09.000000");

    /* default_fn at INSERT (tag), default_value (is_active). */
    q = cr_insert(posts.table);
    cr_set(q, posts.c.title, "new");
    run_ok(c, q);
    q = cr_select(posts.c.tag, posts.c.updated);
    cr_where(q, cr_eq(q, posts.c.title, "new"));
    expect_rows(c, q, "auto|~");

    /* UPDATE with a correlated subquery, DELETE with a subquery. */
    q = cr_update(users.table);
    cr_stmt *sub = cr_select_new();
    cr_columns(sub, cr_count_star(sub));
    cr_where(sub, cr_eq(sub, posts.c.user_id, users.c.id));
    cr_set(q, users.c.score, cr_scalar_subquery(q, sub));
    run_ok(c, q);
    q = cr_select(users.c.score);
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "2;1;0;0");

    q = cr_delete(posts.table);
    cr_where(q, cr_is_null(q, posts.c.user_id));
    r = run(c, q);
    assert_int_equal(cr_result_rowcount(r), 2);
    cr_result_free(r);
    cr_stmt_free(q);
    q = cr_delete(users.table);
    sub = cr_select(posts.c.id);
    cr_where(sub, cr_eq(sub, posts.c.user_id, users.c.id));
    cr_where(q, cr_not(q, cr_exists(q, sub)));
    r = run(c, q);
    assert_int_equal(cr_result_rowcount(r), 2);
    cr_result_free(r);
    cr_stmt_free(q);
    q = cr_select(users.c.name);
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "ALICE;bob");

    q = cr_delete(posts.table);
    run_ok(c, q);
    q = cr_select_new();
    cr_columns(q, cr_count_star(q));
    cr_select_from(q, posts.table);
    expect_rows(c, q, "0");
}

/* return_defaults fetches the generated key and the server defaults, and is
 * a shape of its own: the same INSERT without it, run first on the same
 * connection, must not lend it its cached SQL. */
#define DEFAULTED(COLUMN)                                                              \
    COLUMN(id,    INTEGER,    .primary_key = true)                                     \
    COLUMN(name,  STRING(20))                                                          \
    COLUMN(score, INTEGER,    .server_default = "42")
CR_DECLARE_TABLE(defaulted_table, DEFAULTED)

static void test_return_defaults(void **state)
{
    FX;
    cr_metadata *dmd = cr_metadata_new(NULL);
    defaulted_table d;
    assert_int_equal(defaulted_table_define(&d, dmd, "core_defaulted"), CR_OK);
    ASSERT_OK(cr_metadata_drop_all(dmd, c, true), cr_conn_error(c));
    ASSERT_OK(cr_metadata_create_all(dmd, c, false), cr_conn_error(c));
    for (int pass = 0; pass < 2; pass++) {
        cr_stmt *q = cr_insert(d.table);
        cr_set(q, d.c.name, "x");
        if (pass == 1)
            cr_return_defaults(q);
        cr_result *r = cr_conn_execute_stmt(c, q);
        ASSERT_OK(r ? CR_OK : CR_ERR_INTERNAL, cr_conn_error(c));
        const cr_row *row = cr_result_returned_defaults(r);
        if (pass == 0) {
            assert_null(row);
            assert_int_equal(cr_error_class(cr_result_error(r)), CR_ERR_INVALID_REQUEST);
        } else {
            ASSERT_OK(row ? CR_OK : CR_ERR_INTERNAL, cr_result_error(r));
            int64_t id = 0, score = 0;
            ASSERT_OK(cr_row_int64(row, d.c.id, &id), cr_row_error(row));
            ASSERT_OK(cr_row_int64(row, d.c.score, &score), cr_row_error(row));
            assert_int_equal(id, 2);
            assert_int_equal(score, 42);
        }
        int64_t pk = 0;
        ASSERT_OK(cr_row_int64(cr_result_inserted_primary_key(r), 0, &pk), cr_result_error(r));
        assert_int_equal(pk, pass + 1);
        cr_result_free(r);
        cr_stmt_free(q);
    }
    ASSERT_OK(cr_metadata_drop_all(dmd, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_metadata_free(dmd);
}

static void test_returning(void **state)
{
    FX;
    cr_stmt *q = cr_insert(users.table);
    cr_set(q, users.c.name, "ret");
    cr_set(q, users.c.score, 1.5);
    cr_returning(q, users.c.id, users.c.name, users.c.is_active);
    char got[256];
    rows_of(c, q, got, sizeof got);
    assert_string_equal(got, "5|ret|1");
    /* Read by column handle. */
    cr_stmt_free(q);

    q = cr_update(users.table);
    cr_set(q, users.c.score, cr_mul(q, users.c.score, 2));
    cr_where(q, cr_eq(q, users.c.id, 5));
    cr_returning(q, users.c.id, users.c.score);
    if (is_mysql()) {
        sent = 0;
        assert_null(cr_conn_execute_stmt(c, q));
        assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_NOT_SUPPORTED);
        assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "UPDATE ... RETURNING"));
        assert_int_equal(sent, 0);
        cr_stmt_free(q);
    } else {
        expect_rows(c, q, "5|3");
    }

    q = cr_delete(users.table);
    cr_where(q, cr_ge(q, users.c.id, 4));
    cr_returning(q, users.c.name);
    cr_result *r = run(c, q);
    cr_rowset *rows = cr_result_all(r);
    assert_int_equal(cr_rowset_count(rows), 2);
    const char *s1, *s2;
    ASSERT_OK(cr_row_text(cr_rowset_row(rows, 0), users.c.name, &s1, NULL), cr_result_error(r));
    ASSERT_OK(cr_row_text(cr_rowset_row(rows, 1), "name", &s2, NULL), cr_result_error(r));
    assert_true((strcmp(s1, "dave") == 0 && strcmp(s2, "ret") == 0) ||
                (strcmp(s1, "ret") == 0 && strcmp(s2, "dave") == 0));
    cr_rowset_free(rows);
    cr_result_free(r);
    cr_stmt_free(q);
}

static void test_upsert(void **state)
{
    FX;
    /* DO NOTHING: the row stays. */
    cr_stmt *q = cr_insert(users.table);
    cr_set(q, users.c.id, 1);
    cr_set(q, users.c.name, "dup");
    cr_on_conflict_do_nothing(q, CR_COLS(users.c.id));
    run_ok(c, q);
    q = cr_select(users.c.name);
    cr_where(q, cr_eq(q, users.c.id, 1));
    expect_rows(c, q, "alice");

    /* DO UPDATE with excluded and an expression. */
    q = cr_insert(users.table);
    cr_set(q, users.c.id, 2);
    cr_set(q, users.c.name, "bobby");
    cr_set(q, users.c.score, 7);
    cr_on_conflict_do_update(q, CR_COLS(users.c.id));
    cr_conflict_set(q, users.c.name, cr_excluded(q, users.c.name));
    cr_conflict_set(q, users.c.score, cr_add(q, cr_excluded(q, users.c.score), 1));
    run_ok(c, q);
    /* No conflict: a plain insert. */
    q = cr_insert(users.table);
    cr_set(q, users.c.id, 9);
    cr_set(q, users.c.name, "nine");
    cr_on_conflict_do_update(q, CR_COLS(users.c.id));
    cr_conflict_set(q, users.c.name, cr_excluded(q, users.c.name));
    run_ok(c, q);
    q = cr_select(users.c.id, users.c.name, users.c.score);
    cr_where(q, cr_in(q, users.c.id, CR_VALUES(cr_val_int(2), cr_val_int(9))));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "2|bobby|8;9|nine|~");

    /* On a unique column other than the key. */
    q = cr_insert(users.table);
    cr_set(q, users.c.id, 20);
    cr_set(q, users.c.name, "other");
    cr_set(q, users.c.email, "c@x");
    cr_on_conflict_do_update(q, CR_COLS(users.c.email));
    cr_conflict_set(q, users.c.name, "carol2");
    run_ok(c, q);
    q = cr_select(users.c.id, users.c.name);
    cr_where(q, cr_eq(q, users.c.email, "c@x"));
    expect_rows(c, q, "3|carol2");
}

static void test_for_update(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name);
    cr_where(q, cr_eq(q, users.c.id, 1));
    cr_for_update(q, CR_FOR_UPDATE);
    expect_rows(c, q, "alice");
    ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));

    int flags[] = {CR_FOR_NOWAIT, CR_FOR_SKIP_LOCKED, CR_FOR_SHARE};
    for (int i = 0; i < 3; i++) {
        q = cr_select(users.c.name);
        cr_where(q, cr_eq(q, users.c.id, 1));
        cr_for_update(q, flags[i]);
        if (is_sqlite()) {
            sent = 0;
            assert_null(cr_conn_execute_stmt(c, q));
            assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_NOT_SUPPORTED);
            assert_int_equal(sent, 0);
            cr_stmt_free(q);
        } else {
            expect_rows(c, q, "alice");
        }
    }
    ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
    if (is_sqlite())
        return;

    /* A second connection skips the row the first holds, or fails at once. */
    cr_conn *c2 = connect_ok(cr_conn_engine(c));
    q = cr_select(users.c.id);
    /* By key (no range): InnoDB locks these rows only. */
    cr_where(q, cr_in(q, users.c.id, CR_VALUES(cr_val_int(1), cr_val_int(2))));
    cr_order_by(q, users.c.id);
    cr_for_update(q, CR_FOR_UPDATE);
    expect_rows(c, q, "1;2");       /* c holds rows 1 and 2 */
    q = cr_select(users.c.id);
    cr_order_by(q, users.c.id);
    cr_for_update(q, CR_FOR_SKIP_LOCKED);
    expect_rows(c2, q, "3;4");
    ASSERT_OK(cr_conn_rollback(c2), cr_conn_error(c2));
    q = cr_select(users.c.id);
    cr_where(q, cr_eq(q, users.c.id, 1));
    cr_for_update(q, CR_FOR_NOWAIT);
    cr_result *r = cr_conn_execute_stmt(c2, q);
    assert_null(r);
    assert_int_equal(cr_error_class(cr_conn_error(c2)), CR_ERR_OPERATIONAL);
    cr_stmt_free(q);
    cr_conn_rollback(c2);
    cr_conn_close(c2);
    ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
}

static void test_executemany_and_cache(void **state)
{
    FX;
    cr_stmt *q = cr_insert(users.table);
    enum { N = 250 };
    cr_value *v = calloc(N * 2, sizeof *v);
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "u%03d", i);
        v[i * 2] = cr_val_text(names[i]);
        v[i * 2 + 1] = i % 2 ? cr_val_double(i) : cr_val_null();
    }
    cr_result *r = cr_conn_executemany_stmt(c, q, CR_COLS(users.c.name, users.c.score), v, N);
    if (!r) {
        print_error("executemany: %s\n", cr_error_message(cr_conn_error(c)));
        fail();
    }
    assert_int_equal(cr_result_rowcount(r), N);
    cr_result_free(r);
    free(v);
    cr_stmt_free(q);
    /* A default_fn runs once per row, as SQLAlchemy's does: a counter or a
     * sequence of its own skips no value. */
    q = cr_insert(posts.table);
    cr_value titles[3] = {cr_val_text("t1"), cr_val_text("t2"), cr_val_text("t3")};
    int calls = auto_tag_calls;
    r = cr_conn_executemany_stmt(c, q, CR_COLS(posts.c.title), titles, 3);
    if (!r) {
        print_error("executemany: %s\n", cr_error_message(cr_conn_error(c)));
        fail();
    }
    assert_int_equal(cr_result_rowcount(r), 3);
    assert_int_equal(auto_tag_calls - calls, 3);
    cr_result_free(r);
    cr_stmt_free(q);
    q = cr_select_new();
    cr_columns(q, cr_count_star(q), cr_label(q, cr_sum(q, users.c.score), "s"),
               cr_label(q, cr_min(q, users.c.name), "lo"),
               cr_label(q, cr_max(q, users.c.name), "hi"));
    cr_where(q, cr_and(q, cr_startswith(q, users.c.name, "u"), cr_eq(q, users.c.is_active, true)));
    expect_rows(c, q, "250|15625|u000|u249");

    /* The same shape built anew hits the statement cache. */
    cr_engine *e = cr_conn_engine(c);
    cr_cache_stats before, after;
    ASSERT_OK(cr_engine_cache_stats(e, &before), NULL);
    for (int i = 1; i <= 4; i++) {
        q = cr_select(users.c.name);
        cr_where(q, cr_eq(q, users.c.id, i));
        char want[16];
        snprintf(want, sizeof want, "%s", (const char *[]){"alice", "bob", "carol", "dave"}[i - 1]);
        expect_rows(c, q, want);
    }
    ASSERT_OK(cr_engine_cache_stats(e, &after), NULL);
    assert_true(after.hits - before.hits >= 3);
    assert_true(after.misses - before.misses <= 1);
    assert_true(after.size > 0);
    /* Another shape misses. */
    q = cr_select(users.c.email);
    cr_where(q, cr_eq(q, users.c.id, 1));
    expect_rows(c, q, "a@x");
    ASSERT_OK(cr_engine_cache_stats(e, &before), NULL);
    assert_int_equal(before.misses, after.misses + 1);
}

/* ---- hostile values and identifiers ----------------------------------------------------- */

static void test_hostile_values(void **state)
{
    FX;
    static const char *const texts[] = {
        "it's", "\"double\"", "back\\slash\\", "\\'", "100%", "a_b", "; DROP TABLE core_users; --",
        "\xe2\x98\x83 sn\xc3\xb8wman \xf0\x9f\x98\x80", "", " lead and trail ", "line\nbreak\ttab",
        "$1 ? :name ?1 %s", "`tick`", "/* c */", "\\%\\_",
    };
    size_t nt = sizeof texts / sizeof texts[0];
    size_t longlen = 60000;   /* TEXT holds 65535 bytes on MySQL */
    char *longtext = malloc(longlen + 1);
    for (size_t i = 0; i < longlen; i++)
        longtext[i] = "ab'\\%_;\"c"[i % 9];
    longtext[longlen] = '\0';
    unsigned char blob[512];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (unsigned char)(i * 7 + (i >> 8));
    blob[0] = 0;
    blob[1] = '\'';
    blob[2] = '\\';

    for (size_t i = 0; i <= nt; i++) {
        const char *t = i < nt ? texts[i] : longtext;
        cr_stmt *q = cr_insert(vals.table);
        cr_set(q, vals.c.id, (int)i + 1);
        cr_set(q, vals.c.txt, t);
        cr_set(q, vals.c.data, cr_val_blob(blob, i % 2 ? sizeof blob : i));
        run_ok(c, q);
    }
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    for (size_t i = 0; i <= nt; i++) {
        const char *t = i < nt ? texts[i] : longtext;
        /* Found by equality on the value itself, read back unchanged. */
        cr_stmt *q = cr_select(vals.c.id, vals.c.txt, vals.c.data);
        cr_where(q, cr_eq(q, vals.c.txt, t));
        cr_result *r = run(c, q);
        const cr_row *row = cr_result_one(r);
        if (!row) {
            print_error("value %zu not found: %s\n", i, cr_error_message(cr_result_error(r)));
            fail();
        }
        int64_t id;
        const char *s;
        size_t len;
        const void *b;
        size_t blen;
        ASSERT_OK(cr_row_int64(row, vals.c.id, &id), cr_row_error(row));
        assert_int_equal(id, (int64_t)i + 1);
        ASSERT_OK(cr_row_text(row, vals.c.txt, &s, &len), cr_row_error(row));
        assert_int_equal(len, strlen(t));
        assert_memory_equal(s, t, len);
        ASSERT_OK(cr_row_blob(row, vals.c.data, &b, &blen), cr_row_error(row));
        assert_int_equal(blen, i % 2 ? sizeof blob : i);
        if (blen)
            assert_memory_equal(b, blob, blen);
        cr_result_free(r);
        cr_stmt_free(q);

        /* contains finds it literally (escaping %, _ and /), and so does a
         * blob comparison. */
        if (i < nt && texts[i][0]) {
            q = cr_select(vals.c.id);
            cr_where(q, cr_contains(q, vals.c.txt, t));
            cr_order_by(q, vals.c.id);
            char got[256];
            rows_of(c, q, got, sizeof got);
            char want[16];
            snprintf(want, sizeof want, "%zu", i + 1);
            if (!strstr(got, want) || (strcmp(t, "100%") == 0 && strcmp(got, "5") != 0) ||
                (strcmp(t, "a_b") == 0 && strcmp(got, "6") != 0)) {
                print_error("contains(%s) found %s\n", t, got);
                fail();
            }
            cr_stmt_free(q);
        }
    }
    cr_stmt *q = cr_select(vals.c.id);
    cr_where(q, cr_eq(q, vals.c.data, cr_val_blob(blob, sizeof blob)));
    cr_order_by(q, vals.c.id);
    cr_limit(q, 2);
    expect_rows(c, q, "2;4");
    /* The table is intact. */
    q = cr_select_new();
    cr_columns(q, cr_count_star(q));
    cr_select_from(q, users.table);
    expect_rows(c, q, "4");
    free(longtext);
}

static void test_hostile_identifiers(void **state)
{
    FX;
    cr_stmt *q = cr_insert(odd);
    cr_values_rows(q, CR_COLS(odd_id, odd_order, odd_mixed, odd_quote, odd_space, odd_unicode),
                   (const cr_value[]){
                       cr_val_int(1), cr_val_int(10), cr_val_text("M"), cr_val_text("q'\""),
                       cr_val_text("s p"), cr_val_text("\xc3\xbc"),
                       cr_val_int(2), cr_val_int(20), cr_val_text("N"), cr_val_text("r"),
                       cr_val_text("t"), cr_val_text("u"),
                   }, 2);
    run_ok(c, q);
    q = cr_update(odd);
    cr_set(q, odd_space, cr_concat(q, odd_space, odd_mixed));
    cr_where(q, cr_eq(q, odd_order, 20));
    run_ok(c, q);

    q = cr_select(odd);
    cr_order_by(q, cr_desc(q, odd_order));
    expect_rows(c, q, "2|20|N|r|tN|u;1|10|M|q'\"|s p|\xc3\xbc");

    /* Through an alias, with labels that need quoting, grouped. */
    q = cr_select_new();
    cr_expr *a = cr_alias(q, odd, "the alias");
    cr_columns(q, cr_label(q, cr_c(q, a, "quo\"te's"), "select"),
               cr_label(q, cr_sum(q, cr_c(q, a, "order")), "Total Sum"));
    cr_select_from(q, a);
    cr_group_by(q, cr_c(q, a, "quo\"te's"));
    cr_order_by(q, cr_c(q, a, "quo\"te's"));
    cr_result *r = run(c, q);
    assert_string_equal(cr_result_column_name(r, 0), "select");
    assert_string_equal(cr_result_column_name(r, 1), "Total Sum");
    const cr_row *row = cr_result_fetchone(r);
    const char *s;
    ASSERT_OK(cr_row_text(row, "select", &s, NULL), cr_row_error(row));
    assert_string_equal(s, "q'\"");
    cr_result_free(r);
    cr_stmt_free(q);

    /* Read by handle, upsert on the odd table, delete. */
    q = cr_select(odd_unicode, odd_quote);
    cr_where(q, cr_eq(q, odd_mixed, "M"));
    r = run(c, q);
    row = cr_result_one(r);
    ASSERT_OK(cr_row_text(row, odd_unicode, &s, NULL), cr_row_error(row));
    assert_string_equal(s, "\xc3\xbc");
    ASSERT_OK(cr_row_text(row, odd_quote, &s, NULL), cr_row_error(row));
    assert_string_equal(s, "q'\"");
    cr_result_free(r);
    cr_stmt_free(q);

    q = cr_insert(odd);
    cr_set(q, odd_id, 1);
    cr_set(q, odd_order, 99);
    cr_on_conflict_do_update(q, CR_COLS(odd_id));
    cr_conflict_set(q, odd_order, cr_excluded(q, odd_order));
    run_ok(c, q);
    q = cr_delete(odd);
    cr_where(q, cr_eq(q, odd_quote, "r"));
    run_ok(c, q);
    q = cr_select(odd_id, odd_order);
    expect_rows(c, q, "1|99");
}

/* ---- bad input: refused before anything is sent -------------------------------------- */

static void refused(cr_conn *c, cr_stmt *q, cr_status cls, const char *part)
{
    sent = 0;
    cr_result *r = cr_conn_execute_stmt(c, q);
    assert_null(r);
    const cr_error *e = cr_conn_error(c);
    assert_non_null(e);
    if (cr_error_class(e) != cls || !strstr(cr_error_message(e), part)) {
        print_error("got %s: %s\nwant %s mentioning %s\n", cr_error_class_name(e),
                    cr_error_message(e), cr_status_name(cls), part);
        fail();
    }
    if (sent) {
        print_error("%d lines were logged: something was sent\n", sent);
        fail();
    }
    /* The statement tells of it too (sql.h: cr_stmt_error). */
    const cr_error *qe = cr_stmt_error(q);
    if (!qe || cr_error_class(qe) != cls || !strstr(cr_error_message(qe), part)) {
        print_error("cr_stmt_error: %s\n", qe ? cr_error_message(qe) : "(none)");
        fail();
    }
    cr_stmt_free(q);
}

static void test_bad_input(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name);
    cr_where(q, cr_eq(q, posts.c.id, 1));
    refused(c, q, CR_ERR_INVALID_REQUEST, "no join");

    /* A join whose ON the foreign keys cannot tell. */
    q = cr_select(users.c.name);
    cr_join(q, vals.table, NULL);
    refused(c, q, CR_ERR_ARGUMENT, "core_vals");

    q = cr_select(users.c.name);
    cr_join(q, posts.table, cr_eq(q, posts.c.user_id, users.c.id));
    cr_where(q, cr_eq(q, vals.c.id, 1));
    refused(c, q, CR_ERR_INVALID_REQUEST, "core_vals");

    q = cr_update(users.table);
    cr_set(q, users.c.name, "x");
    cr_where(q, cr_eq(q, posts.c.id, 1));
    refused(c, q, CR_ERR_INVALID_REQUEST, "core_posts");

    q = cr_select(users.c.name);
    cr_where(q, cr_eq(q, users.c.id, "1"));
    refused(c, q, CR_ERR_ARGUMENT, "core_users.id is INTEGER");

    q = cr_insert(users.table);
    cr_set(q, users.c.score, "high");
    refused(c, q, CR_ERR_ARGUMENT, "core_users.score");

    q = cr_select(users.c.name);
    cr_where(q, cr_and_items(q, (const void *const[]){NULL}));
    refused(c, q, CR_ERR_ARGUMENT, "at least one condition");

    q = cr_update(users.table);
    cr_where(q, cr_eq(q, users.c.id, 1));
    refused(c, q, CR_ERR_ARGUMENT, "no values to set");

    if (is_mysql()) {
        q = cr_select(users.c.name);
        cr_full_outerjoin(q, posts.table, cr_eq(q, posts.c.user_id, users.c.id));
        refused(c, q, CR_ERR_NOT_SUPPORTED, "FULL OUTER JOIN");
        q = cr_update(users.table);
        cr_set(q, users.c.name, "x");
        cr_returning(q, users.c.id);
        refused(c, q, CR_ERR_NOT_SUPPORTED, "RETURNING");
    }
    if (is_sqlite()) {
        q = cr_select(users.c.name);
        cr_for_update(q, CR_FOR_SKIP_LOCKED);
        refused(c, q, CR_ERR_NOT_SUPPORTED, "SKIP LOCKED");
    }

    /* The connection is fine afterwards, the table untouched. */
    q = cr_select_new();
    cr_columns(q, cr_count_star(q));
    cr_select_from(q, users.table);
    expect_rows(c, q, "4");

    /* A statement that fails on the server: the error comes back classified. */
    q = cr_insert(users.table);
    cr_set(q, users.c.id, 1);
    cr_set(q, users.c.name, "dup");
    assert_null(cr_conn_execute_stmt(c, q));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_INTEGRITY);
    cr_stmt_free(q);
    cr_conn_rollback(c);
    /* NULL statement. */
    assert_null(cr_conn_execute_stmt(c, NULL));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_ARGUMENT);
}

/* ---- issue #8 ------------------------------------------------------------------------ */

/* Finding 20: a comparison as the left operand of a comparison keeps its
 * parentheses (SQLite binds < tighter than =; PostgreSQL cannot chain). */
static void test_precedence(void **state)
{
    FX;
    /* name = email is false for 1, 3, 4 and NULL for bob. */
    cr_stmt *q = cr_select(users.c.id);
    cr_where(q, cr_lt(q, cr_eq(q, users.c.name, users.c.email), cr_gt(q, users.c.id, 2)));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "3;4");

    q = cr_select(users.c.id);
    cr_where(q, cr_eq(q, cr_contains(q, users.c.name, "a"), cr_gt(q, users.c.id, 2)));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "2;3;4");

    q = cr_select(users.c.id);
    cr_where(q, cr_ne(q, cr_in_values(q, (cr_expr *)users.c.id, NULL, 0),
                      cr_between(q, users.c.id, 2, 3)));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "2;3");

    q = cr_select(users.c.id);
    cr_where(q, cr_is_not_null(q, cr_eq(q, users.c.email, users.c.name)));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "1;3;4");

    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_sub(q, cr_sub(q, users.c.id, 10), users.c.id), "a"),
               cr_label(q, cr_concat(q, cr_add(q, users.c.id, 1), users.c.name), "b"));
    cr_where(q, cr_eq(q, users.c.id, 1));
    expect_rows(c, q, "-10|2alice");
}

/* Finding 5: one expression holding a value used twice. */
static void test_shared_bind(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.id);
    cr_expr *e = cr_eq(q, users.c.name, "carol");
    cr_where(q, cr_or(q, e, cr_and(q, e, cr_gt(q, users.c.id, 9))));
    expect_rows(c, q, "3");
}

/* Finding 6: a failed compile for another dialect leaves the statement
 * executable. */
static void test_compile_error_not_kept(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name);
    cr_where(q, cr_eq(q, users.c.id, 2));
    cr_select_from(q, users.table);
    cr_stmt *sub = cr_select(posts.c.id);
    cr_where(q, cr_not(q, cr_exists(q, sub)));
    assert_null(cr_stmt_compile(q, "oracle"));
    cr_stmt *q2 = cr_select(users.c.name);
    cr_full_outerjoin(q2, posts.table, cr_eq(q2, posts.c.user_id, users.c.id));
    cr_select_from(q2, users.table);
    assert_null(cr_stmt_compile(q2, "mysql"));
    cr_stmt_free(q2);
    cr_where(sub, cr_eq(sub, posts.c.user_id, 99));
    expect_rows(c, q, "bob");
}

/* Finding 21: an empty IN / NOT IN of a value. */
static void test_empty_in_of_value(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.id);
    cr_where(q, cr_not_in_values(q, cr_add(q, users.c.id, 1), NULL, 0));
    cr_where(q, cr_or(q, cr_in_values(q, cr_bind(q, cr_val_int(1)), NULL, 0),
                      cr_gt(q, users.c.id, 2)));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "3;4");
}

/* Finding 22: text values no column types run on PostgreSQL too. */
static void test_untyped_text(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.id);
    cr_where(q, cr_is_not_null(q, cr_bind(q, cr_val_text("x"))));
    cr_where(q, cr_is_null(q, cr_bind(q, cr_val_null())));
    cr_where(q, cr_eq(q, cr_concat(q, cr_bind(q, cr_val_text("a")), "b"), "ab"));
    cr_where(q, cr_eq(q, cr_bind(q, cr_val_text("s")), cr_bind(q, cr_val_text("s"))));
    cr_where(q, cr_lt(q, users.c.id, 3));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "1;2");

    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_bind(q, cr_val_text("t")), "t"),
               cr_label(q, cr_coalesce(q, cr_bind(q, cr_val_text("u")), users.c.email), "u"),
               cr_label(q, cr_length(q, cr_bind(q, cr_val_text("abc"))), "n"));
    cr_where(q, cr_eq(q, users.c.id, 2));
    expect_rows(c, q, "t|u|3");
}

/* Finding 7: compound members with ORDER BY / LIMIT or a CTE, INSERT ...
 * SELECT ... ON CONFLICT run everywhere. */
static void test_sqlite_grammar(void **state)
{
    FX;
    cr_stmt *a = cr_select(users.c.id);
    cr_order_by(a, cr_desc(a, users.c.id));
    cr_limit(a, 1);
    cr_stmt *b = cr_select(posts.c.id);
    cr_where(b, cr_eq(b, posts.c.id, 2));
    cr_stmt *q = cr_union_all(b, a);
    cr_order_by(q, posts.c.id);
    expect_rows(c, q, "2;4");

    b = cr_select_new();
    cr_stmt *sub = cr_select(posts.c.user_id);
    cr_where(sub, cr_is_not_null(sub, posts.c.user_id));
    cr_expr *t = cr_cte(b, sub, "t", false);
    cr_columns(b, cr_c(b, t, "user_id"));
    q = cr_intersect(cr_select(users.c.id), b);
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "1;2");

    q = cr_insert(users.table);
    cr_stmt *sel = cr_select_new();
    cr_columns(sel, cr_add(sel, posts.c.id, 2), posts.c.title);
    cr_from_select(q, CR_COLS(users.c.id, users.c.name), sel);
    cr_on_conflict_do_nothing(q, CR_COLS(users.c.id));
    run_ok(c, q);
    q = cr_select(users.c.id, users.c.name);
    cr_where(q, cr_gt(q, users.c.id, 2));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "3|carol;4|dave;5|x;6|orphan");
}

/* Finding 23: correlation. */
static void test_correlation(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name);
    cr_select_from(q, users.table);
    cr_join(q, posts.table, cr_eq(q, posts.c.user_id, users.c.id));
    cr_stmt *sub = cr_select(posts.c.id);
    cr_where(sub, cr_eq(sub, posts.c.user_id, users.c.id));
    cr_where(q, cr_exists(q, sub));
    cr_order_by(q, users.c.id);
    cr_result *r = cr_conn_execute_stmt(c, q);
    assert_null(r);
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "auto-correlation"));
    cr_stmt_free(q);

    q = cr_select(users.c.name);
    cr_select_from(q, users.table);
    sub = cr_select(posts.c.id);
    cr_where(sub, cr_eq(sub, posts.c.user_id, users.c.id));
    cr_select_from(sub, users.table);
    cr_correlate_except(sub, posts.table);
    cr_where(q, cr_exists(q, sub));
    cr_order_by(q, users.c.id);
    expect_rows(c, q, "alice;bob");
}

/* Finding 16: ISO-8601 text for a datetime column, stored as a datetime. */
static void test_datetime_text(void **state)
{
    FX;
    cr_stmt *q = cr_update(posts.table);
    cr_set(q, posts.c.updated, "2024-05-06 07:08:09.5");
    cr_where(q, cr_eq(q, posts.c.id, 1));
    run_ok(c, q);
    q = cr_select(posts.c.id, posts.c.updated);
    cr_where(q, cr_ge(q, posts.c.updated, "2024-05-06T07:08:09"));
    expect_rows(c, q, "1|2024-05-06 07:08:09.500000");
}

/* Findings 1 and 2: an expression of another statement, and a DML
 * statement adopted, are refused before anything is sent. */
static void test_ownership_refused(void **state)
{
    FX;
    cr_stmt *list = cr_select(users.c.name);
    cr_expr *cond = cr_gt(list, users.c.id, 2);
    cr_where(list, cond);
    cr_stmt *count = cr_select_new();
    cr_columns(count, cr_count_star(count));
    cr_select_from(count, users.table);
    cr_where(count, cond);
    refused(c, count, CR_ERR_INVALID_REQUEST, "built on a SELECT");
    cr_order_by(list, users.c.id);
    expect_rows(c, list, "carol;dave");

    cr_stmt *other = cr_select(users.c.id);
    cr_expr *e = cr_eq(other, users.c.id, 1);
    cr_stmt *q = cr_delete(users.table);
    cr_where(q, e);
    cr_stmt_free(other);
    refused(c, q, CR_ERR_INVALID_REQUEST, "used by a DELETE");

    q = cr_select_new();
    cr_stmt *anchor = cr_select_new();
    cr_columns(anchor, cr_label(anchor, cr_literal(anchor, "1"), "n"));
    cr_expr *cnt = cr_cte(q, anchor, "cnt", true);
    cr_stmt *upd = cr_update(users.table);
    cr_set(upd, users.c.name, "x");
    cr_cte_union_all(q, cnt, upd);
    cr_columns(q, cr_c(q, cnt, "n"));
    refused(c, q, CR_ERR_ARGUMENT, "must be a SELECT");
}

#define NAMES2(...) ((const char *const[]){__VA_ARGS__})

/* ---- named placeholders: a statement built once, run many times (finding 27) ---------- */

/* q run with params returns want (q is kept). */
static void expect_rows_params(cr_conn *c, cr_stmt *q, const cr_param *params, const char *want)
{
    cr_result *r = cr_conn_execute_stmt_params(c, q, params);
    if (!r) {
        print_error("execute failed: %s: %s\n", cr_error_class_name(cr_conn_error(c)),
                    cr_error_message(cr_conn_error(c)));
        fail();
    }
    cr_rowset *rows = cr_result_all(r);
    assert_non_null(rows);
    char got[4096];
    size_t o = 0;
    got[0] = '\0';
    for (size_t i = 0; i < cr_rowset_count(rows); i++) {
        const cr_row *row = cr_rowset_row(rows, i);
        for (int k = 0; k < cr_row_column_count(row); k++) {
            char v[512];
            put_value(v, sizeof v, cr_row_value_at(row, k));
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", k ? "|" : i ? ";" : "", v);
        }
    }
    cr_rowset_free(rows);
    cr_result_free(r);
    if (strcmp(got, want) != 0) {
        print_error("rows: %s\nwant: %s\n", got, want);
        fail();
    }
}

/* q run with params is refused with cls mentioning part, nothing sent; q is kept. */
static void refused_params(cr_conn *c, cr_stmt *q, const cr_param *params, cr_status cls,
                           const char *part)
{
    sent = 0;
    assert_null(cr_conn_execute_stmt_params(c, q, params));
    const cr_error *e = cr_conn_error(c);
    assert_non_null(e);
    if (cr_error_class(e) != cls || !strstr(cr_error_message(e), part)) {
        print_error("got %s: %s\nwant %s mentioning %s\n", cr_error_class_name(e),
                    cr_error_message(e), cr_status_name(cls), part);
        fail();
    }
    assert_int_equal(sent, 0);
}

/* A reused statement remembers what its key found on a connection: not
 * once that was evicted (a cache of one statement, two statements in
 * turn), nor on another connection, nor after the connection was closed
 * and another opened. ASan sees any use of a statement gone. */
static void test_bindparam_reuse_evicted(void **state)
{
    FX;
    (void)c;
    cr_engine *e = new_engine(&(cr_engine_options){.statement_cache_size = 1, .pool_size = 2});
    cr_stmt *by_id = cr_select(users.c.name);
    cr_where(by_id, cr_eq(by_id, users.c.id, cr_bindparam(by_id, "id")));
    cr_stmt *by_name = cr_select(users.c.id);
    cr_where(by_name, cr_eq(by_name, users.c.name, cr_bindparam(by_name, "name")));
    static const char *const names[] = {"alice", "bob", "carol", "dave"};
    cr_cache_stats before, after;
    ASSERT_OK(cr_engine_cache_stats(e, &before), NULL);
    for (int round = 0; round < 3; round++) {
        cr_conn *a = connect_ok(e), *b = connect_ok(e);
        for (int i = 1; i <= 4; i++) {
            char want[16];
            expect_rows_params(a, by_id, CR_PARAMS({"id", cr_val_int(i)}), names[i - 1]);
            snprintf(want, sizeof want, "%d", i);
            expect_rows_params(a, by_name, CR_PARAMS({"name", cr_val_text(names[i - 1])}), want);
            expect_rows_params(b, by_id, CR_PARAMS({"id", cr_val_int(i)}), names[i - 1]);
        }
        cr_conn_close(b);
        cr_conn_close(a);
    }
    /* Each statement evicted the other on a: none was found again there. */
    ASSERT_OK(cr_engine_cache_stats(e, &after), NULL);
    assert_true(after.misses - before.misses >= 3 * 8);
    cr_stmt_free(by_id);
    cr_stmt_free(by_name);
    cr_engine_free(e);
}

/* With no statement cache, an INSERT's prepared statement is gone once its
 * result is made (it returns no rows): what the INSERT made is read from
 * what was kept, not from the statement. ASan sees any use of it. */
static void test_insert_uncached(void **state)
{
    FX;
    (void)c;
    cr_engine *e = new_engine(&(cr_engine_options){.statement_cache_size = CR_NONE});
    cr_conn *x = connect_ok(e);
    int64_t first = 0;
    for (int i = 0; i < 3; i++) {
        cr_stmt *q = cr_insert(users.table);
        cr_set(q, users.c.name, i == 0 ? "uncached0" : i == 1 ? "uncached1" : "uncached2");
        cr_result *r = cr_conn_execute_stmt(x, q);
        if (!r)
            print_error("%s\n", cr_error_message(cr_conn_error(x)));
        assert_non_null(r);
        int64_t id = 0;
        ASSERT_OK(cr_result_inserted_id(r, &id), cr_result_error(r));
        assert_true(id > 0);
        if (i == 0)
            first = id;
        else
            assert_int_equal(id, first + i);
        cr_result_free(r);
        cr_stmt_free(q);
    }
    cr_conn_rollback(x);
    cr_conn_close(x);
    cr_engine_free(e);
}

static void test_bindparam_reuse(void **state)
{
    FX;
    static const char *const names[] = {"alice", "bob", "carol", "dave"};
    cr_stmt *q = cr_select(users.c.id, users.c.name);
    cr_where(q, cr_eq(q, users.c.id, cr_bindparam(q, "id")));
    cr_engine *e = cr_conn_engine(c);
    cr_cache_stats before, after;
    expect_rows_params(c, q, CR_PARAMS({"id", cr_val_int(1)}), "1|alice");
    ASSERT_OK(cr_engine_cache_stats(e, &before), NULL);
    for (int round = 0; round < 25; round++)
        for (int i = 1; i <= 4; i++) {
            char want[32];
            snprintf(want, sizeof want, "%d|%s", i, names[i - 1]);
            expect_rows_params(c, q, CR_PARAMS({"id", cr_val_int(i)}), want);
        }
    expect_rows_params(c, q, CR_PARAMS({"id", cr_val_int(99)}), "");
    /* NULL is a bound NULL: id = NULL matches nothing. */
    expect_rows_params(c, q, CR_PARAMS({"id", cr_val_null()}), "");
    /* The statement was neither compiled nor prepared again. */
    ASSERT_OK(cr_engine_cache_stats(e, &after), NULL);
    assert_int_equal(after.misses, before.misses);
    assert_int_equal(after.hits - before.hits, 102);

    /* A builder call changes the statement: the next execution sees it. */
    cr_where(q, cr_or(q, cr_eq(q, users.c.is_active, cr_bindparam(q, "active")),
                      cr_gt(q, users.c.score, cr_bindparam(q, "min_score"))));
    refused_params(c, q, CR_PARAMS({"id", cr_val_int(3)}), CR_ERR_ARGUMENT,
                   "a value is required for bind parameter 'active'");
    /* Typed by their columns: 0 / 1 for the boolean, an integer for the double. */
    expect_rows_params(c, q, CR_PARAMS({"id", cr_val_int(3)}, {"active", cr_val_int(0)},
                                       {"min_score", cr_val_int(1000)}), "3|carol");
    expect_rows_params(c, q, CR_PARAMS({"min_score", cr_val_int(50)}, {"id", cr_val_int(4)},
                                       {"active", cr_val_bool(false)}), "4|dave");
    expect_rows_params(c, q, CR_PARAMS({"min_score", cr_val_double(500)}, {"id", cr_val_int(4)},
                                       {"active", cr_val_bool(false)}), "");
    cr_stmt_free(q);

    /* Text, and one name used in two places. */
    q = cr_select(users.c.id);
    cr_where(q, cr_or(q, cr_eq(q, users.c.name, cr_bindparam(q, "who")),
                      cr_eq(q, users.c.email, cr_bindparam(q, "who"))));
    cr_order_by(q, users.c.id);
    char buf[8] = "bob";
    expect_rows_params(c, q, CR_PARAMS({"who", cr_val_text(buf)}), "2");
    memcpy(buf, "c@x", 4);
    expect_rows_params(c, q, CR_PARAMS({"who", cr_val_text(buf)}), "3");
    cr_stmt_free(q);

    /* Many placeholders (their names are told apart sorted past 16): in
     * their order, in any order, and one name in two places, which a list
     * in their order giving it twice does not take. */
    enum { MANY = 24 };
    char pnames[MANY][8];
    cr_param many[MANY + 2];
    q = cr_select(users.c.id);
    cr_expr *any = NULL;
    for (int i = 0; i < MANY; i++) {
        snprintf(pnames[i], sizeof pnames[i], "k%d", i == MANY - 1 ? 5 : i);
        cr_expr *e = cr_eq(q, users.c.id, cr_bindparam(q, pnames[i]));
        any = any ? cr_or(q, any, e) : e;
    }
    cr_where(q, any);
    cr_order_by(q, users.c.id);
    for (int i = 0; i < MANY; i++)   /* k5 twice, in the order rendered */
        many[i] = (cr_param){pnames[i], cr_val_int(i == 3 ? 2 : i == 5 ? 4 : 100 + i)};
    many[MANY] = (cr_param){NULL, cr_val_null()};
    refused_params(c, q, many, CR_ERR_ARGUMENT, "parameter 'k5' is given twice");
    for (int i = 0; i < MANY - 1; i++)   /* each name once, backwards */
        many[i] = (cr_param){pnames[MANY - 2 - i], cr_val_int(MANY - 2 - i == 3 ? 2 : MANY - 2 - i == 5 ? 4 : 100)};
    many[MANY - 1] = (cr_param){NULL, cr_val_null()};
    expect_rows_params(c, q, many, "2;4");
    cr_stmt_free(q);
    q = cr_select(users.c.id);
    any = NULL;
    for (int i = 0; i < MANY; i++) {
        snprintf(pnames[i], sizeof pnames[i], "k%d", i);
        cr_expr *e = cr_eq(q, users.c.id, cr_bindparam(q, pnames[i]));
        any = any ? cr_or(q, any, e) : e;
    }
    cr_where(q, any);
    cr_order_by(q, users.c.id);
    for (int i = 0; i < MANY; i++)   /* every name its own, in order */
        many[i] = (cr_param){pnames[i], cr_val_int(i == MANY - 1 ? 3 : i == 0 ? 1 : 100 + i)};
    many[MANY] = (cr_param){NULL, cr_val_null()};
    expect_rows_params(c, q, many, "1;3");
    cr_stmt_free(q);

    /* A placeholder in a subquery; changing the subquery changes the statement. */
    cr_stmt *sub = cr_select(posts.c.user_id);
    cr_where(sub, cr_eq(sub, posts.c.tag, cr_bindparam(sub, "tag")));
    q = cr_select(users.c.name);
    cr_where(q, cr_in_select(q, users.c.id, sub));
    cr_order_by(q, users.c.id);
    expect_rows_params(c, q, CR_PARAMS({"tag", cr_val_text("a")}), "alice;bob");
    expect_rows_params(c, q, CR_PARAMS({"tag", cr_val_text("b")}), "alice");
    cr_where(sub, cr_ne(sub, posts.c.title, cr_bindparam(sub, "not_title")));
    expect_rows_params(c, q, CR_PARAMS({"tag", cr_val_text("a")}, {"not_title", cr_val_text("x")}),
                       "alice");
    cr_stmt_free(q);

    /* An untyped placeholder: its value's own type. */
    q = cr_select_new();
    cr_columns(q, cr_label(q, cr_bindparam(q, "v"), "v"));
    expect_rows_params(c, q, CR_PARAMS({"v", cr_val_int(42)}), "42");
    cr_stmt_free(q);
}

static void test_bindparam_dml(void **state)
{
    FX;
    /* INSERT run many times: client defaults, generated keys each time. */
    cr_stmt *ins = cr_insert(posts.table);
    cr_set(ins, posts.c.user_id, cr_bindparam(ins, "uid"));
    cr_set(ins, posts.c.title, cr_bindparam(ins, "title"));
    for (int i = 0; i < 5; i++) {
        char title[16];
        snprintf(title, sizeof title, "p%d", i);
        cr_result *r = cr_conn_execute_stmt_params(c, ins, CR_PARAMS({"uid", cr_val_int(3)},
                                                                     {"title", cr_val_text(title)}));
        ASSERT_OK(r ? CR_OK : CR_ERR_INTERNAL, cr_conn_error(c));
        int64_t id;
        ASSERT_OK(cr_result_inserted_id(r, &id), cr_result_error(r));
        assert_int_equal(id, 5 + i);
        cr_result_free(r);
    }
    cr_stmt *q = cr_select(posts.c.id, posts.c.title, posts.c.tag);
    cr_where(q, cr_eq(q, posts.c.user_id, 3));
    cr_order_by(q, posts.c.id);
    expect_rows(c, q, "5|p0|auto;6|p1|auto;7|p2|auto;8|p3|auto;9|p4|auto");

    /* executemany of an INSERT, an UPDATE and a DELETE. */
    enum { N = 40 };
    cr_value v[N * 2];
    char titles[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(titles[i], sizeof titles[i], "m%02d", i);
        v[2 * i] = cr_val_text(titles[i]);
        v[2 * i + 1] = i % 2 ? cr_val_int(4) : cr_val_null();
    }
    cr_result *r = cr_conn_executemany_stmt_params(c, ins, NAMES2("title", "uid"), 2, v, N);
    ASSERT_OK(r ? CR_OK : CR_ERR_INTERNAL, cr_conn_error(c));
    assert_int_equal(cr_result_rowcount(r), N);
    cr_result_free(r);
    q = cr_select_new();
    cr_columns(q, cr_count_star(q), cr_label(q, cr_min(q, posts.c.title), "lo"),
               cr_label(q, cr_max(q, posts.c.title), "hi"), cr_label(q, cr_min(q, posts.c.tag), "t"));
    cr_where(q, cr_eq(q, posts.c.user_id, 4));
    expect_rows(c, q, "20|m01|m39|auto");
    /* Run once again after the executemany: the generated key comes back. */
    r = cr_conn_execute_stmt_params(c, ins, CR_PARAMS({"uid", cr_val_int(2)},
                                                      {"title", cr_val_text("after")}));
    ASSERT_OK(r ? CR_OK : CR_ERR_INTERNAL, cr_conn_error(c));
    int64_t after_id;
    ASSERT_OK(cr_result_inserted_id(r, &after_id), cr_result_error(r));
    assert_int_equal(after_id, 50);
    cr_result_free(r);

    cr_stmt *upd = cr_update(posts.table);
    cr_set(upd, posts.c.title, cr_bindparam(upd, "new_title"));
    cr_where(upd, cr_eq(upd, posts.c.title, cr_bindparam(upd, "old_title")));
    r = cr_conn_executemany_stmt_params(
        c, upd, NAMES2("old_title", "new_title"), 2,
        (const cr_value[]){cr_val_text("m01"), cr_val_text("first"), cr_val_text("m39"),
                           cr_val_text("last"), cr_val_text("none"), cr_val_text("x")}, 3);
    ASSERT_OK(r ? CR_OK : CR_ERR_INTERNAL, cr_conn_error(c));
    assert_int_equal(cr_result_rowcount(r), 2);
    cr_result_free(r);
    ASSERT_OK(cr_conn_exec_stmt_params(c, upd, CR_PARAMS({"old_title", cr_val_text("hello")},
                                                         {"new_title", cr_val_text("hi")})),
              cr_conn_error(c));
    q = cr_select(posts.c.title, posts.c.updated);
    cr_where(q, cr_in(q, posts.c.id, CR_VALUES(cr_val_int(1), cr_val_int(11), cr_val_int(49))));
    cr_order_by(q, posts.c.id);
    expect_rows(c, q, "hi|2024-01-02 03:04:05.000006;first|2024-01-02 03:04:05.000006;"
                      "last|2024-01-02 03:04:05.000006");

    cr_stmt *del = cr_delete(posts.table);
    cr_where(del, cr_eq(del, posts.c.user_id, cr_bindparam(del, "uid")));
    r = cr_conn_executemany_stmt_params(c, del, NAMES2("uid"), 1,
                                        (const cr_value[]){cr_val_int(4), cr_val_int(3)}, 2);
    ASSERT_OK(r ? CR_OK : CR_ERR_INTERNAL, cr_conn_error(c));
    assert_int_equal(cr_result_rowcount(r), 25);
    cr_result_free(r);
    /* No sets: nothing runs. */
    r = cr_conn_executemany_stmt_params(c, del, NAMES2("uid"), 1, NULL, 0);
    ASSERT_OK(r ? CR_OK : CR_ERR_INTERNAL, cr_conn_error(c));
    assert_int_equal(cr_result_rowcount(r), 0);
    cr_result_free(r);
    q = cr_select_new();
    cr_columns(q, cr_count_star(q));
    cr_select_from(q, posts.table);
    expect_rows(c, q, "25");
    cr_stmt_free(ins);
    cr_stmt_free(upd);
    cr_stmt_free(del);
}

static void test_bindparam_errors(void **state)
{
    FX;
    cr_stmt *q = cr_select(users.c.name);
    cr_where(q, cr_and(q, cr_eq(q, users.c.id, cr_bindparam(q, "id")),
                       cr_eq(q, users.c.is_active, cr_bindparam(q, "active"))));
    refused_params(c, q, CR_PARAMS({"id", cr_val_int(1)}), CR_ERR_ARGUMENT,
                   "a value is required for bind parameter 'active'");
    refused_params(c, q, NULL, CR_ERR_ARGUMENT, "bind parameter 'id'");
    refused_params(c, q, CR_PARAMS({"id", cr_val_int(1)}, {"active", cr_val_bool(true)},
                                   {"ident", cr_val_int(1)}),
                   CR_ERR_ARGUMENT, "parameter 'ident' is not a placeholder");
    refused_params(c, q, CR_PARAMS({"id", cr_val_text("1")}, {"active", cr_val_bool(true)}),
                   CR_ERR_ARGUMENT, "parameter 'id': column core_users.id is INTEGER");
    refused_params(c, q, CR_PARAMS({"id", cr_val_int(1)}, {"active", cr_val_int(2)}),
                   CR_ERR_ARGUMENT, "parameter 'active'");
    refused_params(c, q, CR_PARAMS({"id", cr_val_int(1)}, {"active", cr_val_bool(true)},
                                   {"id", cr_val_int(2)}),
                   CR_ERR_ARGUMENT, "parameter 'id' is given twice");
    refused_params(c, q, CR_PARAMS({"id", cr_val_int(1)},
                                   {"active", (cr_value){.type = CR_TEXT, .v.s = {NULL, 3}}}),
                   CR_ERR_ARGUMENT, "parameter 'active'");
    /* Without values: as cr_conn_execute_stmt always was, but naming the placeholder. */
    sent = 0;
    assert_null(cr_conn_execute_stmt(c, q));
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "bind parameter 'id'"));
    assert_int_equal(sent, 0);
    /* After every refusal the statement runs. */
    expect_rows_params(c, q, CR_PARAMS({"id", cr_val_int(1)}, {"active", cr_val_bool(true)}),
                       "alice");
    /* A date column takes ISO-8601 text; anything else is refused. */
    cr_stmt *d = cr_select(posts.c.id);
    cr_where(d, cr_eq(d, posts.c.updated, cr_bindparam(d, "at")));
    refused_params(c, d, CR_PARAMS({"at", cr_val_text("yesterday")}), CR_ERR_ARGUMENT,
                   "parameter 'at': column core_posts.updated is DATETIME");
    expect_rows_params(c, d, CR_PARAMS({"at", cr_val_text("2024-01-02 03:04:05")}), "");
    cr_stmt_free(d);

    /* executemany: every set checked before the first is sent. */
    cr_stmt *ins = cr_insert(users.table);
    cr_set(ins, users.c.name, cr_bindparam(ins, "name"));
    cr_set(ins, users.c.score, cr_bindparam(ins, "score"));
    sent = 0;
    assert_null(cr_conn_executemany_stmt_params(
        c, ins, NAMES2("name", "score"), 2,
        (const cr_value[]){cr_val_text("e1"), cr_val_double(1), cr_val_text("e2"),
                           cr_val_text("high")}, 2));
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "parameter 'score'"));
    assert_null(cr_conn_executemany_stmt_params(c, ins, NAMES2("name"), 1,
                                                (const cr_value[]){cr_val_text("e1")}, 1));
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "bind parameter 'score'"));
    assert_null(cr_conn_executemany_stmt_params(
        c, ins, NAMES2("name", "score", "x"), 3,
        (const cr_value[]){cr_val_text("e1"), cr_val_double(1), cr_val_int(1)}, 1));
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "parameter 'x' is not"));
    assert_null(cr_conn_executemany_stmt_params(c, q, NAMES2("id", "active"), 2,
                                                (const cr_value[]){cr_val_int(1),
                                                                   cr_val_bool(true)}, 1));
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), "return no rows"));
    assert_int_equal(sent, 0);
    cr_stmt *n = cr_select_new();
    cr_columns(n, cr_count_star(n));
    cr_select_from(n, users.table);
    expect_rows(c, n, "4");
    cr_stmt_free(ins);
    cr_stmt_free(q);

    /* Names: letters, digits and '_', not starting with a digit, 1 to 100. */
    char longest[102];
    memset(longest, 'n', 101);
    longest[101] = '\0';
    const char *const bad[] = {NULL, "", "1id", "a-b", "a b", "id\xc3\xa9", longest};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_stmt *b = cr_select(users.c.name);
        assert_null(cr_bindparam(b, bad[i]));
        assert_int_equal(cr_error_class(cr_stmt_error(b)), CR_ERR_ARGUMENT);
        assert_non_null(strstr(cr_error_message(cr_stmt_error(b)), "is not a parameter name"));
        cr_stmt_free(b);
    }
    longest[100] = '\0';
    cr_stmt *g = cr_select(users.c.name);
    cr_where(g, cr_and(g, cr_eq(g, users.c.id, cr_bindparam(g, longest)),
                       cr_eq(g, users.c.name, cr_bindparam(g, "_n2"))));
    assert_null(cr_stmt_error(g));
    expect_rows_params(c, g, CR_PARAMS({longest, cr_val_int(1)}, {"_n2", cr_val_text("alice")}),
                       "alice");
    cr_stmt_free(g);

    /* NULL arguments. */
    assert_null(cr_conn_execute_stmt_params(NULL, NULL, NULL));
    assert_null(cr_conn_execute_stmt_params(c, NULL, NULL));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_ARGUMENT);
    assert_int_equal(cr_conn_exec_stmt_params(NULL, NULL, NULL), CR_ERR_ARGUMENT);
    assert_null(cr_conn_executemany_stmt_params(c, NULL, NULL, 0, NULL, 0));
    assert_int_equal(cr_error_class(cr_conn_error(c)), CR_ERR_ARGUMENT);
}

static int group_teardown(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    drop_all(c);
    cr_conn_close(c);
    cr_engine_free(e);
    return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    build_schema();
    const struct CMUnitTest tests[] = {
        T(test_select_where),
        T(test_arithmetic_and_concat),
        T(test_in_between_like),
        T(test_null_tests),
        T(test_distinct_order_limit),
        T(test_group_by_functions),
        T(test_case_cast_alias),
        T(test_subqueries),
        T(test_joins),
        T(test_compound),
        T(test_ctes),
        T(test_window),
        T(test_insert_and_primary_keys),
        T(test_update_delete_defaults),
        T(test_returning),
        T(test_return_defaults),
        T(test_upsert),
        T(test_for_update),
        T(test_executemany_and_cache),
        T(test_hostile_values),
        T(test_hostile_identifiers),
        T(test_bad_input),
        T(test_ownership_refused),
        T(test_precedence),
        T(test_shared_bind),
        T(test_compile_error_not_kept),
        T(test_empty_in_of_value),
        T(test_untyped_text),
        T(test_sqlite_grammar),
        T(test_correlation),
        T(test_datetime_text),
        T(test_bindparam_reuse),
        T(test_bindparam_reuse_evicted),
        T(test_insert_uncached),
        T(test_bindparam_dml),
        T(test_bindparam_errors),
    };
    int failed = HARNESS_RUN("core", NULL, tests, group_teardown);
    cr_metadata_free(md);
    harness_cleanup();
    return failed ? 1 : 0;
}
