/* test_rel_cascades.c — ORM relationships against a real SQLite, PostgreSQL or MariaDB: the expunge,
 * refresh-expire and merge cascades, post_update on insert and delete (a cycle of two tables and one of a
 * table with itself, statement order read from the echo log), single_parent with delete-orphan on a
 * many-to-one and a many-to-many, and bad input: a related object of the
 * wrong model, a cycle without post_update, an object of another session, a collection changed while it
 * is iterated, a missing secondary table, a foreign key missing or ambiguous; a viewonly relationship's
 * cascades. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- models of the cascades (tables no other suite uses) ---- */

#define CUSER(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(50),  .nullable = CR_NO)
#define CUSER_RELS(R)                                                                  \
    R(posts,   MANY(CPost),    .back_populates = "author",                             \
                               .cascade = "all, delete-orphan", .order_by = "id")      \
    R(tags,    MANY(CTag),     .secondary = "casc_user_tags", .order_by = "id")        \
    R(badge,   ONE(CBadge),    .cascade = "all, delete-orphan")
CR_MODEL(CUser, "casc_users", CUSER, CUSER_RELS)

/* A one-to-one from the side without the key. */
#define CBADGE(F)                                                                      \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(label,   STRING(20))                                                             \
    F(user_id, INTEGER,     .foreign_key = "casc_users.id")
CR_MODEL(CBadge, "casc_badges", CBADGE)

#define CPOST(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(title,   STRING(100), .nullable = CR_NO)                                         \
    F(user_id, INTEGER,     .foreign_key = "casc_users.id")
#define CPOST_RELS(R) R(author, ONE(CUser))
CR_MODEL(CPost, "casc_posts", CPOST, CPOST_RELS)

#define CTAG(F)                                                                        \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(20))
CR_MODEL(CTag, "casc_tags", CTAG)

#define CUSERTAGS(F)                                                                   \
    F(user_id, INTEGER, .primary_key = true, .autoincrement = CR_NO,                   \
                        .foreign_key = "casc_users.id")                                \
    F(tag_id,  INTEGER, .primary_key = true, .autoincrement = CR_NO,                   \
                        .foreign_key = "casc_tags.id")
CR_DECLARE_TABLE(CUserTags, CUSERTAGS)

/* ---- a cycle of two tables and one of a table with itself ----
 * A department's head is one of its employees; an employee's manager is
 * another employee. post_update breaks both cycles. */
#define PDEPT(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(20))                                                             \
    F(head_id, INTEGER,     .foreign_key = "pu_employees.id")
#define PDEPT_RELS(R)                                                                  \
    R(head,  ONE(PEmp),   .post_update = true, .foreign_keys = "pu_departments.head_id") \
    R(staff, MANY(PEmp),  .back_populates = "department",                              \
                          .foreign_keys = "pu_employees.department_id", .order_by = "id")
CR_MODEL(PDept, "pu_departments", PDEPT, PDEPT_RELS)

#define PEMP(F)                                                                        \
    F(id,            INTEGER,     .primary_key = true)                                 \
    F(name,          STRING(20))                                                       \
    F(department_id, INTEGER,     .foreign_key = "pu_departments.id")                  \
    F(manager_id,    INTEGER,     .foreign_key = "pu_employees.id")
#define PEMP_RELS(R)                                                                   \
    R(department, ONE(PDept), .foreign_keys = "pu_employees.department_id")            \
    R(manager,    ONE(PEmp),  .post_update = true)
CR_MODEL(PEmp, "pu_employees", PEMP, PEMP_RELS)

/* The same cycle with no post_update to break it. */
#define QDEPT(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(20))                                                             \
    F(head_id, INTEGER,     .foreign_key = "pq_employees.id")
#define QDEPT_RELS(R)                                                                  \
    R(head,  ONE(QEmp),   .foreign_keys = "pq_departments.head_id")
CR_MODEL(QDept, "pq_departments", QDEPT, QDEPT_RELS)

#define QEMP(F)                                                                        \
    F(id,            INTEGER,     .primary_key = true)                                 \
    F(name,          STRING(20))                                                       \
    F(department_id, INTEGER,     .foreign_key = "pq_departments.id")                  \
    F(manager_id,    INTEGER,     .foreign_key = "pq_employees.id")
#define QEMP_RELS(R)                                                                   \
    R(department, ONE(QDept), .foreign_keys = "pq_employees.department_id")            \
    R(manager,    ONE(QEmp))
CR_MODEL(QEmp, "pq_employees", QEMP, QEMP_RELS)

/* A one-to-many with post_update (a person's balls) beside a many-to-one
 * the other way (the favorite ball), as SQLAlchemy's test_cycles has it.
 * By name pv_a_people comes first: only leaving the post_update key out
 * of the table order puts the balls first, as the favorite needs. */
#define VPERSON(F)                                                                     \
    F(id,               INTEGER,     .primary_key = true)                              \
    F(name,             STRING(20))                                                    \
    F(favorite_ball_id, INTEGER,     .foreign_key = "pv_balls.id")
#define VPERSON_RELS(R)                                                                \
    R(balls,    MANY(VBall), .post_update = true, .cascade = "all, delete-orphan",    \
                             .back_populates = "owner",                                \
                             .foreign_keys = "pv_balls.person_id", .order_by = "id")   \
    R(favorite, ONE(VBall),  .foreign_keys = "pv_a_people.favorite_ball_id")
CR_MODEL(VPerson, "pv_a_people", VPERSON, VPERSON_RELS)

#define VBALL(F)                                                                       \
    F(id,        INTEGER,     .primary_key = true)                                     \
    F(color,     STRING(20))                                                           \
    F(person_id, INTEGER,     .foreign_key = "pv_a_people.id")
#define VBALL_RELS(R) R(owner, ONE(VPerson), .foreign_keys = "pv_balls.person_id")
CR_MODEL(VBall, "pv_balls", VBALL, VBALL_RELS)

/* ---- a viewonly relationship beside the one that saves ---- */

#define VOUSER(F)                                                                      \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(20))
#define VOUSER_RELS(R)                                                                 \
    R(posts,   MANY(VoPost), .order_by = "id")                                         \
    R(recent,  MANY(VoPost), .viewonly = true, .order_by = "id desc")
CR_MODEL(VoUser, "vo_users", VOUSER, VOUSER_RELS)

#define VOPOST(F)                                                                      \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(title,   STRING(20))                                                             \
    F(user_id, INTEGER,     .foreign_key = "vo_users.id")
CR_MODEL(VoPost, "vo_posts", VOPOST)

/* Declared only: a viewonly relationship with cascades that act in a flush
 * (refused), and one with those that do not. */
#define VOBAD_RELS(R) R(posts, MANY(VoPost), .viewonly = true, .cascade = "all, delete-orphan")
CR_MODEL(VoBad, "vo_bad", VOUSER, VOBAD_RELS)
#define VOFINE_RELS(R)                                                                 \
    R(posts, MANY(VoPost), .viewonly = true, .cascade = "expunge, refresh-expire, merge")
CR_MODEL(VoFine, "vo_fine", VOUSER, VOFINE_RELS)

/* ---- declarations that cannot resolve ---- */

#define BSHELF(F) F(id, INTEGER, .primary_key = true)
#define BSHELF_RELS(R) R(books, MANY(BBook), .secondary = "no_such_table")
CR_MODEL(BShelf, "bad_shelves", BSHELF, BSHELF_RELS)

#define BBOOK(F)                                                                       \
    F(id,        INTEGER, .primary_key = true)                                         \
    F(writer_id, INTEGER, .foreign_key = "bad_people.id")                              \
    F(editor_id, INTEGER, .foreign_key = "bad_people.id")
CR_MODEL(BBook, "bad_books", BBOOK)

#define BPERSON(F) F(id, INTEGER, .primary_key = true)
#define BPERSON_RELS(R) R(books, MANY(BBook))
CR_MODEL(BPerson, "bad_people", BPERSON, BPERSON_RELS)

#define BLONER(F) F(id, INTEGER, .primary_key = true)
#define BLONER_RELS(R) R(shelves, MANY(BShelf))
CR_MODEL(BLoner, "bad_loners", BLONER, BLONER_RELS)

/* delete-orphan from the many side (many-to-one), which SQLAlchemy allows
 * only with single_parent. */
#define BPET(F) F(id, INTEGER, .primary_key = true)
CR_MODEL(BPet, "bad_pets", BPET)

#define BOWNER(F)                                                                      \
    F(id,      INTEGER, .primary_key = true)                                           \
    F(pet_id,  INTEGER, .foreign_key = "bad_pets.id")
#define BOWNER_RELS(R) R(pet, ONE(BPet), .cascade = "all, delete-orphan")
CR_MODEL(BOwner, "bad_owners", BOWNER, BOWNER_RELS)

/* ---- delete-orphan on a many-to-one, with single_parent ----
 * An owner's pet is its own: let go of (or replaced), it is deleted. */
#define SPPET(F)                                                                       \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(20))
CR_MODEL(SpPet, "sp_pets", SPPET)

#define SPOWNER(F)                                                                     \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(20))                                                             \
    F(pet_id,  INTEGER,     .foreign_key = "sp_pets.id")
#define SPOWNER_RELS(R)                                                                \
    R(pet,     ONE(SpPet),  .cascade = "all, delete-orphan", .single_parent = true)
CR_MODEL(SpOwner, "sp_owners", SPOWNER, SPOWNER_RELS)

/* A keeper's pets, a many-to-many where a pet has one keeper at most, and
 * none once let go of (delete-orphan). */
#define SPKEEPER(F)                                                                    \
    F(id,      INTEGER,     .primary_key = true)                                       \
    F(name,    STRING(20))
#define SPKEEPER_RELS(R)                                                               \
    R(pets,    MANY(SpPet), .secondary = "sp_keeper_pets", .single_parent = true,          \
                            .cascade = "all, delete-orphan")
CR_MODEL(SpKeeper, "sp_keepers", SPKEEPER, SPKEEPER_RELS)

#define SPKEEPERPETS(F)                                                                \
    F(keeper_id, INTEGER, .primary_key = true, .autoincrement = CR_NO,                 \
                          .foreign_key = "sp_keepers.id")                              \
    F(pet_id,    INTEGER, .primary_key = true, .autoincrement = CR_NO,                 \
                          .foreign_key = "sp_pets.id")
CR_DECLARE_TABLE(SpKeeperPets, SPKEEPERPETS)

static cr_metadata *md, *md_cycle;
static cr_engine *engine;
static CUserTags user_tags;
static SpKeeperPets keeper_pets;

#define S_OK(s, call) ASSERT_OK(call, cr_session_error(s))

/* ---- the statements sent, as the echo log shows them ---- */

/* The place (line number) of the first statement starting with prefix at
 * or after line `from`, or -1. */
static int line_of(const char *prefix, int from)
{
    int line = 0;
    for (const char *p = harness_log; *p; line++) {
        if (line >= from && strncmp(p, prefix, strlen(prefix)) == 0)
            return line;
        const char *e = strchr(p, '\n');
        p = e ? e + 1 : p + strlen(p);
    }
    return -1;
}

/* How many statements start with prefix. */
static int count_of(const char *prefix)
{
    int n = 0;
    for (int at = line_of(prefix, 0); at >= 0; at = line_of(prefix, at + 1))
        n++;
    return n;
}

/* The statements starting with each prefix were sent in this order. */
static void assert_order(const char *const *prefixes, size_t n)
{
    int at = 0;
    for (size_t i = 0; i < n; i++) {
        int line = line_of(prefixes[i], at);
        if (line < 0)
            print_error("no '%s' after line %d; sent:\n%s\n", prefixes[i], at, harness_log);
        assert_true(line >= 0);
        at = line + 1;
    }
}
#define ASSERT_ORDER(...) \
    assert_order((const char *const[]){__VA_ARGS__}, \
                 sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

#define query_int(sql) engine_scalar_int(engine, (sql))

/* ---- the cycle's tables: DDL of their own (create_all cannot make a
 * cycle of foreign keys on PostgreSQL and MariaDB) ---- */

static void drop_cycle_tables(cr_conn *c)
{
    static const char *const names[] = {"pu_employees", "pu_departments", "pq_employees",
                                        "pq_departments", "pv_balls", "pv_a_people"};
    char sql[128];
    if (is_sqlite())
        exec_ok(c, "PRAGMA foreign_keys=OFF");
    if (is_mysql())
        exec_ok(c, "SET FOREIGN_KEY_CHECKS=0");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s%s", names[i],
                 is_pg() ? " CASCADE" : "");
        exec_ok(c, sql);
    }
    if (is_sqlite())
        exec_ok(c, "PRAGMA foreign_keys=ON");
    if (is_mysql())
        exec_ok(c, "SET FOREIGN_KEY_CHECKS=1");
}

static void create_cycle_tables(const char *prefix)
{
    cr_conn *c = connect_ok(engine);
    char dept[512], emp[512], sql[256];
    snprintf(dept, sizeof dept, "id %s, name VARCHAR(20), head_id INTEGER%s%s%s", t_pk(),
             is_sqlite() ? ", FOREIGN KEY (head_id) REFERENCES " : "", is_sqlite() ? prefix : "",
             is_sqlite() ? "_employees (id)" : "");
    snprintf(emp, sizeof emp, "id %s, name VARCHAR(20), department_id INTEGER, manager_id INTEGER, "
             "FOREIGN KEY (department_id) REFERENCES %s_departments (id), "
             "FOREIGN KEY (manager_id) REFERENCES %s_employees (id)", t_pk(), prefix, prefix);
    snprintf(sql, sizeof sql, "%s_departments", prefix);
    create_table(c, sql, dept);
    snprintf(sql, sizeof sql, "%s_employees", prefix);
    create_table(c, sql, emp);
    if (!is_sqlite()) {
        snprintf(sql, sizeof sql, "ALTER TABLE %s_departments ADD FOREIGN KEY (head_id) "
                 "REFERENCES %s_employees (id)", prefix, prefix);
        exec_ok(c, sql);
        ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    }
    cr_conn_close(c);
}

static int setup(void **state)
{
    (void)state;
    cr_conn *c = connect_ok(engine);
    drop_table(c, "casc_posts_gone");   /* test_merge_fails_whole's, had it failed on MySQL */
    cr_conn_close(c);
    harness_recreate(engine, md);
    c = connect_ok(engine);
    drop_cycle_tables(c);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    create_cycle_tables("pu");
    create_cycle_tables("pq");
    c = connect_ok(engine);
    char people[256], balls[256];
    snprintf(people, sizeof people, "id %s, name VARCHAR(20), favorite_ball_id INTEGER%s",
             t_pk(), is_sqlite() ? ", FOREIGN KEY (favorite_ball_id) REFERENCES pv_balls (id)" : "");
    snprintf(balls, sizeof balls, "id %s, color VARCHAR(20), person_id INTEGER, "
             "FOREIGN KEY (person_id) REFERENCES pv_a_people (id)", t_pk());
    create_table(c, "pv_a_people", people);
    create_table(c, "pv_balls", balls);
    if (!is_sqlite()) {
        exec_ok(c, "ALTER TABLE pv_a_people ADD FOREIGN KEY (favorite_ball_id) "
                "REFERENCES pv_balls (id)");
        ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    }
    cr_conn_close(c);
    harness_log_reset();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_drop(engine, md);
    cr_conn *c = connect_ok(engine);
    drop_cycle_tables(c);
    cr_conn_commit(c);
    cr_conn_close(c);
    return 0;
}

static CUser *user(const char *name)
{
    CUser *u = cr_new(CUser);
    assert_non_null(u);
    u->name = (char *)name;
    return u;
}

static CPost *post(const char *title)
{
    CPost *p = cr_new(CPost);
    assert_non_null(p);
    p->title = (char *)title;
    return p;
}

/* ann with posts a1, a2 and tags t1, t2; committed, in s. */
static CUser *seed(cr_session *s)
{
    CUser *ann = user("ann");
    CTag *t1 = cr_new(CTag), *t2 = cr_new(CTag);
    t1->name = "t1";
    t2->name = "t2";
    assert_int_equal(cr_append(ann, posts, post("a1")), CR_OK);
    assert_int_equal(cr_append(ann, posts, post("a2")), CR_OK);
    assert_int_equal(cr_append(ann, tags, t1), CR_OK);
    assert_int_equal(cr_append(ann, tags, t2), CR_OK);
    S_OK(s, cr_session_add(s, ann));
    S_OK(s, cr_session_commit(s));
    return ann;
}

static const cr_session_options keep_loaded = {.expire_on_commit = CR_NO};

/* seed's ann, deleted and the DELETE flushed (her posts with her). */
static CUser *seed_flushed_deleted(cr_session *s)
{
    CUser *ann = seed(s);
    S_OK(s, cr_session_delete(s, ann));
    S_OK(s, cr_session_flush(s));
    assert_int_equal(cr_object_state_of(ann), CR_STATE_DELETED);
    return ann;
}

/* A rollback puts a moved child's key back, and its many-to-one with it
 * (to the object of that key): redoing the move, or the orphaning, after
 * the rollback is a change the commit writes. (The pointer kept the
 * rolled-back parent while the key went back, and the redo wrote nothing.) */
static void test_rollback_then_redo_move(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s), *bob = user("bob");
    S_OK(s, cr_session_add(s, bob));
    S_OK(s, cr_session_commit(s));
    CPost *a1 = ann->posts.items[0], *a2 = ann->posts.items[1];
    S_OK(s, cr_set_related(a1, author, bob));
    S_OK(s, cr_set_related(a2, author, NULL));   /* an orphan: deleted */
    S_OK(s, cr_session_flush(s));
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(a1->user_id, ann->id);
    assert_ptr_equal(a1->author, ann);
    assert_ptr_equal(a2->author, ann);
    /* Loaded (SQLAlchemy's side reads c.parent), the orphaning is known. */
    S_OK(s, cr_load(a2, author));
    assert_ptr_equal(a2->author, ann);
    S_OK(s, cr_set_related(a1, author, bob));
    S_OK(s, cr_set_related(a2, author, NULL));
    S_OK(s, cr_session_commit(s));
    char sql[120];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM casc_posts WHERE user_id = %lld",
             (long long)bob->id);
    assert_int_equal(query_int(sql), 1);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'a2'"), 0);
    harness_session_free(s);
}

/* ---- expunge ---- */

static void test_expunge_cascade(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CPost *a1 = ann->posts.items[0], *a2 = ann->posts.items[1];
    CTag *t1 = ann->tags.items[0], *t2 = ann->tags.items[1];
    size_t before = cr_session_identity_count(s);
    /* posts: "all" has expunge; tags: the default cascade has not */
    S_OK(s, cr_session_expunge(s, ann));
    assert_int_equal(cr_object_state_of(ann), CR_STATE_DETACHED);
    assert_int_equal(cr_object_state_of(a1), CR_STATE_DETACHED);
    assert_int_equal(cr_object_state_of(a2), CR_STATE_DETACHED);
    assert_int_equal(cr_object_state_of(t1), CR_STATE_PERSISTENT);
    assert_int_equal(cr_object_state_of(t2), CR_STATE_PERSISTENT);
    assert_int_equal(cr_session_identity_count(s), before - 3);
    /* the related objects still read, and the session works on */
    assert_ptr_equal(a1->author, ann);
    assert_string_equal(a2->title, "a2");
    t1->name = "t1x";
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_tags WHERE name = 't1x'"), 1);
    /* a pending child reached so becomes transient */
    CUser *bob = user("bob");
    CPost *b1 = post("b1");
    assert_int_equal(cr_append(bob, posts, b1), CR_OK);
    S_OK(s, cr_session_add(s, bob));
    S_OK(s, cr_session_expunge(s, bob));
    assert_int_equal(cr_object_state_of(b1), CR_STATE_TRANSIENT);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);
    /* given back: the program frees them */
    assert_int_equal(cr_object_free(a1), CR_OK);
    assert_int_equal(cr_object_free(a2), CR_OK);
    assert_int_equal(cr_object_free(ann), CR_OK);
    assert_int_equal(cr_object_free(b1), CR_OK);
    assert_int_equal(cr_object_free(bob), CR_OK);
    harness_session_free(s);
}

/* ---- pending orphans ---- */

/* A child never flushed that leaves a delete-orphan collection leaves the
 * session there and then, as SQLAlchemy expunges it: it has no row to
 * delete, and an INSERT would give it a NULL key. The session still frees
 * it; appended to a parent again, it is back. A pending child moved to
 * another parent is inserted under that one. */
static void test_pending_orphan(void **state)
{
    (void)state;
    char sql[120];
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s), *bob = user("bob");
    S_OK(s, cr_session_add(s, bob));
    S_OK(s, cr_session_flush(s));
    /* appended, then removed */
    CPost *x = post("x");
    S_OK(s, cr_append(ann, posts, x));
    assert_int_equal(cr_object_state_of(x), CR_STATE_PENDING);
    S_OK(s, cr_remove(ann, posts, x));
    assert_int_equal(cr_object_state_of(x), CR_STATE_TRANSIENT);
    assert_null(x->author);
    /* still the session's (freed with it): nothing of x leaks */
    /* let go from the other side: post.author = NULL */
    CPost *y = post("y");
    S_OK(s, cr_append(ann, posts, y));
    S_OK(s, cr_set_related(y, author, NULL));
    assert_int_equal(cr_object_state_of(y), CR_STATE_TRANSIENT);
    assert_int_equal(ann->posts.count, 2);
    /* a pending parent's */
    CUser *cid = user("cid");
    CPost *z = post("z");
    S_OK(s, cr_append(cid, posts, z));
    S_OK(s, cr_session_add(s, cid));
    assert_int_equal(cr_object_state_of(z), CR_STATE_PENDING);
    S_OK(s, cr_remove(cid, posts, z));
    assert_int_equal(cr_object_state_of(z), CR_STATE_TRANSIENT);
    harness_assert_plan(s, "INSERT casc_users (name) 1\n");
    harness_log_reset();
    S_OK(s, cr_session_flush(s));
    ASSERT_STATEMENTS(1);   /* cid alone */
    ASSERT_SENT("INSERT INTO casc_users");
    assert_int_equal(cr_object_state_of(x), CR_STATE_TRANSIENT);
    assert_int_equal(cr_object_state_of(z), CR_STATE_TRANSIENT);
    /* moved to another parent, by either side: inserted under it */
    CPost *m1 = post("m1"), *m2 = post("m2");
    S_OK(s, cr_append(ann, posts, m1));
    S_OK(s, cr_append(bob, posts, m1));
    S_OK(s, cr_append(ann, posts, m2));
    S_OK(s, cr_set_related(m2, author, bob));
    /* the orphan appended again: pending again */
    S_OK(s, cr_append(bob, posts, x));
    assert_int_equal(cr_object_state_of(m1), CR_STATE_PENDING);
    assert_int_equal(cr_object_state_of(m2), CR_STATE_PENDING);
    assert_int_equal(cr_object_state_of(x), CR_STATE_PENDING);
    assert_int_equal(ann->posts.count, 2);
    assert_int_equal(bob->posts.count, 3);
    /* a one-to-one given another object: the pending one it held is out */
    CBadge *b1 = cr_new(CBadge), *b2 = cr_new(CBadge);
    assert_true(b1 && b2);
    b1->label = "b1";
    b2->label = "b2";
    S_OK(s, cr_set_related(ann, badge, b1));
    assert_int_equal(cr_object_state_of(b1), CR_STATE_PENDING);
    S_OK(s, cr_set_related(ann, badge, b2));
    assert_int_equal(cr_object_state_of(b1), CR_STATE_TRANSIENT);
    assert_int_equal(cr_object_state_of(b2), CR_STATE_PENDING);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_badges"), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM casc_badges WHERE user_id = %lld AND "
             "label = 'b2'", (long long)ann->id);
    assert_int_equal(query_int(sql), 1);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 5);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE user_id IS NULL"), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM casc_posts WHERE user_id = %lld AND title "
             "IN ('m1', 'm2', 'x')", (long long)bob->id);
    assert_int_equal(query_int(sql), 3);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title IN ('y', 'z')"), 0);
    harness_session_free(s);   /* frees y, z and b1 */
}

/* delete-orphan on a many-to-one with single_parent (SQLAlchemy's
 * relationship(cascade="all, delete-orphan", single_parent=True)): an
 * object given to a second parent is refused at the call, and at the flush
 * when plain assignments did it; a pet its owner lets go of (NULL, or
 * another pet) is deleted, unless another owner took it meanwhile; a
 * pending one is not inserted; deleting the owner deletes its pet. */
static SpPet *pet(const char *name)
{
    SpPet *p = cr_new(SpPet);
    assert_non_null(p);
    p->name = (char *)name;
    return p;
}

static SpOwner *owner(cr_session *s, const char *name, SpPet *p)
{
    SpOwner *o = cr_new(SpOwner);
    assert_non_null(o);
    o->name = (char *)name;
    S_OK(s, cr_session_add(s, o));
    if (p)
        S_OK(s, cr_set_related(o, pet, p));
    return o;
}

static int64_t pets_named(const char *name)
{
    char sql[100];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sp_pets WHERE name = '%s'", name);
    return query_int(sql);
}

static void test_single_parent_orphan(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    SpPet *rex = pet("rex"), *tom = pet("tom"), *max = pet("max");
    SpOwner *o1 = owner(s, "o1", rex), *o2 = owner(s, "o2", tom), *o3 = owner(s, "o3", max);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM sp_pets"), 3);

    /* a second parent: refused, nothing changed */
    assert_int_equal(cr_set_related(o2, pet, rex), CR_ERR_INVALID_REQUEST);
    const char *msg = cr_error_message(cr_session_error(s));
    assert_non_null(strstr(msg, "SpOwner.pet"));
    assert_non_null(strstr(msg, "single parent"));
    assert_ptr_equal(o2->pet, tom);

    /* let go of: deleted; replaced: the old one deleted, the new inserted */
    S_OK(s, cr_set_related(o1, pet, NULL));
    SpPet *kit = pet("kit");
    S_OK(s, cr_set_related(o2, pet, kit));
    /* moved: o3 lets max go and o1 takes it, so max stays */
    S_OK(s, cr_set_related(o3, pet, NULL));
    S_OK(s, cr_set_related(o1, pet, max));
    /* pending and let go of before any flush: never inserted */
    SpPet *ghost = pet("ghost");
    S_OK(s, cr_set_related(o3, pet, ghost));
    assert_int_equal(cr_object_state_of(ghost), CR_STATE_PENDING);
    S_OK(s, cr_set_related(o3, pet, NULL));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(pets_named("rex"), 0);
    assert_int_equal(pets_named("tom"), 0);
    assert_int_equal(pets_named("kit"), 1);
    assert_int_equal(pets_named("max"), 1);
    assert_int_equal(pets_named("ghost"), 0);
    assert_int_equal(cr_object_state_of(rex), CR_STATE_DETACHED);
    assert_int_equal(cr_object_state_of(ghost), CR_STATE_TRANSIENT);
    char sql[120];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sp_owners WHERE id = %lld AND pet_id = %lld",
             (long long)o1->id, (long long)max->id);
    assert_int_equal(query_int(sql), 1);
    assert_int_equal(query_int("SELECT count(*) FROM sp_owners WHERE pet_id IS NULL"), 1);

    /* plain assignments giving one pet two owners: the flush refuses them */
    o3->pet = kit;
    assert_int_equal(cr_session_flush(s), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "single parent"));
    S_OK(s, cr_session_rollback(s));
    assert_null(o3->pet);   /* the rollback put back what the database holds */
    assert_int_equal(pets_named("kit"), 1);

    /* the owner deleted: its pet with it (the delete cascade) */
    S_OK(s, cr_session_delete(s, o2));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(pets_named("kit"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM sp_pets"), 1);

    /* a many-to-many with single_parent: a pet in one keeper's collection
     * is refused by another's, until the first lets it go */
    SpKeeper *k1 = cr_new(SpKeeper), *k2 = cr_new(SpKeeper);
    assert_true(k1 && k2);
    k1->name = "k1";
    k2->name = "k2";
    SpPet *bo = pet("bo");
    S_OK(s, cr_session_add(s, k1));
    S_OK(s, cr_session_add(s, k2));
    S_OK(s, cr_append(k1, pets, bo));
    assert_int_equal(cr_append(k2, pets, bo), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "SpKeeper.pets"));
    assert_int_equal(k2->pets.count, 0);
    S_OK(s, cr_remove(k1, pets, bo));
    assert_int_equal(cr_object_state_of(bo), CR_STATE_TRANSIENT);   /* a pending orphan */
    S_OK(s, cr_append(k2, pets, bo));
    S_OK(s, cr_session_commit(s));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sp_keeper_pets WHERE keeper_id = %lld",
             (long long)k2->id);
    assert_int_equal(query_int(sql), 1);
    assert_int_equal(query_int("SELECT count(*) FROM sp_keeper_pets"), 1);
    /* delete-orphan on the many-to-many: moved from k2 to k1 in one flush,
     * bo stays; taken out of k1's collection, its row goes, and its link */
    S_OK(s, cr_remove(k2, pets, bo));
    S_OK(s, cr_append(k1, pets, bo));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(pets_named("bo"), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sp_keeper_pets WHERE keeper_id = %lld",
             (long long)k1->id);
    assert_int_equal(query_int(sql), 1);
    S_OK(s, cr_remove(k1, pets, bo));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(pets_named("bo"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM sp_keeper_pets"), 0);
    harness_session_free(s);

    /* rows that share a pet in the database (not made through the
     * relationship) are loaded and flushed as they are, as SQLAlchemy
     * checks only what the program sets; one letting go leaves the pet to
     * the other */
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "INSERT INTO sp_pets (id, name) VALUES (1000, 'shared')");
    exec_ok(c, "INSERT INTO sp_owners (id, name, pet_id) VALUES (1000, 'a', 1000), "
               "(1001, 'b', 1000)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    s = harness_session(engine, &keep_loaded);
    SpOwner *a = cr_session_get(s, SpOwner, 1000), *b = cr_session_get(s, SpOwner, 1001);
    assert_true(a && b);
    S_OK(s, cr_load(a, pet));
    S_OK(s, cr_load(b, pet));
    assert_true(a->pet && a->pet == b->pet);
    a->name = "a2";
    S_OK(s, cr_session_flush(s));
    S_OK(s, cr_set_related(a, pet, NULL));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(pets_named("shared"), 1);
    harness_session_free(s);
}

/* What the database holds agrees with the owners in memory after a commit
 * or a rollback: each owner's pet_id is its pet's key (NULL for none), and
 * the pets table holds exactly the pets owners hold. */
static void check_owners(SpOwner *const *owners, size_t n, int step)
{
    char sql[160];
    int64_t held = 0;
    for (size_t i = 0; i < n; i++) {
        const SpPet *p = owners[i]->pet;
        bool first = true;   /* counted once (single parent: it is) */
        for (size_t j = 0; p && j < i; j++)
            first = first && owners[j]->pet != p;
        held += p && first;
        if (p)
            snprintf(sql, sizeof sql, "SELECT count(*) FROM sp_owners WHERE id = %lld AND "
                     "pet_id = %lld", (long long)owners[i]->id, (long long)p->id);
        else
            snprintf(sql, sizeof sql, "SELECT count(*) FROM sp_owners WHERE id = %lld AND "
                     "pet_id IS NULL", (long long)owners[i]->id);
        if (query_int(sql) != 1)
            fail_msg("step %d: owner %lld's row does not hold its pet %lld", step,
                     (long long)owners[i]->id, p ? (long long)p->id : -1LL);
    }
    int64_t rows = query_int("SELECT count(*) FROM sp_pets");
    if (rows != held)
        fail_msg("step %d: %lld pet rows, %lld pets held", step, (long long)rows,
                 (long long)held);
}

/* merge onto owners with a delete-orphan many-to-one (single_parent), as
 * SQLAlchemy's merge sets the relationship on the session's object: the pet
 * a copy no longer holds is deleted, the copy's new pet merged and
 * inserted; a pet moved by merge from one owner to another stays; a copy
 * whose pet was never set leaves the owner's pet alone. */
static void test_single_parent_merge(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    SpPet *rex = pet("rex"), *tom = pet("tom");
    SpOwner *o1 = owner(s, "o1", rex), *o2 = owner(s, "o2", tom), *o3 = owner(s, "o3", NULL);
    S_OK(s, cr_session_commit(s));
    int64_t id1 = o1->id, id2 = o2->id, id3 = o3->id, tom_id = tom->id;

    /* a copy of o1 holding a new pet: rex is let go of */
    SpOwner *c1 = cr_new(SpOwner);
    assert_non_null(c1);
    c1->id = id1;
    c1->name = "o1";
    SpPet *kit = pet("kit");
    S_OK(s, cr_set_related(c1, pet, kit));
    SpOwner *m1 = cr_session_merge(s, c1);
    assert_non_null(m1);
    assert_ptr_equal(m1, o1);
    assert_non_null(o1->pet);
    assert_ptr_not_equal(o1->pet, kit);   /* kit's copy, the session's */
    assert_string_equal(o1->pet->name, "kit");
    S_OK(s, cr_session_commit(s));
    assert_int_equal(pets_named("rex"), 0);
    assert_int_equal(pets_named("kit"), 1);

    /* copies of o2 (no pet now) and o3 (holding tom, as loaded): tom moves */
    SpOwner *c2 = cr_new(SpOwner), *c3 = cr_new(SpOwner);
    SpPet *tom_copy = cr_new(SpPet);
    assert_true(c2 && c3 && tom_copy);
    c2->id = id2;
    S_OK(s, cr_set_related(c2, pet, NULL));
    cr_field_set_null(c2, pet_id);
    tom_copy->id = tom_id;
    tom_copy->name = "tom";
    c3->id = id3;
    S_OK(s, cr_set_related(c3, pet, tom_copy));
    assert_non_null(cr_session_merge(s, c2));
    assert_non_null(cr_session_merge(s, c3));
    assert_null(o2->pet);
    assert_ptr_equal(o3->pet, tom);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(pets_named("tom"), 1);
    char sql[120];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sp_owners WHERE id = %lld AND pet_id = %lld",
             (long long)id3, (long long)tom_id);
    assert_int_equal(query_int(sql), 1);

    /* a copy that never set its pet: o1 keeps kit */
    SpOwner *c4 = cr_new(SpOwner);
    assert_non_null(c4);
    c4->id = id1;
    c4->name = "o1 renamed";
    assert_non_null(cr_session_merge(s, c4));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(pets_named("kit"), 1);
    assert_string_equal(o1->name, "o1 renamed");
    assert_string_equal(o1->pet->name, "kit");
    cr_object_free(c1);
    cr_object_free(kit);
    cr_object_free(c2);
    cr_object_free(c3);
    cr_object_free(tom_copy);
    cr_object_free(c4);
    harness_session_free(s);
}

/* A run of random calls on owners and pets (a fixed seed: the same run
 * every time), the database checked against memory after each commit and
 * rollback: pets given, taken away (NULL), moved from owner to owner, given
 * to a second owner (refused by the call; by the flush when a plain
 * assignment did it, then rolled back). */
static void test_single_parent_random(void **state)
{
    (void)state;
    enum { NOWNERS = 5, MAXPETS = 60, STEPS = 400 };
    cr_session *s = harness_session(engine, &keep_loaded);
    SpOwner *owners[NOWNERS];
    SpPet *pets[MAXPETS];
    size_t npets = 0;
    char name[16];
    for (size_t i = 0; i < NOWNERS; i++) {
        snprintf(name, sizeof name, "w%zu", i);
        owners[i] = owner(s, name, NULL);
        owners[i]->name = NULL;   /* the literal is gone: no name */
    }
    S_OK(s, cr_session_commit(s));
    uint32_t seed = 12345;
    int commits = 0, refused = 0, flush_refused = 0;
    for (int step = 0; step < STEPS; step++) {
        harness_log_reset();   /* the echo log of a step at a time */
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 16) % 100, k = (seed >> 8) % NOWNERS;
        SpOwner *o = owners[k];
        /* a pet the calls may take: not deleted */
        SpPet *p = npets ? pets[(seed >> 4) % npets] : NULL;
        int ps = p ? (int)cr_object_state_of(p) : CR_STATE_INVALID;
        bool usable = ps == CR_STATE_TRANSIENT || ps == CR_STATE_PENDING ||
                      ps == CR_STATE_PERSISTENT;
        if (r < 20) {
            S_OK(s, cr_set_related(o, pet, NULL));
        } else if (r < 40 && npets < MAXPETS) {
            pets[npets] = pet("p");
            pets[npets]->name = NULL;
            S_OK(s, cr_set_related(o, pet, pets[npets]));
            npets++;
        } else if (r < 65 && usable) {
            bool other = false;
            for (size_t j = 0; j < NOWNERS; j++)
                other = other || (owners[j] != o && owners[j]->pet == p);
            cr_status st = cr_set_related(o, pet, p);
            assert_int_equal(st, other ? CR_ERR_INVALID_REQUEST : CR_OK);
            refused += other;
        } else if (r < 72 && usable && ps != CR_STATE_TRANSIENT) {
            o->pet = p;   /* a plain assignment: checked by the flush */
        } else if (r < 92) {
            bool twice = false;
            for (size_t i = 0; i < NOWNERS; i++)
                for (size_t j = 0; j < i; j++)
                    twice = twice || (owners[i]->pet && owners[i]->pet == owners[j]->pet);
            cr_status st = cr_session_commit(s);
            if (twice) {
                assert_int_equal(st, CR_ERR_INVALID_REQUEST);
                flush_refused++;
                S_OK(s, cr_session_rollback(s));
            } else {
                S_OK(s, st);
                commits++;
            }
            check_owners(owners, NOWNERS, step);
        } else {
            S_OK(s, cr_session_rollback(s));
            check_owners(owners, NOWNERS, step);
        }
    }
    /* the run did what it is for */
    assert_true(commits > 20 && refused > 0 && flush_refused > 0);
    harness_session_free(s);
}

/* ---- refresh-expire ---- */

/* cr_session_refresh of an object the autoflush loads: the DELETE of a
 * user (its tags collection unloaded by the commit) loads that collection
 * to delete its secondary rows, which loads the expired tag again; the
 * refresh still reloads it (it asserted that the tag was expired). Found by
 * fuzz_orm. */
static void test_refresh_object_the_flush_loads(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *ann = seed(s);
    S_OK(s, cr_load(ann, tags));
    CTag *t1 = ann->tags.items[0];
    S_OK(s, cr_session_commit(s));   /* everything expired */
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "UPDATE casc_tags SET name = 't1z' WHERE name = 't1'");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    S_OK(s, cr_session_delete(s, ann));
    S_OK(s, cr_session_refresh(s, t1));
    assert_false(cr_object_expired(t1));
    assert_string_equal(t1->name, "t1z");
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_user_tags"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM casc_tags"), 2);
    harness_session_free(s);
}

static void test_expire_and_refresh_cascade(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CPost *a1 = ann->posts.items[0];
    CTag *t1 = ann->tags.items[0];
    /* expire: posts along refresh-expire, tags not; both relationships
     * of ann unloaded */
    S_OK(s, cr_session_expire(s, ann));
    assert_true(cr_object_expired(ann));
    assert_true(cr_object_expired(a1));
    assert_false(cr_object_expired(t1));
    assert_false(cr_is_loaded(ann, posts));
    assert_false(cr_is_loaded(ann, tags));
    /* another writer changes the rows; the next load sees it */
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "UPDATE casc_posts SET title = 'a1x' WHERE title = 'a1'");
    exec_ok(c, "UPDATE casc_tags SET name = 't1x' WHERE name = 't1'");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    harness_log_reset();
    S_OK(s, cr_load(ann, posts));
    assert_int_equal(ann->posts.count, 2);
    assert_ptr_equal(ann->posts.items[0], a1);   /* the same object, reloaded */
    assert_string_equal(a1->title, "a1x");
    assert_false(cr_object_expired(a1));
    S_OK(s, cr_load(ann, tags));
    assert_string_equal(t1->name, "t1");           /* not expired: kept */

    /* refresh: ann reloaded now, its posts expired and unloaded */
    S_OK(s, cr_session_commit(s));   /* SQLite: no reader holds the file */
    c = connect_ok(engine);
    exec_ok(c, "UPDATE casc_users SET name = 'ann2'");
    exec_ok(c, "UPDATE casc_posts SET title = 'a1y' WHERE title = 'a1x'");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    assert_true(cr_is_loaded(ann, posts));
    S_OK(s, cr_session_refresh(s, ann));
    assert_string_equal(ann->name, "ann2");
    assert_false(cr_object_expired(ann));
    assert_true(cr_object_expired(a1));
    assert_false(cr_is_loaded(ann, posts));
    S_OK(s, cr_load(ann, posts));
    assert_string_equal(a1->title, "a1y");

    /* a pending child reached by the cascade leaves the session */
    CPost *a3 = post("a3");
    S_OK(s, cr_append(ann, posts, a3));
    assert_int_equal(cr_object_state_of(a3), CR_STATE_PENDING);
    S_OK(s, cr_session_expire(s, ann));
    assert_int_equal(cr_object_state_of(a3), CR_STATE_TRANSIENT);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);
    harness_session_free(s);
}

/* ---- viewonly ---- */

/* A viewonly relationship, as SQLAlchemy's: cascades that act in a flush
 * (save-update, delete, delete-orphan) are refused where it is declared;
 * the flush ignores it, so an object appended to it stays out of the
 * session; its cascade is "merge" unless given, so a merge follows it. */
static void test_viewonly(void **state)
{
    (void)state;
    cr_metadata *m = cr_metadata_new(NULL);
    assert_non_null(m);
    VoBad_model_t k1 = VoBad_model;
    VoFine_model_t k2 = VoFine_model;
    assert_int_equal(VoBad_define(m), CR_ERR_ARGUMENT);
    const char *msg = cr_error_message(cr_metadata_error(m));
    assert_non_null(strstr(msg, "VoBad.posts"));
    assert_non_null(strstr(msg, "\"delete, delete-orphan, save-update\""));
    assert_non_null(strstr(msg, "viewonly"));
    assert_int_equal(VoFine_define(m), CR_OK);
    cr_metadata_free(m);
    VoBad_model = k1;
    VoFine_model = k2;

    cr_session *s0 = harness_session(engine, NULL);
    VoUser *ann = cr_new(VoUser);
    VoPost *first = cr_new(VoPost), *extra = cr_new(VoPost);
    assert_true(ann && first && extra);
    ann->name = "ann";
    first->title = "p1";
    extra->title = "extra";
    assert_int_equal(cr_append(ann, posts, first), CR_OK);
    S_OK(s0, cr_session_add(s0, ann));
    S_OK(s0, cr_session_commit(s0));
    int64_t id = ann->id;
    harness_session_free(s0);

    cr_session *s = harness_session(engine, &keep_loaded);
    VoUser *u = cr_session_get(s, VoUser, id);
    assert_non_null(u);
    S_OK(s, cr_load(u, recent));
    assert_int_equal(u->recent.count, 1);
    VoPost *p1 = u->recent.items[0];
    assert_string_equal(p1->title, "p1");
    /* no save-update cascade: appended, it is not added, nor inserted */
    assert_int_equal(cr_append(u, recent, extra), CR_OK);
    assert_int_equal(cr_object_state_of(extra), CR_STATE_TRANSIENT);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM vo_posts"), 1);
    assert_int_equal(cr_remove(u, recent, extra), CR_OK);
    cr_object_free(extra);
    /* detached, the post it holds changed: the merge brings it along */
    S_OK(s, cr_session_close(s));
    p1->title = "p1 edited";
    cr_session *s2 = harness_session(engine, NULL);
    VoUser *copy = cr_session_merge(s2, u);
    assert_non_null(copy);
    assert_int_equal(copy->recent.count, 1);
    VoPost *c1 = copy->recent.items[0];
    assert_ptr_not_equal(c1, p1);
    assert_int_equal(cr_object_state_of(c1), CR_STATE_PERSISTENT);
    assert_string_equal(c1->title, "p1 edited");
    S_OK(s2, cr_session_commit(s2));
    assert_int_equal(query_int("SELECT count(*) FROM vo_posts WHERE title = 'p1 edited'"), 1);
    harness_session_free(s2);
    harness_session_free(s);
}

/* ---- merge ---- */

static void test_merge_cascade(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    S_OK(s, cr_session_close(s));   /* ann, her posts and tags: detached */
    CPost *a1 = ann->posts.items[0], *a2 = ann->posts.items[1];
    a1->title = "a1 edited";
    assert_int_equal(cr_remove(ann, posts, a2), CR_OK);   /* delete-orphan */
    CPost *a3 = post("a3");
    assert_int_equal(cr_append(ann, posts, a3), CR_OK);

    cr_session *s2 = harness_session(engine, NULL);
    CUser *copy = cr_session_merge(s2, ann);
    assert_non_null(copy);
    assert_ptr_not_equal(copy, ann);
    assert_int_equal(cr_object_state_of(copy), CR_STATE_PERSISTENT);
    /* the posts: merged (persistent copies, a pending one for a3), the
     * collection points at them, each copy's author at the copy */
    assert_int_equal(copy->posts.count, 2);
    CPost *c1 = copy->posts.items[0], *c3 = copy->posts.items[1];
    assert_ptr_not_equal(c1, a1);
    assert_ptr_not_equal(c3, a3);
    assert_string_equal(c1->title, "a1 edited");
    assert_string_equal(c3->title, "a3");
    assert_int_equal(cr_object_state_of(c1), CR_STATE_PERSISTENT);
    assert_int_equal(cr_object_state_of(c3), CR_STATE_PENDING);
    assert_ptr_equal(c1->author, copy);
    assert_ptr_equal(c3->author, copy);
    /* tags: the default cascade has merge too */
    assert_int_equal(copy->tags.count, 2);
    assert_int_equal(cr_object_state_of(copy->tags.items[0]), CR_STATE_PERSISTENT);
    /* the detached objects are left as they were */
    assert_int_equal(cr_object_state_of(a1), CR_STATE_DETACHED);
    assert_ptr_equal(a1->author, ann);
    harness_log_reset();
    S_OK(s2, cr_session_commit(s2));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);   /* a2 orphaned */
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'a1 edited'"), 1);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts p JOIN casc_users u "
                               "ON p.user_id = u.id WHERE p.title = 'a3'"), 1);
    /* merging again finds the same copies; a cycle (post -> author ->
     * posts -> post) merges each object once */
    CUser *again = cr_session_merge(s2, ann);
    assert_ptr_equal(again, copy);
    assert_ptr_equal(cr_session_merge(s2, a1), c1);
    harness_session_free(s2);
    /* from the many-to-one side: a detached post brings its author */
    cr_session *s3 = harness_session(engine, NULL);
    CPost *m1 = cr_session_merge(s3, a1);
    assert_non_null(m1);
    assert_non_null(m1->author);
    assert_ptr_not_equal(m1->author, ann);
    assert_int_equal(cr_object_state_of(m1->author), CR_STATE_PERSISTENT);
    assert_string_equal(m1->author->name, "ann");
    S_OK(s3, cr_load(m1->author, posts));
    assert_int_equal(m1->author->posts.count, 2);
    assert_ptr_equal(m1->author->posts.items[0], m1);
    harness_session_free(s3);
    cr_object_free(a3);
    harness_session_free(s);
}

/* A merge that leaves a post out of a delete-orphan collection: the merge
 * flushes first (autoflush), so a new post appended is inserted, then
 * orphaned, and deleted at the next flush; with autoflush off it is still
 * pending, and is taken out of the session there and then, as cr_remove
 * does (and SQLAlchemy's remove event): it has no row to delete, and its
 * INSERT would have no user. */
static void test_merge_drops_pending(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    cr_session *s2 = harness_session(engine, &keep_loaded);
    CUser *ann2 = cr_session_get(s2, CUser, ann->id);
    assert_non_null(ann2);
    S_OK(s2, cr_load(ann2, posts));
    S_OK(s2, cr_load(ann2, badge));
    assert_int_equal(ann2->posts.count, 2);
    assert_null(ann2->badge);
    S_OK(s2, cr_session_close(s2));
    for (int autoflush = 1; autoflush >= 0; autoflush--) {
        cr_session_set_autoflush(s, autoflush);
        CPost *x = post("x");
        CBadge *b = cr_new(CBadge);
        assert_non_null(b);
        S_OK(s, cr_append(ann, posts, x));
        S_OK(s, cr_set_related(ann, badge, b));
        assert_ptr_equal(cr_session_merge(s, ann2), ann);
        assert_int_equal(ann->posts.count, 2);
        assert_null(x->author);
        assert_null(ann->badge);
        if (autoflush) {
            assert_int_equal(cr_object_state_of(x), CR_STATE_PERSISTENT);
            assert_int_equal(cr_object_state_of(b), CR_STATE_PERSISTENT);
            harness_assert_plan(s, "DELETE casc_posts 1\nDELETE casc_badges 1\n");
        } else {
            assert_int_equal(cr_object_state_of(x), CR_STATE_TRANSIENT);
            assert_int_equal(cr_object_state_of(b), CR_STATE_TRANSIENT);
            harness_assert_plan(s, "");
        }
        S_OK(s, cr_session_commit(s));
        assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);
        assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'x'"), 0);
        assert_int_equal(query_int("SELECT count(*) FROM casc_badges"), 0);
    }
    harness_session_free(s2);
    harness_session_free(s);
}

/* A merge that fails on a database error reads everything it needs before
 * it changes anything: the session is left as it was, no field copied, no
 * pending copy made. The posts table renamed inside the session's own
 * transaction makes the lookup of a post not in the identity map fail. */
static void test_merge_fails_whole(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CUser *d = user("ann2");
    d->id = ann->id;
    CPost *known = post("a1 edited"), *fresh = post("new");
    known->id = ((CPost *)ann->posts.items[0])->id;
    fresh->id = 999;
    assert_int_equal(cr_append(d, posts, known), CR_OK);
    assert_int_equal(cr_append(d, posts, fresh), CR_OK);
    cr_conn *c = cr_session_connection(s);
    assert_non_null(c);
    ASSERT_OK(cr_conn_exec(c, "ALTER TABLE casc_posts RENAME TO casc_posts_gone", NULL),
              cr_conn_error(c));
    size_t before = cr_session_identity_count(s);
    assert_null(cr_session_merge(s, d));
    assert_non_null(cr_session_error(s));
    assert_string_equal(ann->name, "ann");
    assert_string_equal(((CPost *)ann->posts.items[0])->title, "a1");
    assert_int_equal(ann->posts.count, 2);
    assert_false(cr_session_has_changes(s));
    assert_int_equal(cr_session_identity_count(s), before);
    assert_int_equal(cr_object_state_of(d), CR_STATE_TRANSIENT);
    S_OK(s, cr_session_rollback(s));
    if (harness_has_table(engine, "casc_posts_gone")) {   /* MySQL's DDL commits */
        cr_conn *c2 = connect_ok(engine);
        exec_ok(c2, "ALTER TABLE casc_posts_gone RENAME TO casc_posts");
        cr_conn_close(c2);
    }
    /* the same merge, the table back: copies made */
    CUser *copy = cr_session_merge(s, d);
    assert_ptr_equal(copy, ann);
    assert_string_equal(ann->name, "ann2");
    assert_int_equal(ann->posts.count, 2);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title IN ('a1 edited', "
                               "'new')"), 2);
    assert_int_equal(cr_object_free(known), CR_OK);
    assert_int_equal(cr_object_free(fresh), CR_OK);
    assert_int_equal(cr_object_free(d), CR_OK);
    harness_session_free(s);
}

/* ---- populate_existing ---- */

/* A post added behind the session's back: a query of the user run with
 * populate_existing loads her posts again, at once with a loader option
 * (selectin, joined), else when next asked (lazy). */
static void test_populate_existing_related(void **state)
{
    (void)state;
    char sql[160];
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    const cr_loader how[] = {CR_LOAD_DEFAULT, CR_LOAD_SELECTIN, CR_LOAD_JOINED, CR_LOAD_LAZY};
    for (size_t k = 0; k < sizeof how / sizeof how[0]; k++) {
        snprintf(sql, sizeof sql, "INSERT INTO casc_posts (title, user_id) VALUES ('p%zu', "
                 "%lld)", k, (long long)ann->id);
        engine_exec(engine, sql);
        cr_stmt *q = cr_session_query(s, CUser);
        if (k)
            cr_query_populate_existing(q);
        if (how[k] != CR_LOAD_DEFAULT)
            cr_query_loader(q, how[k], CR__RELS(CUser_model.r.posts));
        assert_ptr_equal(cr_query_one(q), ann);
        if (how[k] == CR_LOAD_LAZY) {
            assert_false(cr_is_loaded(ann, posts));
            S_OK(s, cr_load(ann, posts));
        }
        /* the first query, without populate_existing, keeps what was loaded */
        assert_int_equal(ann->posts.count, k ? 2 + k + 1 : 2);
        cr_stmt_free(q);
        S_OK(s, cr_session_commit(s));
    }
    harness_session_free(s);
}

/* ---- cascades of the other side, orphans of a new parent ---- */

/* As SQLAlchemy's backref events cascade: a new post given a user of the
 * session as its author comes into the session; a persistent post that a
 * new user's collection takes and lets go of is an orphan, deleted at the
 * flush; one of a deleted post refused before anything changes. */
static void test_cascade_from_other_side(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CPost *p = post("p");
    S_OK(s, cr_set_related(p, author, ann));
    assert_int_equal(cr_object_state_of(p), CR_STATE_PENDING);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 3);
    CUser *neu = user("neu");
    S_OK(s, cr_append(neu, posts, p));     /* from ann to neu (cascade: neu pending) */
    assert_int_equal(cr_object_state_of(neu), CR_STATE_PENDING);
    S_OK(s, cr_remove(neu, posts, p));     /* and out: an orphan */
    S_OK(s, cr_session_commit(s));
    assert_int_equal(cr_object_state_of(p), CR_STATE_DETACHED);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'p'"), 0);
    /* The user expired with its posts (the refresh-expire cascade): the
     * post's author is not known without a load, so setting it to NULL lets
     * go of nothing, and the post is kept with a NULL key, as SQLAlchemy
     * keeps it (its old value is not loaded; no has-parent flag changes). */
    CPost *a2 = ann->posts.items[1];
    S_OK(s, cr_session_expire(s, ann));
    assert_false(cr_is_loaded(ann, posts));
    assert_true(cr_object_expired(a2));
    S_OK(s, cr_set_related(a2, author, NULL));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'a2' AND "
                               "user_id IS NULL"), 1);
    /* let go by a user whose posts are not loaded (expired), the post's
     * author known: an orphan (SQLAlchemy's has-parent flag) */
    cr_session *s2 = harness_session(engine, NULL);
    int64_t a2_id = a2->id, ann_id = ann->id;
    CPost *x = cr_session_get(s2, CPost, a2_id);
    assert_non_null(x);
    S_OK(s2, cr_set_related(x, author, cr_session_get(s2, CUser, ann_id)));
    S_OK(s2, cr_session_commit(s2));
    CUser *ann2 = cr_session_get(s2, CUser, ann_id);
    assert_non_null(ann2);
    S_OK(s2, cr_load(x, author));
    S_OK(s2, cr_session_expire(s2, ann2));
    assert_false(cr_is_loaded(ann2, posts));
    S_OK(s2, cr_set_related(x, author, NULL));
    S_OK(s2, cr_session_commit(s2));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'a2'"), 0);
    harness_session_free(s2);
    S_OK(s, cr_load(ann, posts));
    CPost *a1 = ann->posts.items[0];
    S_OK(s, cr_session_delete(s, a1));
    S_OK(s, cr_session_flush(s));
    assert_int_equal(cr_append(neu, posts, a1), CR_ERR_INVALID_REQUEST);
    assert_int_equal(cr_set_related(a1, author, neu), CR_ERR_INVALID_REQUEST);
    assert_true(a1->author != neu);
    S_OK(s, cr_session_commit(s));
    harness_session_free(s);
}

/* A new post put in the posts (delete cascade) of a user already marked
 * for deletion, whether as the post's author or by an append: the flush
 * takes it out of the session, as the delete cascade takes out the new
 * posts it meets when cr_session_delete runs, instead of inserting it under
 * the row it deletes (a foreign key error where keys are checked). The
 * ORM differential test found it (seed 99). */
static void test_new_child_of_deleted(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    S_OK(s, cr_session_delete(s, ann));
    CPost *late = post("late"), *later = post("later");
    S_OK(s, cr_set_related(late, author, ann));
    assert_int_equal(cr_object_state_of(late), CR_STATE_PENDING);
    S_OK(s, cr_append(ann, posts, later));
    S_OK(s, cr_session_flush(s));
    assert_int_equal(cr_object_state_of(late), CR_STATE_TRANSIENT);
    assert_int_equal(cr_object_state_of(later), CR_STATE_TRANSIENT);
    assert_int_equal(cr_object_state_of(ann), CR_STATE_DELETED);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 0);
    harness_session_free(s);

    /* The delete cascade passes a new post by, as SQLAlchemy's does: a
     * user deleted and added back before the flush keeps it, inserted. */
    s = harness_session(engine, &keep_loaded);
    CUser *bo = seed(s);
    CPost *kept = post("kept");
    S_OK(s, cr_append(bo, posts, kept));
    S_OK(s, cr_session_delete(s, bo));
    assert_int_equal(cr_object_state_of(kept), CR_STATE_PENDING);
    S_OK(s, cr_session_add(s, bo));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(cr_object_state_of(kept), CR_STATE_PERSISTENT);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'kept'"), 1);
    harness_session_free(s);

    /* The same with the user expired (by the commit) but the relationships
     * its delete cascades along (posts, badge) loaded again: the delete
     * needs no load of the user, so it flushes nothing (SQLAlchemy
     * refreshes an expired object, autoflushing, only when a cascade must
     * lazy-load one of its relationships). */
    s = harness_session(engine, NULL);
    CUser *cy = seed(s);
    S_OK(s, cr_load(cy, posts));
    S_OK(s, cr_load(cy, badge));
    CPost *stays = post("stays");
    S_OK(s, cr_append(cy, posts, stays));
    harness_log_reset();
    S_OK(s, cr_session_delete(s, cy));
    assert_false(harness_sent("INSERT INTO casc_posts"));
    assert_int_equal(cr_object_state_of(stays), CR_STATE_PENDING);
    S_OK(s, cr_session_add(s, cy));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'stays'"), 1);
    harness_session_free(s);
}

/* An expired post appended to a user's posts knows its author from then on,
 * as SQLAlchemy's backref puts it in the post's dict: set to none, it leaves
 * that user's posts, an orphan the flush deletes. (The user, in no session,
 * goes into the post's along the back relationship.) */
static void test_backref_known_when_expired(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CPost *p = post("p");
    S_OK(s, cr_session_add(s, p));
    S_OK(s, cr_session_commit(s));   /* p expired */
    CUser *u = user("u");
    assert_int_equal(cr_append(u, posts, p), CR_OK);
    assert_int_equal(cr_object_state_of(u), CR_STATE_PENDING);
    S_OK(s, cr_set_related(p, author, NULL));
    assert_int_equal(u->posts.count, 0);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 1);
    harness_session_free(s);
}

/* A deleted object's many-to-many collection, not loaded, is loaded by
 * the flush of its delete (SQLAlchemy reads it to know the association rows
 * to delete, unless passive_deletes): the deleted user, detached after the
 * commit, still lists its tags, and a tag appended to it there is an
 * append, not an error. The ORM differential found it (seed 99, program
 * 22). */
static void test_deleted_loads_many_to_many(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *ann = seed(s);   /* expired by the commit: tags not loaded */
    assert_false(cr_is_loaded(ann, tags));
    S_OK(s, cr_session_delete(s, ann));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(cr_object_state_of(ann), CR_STATE_DETACHED);
    assert_true(cr_is_loaded(ann, tags));
    assert_int_equal(ann->tags.count, 2);
    assert_string_equal(((CTag *)ann->tags.items[0])->name, "t1");
    assert_int_equal(query_int("SELECT count(*) FROM casc_user_tags"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM casc_tags"), 2);
    CTag *t3 = cr_new(CTag);
    t3->name = "t3";
    assert_int_equal(cr_append(ann, tags, t3), CR_OK);
    assert_int_equal(ann->tags.count, 3);
    harness_session_free(s);
    cr_object_free(t3);
}

/* session.add of an object whose save-update cascade reaches one whose
 * DELETE was flushed fails, as SQLAlchemy's does ("has been deleted"): the
 * deleted object is no longer in the identity map, so the cascade does not
 * stop at it. The ORM differential found it (seed 99, program 952). */
static void test_cascade_add_reaches_deleted(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed_flushed_deleted(s);
    CPost *late = post("late");
    late->author = ann;   /* a plain assignment: no cascade until the add */
    assert_int_equal(cr_session_add(s, late), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "has been deleted"));
    /* late itself went in first, as in SQLAlchemy: the session frees it. */
    assert_int_equal(cr_object_state_of(late), CR_STATE_PENDING);
    S_OK(s, cr_session_rollback(s));
    harness_session_free(s);
}

/* session.delete gathers its cascade before it marks the object, as
 * SQLAlchemy's does, so the lazy load of a collection the cascade reads
 * autoflushes first when relationship calls changed the session: a post
 * given this user by cr_set_related since the last flush is among the
 * posts it loads, and deleted with her. (Loaded without the autoflush, the
 * collection missed it; the commit then kept the post, its key pointing at
 * the deleted row.) The ORM differential found it (seed 31337, program
 * 505). */
static void test_delete_cascade_sees_set_related(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *ann = user("ann");
    CPost *loose = post("loose");
    S_OK(s, cr_session_add_all(s, CR_OBJS(ann, loose)));
    S_OK(s, cr_session_commit(s));
    S_OK(s, cr_session_refresh(s, ann));   /* loaded again, her posts not */
    assert_false(cr_is_loaded(ann, posts));
    S_OK(s, cr_set_related(loose, author, ann));
    S_OK(s, cr_session_delete(s, ann));
    assert_true(cr_is_loaded(ann, posts));
    assert_int_equal(ann->posts.count, 1);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(cr_object_state_of(loose), CR_STATE_DETACHED);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 0);
    harness_session_free(s);
}

/* make_transient takes one object out, no cascade, and changes no
 * relationship: what still refers to it is not changed by that, and the
 * commit writes nothing (as SQLAlchemy's: the flush cascades nothing from
 * an unchanged object). The user made transient and added again with a new
 * key is a new row; her loaded posts stay with the first. */
static void test_make_transient_related(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CPost *a1 = ann->posts.items[0];
    assert_int_equal(cr_make_transient(a1), CR_OK);
    ann->name = "ann2";   /* a change of hers: her posts are not cascaded */
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);
    assert_int_equal(cr_object_state_of(a1), CR_STATE_TRANSIENT);
    CPost *a2 = ann->posts.items[1];
    assert_int_equal(cr_make_transient(ann), CR_OK);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 1);
    assert_int_equal(cr_object_state_of(a2), CR_STATE_PERSISTENT);
    harness_session_free(s);
    /* The two given to the program. */
    assert_int_equal(cr_object_free(ann), CR_OK);
    assert_int_equal(cr_object_free(a1), CR_OK);
}

/* An object a relationship call took into the session (the save-update
 * cascade, either way), then made transient, stays out: the flush's
 * cascade does not take it in again, and the link to it is not written, as
 * SQLAlchemy's flush does not proceed with an object not in the session
 * (checked against SQLAlchemy 1.4: no tag row nor association row, no user
 * row and the post's key unchanged). Added again, it is inserted. */
static void test_make_transient_kept_out(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *ann = seed(s);
    CPost *loose = post("loose");
    S_OK(s, cr_session_add(s, loose));
    S_OK(s, cr_session_commit(s));
    CTag *t3 = cr_new(CTag);
    t3->name = "t3";
    S_OK(s, cr_append(ann, tags, t3));
    assert_int_equal(cr_object_state_of(t3), CR_STATE_PENDING);
    assert_int_equal(cr_make_transient(t3), CR_OK);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_tags"), 2);
    assert_int_equal(query_int("SELECT count(*) FROM casc_user_tags"), 2);
    assert_int_equal(cr_object_state_of(t3), CR_STATE_TRANSIENT);

    CUser *bob = user("bob");
    S_OK(s, cr_append(bob, posts, loose));   /* bob in along post.author */
    assert_int_equal(cr_object_state_of(bob), CR_STATE_PENDING);
    assert_int_equal(cr_make_transient(bob), CR_OK);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 1);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE user_id IS NULL"), 1);

    /* The post, expired by the commit, still points at bob: its reference
     * is not loaded, and adding the post does not follow it (SQLAlchemy
     * cascades along loaded references only; its post would load none). */
    S_OK(s, cr_session_add(s, loose));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 1);
    assert_int_equal(cr_object_state_of(bob), CR_STATE_TRANSIENT);

    /* Added again: in, and linked. */
    S_OK(s, cr_session_add(s, bob));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 2);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE user_id IS NULL"), 0);
    harness_session_free(s);
    assert_int_equal(cr_object_free(t3), CR_OK);
}

/* An object expunged stays out as one made transient does: a collection
 * call took it in along with its post, cr_session_expunge took it out, and
 * the flush neither takes it in again nor writes the link to it, as
 * SQLAlchemy's flush does not proceed with an object not in the session
 * (checked against SQLAlchemy 1.4: no tag row, no association row). (The
 * flush's cascade took it in again.) The ORM differential found it, with
 * expunge among its calls (seed 5, program 504). */
static void test_expunge_kept_out(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *ann = seed(s);
    CTag *t3 = cr_new(CTag);
    t3->name = "t3";
    S_OK(s, cr_append(ann, tags, t3));
    assert_int_equal(cr_object_state_of(t3), CR_STATE_PENDING);
    S_OK(s, cr_session_expunge(s, t3));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(cr_object_state_of(t3), CR_STATE_TRANSIENT);
    assert_int_equal(query_int("SELECT count(*) FROM casc_tags"), 2);
    assert_int_equal(query_int("SELECT count(*) FROM casc_user_tags"), 2);
    harness_session_free(s);
    assert_int_equal(cr_object_free(t3), CR_OK);
}

/* A member removed from a many-to-many and then expunged: the association
 * row stays, as SQLAlchemy's flush does not proceed with the removal of an
 * object not in the session (it warns), as for an added one. (Crucible
 * deleted the row.) The ORM differential found it (seed 1207, program 118,
 * once savepoints were among its calls). */
static void test_expunge_kept_out_removed(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CTag *t1 = ann->tags.items[0];
    S_OK(s, cr_remove(ann, tags, t1));
    S_OK(s, cr_session_expunge(s, t1));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(cr_object_state_of(t1), CR_STATE_DETACHED);
    assert_int_equal(query_int("SELECT count(*) FROM casc_user_tags"), 2);
    harness_session_free(s);
    assert_int_equal(cr_object_free(t1), CR_OK);
}

/* cr_session_delete of an expunged object attaches it, and its delete
 * cascade attaches the detached objects it reaches (expunged with it) and
 * deletes them too, as SQLAlchemy's delete cascade does. (It passed them
 * by: the user's DELETE then failed on their foreign keys, or left rows
 * that referred to no user.) The ORM differential found it (seed 42,
 * program 627). */
static void test_delete_attaches_cascade(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CPost *a1 = ann->posts.items[0];
    S_OK(s, cr_session_expunge(s, ann));
    assert_int_equal(cr_object_state_of(a1), CR_STATE_DETACHED);
    S_OK(s, cr_session_delete(s, ann));
    assert_int_equal(cr_object_state_of(a1), CR_STATE_PERSISTENT);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 0);
    harness_session_free(s);
}

/* cr_set_related of a reference not loaded (the object loaded, its
 * reference not yet) to what the field holds is a set all the same, as
 * SQLAlchemy's, which has no old value to compare: a change, so that the
 * next get's autoflush runs and writes what the program changed by hand
 * before. (It counted for nothing: the title waited.) The ORM differential
 * found it (seed 1207, program 658). */
static void test_set_related_unloaded_same(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CPost *lone = post("lone");
    S_OK(s, cr_session_add(s, lone));
    S_OK(s, cr_session_commit(s));
    int64_t id = lone->id;
    S_OK(s, cr_session_expunge(s, lone));
    CPost *p = cr_session_get(s, CPost, id);
    assert_non_null(p);
    assert_false(cr_is_loaded(p, author));
    assert_null(p->author);
    p->title = "changed";
    S_OK(s, cr_set_related(p, author, NULL));
    assert_null(cr_session_get(s, CUser, 999));   /* its autoflush writes the title */
    assert_null(cr_session_error(s));
    assert_false(cr_session_is_modified(s, p));
    S_OK(s, cr_session_rollback(s));
    harness_session_free(s);
    assert_int_equal(cr_object_free(lone), CR_OK);
}

/* A new object's reference set to NULL by a call clears the key it was
 * given by hand, as SQLAlchemy's flush clears the foreign key of a
 * many-to-one set to None; never set, the key stays. A merge sets every
 * reference of its copy, NULL too: a new copy of a post its user let go
 * of is inserted without the user's key. (The key stayed.) The ORM
 * differential found it (seed 5, program 885). */
static void test_set_null_clears_given_key(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *ann = seed(s);
    int64_t ann_id = ann->id;
    CPost *kept = post("kept"), *cleared = post("cleared");
    kept->user_id = ann_id;
    cleared->user_id = ann_id;
    S_OK(s, cr_set_related(cleared, author, NULL));
    S_OK(s, cr_session_add_all(s, CR_OBJS(kept, cleared)));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'kept' AND "
                               "user_id IS NOT NULL"), 1);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'cleared' AND "
                               "user_id IS NULL"), 1);
    harness_session_free(s);
}

/* cr_set_related on an expired object, to the object its reference held,
 * is a set all the same: not loaded, there is no old value to compare (as
 * in SQLAlchemy), and the save-update cascade takes the target in, here
 * one made transient. (Taken for no change, it cascaded nothing.) The ORM
 * differential found it, with expire among its calls (seed 31337, program
 * 715; seed 77, program 192). */
static void test_set_related_expired_same(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *ann = seed(s);   /* expired by the commit, her posts too */
    CPost *a1 = ann->posts.items[0];
    assert_int_equal(cr_make_transient(ann), CR_OK);
    assert_ptr_equal(a1->author, ann);
    S_OK(s, cr_set_related(a1, author, ann));
    assert_int_equal(cr_object_state_of(ann), CR_STATE_PENDING);
    S_OK(s, cr_session_rollback(s));
    harness_session_free(s);
}

/* cr_make_transient of an expired object drops what its relationships
 * held (stale, not loaded), as SQLAlchemy's make_transient drops expired
 * attributes: its author is NULL, its collections empty. (They kept the
 * stale members, which a later call then took for the object's own.) The
 * ORM differential found it (seed 1207, program 655). */
static void test_make_transient_expired_links(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *ann = seed(s);   /* expired by the commit */
    CPost *a1 = ann->posts.items[0];
    assert_ptr_equal(a1->author, ann);
    assert_int_equal(cr_make_transient(a1), CR_OK);
    assert_null(a1->author);
    assert_int_equal(cr_make_transient(ann), CR_OK);
    assert_int_equal(ann->posts.count, 0);
    assert_int_equal(ann->tags.count, 0);
    harness_session_free(s);
    assert_int_equal(cr_object_free(a1), CR_OK);
    assert_int_equal(cr_object_free(ann), CR_OK);
}

/* cr_session_add cascades a relationship's pending history too: a member
 * removed from a loaded collection, a reference replaced, not yet flushed,
 * as SQLAlchemy's save-update cascade does (so that the flush can write
 * what the change means for it). Here they were made transient: the add
 * takes them in again. (It followed the current members only.) */
static void test_add_cascades_pending_history(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CTag *t1 = ann->tags.items[0];
    assert_int_equal(cr_make_transient(t1), CR_OK);
    S_OK(s, cr_remove(ann, tags, t1));
    S_OK(s, cr_session_add(s, ann));
    assert_int_equal(cr_object_state_of(t1), CR_STATE_PENDING);

    CPost *a1 = ann->posts.items[0];
    assert_int_equal(cr_make_transient(ann), CR_OK);
    S_OK(s, cr_set_related(a1, author, user("bob")));
    assert_int_equal(cr_object_state_of(ann), CR_STATE_TRANSIENT);
    S_OK(s, cr_session_add(s, a1));
    assert_int_equal(cr_object_state_of(ann), CR_STATE_PENDING);
    S_OK(s, cr_session_rollback(s));
    harness_session_free(s);
}

/* A deleted object's relationships keep what its row held: its changes
 * were not written, its DELETE was (SQLAlchemy keeps a deleted object's
 * history). A post deleted with its user, its author set NULL before the
 * flush, then made transient and added again: the add cascades the author
 * it had, whose DELETE was committed, and is refused as SQLAlchemy's is.
 * (The flush took the NULL as flushed: the add went through.) The ORM
 * differential found it (seed 31337, program 561). */
static void test_deleted_keeps_flushed_links(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CPost *a1 = ann->posts.items[0];
    S_OK(s, cr_session_delete(s, ann));
    S_OK(s, cr_set_related(a1, author, NULL));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 0);
    assert_int_equal(cr_make_transient(a1), CR_OK);
    assert_int_equal(cr_session_add(s, a1), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "has been deleted"));
    S_OK(s, cr_session_rollback(s));
    harness_session_free(s);   /* a1 too: the add took it in before it failed */
}

/* A post in no session given, as its author, a user whose DELETE was
 * flushed: the call succeeds, and the deleted user's posts take the post
 * without bringing it into the session (a deleted object cascades
 * nothing, as in SQLAlchemy 2.0; 1.4's backref cascade takes it in and
 * inserts it without its key). Adding the post then fails: its own cascade
 * reaches the deleted user. (The call was refused.) The ORM differential
 * found it (seed 31337, program 473). */
static void test_set_related_to_deleted(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed_flushed_deleted(s);
    CPost *late = post("late");
    S_OK(s, cr_set_related(late, author, ann));
    assert_ptr_equal(late->author, ann);
    assert_int_equal(cr_object_state_of(late), CR_STATE_TRANSIENT);
    assert_int_equal(ann->posts.count, 3);
    assert_ptr_equal(ann->posts.items[2], late);
    S_OK(s, cr_session_flush(s));
    assert_int_equal(cr_session_add(s, late), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_session_error(s)), "has been deleted"));
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);
    harness_session_free(s);
}

/* A reference set on an expired object, even to the one it held, is a
 * change SQLAlchemy's flush loads the object for: loaded by the next flush,
 * it is no longer expired, so that a get of it, with a new object of its
 * key added since, finds it in the identity map without an autoflush (which
 * would fail on the two keys). (The flush found nothing to write and left
 * it expired; the get reloaded it, autoflushing first.) The ORM
 * differential found it (seed 11, program 132). */
static void test_set_related_on_expired(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CPost *p = post("p");
    S_OK(s, cr_session_add(s, p));
    S_OK(s, cr_session_commit(s));
    assert_true(cr_object_expired(p));
    S_OK(s, cr_set_related(p, author, NULL));   /* it had none */
    harness_log_reset();
    S_OK(s, cr_session_flush(s));
    ASSERT_SENT_TEXT("SELECT");
    assert_false(cr_object_expired(p));
    CPost *twin = post("twin");
    twin->id = p->id;
    S_OK(s, cr_session_add(s, twin));
    assert_ptr_equal(cr_session_get(s, CPost, p->id), p);
    S_OK(s, cr_session_rollback(s));
    /* Expired again by the rollback: set and rolled back, nothing loads. */
    S_OK(s, cr_set_related(p, author, NULL));
    S_OK(s, cr_session_rollback(s));
    harness_log_reset();
    S_OK(s, cr_session_flush(s));
    ASSERT_STATEMENTS(0);
    harness_session_free(s);
}

/* A persistent post put into a loaded delete-orphan collection and taken
 * out again before the flush is an orphan, deleted: SQLAlchemy's has-parent
 * flag is set by the append and cleared by the remove, though the
 * collection ends as it was loaded. The ORM differential test found it
 * (seed 42). */
static void test_in_and_out_is_orphan(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    CPost *loose = post("loose");            /* no author */
    S_OK(s, cr_session_add(s, loose));
    S_OK(s, cr_session_commit(s));
    assert_true(cr_is_loaded(ann, posts));
    S_OK(s, cr_append(ann, posts, loose));
    S_OK(s, cr_remove(ann, posts, loose));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(cr_object_state_of(loose), CR_STATE_DETACHED);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts WHERE title = 'loose'"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);
    harness_session_free(s);
}

/* ---- row switch ---- */

/* A user deleted and a new one of her key added in one flush: her row is
 * UPDATEd to the new one (SQLAlchemy's row switch, its RowSwitchTest), no
 * DELETE sent for it; her posts go (delete-orphan) and the new one's are
 * inserted under the key; her tag rows go and the new one's come, one of
 * them the same pair. A post taken out of a collection and a new one of its
 * key put in: the post's row switches too. */
static void test_row_switch(void **state)
{
    (void)state;
    char sql[200];
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    int64_t id = ann->id;
    CPost *a1 = ann->posts.items[0];
    CTag *t1 = ann->tags.items[0];
    CTag *t3 = cr_new(CTag);
    assert_non_null(t3);
    t3->name = "t3";
    CUser *amy = user("amy");
    amy->id = id;
    CPost *n1 = post("n1"), *n2 = post("n2");
    S_OK(s, cr_append(amy, posts, n1));
    S_OK(s, cr_append(amy, posts, n2));
    S_OK(s, cr_append(amy, tags, t1));
    S_OK(s, cr_append(amy, tags, t3));
    S_OK(s, cr_session_delete(s, ann));
    S_OK(s, cr_session_add(s, amy));
    harness_assert_plan(s, "INSERT casc_tags (name) 1\n"
                           "UPDATE casc_users (name) 1\n"
                           "INSERT casc_posts (title, user_id) 2\n"
                           "DELETE casc_user_tags 1 all\n"
                           "INSERT casc_user_tags 2\n"
                           "DELETE casc_posts 2\n");
    harness_log_reset();
    S_OK(s, cr_session_commit(s));
    ASSERT_SENT("UPDATE casc_users SET name=? WHERE casc_users.id = ?");
    assert_null(strstr(harness_log, "DELETE FROM casc_users"));
    assert_int_equal(cr_object_state_of(ann), CR_STATE_DETACHED);
    assert_int_equal(cr_object_state_of(a1), CR_STATE_DETACHED);
    assert_int_equal(cr_object_state_of(amy), CR_STATE_PERSISTENT);
    assert_ptr_equal(cr_session_get(s, CUser, id), amy);
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM casc_users WHERE id = %lld AND name = 'amy'",
             (long long)id);
    assert_int_equal(query_int(sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM casc_posts WHERE user_id = %lld AND title "
             "IN ('n1', 'n2')", (long long)id);
    assert_int_equal(query_int(sql), 2);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM casc_user_tags WHERE user_id = %lld AND "
             "tag_id IN (%lld, %lld)", (long long)id, (long long)t1->id, (long long)t3->id);
    assert_int_equal(query_int(sql), 2);
    assert_int_equal(query_int("SELECT count(*) FROM casc_user_tags"), 2);

    /* a post replaced in the collection by a new one of its key */
    CPost *r1 = post("r1");
    r1->id = n1->id;
    S_OK(s, cr_remove(amy, posts, n1));
    S_OK(s, cr_append(amy, posts, r1));
    harness_log_reset();
    S_OK(s, cr_session_commit(s));
    ASSERT_STATEMENTS(1);
    ASSERT_SENT("UPDATE casc_posts SET title=?, user_id=? WHERE casc_posts.id = ?");
    assert_int_equal(cr_object_state_of(n1), CR_STATE_DETACHED);
    assert_int_equal(cr_object_state_of(r1), CR_STATE_PERSISTENT);
    assert_ptr_equal(r1->author, amy);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM casc_posts WHERE id = %lld AND title = 'r1' "
             "AND user_id = %lld", (long long)r1->id, (long long)id);
    assert_int_equal(query_int(sql), 1);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 2);
    harness_session_free(s);
}

/* The plan of a flush marks nothing: a post taken out of its collection
 * (an orphan the flush would delete) and put in another after the plan was
 * read is saved under the other user. */
static void test_plan_leaves_orphans(void **state)
{
    (void)state;
    char sql[160];
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s), *bob = user("bob");
    S_OK(s, cr_session_add(s, bob));
    S_OK(s, cr_session_flush(s));
    CPost *a1 = ann->posts.items[0];
    S_OK(s, cr_remove(ann, posts, a1));
    harness_assert_plan(s, "DELETE casc_posts 1\n");
    assert_int_equal(cr_object_state_of(a1), CR_STATE_PERSISTENT);
    S_OK(s, cr_append(bob, posts, a1));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(cr_object_state_of(a1), CR_STATE_PERSISTENT);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM casc_posts WHERE id = %lld AND user_id = %lld",
             (long long)a1->id, (long long)bob->id);
    assert_int_equal(query_int(sql), 1);
    harness_session_free(s);
}

/* ---- post_update ---- */

static cr_session *cycle_session(void)
{
    return harness_session(engine, &keep_loaded);
}

static PEmp *emp(const char *name)
{
    PEmp *e = cr_new(PEmp);
    assert_non_null(e);
    e->name = (char *)name;
    return e;
}

static void test_post_update_two_tables(void **state)
{
    (void)state;
    cr_session *s = cycle_session();
    PDept *d = cr_new(PDept);
    d->name = "eng";
    PEmp *boss = emp("boss"), *dev = emp("dev");
    S_OK(s, cr_append(d, staff, boss));
    S_OK(s, cr_append(d, staff, dev));
    S_OK(s, cr_set_related(d, head, boss));
    S_OK(s, cr_session_add(s, d));
    char *plan = cr_session_plan(s);
    assert_non_null(plan);
    assert_non_null(strstr(plan, "UPDATE pu_departments (head_id) 1 post-update"));
    free(plan);
    harness_log_reset();
    S_OK(s, cr_session_commit(s));
    /* both rows first, the head by an UPDATE after them */
    ASSERT_ORDER("INSERT INTO pu_departments", "INSERT INTO pu_employees",
                 "UPDATE pu_departments SET head_id");
    assert_int_equal(query_int("SELECT count(*) FROM pu_departments d JOIN pu_employees e "
                               "ON d.head_id = e.id WHERE e.name = 'boss' "
                               "AND e.department_id = d.id"), 1);
    /* a new head: one UPDATE */
    harness_log_reset();
    S_OK(s, cr_set_related(d, head, dev));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(line_of("UPDATE pu_departments SET head_id", 0) >= 0, 1);
    assert_int_equal(query_int("SELECT count(*) FROM pu_departments d JOIN pu_employees e "
                               "ON d.head_id = e.id WHERE e.name = 'dev'"), 1);
    /* deleting the department and its staff: the head's key is set NULL
     * by an UPDATE before the DELETEs */
    harness_log_reset();
    S_OK(s, cr_session_delete(s, boss));
    S_OK(s, cr_session_delete(s, dev));
    S_OK(s, cr_session_delete(s, d));
    plan = cr_session_plan(s);
    assert_non_null(strstr(plan, "UPDATE pu_departments (head_id) 1 post-update"));
    free(plan);
    S_OK(s, cr_session_commit(s));
    ASSERT_ORDER("UPDATE pu_departments SET head_id", "DELETE FROM pu_employees",
                 "DELETE FROM pu_departments");
    assert_int_equal(query_int("SELECT count(*) FROM pu_departments"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM pu_employees"), 0);
    harness_session_free(s);
}

static void test_post_update_self_cycle(void **state)
{
    (void)state;
    cr_session *s = cycle_session();
    PEmp *a = emp("a"), *b = emp("b");
    /* each manages the other */
    S_OK(s, cr_set_related(a, manager, b));
    S_OK(s, cr_set_related(b, manager, a));
    S_OK(s, cr_session_add(s, a));
    harness_log_reset();
    S_OK(s, cr_session_commit(s));
    ASSERT_ORDER("INSERT INTO pu_employees", "UPDATE pu_employees SET manager_id",
                 "UPDATE pu_employees SET manager_id");
    assert_int_equal(query_int("SELECT count(*) FROM pu_employees x JOIN pu_employees y "
                               "ON x.manager_id = y.id AND y.manager_id = x.id"), 2);
    assert_int_equal(a->manager_id, b->id);
    assert_int_equal(b->manager_id, a->id);
    /* delete both: the keys NULL first, then one DELETE */
    harness_log_reset();
    S_OK(s, cr_session_delete(s, a));
    S_OK(s, cr_session_delete(s, b));
    S_OK(s, cr_session_commit(s));
    ASSERT_ORDER("UPDATE pu_employees SET manager_id", "UPDATE pu_employees SET manager_id",
                 "DELETE FROM pu_employees");
    assert_int_equal(query_int("SELECT count(*) FROM pu_employees"), 0);
    /* deleting one of a pair: its own key NULL, the other's by the
     * database's rules (here: the program's) */
    PEmp *c = emp("c"), *e = emp("e");
    S_OK(s, cr_set_related(c, manager, e));
    S_OK(s, cr_session_add_all(s, CR_OBJS(c, e)));
    S_OK(s, cr_session_commit(s));
    harness_log_reset();
    S_OK(s, cr_session_delete(s, c));
    S_OK(s, cr_session_commit(s));
    ASSERT_ORDER("UPDATE pu_employees SET manager_id", "DELETE FROM pu_employees");
    assert_int_equal(query_int("SELECT count(*) FROM pu_employees"), 1);
    harness_session_free(s);
}

static void test_post_update_one_to_many(void **state)
{
    (void)state;
    cr_session *s = cycle_session();
    VPerson *p = cr_new(VPerson);
    VBall *b1 = cr_new(VBall), *b2 = cr_new(VBall);
    p->name = "p";
    b1->color = "red";
    b2->color = "blue";
    S_OK(s, cr_append(p, balls, b1));
    S_OK(s, cr_append(p, balls, b2));
    S_OK(s, cr_set_related(p, favorite, b2));
    S_OK(s, cr_session_add(s, p));
    harness_log_reset();
    S_OK(s, cr_session_commit(s));
    /* the balls first (their owner's key by UPDATEs after), then the
     * person with its favorite */
    ASSERT_ORDER("INSERT INTO pv_balls", "INSERT INTO pv_a_people", "UPDATE pv_balls SET person_id",
                 "UPDATE pv_balls SET person_id", "COMMIT");
    assert_int_equal(count_of("UPDATE pv_balls"), 2);   /* one per ball, both sides asking */
    assert_int_equal(query_int("SELECT count(*) FROM pv_balls b JOIN pv_a_people p "
                               "ON b.person_id = p.id"), 2);
    assert_int_equal(query_int("SELECT count(*) FROM pv_a_people p JOIN pv_balls b "
                               "ON p.favorite_ball_id = b.id WHERE b.color = 'blue'"), 1);
    assert_int_equal(b1->person_id, p->id);
    /* deleting the person deletes its balls (all): their key to it set
     * NULL first, then the person (it refers to a ball), then the balls */
    harness_log_reset();
    S_OK(s, cr_session_delete(s, p));
    S_OK(s, cr_session_commit(s));
    ASSERT_ORDER("UPDATE pv_balls SET person_id", "UPDATE pv_balls SET person_id",
                 "DELETE FROM pv_a_people", "DELETE FROM pv_balls");
    assert_int_equal(query_int("SELECT count(*) FROM pv_balls"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM pv_a_people"), 0);
    harness_session_free(s);
}

/* ---- bad input ---- */

static bool says(const cr_session *s, const char *what)
{
    const cr_error *e = cr_session_error(s);
    bool yes = e && strstr(cr_error_message(e), what);
    if (!yes)
        print_error("expected '%s' in: %s\n", what, e ? cr_error_message(e) : "(no error)");
    return yes;
}

static void test_wrong_model(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    CUser *u = user("u");
    S_OK(s, cr_session_add(s, u));
    CTag *t = cr_new(CTag);
    t->name = "t";
    /* by the calls: refused at once */
    assert_int_equal(cr_append(u, posts, t), CR_ERR_ARGUMENT);
    assert_true(says(s, "CUser.posts"));
    CPost *x = post("x");
    assert_int_equal(cr_object_set_related(x, offsetof(CPost, author), t), CR_ERR_ARGUMENT);
    assert_null(x->author);
    cr_object_free(x);
    /* by a plain assignment: at the flush, before anything is sent */
    CPost *p = post("p");
    p->author = (struct CUser *)(void *)t;
    assert_int_equal(cr_session_add(s, p), CR_ERR_ARGUMENT);
    assert_true(says(s, "CPost.author"));
    S_OK(s, cr_session_add(s, t));
    assert_int_equal(cr_session_flush(s), CR_ERR_ARGUMENT);
    assert_true(says(s, "CPost.author"));
    S_OK(s, cr_session_rollback(s));
    /* by merge: refused before any copy is made */
    CPost *q = post("q");
    CUser *v = user("v");
    assert_int_equal(cr_append(v, posts, q), CR_OK);
    q->author = (struct CUser *)(void *)t;
    size_t before = cr_session_identity_count(s);
    assert_null(cr_session_merge(s, v));
    assert_true(says(s, "CPost.author"));
    assert_int_equal(cr_session_identity_count(s), before);
    char *plan = cr_session_plan(s);   /* no copy of v or q left pending */
    assert_non_null(plan);
    assert_null(strstr(plan, "INSERT"));
    free(plan);
    cr_object_free(q);
    cr_object_free(v);
    p->author = u;
    S_OK(s, cr_session_add_all(s, CR_OBJS(u, p, t)));
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 1);
    harness_session_free(s);
}

static void test_cycle_without_post_update(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, NULL);
    QDept *d = cr_new(QDept);
    QEmp *e = cr_new(QEmp);
    d->name = "d";
    e->name = "e";
    S_OK(s, cr_set_related(e, department, d));
    S_OK(s, cr_set_related(d, head, e));
    S_OK(s, cr_session_add(s, d));
    assert_null(cr_session_plan(s));   /* the plan says so too */
    assert_true(says(s, "post_update"));
    harness_log_reset();
    assert_int_equal(cr_session_commit(s), CR_ERR_FLUSH);
    assert_int_equal(line_of("INSERT", 0), -1);   /* refused before anything is sent */
    assert_true(says(s, "post_update"));
    assert_true(says(s, "QDept.head") || says(s, "QEmp.department"));
    /* the session waits for a rollback, then works on */
    assert_int_equal(cr_session_flush(s), CR_ERR_PENDING_ROLLBACK);
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(query_int("SELECT count(*) FROM pq_departments"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM pq_employees"), 0);
    S_OK(s, cr_set_related(d, head, NULL));
    S_OK(s, cr_session_add(s, e));   /* d comes along: e's department */
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM pq_employees"), 1);

    /* a table with itself: two employees managing each other */
    QEmp *a = cr_new(QEmp), *b = cr_new(QEmp);
    S_OK(s, cr_set_related(a, manager, b));
    S_OK(s, cr_set_related(b, manager, a));
    S_OK(s, cr_session_add(s, a));
    harness_log_reset();
    assert_int_equal(cr_session_commit(s), CR_ERR_FLUSH);
    assert_int_equal(line_of("INSERT", 0), -1);
    assert_true(says(s, "QEmp.manager"));
    S_OK(s, cr_session_rollback(s));
    assert_int_equal(query_int("SELECT count(*) FROM pq_employees"), 1);
    harness_session_free(s);
}

static void test_other_session(void **state)
{
    (void)state;
    cr_session *s1 = harness_session(engine, NULL), *s2 = harness_session(engine, NULL);
    CUser *u = user("u");
    CPost *p = post("p");
    CTag *t = cr_new(CTag);
    t->name = "t";
    S_OK(s1, cr_session_add(s1, u));
    S_OK(s2, cr_session_add_all(s2, CR_OBJS(p, t)));
    /* the calls refuse it, naming the relationship; nothing changes */
    assert_int_equal(cr_append(u, posts, p), CR_ERR_INVALID_REQUEST);
    assert_true(says(s1, "CUser.posts"));
    assert_true(says(s1, "another session"));
    assert_int_equal(u->posts.count, 0);
    assert_null(p->author);
    assert_int_equal(cr_append(u, tags, t), CR_ERR_INVALID_REQUEST);
    assert_true(says(s1, "CUser.tags"));
    assert_int_equal(cr_set_related(p, author, u), CR_ERR_INVALID_REQUEST);
    assert_true(says(s2, "CPost.author"));
    assert_null(p->author);
    /* a plain assignment reaches the flush: refused before anything is
     * sent, naming the relationship */
    p->author = u;
    assert_int_equal(cr_session_flush(s2), CR_ERR_INVALID_REQUEST);
    assert_true(says(s2, "CPost.author"));
    assert_int_equal(cr_object_state_of(u), CR_STATE_PENDING);
    S_OK(s2, cr_session_rollback(s2));
    p->author = NULL;
    /* both sessions work on */
    S_OK(s1, cr_session_commit(s1));
    S_OK(s2, cr_session_add_all(s2, CR_OBJS(p, t)));
    S_OK(s2, cr_session_commit(s2));
    assert_int_equal(query_int("SELECT count(*) FROM casc_users"), 1);
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 1);
    harness_session_free(s1);
    harness_session_free(s2);
}

/* A collection is a plain array: CR_FOR_EACH reads count and items at each
 * step, so removing or appending inside the loop never reads freed memory
 * (items may move when it grows: the loop reads them afresh). What C can
 * promise is that; the members seen are the program's business. */
static void test_collection_changed_while_iterated(void **state)
{
    (void)state;
    cr_session *s = harness_session(engine, &keep_loaded);
    CUser *ann = seed(s);
    /* remove every post while iterating: each removal shifts the rest */
    size_t seen = 0;
    while (ann->posts.count) {
        CR_FOR_EACH(CPost, p, &ann->posts) {
            seen++;
            S_OK(s, cr_remove(ann, posts, p));
            break;
        }
    }
    assert_int_equal(seen, 2);
    /* append while iterating: the array grows (and moves) under the loop */
    for (int i = 0; i < 3; i++)
        S_OK(s, cr_append(ann, posts, post("n")));
    size_t steps = 0;
    CR_FOR_EACH(CPost, p, &ann->posts) {
        if (steps++ < 20)
            S_OK(s, cr_append(ann, posts, post(p->title)));
    }
    assert_int_equal(ann->posts.count, 23);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 23);
    /* a copy iterates safely while the collection changes */
    cr_objects copy = {ann->posts.count, malloc(ann->posts.count * sizeof(void *))};
    assert_non_null(copy.items);
    memcpy(copy.items, ann->posts.items, copy.count * sizeof(void *));
    CR_FOR_EACH(CPost, p, &copy)
        S_OK(s, cr_remove(ann, posts, p));
    free(copy.items);
    assert_int_equal(ann->posts.count, 0);
    S_OK(s, cr_session_commit(s));
    assert_int_equal(query_int("SELECT count(*) FROM casc_posts"), 0);   /* delete-orphan */
    harness_session_free(s);
}

static void test_unresolvable(void **state)
{
    (void)state;
    cr_metadata *m = cr_metadata_new(NULL);
    assert_non_null(m);
    BShelf_model_t k1 = BShelf_model;
    BBook_model_t k2 = BBook_model;
    BPerson_model_t k3 = BPerson_model;
    BLoner_model_t k4 = BLoner_model;
    assert_int_equal(BShelf_define(m), CR_OK);
    assert_int_equal(BBook_define(m), CR_OK);
    /* a missing secondary table: named at configure, and at first use */
    assert_int_equal(cr_metadata_configure(m), CR_ERR_INVALID_REQUEST);
    const char *msg = cr_error_message(cr_metadata_error(m));
    assert_non_null(strstr(msg, "BShelf.books"));
    assert_non_null(strstr(msg, "no_such_table"));
    BShelf *sh = cr_new(BShelf);
    BBook *bk = cr_new(BBook);
    cr_session *s = harness_session(engine, NULL);
    /* at first use, as SQLAlchemy configures its mappers: an object of the
     * model is refused by the session (nothing sent), which stays usable */
    assert_int_equal(cr_session_add(s, sh), CR_ERR_INVALID_REQUEST);
    assert_true(says(s, "BShelf.books"));
    assert_true(says(s, "no_such_table"));
    assert_int_equal(cr_object_state_of(sh), CR_STATE_TRANSIENT);
    assert_int_equal(cr_append(sh, books, bk), CR_ERR_INVALID_REQUEST);
    S_OK(s, cr_session_flush(s));
    S_OK(s, cr_session_rollback(s));
    harness_session_free(s);
    cr_object_free(sh);
    cr_object_free(bk);
    /* a foreign key that is ambiguous (two to bad_people) */
    assert_int_equal(BPerson_define(m), CR_ERR_ARGUMENT);
    msg = cr_error_message(cr_metadata_error(m));
    assert_non_null(strstr(msg, "BPerson.books"));
    assert_non_null(strstr(msg, "foreign_keys"));
    cr_metadata_free(m);
    /* no foreign key at all */
    m = cr_metadata_new(NULL);
    assert_non_null(m);
    assert_int_equal(BShelf_define(m), CR_OK);
    assert_int_equal(BLoner_define(m), CR_ERR_ARGUMENT);
    msg = cr_error_message(cr_metadata_error(m));
    assert_non_null(strstr(msg, "BLoner.shelves"));
    assert_non_null(strstr(msg, "no foreign key"));
    cr_metadata_free(m);
    /* delete-orphan on a many-to-one: refused, not ignored */
    m = cr_metadata_new(NULL);
    assert_non_null(m);
    BPet_model_t k5 = BPet_model;
    BOwner_model_t k6 = BOwner_model;
    assert_int_equal(BPet_define(m), CR_OK);
    assert_int_equal(BOwner_define(m), CR_ERR_ARGUMENT);
    msg = cr_error_message(cr_metadata_error(m));
    assert_non_null(strstr(msg, "BOwner.pet"));
    assert_non_null(strstr(msg, "delete-orphan"));
    assert_non_null(strstr(msg, "many-to-one"));
    assert_non_null(strstr(msg, "single_parent"));
    cr_metadata_free(m);
    BShelf_model = k1;
    BBook_model = k2;
    BPerson_model = k3;
    BLoner_model = k4;
    BPet_model = k5;
    BOwner_model = k6;
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    md = cr_metadata_new(NULL);
    md_cycle = cr_metadata_new(NULL);
    if (!md || !md_cycle || CUser_define(md) || CPost_define(md) || CTag_define(md) ||
        CUserTags_define(&user_tags, md, "casc_user_tags") || CBadge_define(md) ||
        VoUser_define(md) || VoPost_define(md) || SpPet_define(md) || SpOwner_define(md) ||
        SpKeeper_define(md) || SpKeeperPets_define(&keeper_pets, md, "sp_keeper_pets") ||
        cr_metadata_configure(md) ||
        PDept_define(md_cycle) || PEmp_define(md_cycle) || QDept_define(md_cycle) ||
        QEmp_define(md_cycle) || VPerson_define(md_cycle) || VBall_define(md_cycle) ||
        cr_metadata_configure(md_cycle)) {
        fprintf(stderr, "models: %s / %s\n", md ? cr_error_message(cr_metadata_error(md)) : "",
                md_cycle ? cr_error_message(cr_metadata_error(md_cycle)) : "");
        return 1;
    }
    cr_engine_options o = {.echo = true, .log_fn = harness_capture};
    cr_error *err = NULL;
    engine = cr_create_engine(backend_url, &o, &err);
    if (!engine) {
        fprintf(stderr, "engine: %s\n", cr_error_message(err));
        return 1;
    }
#define T(f) cmocka_unit_test_setup_teardown(f, setup, harness_free_sessions)
    const struct CMUnitTest tests[] = {
        T(test_expunge_cascade),
        T(test_pending_orphan),
        T(test_single_parent_orphan),
        T(test_single_parent_random),
        T(test_single_parent_merge),
        T(test_rollback_then_redo_move),
        T(test_refresh_object_the_flush_loads),
        T(test_expire_and_refresh_cascade),
        T(test_merge_cascade),
        T(test_viewonly),
        T(test_merge_drops_pending),
        T(test_merge_fails_whole),
        T(test_populate_existing_related),
        T(test_cascade_from_other_side),
        T(test_new_child_of_deleted),
        T(test_in_and_out_is_orphan),
        T(test_backref_known_when_expired),
        T(test_deleted_loads_many_to_many),
        T(test_cascade_add_reaches_deleted),
        T(test_delete_cascade_sees_set_related),
        T(test_make_transient_related),
        T(test_make_transient_kept_out),
        T(test_expunge_kept_out),
        T(test_expunge_kept_out_removed),
        T(test_delete_attaches_cascade),
        T(test_set_related_unloaded_same),
        T(test_set_null_clears_given_key),
        T(test_make_transient_expired_links),
        T(test_set_related_expired_same),
        T(test_add_cascades_pending_history),
        T(test_deleted_keeps_flushed_links),
        T(test_set_related_to_deleted),
        T(test_set_related_on_expired),
        T(test_row_switch),
        T(test_plan_leaves_orphans),
        T(test_post_update_two_tables),
        T(test_post_update_self_cycle),
        T(test_post_update_one_to_many),
        T(test_wrong_model),
        T(test_cycle_without_post_update),
        T(test_other_session),
        T(test_collection_changed_while_iterated),
        T(test_unresolvable),
    };
    int failed = HARNESS_RUN("rel_cascades", NULL, tests, group_teardown);
    cr_engine_free(engine);
    cr_metadata_free(md);
    cr_metadata_free(md_cycle);
    harness_cleanup();
    return failed ? 1 : 0;
}
