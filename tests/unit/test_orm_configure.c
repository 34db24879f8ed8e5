/* test_orm_configure.c — relationships resolved at first use, with no
 * cr_metadata_configure: a program defines its models and tables in any
 * order and uses them at once, as a SQLAlchemy program relies on
 * configure_mappers() running by itself. Each test defines its models in a
 * metadata of its own, so that no earlier test has resolved them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crucible.h"

/* users <-> posts through likes, both sides declared (back_populates); the
 * association table defined after both models, so that neither side can
 * resolve while the models are defined. */
#define CUSER_FIELDS(F) F(id, INTEGER, .primary_key = true)
#define CUSER_RELS(R) R(liked_posts, MANY(CPost), .secondary = "cfg_likes", \
                        .back_populates = "liked_by")
CR_MODEL(CUser, "cfg_users", CUSER_FIELDS, CUSER_RELS)
#define CPOST_FIELDS(F) F(id, INTEGER, .primary_key = true)
#define CPOST_RELS(R) R(liked_by, MANY(CUser), .secondary = "cfg_likes", \
                        .back_populates = "liked_posts")
CR_MODEL(CPost, "cfg_posts", CPOST_FIELDS, CPOST_RELS)
#define CLIKES(C) C(user_id, INTEGER, .primary_key = true, .foreign_key = "cfg_users.id") \
                  C(post_id, INTEGER, .primary_key = true, .foreign_key = "cfg_posts.id")
CR_DECLARE_TABLE(clikes_table, CLIKES)

typedef struct world {
    cr_metadata *md;
    cr_engine *engine;
    cr_session *s;
} world;

static void world_new(world *w)
{
    w->md = cr_metadata_new(NULL);
    assert_non_null(w->md);
    clikes_table likes;
    assert_int_equal(CUser_define(w->md), CR_OK);
    assert_int_equal(CPost_define(w->md), CR_OK);
    assert_int_equal(clikes_table_define(&likes, w->md, "cfg_likes"), CR_OK);
    cr_error *err = NULL;
    w->engine = cr_create_engine("sqlite://", NULL, &err);
    assert_non_null(w->engine);
    assert_int_equal(cr_metadata_create_all_engine(w->md, w->engine, true, &err), CR_OK);
    w->s = cr_session_new(w->engine, NULL);
    assert_non_null(w->s);
}

static void world_free(world *w)
{
    cr_session_free(w->s);
    cr_engine_free(w->engine);
    cr_metadata_free(w->md);
}

static int64_t likes_rows(world *w)
{
    cr_conn *c = cr_engine_connect(w->engine, NULL);
    assert_non_null(c);
    cr_result *r = cr_conn_execute(c, "SELECT count(*) FROM cfg_likes WHERE user_id = 1 AND "
                                      "post_id = 1", NULL);
    assert_non_null(r);
    cr_value v;
    assert_int_equal(cr_result_scalar_one(r, &v), CR_OK);
    cr_result_free(r);
    cr_conn_close(c);
    return v.v.i;
}

/* p.liked_by.append(u); session.add(u): the add cascades along
 * u.liked_posts, which nothing had resolved (a crash: its target was NULL). */
static void test_add_the_other_side(void **state)
{
    (void)state;
    for (int side = 0; side < 2; side++) {
        world w;
        world_new(&w);
        CUser *u = cr_new(CUser);
        CPost *p = cr_new(CPost);
        assert_int_equal(side ? cr_append(u, liked_posts, p) : cr_append(p, liked_by, u), CR_OK);
        assert_int_equal(side ? cr_session_add(w.s, p) : cr_session_add(w.s, u), CR_OK);
        assert_int_equal(cr_object_state_of(u), CR_STATE_PENDING);
        assert_int_equal(cr_object_state_of(p), CR_STATE_PENDING);
        assert_int_equal(cr_session_commit(w.s), CR_OK);
        assert_int_equal(likes_rows(&w), 1);
        world_free(&w);
    }
}

/* The first thing done is a delete of an object loaded by a query, of
 * either side of the many-to-many: the flush clears the rows of the pair
 * through the side whose relationship sorts first in memory, which must
 * be resolved too (a delete of NULL table once, as the layout fell). */
static void test_delete_first(void **state)
{
    (void)state;
    for (int side = 0; side < 2; side++) {
        world w;
        world_new(&w);
        cr_conn *c = cr_engine_begin(w.engine, NULL);
        assert_non_null(c);
        assert_int_equal(cr_conn_exec(c, "INSERT INTO cfg_users (id) VALUES (1)", NULL), CR_OK);
        assert_int_equal(cr_conn_exec(c, "INSERT INTO cfg_posts (id) VALUES (1)", NULL), CR_OK);
        assert_int_equal(cr_conn_exec(c, "INSERT INTO cfg_likes VALUES (1, 1)", NULL), CR_OK);
        assert_int_equal(cr_conn_commit(c), CR_OK);
        cr_conn_close(c);
        void *o = side ? (void *)cr_session_get(w.s, CPost, 1) : (void *)cr_session_get(w.s, CUser, 1);
        assert_non_null(o);
        assert_int_equal(cr_session_delete(w.s, o), CR_OK);
        assert_int_equal(cr_session_commit(w.s), CR_OK);
        assert_int_equal(likes_rows(&w), 0);
        world_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_the_other_side),
        cmocka_unit_test(test_delete_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
