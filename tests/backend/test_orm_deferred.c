/* test_orm_deferred.c — deferred columns (deferred(), defer(), undefer(), load_only()) against a real
 * SQLite, PostgreSQL or MariaDB: what the queries select, what a field left out holds and whether it
 * counts as loaded, cr_load of one, a later query filling it, the flush writing only what the program
 * set, expiry, refresh and merge, relationships' loads (lazy, selectin, joined), and the errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <string.h>

#define WRITER(F)                                                                      \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(40),  .nullable = CR_NO)
#define WRITER_RELS(R)                                                                 \
    R(docs,    MANY(Doc),   .back_populates = "writer", .order_by = "id")
CR_MODEL(Writer, "df_writers", WRITER, WRITER_RELS)

#define DOC(F)                                                                         \
    F(id,        INTEGER,     .primary_key = true)                                     \
    F(title,     STRING(40),  .nullable = CR_NO)                                       \
    F(summary,   STRING(80))                                                           \
    F(body,      TEXT,        .deferred = true)                                        \
    F(writer_id, INTEGER,     .foreign_key = "df_writers.id")
#define DOC_RELS(R) R(writer, ONE(Writer), .back_populates = "docs")
CR_MODEL(Doc, "df_docs", DOC, DOC_RELS)

static cr_metadata *md;
static cr_engine *engine;

#define S_OK(s, call) ASSERT_OK(call, cr_session_error(s))

/* Writer 1 "ann" with docs 1 and 2, writer 2 "bob" with doc 3; each doc's
 * body "body <id>", summary "sum <id>". */
static int setup(void **state)
{
    int rc = harness_orm_setup(state);
    if (rc)
        return rc;
    engine_exec(engine, "INSERT INTO df_writers (id, name) VALUES (1, 'ann'), (2, 'bob')");
    engine_exec(engine, "INSERT INTO df_docs (id, title, summary, body, writer_id) VALUES "
                        "(1, 't1', 'sum 1', 'body 1', 1), (2, 't2', 'sum 2', 'body 2', 1), "
                        "(3, 't3', 'sum 3', 'body 3', 2)");
    harness_log_reset();
    return 0;
}

static cr_session *session(void) { return harness_session(engine, NULL); }

static Doc *get_doc(cr_session *s, int64_t id)
{
    Doc *d = cr_session_get(s, Doc, id);
    if (!d)
        print_error("get: %s\n", cr_error_message(cr_session_error(s)));
    assert_non_null(d);
    return d;
}

static int64_t body_is(const char *want, int64_t id)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM df_docs WHERE id = %lld AND body = '%s'",
             (long long)id, want);
    return engine_scalar_int(engine, sql);
}

/* A deferred field is left out of its model's queries: NULL in the object,
 * not loaded; cr_load loads it with one SELECT of its column, once. */
static void test_deferred_field(void **state)
{
    (void)state;
    cr_session *s = session();
    cr_stmt *q = cr_session_query(s, Doc);
    cr_order_by(q, Doc_model.c.id);
    cr_objects *all = harness_all(s, q);
    ASSERT_SENT_TEXT("NULL AS body");
    assert_int_equal(all->count, 3);
    Doc *d = all->items[0];
    assert_null(d->body);
    assert_string_equal(d->title, "t1");
    assert_string_equal(d->summary, "sum 1");
    assert_int_equal(d->writer_id, 1);
    assert_false(cr_is_loaded(d, body));
    assert_true(cr_is_loaded(d, title));
    harness_log_reset();
    S_OK(s, cr_load(d, body));
    assert_string_equal(d->body, "body 1");
    assert_true(cr_is_loaded(d, body));
    ASSERT_SENT("SELECT df_docs.body  FROM df_docs  WHERE df_docs.id = ?");
    ASSERT_STATEMENTS(1);
    harness_log_reset();
    S_OK(s, cr_load(d, body));   /* loaded: nothing sent */
    ASSERT_STATEMENTS(0);
    /* Nothing changed: the commit writes nothing. */
    S_OK(s, cr_session_commit(s));
    assert_false(harness_sent("UPDATE"));
    cr_objects_free(all);
    cr_stmt_free(q);
    harness_session_free(s);
}

/* undefer loads a deferred field with the query; defer and load_only leave
 * out fields that load by default, load_only keeping the key and the
 * foreign key. */
static void test_query_options(void **state)
{
    (void)state;
    cr_session *s = session();
    cr_stmt *q = cr_session_query(s, Doc);
    cr_undefer(q, Doc_model.c.body);
    cr_where(q, cr_eq(q, Doc_model.c.id, 2));
    Doc *d = cr_query_one(q);
    assert_non_null(d);
    assert_string_equal(d->body, "body 2");
    assert_true(cr_is_loaded(d, body));
    assert_false(strstr(harness_log, "NULL AS"));
    cr_stmt_free(q);
    harness_session_free(s);

    s = session();
    harness_log_reset();
    q = cr_session_query(s, Doc);
    cr_defer(q, Doc_model.c.summary);
    cr_where(q, cr_eq(q, Doc_model.c.id, 2));
    d = cr_query_one(q);
    assert_non_null(d);
    ASSERT_SENT_TEXT("NULL AS summary");
    assert_null(d->summary);
    assert_null(d->body);
    assert_false(cr_is_loaded(d, summary));
    assert_false(cr_is_loaded(d, body));
    S_OK(s, cr_load(d, summary));
    assert_string_equal(d->summary, "sum 2");
    cr_stmt_free(q);
    harness_session_free(s);

    s = session();
    q = cr_session_query(s, Doc);
    cr_load_only(q, Doc_model.c.title);
    cr_order_by(q, Doc_model.c.id);
    cr_objects *all = harness_all(s, q);
    assert_int_equal(all->count, 3);
    d = all->items[2];
    assert_string_equal(d->title, "t3");
    assert_int_equal(d->id, 3);
    assert_int_equal(d->writer_id, 2);   /* a foreign key always loads */
    assert_null(d->summary);
    assert_false(cr_is_loaded(d, summary));
    assert_false(cr_is_loaded(d, body));
    assert_true(cr_is_loaded(d, writer_id));
    /* The relationship works from the foreign key. */
    S_OK(s, cr_load(d, writer));
    assert_string_equal(d->writer->name, "bob");
    cr_objects_free(all);
    cr_stmt_free(q);
    harness_session_free(s);
}

/* A query that selects a field fills it in an object of the session that
 * lacks it; a field the program set since keeps its value, and the flush
 * writes it. */
static void test_later_query_fills(void **state)
{
    (void)state;
    cr_session *s = session();
    Doc *d1 = get_doc(s, 1), *d2 = get_doc(s, 2);
    assert_false(cr_is_loaded(d1, body));
    d2->body = "mine";
    cr_stmt *q = cr_session_query(s, Doc);
    cr_undefer(q, Doc_model.c.body);
    cr_where(q, cr_in(q, Doc_model.c.id, CR_VALUES(cr_val_int(1), cr_val_int(2))));
    cr_objects *all = harness_all(s, q);   /* autoflushes d2's body first */
    assert_int_equal(all->count, 2);
    assert_string_equal(d1->body, "body 1");
    assert_true(cr_is_loaded(d1, body));
    assert_string_equal(d2->body, "mine");
    S_OK(s, cr_session_commit(s));
    assert_int_equal(body_is("mine", 2), 1);
    assert_int_equal(body_is("body 1", 1), 1);
    cr_objects_free(all);
    cr_stmt_free(q);
    harness_session_free(s);
}

/* The flush writes a field left out only when the program set it: an
 * UPDATE of another field leaves the column alone. */
static void test_flush_writes_what_was_set(void **state)
{
    (void)state;
    cr_session *s = session();
    Doc *d = get_doc(s, 1);
    d->title = "new title";
    harness_log_reset();
    S_OK(s, cr_session_commit(s));
    ASSERT_SENT("UPDATE df_docs SET title=? WHERE df_docs.id = ?");
    assert_int_equal(body_is("body 1", 1), 1);

    d = get_doc(s, 1);
    assert_false(cr_is_loaded(d, body));
    d->body = "rewritten";
    harness_log_reset();
    S_OK(s, cr_session_commit(s));
    ASSERT_SENT("UPDATE df_docs SET body=? WHERE df_docs.id = ?");
    assert_int_equal(body_is("rewritten", 1), 1);
    harness_session_free(s);
}

/* Expiry: the reload leaves a deferred field out again (loaded or not
 * before), and cr_load of an expired object reloads it first; refresh the
 * same. */
static void test_expire_and_refresh(void **state)
{
    (void)state;
    cr_session *s = session();
    Doc *d = get_doc(s, 1);
    S_OK(s, cr_load(d, body));
    assert_true(cr_is_loaded(d, body));
    S_OK(s, cr_session_commit(s));   /* expires it */
    engine_exec(engine, "UPDATE df_docs SET title = 'changed', body = 'behind' WHERE id = 1");
    assert_ptr_equal(get_doc(s, 1), d);   /* reloads it */
    assert_string_equal(d->title, "changed");
    assert_false(cr_is_loaded(d, body));
    S_OK(s, cr_load(d, body));
    assert_string_equal(d->body, "behind");

    S_OK(s, cr_session_commit(s));   /* expires it: the session holds no lock */
    engine_exec(engine, "UPDATE df_docs SET title = 'again', body = 'later' WHERE id = 1");
    harness_log_reset();
    S_OK(s, cr_load(d, body));   /* the object first, then its body */
    ASSERT_STATEMENTS(2);
    assert_string_equal(d->title, "again");
    assert_string_equal(d->body, "later");

    S_OK(s, cr_session_refresh(s, d));
    assert_false(cr_is_loaded(d, body));
    assert_string_equal(d->title, "again");
    harness_session_free(s);
}

/* A field left out of a detached object cannot be loaded; its row gone is
 * ObjectDeletedError. */
static void test_load_errors(void **state)
{
    (void)state;
    cr_session *s = session();
    Doc *d = get_doc(s, 3);
    S_OK(s, cr_session_commit(s));   /* the session holds no lock */
    engine_exec(engine, "DELETE FROM df_docs WHERE id = 3");
    assert_int_equal(cr_load(d, body), CR_ERR_OBJECT_DELETED);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "has been deleted"));
    S_OK(s, cr_session_rollback(s));
    Doc *d1 = get_doc(s, 1);
    S_OK(s, cr_session_close(s));
    assert_int_equal(cr_load(d1, body), CR_ERR_DETACHED_INSTANCE);
    assert_non_null(strstr(cr_error_message(cr_relationship_error()), "deferred load"));
    assert_false(cr_is_loaded(d1, body));
    harness_session_free(s);
}

/* A merge copies no field left out of its source: the persistent copy
 * keeps the row's body, and nothing is written for it. */
static void test_merge_skips_unloaded(void **state)
{
    (void)state;
    cr_session *s = session();
    Doc *d = get_doc(s, 2);
    S_OK(s, cr_session_expunge(s, d));
    S_OK(s, cr_session_commit(s));   /* holds no lock; d, outside, is not expired */
    assert_false(cr_object_expired(d));
    d->title = "merged";
    cr_session *s2 = session();
    cr_stmt *q = cr_session_query(s2, Doc);
    cr_undefer(q, Doc_model.c.body);
    cr_where(q, cr_eq(q, Doc_model.c.id, 2));
    Doc *copy = cr_query_one(q);   /* the copy, its body loaded */
    assert_non_null(copy);
    assert_ptr_equal(cr_session_merge(s2, d), copy);
    assert_string_equal(copy->body, "body 2");
    assert_string_equal(copy->title, "merged");
    cr_stmt_free(q);
    harness_log_reset();
    S_OK(s2, cr_session_commit(s2));
    ASSERT_SENT("UPDATE df_docs SET title=? WHERE df_docs.id = ?");
    assert_int_equal(body_is("body 2", 2), 1);
    cr_object_free(d);
    harness_session_free(s2);
    harness_session_free(s);
}

/* A relationship's loads leave the target's deferred fields out: lazy,
 * selectin and joined. */
static void test_relationship_loads(void **state)
{
    (void)state;
    static const cr_loader ways[] = {CR_LOAD_LAZY, CR_LOAD_SELECTIN, CR_LOAD_JOINED};
    for (size_t w = 0; w < 3; w++) {
        cr_session *s = session();
        cr_stmt *q = cr_session_query(s, Writer);
        cr_query_loader(q, ways[w], CR__RELS(Writer_model.r.docs));
        cr_where(q, cr_eq(q, Writer_model.c.id, 1));
        harness_log_reset();
        Writer *wr = cr_query_one(q);
        assert_non_null(wr);
        S_OK(s, cr_load(wr, docs));
        ASSERT_SENT_TEXT("NULL AS body");
        assert_int_equal(wr->docs.count, 2);
        Doc *d = wr->docs.items[1];
        assert_string_equal(d->title, "t2");
        assert_false(cr_is_loaded(d, body));
        S_OK(s, cr_load(d, body));
        assert_string_equal(d->body, "body 2");
        cr_stmt_free(q);
        harness_session_free(s);
    }
}

/* Options on something else than the query's model, of the key, and a
 * model declaring its key deferred are errors. */
static void test_option_errors(void **state)
{
    (void)state;
    cr_stmt *q = cr_select_model(Doc);
    cr_defer(q, Doc_model.c.id);
    assert_int_equal(cr_error_class(cr_stmt_error(q)), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_stmt_error(q)), "primary key"));
    cr_stmt_free(q);
    q = cr_select_model(Doc);
    cr_defer(q, Doc_model.c.writer_id);
    assert_int_equal(cr_error_class(cr_stmt_error(q)), CR_ERR_ARGUMENT);
    cr_stmt_free(q);
    q = cr_select_model(Doc);
    cr_load_only(q, Doc_model.c.title, Writer_model.c.name);
    assert_int_equal(cr_error_class(cr_stmt_error(q)), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_stmt_error(q)), "not one of the model"));
    cr_stmt_free(q);
    q = cr_select(Doc_model.c.title, Doc_model.table);
    cr_undefer(q, Doc_model.c.body);
    assert_int_equal(cr_error_class(cr_stmt_error(q)), CR_ERR_INVALID_REQUEST);
    cr_stmt_free(q);
    /* A plain select of the table, run as a query, loads every field. */
    cr_session *s = session();
    q = cr_select(Doc_model.table);
    cr_where(q, cr_eq(q, Doc_model.c.id, 1));
    Doc *d = cr_session_one(s, q);
    assert_non_null(d);
    assert_string_equal(d->body, "body 1");
    assert_true(cr_is_loaded(d, body));
    cr_stmt_free(q);
    harness_session_free(s);
}

#define BADKEY(F) F(id, INTEGER, .primary_key = true, .deferred = true) F(x, INTEGER)
CR_MODEL(BadKey, "df_badkey", BADKEY)

static void test_deferred_key_refused(void **state)
{
    (void)state;
    cr_metadata *other = cr_metadata_new(NULL);
    assert_non_null(other);
    assert_int_equal(BadKey_define(other), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(cr_metadata_error(other)), "cannot be deferred"));
    cr_metadata_free(other);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    md = cr_metadata_new(NULL);
    if (!md || Writer_define(md) || Doc_define(md) || cr_metadata_configure(md)) {
        fprintf(stderr, "models: %s\n", md ? cr_error_message(cr_metadata_error(md)) : "no memory");
        return 1;
    }
    engine = harness_orm_engine(md);
#define T(f) cmocka_unit_test_setup_teardown(f, setup, harness_free_sessions)
    const struct CMUnitTest tests[] = {
        T(test_deferred_field),
        T(test_query_options),
        T(test_later_query_fills),
        T(test_flush_writes_what_was_set),
        T(test_expire_and_refresh),
        T(test_load_errors),
        T(test_merge_skips_unloaded),
        T(test_relationship_loads),
        T(test_option_errors),
        T(test_deferred_key_refused),
    };
    int failed = HARNESS_RUN("orm_deferred", NULL, tests, harness_orm_teardown);
    cr_engine_free(engine);
    cr_metadata_free(md);
    harness_cleanup();
    return failed ? 1 : 0;
}
