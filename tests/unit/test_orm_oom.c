/* test_orm_oom.c — out of memory at every allocation of an ORM workload on embedded SQLite (add,
 * flush, update, query, delete, commit): each failure comes back as an error, the session
 * stays consistent, nothing crashes, nothing leaks (ASan's leak check). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"

#include <stdio.h>
#include <string.h>

#define MAX_ITERATIONS 5000

#define ITEM(F)                                                                        \
    F(id,    INTEGER,    .primary_key = true)                                          \
    F(name,  STRING(40), .nullable = CR_NO)                                            \
    F(qty,   INTEGER)                                                                  \
    F(note,  TEXT)
CR_MODEL(Item, "items", ITEM)

/* A step of the workload failed: it must say out of memory. */
static void check_failure(cr_session *s, cr_status st, const char *step)
{
    const cr_error *e = cr_session_error(s);
    if (st != CR_ERR_NO_MEMORY || !e || cr_error_class(e) != CR_ERR_NO_MEMORY)
        print_error("step %s: %s (%s)\n", step, cr_status_name(st),
                    e ? cr_error_message(e) : "no error on the session");
    assert_int_equal(st, CR_ERR_NO_MEMORY);
}

#define STEP(name, call)                                                                   \
    do {                                                                                   \
        cr_status st_ = (call);                                                            \
        if (st_ != CR_OK) {                                                                \
            check_failure(s, st_, name);                                                   \
            goto done;                                                                     \
        }                                                                                  \
    } while (0)

/* One run; true when it went through to the end. */
static bool workload(cr_engine *engine, bool *never_failed)
{
    bool finished = false;
    *never_failed = false;
    cr_session *s = cr_session_new(engine, NULL);
    if (!s) {
        cr_mem_fail_disarm();
        return false;
    }
    Item *a = cr_new(Item), *b = cr_new(Item);
    if (!a || !b) {
        cr_mem_fail_disarm();
        cr_object_free(a);
        cr_object_free(b);
        cr_session_free(s);
        return false;
    }
    a->name = "first";
    a->qty = 1;
    b->name = "second";
    if (cr_field_set_text(b, note, "a note of the program's") != CR_OK)
        goto done;   /* CR_ERR_NO_MEMORY: the object keeps its NULL */
    STEP("add_all", cr_session_add_all(s, CR_OBJS(a, b)));
    STEP("flush", cr_session_flush(s));
    a->qty = 2;
    if (cr_field_set_text(a, note, "changed") != CR_OK)
        goto done;
    STEP("flush", cr_session_flush(s));
    cr_stmt *q = cr_session_query(s, Item);
    if (!q)
        goto done;
    cr_filter(q, cr_gt(q, Item_model.c.qty, 0));
    cr_objects *list = cr_query_all(q);
    cr_stmt_free(q);
    if (!list) {
        check_failure(s, cr_error_class(cr_session_error(s)), "query");
        goto done;
    }
    assert_int_equal(list->count, 1);
    assert_ptr_equal(list->items[0], a);
    cr_objects_free(list);
    STEP("delete", cr_session_delete(s, b));
    STEP("commit", cr_session_commit(s));
    Item *got = cr_session_get(s, Item, a->id);
    if (!got) {
        check_failure(s, cr_error_class(cr_session_error(s)), "get");
        goto done;
    }
    assert_string_equal(got->note, "changed");
    finished = true;
done:
    *never_failed = cr_mem_fail_disarm();
    cr_session_rollback(s);
    /* Objects never added are the program's; the others the session's. */
    cr_object_free(a);
    cr_object_free(b);
    cr_session_free(s);
    return finished;
}

static void test_orm_oom_sweep(void **state)
{
    (void)state;
    cr_engine *engine = cr_create_engine("sqlite://", NULL, NULL);
    assert_non_null(engine);
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    assert_int_equal(Item_define(md), CR_OK);
    cr_conn *c = cr_engine_connect(engine, NULL);
    assert_non_null(c);
    assert_int_equal(cr_metadata_create_all(md, c, false), CR_OK);
    assert_int_equal(cr_conn_commit(c), CR_OK);
    int n;
    for (n = 0; n < MAX_ITERATIONS; n++) {
        assert_int_equal(cr_conn_exec(c, "DELETE FROM items", NULL), CR_OK);
        assert_int_equal(cr_conn_commit(c), CR_OK);
        cr_mem_fail_after(n);
        bool never_failed;
        bool finished = workload(engine, &never_failed);
        if (finished && never_failed)
            break;
    }
    print_message("workload done after %d allocation failures\n", n);
    assert_true(n > 20 && n < MAX_ITERATIONS);
    /* Without failures the workload leaves one row. */
    assert_int_equal(cr_conn_exec(c, "DELETE FROM items", NULL), CR_OK);
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(engine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orm_oom_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
