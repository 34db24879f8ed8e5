/* test_rel_loading.c — relationship loading and criteria against a real SQLite, PostgreSQL or
 * MariaDB: joinedload under LIMIT / OFFSET (a subquery), through a secondary table and down a
 * chain, contains_eager, any / has / with_parent, and filters on a joined model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- models (tables no other suite uses) ---- */

#define LUSER(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(50),  .nullable = CR_NO)
#define LUSER_RELS(R)                                                                  \
    R(posts,   MANY(LPost),    .back_populates = "author", .order_by = "id")           \
    R(liked,   MANY(LPost),    .secondary = "rl_likes", .order_by = "id")
CR_MODEL(LUser, "rl_users", LUSER, LUSER_RELS)

#define LPOST(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(title,   STRING(100), .nullable = CR_NO)                                         \
    F(user_id, INTEGER,     .foreign_key = "rl_users.id")
#define LPOST_RELS(R)                                                                  \
    R(author,  ONE(LUser))                                                             \
    R(tags,    MANY(LTag),     .secondary = "rl_post_tags", .order_by = "id")
CR_MODEL(LPost, "rl_posts", LPOST, LPOST_RELS)

#define LTAG(F)                                                                        \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(20))
CR_MODEL(LTag, "rl_tags", LTAG)

#define LLIKES(F)                                                                      \
    F(user_id, INTEGER, .primary_key = true, .autoincrement = CR_NO,                   \
                        .foreign_key = "rl_users.id")                                  \
    F(post_id, INTEGER, .primary_key = true, .autoincrement = CR_NO,                   \
                        .foreign_key = "rl_posts.id")
CR_DECLARE_TABLE(LLikes, LLIKES)

#define LPOSTTAGS(F)                                                                   \
    F(post_id, INTEGER, .primary_key = true, .autoincrement = CR_NO,                   \
                        .foreign_key = "rl_posts.id")                                  \
    F(tag_id,  INTEGER, .primary_key = true, .autoincrement = CR_NO,                   \
                        .foreign_key = "rl_tags.id")
CR_DECLARE_TABLE(LPostTags, LPOSTTAGS)

/* Eager by default: a user's posts join, their marks load with SELECT ...
 * IN, its tasks load lazily. */
#define EUSER(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(50),  .nullable = CR_NO)
#define EUSER_RELS(R)                                                                  \
    R(posts,   MANY(EPost),    .back_populates = "author", .order_by = "id",           \
                               .lazy = CR_LOAD_JOINED)                                 \
    R(tasks,   MANY(ETask),    .order_by = "id")
CR_MODEL(EUser, "re_users", EUSER, EUSER_RELS)

#define EPOST(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(title,   STRING(100), .nullable = CR_NO)                                         \
    F(user_id, INTEGER,     .foreign_key = "re_users.id")
#define EPOST_RELS(R)                                                                  \
    R(author,  ONE(EUser))                                                             \
    R(marks,   MANY(EMark),    .order_by = "id", .lazy = CR_LOAD_SELECTIN)
CR_MODEL(EPost, "re_posts", EPOST, EPOST_RELS)

#define EMARK(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(post_id, INTEGER,     .foreign_key = "re_posts.id")
CR_MODEL(EMark, "re_marks", EMARK)

#define ETASK(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(user_id, INTEGER,     .foreign_key = "re_users.id")
CR_MODEL(ETask, "re_tasks", ETASK)

static cr_metadata *md;
static cr_engine *engine;
static LLikes likes;
static LPostTags post_tags;

#define S_OK(s, call) ASSERT_OK(call, cr_session_error(s))

static LPost *post(const char *title)
{
    LPost *p = cr_new(LPost);
    assert_non_null(p);
    p->title = (char *)title;
    return p;
}

/* ann (1): a1, a2; bob (2): b1, b2, b3; cid (3): none; dan (4): d1. Tags:
 * a1 t1 t2, b1 t1. Likes: ann b1 b2, bob a1. Committed, session closed. */
static void seed(void)
{
    cr_session *s = harness_session(engine, NULL);
    const char *names[] = {"ann", "bob", "cid", "dan"};
    LUser *u[4];
    for (size_t i = 0; i < 4; i++) {
        u[i] = cr_new(LUser);
        assert_non_null(u[i]);
        u[i]->name = (char *)names[i];
    }
    LPost *a1 = post("a1"), *b1 = post("b1"), *b2 = post("b2");
    S_OK(s, cr_append(u[0], posts, a1));
    S_OK(s, cr_append(u[0], posts, post("a2")));
    S_OK(s, cr_append(u[1], posts, b1));
    S_OK(s, cr_append(u[1], posts, b2));
    S_OK(s, cr_append(u[1], posts, post("b3")));
    S_OK(s, cr_append(u[3], posts, post("d1")));
    LTag *t1 = cr_new(LTag), *t2 = cr_new(LTag);
    t1->name = "t1";
    t2->name = "t2";
    S_OK(s, cr_append(a1, tags, t1));
    S_OK(s, cr_append(a1, tags, t2));
    S_OK(s, cr_append(b1, tags, t1));
    S_OK(s, cr_append(u[0], liked, b1));
    S_OK(s, cr_append(u[0], liked, b2));
    S_OK(s, cr_append(u[1], liked, a1));
    S_OK(s, cr_session_add_all(s, CR_OBJS(u[0], u[1], u[2], u[3])));
    S_OK(s, cr_session_commit(s));
    harness_session_free(s);
    harness_log_reset();
}

/* The titles of a collection of posts, "a1,a2". */
static const char *titles(const cr_collection *c)
{
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; i < c->count; i++) {
        strcat(buf, i ? "," : "");
        strcat(buf, ((LPost *)c->items[i])->title);
    }
    return buf;
}

static const char *names_of(const cr_objects *list)
{
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; i < list->count; i++) {
        strcat(buf, i ? "," : "");
        strcat(buf, ((LUser *)list->items[i])->name);
    }
    return buf;
}

/* ---- joinedload with LIMIT / OFFSET ---- */

static void test_joined_limit_offset(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    cr_stmt *q = cr_session_query(s, LUser);
    cr_order_by(q, LUser_model.c.id);
    cr_limit(q, 2);
    cr_offset(q, 1);
    cr_joinedload(q, LUser_model.r.posts);
    harness_log_reset();
    cr_objects *users = harness_all(s, q);
    ASSERT_STATEMENTS(1);   /* the users limited in a subquery, their posts joined to it */
    ASSERT_SENT_TEXT("FROM (SELECT rl_users.id");
    ASSERT_SENT_TEXT(") AS anon_1 LEFT OUTER JOIN rl_posts AS rl_posts_1 ON anon_1.id = "
                     "rl_posts_1.user_id ORDER BY anon_1.id, rl_posts_1.id");
    assert_string_equal(names_of(users), "bob,cid");
    LUser *bob = users->items[0], *cid = users->items[1];
    assert_true(cr_is_loaded(bob, posts));
    assert_true(cr_is_loaded(cid, posts));
    assert_string_equal(titles(&bob->posts), "b1,b2,b3");
    assert_int_equal(cid->posts.count, 0);
    cr_objects_free(users);
    /* q was lent to the subquery for the run only: it runs again as it was */
    harness_log_reset();
    users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    assert_string_equal(names_of(users), "bob,cid");
    cr_objects_free(users);
    cr_stmt_free(q);
    /* descending, the last two, and the count still counts parents */
    q = cr_session_query(s, LUser);
    cr_order_by(q, cr_desc(q, LUser_model.c.id));
    cr_limit(q, 2);
    cr_joinedload(q, LUser_model.r.posts);
    S_OK(s, cr_session_expire_all(s));
    harness_log_reset();
    users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    ASSERT_SENT_TEXT("ORDER BY anon_1.id DESC, rl_posts_1.id");
    assert_string_equal(names_of(users), "dan,cid");
    assert_string_equal(titles(&((LUser *)users->items[0])->posts), "d1");
    cr_objects_free(users);
    int64_t n = 0;
    S_OK(s, cr_query_count(q, &n));
    assert_int_equal(n, 2);
    cr_stmt_free(q);
    /* ordered by an expression: a labelled column of the subquery */
    q = cr_session_query(s, LUser);
    cr_order_by(q, cr_desc(q, cr_lower(q, LUser_model.c.name)));
    cr_offset(q, 1);
    cr_limit(q, 2);
    cr_joinedload(q, LUser_model.r.posts);
    harness_log_reset();
    users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    ASSERT_SENT_TEXT("lower(rl_users.name) AS anon_order_1");
    ASSERT_SENT_TEXT("ORDER BY anon_1.anon_order_1 DESC, rl_posts_1.id");
    assert_string_equal(names_of(users), "cid,bob");
    assert_string_equal(titles(&((LUser *)users->items[1])->posts), "b1,b2,b3");
    cr_objects_free(users);
    /* the label was the run's only */
    harness_log_reset();
    users = harness_all(s, q);
    assert_int_equal(harness_statements(), 1);
    assert_string_equal(names_of(users), "cid,bob");
    cr_objects_free(users);
    cr_stmt_free(q);
    /* DISTINCT: the same subquery */
    q = cr_session_query(s, LUser);
    cr_join_related(q, LUser_model.r.liked);
    cr_distinct(q);
    cr_order_by(q, LUser_model.c.id);
    cr_joinedload(q, LUser_model.r.posts);
    harness_log_reset();
    users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    ASSERT_SENT_TEXT("FROM (SELECT DISTINCT rl_users.id");
    assert_string_equal(names_of(users), "ann,bob");
    assert_string_equal(titles(&((LUser *)users->items[0])->posts), "a1,a2");
    cr_objects_free(users);
    cr_stmt_free(q);
    harness_session_free(s);
}

static void test_joined_first_and_one(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    cr_stmt *q = cr_session_query(s, LUser);
    cr_order_by(q, LUser_model.c.name);
    cr_filter(q, cr_ne(q, LUser_model.c.name, "ann"));
    cr_joinedload(q, LUser_model.r.posts);
    harness_log_reset();
    LUser *bob = cr_query_first(q);   /* LIMIT 1 in the subquery: all three posts */
    if (!bob)
        print_error("%s\n", cr_error_message(cr_session_error(s)));
    assert_non_null(bob);
    ASSERT_STATEMENTS(1);
    ASSERT_SENT_TEXT("AS anon_1 LEFT OUTER JOIN");
    assert_string_equal(bob->name, "bob");
    assert_string_equal(titles(&bob->posts), "b1,b2,b3");
    cr_stmt_free(q);
    harness_session_free(s);
    /* one(): no LIMIT; the rows of one parent make one object */
    s = harness_session(engine, NULL);
    q = cr_session_query(s, LUser);
    cr_filter_by(q, "name", "bob");
    cr_joinedload(q, LUser_model.r.posts);
    bob = cr_query_one(q);
    assert_non_null(bob);
    assert_string_equal(titles(&bob->posts), "b1,b2,b3");
    cr_stmt_free(q);
    /* two parents: one() says so */
    q = cr_session_query(s, LUser);
    cr_filter(q, cr_ne(q, LUser_model.c.name, "cid"));
    cr_joinedload(q, LUser_model.r.posts);
    assert_null(cr_query_one(q));
    assert_int_equal(cr_error_class(cr_session_error(s)), CR_ERR_MULTIPLE_RESULTS);
    cr_stmt_free(q);
    harness_session_free(s);
}

/* A many-to-one joined under a LIMIT needs no subquery. */
static void test_joined_many_to_one_limit(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    cr_stmt *q = cr_session_query(s, LPost);
    cr_order_by(q, LPost_model.c.id);
    cr_limit(q, 2);
    cr_joinedload(q, LPost_model.r.author);
    harness_log_reset();
    cr_objects *posts = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    assert_null(strstr(harness_log, "anon_1"));
    ASSERT_SENT_TEXT("LEFT OUTER JOIN rl_users AS rl_users_1");
    assert_int_equal(posts->count, 2);
    LPost *a1 = posts->items[0];
    assert_true(cr_is_loaded(a1, author));
    assert_string_equal(a1->author->name, "ann");
    cr_objects_free(posts);
    cr_stmt_free(q);
    harness_session_free(s);
}

/* ---- joinedload through a secondary table, and down a chain ---- */

static void test_joined_many_to_many(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    cr_stmt *q = cr_session_query(s, LUser);
    cr_order_by(q, LUser_model.c.id);
    cr_joinedload(q, LUser_model.r.liked);
    harness_log_reset();
    cr_objects *users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    ASSERT_SENT_TEXT("LEFT OUTER JOIN rl_likes AS rl_likes_1 ON rl_users.id = rl_likes_1.user_id "
                     "LEFT OUTER JOIN rl_posts AS rl_posts_2 ON rl_posts_2.id = "
                     "rl_likes_1.post_id");
    assert_int_equal(users->count, 4);
    LUser *ann = users->items[0], *bob = users->items[1], *cid = users->items[2];
    assert_true(cr_is_loaded(ann, liked));
    assert_string_equal(titles(&ann->liked), "b1,b2");
    assert_string_equal(titles(&bob->liked), "a1");
    assert_true(cr_is_loaded(cid, liked));
    assert_int_equal(cid->liked.count, 0);
    cr_objects_free(users);
    cr_stmt_free(q);
    /* and under a LIMIT */
    S_OK(s, cr_session_expire_all(s));
    q = cr_session_query(s, LUser);
    cr_order_by(q, LUser_model.c.id);
    cr_limit(q, 1);
    cr_joinedload(q, LUser_model.r.liked);
    harness_log_reset();
    users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    assert_string_equal(names_of(users), "ann");
    assert_string_equal(titles(&((LUser *)users->items[0])->liked), "b1,b2");
    cr_objects_free(users);
    cr_stmt_free(q);
    harness_session_free(s);
}

static void check_chain(cr_objects *users)
{
    LUser *ann = users->items[0], *bob = users->items[1];
    assert_string_equal(ann->name, "ann");
    assert_string_equal(titles(&ann->posts), "a1,a2");
    LPost *a1 = ann->posts.items[0], *a2 = ann->posts.items[1];
    assert_true(cr_is_loaded(a1, tags));
    assert_true(cr_is_loaded(a2, tags));
    assert_int_equal(a1->tags.count, 2);
    assert_string_equal(((LTag *)a1->tags.items[0])->name, "t1");
    assert_string_equal(((LTag *)a1->tags.items[1])->name, "t2");
    assert_int_equal(a2->tags.count, 0);
    assert_int_equal(((LPost *)bob->posts.items[0])->tags.count, 1);
    assert_ptr_equal(((LPost *)bob->posts.items[0])->tags.items[0], a1->tags.items[0]);
    assert_ptr_equal(a1->author, ann);   /* the back side, from the same rows */
}

static void test_joined_chain(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    cr_stmt *q = cr_session_query(s, LUser);
    cr_order_by(q, LUser_model.c.id);
    cr_joinedload(q, LUser_model.r.posts, LPost_model.r.tags);
    harness_log_reset();
    cr_objects *users = harness_all(s, q);
    ASSERT_STATEMENTS(1);   /* users, posts, post_tags, tags: one statement */
    ASSERT_SENT_TEXT("LEFT OUTER JOIN rl_posts AS rl_posts_1 ON rl_users.id = rl_posts_1.user_id "
                     "LEFT OUTER JOIN rl_post_tags AS rl_post_tags_2 ON rl_posts_1.id = "
                     "rl_post_tags_2.post_id LEFT OUTER JOIN rl_tags AS rl_tags_3");
    assert_int_equal(users->count, 4);
    check_chain(users);
    cr_objects_free(users);
    cr_stmt_free(q);
    harness_session_free(s);
    /* the chain under a LIMIT: joined to the subquery */
    s = harness_session(engine, NULL);
    q = cr_session_query(s, LUser);
    cr_order_by(q, LUser_model.c.id);
    cr_limit(q, 2);
    cr_joinedload(q, LUser_model.r.posts, LPost_model.r.tags);
    harness_log_reset();
    users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    ASSERT_SENT_TEXT("AS anon_1 LEFT OUTER JOIN rl_posts AS rl_posts_1 ON anon_1.id = "
                     "rl_posts_1.user_id");
    assert_string_equal(names_of(users), "ann,bob");
    check_chain(users);
    cr_objects_free(users);
    cr_stmt_free(q);
    harness_session_free(s);
}

/* ---- contains_eager ---- */

static void test_contains_eager(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    cr_stmt *q = cr_session_query(s, LUser);
    cr_join_related(q, LUser_model.r.posts);
    cr_filter(q, cr_like(q, LPost_model.c.title, "%1"));
    cr_order_by(q, LUser_model.c.id, LPost_model.c.id);
    cr_contains_eager(q, LUser_model.r.posts);
    harness_log_reset();
    cr_objects *users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    ASSERT_SENT_TEXT("SELECT rl_users.id, rl_users.name, rl_posts.id, rl_posts.title, "
                     "rl_posts.user_id  FROM rl_users JOIN rl_posts");
    assert_string_equal(names_of(users), "ann,bob,dan");
    LUser *ann = users->items[0], *bob = users->items[1];
    /* only the rows that matched, as SQLAlchemy's contains_eager */
    assert_true(cr_is_loaded(ann, posts));
    assert_string_equal(titles(&ann->posts), "a1");
    assert_string_equal(titles(&bob->posts), "b1");
    assert_ptr_equal(((LPost *)bob->posts.items[0])->author, bob);
    cr_objects_free(users);
    /* run again: the columns are added for the run only */
    harness_log_reset();
    users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    assert_int_equal(users->count, 3);
    cr_objects_free(users);
    cr_stmt_free(q);
    /* a many-to-many, joined by the query */
    q = cr_session_query(s, LUser);
    cr_join_related(q, LUser_model.r.liked);
    cr_filter(q, cr_eq(q, LPost_model.c.title, "b2"));
    cr_contains_eager(q, LUser_model.r.liked);
    S_OK(s, cr_session_expire_all(s));
    users = harness_all(s, q);
    assert_string_equal(names_of(users), "ann");
    assert_string_equal(titles(&((LUser *)users->items[0])->liked), "b2");
    cr_objects_free(users);
    cr_stmt_free(q);
    /* down a chain: posts and their tags from the same rows */
    q = cr_session_query(s, LUser);
    cr_join_related(q, LUser_model.r.posts);
    cr_join_related(q, LPost_model.r.tags);
    cr_filter(q, cr_eq(q, LTag_model.c.name, "t1"));
    cr_order_by(q, LUser_model.c.id);
    cr_contains_eager(q, LUser_model.r.posts, LPost_model.r.tags);
    S_OK(s, cr_session_expire_all(s));
    harness_log_reset();
    users = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    assert_string_equal(names_of(users), "ann,bob");
    LPost *a1 = ((LUser *)users->items[0])->posts.items[0];
    assert_string_equal(titles(&((LUser *)users->items[0])->posts), "a1");
    assert_true(cr_is_loaded(a1, tags));
    assert_int_equal(a1->tags.count, 1);   /* t2 did not match */
    assert_string_equal(((LTag *)a1->tags.items[0])->name, "t1");
    cr_objects_free(users);
    cr_stmt_free(q);
    /* a many-to-one: each post's author from its own row */
    q = cr_session_query(s, LPost);
    cr_join_related(q, LPost_model.r.author);
    cr_filter(q, cr_eq(q, LUser_model.c.name, "bob"));
    cr_order_by(q, LPost_model.c.id);
    cr_contains_eager(q, LPost_model.r.author);
    S_OK(s, cr_session_expire_all(s));
    harness_log_reset();
    cr_objects *posts = harness_all(s, q);
    ASSERT_STATEMENTS(1);
    assert_int_equal(posts->count, 3);
    for (size_t i = 0; i < posts->count; i++) {
        LPost *p = posts->items[i];
        assert_true(cr_is_loaded(p, author));
        assert_non_null(p->author);
        assert_string_equal(p->author->name, "bob");
    }
    cr_objects_free(posts);
    cr_stmt_free(q);
    /* no join: an error at the run */
    q = cr_session_query(s, LUser);
    cr_contains_eager(q, LUser_model.r.posts);
    assert_null(cr_query_all(q));
    assert_int_equal(cr_error_class(cr_session_error(s)), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "cr_join_related"));
    cr_stmt_free(q);
    harness_session_free(s);
}

/* ---- any, has, with_parent; filters on a joined model ---- */

static cr_objects *users_where(cr_session *s, cr_stmt *q)
{
    cr_order_by(q, LUser_model.c.id);
    cr_objects *users = harness_all(s, q);
    cr_stmt_free(q);
    return users;
}

static void expect_users(cr_session *s, cr_stmt *q, const char *names)
{
    cr_objects *users = users_where(s, q);
    assert_string_equal(names_of(users), names);
    cr_objects_free(users);
}

static void test_any_has(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    cr_stmt *q = cr_session_query(s, LUser);
    cr_filter(q, cr_any(q, LUser_model.r.posts, cr_eq(q, LPost_model.c.title, "b2")));
    harness_log_reset();
    expect_users(s, q, "bob");
    ASSERT_SENT_TEXT("WHERE EXISTS (SELECT rl_posts.id  FROM rl_posts  WHERE rl_users.id = "
                     "rl_posts.user_id AND rl_posts.title = ");
    q = cr_session_query(s, LUser);
    cr_filter(q, cr_any(q, LUser_model.r.posts, NULL));
    expect_users(s, q, "ann,bob,dan");
    q = cr_session_query(s, LUser);
    cr_filter(q, cr_not(q, cr_any(q, LUser_model.r.posts, NULL)));
    expect_users(s, q, "cid");
    /* many-to-many: through the secondary */
    q = cr_session_query(s, LUser);
    cr_filter(q, cr_any(q, LUser_model.r.liked, cr_eq(q, LPost_model.c.title, "a1")));
    harness_log_reset();
    expect_users(s, q, "bob");
    ASSERT_SENT_TEXT("EXISTS (SELECT rl_posts.id  FROM rl_posts, rl_likes  WHERE");
    /* has: a many-to-one */
    q = cr_session_query(s, LPost);
    cr_filter(q, cr_has(q, LPost_model.r.author, cr_eq(q, LUser_model.c.name, "ann")));
    cr_order_by(q, LPost_model.c.id);
    cr_objects *posts = harness_all(s, q);
    assert_int_equal(posts->count, 2);
    assert_string_equal(((LPost *)posts->items[1])->title, "a2");
    cr_objects_free(posts);
    cr_stmt_free(q);
    /* with the join of the same table in the query: correlated all the same */
    q = cr_session_query(s, LUser);
    cr_join_related(q, LUser_model.r.posts);
    cr_filter(q, cr_eq(q, LPost_model.c.title, "a2"));
    cr_filter(q, cr_any(q, LUser_model.r.posts, cr_eq(q, LPost_model.c.title, "a1")));
    expect_users(s, q, "ann");
    harness_session_free(s);
}

static void test_with_parent(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    LUser *ann = cr_session_get(s, LUser, 1), *bob = cr_session_get(s, LUser, 2);
    assert_non_null(ann);
    assert_non_null(bob);
    cr_stmt *q = cr_session_query(s, LPost);
    cr_filter(q, cr_with_parent(q, bob, LUser_model.r.posts));
    cr_order_by(q, LPost_model.c.id);
    harness_log_reset();
    cr_objects *posts = harness_all(s, q);
    ASSERT_SENT_TEXT("WHERE rl_posts.user_id = ");
    assert_int_equal(posts->count, 3);
    assert_string_equal(((LPost *)posts->items[2])->title, "b3");
    cr_objects_free(posts);
    cr_stmt_free(q);
    /* many-to-many: ann's liked posts */
    q = cr_session_query(s, LPost);
    cr_filter(q, cr_with_parent(q, ann, LUser_model.r.liked));
    cr_order_by(q, LPost_model.c.id);
    harness_log_reset();
    posts = harness_all(s, q);
    ASSERT_SENT_TEXT("WHERE EXISTS (SELECT rl_likes.post_id  FROM rl_likes  WHERE rl_posts.id = "
                     "rl_likes.post_id AND rl_likes.user_id = ");
    assert_int_equal(posts->count, 2);
    assert_string_equal(((LPost *)posts->items[0])->title, "b1");
    assert_string_equal(((LPost *)posts->items[1])->title, "b2");
    cr_objects_free(posts);
    cr_stmt_free(q);
    /* many-to-one: the author of a post */
    LPost *d1 = cr_session_get(s, LPost, 6);
    assert_non_null(d1);
    q = cr_session_query(s, LUser);
    cr_filter(q, cr_with_parent(q, d1, LPost_model.r.author));
    expect_users(s, q, "dan");
    harness_session_free(s);
}

static void test_filter_on_joined_model(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    cr_stmt *q = cr_session_query(s, LUser);
    cr_join_related(q, LUser_model.r.posts);
    cr_filter(q, cr_eq(q, LPost_model.c.title, "d1"));
    expect_users(s, q, "dan");
    q = cr_session_query(s, LUser);
    cr_join_related(q, LUser_model.r.liked);
    cr_filter(q, cr_startswith(q, LPost_model.c.title, "b"));
    expect_users(s, q, "ann");   /* once, for her two liked posts */
    q = cr_session_query(s, LUser);
    cr_outerjoin_related(q, LUser_model.r.posts);
    cr_filter(q, cr_is_null(q, LPost_model.c.id));
    expect_users(s, q, "cid");
    harness_session_free(s);
}

/* ---- bad input ---- */

static void expect_error(cr_session *s, cr_stmt *q, cr_status cls, const char *words)
{
    assert_null(cr_query_all(q));
    const cr_error *e = cr_session_error(s);
    if (cr_error_class(e) != cls || !strstr(cr_error_message(e), words))
        print_error("%s: %s\n", cr_status_name(cr_error_class(e)), cr_error_message(e));
    assert_int_equal(cr_error_class(e), cls);
    assert_non_null(strstr(cr_error_message(e), words));
    cr_stmt_free(q);
}

static void test_bad_input(void **state)
{
    (void)state;
    seed();
    cr_session *s = harness_session(engine, NULL);
    LUser *ann = cr_session_get(s, LUser, 1);
    assert_non_null(ann);
    cr_stmt *q = cr_session_query(s, LPost);   /* a relationship of another model */
    assert_null(cr_any(q, LUser_model.r.posts, NULL));
    expect_error(s, q, CR_ERR_ARGUMENT, "another model");
    q = cr_session_query(s, LUser);
    assert_null(cr_any(q, NULL, NULL));
    expect_error(s, q, CR_ERR_ARGUMENT, "NULL");
    q = cr_session_query(s, LPost);
    assert_null(cr_any(q, LPost_model.r.author, NULL));
    expect_error(s, q, CR_ERR_INVALID_REQUEST, "use has()");
    q = cr_session_query(s, LUser);
    assert_null(cr_has(q, LUser_model.r.posts, NULL));
    expect_error(s, q, CR_ERR_INVALID_REQUEST, "use any()");
    q = cr_session_query(s, LPost);
    assert_null(cr_with_parent(q, NULL, LUser_model.r.posts));
    expect_error(s, q, CR_ERR_ARGUMENT, "NULL");
    q = cr_session_query(s, LPost);
    assert_null(cr_with_parent(q, ann, LPost_model.r.tags));   /* ann is no post */
    expect_error(s, q, CR_ERR_ARGUMENT, "not a LPost");
    q = cr_session_query(s, LUser);   /* the statement reads no posts */
    assert_null(cr_with_parent(q, ann, LUser_model.r.posts));
    expect_error(s, q, CR_ERR_ARGUMENT, "does not read");
    int fake[16] = {0};
    q = cr_session_query(s, LPost);
    assert_null(cr_with_parent(q, fake, LUser_model.r.posts));
    expect_error(s, q, CR_ERR_UNMAPPED_INSTANCE, "not an object");
    LUser *newbie = cr_new(LUser);   /* transient */
    q = cr_session_query(s, LPost);
    assert_null(cr_with_parent(q, newbie, LUser_model.r.posts));
    expect_error(s, q, CR_ERR_INVALID_REQUEST, "transient");
    cr_object_free(newbie);
    S_OK(s, cr_session_expunge(s, ann));   /* detached */
    q = cr_session_query(s, LPost);
    assert_null(cr_with_parent(q, ann, LUser_model.r.posts));
    expect_error(s, q, CR_ERR_INVALID_REQUEST, "detached");
    cr_object_free(ann);
    /* contains_eager beside a joined collection under a LIMIT (a subquery) */
    q = cr_session_query(s, LUser);
    cr_join_related(q, LUser_model.r.posts);
    cr_contains_eager(q, LUser_model.r.posts);
    cr_joinedload(q, LUser_model.r.liked);
    cr_limit(q, 1);
    expect_error(s, q, CR_ERR_NOT_SUPPORTED, "subquery");
    /* contains_eager with a path not of the model */
    q = cr_session_query(s, LUser);
    cr_contains_eager(q, LPost_model.r.tags);
    expect_error(s, q, CR_ERR_ARGUMENT, "does not follow");
    q = cr_session_query(s, LUser);
    cr_contains_eager(q, NULL);
    expect_error(s, q, CR_ERR_ARGUMENT, "NULL");
    harness_session_free(s);
}

/* ---- refresh ---- */

/* Refresh reloads the relationships that load eagerly by default, as
 * SQLAlchemy's refresh does: joined ones in its own SELECT, selectin ones
 * (down the chain) after it; a lazy one stays unloaded. */
static void test_refresh_eager(void **state)
{
    (void)state;
    static const cr_session_options keep = {.expire_on_commit = CR_NO};
    cr_session *s = harness_session(engine, &keep);
    EUser *u = cr_new(EUser);
    EPost *p1 = cr_new(EPost);
    EMark *m1 = cr_new(EMark);
    ETask *t1 = cr_new(ETask);
    assert_true(u && p1 && m1 && t1);
    u->name = "u";
    p1->title = "p1";
    S_OK(s, cr_append(p1, marks, m1));
    S_OK(s, cr_append(u, posts, p1));
    S_OK(s, cr_append(u, tasks, t1));
    S_OK(s, cr_session_add(s, u));
    S_OK(s, cr_session_commit(s));
    /* another connection adds a post with a mark, and renames the user */
    cr_conn *c = connect_ok(engine);
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT INTO re_posts (id, title, user_id) VALUES (%lld, 'p2', "
             "%lld)", (long long)p1->id + 100, (long long)u->id);
    exec_ok(c, sql);
    snprintf(sql, sizeof sql, "INSERT INTO re_marks (id, post_id) VALUES (%lld, %lld)",
             (long long)m1->id + 100, (long long)p1->id + 100);
    exec_ok(c, sql);
    exec_ok(c, "UPDATE re_users SET name = 'v'");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    harness_log_reset();
    S_OK(s, cr_session_refresh(s, u));
    ASSERT_STATEMENTS(2);   /* as SQLAlchemy's: the JOIN, then p2's marks (p1's are loaded) */
    ASSERT_SENT_TEXT("LEFT OUTER JOIN re_posts");
    ASSERT_SENT_TEXT("FROM re_marks");
    assert_string_equal(u->name, "v");
    assert_true(cr_is_loaded(u, posts));
    assert_int_equal(u->posts.count, 2);
    assert_ptr_equal(u->posts.items[0], p1);   /* the identity map's */
    EPost *p2 = u->posts.items[1];
    assert_string_equal(p2->title, "p2");
    assert_ptr_equal(p2->author, u);
    assert_true(cr_is_loaded(p2, marks));
    assert_int_equal(p2->marks.count, 1);
    assert_false(cr_is_loaded(u, tasks));
    /* nothing more to load: no SQL */
    harness_log_reset();
    S_OK(s, cr_load(u, posts));
    S_OK(s, cr_load(p2, marks));
    ASSERT_STATEMENTS(0);
    /* the row gone (the session's transaction ended first: SQLite's
     * writer would wait for its reader) */
    S_OK(s, cr_session_rollback(s));
    exec_ok(c, "DELETE FROM re_marks");
    exec_ok(c, "DELETE FROM re_tasks");
    exec_ok(c, "DELETE FROM re_posts");
    exec_ok(c, "DELETE FROM re_users");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    assert_int_equal(cr_session_refresh(s, u), CR_ERR_OBJECT_DELETED);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "EUser("));
    harness_session_free(s);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    md = cr_metadata_new(NULL);
    if (!md || LUser_define(md) || LPost_define(md) || LTag_define(md) ||
        LLikes_define(&likes, md, "rl_likes") || LPostTags_define(&post_tags, md, "rl_post_tags") ||
        EUser_define(md) || EPost_define(md) || EMark_define(md) || ETask_define(md) ||
        cr_metadata_configure(md)) {
        fprintf(stderr, "models: %s\n", md ? cr_error_message(cr_metadata_error(md)) : "no memory");
        return 1;
    }
    engine = harness_orm_engine(md);
#define T(f) cmocka_unit_test_setup_teardown(f, harness_orm_setup, harness_free_sessions)
    const struct CMUnitTest tests[] = {
        T(test_joined_limit_offset),
        T(test_joined_first_and_one),
        T(test_joined_many_to_one_limit),
        T(test_joined_many_to_many),
        T(test_joined_chain),
        T(test_contains_eager),
        T(test_any_has),
        T(test_with_parent),
        T(test_filter_on_joined_model),
        T(test_bad_input),
        T(test_refresh_eager),
    };
    int failed = HARNESS_RUN("rel_loading", NULL, tests, harness_orm_teardown);
    cr_engine_free(engine);
    cr_metadata_free(md);
    harness_cleanup();
    return failed ? 1 : 0;
}
