/* test_shards.c — shard sets against several real SQLite files, PostgreSQL or MariaDB databases: choosers, fan-out concatenation and ORDER BY merge checked against one database holding every row, and the sharded session. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- models (tables no other suite uses) ---- */

#define SCUST(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true, .autoincrement = CR_NO)               \
    F(region,  STRING(20),  .nullable = CR_NO)                                         \
    F(name,    STRING(50))                                                             \
    F(score,   INTEGER)                                                                \
    F(rank,    DOUBLE)
#define SCUST_RELS(R)                                                                  \
    R(orders, MANY(SOrder), .back_populates = "customer",                              \
                            .cascade = "all, delete-orphan", .order_by = "id")
CR_MODEL(SCust, "shard_customers", SCUST, SCUST_RELS)

#define SORDER(F)                                                                      \
    F(id,          INTEGER,    .primary_key = true, .autoincrement = CR_NO)            \
    F(customer_id, INTEGER,    .foreign_key = "shard_customers.id")                    \
    F(item,        STRING(50))
#define SORDER_RELS(R) R(customer, ONE(SCust))
CR_MODEL(SOrder, "shard_orders", SORDER, SORDER_RELS)

#define NSHARDS 3
static const char *const shard_names[NSHARDS] = {"a", "b", "c"};
static cr_metadata *md;
static cr_engine *shard_engines[NSHARDS];
static cr_engine *all_engine;          /* one database holding every row */
static char urls[NSHARDS][600];
static char sqlite_dir[256];
static char pg_db[NSHARDS + 1][64];
static cr_engine *admin;               /* PostgreSQL: CREATE / DROP DATABASE */

/* ---- choosers ---- */

static int region_shard(const char *region, size_t len)
{
    if (len == 2 && memcmp(region, "eu", 2) == 0) return 0;
    if (len == 2 && memcmp(region, "us", 2) == 0) return 1;
    if (len == 4 && memcmp(region, "asia", 4) == 0) return 2;
    return -1;
}

/* A region no shard serves comes back as itself: an unknown shard name. */
static char unknown_name[64];
static const char *region_name(const char *region, size_t len)
{
    int i = region_shard(region, len);
    if (i >= 0)
        return shard_names[i];
    snprintf(unknown_name, sizeof unknown_name, "%.*s", (int)len, region);
    return unknown_name;
}

static int key_calls;
static const char *choose_key(void *ud, const cr_value *key, size_t n)
{
    (void)ud;
    key_calls++;
    assert_int_equal(n, 1);
    return key->type == CR_TEXT ? region_name(key->v.s.ptr, key->v.s.len) : NULL;
}

static const char *choose_object(void *ud, const cr_mapper *m, const void *obj)
{
    (void)ud;
    if (m == SCust_model.mapper) {
        const SCust *c = obj;
        return c->region ? region_name(c->region, strlen(c->region)) : NULL;
    }
    return NULL;   /* orders go with their customer (the cascade) */
}

/* The id chooser tries the shards in this order (set by the tests). */
static const char *id_order[NSHARDS] = {"a", "b", "c"};
static size_t id_calls;
static size_t choose_ids(void *ud, const cr_mapper *m, const cr_value *pk, size_t npk,
                         const char **out, size_t max)
{
    (void)ud, (void)m, (void)pk;
    id_calls++;
    assert_int_equal(npk, 1);
    assert_true(max >= NSHARDS);
    for (size_t i = 0; i < NSHARDS; i++)
        out[i] = id_order[i];
    return NSHARDS;
}

/* The regions a query's WHERE pins, as shards; none: every shard. */
static size_t choose_query(void *ud, const cr_stmt *q, const char **out, size_t max)
{
    (void)ud;
    cr_value regions[8];
    size_t n = cr_stmt_where_values(q, SCust_model.c.region, regions, 8);
    if (n > 8 || n > max)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (regions[i].type == CR_TEXT)
            out[k++] = region_name(regions[i].v.s.ptr, regions[i].v.s.len);
    return k;
}

static cr_shard_set *new_set(void)
{
    cr_shard_choosers ch = {.key = choose_key, .object = choose_object, .ids = choose_ids,
                            .query = choose_query};
    cr_shard_set *set = cr_shard_set_new(&ch);
    assert_non_null(set);
    for (size_t i = 0; i < NSHARDS; i++)
        ASSERT_OK(cr_shard_set_add_engine(set, shard_names[i], shard_engines[i]),
                  cr_shard_set_error(set));
    return set;
}

/* ---- data: the same rows spread over the shards and all in one database ---- */

#define NROWS 40
static const char *const regions[3] = {"eu", "us", "asia"};
static const char *const names[8] = {"alice", "Bob", "carol", "Dave", "eve", "alice", "Zed", ""};

static void recreate(cr_engine *e)
{
    cr_error *err = NULL;
    if (cr_metadata_drop_all_engine(md, e, true, &err) ||
        cr_metadata_create_all_engine(md, e, false, &err)) {
        print_error("recreate: %s\n", cr_error_message(err));
        cr_error_free(err);
        fail();
    }
}

static cr_stmt *insert_row(int i)
{
    cr_stmt *q = cr_insert(SCust_model.table);
    cr_set(q, SCust_model.c.id, i);
    cr_set(q, SCust_model.c.region, regions[i % 3]);
    cr_set(q, SCust_model.c.name, i % 9 == 0 ? cr_val_null() : cr_val_text(names[i % 8]));
    /* Repeated scores and NULLs: ties and NULL placement both matter. */
    cr_set(q, SCust_model.c.score, i % 4 == 0 ? cr_val_null() : cr_val_int((i * 7) % 10));
    cr_set(q, SCust_model.c.rank, i % 5 == 0 ? cr_val_null() : cr_val_double((i * 13 % 17) / 3.0));
    return q;
}

static int setup(void **state)
{
    (void)state;
    recreate(all_engine);
    for (size_t i = 0; i < NSHARDS; i++)
        recreate(shard_engines[i]);
    cr_shard_set *set = new_set();
    cr_conn *all = connect_ok(all_engine);
    for (int i = 1; i <= NROWS; i++) {
        cr_stmt *q = insert_row(i);
        const char *shard = cr_shard_set_choose(set, &(cr_value){.type = CR_TEXT,
                                 .v.s = {regions[i % 3], strlen(regions[i % 3])}}, 1);
        assert_non_null(shard);
        int64_t n = 0;
        ASSERT_OK(cr_shard_set_exec(set, shard, q, &n), cr_shard_set_error(set));
        assert_int_equal(n, 1);
        ASSERT_OK(cr_conn_exec_stmt(all, q), cr_conn_error(all));
        cr_stmt_free(q);
    }
    ASSERT_OK(cr_conn_commit(all), cr_conn_error(all));
    cr_conn_close(all);
    cr_shard_set_free(set);
    return 0;
}

/* ---- helpers ---- */

/* The ids of a row set's rows (column "id"), as "3,1,2". */
static void ids_of(const cr_rowset *rs, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < cr_rowset_count(rs); i++) {
        int64_t id;
        assert_int_equal(cr_row_int64(cr_rowset_row(rs, i), "id", &id), CR_OK);
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)id);
        assert_true(n < size);
    }
}

/* The same statement on the database holding every row. */
static void reference_ids(cr_stmt *q, char *buf, size_t size)
{
    cr_conn *c = connect_ok(all_engine);
    cr_result *r = cr_conn_execute_stmt(c, q);
    if (!r)
        print_error("reference: %s\n", cr_error_message(cr_conn_error(c)));
    assert_non_null(r);
    cr_rowset *rs = cr_result_fetchall(r);
    assert_non_null(rs);
    ids_of(rs, buf, size);
    cr_rowset_free(rs);
    cr_result_free(r);
    cr_conn_close(c);
}

static cr_rowset *fetch_ok(cr_shard_set *set, cr_stmt *q, const char *const *names_,
                           size_t n)
{
    cr_rowset *rs = cr_shard_set_fetch(set, q, names_, n);
    if (!rs)
        print_error("fetch: %s\n", cr_error_message(cr_shard_set_error(set)));
    assert_non_null(rs);
    return rs;
}

/* Each row is on the shard its region routes to. */
static void assert_rows_routed(const cr_rowset *rs)
{
    for (size_t i = 0; i < cr_rowset_count(rs); i++) {
        const char *region;
        size_t len;
        assert_int_equal(cr_row_text(cr_rowset_row(rs, i), "region", &region, &len), CR_OK);
        assert_string_equal(cr_rowset_shard(rs, i), region_name(region, len));
    }
}

/* ---- tests: the set and its choosers ---- */

static void test_set_and_choosers(void **state)
{
    (void)state;
    cr_shard_set *set = new_set();
    assert_int_equal(cr_shard_set_count(set), NSHARDS);
    assert_string_equal(cr_shard_set_name(set, 1), "b");
    assert_null(cr_shard_set_name(set, NSHARDS));
    assert_ptr_equal(cr_shard_set_engine(set, "c"), shard_engines[2]);

    key_calls = 0;
    const char *s = cr_shard_set_choose(set, (cr_value[]){cr_val_text("asia")}, 1);
    assert_string_equal(s, "c");
    assert_int_equal(key_calls, 1);
    assert_null(cr_shard_set_error(set));

    /* A chooser naming no shard: an ArgumentError naming it and the shards. */
    assert_null(cr_shard_set_choose(set, (cr_value[]){cr_val_text("mars")}, 1));
    const cr_error *e = cr_shard_set_error(set);
    assert_int_equal(cr_error_class(e), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(e), "key chooser returned 'mars'"));
    assert_non_null(strstr(cr_error_message(e), "'a', 'b', 'c'"));
    /* ... or NULL. */
    assert_null(cr_shard_set_choose(set, (cr_value[]){cr_val_int(5)}, 1));
    assert_non_null(strstr(cr_error_message(cr_shard_set_error(set)), "no shard name"));

    /* Names: taken, empty, unknown. */
    assert_int_equal(cr_shard_set_add_engine(set, "a", all_engine), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_shard_set_error(set)), "already has a shard named 'a'"));
    assert_int_equal(cr_shard_set_add_engine(set, "", all_engine), CR_ERR_ARGUMENT);
    assert_int_not_equal(cr_shard_set_add_url(set, "x", "nosuchdb://x", NULL), CR_OK);
    assert_int_equal(cr_shard_set_count(set), NSHARDS);
    assert_null(cr_shard_set_connect(set, "zz"));
    assert_non_null(strstr(cr_error_message(cr_shard_set_error(set)), "no shard named 'zz'"));
    assert_int_equal(cr_shard_set_exec(set, "zz", NULL, NULL), CR_ERR_ARGUMENT);

    /* A connection to one shard sees that shard's rows only. */
    cr_conn *c = cr_shard_set_connect(set, "b");
    assert_non_null(c);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM shard_customers WHERE region <> 'us'"), 0);
    assert_true(scalar_int(c, "SELECT count(*) FROM shard_customers") > 0);
    cr_conn_close(c);

    /* A set without choosers: key routing refused, fan-out over all. */
    cr_shard_set *bare = cr_shard_set_new(NULL);
    assert_null(cr_shard_set_choose(bare, (cr_value[]){cr_val_text("eu")}, 1));
    assert_int_equal(cr_error_class(cr_shard_set_error(bare)), CR_ERR_INVALID_REQUEST);
    cr_stmt *q = cr_select(SCust_model.table);
    assert_null(cr_shard_set_fetch(bare, q, NULL, 0));   /* no shards */
    assert_int_equal(cr_error_class(cr_shard_set_error(bare)), CR_ERR_INVALID_REQUEST);
    /* An engine the set makes from a URL is the set's to free. */
    ASSERT_OK(cr_shard_set_add_url(bare, "only", urls[0], NULL), cr_shard_set_error(bare));
    cr_rowset *rs = fetch_ok(bare, q, NULL, 0);
    assert_true(cr_rowset_count(rs) > 0);
    assert_string_equal(cr_rowset_shard(rs, 0), "only");
    cr_rowset_free(rs);
    cr_stmt_free(q);
    cr_shard_set_free(bare);
    cr_shard_set_free(set);
}

static void test_fanout_concatenates_in_shard_order(void **state)
{
    (void)state;
    cr_shard_set *set = new_set();
    cr_stmt *q = cr_select(SCust_model.table);
    cr_rowset *rs = fetch_ok(set, q, NULL, 0);
    assert_int_equal(cr_rowset_count(rs), NROWS);
    assert_rows_routed(rs);
    /* Shard order: every row of a, then b, then c. */
    int last = 0;
    for (size_t i = 0; i < cr_rowset_count(rs); i++) {
        int at = cr_rowset_shard(rs, i)[0] - 'a';
        assert_true(at >= last);
        last = at;
    }
    assert_null(cr_rowset_shard(rs, NROWS));
    /* The rows read as any row set's do; a bad column is reported on it. */
    const char *name;
    assert_int_equal(cr_row_text(cr_rowset_row(rs, 0), "nope", &name, NULL), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_row_error(cr_rowset_row(rs, 0))), "nope"));
    cr_rowset_free(rs);

    /* The shards named, in the order named. */
    rs = fetch_ok(set, q, (const char *[]){"c", "a"}, 2);
    assert_true(cr_rowset_count(rs) > 0);
    assert_string_equal(cr_rowset_shard(rs, 0), "c");
    assert_string_equal(cr_rowset_shard(rs, cr_rowset_count(rs) - 1), "a");
    cr_rowset_free(rs);

    /* A name that is no shard; a name twice. */
    assert_null(cr_shard_set_fetch(set, q, (const char *[]){"a", "zz"}, 2));
    assert_non_null(strstr(cr_error_message(cr_shard_set_error(set)), "no shard named 'zz'"));
    assert_null(cr_shard_set_fetch(set, q, (const char *[]){"a", "a"}, 2));
    assert_non_null(strstr(cr_error_message(cr_shard_set_error(set)), "named twice"));
    cr_stmt_free(q);

    /* Aggregates are not merged: a count per shard. */
    q = cr_select_new();
    cr_columns(q, cr_count_star(q));
    cr_select_from(q, SCust_model.table);
    rs = fetch_ok(set, q, NULL, 0);
    assert_int_equal(cr_rowset_count(rs), NSHARDS);
    int64_t sum = 0;
    for (size_t i = 0; i < NSHARDS; i++) {
        int64_t n;
        assert_int_equal(cr_row_int64(cr_rowset_row(rs, i), 0, &n), CR_OK);
        sum += n;
    }
    assert_int_equal(sum, NROWS);
    cr_rowset_free(rs);
    cr_stmt_free(q);
    cr_shard_set_free(set);
}

/* One ORDER BY case: ordered by the given items (id last, for a total
 * order), with limit / offset when >= 0. */
static void check_merge(cr_shard_set *set, const void *const *items, int64_t limit,
                        int64_t offset, const char *what)
{
    cr_stmt *q = cr_select(SCust_model.table);
    cr_order_by_items(q, items);
    if (limit >= 0)
        cr_limit(q, limit);
    if (offset >= 0)
        cr_offset(q, offset);
    assert_null(cr_stmt_error(q));
    char want[1024], got[1024];
    reference_ids(q, want, sizeof want);
    cr_rowset *rs = fetch_ok(set, q, NULL, 0);
    ids_of(rs, got, sizeof got);
    if (strcmp(want, got) != 0)
        print_error("%s (limit %lld offset %lld):\n  one database: %s\n  merged:       %s\n",
                    what, (long long)limit, (long long)offset, want, got);
    assert_string_equal(want, got);
    assert_rows_routed(rs);
    cr_rowset_free(rs);
    /* q is left as it was: the reference gives the same again. */
    char again[1024];
    reference_ids(q, again, sizeof again);
    assert_string_equal(want, again);
    cr_stmt_free(q);
}

static void test_fanout_merges_in_order_by_order(void **state)
{
    (void)state;
    cr_shard_set *set = new_set();
    /* ORDER BY items live in a statement; these are built on a scratch one
     * per case below through the column handles and a holder statement. */
    struct { const char *what; int n; struct { cr_column *col; int how; } k[3]; } cases[] = {
        {"score", 2, {{SCust_model.c.score, 0}, {SCust_model.c.id, 0}}},
        {"score desc", 2, {{SCust_model.c.score, 1}, {SCust_model.c.id, 0}}},
        {"score nulls first", 2, {{SCust_model.c.score, 2}, {SCust_model.c.id, 0}}},
        {"score desc nulls last", 2, {{SCust_model.c.score, 3}, {SCust_model.c.id, 1}}},
        {"name, rank desc", 3, {{SCust_model.c.name, 0}, {SCust_model.c.rank, 1},
                                {SCust_model.c.id, 0}}},
        {"region desc, score", 3, {{SCust_model.c.region, 1}, {SCust_model.c.score, 0},
                                   {SCust_model.c.id, 1}}},
        {"rank", 2, {{SCust_model.c.rank, 0}, {SCust_model.c.id, 0}}},
    };
    const int64_t windows[][2] = {{-1, -1}, {5, -1}, {5, 3}, {-1, 7}, {100, 38}, {3, 50}, {0, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
            /* Orderings are expressions of the statement they are used in:
             * make them on a holder and hand them over as items. */
            cr_stmt *holder = cr_select(SCust_model.table);
            const void *items[4] = {0};
            for (int k = 0; k < cases[c].n; k++) {
                cr_expr *e = (cr_expr *)cases[c].k[k].col;
                int how = cases[c].k[k].how;
                if (how == 1 || how == 3)
                    e = cr_desc(holder, e);
                if (how == 2)
                    e = cr_nulls_first(holder, e);
                if (how == 3)
                    e = cr_nulls_last(holder, e);
                items[k] = e;
            }
            cr_order_by_items(holder, items);
            if (windows[w][0] >= 0)
                cr_limit(holder, windows[w][0]);
            if (windows[w][1] >= 0)
                cr_offset(holder, windows[w][1]);
            char want[1024], got[1024];
            reference_ids(holder, want, sizeof want);
            cr_rowset *rs = fetch_ok(set, holder, NULL, 0);
            ids_of(rs, got, sizeof got);
            if (strcmp(want, got) != 0)
                print_error("%s (limit %lld offset %lld):\n  one database: %s\n  merged:       "
                            "%s\n", cases[c].what, (long long)windows[w][0],
                            (long long)windows[w][1], want, got);
            assert_string_equal(want, got);
            assert_rows_routed(rs);
            cr_rowset_free(rs);
            char again[1024];   /* LIMIT / OFFSET restored on the statement */
            reference_ids(holder, again, sizeof again);
            assert_string_equal(want, again);
            cr_stmt_free(holder);
        }
    /* Plain columns (no ordering node). */
    check_merge(set, (const void *[]){SCust_model.c.name, SCust_model.c.id, NULL}, 6, 4, "name");

    /* A selected expression under a label, ordered by itself. */
    cr_stmt *q = cr_select_new();
    cr_expr *twice = cr_label(q, cr_binary(q, CR_OP_MUL, (cr_expr *)SCust_model.c.id, cr_bind(q, cr_val_int(2))), "twice");
    cr_columns(q, SCust_model.c.id, twice);
    cr_select_from(q, SCust_model.table);
    cr_order_by(q, cr_desc(q, twice));
    cr_limit(q, 4);
    char want[1024], got[1024];
    reference_ids(q, want, sizeof want);
    cr_rowset *rs = fetch_ok(set, q, NULL, 0);
    ids_of(rs, got, sizeof got);
    assert_string_equal(want, got);
    assert_string_equal(got, "40,39,38,37");
    cr_rowset_free(rs);
    cr_stmt_free(q);

    /* A compound: UNION ALL of two selects, ordered by a column of its first. */
    cr_stmt *lo = cr_select(SCust_model.c.id, SCust_model.c.score);
    cr_where(lo, cr_lt(lo, SCust_model.c.id, 10));
    cr_stmt *hi = cr_select(SCust_model.c.id, SCust_model.c.score);
    cr_where(hi, cr_gt(hi, SCust_model.c.id, 30));
    q = cr_union_all(lo, hi);
    cr_order_by(q, cr_desc(q, SCust_model.c.score), SCust_model.c.id);
    cr_limit(q, 7);
    cr_offset(q, 2);
    assert_null(cr_stmt_error(q));
    reference_ids(q, want, sizeof want);
    rs = fetch_ok(set, q, NULL, 0);
    ids_of(rs, got, sizeof got);
    assert_string_equal(want, got);
    assert_int_equal(cr_rowset_count(rs), 7);
    cr_rowset_free(rs);
    cr_stmt_free(q);

    /* An ORDER BY the rows do not hold cannot be merged: said, not guessed. */
    q = cr_select(SCust_model.c.id);
    cr_order_by(q, SCust_model.c.score);
    assert_null(cr_shard_set_fetch(set, q, NULL, 0));
    const cr_error *e = cr_shard_set_error(set);
    assert_int_equal(cr_error_class(e), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(e), "ORDER BY item 1"));
    cr_stmt_free(q);
    cr_shard_set_free(set);
}

static void test_query_chooser_and_where_values(void **state)
{
    (void)state;
    cr_shard_set *set = new_set();
    cr_stmt *q = cr_select(SCust_model.table);
    cr_where(q, cr_eq(q, SCust_model.c.region, "us"));
    cr_where(q, cr_gt(q, SCust_model.c.id, 3));
    cr_value v[4];
    assert_int_equal(cr_stmt_where_values(q, SCust_model.c.region, v, 4), 1);
    assert_int_equal(v[0].type, CR_TEXT);
    assert_int_equal(cr_stmt_where_values(q, SCust_model.c.name, v, 4), 0);
    cr_rowset *rs = fetch_ok(set, q, NULL, 0);
    assert_true(cr_rowset_count(rs) > 0);
    for (size_t i = 0; i < cr_rowset_count(rs); i++)
        assert_string_equal(cr_rowset_shard(rs, i), "b");
    cr_rowset_free(rs);
    cr_stmt_free(q);

    /* IN: two shards; the count written is capped, the count returned not. */
    q = cr_select(SCust_model.table);
    cr_where(q, cr_in_values(q, (cr_expr *)SCust_model.c.region,
                             (cr_value[]){cr_val_text("asia"), cr_val_text("eu")}, 2));
    assert_int_equal(cr_stmt_where_values(q, SCust_model.c.region, v, 1), 2);
    cr_order_by(q, SCust_model.c.id);
    char want[1024], got[1024];
    reference_ids(q, want, sizeof want);
    rs = fetch_ok(set, q, NULL, 0);
    ids_of(rs, got, sizeof got);
    assert_string_equal(want, got);
    for (size_t i = 0; i < cr_rowset_count(rs); i++)
        assert_true(strcmp(cr_rowset_shard(rs, i), "b") != 0);
    cr_rowset_free(rs);
    cr_stmt_free(q);

    /* Under OR nothing is pinned: every shard. */
    q = cr_select(SCust_model.table);
    cr_where(q, cr_or(q, cr_eq(q, SCust_model.c.region, "us"), cr_eq(q, SCust_model.c.id, 2)));
    assert_int_equal(cr_stmt_where_values(q, SCust_model.c.region, v, 4), 0);
    rs = fetch_ok(set, q, NULL, 0);
    assert_int_equal(cr_rowset_count(rs), 14 + 1);   /* the us rows, and id 2 (asia) */
    cr_rowset_free(rs);
    cr_stmt_free(q);

    /* The query chooser naming no shard. */
    q = cr_select(SCust_model.table);
    cr_where(q, cr_eq(q, SCust_model.c.region, "mars"));
    assert_null(cr_shard_set_fetch(set, q, NULL, 0));
    assert_int_equal(cr_error_class(cr_shard_set_error(set)), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_shard_set_error(set)), "query chooser returned 'mars'"));
    cr_stmt_free(q);

    /* Not a SELECT; a shard's own error carries its name. */
    q = cr_delete(SCust_model.table);
    assert_null(cr_shard_set_fetch(set, q, NULL, 0));
    assert_int_equal(cr_error_class(cr_shard_set_error(set)), CR_ERR_ARGUMENT);
    cr_stmt_free(q);
    cr_conn *c = cr_shard_set_connect(set, "b");
    exec_ok(c, "DROP TABLE shard_orders");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    q = cr_select(SOrder_model.table);
    assert_null(cr_shard_set_fetch(set, q, NULL, 0));
    const cr_error *e = cr_shard_set_error(set);
    assert_true(cr_error_class(e) == CR_ERR_PROGRAMMING || cr_error_class(e) == CR_ERR_OPERATIONAL);
    assert_non_null(strstr(cr_error_message(e), "shard 'b': "));
    /* A failed write on one shard: rolled back, reported with its name. */
    cr_stmt *ins = cr_insert(SOrder_model.table);
    cr_set(ins, SOrder_model.c.id, 1);
    assert_int_not_equal(cr_shard_set_exec(set, "b", ins, NULL), CR_OK);
    assert_non_null(strstr(cr_error_message(cr_shard_set_error(set)), "shard 'b': "));
    ASSERT_OK(cr_shard_set_exec(set, "a", ins, NULL), cr_shard_set_error(set));
    cr_stmt_free(ins);
    cr_stmt_free(q);
    cr_shard_set_free(set);
}

/* ---- the sharded session ---- */

static SCust *new_customer(int id, const char *region, const char *name, int score)
{
    SCust *c = cr_new(SCust);
    assert_non_null(c);
    c->id = id;
    cr_field_set_text(c, region, region);
    cr_field_set_text(c, name, name);
    c->score = score;
    return c;
}

static SOrder *new_order(int id, const char *item)
{
    SOrder *o = cr_new(SOrder);
    assert_non_null(o);
    o->id = id;
    cr_field_set_text(o, item, item);
    return o;
}

/* How many rows of table the named shard holds where `where`. */
static int64_t shard_count(cr_shard_set *set, const char *shard, const char *sql)
{
    cr_conn *c = cr_shard_set_connect(set, shard);
    assert_non_null(c);
    int64_t n = scalar_int(c, sql);
    cr_conn_close(c);
    return n;
}

static void test_session_routes_and_flushes_to_shards(void **state)
{
    (void)state;
    cr_shard_set *set = new_set();
    cr_shard_session *ss = cr_shard_session_new(set, NULL);
    assert_non_null(ss);

    SCust *eu = new_customer(101, "eu", "Ada", 5);
    SCust *asia = new_customer(102, "asia", "Lin", 6);
    cr_append(eu, orders, new_order(1001, "book"));
    cr_append(asia, orders, new_order(1002, "tea"));
    cr_append(asia, orders, new_order(1003, "cup"));
    ASSERT_OK(cr_shard_session_add(ss, eu), cr_shard_session_error(ss));
    ASSERT_OK(cr_shard_session_add(ss, asia), cr_shard_session_error(ss));
    assert_string_equal(cr_shard_session_object_shard(ss, eu), "a");
    assert_string_equal(cr_shard_session_object_shard(ss, asia), "c");
    /* The orders joined their customer's shard (the save-update cascade). */
    assert_string_equal(cr_shard_session_object_shard(ss, asia->orders.items[1]), "c");

    /* The same key on two shards: two objects. */
    SCust *twin_a = new_customer(500, "us", "twin a", 1);
    SCust *twin_b = new_customer(500, "us", "twin b", 2);
    ASSERT_OK(cr_shard_session_add_to(ss, "a", twin_a), cr_shard_session_error(ss));
    ASSERT_OK(cr_shard_session_add_to(ss, "b", twin_b), cr_shard_session_error(ss));
    ASSERT_OK(cr_shard_session_commit(ss), cr_shard_session_error(ss));
    assert_int_equal(shard_count(set, "a", "SELECT count(*) FROM shard_customers WHERE id IN (101, 500)"), 2);
    assert_int_equal(shard_count(set, "a", "SELECT count(*) FROM shard_orders WHERE id = 1001"), 1);
    assert_int_equal(shard_count(set, "c", "SELECT count(*) FROM shard_orders WHERE customer_id = 102"), 2);
    assert_int_equal(shard_count(set, "b", "SELECT count(*) FROM shard_customers WHERE id = 500"), 1);
    assert_int_equal(shard_count(set, "b", "SELECT count(*) FROM shard_customers WHERE id IN (101, 102)"), 0);
    assert_int_equal(shard_count(set, "c", "SELECT count(*) FROM shard_orders WHERE id = 1001"), 0);

    /* get by the id chooser's order: a first, then b. */
    id_calls = 0;
    SCust *got = cr_shard_session_get(ss, SCust, 500);
    assert_ptr_equal(got, twin_a);
    assert_int_equal(id_calls, 1);
    id_order[0] = "b", id_order[1] = "a";
    assert_ptr_equal(cr_shard_session_get(ss, SCust, 500), twin_b);
    assert_string_equal(twin_b->name, "twin b");
    id_order[0] = "a", id_order[1] = "b";
    assert_null(cr_shard_session_get(ss, SCust, 999999));
    assert_null(cr_shard_session_error(ss));
    assert_ptr_equal(cr_shard_session_get(ss, SCust, 102), asia);

    /* Loaded objects flush back to their own shard. */
    twin_b->score = 77;
    ASSERT_OK(cr_shard_session_commit(ss), cr_shard_session_error(ss));
    assert_int_equal(shard_count(set, "b", "SELECT score FROM shard_customers WHERE id = 500"), 77);
    assert_int_equal(shard_count(set, "a", "SELECT score FROM shard_customers WHERE id = 500"), 1);

    /* Delete on its shard. */
    ASSERT_OK(cr_shard_session_delete(ss, twin_a), cr_shard_session_error(ss));
    ASSERT_OK(cr_shard_session_commit(ss), cr_shard_session_error(ss));
    assert_int_equal(shard_count(set, "a", "SELECT count(*) FROM shard_customers WHERE id = 500"), 0);
    assert_int_equal(shard_count(set, "b", "SELECT count(*) FROM shard_customers WHERE id = 500"), 1);

    /* Bad input. */
    SCust *lost = new_customer(103, "mars", "X", 0);
    assert_int_equal(cr_shard_session_add(ss, lost), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_shard_session_error(ss)),
                           "object chooser returned 'mars'"));
    assert_int_equal(cr_object_state_of(lost), CR_STATE_TRANSIENT);
    assert_int_equal(cr_shard_session_add_to(ss, "zz", lost), CR_ERR_ARGUMENT);
    assert_int_equal(cr_shard_session_add_to(ss, "b", asia), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_shard_session_error(ss)), "belongs to shard 'c'"));
    cr_object plain = {0};   /* a struct no model made */
    assert_int_equal(cr_shard_session_add(ss, &plain), CR_ERR_UNMAPPED_INSTANCE);
    assert_int_equal(cr_shard_session_delete(ss, lost), CR_ERR_INVALID_REQUEST);
    assert_null(cr_shard_session_shard(ss, "zz"));
    assert_non_null(cr_shard_session_shard(ss, "c"));
    cr_object_free(lost);

    /* A failing flush names its shard; rollback clears it. */
    SCust *dup = new_customer(3, "eu", "dup", 0);   /* a row of shard a not loaded */
    ASSERT_OK(cr_shard_session_add(ss, dup), cr_shard_session_error(ss));
    assert_int_equal(cr_shard_session_commit(ss), CR_ERR_INTEGRITY);
    assert_non_null(strstr(cr_error_message(cr_shard_session_error(ss)), "shard 'a': "));
    ASSERT_OK(cr_shard_session_rollback(ss), cr_shard_session_error(ss));

    /* An order of one shard put under a customer of another: refused, not
     * written to either. */
    SOrder *stray = new_order(2001, "stray");
    ASSERT_OK(cr_shard_session_add_to(ss, "b", stray), cr_shard_session_error(ss));
    SCust *ada = cr_shard_session_get(ss, SCust, 101);
    assert_non_null(ada);
    cr_status st = cr_append(ada, orders, stray);
    if (st == CR_OK)
        st = cr_shard_session_commit(ss);
    print_message("cross-shard relationship: %s: %s\n", cr_status_name(st),
                  cr_error_message(cr_session_error(cr_shard_session_shard(ss, "a"))));
    assert_int_not_equal(st, CR_OK);
    ASSERT_OK(cr_shard_session_rollback(ss), cr_shard_session_error(ss));
    assert_int_equal(shard_count(set, "a", "SELECT count(*) FROM shard_orders WHERE id = 2001"), 0);
    assert_int_equal(shard_count(set, "b", "SELECT count(*) FROM shard_orders WHERE id = 2001"), 0);
    cr_shard_session_free(ss);
    cr_shard_set_free(set);
}

static void test_session_query_fans_out(void **state)
{
    (void)state;
    cr_shard_set *set = new_set();
    cr_shard_session *ss = cr_shard_session_new(set, NULL);
    assert_non_null(ss);

    /* Ordered: the objects in the order the one database gives the rows. */
    cr_stmt *q = cr_select_model(SCust);
    cr_order_by(q, cr_desc(q, SCust_model.c.score), SCust_model.c.id);
    cr_limit(q, 12);
    cr_offset(q, 5);
    char want[1024], got[1024] = "";
    reference_ids(q, want, sizeof want);
    cr_objects *list = cr_shard_session_all(ss, q, NULL, 0);
    if (!list)
        print_error("all: %s\n", cr_error_message(cr_shard_session_error(ss)));
    assert_non_null(list);
    assert_int_equal(list->count, 12);
    size_t n = 0;
    CR_FOR_EACH(SCust, c, list) {
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%lld", n ? "," : "", (long long)c->id);
        assert_string_equal(cr_shard_session_object_shard(ss, c),
                            region_name(c->region, strlen(c->region)));
    }
    assert_string_equal(want, got);
    size_t loaded = cr_shard_session_identity_count(ss);
    assert_true(loaded >= 12);
    cr_objects_free(list);

    /* Again: the same objects from each shard's identity map. */
    list = cr_shard_session_all(ss, q, NULL, 0);
    assert_non_null(list);
    assert_int_equal(cr_shard_session_identity_count(ss), loaded);
    cr_objects_free(list);
    cr_stmt_free(q);

    /* The query chooser: one shard only. */
    q = cr_select_model(SCust);
    cr_where(q, cr_eq(q, SCust_model.c.region, "asia"));
    list = cr_shard_session_all(ss, q, NULL, 0);
    assert_non_null(list);
    assert_int_equal(list->count, 13);   /* ids 2, 5, ..., 38 */
    CR_FOR_EACH(SCust, c, list)
        assert_string_equal(cr_shard_session_object_shard(ss, c), "c");

    /* Relationships load from the parent's shard. */
    SCust *c0 = list->items[0];
    long long c0_id = (long long)c0->id;
    cr_objects_free(list);
    cr_stmt_free(q);
    /* (End the session's read transactions first: a SQLite reader would
     * hold off the writes below.) */
    ASSERT_OK(cr_shard_session_rollback(ss), cr_shard_session_error(ss));
    cr_conn *conn = cr_shard_set_connect(set, "c");
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT INTO shard_orders (id, customer_id, item) VALUES (7, %lld, 'c-side')",
             c0_id);
    exec_ok(conn, sql);
    ASSERT_OK(cr_conn_commit(conn), cr_conn_error(conn));
    cr_conn_close(conn);
    conn = cr_shard_set_connect(set, "a");   /* the same order id on shard a, another customer */
    exec_ok(conn, "INSERT INTO shard_orders (id, customer_id, item) VALUES (7, 3, 'a-side')");
    ASSERT_OK(cr_conn_commit(conn), cr_conn_error(conn));
    cr_conn_close(conn);
    ASSERT_OK(cr_load(c0, orders), cr_session_error(cr_shard_session_shard(ss, "c")));
    assert_int_equal(c0->orders.count, 1);
    SOrder *o = c0->orders.items[0];
    assert_string_equal(o->item, "c-side");
    assert_string_equal(cr_shard_session_object_shard(ss, o), "c");
    /* ... and the many-to-one back from the order, in shard c's map. */
    assert_ptr_equal(o->customer, c0);
    SOrder *oa = cr_shard_session_get(ss, SOrder, 7);   /* a first: a's order 7 */
    assert_non_null(oa);
    assert_string_equal(oa->item, "a-side");
    assert_ptr_not_equal(oa, o);
    ASSERT_OK(cr_load(oa, customer), cr_session_error(cr_shard_session_shard(ss, "a")));
    assert_non_null(oa->customer);
    assert_int_equal(oa->customer->id, 3);
    assert_string_equal(cr_shard_session_object_shard(ss, oa->customer), "a");

    /* The shards named; an ORDER BY not of the model's table. */
    q = cr_select_model(SCust);
    list = cr_shard_session_all(ss, q, (const char *[]){"b"}, 1);
    assert_non_null(list);
    CR_FOR_EACH(SCust, c, list)
        assert_string_equal(c->region, "us");
    cr_objects_free(list);
    cr_order_by(q, SOrder_model.c.id);
    assert_null(cr_shard_session_all(ss, q, NULL, 0));
    assert_int_equal(cr_error_class(cr_shard_session_error(ss)), CR_ERR_INVALID_REQUEST);
    cr_stmt_free(q);
    q = cr_select(SCust_model.c.id);   /* no model */
    assert_null(cr_shard_session_all(ss, q, NULL, 0));
    assert_int_equal(cr_error_class(cr_shard_session_error(ss)), CR_ERR_ARGUMENT);
    cr_stmt_free(q);
    cr_shard_session_free(ss);
    cr_shard_set_free(set);
}

/* ---- the shards: files or databases ---- */

/* The server's databases this suite makes: the shards', and on MySQL the
 * one holding every row too (the test database's collation is not binary:
 * see make_shards). */
static size_t ndbs;

static void admin_exec(cr_conn *c, const char *sql, bool must)
{
    if (cr_conn_exec(c, sql, NULL) && must) {
        fprintf(stderr, "%s: %s\n", sql, cr_error_message(cr_conn_error(c)));
        exit(1);
    }
}

static void make_shards(void)
{
    cr_error *err = NULL;
    const char *all_url = backend_url;
    static char all_db_url[600];
    if (is_sqlite()) {
        snprintf(sqlite_dir, sizeof sqlite_dir, "%s/crucible-shards-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(sqlite_dir)) {
            perror("mkdtemp");
            exit(1);
        }
        for (size_t i = 0; i < NSHARDS; i++)
            snprintf(urls[i], sizeof urls[i], "sqlite:///%s/shard_%s.db", sqlite_dir,
                     shard_names[i]);
    } else {
        /* Databases beside the test's own on the same server (the test user
         * may make crucible_shard_*: scripts/test-servers.sh). */
        admin = cr_create_engine(backend_url, &(cr_engine_options){.isolation_level = "AUTOCOMMIT"},
                                 &err);
        cr_conn *c = admin ? cr_engine_connect(admin, &err) : NULL;
        if (!c) {
            fprintf(stderr, "admin connection: %s\n", cr_error_message(err));
            exit(1);
        }
        const char *slash = strrchr(backend_url, '/');
        const char *query = strchr(slash, '?');
        /* MySQL's default collations fold case, and the merge compares text
         * bytewise (as the header says): binary collation on every database
         * compared, the one holding all rows included. */
        ndbs = is_mysql() ? NSHARDS + 1 : NSHARDS;
        for (size_t i = 0; i < ndbs; i++) {
            snprintf(pg_db[i], sizeof pg_db[i], "crucible_shard_%ld_%s", (long)getpid(),
                     i < NSHARDS ? shard_names[i] : "all");
            char sql[200];
            snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", pg_db[i]);
            admin_exec(c, sql, false);
            snprintf(sql, sizeof sql, "CREATE DATABASE %s%s", pg_db[i],
                     is_mysql() ? " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" : "");
            admin_exec(c, sql, true);
            char *url = i < NSHARDS ? urls[i] : all_db_url;
            snprintf(url, sizeof urls[0], "%.*s/%s%s", (int)(slash - backend_url), backend_url,
                     pg_db[i], query ? query : "");
        }
        if (ndbs > NSHARDS)
            all_url = all_db_url;
        cr_conn_close(c);
    }
    for (size_t i = 0; i < NSHARDS; i++)
        if (!(shard_engines[i] = cr_create_engine(urls[i], NULL, &err))) {
            fprintf(stderr, "shard engine %s: %s\n", urls[i], cr_error_message(err));
            exit(1);
        }
    if (!(all_engine = cr_create_engine(all_url, NULL, &err))) {
        fprintf(stderr, "engine: %s\n", cr_error_message(err));
        exit(1);
    }
}

/* After the engines are freed (PostgreSQL drops no database in use). */
static void drop_shards(void)
{
    if (is_sqlite()) {
        for (size_t i = 0; i < NSHARDS; i++) {
            char path[700];
            snprintf(path, sizeof path, "%s/shard_%s.db", sqlite_dir, shard_names[i]);
            unlink(path);
        }
        rmdir(sqlite_dir);
        return;
    }
    cr_error *err = NULL;
    cr_conn *c = cr_engine_connect(admin, &err);
    for (size_t i = 0; c && i < ndbs; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", pg_db[i]);
        if (cr_conn_exec(c, sql, NULL))
            fprintf(stderr, "%s: %s\n", sql, cr_error_message(cr_conn_error(c)));
    }
    if (!c)
        fprintf(stderr, "dropping the shards' databases: %s\n", cr_error_message(err));
    cr_conn_close(c);
    cr_error_free(err);
    cr_engine_free(admin);
}

static int group_teardown(void **state)
{
    (void)state;
    cr_error *err = NULL;
    cr_metadata_drop_all_engine(md, all_engine, true, &err);
    cr_error_free(err);
    return 0;
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    md = cr_metadata_new(NULL);
    if (!md || SCust_define(md) || SOrder_define(md) || cr_metadata_configure(md)) {
        fprintf(stderr, "models: %s\n", md ? cr_error_message(cr_metadata_error(md)) : "no memory");
        return 1;
    }
    make_shards();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_set_and_choosers, setup),
        cmocka_unit_test_setup(test_fanout_concatenates_in_shard_order, setup),
        cmocka_unit_test_setup(test_fanout_merges_in_order_by_order, setup),
        cmocka_unit_test_setup(test_query_chooser_and_where_values, setup),
        cmocka_unit_test_setup(test_session_routes_and_flushes_to_shards, setup),
        cmocka_unit_test_setup(test_session_query_fans_out, setup),
    };
    int failed = HARNESS_RUN("shards", NULL, tests, group_teardown);
    for (size_t i = 0; i < NSHARDS; i++)
        cr_engine_free(shard_engines[i]);
    cr_engine_free(all_engine);
    drop_shards();
    cr_metadata_free(md);
    harness_cleanup();
    return failed ? 1 : 0;
}
