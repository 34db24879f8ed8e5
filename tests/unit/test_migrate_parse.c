/* test_migrate_parse.c — revision files without a server: the operations they parse into, parse errors with file and line, the revision graph's errors, offline SQL per dialect and the offline migration check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "crucible.h"
#include "base/base.h"   /* cr_mem_fail_after */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *R1 =
    "# the first revision\n"
    "-- revision: r1\n"
    "-- message: users and posts\n"
    "-- date: 2026-12-01 08:00:00\n"
    "\n"
    "-- upgrade\n"
    "create_table users (id integer primary key, name varchar(50) not null,\n"
    "    email varchar(100) unique, score numeric(10, 2) default 0,\n"
    "    created datetime with time zone default (CURRENT_TIMESTAMP))\n"
    "create_index ix_users_name on users (name)\n"
    "create_table \"order\" (id integer, user_id integer not null,\n"
    "    constraint pk_order primary key (id),\n"
    "    constraint fk_order_user foreign key (user_id) references users (id) on delete cascade,\n"
    "    check (id > 0))\n"
    "execute INSERT INTO users (id, name) VALUES (1, 'it''s');\n"
    "-- downgrade\n"
    "drop_table \"order\"\n"
    "drop_index ix_users_name on users\n"
    "drop_table users\n";

static const char *R2 =
    "-- revision: r2\n"
    "-- parent: r1\n"
    "-- upgrade\n"
    "add_column users age integer not null\n"
    "alter_column users name type varchar(20) null rename to full_name\n"
    "alter_column users score drop default\n"
    "drop_column users email\n"
    "create_index ix_order_user on \"order\" (user_id) unique\n"
    "create_unique uq_users_full_name on users (full_name)\n"
    "-- downgrade\n"
    "drop_unique uq_users_full_name on users\n"
    "drop_index ix_order_user on \"order\"\n"
    "add_column users email varchar(100)\n"
    "alter_column users score default 0\n"
    "alter_column users full_name type varchar(50) not null rename to name\n"
    "drop_column users age\n";

static cr_migrate_script *script_of(const char *const *names, const char *const *texts, size_t n)
{
    cr_migrate_script *s = cr_migrate_script_new();
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        if (cr_migrate_script_add(s, names[i], texts[i]) != CR_OK) {
            print_error("%s: %s\n", names[i], cr_error_message(cr_migrate_script_error(s)));
            fail();
        }
    return s;
}

static cr_migrate_script *two_revisions(void)
{
    const char *names[] = {"r2.rev", "r1.rev"};
    const char *texts[] = {R2, R1};
    cr_migrate_script *s = script_of(names, texts, 2);
    assert_int_equal(cr_migrate_script_resolve(s), CR_OK);
    return s;
}

static void test_operations_as_data(void **state)
{
    (void)state;
    cr_migrate_script *s = two_revisions();
    assert_int_equal(cr_migrate_revision_count(s), 2);
    /* History order: the parent first, whatever the order of the files. */
    const cr_revision *r1 = cr_migrate_revision_at(s, 0);
    assert_string_equal(r1->id, "r1");
    assert_int_equal(r1->nparents, 0);
    assert_string_equal(r1->message, "users and posts");
    assert_string_equal(r1->date, "2026-12-01 08:00:00");
    assert_int_equal(r1->nupgrade, 4);
    assert_int_equal(r1->ndowngrade, 3);

    const cr_migrate_op *users = &r1->upgrade[0];
    assert_int_equal(users->kind, CR_MIGRATE_CREATE_TABLE);
    assert_string_equal(users->table, "users");
    assert_int_equal(users->line, 7);
    assert_int_equal(users->ncolumns, 5);
    assert_true(users->columns[0].primary_key);
    assert_false(users->columns[0].nullable);
    assert_int_equal(users->columns[1].type.kind, CR_SQLTYPE_STRING);
    assert_int_equal(users->columns[1].type.length, 50);
    assert_false(users->columns[1].nullable);
    assert_int_equal(users->columns[3].type.precision, 10);
    assert_int_equal(users->columns[3].type.scale, 2);
    assert_string_equal(users->columns[3].server_default, "0");
    assert_true(users->columns[4].type.timezone);
    assert_string_equal(users->columns[4].server_default, "(CURRENT_TIMESTAMP)");
    /* The column's unique became an unnamed constraint. */
    assert_int_equal(users->nconstraints, 1);
    assert_int_equal(users->constraints[0].kind, CR_MIGRATE_UNIQUE);
    assert_null(users->constraints[0].name);
    assert_string_equal(users->constraints[0].columns[0], "email");

    const cr_migrate_op *ix = &r1->upgrade[1];
    assert_int_equal(ix->kind, CR_MIGRATE_ADD_CONSTRAINT);
    assert_int_equal(ix->constraints[0].kind, CR_MIGRATE_INDEX);
    assert_string_equal(ix->constraints[0].name, "ix_users_name");
    assert_false(ix->constraints[0].unique);

    const cr_migrate_op *order = &r1->upgrade[2];
    assert_string_equal(order->table, "order");
    assert_int_equal(order->nconstraints, 3);
    assert_false(order->columns[0].nullable);       /* by the table's primary key */
    assert_int_equal(order->constraints[1].kind, CR_MIGRATE_FOREIGN_KEY);
    assert_string_equal(order->constraints[1].referred_table, "users");
    assert_string_equal(order->constraints[1].ondelete, "CASCADE");
    assert_string_equal(order->constraints[2].sqltext, "id > 0");

    const cr_migrate_op *ex = &r1->upgrade[3];
    assert_int_equal(ex->kind, CR_MIGRATE_EXECUTE);
    assert_string_equal(ex->sql, "INSERT INTO users (id, name) VALUES (1, 'it''s')");

    const cr_revision *r2 = cr_migrate_revision(s, "r2");
    assert_non_null(r2);
    assert_int_equal(r2->nparents, 1);
    assert_string_equal(r2->parents[0], "r1");
    const cr_migrate_op *alter = &r2->upgrade[1];
    assert_int_equal(alter->kind, CR_MIGRATE_ALTER_COLUMN);
    assert_string_equal(alter->name, "name");
    assert_string_equal(alter->new_name, "full_name");
    assert_int_equal(alter->new_type->length, 20);
    assert_int_equal(alter->new_nullable.value, CR_YES.value);
    assert_false(alter->set_default);
    assert_true(r2->upgrade[2].set_default);
    assert_null(r2->upgrade[2].new_default);
    assert_int_equal(r2->downgrade[0].kind, CR_MIGRATE_DROP_CONSTRAINT);
    assert_int_equal(r2->downgrade[0].constraints[0].kind, CR_MIGRATE_UNIQUE);

    const cr_revision *heads[2];
    assert_int_equal(cr_migrate_script_heads(s, heads, 2), 1);
    assert_ptr_equal(heads[0], r2);
    cr_migrate_script_free(s);
}

/* The text must fail to parse with a message holding every fragment. */
static void parse_fails(const char *text, const char *const *fragments)
{
    cr_migrate_script *s = cr_migrate_script_new();
    assert_non_null(s);
    assert_int_equal(cr_migrate_script_add(s, "bad.rev", text), CR_ERR_ARGUMENT);
    const char *msg = cr_error_message(cr_migrate_script_error(s));
    for (const char *const *f = fragments; *f; f++)
        if (!strstr(msg, *f)) {
            print_error("'%s' not in: %s\n", *f, msg);
            fail();
        }
    cr_migrate_script_free(s);
}
#define PARSE_FAILS(text, ...) parse_fails(text, (const char *const[]){__VA_ARGS__, NULL})

static void test_parse_errors(void **state)
{
    (void)state;
    PARSE_FAILS("-- revision: a\n-- upgrade\ncreate_table t (id integr)\n-- downgrade\n",
                "bad.rev:3:", "expected a type", "'integr'");
    PARSE_FAILS("-- revision: a\n-- upgrade\ncreate_table t (id integer\n-- downgrade\n",
                "bad.rev:3:", "expected ',' or ')'");
    PARSE_FAILS("-- revision: a\n-- upgrade\n\nmake_table t (id integer)\n-- downgrade\n",
                "bad.rev:4:", "expected an operation");
    PARSE_FAILS("-- upgrade\n-- downgrade\n", "bad.rev:3:", "no '-- revision: ID' header");
    PARSE_FAILS("-- revision: a\n-- upgrade\ndrop_table t\n", "no '-- downgrade' section");
    PARSE_FAILS("-- revision: a-b\n", "bad.rev:1:", "revision id 'a-b'");
    PARSE_FAILS("-- revision: a\n-- parent: a\n-- upgrade\n-- downgrade\n", "names itself");
    PARSE_FAILS("-- revision: a\n-- upgrade\n-- message: x\n-- downgrade\n", "bad.rev:3:",
                "headers come before");
    PARSE_FAILS("-- revision: a\n-- colour: red\n", "unknown header 'colour'");
    PARSE_FAILS("-- revision: a\ndrop_table t\n", "bad.rev:2:", "expected a header");
    PARSE_FAILS("-- revision: a\n-- upgrade\ncreate_check ck on t (a > (b)\n-- downgrade\n",
                "bad.rev:3:", "unbalanced parentheses");
    PARSE_FAILS("-- revision: a\n-- upgrade\nalter_column t c\n-- downgrade\n",
                "bad.rev:3:", "expected a change");
    PARSE_FAILS("-- revision: a\n-- upgrade\ndrop_table t extra\n-- downgrade\n",
                "expected the end of the operation", "'extra'");
    PARSE_FAILS("-- revision: a\n-- upgrade\ncreate_table t (a integer references u (a, b))\n"
                "-- downgrade\n", "1 column(s) but refers to 2");
    PARSE_FAILS("-- revision: a\n-- upgrade\ncreate_index ix t (a)\n-- downgrade\n",
                "expected 'on'");
    /* A table's foreign key without its references (found by fuzz_migrate
     * in CI: it was accepted, and rendering read the NULL referred table). */
    PARSE_FAILS("-- revision: a\n-- upgrade\ncreate_table t (id integer, constraint fk "
                "foreign key (id))\n-- downgrade\n", "bad.rev:3:", "expected 'references'");
    PARSE_FAILS("-- revision: a\n-- upgrade\ncreate_table t (id integer, foreign key (id))\n"
                "-- downgrade\n", "bad.rev:3:", "expected 'references'");
    PARSE_FAILS("-- revision: a\n-- upgrade\nadd_column t c varchar(x)\n-- downgrade\n",
                "expected the length of varchar");
    PARSE_FAILS("-- revision: a\n-- upgrade\nexecute ;\n-- downgrade\n",
                "expected the SQL statement after execute");
    PARSE_FAILS("-- revision: a\n-- upgrade\n-- upgrade\n-- downgrade\n",
                "a second '-- upgrade' section");
}

/* The graph: resolve (or the first run) must fail with the fragment. */
static void graph_fails(const char *const *texts, size_t n, const char *fragment)
{
    char names[8][32];
    const char *np[8];
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "g%zu.rev", i);
        np[i] = names[i];
    }
    cr_migrate_script *s = script_of(np, texts, n);
    cr_status st = cr_migrate_script_resolve(s);
    const char *msg = cr_error_message(cr_migrate_script_error(s));
    cr_error *err = NULL;
    char *sql = NULL;
    if (st == CR_OK) {
        /* Resolves (two heads): refused when going to "head". */
        st = cr_migrate_offline_sql(s, "sqlite", NULL, NULL, &sql, &err);
        msg = cr_error_message(err);
    }
    assert_int_not_equal(st, CR_OK);
    assert_null(sql);
    if (!strstr(msg, fragment)) {
        print_error("'%s' not in: %s\n", fragment, msg);
        fail();
    }
    cr_error_free(err);
    cr_migrate_script_free(s);
}

#define REV(id, parent) "-- revision: " id "\n-- parent: " parent "\n-- upgrade\n-- downgrade\n"

static void test_graph_errors(void **state)
{
    (void)state;
    const char *broken[] = {REV("a", "base"), REV("b", "zz")};
    graph_fails(broken, 2, "g1.rev: revision 'b' names parent 'zz', which no revision defines "
                           "(a broken chain)");
    const char *cycle[] = {REV("a", "base"), REV("b", "c"), REV("c", "b")};
    graph_fails(cycle, 3, "is its own ancestor");
    const char *rootless[] = {REV("b", "c"), REV("c", "b")};
    graph_fails(rootless, 2, "no revision starts the history");
    /* A lone revision whose parent is missing: the broken chain is named,
     * not the missing start (found by fuzz_migrate). */
    const char *lone[] = {REV("a1", "seed")};
    graph_fails(lone, 1, "names parent 'seed', which no revision defines");
    const char *two_heads[] = {REV("a", "base"), REV("b", "a"), REV("c", "a")};
    graph_fails(two_heads, 3, "the history has 2 heads ('b', 'c')");

    /* A duplicate id is refused when added. */
    cr_migrate_script *s = cr_migrate_script_new();
    assert_int_equal(cr_migrate_script_add(s, "x.rev", REV("a", "base")), CR_OK);
    assert_int_equal(cr_migrate_script_add(s, "y.rev", REV("a", "base")),
                     CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_migrate_script_error(s)),
                           "revision 'a' is already defined by x.rev"));
    cr_migrate_script_free(s);

    /* Two heads merged by a revision with both as parents: one head, and
     * the merge's version rows. */
    const char *names[] = {"a.rev", "b.rev", "c.rev", "m.rev"};
    const char *merged[] = {REV("a", "base"), REV("b", "a"), REV("c", "a"), REV("m", "b, c")};
    s = script_of(names, merged, 4);
    assert_int_equal(cr_migrate_script_resolve(s), CR_OK);
    const cr_revision *heads[4];
    assert_int_equal(cr_migrate_script_heads(s, heads, 4), 1);
    assert_string_equal(heads[0]->id, "m");
    char *sql = NULL;
    assert_int_equal(cr_migrate_offline_sql(s, "postgresql", "base", "head", &sql, NULL), CR_OK);
    assert_non_null(strstr(sql, "INSERT INTO crucible_version (version_num) VALUES ('a')"));
    assert_non_null(strstr(sql, "UPDATE crucible_version SET version_num='b' WHERE "
                                "version_num='a'"));
    /* c's parent a is no head any more (b replaced it): c is a row of its own. */
    assert_non_null(strstr(sql, "INSERT INTO crucible_version (version_num) VALUES ('c')"));
    assert_non_null(strstr(sql, "UPDATE crucible_version SET version_num='m' WHERE "
                                "version_num='b'"));
    assert_non_null(strstr(sql, "DELETE FROM crucible_version WHERE version_num='c'"));
    free(sql);
    /* Down from the merge to a: m's row becomes b and c again, then both go. */
    assert_int_equal(cr_migrate_offline_sql(s, "postgresql", "m", "a", &sql, NULL), CR_OK);
    assert_non_null(strstr(sql, "UPDATE crucible_version SET version_num='b' WHERE "
                                "version_num='m'"));
    assert_non_null(strstr(sql, "INSERT INTO crucible_version (version_num) VALUES ('c')"));
    free(sql);
    cr_migrate_script_free(s);
}

/* Not inlined: gcc's -Wdangling-pointer (at -O3) takes the text returned
 * through &sql for a pointer to the local itself once this is inlined. */
__attribute__((noinline)) static char *offline(cr_migrate_script *s, const char *dialect,
                                               const char *from, const char *to)
{
    char *sql = NULL;
    cr_error *err = NULL;
    if (cr_migrate_offline_sql(s, dialect, from, to, &sql, &err) != CR_OK) {
        print_error("%s\n", cr_error_message(err));
        fail();
    }
    return sql;
}

/* a comes before b in text, both present. */
static void in_order(const char *text, const char *a, const char *b)
{
    const char *pa = strstr(text, a), *pb = pa ? strstr(pa, b) : NULL;
    if (!pa || !pb) {
        print_error("not '%s' then '%s' in:\n%s\n", a, b, text);
        fail();
    }
}

static void test_offline_sql(void **state)
{
    (void)state;
    cr_migrate_script *s = two_revisions();
    char *sql = offline(s, "sqlite", NULL, NULL);
    /* A reserved word is quoted; the version table comes first. */
    in_order(sql, "CREATE TABLE crucible_version", "CREATE TABLE \"order\" (");
    in_order(sql, "CONSTRAINT fk_order_user FOREIGN KEY(user_id) REFERENCES users (id) ON "
                  "DELETE CASCADE", "INSERT INTO crucible_version (version_num) VALUES ('r1')");
    /* r2 on SQLite: foreign keys off around the transaction, the rebuild's
     * steps in SQLite's order, the index made again, the check. */
    in_order(sql, "PRAGMA foreign_keys=OFF;\n\nBEGIN;", "CREATE TABLE _crucible_tmp_users");
    in_order(sql, "INSERT INTO _crucible_tmp_users (id, full_name,",
             "SELECT id, CAST(name AS VARCHAR(20)),");
    in_order(sql, "DROP TABLE users;\n\nPRAGMA legacy_alter_table = ON;\n\n"
                  "ALTER TABLE _crucible_tmp_users RENAME TO users;\n\n"
                  "PRAGMA legacy_alter_table = OFF;\n\n"
                  "CREATE INDEX ix_users_name ON users (full_name);\n\n"
                  "ALTER TABLE users RENAME COLUMN id TO id;",
             "PRAGMA foreign_key_check;");
    in_order(sql, "UPDATE crucible_version SET version_num='r2' WHERE version_num='r1';\n\n"
                  "COMMIT;\n\nPRAGMA foreign_keys=ON;", "");
    free(sql);

    /* r2's first four operations rebuild users once: one batch, one copy
     * of the rows (Alembic's batch mode); the index ends the batch, and the
     * unique constraint after it is a second rebuild. */
    sql = offline(s, "sqlite", "r1", "r2");
    const char *first = strstr(sql, "CREATE TABLE _crucible_tmp_users");
    assert_non_null(first);
    const char *second = strstr(first + 1, "CREATE TABLE _crucible_tmp_users");
    assert_non_null(second);
    assert_null(strstr(second + 1, "CREATE TABLE _crucible_tmp_users"));
    in_order(first, "INSERT INTO _crucible_tmp_users (id, full_name, score, created) SELECT id, "
                    "CAST(name AS VARCHAR(20)), score, created FROM users;",
             "CREATE UNIQUE INDEX ix_order_user");
    in_order(second, "CONSTRAINT uq_users_full_name UNIQUE (full_name)",
             "INSERT INTO _crucible_tmp_users (id, full_name, score, created, age) SELECT id, "
             "full_name, score, created, age FROM users;");
    free(sql);

    sql = offline(s, "postgresql", "r1", "r2");
    assert_null(strstr(sql, "CREATE TABLE crucible_version"));
    in_order(sql, "BEGIN;\n\nALTER TABLE users ADD COLUMN age INTEGER NOT NULL;",
             "ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(20);");
    in_order(sql, "ALTER TABLE users ALTER COLUMN name DROP NOT NULL;",
             "ALTER TABLE users RENAME COLUMN name TO full_name;");
    in_order(sql, "ALTER TABLE users ALTER COLUMN score DROP DEFAULT;",
             "ALTER TABLE users DROP COLUMN email;");
    in_order(sql, "CREATE UNIQUE INDEX ix_order_user ON \"order\" (user_id);",
             "ALTER TABLE users ADD CONSTRAINT uq_users_full_name UNIQUE (full_name);");
    free(sql);

    /* MySQL restates the column from the model; DROP INDEX names the table;
     * each operation records its progress. */
    sql = offline(s, "mysql", "r2", "r1");
    in_order(sql, "UPDATE crucible_version SET progress='downgrade 0/6' WHERE version_num='r2'",
             "ALTER TABLE users DROP INDEX uq_users_full_name;");
    in_order(sql, "DROP INDEX ix_order_user ON `order`;",
             "UPDATE crucible_version SET progress='downgrade 2/6' WHERE version_num='r2';");
    in_order(sql, "ALTER TABLE users ALTER COLUMN score SET DEFAULT 0;",
             "ALTER TABLE users CHANGE full_name name VARCHAR(50) NOT NULL;");
    in_order(sql, "DELETE FROM crucible_version WHERE version_num='r2';",
             "INSERT INTO crucible_version (version_num) VALUES ('r1');");
    free(sql);

    /* PostgreSQL converts with USING when told how. */
    const char *names[] = {"u.rev"};
    const char *texts[] = {"-- revision: u\n-- upgrade\n"
                           "alter_column t c type integer using (trim(c)::integer)\n"
                           "-- downgrade\n"};
    cr_migrate_script *u = script_of(names, texts, 1);
    assert_int_equal(cr_migrate_script_resolve(u), CR_OK);
    assert_string_equal(cr_migrate_revision_at(u, 0)->upgrade[0].type_using,
                        "trim(c)::integer");
    sql = offline(u, "postgresql", NULL, NULL);
    in_order(sql, "ALTER TABLE t ALTER COLUMN c TYPE INTEGER USING trim(c)::integer;", "");
    free(sql);
    cr_migrate_script_free(u);

    /* CREATE INDEX CONCURRENTLY on PostgreSQL: outside any transaction, the
     * revision's progress recorded around it; elsewhere a plain index in
     * the revision's transaction. */
    const char *cnames[] = {"c.rev"};
    const char *ctexts[] = {"-- revision: c\n-- upgrade\n"
                            "create_index ix_big on big (a, \"b c\") unique concurrently\n"
                            "-- downgrade\n"};
    cr_migrate_script *cs = script_of(cnames, ctexts, 1);
    assert_int_equal(cr_migrate_script_resolve(cs), CR_OK);
    assert_true(cr_migrate_revision_at(cs, 0)->upgrade[0].concurrently);
    sql = offline(cs, "postgresql", NULL, NULL);
    in_order(sql, "INSERT INTO crucible_version (version_num, progress) VALUES ('c', "
                  "'upgrade 0/1');\n\nCOMMIT;\n\n"
                  "CREATE UNIQUE INDEX CONCURRENTLY ix_big ON big (a, \"b c\");\n\nBEGIN;\n\n"
                  "UPDATE crucible_version SET progress='upgrade 1/1' WHERE version_num='c';",
             "UPDATE crucible_version SET progress=NULL WHERE version_num='c';");
    free(sql);
    sql = offline(cs, "sqlite", NULL, NULL);
    in_order(sql, "BEGIN;\n\nCREATE UNIQUE INDEX ix_big ON big (a, \"b c\");",
             "INSERT INTO crucible_version (version_num) VALUES ('c');");
    free(sql);
    cr_migrate_finding *cf = NULL;
    size_t ncf = 9;
    assert_int_equal(cr_migrate_check(cs, NULL, "postgresql", NULL, NULL, &cf, &ncf, NULL),
                     CR_OK);
    assert_int_equal(ncf, 0);
    cr_migrate_script_free(cs);

    /* Offline to where it already is: nothing. */
    sql = offline(s, "postgresql", "r2", "r2");
    assert_string_equal(sql, "");
    free(sql);
    cr_migrate_script_free(s);
}

static bool has_finding(const cr_migrate_finding *f, size_t n, cr_migrate_finding_kind kind,
                        const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == kind && strstr(f[i].message, text))
            return true;
    return false;
}

/* Offline, a SQLite rebuild makes again the triggers the history's execute
 * statements made on the table, as SQLite keeps them ("CREATE TRIGGER "
 * and the text from the name on, without a schema or a final ';'), after
 * its indexes; not those dropped,
 * those of another table, temporary ones, nor those of a renamed table. */
static void test_offline_rebuild_triggers(void **state)
{
    (void)state;
    const char *names[] = {"t1.rev", "t2.rev"};
    const char *texts[] = {
        "-- revision: t1\n-- upgrade\n"
        "create_table items (id integer primary key, n integer, note text)\n"
        "create_index ix_items_n on items (n)\n"
        "create_table other (id integer primary key)\n"
        "create_table gone (id integer primary key, x integer)\n"
        "execute create  trigger if not exists \"Items Ins\" AFTER INSERT ON \"items\"\n"
        "    BEGIN UPDATE items SET n = 1 WHERE id = NEW.id; END;\n"
        "execute CREATE TRIGGER main.items_upd AFTER UPDATE OF id, n ON main.items\n"
        "    BEGIN SELECT 1; END\n"
        "execute CREATE TRIGGER items_del AFTER DELETE ON items BEGIN SELECT 1; END\n"
        "execute DROP TRIGGER IF EXISTS items_del\n"
        "execute CREATE TEMP TRIGGER items_tmp AFTER DELETE ON items BEGIN SELECT 1; END\n"
        "execute CREATE TRIGGER other_ins AFTER INSERT ON other BEGIN SELECT 1; END\n"
        "execute CREATE TRIGGER gone_ins AFTER INSERT ON gone BEGIN SELECT 1; END\n"
        "rename_table gone to gone2\n"
        "-- downgrade\n",
        "-- revision: t2\n-- parent: t1\n-- upgrade\n"
        "drop_column items note\n"
        "drop_column gone2 id\n"
        "-- downgrade\n"};
    cr_migrate_script *s = script_of(names, texts, 2);
    assert_int_equal(cr_migrate_script_resolve(s), CR_OK);
    char *sql = offline(s, "sqlite", "t1", "t2");
    in_order(sql, "ALTER TABLE _crucible_tmp_items RENAME TO items;\n\n"
                  "PRAGMA legacy_alter_table = OFF;\n\n"
                  "CREATE INDEX ix_items_n ON items (n);\n\n"
                  "CREATE TRIGGER \"Items Ins\" AFTER INSERT ON \"items\"\n"
                  "BEGIN UPDATE items SET n = 1 WHERE id = NEW.id; END;\n\n"
                  "CREATE TRIGGER items_upd AFTER UPDATE OF id, n ON main.items\n"
                  "BEGIN SELECT 1; END;\n\n"
                  "ALTER TABLE items RENAME COLUMN id TO id;\n\n",
             "ALTER TABLE _crucible_tmp_gone2 RENAME TO gone2;\n\n");
    assert_null(strstr(sql, "items_del"));
    assert_null(strstr(sql, "items_tmp"));
    assert_null(strstr(sql, "other_ins"));
    assert_null(strstr(sql, "gone_ins"));
    free(sql);
    cr_migrate_script_free(s);
}

static void test_offline_check(void **state)
{
    (void)state;
    const char *names[] = {"r1.rev", "r2.rev", "r3.rev"};
    const char *texts[] = {
        R1, R2,
        "-- revision: r3\n-- parent: r2\n-- upgrade\n"
        "alter_column users age type bigint\n"
        "alter_column users full_name type varchar(10)\n"
        "alter_column users score type numeric(12, 2)\n"
        "alter_column users score type integer\n"
        "drop_table \"order\"\n"
        "-- downgrade\n"
        "alter_column users age type integer\n"};
    cr_migrate_script *s = script_of(names, texts, 3);
    assert_int_equal(cr_migrate_script_resolve(s), CR_OK);
    cr_migrate_finding *f = NULL;
    size_t n = 0;
    assert_int_equal(cr_migrate_check(s, NULL, "postgresql", "r1", NULL, &f, &n, NULL), CR_OK);
    assert_true(has_finding(f, n, CR_FINDING_NOT_NULL_NO_DEFAULT, "r2.rev:4: add_column users.age"));
    assert_true(has_finding(f, n, CR_FINDING_DROP_COLUMN, "drop_column users.email"));
    assert_true(has_finding(f, n, CR_FINDING_INDEX_LOCKS_TABLE, "create_index ix_order_user"));
    assert_true(has_finding(f, n, CR_FINDING_NARROW_TYPE,
                            "users.name from VARCHAR(50) to VARCHAR(20)"));
    assert_true(has_finding(f, n, CR_FINDING_NARROW_TYPE,
                            "users.full_name from VARCHAR(20) to VARCHAR(10)"));
    assert_true(has_finding(f, n, CR_FINDING_NARROW_TYPE,
                            "users.score from NUMERIC(12, 2) to INTEGER"));
    assert_true(has_finding(f, n, CR_FINDING_DROP_TABLE, "drop_table order"));
    /* Widening is no finding: integer to bigint, numeric(10, 2) to (12, 2). */
    assert_false(has_finding(f, n, CR_FINDING_NARROW_TYPE, "users.age"));
    assert_false(has_finding(f, n, CR_FINDING_NARROW_TYPE, "to NUMERIC(12, 2)"));
    assert_int_equal(n, 7);
    free(f);
    /* On SQLite an index blocks nothing the check flags; from base, the
     * index is on a table the run makes. */
    assert_int_equal(cr_migrate_check(s, NULL, "sqlite", "r1", NULL, &f, &n, NULL), CR_OK);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_false(f[i].downgrade);
    free(f);

    /* Downgrades, newest first: r3's narrows age back; r2's drops a column,
     * r1's drops both tables (their rows since are lost). */
    assert_int_equal(cr_migrate_check(s, NULL, "postgresql", "r3", "r2", &f, &n, NULL), CR_OK);
    assert_int_equal(n, 1);
    assert_true(f[0].downgrade);
    assert_string_equal(f[0].revision, "r3");
    assert_true(has_finding(f, n, CR_FINDING_NARROW_TYPE, "r3.rev:10: downgrade: alter_column "
                                                          "users.age from BIGINT to INTEGER"));
    free(f);
    assert_int_equal(cr_migrate_check(s, NULL, "postgresql", "r2", "base", &f, &n, NULL), CR_OK);
    assert_true(has_finding(f, n, CR_FINDING_DROP_COLUMN,
                            "r2.rev:16: downgrade: drop_column users.age"));
    assert_true(has_finding(f, n, CR_FINDING_DROP_TABLE, "r1.rev:17: downgrade: drop_table order"));
    assert_true(has_finding(f, n, CR_FINDING_DROP_TABLE, "r1.rev:19: downgrade: drop_table users"));
    assert_int_equal(n, 3);
    assert_string_equal(f[0].revision, "r2");
    for (size_t i = 0; i < n; i++)
        assert_true(f[i].downgrade);
    free(f);
    /* To where it is: nothing to check either way. */
    assert_int_equal(cr_migrate_check(s, NULL, "postgresql", "r2", "r2", &f, &n, NULL), CR_OK);
    assert_int_equal(n, 0);
    cr_migrate_script_free(s);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_directory(void **state)
{
    (void)state;
    char dir[] = "/tmp/crucible-migrate-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "001_users.rev", R1);
    write_file(dir, "002_more.rev", R2);
    write_file(dir, "README.txt", "not a revision");
    cr_error *err = NULL;
    cr_migrate_script *s = cr_migrate_load(dir, &err);
    assert_non_null(s);
    assert_null(err);
    assert_int_equal(cr_migrate_revision_count(s), 2);
    assert_non_null(strstr(cr_migrate_revision(s, "r1")->file, "/001_users.rev"));
    cr_migrate_script_free(s);

    /* The command's history, through the callback. */
    write_file(dir, "003_bad.rev", "-- revision: r3\n-- parent: r2\n-- upgrade\n"
                                   "add_column users x\n-- downgrade\n");
    s = cr_migrate_load(dir, &err);
    assert_null(s);
    assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
    char want[600];
    snprintf(want, sizeof want, "%s/003_bad.rev:4: expected a type", dir);
    if (!strstr(cr_error_message(err), want)) {
        print_error("'%s' not in: %s\n", want, cr_error_message(err));
        fail();
    }
    cr_error_free(err);
    char path[512];
    snprintf(path, sizeof path, "%s/003_bad.rev", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/README.txt", dir);
    unlink(path);
    unlink(strcat(strcpy(path, dir), "/001_users.rev"));
    unlink(strcat(strcpy(path, dir), "/002_more.rev"));
    rmdir(dir);

    s = cr_migrate_load("/nonexistent/dir", &err);
    assert_null(s);
    assert_int_equal(cr_error_class(err), CR_ERR_OPERATIONAL);
    assert_non_null(strstr(cr_error_message(err), "/nonexistent/dir"));
    cr_error_free(err);
}

/* Parse, resolve, render offline and check, with the n-th allocation
 * failing: CR_ERR_NO_MEMORY (or success when the failure was absorbed),
 * never a crash or a leak (ASan). */
static cr_status oom_workload(void)
{
    const char *names[] = {"r1.rev", "r2.rev"};
    const char *texts[] = {R1, R2};
    cr_migrate_script *s = cr_migrate_script_new();
    if (!s)
        return CR_ERR_NO_MEMORY;
    cr_status st = CR_OK;
    for (size_t i = 0; st == CR_OK && i < 2; i++)
        st = cr_migrate_script_add(s, names[i], texts[i]);
    if (st == CR_OK)
        st = cr_migrate_script_resolve(s);
    static const char *const dialects[] = {"sqlite", "postgresql", "mysql"};
    for (size_t i = 0; st == CR_OK && i < 3; i++) {
        char *sql = NULL;
        cr_error *err = NULL;
        st = cr_migrate_offline_sql(s, dialects[i], NULL, NULL, &sql, &err);
        free(sql);
        cr_error_free(err);
        sql = NULL;
        err = NULL;
        if (st == CR_OK)
            st = cr_migrate_offline_sql(s, dialects[i], "r2", "base", &sql, &err);
        free(sql);
        cr_error_free(err);
    }
    cr_migrate_finding *f = NULL;
    size_t n;
    if (st == CR_OK)
        st = cr_migrate_check(s, NULL, "postgresql", NULL, NULL, &f, &n, NULL);
    free(f);
    /* Operations written back as text (autogenerate's renderer). */
    const cr_revision *r = st == CR_OK ? cr_migrate_revision(s, "r2") : NULL;
    for (int dir = 0; r && st == CR_OK && dir < 2; dir++) {
        char *text = NULL;
        cr_error *err = NULL;
        st = dir ? cr_migrate_ops_text(r->downgrade, r->ndowngrade, &text, &err)
                 : cr_migrate_ops_text(r->upgrade, r->nupgrade, &text, &err);
        free(text);
        cr_error_free(err);
    }
    cr_migrate_script_free(s);
    return st;
}

/* Every operation the syntax has, written as text by cr_migrate_ops_text:
 * read back, it is the same operations (the same text again) and the same
 * SQL on every dialect. */
static const char *R3 =
    "-- revision: r3\n"
    "-- parent: r2\n"
    "-- upgrade\n"
    "rename_table \"order\" to orders\n"
    "create_check ck_users_age on users (age >= 0 AND age < 200)\n"
    "create_foreign_key fk_orders_user2 on orders (user_id) references users (id)\n"
    "    on delete set null on update cascade\n"
    "alter_column users age type bigint using (age::bigint) default -1\n"
    "create_index ix_users_age on users (age) concurrently\n"
    "add_column users \"select\" varchar(10) default 'it''s' references orders (id)\n"
    "create_table tags (id integer primary key, label text not null default (lower('X')),\n"
    "    \"unique\" boolean default true, price numeric(8), at time, stamp timestamp,\n"
    "    doc json, uid uuid, raw blob, f float, d double, s smallint, v varchar,\n"
    "    constraint uq_tags_label unique (label), check (id > 0))\n"
    "-- downgrade\n"
    "drop_table tags\n"
    "drop_column users \"select\"\n"
    "drop_index ix_users_age on users\n"
    "alter_column users age type integer drop default\n"
    "drop_foreign_key fk_orders_user2 on orders\n"
    "drop_check ck_users_age on users\n"
    "rename_table orders to \"order\"\n";

static char *revision_as_text(const cr_revision *r)
{
    char *up = NULL, *down = NULL;
    cr_error *err = NULL;
    if (cr_migrate_ops_text(r->upgrade, r->nupgrade, &up, &err) != CR_OK ||
        cr_migrate_ops_text(r->downgrade, r->ndowngrade, &down, &err) != CR_OK) {
        print_error("%s: %s\n", r->id, cr_error_message(err));
        fail();
    }
    size_t len = strlen(up) + strlen(down) + 128;
    char *text = malloc(len);
    assert_non_null(text);
    snprintf(text, len, "-- revision: %s\n%s%s\n-- upgrade\n%s-- downgrade\n%s", r->id,
             r->nparents ? "-- parent: " : "", r->nparents ? r->parents[0] : "", up, down);
    free(up);
    free(down);
    return text;
}

static void test_ops_text_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"r1.rev", "r2.rev", "r3.rev"};
    const char *texts[] = {R1, R2, R3};
    cr_migrate_script *s = script_of(names, texts, 3);
    assert_int_equal(cr_migrate_script_resolve(s), CR_OK);
    char *again[3];
    for (size_t i = 0; i < 3; i++)
        again[i] = revision_as_text(cr_migrate_revision_at(s, i));
    cr_migrate_script *s2 = script_of(names, (const char *const *)again, 3);
    assert_int_equal(cr_migrate_script_resolve(s2), CR_OK);
    for (size_t i = 0; i < 3; i++) {
        char *twice = revision_as_text(cr_migrate_revision_at(s2, i));
        assert_string_equal(again[i], twice);
        free(twice);
    }
    static const char *const dialects[] = {"sqlite", "postgresql", "mysql"};
    for (size_t i = 0; i < 3; i++)
        for (int down = 0; down < 2; down++) {
            char *a = NULL, *b = NULL;
            const char *from = down ? "r3" : NULL, *to = down ? "base" : NULL;
            assert_int_equal(cr_migrate_offline_sql(s, dialects[i], from, to, &a, NULL), CR_OK);
            assert_int_equal(cr_migrate_offline_sql(s2, dialects[i], from, to, &b, NULL), CR_OK);
            assert_string_equal(a, b);
            free(a);
            free(b);
        }
    for (size_t i = 0; i < 3; i++)
        free(again[i]);
    cr_migrate_script_free(s);
    cr_migrate_script_free(s2);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    assert_int_equal(oom_workload(), CR_OK);
    long n;
    int failed = 0;
    for (n = 0; n < 20000; n++) {
        cr_mem_fail_after(n);
        cr_status st = oom_workload();
        bool untouched = cr_mem_fail_disarm();
        if (untouched) {
            assert_int_equal(st, CR_OK);
            break;
        }
        if (st != CR_OK) {
            if (st != CR_ERR_NO_MEMORY)
                print_error("allocation %ld failing: %s\n", n, cr_status_name(st));
            assert_int_equal(st, CR_ERR_NO_MEMORY);
            failed++;
        }
    }
    cr_mem_fail_after(-1);
    assert_true(n > 50 && n < 20000);
    assert_true(failed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operations_as_data),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_graph_errors),
        cmocka_unit_test(test_offline_sql),
        cmocka_unit_test(test_offline_check),
        cmocka_unit_test(test_offline_rebuild_triggers),
        cmocka_unit_test(test_load_directory),
        cmocka_unit_test(test_ops_text_round_trip),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("migrate_parse", tests, NULL, NULL);
}
