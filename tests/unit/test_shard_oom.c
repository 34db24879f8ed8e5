/* test_shard_oom.c — out of memory at every allocation of a sharded workload on two embedded SQLite shards (fan-out merge with LIMIT/OFFSET, concatenation, the sharded session's add, commit, query and get): each failure comes back as an error, nothing crashes, nothing leaks (ASan's leak check). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"

#include <stdio.h>
#include <string.h>

#define MAX_ITERATIONS 5000

#define CUST(F)                                                                        \
    F(id,     INTEGER,    .primary_key = true, .autoincrement = CR_NO)                 \
    F(region, STRING(10), .nullable = CR_NO)                                           \
    F(score,  INTEGER)
CR_MODEL(Cust, "custs", CUST)

static const char *by_region(void *ud, const cr_mapper *m, const void *obj)
{
    (void)ud, (void)m;
    return strcmp(((const Cust *)obj)->region, "eu") == 0 ? "eu" : "us";
}

/* One run; true when every step succeeded. A step that fails must fail
 * with an error on the handle it was made on. */
static bool workload(cr_shard_set *set, bool *never_failed)
{
    bool finished = false;
    cr_shard_session *ss = NULL;
    cr_rowset *rs = NULL;
    cr_objects *list = NULL;
    Cust *c = NULL;
    cr_stmt *q = cr_select(Cust_model.table);
    if (!q)
        goto done;
    cr_order_by(q, cr_desc(q, Cust_model.c.score), Cust_model.c.id);
    cr_limit(q, 3);
    cr_offset(q, 2);
    if (cr_stmt_error(q))
        goto done;
    if (!(rs = cr_shard_set_fetch(set, q, NULL, 0))) {
        assert_non_null(cr_shard_set_error(set));
        goto done;
    }
    assert_int_equal(cr_rowset_count(rs), 3);
    cr_rowset_free(rs);
    if (!(rs = cr_shard_set_fetch(set, q, (const char *[]){"us", "eu"}, 2))) {
        assert_non_null(cr_shard_set_error(set));
        goto done;
    }
    cr_rowset_free(rs);
    rs = NULL;
    if (!(ss = cr_shard_session_new(set, NULL)) || !(c = cr_new(Cust)))
        goto done;
    c->id = 100;
    c->score = 9;
    if (cr_field_set_text(c, region, "eu"))
        goto done;
    cr_status st = cr_shard_session_add(ss, c);
    if (st) {
        assert_non_null(cr_shard_session_error(ss));
        goto done;
    }
    c = NULL;   /* the session's now */
    if (cr_shard_session_commit(ss)) {
        assert_non_null(cr_shard_session_error(ss));
        goto done;
    }
    if (!(list = cr_shard_session_all(ss, q, NULL, 0))) {
        assert_non_null(cr_shard_session_error(ss));
        goto done;
    }
    assert_int_equal(list->count, 3);
    Cust *got = cr_shard_session_get(ss, Cust, 100);
    if (!got) {
        assert_non_null(cr_shard_session_error(ss));
        goto done;
    }
    assert_string_equal(cr_shard_session_object_shard(ss, got), "eu");
    finished = true;
done:
    *never_failed = cr_mem_fail_disarm();
    cr_objects_free(list);
    cr_object_free(c);
    cr_shard_session_free(ss);
    cr_stmt_free(q);
    return finished;
}

static void test_shard_oom_sweep(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    assert_int_equal(Cust_define(md), CR_OK);
    cr_shard_set *set = cr_shard_set_new(&(cr_shard_choosers){.object = by_region});
    assert_non_null(set);
    const char *names[2] = {"eu", "us"};
    cr_conn *conns[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cr_shard_set_add_url(set, names[i], "sqlite://", NULL), CR_OK);
        conns[i] = cr_shard_set_connect(set, names[i]);
        assert_non_null(conns[i]);
        assert_int_equal(cr_metadata_create_all(md, conns[i], false), CR_OK);
        for (int k = 0; k < 5; k++) {
            char sql[120];
            snprintf(sql, sizeof sql, "INSERT INTO custs VALUES (%d, '%s', %d)", k + 1,
                     names[i], (k * 3 + i) % 4);
            assert_int_equal(cr_conn_exec(conns[i], sql, NULL), CR_OK);
        }
        assert_int_equal(cr_conn_commit(conns[i]), CR_OK);
    }
    int n;
    for (n = 0; n < MAX_ITERATIONS; n++) {
        for (int i = 0; i < 2; i++) {
            assert_int_equal(cr_conn_exec(conns[i], "DELETE FROM custs WHERE id = 100", NULL),
                             CR_OK);
            assert_int_equal(cr_conn_commit(conns[i]), CR_OK);
        }
        cr_mem_fail_after(n);
        bool never_failed;
        bool finished = workload(set, &never_failed);
        if (never_failed) {
            assert_true(finished);   /* without a failure the workload goes through */
            break;
        }
    }
    print_message("shard workload done after %d allocation failures\n", n);
    assert_true(n > 20 && n < MAX_ITERATIONS);
    for (int i = 0; i < 2; i++)
        cr_conn_close(conns[i]);
    cr_shard_set_free(set);
    cr_metadata_free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shard_oom_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
