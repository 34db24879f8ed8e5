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

#define PARENT(F)                                                                      \
    F(id,    INTEGER,    .primary_key = true)                                          \
    F(name,  STRING(40))
#define PARENT_RELS(R)                                                                 \
    R(kids, MANY(Kid), .back_populates = "parent", .cascade = "all, delete-orphan",    \
                       .order_by = "id")                                               \
    R(tags, MANY(Label), .secondary = "parent_labels")
CR_MODEL(Parent, "parents", PARENT, PARENT_RELS)

#define KID(F)                                                                         \
    F(id,        INTEGER,    .primary_key = true)                                      \
    F(parent_id, INTEGER,    .foreign_key = "parents.id")                              \
    F(name,      STRING(40))
#define KID_RELS(R) R(parent, ONE(Parent))
CR_MODEL(Kid, "kids", KID, KID_RELS)

#define LABEL(F)                                                                       \
    F(id,    INTEGER,    .primary_key = true)                                          \
    F(name,  STRING(40))
CR_MODEL(Label, "labels", LABEL)

#define PARENT_LABELS(F)                                                               \
    F(parent_id, INTEGER, .foreign_key = "parents.id")                                 \
    F(label_id,  INTEGER, .foreign_key = "labels.id")
CR_DECLARE_TABLE(ParentLabels, PARENT_LABELS)

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

/* The relationship workload: a parent with two kids and a label, added by
 * cascade; a selectin load; joined loads; a kid removed (delete-orphan);
 * commits. */
static bool rel_workload(cr_engine *engine, bool *never_failed)
{
    bool finished = false;
    *never_failed = false;
    cr_session *s = cr_session_new(engine, NULL);
    Parent *p = cr_new(Parent);
    Kid *k1 = cr_new(Kid), *k2 = cr_new(Kid);
    Label *l = cr_new(Label);
    bool added = false;
    if (!s || !p || !k1 || !k2 || !l)
        goto done;
    p->name = "p";
    k1->name = "k1";
    k2->name = "k2";
    l->name = "l";
    cr_status st;
    if ((st = cr_append(p, kids, k1)) || (st = cr_append(p, kids, k2)) ||
        (st = cr_append(p, tags, l))) {
        assert_int_equal(st, CR_ERR_NO_MEMORY);
        goto done;
    }
    st = cr_session_add(s, p);
    added = true;   /* some or all of them are the session's now */
    if (st) {
        check_failure(s, st, "add");
        goto done;
    }
    STEP("commit", cr_session_commit(s));
    cr_stmt *q = cr_session_query(s, Parent);
    if (!q)
        goto done;
    cr_selectinload(q, Parent_model.r.kids);
    cr_objects *list = cr_query_all(q);
    cr_stmt_free(q);
    if (!list) {
        check_failure(s, cr_error_class(cr_session_error(s)), "query");
        goto done;
    }
    assert_int_equal(list->count, 1);
    Parent *again = list->items[0];
    cr_objects_free(list);
    assert_ptr_equal(again, p);
    assert_int_equal(p->kids.count, 2);
    /* joined loads under first() (LIMIT 1: the parent in a subquery), one
     * through the secondary table, and an any() filter */
    STEP("expire", cr_session_expire_all(s));
    if (!(q = cr_session_query(s, Parent)))
        goto done;
    cr_filter(q, cr_any(q, Parent_model.r.kids, cr_eq(q, Kid_model.c.name, "k2")));
    cr_joinedload(q, Parent_model.r.kids);
    cr_joinedload(q, Parent_model.r.tags);
    again = cr_query_first(q);
    cr_stmt_free(q);
    if (!again) {
        check_failure(s, cr_error_class(cr_session_error(s)), "joined first");
        goto done;
    }
    assert_ptr_equal(again, p);
    assert_int_equal(p->kids.count, 2);
    assert_int_equal(p->tags.count, 1);
    STEP("remove", cr_remove(p, kids, k1));
    STEP("commit", cr_session_commit(s));
    finished = true;
done:
    *never_failed = cr_mem_fail_disarm();
    cr_session_rollback(s);
    if (!added) {
        cr_object_free(p);
        cr_object_free(k1);
        cr_object_free(k2);
        cr_object_free(l);
    } else {
        /* What the cascade did not reach before failing is the program's;
         * cr_object_free leaves alone what the session owns. */
        void *objs[] = {p, k1, k2, l};
        for (size_t i = 0; i < 4; i++)
            (void)cr_object_free(objs[i]);
    }
    cr_session_free(s);
    return finished;
}

/* The cascades of expire, refresh, merge and expunge: a parent with two
 * kids, committed (kept loaded), expired, refreshed, its kids loaded again,
 * merged into a second session, expunged. */
static bool cascade_workload(cr_engine *engine, bool *never_failed)
{
    static const cr_session_options keep = {.expire_on_commit = CR_NO};
    bool finished = false, added = false;
    *never_failed = false;
    cr_session *s = cr_session_new(engine, &keep), *s2 = NULL;
    Parent *p = cr_new(Parent);
    Kid *k1 = cr_new(Kid), *k2 = cr_new(Kid);
    if (!s || !p || !k1 || !k2)
        goto done;
    p->name = "p";
    k1->name = "k1";
    k2->name = "k2";
    cr_status st;
    if ((st = cr_append(p, kids, k1)) || (st = cr_append(p, kids, k2))) {
        assert_int_equal(st, CR_ERR_NO_MEMORY);
        goto done;
    }
    st = cr_session_add(s, p);
    added = true;
    if (st) {
        check_failure(s, st, "add");
        goto done;
    }
    STEP("commit", cr_session_commit(s));
    STEP("expire", cr_session_expire(s, p));
    STEP("refresh", cr_session_refresh(s, p));
    STEP("load", cr_load(p, kids));
    STEP("commit", cr_session_commit(s));   /* the connection goes back */
    if (!(s2 = cr_session_new(engine, NULL)))
        goto done;
    Parent *copy = cr_session_merge(s2, p);
    if (!copy) {
        check_failure(s2, cr_error_class(cr_session_error(s2)), "merge");
        goto done;
    }
    assert_int_equal(copy->kids.count, 2);
    assert_ptr_equal(((Kid *)copy->kids.items[1])->parent, copy);
    STEP("expunge", cr_session_expunge(s, p));
    assert_int_equal(cr_object_state_of(k2), CR_STATE_DETACHED);
    finished = true;
done:
    *never_failed = cr_mem_fail_disarm();
    cr_session_free(s2);
    cr_session_rollback(s);
    /* What the session does not own (never added, or expunged) is freed
     * here; cr_object_free leaves the session's alone. */
    void *objs[] = {p, k1, k2};
    for (size_t i = 0; i < 3; i++)
        if (!added || cr_object_state_of(objs[i]) != CR_STATE_PERSISTENT)
            (void)cr_object_free(objs[i]);
    cr_session_free(s);
    return finished;
}

/* Run the workload with the n-th allocation failing, n = 0, 1, ... until a
 * run goes through with no failure left to inject; the tables are cleared
 * (clear: statements) before each run. */
static void sweep(cr_engine *engine, cr_conn *c, const char *const *clear,
                  bool (*run)(cr_engine *, bool *), const char *what)
{
    int n;
    for (n = 0; n < MAX_ITERATIONS; n++) {
        for (size_t i = 0; clear[i]; i++)
            assert_int_equal(cr_conn_exec(c, clear[i], NULL), CR_OK);
        assert_int_equal(cr_conn_commit(c), CR_OK);
        cr_mem_fail_after(n);
        bool never_failed;
        bool finished = run(engine, &never_failed);
        if (finished && never_failed)
            break;
    }
    print_message("%s done after %d allocation failures\n", what, n);
    assert_true(n > 20 && n < MAX_ITERATIONS);
}

/* An in-memory SQLite engine with the relationship models' tables, and a
 * connection to clear them. */
static cr_engine *relationship_db(cr_metadata **md_out, cr_conn **c_out)
{
    cr_engine *engine = cr_create_engine("sqlite://", NULL, NULL);
    assert_non_null(engine);
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    ParentLabels pl;
    assert_int_equal(Parent_define(md), CR_OK);
    assert_int_equal(Kid_define(md), CR_OK);
    assert_int_equal(Label_define(md), CR_OK);
    assert_int_equal(ParentLabels_define(&pl, md, "parent_labels"), CR_OK);
    assert_int_equal(cr_metadata_configure(md), CR_OK);
    cr_conn *c = cr_engine_connect(engine, NULL);
    assert_non_null(c);
    assert_int_equal(cr_metadata_create_all(md, c, false), CR_OK);
    assert_int_equal(cr_conn_commit(c), CR_OK);
    *md_out = md;
    *c_out = c;
    return engine;
}

static void test_relationship_oom_sweep(void **state)
{
    (void)state;
    cr_metadata *md;
    cr_conn *c;
    cr_engine *engine = relationship_db(&md, &c);
    static const char *const clear[] = {"DELETE FROM parent_labels", "DELETE FROM kids",
                                        "DELETE FROM labels", "DELETE FROM parents", NULL};
    sweep(engine, c, clear, rel_workload, "relationship workload");
    sweep(engine, c, clear, cascade_workload, "cascade workload");
    assert_int_equal(cr_conn_exec(c, "DELETE FROM parent_labels", NULL), CR_OK);
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(engine);
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
    static const char *const clear[] = {"DELETE FROM items", NULL};
    sweep(engine, c, clear, workload, "workload");
    /* Without failures the workload leaves one row. */
    assert_int_equal(cr_conn_exec(c, "DELETE FROM items", NULL), CR_OK);
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(engine);
}

/* A merge that runs out of memory at any allocation leaves the session as
 * it was: no field copied, no relationship changed, no pending copy left.
 * The session holds a parent with kids k1, k2 (loaded) and k4 (pending,
 * autoflush off); the program merges a detached version of it: renamed, k1
 * renamed, k2 and k4 gone, a new kid k3. Taken out of a delete-orphan
 * collection, k4 leaves the session. */
static void test_merge_oom_whole(void **state)
{
    (void)state;
    static const cr_session_options keep = {.expire_on_commit = CR_NO};
    cr_metadata *md;
    cr_conn *c;
    cr_engine *engine = relationship_db(&md, &c);
    int n;
    for (n = 0; n < MAX_ITERATIONS; n++) {
        assert_int_equal(cr_conn_exec(c, "DELETE FROM kids", NULL), CR_OK);
        assert_int_equal(cr_conn_exec(c, "DELETE FROM parents", NULL), CR_OK);
        assert_int_equal(cr_conn_commit(c), CR_OK);
        cr_session *s = cr_session_new(engine, &keep);
        assert_non_null(s);
        Parent *p = cr_new(Parent), *d = cr_new(Parent);
        Kid *k1 = cr_new(Kid), *k2 = cr_new(Kid), *e1 = cr_new(Kid), *e3 = cr_new(Kid);
        assert_true(p && d && k1 && k2 && e1 && e3);
        p->name = "p";
        k1->name = "k1";
        k2->name = "k2";
        assert_int_equal(cr_append(p, kids, k1), CR_OK);
        assert_int_equal(cr_append(p, kids, k2), CR_OK);
        assert_int_equal(cr_session_add(s, p), CR_OK);
        assert_int_equal(cr_session_commit(s), CR_OK);
        Kid *k4 = cr_new(Kid);
        assert_non_null(k4);
        k4->name = "k4";
        cr_session_set_autoflush(s, false);
        assert_int_equal(cr_append(p, kids, k4), CR_OK);
        d->id = p->id;
        d->name = "q";
        e1->id = k1->id;
        e1->name = "k1x";
        e3->name = "k3";
        assert_int_equal(cr_append(d, kids, e1), CR_OK);
        assert_int_equal(cr_append(d, kids, e3), CR_OK);
        size_t count = cr_session_identity_count(s);

        cr_mem_fail_after(n);
        Parent *copy = cr_session_merge(s, d);
        bool never_failed = cr_mem_fail_disarm();
        if (!copy) {
            check_failure(s, cr_error_class(cr_session_error(s)), "merge");
            assert_string_equal(p->name, "p");
            assert_string_equal(k1->name, "k1");
            assert_int_equal(p->kids.count, 3);
            assert_ptr_equal(p->kids.items[0], k1);
            assert_ptr_equal(p->kids.items[1], k2);
            assert_ptr_equal(p->kids.items[2], k4);
            assert_ptr_equal(k1->parent, p);
            assert_ptr_equal(k2->parent, p);
            assert_ptr_equal(k4->parent, p);
            assert_int_equal(cr_object_state_of(k4), CR_STATE_PENDING);
            assert_int_equal(cr_session_identity_count(s), count);
        } else {
            assert_ptr_equal(copy, p);
            assert_string_equal(p->name, "q");
            assert_string_equal(k1->name, "k1x");
            assert_int_equal(p->kids.count, 2);
            assert_ptr_equal(p->kids.items[0], k1);
            Kid *k3 = p->kids.items[1];
            assert_ptr_not_equal(k3, e3);
            assert_string_equal(k3->name, "k3");
            assert_int_equal(cr_object_state_of(k3), CR_STATE_PENDING);
            assert_ptr_equal(k3->parent, p);
            assert_null(k2->parent);
            assert_null(k4->parent);
            assert_int_equal(cr_object_state_of(k4), CR_STATE_TRANSIENT);
        }
        cr_session_free(s);
        assert_int_equal(cr_object_free(d), CR_OK);
        assert_int_equal(cr_object_free(e1), CR_OK);
        assert_int_equal(cr_object_free(e3), CR_OK);
        if (copy && never_failed)
            break;
    }
    print_message("merge done after %d allocation failures\n", n);
    assert_true(n > 5 && n < MAX_ITERATIONS);
    cr_conn_close(c);
    cr_metadata_free(md);
    cr_engine_free(engine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orm_oom_sweep),
        cmocka_unit_test(test_relationship_oom_sweep),
        cmocka_unit_test(test_merge_oom_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
