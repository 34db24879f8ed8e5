/* test_schema.c — the schema suite: create_all / drop_all with checkfirst against a real
 * SQLite, PostgreSQL or MariaDB, and the constraints and defaults the DDL declares. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const statuses[] = {"draft", "it's live", NULL};

/* sch_users and sch_posts (names no other suite uses): a unique column,
 * NOT NULL, a foreign key with ON DELETE CASCADE, an index, an enum, a
 * CHECK, server defaults and a comment. */
static cr_metadata *blog(void)
{
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    cr_table *users = cr_table_new(md, "sch_users");
    cr_table_add_column(users, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                .primary_key = true});
    cr_table_add_column(users, &(cr_column_def){.name = "email", .type = CR_SQL_STRING(100),
                                                .nullable = CR_NO, .unique = true});
    cr_table_add_column(users, &(cr_column_def){.name = "active", .type = CR_SQL_BOOLEAN,
                                                .server_default = "false"});
    cr_table *posts = cr_table_new(md, "sch_posts");
    cr_table_add_column(posts, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                .primary_key = true});
    cr_table_add_column(posts, &(cr_column_def){.name = "user_id", .type = CR_SQL_INTEGER,
                                                .nullable = CR_NO,
                                                .foreign_key = "sch_users.id",
                                                .fk_ondelete = "CASCADE"});
    cr_table_add_column(posts, &(cr_column_def){.name = "title", .type = CR_SQL_STRING(200),
                                                .index = true});
    cr_table_add_column(posts, &(cr_column_def){.name = "status",
                                                .type = CR_SQL_ENUM("sch_status", statuses),
                                                .server_default = "'draft'"});
    cr_table_add_column(posts, &(cr_column_def){.name = "score", .type = CR_SQL_INTEGER,
                                                .server_default = "0", .nullable = CR_NO,
                                                .comment = "it's the score: 0 or more"});
    cr_table_add_column(posts, &(cr_column_def){.name = "created", .type = CR_SQL_DATETIME,
                                                .server_default = "CURRENT_TIMESTAMP"});
    cr_table_add_column(posts, &(cr_column_def){.name = "at", .type = CR_SQL_STRING(10),
                                                .server_default = "'12:30'"});
    cr_table_check(posts, "sch_score_positive", "score >= 0");
    const cr_error *e = cr_metadata_error(md);
    if (e) {
        print_error("metadata: %s\n", cr_error_message(e));
        fail();
    }
    return md;
}

static bool has_table(cr_conn *c, const char *name)
{
    cr_inspector *insp = cr_inspect(c);
    assert_non_null(insp);
    bool exists = false;
    ASSERT_OK(cr_inspector_has_table(insp, name, &exists), cr_conn_error(c));
    cr_inspector_free(insp);
    return exists;
}

/* A statement that must fail with class want; the transaction is rolled back. */
static void exec_fails(cr_conn *c, const char *sql, cr_status want)
{
    cr_status st = cr_conn_exec(c, sql, NULL);
    if (st != want) {
        print_error("%s\n  -> %s (%s), wanted %s\n", sql, cr_status_name(st),
                    cr_error_message(cr_conn_error(c)), cr_status_name(want));
        fail();
    }
    ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
}

/* SQLite enforces foreign keys only when asked, per connection, outside a
 * transaction (as a Python program does with PRAGMA foreign_keys=ON). */
static void foreign_keys_on(cr_conn *c)
{
    if (!is_sqlite())
        return;
    ASSERT_OK(cr_conn_set_isolation_level(c, "AUTOCOMMIT"), cr_conn_error(c));
    exec_ok(c, "PRAGMA foreign_keys = ON");
    ASSERT_OK(cr_conn_set_isolation_level(c, "SERIALIZABLE"), cr_conn_error(c));
}

static void clean(cr_conn *c, cr_metadata *md)
{
    cr_conn_rollback(c);
    ASSERT_OK(cr_metadata_drop_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
}

static void test_create_all_constraints_defaults(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    foreign_keys_on(c);
    cr_metadata *md = blog();
    clean(c, md);

    ASSERT_OK(cr_metadata_create_all(md, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_true(has_table(c, "sch_users"));
    assert_true(has_table(c, "sch_posts"));

    /* Server defaults fill what the INSERT leaves out. */
    exec_ok(c, "INSERT INTO sch_users (email) VALUES ('a@example.com')");
    int64_t uid = scalar_int(c, "SELECT id FROM sch_users WHERE email = 'a@example.com'");
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM sch_users WHERE active = false"), 1);
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO sch_posts (user_id, title) VALUES (%lld, 'hello')",
             (long long)uid);
    exec_ok(c, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO sch_posts (user_id, title, status) VALUES (%lld, 'x', 'it''s live')",
             (long long)uid);
    exec_ok(c, sql);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM sch_posts WHERE status = 'draft' AND "
                                   "score = 0 AND created IS NOT NULL AND at = '12:30'"),
                     1);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM sch_posts WHERE status = 'it''s live'"),
                     1);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));

    /* UNIQUE, NOT NULL, the foreign key and the CHECK are enforced. */
    exec_fails(c, "INSERT INTO sch_users (email) VALUES ('a@example.com')", CR_ERR_INTEGRITY);
    exec_fails(c, "INSERT INTO sch_users (email) VALUES (NULL)", CR_ERR_INTEGRITY);
    exec_fails(c, "INSERT INTO sch_posts (user_id, title) VALUES (987654, 'orphan')",
               CR_ERR_INTEGRITY);
    snprintf(sql, sizeof sql, "INSERT INTO sch_posts (user_id, score) VALUES (%lld, -1)",
             (long long)uid);
    /* MariaDB's error 4025, MySQL's 3819: IntegrityError, as PyMySQL says. */
    cr_status check_st = cr_conn_exec(c, sql, NULL);
    if (check_st != CR_ERR_INTEGRITY) {
        print_error("CHECK violation -> %s: %s\n", cr_status_name(check_st),
                    cr_error_message(cr_conn_error(c)));
        fail();
    }
    ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
    if (!is_sqlite()) {
        /* A value outside the enum: SQLite's VARCHAR takes anything. */
        snprintf(sql, sizeof sql, "INSERT INTO sch_posts (user_id, status) VALUES (%lld, 'nope')",
                 (long long)uid);
        cr_status st = cr_conn_exec(c, sql, NULL);
        assert_int_not_equal(st, CR_OK);
        ASSERT_OK(cr_conn_rollback(c), cr_conn_error(c));
    }

    /* ON DELETE CASCADE takes the posts with their user. */
    exec_ok(c, "DELETE FROM sch_users");
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM sch_posts"), 0);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));

    ASSERT_OK(cr_metadata_drop_all(md, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_false(has_table(c, "sch_posts"));
    assert_false(has_table(c, "sch_users"));
    cr_metadata_free(md);
    cr_conn_close(c);
    cr_engine_free(e);
}

/* A DDL statement the database refuses carries its SQL in the error when
 * it was refused at prepare (SQLite: "table ... already exists"), as when
 * a cached statement is refused at execute: so with no statement cache. */
static void test_ddl_error_statement_uncached(void **state)
{
    (void)state;
    cr_engine *e = new_engine(&(cr_engine_options){.statement_cache_size = CR_NONE});
    cr_conn *c = connect_ok(e);
    cr_metadata *md = blog();
    clean(c, md);
    cr_table *users = cr_metadata_table(md, "sch_users");
    ASSERT_OK(cr_table_create(users, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_not_equal(cr_table_create(users, c, false), CR_OK);
    const char *sql = cr_error_statement(cr_conn_error(c));
    if (!sql)
        print_error("no statement with: %s\n", cr_error_message(cr_conn_error(c)));
    assert_non_null(sql);
    assert_non_null(strstr(sql, "CREATE TABLE sch_users"));
    cr_conn_rollback(c);
    clean(c, md);
    cr_metadata_free(md);
    cr_conn_close(c);
    cr_engine_free(e);
}

static void test_checkfirst(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    cr_metadata *md = blog();
    clean(c, md);
    cr_table *users = cr_metadata_table(md, "sch_users");
    cr_table *posts = cr_metadata_table(md, "sch_posts");

    /* One table alone, then the rest: the existing one is left alone. */
    ASSERT_OK(cr_table_create(users, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    exec_ok(c, "INSERT INTO sch_users (email) VALUES ('kept@example.com')");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    ASSERT_OK(cr_metadata_create_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_true(has_table(c, "sch_posts"));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM sch_users"), 1);
    ASSERT_OK(cr_metadata_create_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));

    /* Without checkfirst an existing table is an error, on the connection. */
    cr_status st = cr_table_create(users, c, false);
    assert_int_not_equal(st, CR_OK);
    assert_non_null(cr_conn_error(c));
    assert_non_null(strstr(cr_error_statement(cr_conn_error(c)), "CREATE TABLE sch_users"));
    cr_conn_rollback(c);

    /* Dropping what is not there: fine with checkfirst, an error without. */
    ASSERT_OK(cr_table_drop(posts, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_false(has_table(c, "sch_posts"));
    ASSERT_OK(cr_table_drop(posts, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_not_equal(cr_table_drop(posts, c, false), CR_OK);
    cr_conn_rollback(c);
    ASSERT_OK(cr_metadata_drop_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    ASSERT_OK(cr_metadata_drop_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_false(has_table(c, "sch_users"));
    cr_metadata_free(md);
    cr_conn_close(c);
    cr_engine_free(e);
}

/* What the DDL wrote where SQLite has nothing to compare: the enum type
 * (PostgreSQL), comments, microsecond datetimes (MySQL's DATETIME(6)). */
static void test_backend_specifics(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    cr_metadata *md = blog();
    clean(c, md);
    ASSERT_OK(cr_metadata_create_all(md, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    const char *comment_sql = NULL;
    if (is_pg()) {
        assert_int_equal(scalar_int(c, "SELECT count(*) FROM pg_type WHERE typname = 'sch_status'"),
                         1);
        comment_sql = "SELECT col_description('sch_posts'::regclass, 5)";
    } else if (is_mysql()) {
        comment_sql = "SELECT column_comment FROM information_schema.columns WHERE "
                      "table_schema = DATABASE() AND table_name = 'sch_posts' AND "
                      "column_name = 'score'";
    }
    if (comment_sql) {
        cr_result *r = cr_conn_execute(c, comment_sql, NULL);
        assert_non_null(r);
        cr_value v;
        ASSERT_OK(cr_result_scalar(r, &v), cr_result_error(r));
        assert_int_equal(v.type, CR_TEXT);
        assert_int_equal(v.v.s.len, strlen("it's the score: 0 or more"));
        assert_memory_equal(v.v.s.ptr, "it's the score: 0 or more", v.v.s.len);
        cr_result_free(r);
    }
    exec_ok(c, "INSERT INTO sch_users (id, email) VALUES (5, 'm@example.com')");
    exec_ok(c, "INSERT INTO sch_posts (user_id, created) VALUES (5, '2024-01-02 03:04:05.123456')");
    cr_result *r = cr_conn_execute(c, "SELECT created FROM sch_posts", NULL);
    assert_non_null(r);
    const cr_row *row = cr_result_one(r);
    assert_non_null(row);
    cr_datetime dt;
    ASSERT_OK(cr_row_datetime_at(row, 0, &dt), cr_row_error(row));
    assert_int_equal(dt.second, 5);
    assert_int_equal(dt.microsecond, 123456);
    cr_result_free(r);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));

    ASSERT_OK(cr_metadata_drop_all(md, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    if (is_pg())
        assert_int_equal(scalar_int(c, "SELECT count(*) FROM pg_type WHERE typname = 'sch_status'"),
                         0);
    cr_conn_rollback(c);
    cr_metadata_free(md);
    cr_conn_close(c);
    cr_engine_free(e);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_all_constraints_defaults),
        cmocka_unit_test(test_checkfirst),
        cmocka_unit_test(test_ddl_error_statement_uncached),
        cmocka_unit_test(test_backend_specifics),
    };
    int failed = HARNESS_RUN("schema", NULL, tests, NULL);
    harness_cleanup();
    return failed ? 1 : 0;
}
