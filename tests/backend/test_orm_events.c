/* test_orm_events.c — mapper events (cr_mapper_listen: before / after insert, update, delete) against a
 * real SQLite, PostgreSQL or MariaDB: which objects each flush calls them for and in what order, what a
 * before listener sets being written by the same flush, an after listener seeing generated keys and
 * writing on the flush's connection, a listener refusing an object or a statement of its failing the
 * flush as a whole, the session refused inside a listener, cr_session_plan calling none, a row switch;
 * the instance events load and refresh (when each runs, what a listener sets counting as loaded, a
 * listener failing the query);
 * session events (before_flush, after_commit, after_begin, after_flush, after_flush_postexec,
 * before_commit, after_rollback), cr_session_objects (session.new, .dirty, .deleted) and the session's
 * in_transaction, in_nested_transaction and is_modified. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define EAUTHOR(F)                                                                     \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(40),  .nullable = CR_NO)                                         \
    F(slug,    STRING(40))                                                             \
    F(rev,     INTEGER,     .nullable = CR_NO, .default_value = cr_val_int(0))
#define EAUTHOR_RELS(R)                                                                \
    R(posts,   MANY(EvPost),  .back_populates = "author",                              \
                              .cascade = "all, delete-orphan", .order_by = "id")
CR_MODEL(EvAuthor, "ev_authors", EAUTHOR, EAUTHOR_RELS)

#define EPOST(F)                                                                       \
    F(id,        INTEGER,     .primary_key = true)                                     \
    F(title,     STRING(40),  .nullable = CR_NO)                                       \
    F(author_id, INTEGER,     .foreign_key = "ev_authors.id")
#define EPOST_RELS(R) R(author, ONE(EvAuthor))
CR_MODEL(EvPost, "ev_posts", EPOST, EPOST_RELS)

/* What the after_insert listener writes, on the flush's connection. */
#define ELOG(F)                                                                        \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(what,    STRING(80),  .nullable = CR_NO)
CR_MODEL(EvLog, "ev_log", ELOG)

static cr_metadata *md;
static cr_engine *engine;

#define S_OK(s, call) ASSERT_OK(call, cr_session_error(s))

/* ---- the listeners: each call recorded as "event label;" ---- */

static char calls[4096];
static size_t ncalls;
static const char *refuse;          /* a before listener refuses the author of this name */
static bool log_to_missing_table;   /* after_insert writes where no table is */
static bool try_session;            /* a listener tries the session: refused */
static cr_status session_tries[8];

static const char *label(const void *obj)
{
    return cr_object_mapper(obj) == EvAuthor_model.mapper ? ((const EvAuthor *)obj)->name
                                                           : ((const EvPost *)obj)->title;
}

/* Records the call; refuses (IntegrityError) the author named `refuse`. */
static cr_status record(cr_session *s, cr_conn *conn, void *obj, void *userdata)
{
    if (!s || !conn)
        return CR_ERR_INTERNAL;
    ncalls += (size_t)snprintf(calls + ncalls, sizeof calls - ncalls, "%s %s;",
                               (const char *)userdata, label(obj));
    if (refuse && cr_object_mapper(obj) == EvAuthor_model.mapper &&
        strcmp(label(obj), refuse) == 0)
        return CR_ERR_INTEGRITY;
    return CR_OK;
}

/* before_insert / before_update of an author: its slug from its name, its
 * revision counted; the rest as record. */
static cr_status stamp_author(cr_session *s, cr_conn *conn, void *obj, void *userdata)
{
    EvAuthor *a = obj;
    char slug[40];
    size_t i = 0;
    for (; a->name[i] && i + 1 < sizeof slug; i++)
        slug[i] = a->name[i] == ' ' ? '-' : (char)tolower((unsigned char)a->name[i]);
    slug[i] = '\0';
    if (cr_field_set_text(a, slug, slug) != CR_OK)
        return CR_ERR_NO_MEMORY;
    a->rev++;
    if (try_session) {
        EvPost *p = cr_new(EvPost);
        session_tries[0] = cr_session_add(s, p);
        session_tries[1] = cr_session_flush(s);
        session_tries[2] = cr_session_commit(s);
        session_tries[3] = cr_session_get(s, EvAuthor, 1) ? CR_OK
                                                           : cr_error_class(cr_session_error(s));
        /* Relationship calls too: the flush's plan is made (a pending post
         * removed from a delete-orphan collection here had left the
         * session's identity map inconsistent). */
        session_tries[4] = cr_append(a, posts, p);
        session_tries[5] = a->posts.count ? cr_remove(a, posts, a->posts.items[0])
                                          : CR_ERR_INVALID_REQUEST;
        session_tries[6] = cr_set_related(p, author, a);
        session_tries[7] = cr_load(a, posts);
        cr_object_free(p);
    }
    return record(s, conn, obj, userdata);
}

/* after_insert of an author: its generated key is there; a log row written
 * on the flush's connection. */
static cr_status log_author(cr_session *s, cr_conn *conn, void *obj, void *userdata)
{
    EvAuthor *a = obj;
    if (a->id <= 0)
        return CR_ERR_INTERNAL;
    char what[80];
    snprintf(what, sizeof what, "inserted %s", a->name);
    cr_status st = cr_conn_exec(conn, log_to_missing_table
                                          ? "INSERT INTO ev_no_such_table (what) VALUES (:w)"
                                          : "INSERT INTO ev_log (what) VALUES (:w)",
                                CR_PARAMS({"w", cr_val_text(what)}));
    return st ? st : record(s, conn, obj, userdata);
}

/* after_insert of a post: its author's key is in it by then. */
static cr_status check_post(cr_session *s, cr_conn *conn, void *obj, void *userdata)
{
    EvPost *p = obj;
    if (p->id <= 0 || (p->author && p->author_id != p->author->id))
        return CR_ERR_INTERNAL;
    return record(s, conn, obj, userdata);
}

static void reset_calls(void)
{
    calls[0] = '\0';
    ncalls = 0;
    refuse = NULL;
    log_to_missing_table = try_session = false;
}

static void assert_calls(const char *want)
{
    if (strcmp(calls, want) != 0)
        print_error("listeners called:\n%s\nexpected:\n%s\n", calls, want);
    assert_string_equal(calls, want);
    reset_calls();
}

static int setup(void **state)
{
    reset_calls();
    return harness_orm_setup(state);
}

static int64_t count(const char *sql)
{
    cr_conn *c = connect_ok(engine);
    int64_t n = scalar_int(c, sql);
    cr_conn_close(c);
    return n;
}

static EvAuthor *author(const char *name)
{
    EvAuthor *a = cr_new(EvAuthor);
    assert_non_null(a);
    assert_int_equal(cr_field_set_text(a, name, name), CR_OK);
    return a;
}

static EvPost *post(EvAuthor *a, const char *title)
{
    EvPost *p = cr_new(EvPost);
    assert_non_null(p);
    assert_int_equal(cr_field_set_text(p, title, title), CR_OK);
    assert_int_equal(cr_append(a, posts, p), CR_OK);
    return p;
}

/* An author and two posts: before listeners in the flush's order
 * (referred-to table first), what they set written by the same INSERT, then
 * after listeners with the keys there and a row the listener wrote on the
 * flush's connection, committed with it. */
static void test_insert_events(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann Lee");
    EvPost *p1 = post(a, "first"), *p2 = post(a, "second");
    S_OK(s, cr_session_add(s, a));
    /* The plan calls no listener. */
    harness_assert_plan(s, "INSERT ev_authors (name, rev) 1\n"
                           "INSERT ev_posts (title, author_id) 2\n");
    assert_calls("");
    S_OK(s, cr_session_commit(s));
    assert_calls("before_insert Ann Lee;before_insert first;before_insert second;"
                 "after_insert Ann Lee;after_insert first;after_insert second;");
    ASSERT_SENT_TEXT("INSERT INTO ev_authors (name, slug, rev)");
    assert_string_equal(a->slug, "ann-lee");
    assert_true(p1->author_id == a->id && p2->author_id == a->id);
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE slug = 'ann-lee' AND rev = 1"),
                     1);
    assert_int_equal(count("SELECT count(*) FROM ev_log WHERE what = 'inserted Ann Lee'"), 1);
    harness_session_free(s);
}

/* Updates: only an object with a change to write is called; what the
 * listener sets goes into the same UPDATE. A post added to an author
 * changes no column of the author: no update event for it. */
static void test_update_events(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann"), *b = author("Bob");
    S_OK(s, cr_session_add_all(s, CR_OBJS(a, b)));
    S_OK(s, cr_session_commit(s));
    assert_calls("before_insert Ann;before_insert Bob;after_insert Ann;after_insert Bob;");
    S_OK(s, cr_field_set_text(a, name, "Ann Marie"));
    post(b, "new");
    harness_log_reset();
    S_OK(s, cr_session_commit(s));
    assert_calls("before_update Ann Marie;before_insert new;after_update Ann Marie;"
                 "after_insert new;");
    ASSERT_SENT_TEXT("UPDATE ev_authors SET name=?, slug=?, rev=? WHERE");
    assert_int_equal(count("SELECT rev FROM ev_authors WHERE slug = 'ann-marie'"), 2);
    assert_int_equal(count("SELECT rev FROM ev_authors WHERE slug = 'bob'"), 1);
    /* Nothing changed: no listener, no statement. */
    harness_log_reset();
    S_OK(s, cr_session_flush(s));
    assert_calls("");
    ASSERT_STATEMENTS(0);
    harness_session_free(s);
}

/* A delete cascading to the posts: the posts first (they refer to the
 * author), before and after. */
static void test_delete_events(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann");
    post(a, "p1");
    post(a, "p2");
    S_OK(s, cr_session_add(s, a));
    S_OK(s, cr_session_commit(s));
    reset_calls();
    S_OK(s, cr_session_delete(s, a));
    S_OK(s, cr_session_commit(s));
    assert_calls("before_delete p1;before_delete p2;before_delete Ann;"
                 "after_delete p1;after_delete p2;after_delete Ann;");
    assert_int_equal(count("SELECT count(*) FROM ev_posts"), 0);
    assert_int_equal(count("SELECT count(*) FROM ev_authors"), 0);
    harness_session_free(s);
}

/* A new object given the key of one deleted in the same flush takes over
 * its row: an update, as SQLAlchemy calls it, and no delete event. */
static void test_row_switch_event(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Old");
    S_OK(s, cr_session_add(s, a));
    S_OK(s, cr_session_commit(s));
    int64_t id = a->id;
    reset_calls();
    S_OK(s, cr_session_delete(s, a));
    EvAuthor *b = author("New");
    b->id = id;
    S_OK(s, cr_session_add(s, b));
    S_OK(s, cr_session_commit(s));
    assert_calls("before_update New;after_update New;");
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE slug = 'new'"), 1);
    harness_session_free(s);
}

/* A listener that refuses an object fails the flush as a whole: nothing of
 * it is written, the session waits for its rollback, and the error names
 * the event, the object and the listener's status. */
static void test_listener_refuses(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann"), *bad = author("Bad");
    S_OK(s, cr_session_add_all(s, CR_OBJS(a, bad)));
    refuse = "Bad";
    assert_int_equal(cr_session_commit(s), CR_ERR_INTEGRITY);
    const char *msg = cr_error_message(cr_session_error(s));
    print_message("%s\n", msg);
    assert_non_null(strstr(msg, "its before_insert listener returned IntegrityError"));
    assert_non_null(strstr(msg, "EvAuthor"));
    assert_int_equal(cr_session_flush(s), CR_ERR_PENDING_ROLLBACK);
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(count("SELECT count(*) FROM ev_authors"), 0);
    /* Renamed, it goes in. */
    refuse = NULL;
    S_OK(s, cr_session_expunge_all(s));
    S_OK(s, cr_field_set_text(bad, name, "Good"));
    S_OK(s, cr_session_add_all(s, CR_OBJS(a, bad)));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(count("SELECT count(*) FROM ev_authors"), 2);
    harness_session_free(s);
}

/* A statement an after listener runs fails: its error is the flush's, and
 * the INSERTs already sent are rolled back. */
static void test_listener_statement_fails(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann");
    S_OK(s, cr_session_add(s, a));
    log_to_missing_table = true;
    cr_status st = cr_session_commit(s);
    print_message("%s: %s\n", cr_status_name(st), cr_error_message(cr_session_error(s)));
    assert_true(st == CR_ERR_PROGRAMMING || st == CR_ERR_OPERATIONAL);
    assert_int_equal(cr_error_class(cr_session_error(s)), st);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "ev_no_such_table"));
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(cr_object_state_of(a), CR_STATE_TRANSIENT);
    assert_int_equal(count("SELECT count(*) FROM ev_authors"), 0);
    assert_int_equal(count("SELECT count(*) FROM ev_log"), 0);
    harness_session_free(s);
}

/* Inside a listener the session refuses every call; the flush goes on. */
static void test_listener_session_refused(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann");
    post(a, "p1");
    post(a, "p2");
    S_OK(s, cr_session_add(s, a));
    try_session = true;
    S_OK(s, cr_session_commit(s));
    for (int i = 0; i < 8; i++)
        assert_int_equal(session_tries[i], CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_relationship_error()), "in a listener"));
    assert_int_equal(count("SELECT count(*) FROM ev_authors"), 1);
    assert_int_equal(count("SELECT count(*) FROM ev_posts"), 2);
    assert_int_equal(a->posts.count, 2);
    assert_int_equal(cr_session_identity_count(s), 3);
    harness_session_free(s);
}

/* Registering: bad arguments are refused. */
static void test_listen_arguments(void **state)
{
    (void)state;
    assert_int_equal(cr_mapper_listen(NULL, CR_BEFORE_INSERT, record, NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_mapper_listen(EvAuthor_model.mapper, CR_BEFORE_INSERT, NULL, NULL),
                     CR_ERR_ARGUMENT);
    assert_int_equal(cr_mapper_listen(EvAuthor_model.mapper, (cr_mapper_event)(CR_REFRESH + 1), record, NULL),
                     CR_ERR_ARGUMENT);
    assert_int_equal(cr_mapper_listen(EvAuthor_model.mapper, (cr_mapper_event)-1, record, NULL),
                     CR_ERR_ARGUMENT);
}

/* ---- instance events: load and refresh ---- */

static bool watch_loads;            /* the load / refresh listeners record */
static int load_bump;               /* ... and add this to an author's rev */
static const char *load_refuse;     /* ... and refuse the author of this name */
static bool load_writes;            /* ... and write a log row on conn */
static cr_status load_tries[3];     /* what a listener's session calls returned */
static bool load_conn_null;         /* the last listener called had no conn */

static cr_status on_loaded(cr_session *s, cr_conn *conn, void *obj, void *userdata)
{
    if (!watch_loads)
        return CR_OK;
    if (!s || (!conn && cr_session_in_transaction(s)))
        return CR_ERR_INTERNAL;
    load_conn_null = conn == NULL;
    if (cr_object_mapper(obj) == EvAuthor_model.mapper) {
        EvAuthor *a = obj;
        if (load_refuse && strcmp(a->name, load_refuse) == 0)
            return CR_ERR_DATA;
        a->rev += load_bump;
        if (load_writes && conn) {
            char what[80];
            snprintf(what, sizeof what, "%s %s", (const char *)userdata, a->name);
            cr_status st = cr_conn_exec(conn, "INSERT INTO ev_log (what) VALUES (:w)",
                                        CR_PARAMS({"w", cr_val_text(what)}));
            if (st)
                return st;
        }
        load_tries[0] = cr_session_flush(s);
        load_tries[1] = cr_load(a, posts);
        load_tries[2] = cr_session_get(s, EvAuthor, a->id) ? CR_OK
                                                            : cr_error_class(cr_session_error(s));
    }
    ncalls += (size_t)snprintf(calls + ncalls, sizeof calls - ncalls, "%s %s;",
                               (const char *)userdata, label(obj));
    return CR_OK;
}

static void reset_loads(void)
{
    watch_loads = load_writes = false;
    load_bump = 0;
    load_refuse = NULL;
    for (int i = 0; i < 3; i++)
        load_tries[i] = CR_OK;
}

/* Ann with posts p1, p2, and Bob, committed by one session; their keys. */
static void seed_loads(int64_t *ann, int64_t *bob)
{
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann"), *b = author("Bob");
    post(a, "p1");
    post(a, "p2");
    S_OK(s, cr_session_add_all(s, CR_OBJS(a, b)));
    S_OK(s, cr_session_commit(s));
    *ann = a->id;
    *bob = b->id;
    harness_session_free(s);
    reset_calls();
}

static cr_objects *authors(cr_session *s, bool populate)
{
    cr_stmt *q = cr_session_query(s, EvAuthor);
    cr_order_by(q, EvAuthor_model.c.id);
    if (populate)
        cr_query_populate_existing(q);
    cr_objects *list = cr_query_all(q);
    cr_stmt_free(q);
    return list;
}

/* CR_LOAD once per object the session makes from a row (a query, a lazy
 * load, a get), not for one the identity map holds; CR_REFRESH for an
 * object of the session a row loads again (expired, cr_session_refresh,
 * populate_existing). Inside, session and relationship calls are refused. */
static void test_load_refresh_events(void **state)
{
    (void)state;
    int64_t ann_id, bob_id;
    seed_loads(&ann_id, &bob_id);
    cr_session *s = harness_session(engine, NULL);
    watch_loads = true;
    cr_objects *list = authors(s, false);
    assert_non_null(list);
    assert_calls("load Ann;load Bob;");
    assert_false(load_conn_null);
    EvAuthor *ann = list->items[0];
    cr_objects_free(list);
    for (int i = 0; i < 3; i++)
        assert_int_equal(load_tries[i], CR_ERR_INVALID_REQUEST);
    list = authors(s, false);   /* the identity map's: nothing loaded */
    cr_objects_free(list);
    assert_ptr_equal(cr_session_get(s, EvAuthor, ann_id), ann);
    assert_calls("");
    S_OK(s, cr_load(ann, posts));
    assert_calls("load p1;load p2;");
    S_OK(s, cr_session_commit(s));   /* expired */
    assert_ptr_equal(cr_session_get(s, EvAuthor, ann_id), ann);
    assert_calls("refresh Ann;");
    list = authors(s, false);
    cr_objects_free(list);
    assert_calls("refresh Bob;");
    S_OK(s, cr_session_refresh(s, ann));
    assert_calls("refresh Ann;");
    list = authors(s, true);
    cr_objects_free(list);
    assert_calls("refresh Ann;refresh Bob;");
    assert_int_equal(cr_error_class(cr_session_error(s)), CR_OK);
    harness_session_free(s);
    /* cr_row_entity of a row read elsewhere, the session holding no
     * connection: load, with conn NULL. */
    s = harness_session(engine, NULL);
    cr_conn *c = connect_ok(engine);
    cr_stmt *q = cr_select(EvAuthor_model.table);
    cr_where(q, cr_eq(q, EvAuthor_model.c.id, bob_id));
    cr_result *r = cr_conn_execute_stmt(c, q);
    assert_non_null(r);
    const cr_row *row = cr_result_fetchone(r);
    assert_non_null(row);
    EvAuthor *bob = cr_row_entity(s, row, EvAuthor);
    assert_non_null(bob);
    assert_string_equal(bob->name, "Bob");
    assert_calls("load Bob;");
    assert_true(load_conn_null);
    cr_result_free(r);
    cr_stmt_free(q);
    cr_conn_close(c);
    reset_loads();
    harness_session_free(s);
}

/* What a load or refresh listener sets in a loaded field counts as loaded:
 * no flush writes it (SQLAlchemy commits it with the row). A field set by
 * hand since an expiry stays a change. A listener may write on conn while
 * the query's rows are read. */
static void test_load_listener_sets_fields(void **state)
{
    (void)state;
    int64_t ann_id, bob_id;
    seed_loads(&ann_id, &bob_id);
    cr_session *s = harness_session(engine, NULL);
    watch_loads = load_writes = true;
    load_bump = 100;
    cr_objects *list = authors(s, false);
    assert_non_null(list);
    EvAuthor *ann = list->items[0], *bob = list->items[1];
    cr_objects_free(list);
    assert_int_equal(ann->rev, 101);
    assert_int_equal(bob->rev, 101);
    assert_false(cr_session_is_modified(s, ann));
    harness_log_reset();
    S_OK(s, cr_session_flush(s));
    ASSERT_STATEMENTS(0);
    assert_calls("load Ann;load Bob;");
    S_OK(s, cr_session_expire(s, ann));
    S_OK(s, cr_field_set_text(ann, name, "Ann Lee"));   /* by hand, before the reload */
    cr_session_set_autoflush(s, false);                 /* which would write it first */
    assert_ptr_equal(cr_session_get(s, EvAuthor, ann_id), ann);
    assert_calls("refresh Ann Lee;");
    assert_int_equal(ann->rev, 101);
    assert_string_equal(ann->name, "Ann Lee");
    assert_true(cr_session_is_modified(s, ann));
    watch_loads = false;
    /* The name is written; rev is 101 as loaded, and before_update counts. */
    S_OK(s, cr_session_commit(s));
    assert_calls("before_update Ann Lee;after_update Ann Lee;");
    assert_int_equal(count("SELECT rev FROM ev_authors WHERE name = 'Ann Lee'"), 102);
    assert_int_equal(count("SELECT rev FROM ev_authors WHERE name = 'Bob'"), 1);
    assert_int_equal(count("SELECT count(*) FROM ev_log WHERE what IN ('load Ann', "
                           "'load Bob', 'refresh Ann Lee')"), 3);
    reset_calls();
    reset_loads();
    harness_session_free(s);
}

/* A load listener's error fails the query, naming the event and the object;
 * the objects loaded before it stay, and the session goes on. */
static void test_load_listener_fails(void **state)
{
    (void)state;
    int64_t ann_id, bob_id;
    seed_loads(&ann_id, &bob_id);
    cr_session *s = harness_session(engine, NULL);
    watch_loads = true;
    load_refuse = "Bob";
    assert_null(authors(s, false));
    assert_int_equal(cr_error_class(cr_session_error(s)), CR_ERR_DATA);
    char want[96];
    snprintf(want, sizeof want, "the load of EvAuthor(id=%lld) failed: its load listener "
             "returned DataError", (long long)bob_id);
    assert_string_equal(cr_error_message(cr_session_error(s)), want);
    assert_calls("load Ann;");
    assert_int_equal(cr_session_identity_count(s), 2);
    load_refuse = NULL;
    cr_objects *list = authors(s, false);
    assert_non_null(list);
    assert_int_equal(list->count, 2);
    cr_objects_free(list);
    assert_calls("");
    S_OK(s, cr_session_commit(s));
    harness_session_free(s);
    /* A statement on conn while a streamed query reads is refused: the
     * stream fails with it. */
    s = harness_session(engine, NULL);
    load_writes = true;
    int64_t logged = count("SELECT count(*) FROM ev_log");
    cr_stmt *q = cr_session_query(s, EvAuthor);
    cr_object_stream *st = cr_session_stream(s, q, 1);
    assert_non_null(st);
    assert_null(cr_stream_next(st));
    assert_int_equal(cr_error_class(cr_session_error(s)), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "streamed result"));
    cr_stream_free(st);
    cr_stmt_free(q);
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(count("SELECT count(*) FROM ev_log"), logged);
    reset_calls();
    reset_loads();
    harness_session_free(s);
}

/* ---- session events ---- */

static int before_flush_calls, after_commit_calls;
static cr_status before_flush_fails, after_commit_fails;
static cr_status inside[3];

static size_t count_of(cr_session *s, cr_session_set which)
{
    cr_objects *list = cr_session_objects(s, which);
    size_t n = list ? list->count : (size_t)-1;
    cr_objects_free(list);
    return n;
}

/* before_flush: an EvLog object telling what the flush is about to write,
 * flushed with it; a flush inside is refused, a get runs without
 * autoflush. */
static cr_status log_flush(cr_session *s, cr_conn *conn, void *userdata)
{
    (void)conn, (void)userdata;
    before_flush_calls++;
    if (before_flush_fails)
        return before_flush_fails;
    char what[80];
    snprintf(what, sizeof what, "flush: %zu new, %zu dirty, %zu deleted",
             count_of(s, CR_SESSION_NEW), count_of(s, CR_SESSION_DIRTY),
             count_of(s, CR_SESSION_DELETED));
    EvLog *l = cr_new(EvLog);
    if (!l || cr_field_set_text(l, what, what) != CR_OK) {
        cr_object_free(l);
        return CR_ERR_NO_MEMORY;
    }
    inside[0] = cr_session_flush(s);
    inside[1] = cr_session_get(s, EvAuthor, 999) ? CR_ERR_INTERNAL
                                                 : cr_error_class(cr_session_error(s));
    return cr_session_add(s, l);
}

/* after_commit: the session is in no transaction; its calls are refused. */
static cr_status note_commit(cr_session *s, cr_conn *conn, void *userdata)
{
    assert_null(conn);
    (void)userdata;
    after_commit_calls++;
    EvLog *l = cr_new(EvLog);
    inside[2] = cr_session_add(s, l);
    cr_object_free(l);   /* refused: still the program's */
    return after_commit_fails;
}

static void reset_session_events(void)
{
    before_flush_calls = after_commit_calls = 0;
    before_flush_fails = after_commit_fails = CR_OK;
    for (int i = 0; i < 3; i++)
        inside[i] = CR_OK;
}

static int64_t log_rows(const char *what)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ev_log WHERE what = '%s'", what);
    return count(sql);
}

/* cr_session_objects: session.new, .dirty, .deleted. */
static void test_session_objects(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann"), *b = author("Bob"), *c = author("Cid");
    S_OK(s, cr_session_add_all(s, CR_OBJS(a, b, c)));
    cr_objects *fresh = cr_session_objects(s, CR_SESSION_NEW);
    assert_non_null(fresh);
    assert_int_equal(fresh->count, 3);
    assert_ptr_equal(fresh->items[0], a);
    assert_ptr_equal(fresh->items[2], c);
    cr_objects_free(fresh);
    S_OK(s, cr_session_flush(s));
    assert_int_equal(count_of(s, CR_SESSION_NEW), 0);
    assert_int_equal(count_of(s, CR_SESSION_DIRTY), 0);
    S_OK(s, cr_field_set_text(b, name, "Bea"));
    S_OK(s, cr_session_delete(s, c));
    cr_objects *dirty = cr_session_objects(s, CR_SESSION_DIRTY);
    assert_non_null(dirty);
    assert_int_equal(dirty->count, 1);
    assert_ptr_equal(dirty->items[0], b);
    cr_objects_free(dirty);
    cr_objects *gone = cr_session_objects(s, CR_SESSION_DELETED);
    assert_non_null(gone);
    assert_int_equal(gone->count, 1);
    assert_ptr_equal(gone->items[0], c);
    cr_objects_free(gone);
    assert_null(cr_session_objects(NULL, CR_SESSION_NEW));
    assert_null(cr_session_objects(s, (cr_session_set)3));
    harness_session_free(s);
}

/* A new author with a's key, added: its flush fails (the key is taken). */
static EvAuthor *failing_twin(cr_session *s, const EvAuthor *a)
{
    EvAuthor *twin = author("Twin");
    twin->id = a->id;
    S_OK(s, cr_session_add(s, twin));
    assert_int_not_equal(cr_session_flush(s), CR_OK);
    return twin;
}

/* session.in_transaction(), in_nested_transaction(), is_modified(obj). */
static void test_session_state(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    assert_false(cr_session_in_transaction(s));
    EvAuthor *a = author("Ann");
    assert_false(cr_session_is_modified(s, a));   /* in no session */
    S_OK(s, cr_session_add(s, a));
    assert_false(cr_session_in_transaction(s));   /* nothing sent yet */
    assert_true(cr_session_is_modified(s, a));    /* pending, its name set */
    S_OK(s, cr_session_flush(s));
    assert_true(cr_session_in_transaction(s));
    assert_false(cr_session_in_nested_transaction(s));
    assert_false(cr_session_is_modified(s, a));
    S_OK(s, cr_field_set_text(a, name, "Ann Marie"));
    assert_true(cr_session_is_modified(s, a));
    S_OK(s, cr_session_flush(s));
    assert_false(cr_session_is_modified(s, a));
    EvPost *p = post(a, "p1");                    /* a collection changed */
    assert_true(cr_session_is_modified(s, a));
    S_OK(s, cr_session_begin_nested(s));          /* flushes first */
    assert_false(cr_session_is_modified(s, a));
    assert_false(cr_session_is_modified(s, p));
    assert_true(cr_session_in_nested_transaction(s));
    S_OK(s, cr_session_commit_nested(s));
    assert_false(cr_session_in_nested_transaction(s));
    S_OK(s, cr_session_commit(s));
    assert_false(cr_session_in_transaction(s));
    assert_false(cr_session_is_modified(s, a));   /* expired */
    /* A failed flush: the transaction waits for the rollback. */
    EvAuthor *twin = failing_twin(s, a);
    assert_true(cr_session_in_transaction(s));
    S_OK(s, cr_session_rollback(s));
    assert_false(cr_session_in_transaction(s));
    cr_object_free(twin);
    /* Inside a savepoint. */
    S_OK(s, cr_session_begin_nested(s));
    EvAuthor *again = failing_twin(s, a);
    assert_true(cr_session_in_nested_transaction(s));
    S_OK(s, cr_session_rollback_nested(s));
    assert_false(cr_session_in_nested_transaction(s));
    assert_true(cr_session_in_transaction(s));
    S_OK(s, cr_session_rollback(s));
    cr_object_free(again);
    cr_session *other = harness_session(engine, NULL);
    assert_false(cr_session_is_modified(other, a));
    assert_false(cr_session_is_modified(NULL, a));
    assert_false(cr_session_is_modified(s, NULL));
    assert_false(cr_session_in_transaction(NULL));
    assert_false(cr_session_in_nested_transaction(NULL));
    harness_session_free(other);
    harness_session_free(s);
}

/* before_flush runs at the start of every flush with something to write
 * (autoflush included), sees what it will write and adds to it. */
static void test_before_flush(void **state)
{
    (void)state;
    reset_session_events();
    cr_session *s = harness_session(engine, NULL);
    S_OK(s, cr_session_listen(s, CR_BEFORE_FLUSH, log_flush, NULL));
    EvAuthor *a = author("Ann"), *b = author("Bob");
    S_OK(s, cr_session_add_all(s, CR_OBJS(a, b)));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(before_flush_calls, 1);
    assert_int_equal(inside[0], CR_ERR_INVALID_REQUEST);   /* Session is already flushing */
    assert_int_equal(inside[1], CR_OK);                    /* a get: no row, no autoflush */
    assert_int_equal(log_rows("flush: 2 new, 0 dirty, 0 deleted"), 1);
    /* Nothing to write: not called. */
    S_OK(s, cr_session_flush(s));
    assert_int_equal(before_flush_calls, 1);
    /* An autoflush calls it. (The delete loads the expired b's posts first,
     * its autoflush finding nothing to write.) */
    S_OK(s, cr_session_delete(s, b));
    assert_int_equal(before_flush_calls, 1);
    S_OK(s, cr_field_set_text(a, name, "Ann Marie"));
    cr_stmt *q = cr_session_query(s, EvAuthor);
    cr_objects *all = harness_all(s, q);
    assert_int_equal(all->count, 1);
    cr_objects_free(all);
    cr_stmt_free(q);
    assert_int_equal(before_flush_calls, 2);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(log_rows("flush: 0 new, 1 dirty, 1 deleted"), 1);
    /* A listener's error stops the flush before anything is sent; the
     * session goes on. */
    S_OK(s, cr_field_set_text(a, name, "Ann"));
    before_flush_fails = CR_ERR_DATA;
    harness_log_reset();
    assert_int_equal(cr_session_flush(s), CR_ERR_DATA);
    assert_string_equal(cr_error_message(cr_session_error(s)),
                        "the session's before_flush listener returned DataError");
    ASSERT_STATEMENTS(0);
    before_flush_fails = CR_OK;
    S_OK(s, cr_session_commit(s));
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Ann'"), 1);
    harness_session_free(s);
}

/* after_commit, from a sessionmaker: once per commit, the session refused
 * inside, its error returned with the transaction committed. */
static void test_after_commit(void **state)
{
    (void)state;
    reset_session_events();
    cr_sessionmaker *maker = cr_sessionmaker_new(engine, NULL);
    assert_non_null(maker);
    assert_int_equal(cr_sessionmaker_listen(maker, CR_AFTER_COMMIT, note_commit, NULL), CR_OK);
    cr_session *s = cr_sessionmaker_session(maker);
    assert_non_null(s);
    S_OK(s, cr_session_add(s, author("Ann")));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(after_commit_calls, 1);
    assert_int_equal(inside[2], CR_ERR_INVALID_REQUEST);
    after_commit_fails = CR_ERR_OPERATIONAL;
    S_OK(s, cr_session_add(s, author("Bob")));
    assert_int_equal(cr_session_commit(s), CR_ERR_OPERATIONAL);
    assert_string_equal(cr_error_message(cr_session_error(s)),
                        "the session's after_commit listener returned OperationalError "
                        "(the transaction is committed)");
    assert_int_equal(count("SELECT count(*) FROM ev_authors"), 2);
    assert_int_equal(after_commit_calls, 2);
    /* A session made before a listener was added has none of it. */
    cr_session *plain = cr_session_new(engine, NULL);
    S_OK(plain, cr_session_add(plain, author("Cid")));
    S_OK(plain, cr_session_commit(plain));
    assert_int_equal(after_commit_calls, 2);
    cr_session_free(plain);
    cr_session_free(s);
    cr_sessionmaker_free(maker);
    /* Bad arguments. */
    assert_int_equal(cr_session_listen(NULL, CR_BEFORE_FLUSH, log_flush, NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_sessionmaker_listen(NULL, CR_AFTER_COMMIT, note_commit, NULL),
                     CR_ERR_ARGUMENT);
    cr_session *t = harness_session(engine, NULL);
    assert_int_equal(cr_session_listen(t, CR_BEFORE_FLUSH, NULL, NULL), CR_ERR_ARGUMENT);
    assert_int_equal(cr_session_listen(t, (cr_session_event)(CR_AFTER_ROLLBACK + 1), log_flush,
                                       NULL),
                     CR_ERR_ARGUMENT);
    harness_session_free(t);
}

/* ---- the transaction's events: after_begin, before_commit, after_flush,
 * after_flush_postexec, after_rollback ---- */

static struct {
    int calls;
    cr_status fails;           /* what the listener returns */
    cr_status inside;          /* what a session call inside it returned */
    cr_conn *conn;             /* the connection it was given */
} ev[CR_AFTER_ROLLBACK + 1];

static void reset_ev(void)
{
    memset(ev, 0, sizeof ev);
}

static int checked_out(void)
{
    cr_pool_status ps;
    assert_int_equal(cr_engine_pool_status(engine, &ps), CR_OK);
    return ps.checked_out;
}

/* after_begin: the session's calls refused, a statement on the connection
 * it took (in the transaction: committed or rolled back with it). */
static cr_status on_begin(cr_session *s, cr_conn *conn, void *userdata)
{
    (void)userdata;
    ev[CR_AFTER_BEGIN].calls++;
    ev[CR_AFTER_BEGIN].conn = conn;
    ev[CR_AFTER_BEGIN].inside = cr_session_get(s, EvAuthor, 1) ? CR_OK
                                                               : cr_error_class(cr_session_error(s));
    if (ev[CR_AFTER_BEGIN].fails)
        return ev[CR_AFTER_BEGIN].fails;
    return cr_conn_exec(conn, "INSERT INTO ev_log (what) VALUES ('begin')", NULL);
}

static void test_after_begin(void **state)
{
    (void)state;
    reset_ev();
    cr_session *s = harness_session(engine, NULL);
    S_OK(s, cr_session_listen(s, CR_AFTER_BEGIN, on_begin, NULL));
    assert_int_equal(ev[CR_AFTER_BEGIN].calls, 0);   /* no connection yet */
    S_OK(s, cr_session_add(s, author("Ann")));
    assert_int_equal(ev[CR_AFTER_BEGIN].calls, 0);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(ev[CR_AFTER_BEGIN].calls, 1);
    assert_non_null(ev[CR_AFTER_BEGIN].conn);
    assert_int_equal(ev[CR_AFTER_BEGIN].inside, CR_ERR_INVALID_REQUEST);
    assert_int_equal(log_rows("begin"), 1);   /* committed with the author */
    /* A query begins the next transaction; its rollback takes the row. */
    assert_non_null(cr_session_get(s, EvAuthor, 1));
    assert_int_equal(ev[CR_AFTER_BEGIN].calls, 2);
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(log_rows("begin"), 1);
    /* A failing listener fails the call that began; the connection goes
     * back; the next call begins again. */
    int before = checked_out();
    ev[CR_AFTER_BEGIN].fails = CR_ERR_DATA;
    assert_null(cr_session_get(s, EvAuthor, 1));
    assert_int_equal(cr_error_class(cr_session_error(s)), CR_ERR_DATA);
    assert_string_equal(cr_error_message(cr_session_error(s)),
                        "the session's after_begin listener returned DataError");
    assert_int_equal(checked_out(), before);
    ev[CR_AFTER_BEGIN].fails = CR_OK;
    assert_non_null(cr_session_get(s, EvAuthor, 1));
    assert_int_equal(ev[CR_AFTER_BEGIN].calls, 4);
    assert_int_equal(checked_out(), before + 1);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(log_rows("begin"), 2);
    harness_session_free(s);
}

/* after_flush: what the flush wrote, keys filled in, an audit row per
 * flush on its connection; on the first flush an EvLog object added, which
 * the commit flushes after. postexec: the session as it is after. */
static int postexec_new;

static cr_status on_flush(cr_session *s, cr_conn *conn, void *userdata)
{
    (void)userdata;
    int n = ++ev[CR_AFTER_FLUSH].calls;
    ev[CR_AFTER_FLUSH].conn = conn;
    if (ev[CR_AFTER_FLUSH].fails)
        return ev[CR_AFTER_FLUSH].fails;
    cr_objects *fresh = cr_session_objects(s, CR_SESSION_NEW);
    if (!fresh)
        return CR_ERR_NO_MEMORY;
    for (size_t i = 0; i < fresh->count; i++)
        if (cr_object_mapper(fresh->items[i]) == EvAuthor_model.mapper &&
            ((EvAuthor *)fresh->items[i])->id <= 0)
            ev[CR_AFTER_FLUSH].inside = CR_ERR_INTERNAL;   /* no key: noticed below */
    char what[80];
    snprintf(what, sizeof what, "after_flush %d: %zu new, %zu dirty, %zu deleted", n,
             fresh->count, count_of(s, CR_SESSION_DIRTY), count_of(s, CR_SESSION_DELETED));
    cr_objects_free(fresh);
    cr_status st = cr_conn_exec(conn, "INSERT INTO ev_log (what) VALUES (:w)",
                                CR_PARAMS({"w", cr_val_text(what)}));
    if (st)
        return st;
    if (!ev[CR_AFTER_FLUSH].inside)
        ev[CR_AFTER_FLUSH].inside = cr_session_flush(s);
    if (n == 1 || (intptr_t)userdata) {   /* userdata: every time (never settles) */
        EvLog *l = cr_new(EvLog);
        if (!l || cr_field_set_text(l, what, "added by after_flush") != CR_OK) {
            cr_object_free(l);
            return CR_ERR_NO_MEMORY;
        }
        return cr_session_add(s, l);
    }
    return CR_OK;
}

static cr_status on_postexec(cr_session *s, cr_conn *conn, void *userdata)
{
    (void)userdata;
    ev[CR_AFTER_FLUSH_POSTEXEC].calls++;
    ev[CR_AFTER_FLUSH_POSTEXEC].conn = conn;
    postexec_new = (int)count_of(s, CR_SESSION_NEW);
    return CR_OK;
}

/* An after_flush listener may expunge an object the flush wrote and free
 * it: the flush touches it no more (it had read the freed object while
 * listing what it wrote, and while letting go of its notes). */
static size_t listed_after_free;

static cr_status expunge_and_free(cr_session *s, cr_conn *conn, void *userdata)
{
    (void)conn, (void)userdata;
    cr_objects *fresh = cr_session_objects(s, CR_SESSION_NEW);
    if (!fresh)
        return CR_ERR_NO_MEMORY;
    EvAuthor *a = NULL;
    for (size_t i = 0; i < fresh->count && !a; i++)
        if (cr_object_mapper(fresh->items[i]) == EvAuthor_model.mapper)
            a = fresh->items[i];
    cr_objects_free(fresh);
    if (!a)
        return CR_ERR_INTERNAL;
    void *posts[4];
    size_t n = 0;
    CR_FOR_EACH(EvPost, p, &a->posts)
        if (n < 4)
            posts[n++] = p;
    cr_status st = cr_session_expunge(s, a);   /* the posts too: cascade "all" */
    if (st)
        return st;
    for (size_t i = 0; i < n; i++)
        if ((st = cr_object_free(posts[i])))
            return st;
    if ((st = cr_object_free(a)))
        return st;
    fresh = cr_session_objects(s, CR_SESSION_NEW);
    if (!fresh)
        return CR_ERR_NO_MEMORY;
    listed_after_free = fresh->count;   /* what the flush wrote: pointers only */
    cr_objects_free(fresh);
    return CR_OK;
}

static void test_after_flush_expunge(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    S_OK(s, cr_session_listen(s, CR_AFTER_FLUSH, expunge_and_free, NULL));
    EvAuthor *a = author("Ann");
    post(a, "p1");
    post(a, "p2");
    S_OK(s, cr_session_add(s, a));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(listed_after_free, 3);
    assert_int_equal(cr_session_identity_count(s), 0);
    assert_int_equal(count("SELECT count(*) FROM ev_posts"), 2);   /* written, committed */
    harness_session_free(s);
}

static void test_after_flush(void **state)
{
    (void)state;
    reset_ev();
    cr_session *s = harness_session(engine, NULL);
    S_OK(s, cr_session_listen(s, CR_AFTER_FLUSH, on_flush, NULL));
    S_OK(s, cr_session_listen(s, CR_AFTER_FLUSH_POSTEXEC, on_postexec, NULL));
    EvAuthor *a = author("Ann"), *b = author("Bob");
    S_OK(s, cr_session_add_all(s, CR_OBJS(a, b)));
    S_OK(s, cr_session_flush(s));
    assert_int_equal(ev[CR_AFTER_FLUSH].calls, 1);
    assert_int_equal(ev[CR_AFTER_FLUSH].inside, CR_ERR_INVALID_REQUEST);   /* already flushing */
    assert_non_null(ev[CR_AFTER_FLUSH].conn);
    assert_ptr_equal(ev[CR_AFTER_FLUSH_POSTEXEC].conn, ev[CR_AFTER_FLUSH].conn);
    assert_int_equal(ev[CR_AFTER_FLUSH_POSTEXEC].calls, 1);
    assert_int_equal(postexec_new, 1);   /* the EvLog after_flush added, not yet written */
    /* The commit flushes what the listener added, calling it again. */
    S_OK(s, cr_field_set_text(a, name, "Ann Marie"));
    S_OK(s, cr_session_delete(s, b));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(ev[CR_AFTER_FLUSH].calls, 2);
    assert_int_equal(ev[CR_AFTER_FLUSH_POSTEXEC].calls, 2);
    assert_int_equal(postexec_new, 0);
    assert_int_equal(log_rows("after_flush 1: 2 new, 0 dirty, 0 deleted"), 1);
    assert_int_equal(log_rows("after_flush 2: 1 new, 1 dirty, 1 deleted"), 1);
    assert_int_equal(log_rows("added by after_flush"), 1);
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Ann Marie'"), 1);
    /* An error fails the flush: the transaction rolled back, the session
     * waiting for its rollback. */
    ev[CR_AFTER_FLUSH].inside = CR_OK;
    ev[CR_AFTER_FLUSH].fails = CR_ERR_DATA;
    EvAuthor *c = author("Cid");
    S_OK(s, cr_session_add(s, c));
    assert_int_equal(cr_session_commit(s), CR_ERR_DATA);
    assert_string_equal(cr_error_message(cr_session_error(s)),
                        "the session's after_flush listener returned DataError");
    assert_int_equal(cr_session_flush(s), CR_ERR_PENDING_ROLLBACK);
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(cr_object_state_of(c), CR_STATE_TRANSIENT);
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Cid'"), 0);
    ev[CR_AFTER_FLUSH].fails = CR_OK;
    S_OK(s, cr_session_add(s, c));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Cid'"), 1);
    harness_session_free(s);
    /* A listener that never leaves the session clean: the commit gives up. */
    reset_ev();
    s = harness_session(engine, NULL);
    S_OK(s, cr_session_listen(s, CR_AFTER_FLUSH, on_flush, (void *)1));
    S_OK(s, cr_session_add(s, author("Dee")));
    assert_int_equal(cr_session_commit(s), CR_ERR_FLUSH);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "over 100 subsequent flushes"));
    assert_int_equal(ev[CR_AFTER_FLUSH].calls, 100);
    S_OK(s, cr_session_rollback(s));
    harness_session_free(s);
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Dee'"), 0);
}

/* before_commit: what it changes is committed; the session usable but for
 * ending the transaction; an error stops the commit, the transaction goes
 * on. */
static cr_status on_before_commit(cr_session *s, cr_conn *conn, void *userdata)
{
    ev[CR_BEFORE_COMMIT].calls++;
    ev[CR_BEFORE_COMMIT].conn = conn;
    if (ev[CR_BEFORE_COMMIT].fails)
        return ev[CR_BEFORE_COMMIT].fails;
    ev[CR_BEFORE_COMMIT].inside = cr_session_commit(s);
    if (cr_session_rollback(s) != CR_ERR_INVALID_REQUEST ||
        cr_session_close(s) != CR_ERR_INVALID_REQUEST)
        ev[CR_BEFORE_COMMIT].inside = CR_ERR_INTERNAL;
    EvAuthor *a = userdata;
    char name[60];
    snprintf(name, sizeof name, "%s (checked)", a->name);
    return cr_field_set_text(a, name, name);
}

static void test_before_commit(void **state)
{
    (void)state;
    reset_ev();
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann");
    S_OK(s, cr_session_listen(s, CR_BEFORE_COMMIT, on_before_commit, a));
    S_OK(s, cr_session_add(s, a));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(ev[CR_BEFORE_COMMIT].calls, 1);
    assert_null(ev[CR_BEFORE_COMMIT].conn);   /* nothing had begun */
    assert_int_equal(ev[CR_BEFORE_COMMIT].inside, CR_ERR_INVALID_REQUEST);
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Ann (checked)'"), 1);
    /* A savepoint's commit calls it too. */
    S_OK(s, cr_session_begin_nested(s));
    S_OK(s, cr_session_commit_nested(s));
    assert_int_equal(ev[CR_BEFORE_COMMIT].calls, 2);
    assert_non_null(ev[CR_BEFORE_COMMIT].conn);
    /* An error: nothing committed, the transaction goes on. */
    ev[CR_BEFORE_COMMIT].fails = CR_ERR_INTEGRITY;
    S_OK(s, cr_session_add(s, author("Bob")));
    assert_int_equal(cr_session_commit(s), CR_ERR_INTEGRITY);
    assert_string_equal(cr_error_message(cr_session_error(s)),
                        "the session's before_commit listener returned IntegrityError");
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Bob'"), 0);
    ev[CR_BEFORE_COMMIT].fails = CR_OK;
    S_OK(s, cr_session_commit(s));
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Bob'"), 1);
    harness_session_free(s);
}

/* after_rollback: once per rollback the database made, objects not yet
 * restored, the session refused inside; not for a rollback with nothing
 * begun, nor for the rollback after a failed flush (made by the flush). */
static cr_object_state state_inside;

static cr_status on_rollback(cr_session *s, cr_conn *conn, void *userdata)
{
    ev[CR_AFTER_ROLLBACK].calls++;
    ev[CR_AFTER_ROLLBACK].conn = conn;
    state_inside = cr_object_state_of(userdata);
    ev[CR_AFTER_ROLLBACK].inside = cr_session_flush(s);
    return ev[CR_AFTER_ROLLBACK].fails;
}

static void test_after_rollback(void **state)
{
    (void)state;
    reset_ev();
    cr_session *s = harness_session(engine, NULL);
    EvAuthor *a = author("Ann");
    S_OK(s, cr_session_listen(s, CR_AFTER_ROLLBACK, on_rollback, a));
    S_OK(s, cr_session_rollback(s));   /* nothing begun */
    assert_int_equal(ev[CR_AFTER_ROLLBACK].calls, 0);
    S_OK(s, cr_session_add(s, a));
    S_OK(s, cr_session_flush(s));
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(ev[CR_AFTER_ROLLBACK].calls, 1);
    assert_null(ev[CR_AFTER_ROLLBACK].conn);
    assert_int_equal(state_inside, CR_STATE_PERSISTENT);   /* not yet restored */
    assert_int_equal(cr_object_state_of(a), CR_STATE_TRANSIENT);
    assert_int_equal(ev[CR_AFTER_ROLLBACK].inside, CR_ERR_INVALID_REQUEST);
    /* A savepoint's rollback. */
    S_OK(s, cr_session_add(s, a));
    S_OK(s, cr_session_commit(s));
    S_OK(s, cr_session_begin_nested(s));
    S_OK(s, cr_field_set_text(a, name, "Ann Marie"));
    S_OK(s, cr_session_rollback_nested(s));
    assert_int_equal(ev[CR_AFTER_ROLLBACK].calls, 2);
    /* A failed flush rolls back at once; the later rollback calls none. */
    EvAuthor *twin = failing_twin(s, a);
    assert_int_equal(ev[CR_AFTER_ROLLBACK].calls, 3);
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(ev[CR_AFTER_ROLLBACK].calls, 3);
    assert_int_equal(cr_object_state_of(twin), CR_STATE_TRANSIENT);
    cr_object_free(twin);
    /* An error is the rollback's, the transaction rolled back all the same. */
    ev[CR_AFTER_ROLLBACK].fails = CR_ERR_OPERATIONAL;
    S_OK(s, cr_field_set_text(a, name, "Ann Lee"));
    S_OK(s, cr_session_flush(s));
    assert_int_equal(cr_session_rollback(s), CR_ERR_OPERATIONAL);
    assert_string_equal(cr_error_message(cr_session_error(s)),
                        "the session's after_rollback listener returned OperationalError "
                        "(the transaction is rolled back)");
    assert_int_equal(count("SELECT count(*) FROM ev_authors WHERE name = 'Ann'"), 1);
    assert_string_equal(a->name, "Ann");
    harness_session_free(s);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    md = cr_metadata_new(NULL);
    if (!md || EvAuthor_define(md) || EvPost_define(md) || EvLog_define(md) ||
        cr_metadata_configure(md) ||
        cr_listen(EvAuthor, CR_BEFORE_INSERT, stamp_author, "before_insert") ||
        cr_listen(EvAuthor, CR_AFTER_INSERT, log_author, "after_insert") ||
        cr_listen(EvAuthor, CR_BEFORE_UPDATE, stamp_author, "before_update") ||
        cr_listen(EvAuthor, CR_AFTER_UPDATE, record, "after_update") ||
        cr_listen(EvAuthor, CR_BEFORE_DELETE, record, "before_delete") ||
        cr_listen(EvAuthor, CR_AFTER_DELETE, record, "after_delete") ||
        cr_listen(EvPost, CR_BEFORE_INSERT, record, "before_insert") ||
        cr_listen(EvPost, CR_AFTER_INSERT, check_post, "after_insert") ||
        cr_listen(EvPost, CR_BEFORE_DELETE, record, "before_delete") ||
        cr_listen(EvPost, CR_AFTER_DELETE, record, "after_delete") ||
        cr_listen(EvAuthor, CR_LOAD, on_loaded, "load") ||
        cr_listen(EvAuthor, CR_REFRESH, on_loaded, "refresh") ||
        cr_listen(EvPost, CR_LOAD, on_loaded, "load")) {
        fprintf(stderr, "models: %s\n", md ? cr_error_message(cr_metadata_error(md)) : "no memory");
        return 1;
    }
    engine = harness_orm_engine(md);
#define T(f) cmocka_unit_test_setup_teardown(f, setup, harness_free_sessions)
    const struct CMUnitTest tests[] = {
        T(test_insert_events),
        T(test_update_events),
        T(test_delete_events),
        T(test_row_switch_event),
        T(test_listener_refuses),
        T(test_listener_statement_fails),
        T(test_listener_session_refused),
        T(test_listen_arguments),
        T(test_load_refresh_events),
        T(test_load_listener_sets_fields),
        T(test_load_listener_fails),
        T(test_session_objects),
        T(test_session_state),
        T(test_before_flush),
        T(test_after_commit),
        T(test_after_begin),
        T(test_after_flush),
        T(test_after_flush_expunge),
        T(test_before_commit),
        T(test_after_rollback),
    };
    int failed = HARNESS_RUN("orm_events", NULL, tests, harness_orm_teardown);
    cr_engine_free(engine);
    cr_metadata_free(md);
    harness_cleanup();
    return failed ? 1 : 0;
}
