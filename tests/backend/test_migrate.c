/* test_migrate.c — schema migrations against a real SQLite, PostgreSQL or MariaDB: round trips compared through the Inspector and by data, rebuilds, failing revisions, offline SQL against the online run, the check, the lock and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "snapshot.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- revisions --------------------------------------------------------------- */

static const char *M1 =
    "-- revision: m1\n"
    "-- message: users and posts\n"
    "-- upgrade\n"
    "create_table mg_users (id integer primary key, name varchar(50) not null,\n"
    "    email varchar(100), score integer default 0)\n"
    "create_index ix_mg_users_name on mg_users (name)\n"
    "create_unique uq_mg_users_email on mg_users (email)\n"
    "create_table mg_posts (id integer primary key, user_id integer not null,\n"
    "    title varchar(80) not null,\n"
    "    constraint fk_mg_posts_user foreign key (user_id) references mg_users (id)\n"
    "        on delete cascade)\n"
    "create_index ix_mg_posts_user on mg_posts (user_id)\n"
    "execute INSERT INTO mg_users (id, name, email, score)\n"
    "    VALUES (1, 'alice', 'a@example.com', 3), (2, 'bob', 'b@example.com', 5)\n"
    "execute INSERT INTO mg_posts (id, user_id, title)\n"
    "    VALUES (10, 1, 'hello'), (11, 2, 'world'), (12, 1, 'again')\n"
    "-- downgrade\n"
    "drop_table mg_posts\n"
    "drop_table mg_users\n";

/* What SQLite's ALTER TABLE cannot do: a rebuild of mg_users (referred to
 * by mg_posts) on SQLite. */
static const char *M2 =
    "-- revision: m2\n"
    "-- parent: m1\n"
    "-- message: users change\n"
    "-- upgrade\n"
    "add_column mg_users active boolean not null default true\n"
    "alter_column mg_users name type varchar(80) rename to full_name\n"
    "alter_column mg_users score type bigint using (score::bigint) not null\n"
    "drop_column mg_users email\n"
    "create_check ck_mg_users_score on mg_users (score >= 0)\n"
    "execute UPDATE mg_users SET score = score + 1\n"
    "-- downgrade\n"
    "drop_check ck_mg_users_score on mg_users\n"
    "add_column mg_users email varchar(100)\n"
    "create_unique uq_mg_users_email on mg_users (email)\n"
    "alter_column mg_users score type integer null\n"
    "alter_column mg_users full_name type varchar(50) rename to name\n"
    "drop_column mg_users active\n"
    "execute UPDATE mg_users SET score = score - 1\n";

/* A renamed table and a foreign key added to a table with one (a rebuild
 * of mg_posts on SQLite); an index built CONCURRENTLY (on PostgreSQL the
 * revision runs operation by operation, outside a transaction). */
static const char *M3 =
    "-- revision: m3\n"
    "-- parent: m2\n"
    "-- message: labels\n"
    "-- upgrade\n"
    "create_table mg_tags (id integer primary key, label varchar(30) not null)\n"
    "rename_table mg_tags to mg_labels\n"
    "add_column mg_posts label_id integer\n"
    "create_foreign_key fk_mg_posts_label on mg_posts (label_id) references mg_labels (id)\n"
    "execute INSERT INTO mg_labels (id, label) VALUES (1, 'news')\n"
    "execute UPDATE mg_posts SET label_id = 1 WHERE id = 10\n"
    "create_index ix_mg_posts_title on mg_posts (title) concurrently\n"
    "-- downgrade\n"
    "drop_index ix_mg_posts_title on mg_posts\n"
    "drop_foreign_key fk_mg_posts_label on mg_posts\n"
    "drop_column mg_posts label_id\n"
    "drop_table mg_labels\n";

/* A directory of its own holding these files (name, text, ...). */
static char dirs[8][64];
static int ndirs;

static const char *make_dir(const char *const *files)
{
    char *dir = dirs[ndirs++ % 8];
    strcpy(dir, "/tmp/crucible-mg-XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (const char *const *f = files; *f; f += 2) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, f[0]);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(f[1], fp);
        fclose(fp);
    }
    return dir;
}
#define MAKE_DIR(...) make_dir((const char *const[]){__VA_ARGS__, NULL})

static cr_migrate_script *load(const char *dir)
{
    cr_error *err = NULL;
    cr_migrate_script *s = cr_migrate_load(dir, &err);
    if (!s) {
        print_error("load %s: %s\n", dir, cr_error_message(err));
        cr_error_free(err);
        fail();
    }
    return s;
}

/* ---- the database ------------------------------------------------------------- */

static cr_engine *engine;

static void drop_all(void)
{
    cr_conn *c = connect_ok(engine);
    drop_table(c, "mg_posts");
    drop_table(c, "mg_labels");
    drop_table(c, "mg_tags");
    drop_table(c, "mg_users");
    drop_table(c, "mg_lock");
    exec_ok(c, "DROP VIEW IF EXISTS mg_tview");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));    /* drop_table rolls back first */
    drop_table(c, "mg_tlog");
    drop_table(c, "mg_tusers");
    if (is_pg())
        exec_ok(c, "DROP FUNCTION IF EXISTS mg_tlog_fn()");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    drop_table(c, "crucible_version");
    cr_conn_close(c);
}

static int setup(void **state)
{
    (void)state;
    engine = new_engine(NULL);
    drop_all();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    drop_all();
    cr_engine_free(engine);
    engine = NULL;
    return 0;
}

#define MIGRATE_OK(call)                                                             \
    do {                                                                             \
        cr_error *err_ = NULL;                                                       \
        cr_status st_ = (call);                                                      \
        if (st_ != CR_OK) {                                                          \
            print_error("%s -> %s: %s\n", #call, cr_status_name(st_),                \
                        cr_error_message(err_));                                     \
            cr_error_free(err_);                                                     \
            fail();                                                                  \
        }                                                                            \
    } while (0)

/* The version table as "m1" / "m1,m2" / "" (base), with "!id:progress" for
 * a revision left part-way. */
static const char *current(void)
{
    static char text[256];
    cr_migrate_state *s = NULL;
    MIGRATE_OK(cr_migrate_current(engine, &s, &err_));
    text[0] = '\0';
    for (size_t i = 0; i < s->nheads; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", i ? "," : "",
                 s->heads[i]);
    if (s->partial)
        snprintf(text + strlen(text), sizeof text - strlen(text), "!%s:%s", s->partial,
                 s->progress);
    cr_migrate_state_free(s);
    return text;
}

/* ---- a schema and its data as text, through the Inspector ------------------------ */

static void snapshot_as(text *t, bool with_rows, bool by_name)
{
    snapshot_of(engine, "mg_", t, with_rows, by_name);
}

static void snapshot(text *t, bool with_rows)
{
    snapshot_as(t, with_rows, false);
}

/* Whether the table has the column / the index (on column first_column
 * first, unless NULL), as the Inspector sees it. */
static bool has_column(const char *table, const char *column)
{
    cr_conn *c = connect_ok(engine);
    cr_inspector *insp = cr_inspect(c);
    const cr_reflected_column *cols;
    size_t n;
    ASSERT_OK(cr_inspector_get_columns(insp, table, &cols, &n), cr_conn_error(c));
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(cols[i].name, column) == 0;
    cr_inspector_free(insp);
    cr_conn_rollback(c);
    cr_conn_close(c);
    return found;
}

static bool has_index(const char *table, const char *index, const char *first_column)
{
    cr_conn *c = connect_ok(engine);
    cr_inspector *insp = cr_inspect(c);
    const cr_reflected_constraint *ix;
    size_t n;
    ASSERT_OK(cr_inspector_get_indexes(insp, table, &ix, &n), cr_conn_error(c));
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(ix[i].name, index) == 0 &&
                 (!first_column || strcmp(ix[i].columns[0], first_column) == 0);
    cr_inspector_free(insp);
    cr_conn_rollback(c);
    cr_conn_close(c);
    return found;
}

static text snap_a, snap_b;

/* ---- tests ------------------------------------------------------------------------ */

/* Upgrade, downgrade, upgrade: the same schema and the same data. */
static void test_round_trip(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_m1.rev", M1, "002_m2.rev", M2, "003_m3.rev", M3);
    cr_migrate_script *s = load(dir);
    assert_string_equal(current(), "");
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "m1", NULL, &err_));
    assert_string_equal(current(), "m1");
    text s1;
    snapshot_as(&s1, false, true);
    assert_non_null(strstr(s1.buf, "table mg_users"));
    MIGRATE_OK(cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    assert_string_equal(current(), "m3");
    snapshot(&snap_a, true);
    assert_non_null(strstr(snap_a.buf, "full_name='alice'"));
    assert_non_null(strstr(snap_a.buf, "score=4"));
    assert_non_null(strstr(snap_a.buf, "table mg_labels"));

    MIGRATE_OK(cr_migrate_downgrade(s, engine, "base", &err_));
    assert_string_equal(current(), "");
    snapshot(&snap_b, true);
    assert_string_equal(snap_b.buf, "");

    MIGRATE_OK(cr_migrate_upgrade(s, engine, "head", NULL, &err_));
    assert_string_equal(current(), "m3");
    snapshot(&snap_b, true);
    same_text(&snap_a, &snap_b, "schema and data after upgrade, downgrade, upgrade");

    /* Down one step at a time to m1: m1's schema again (its emails are lost
     * with the column m2 dropped). */
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "m2", &err_));
    assert_string_equal(current(), "m2");
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "m1", &err_));
    assert_string_equal(current(), "m1");
    snapshot_as(&snap_b, false, true);
    same_text(&s1, &snap_b, "m1's schema after downgrading to it");
    /* Downgrading to where it is, or to what is not applied. */
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "m1", &err_));
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "cannot downgrade to 'm3': it is not applied",
                  cr_migrate_downgrade(s, engine, "m3", &err_));
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* A rebuilt table (SQLite) — and an altered one elsewhere — keeps its rows,
 * its indexes and its foreign keys, in both directions. */
static void test_rebuild_keeps_rows_indexes_fks(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_m1.rev", M1, "002_m2.rev", M2, "003_m3.rev", M3);
    cr_migrate_script *s = load(dir);
    MIGRATE_OK(cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    cr_conn *c = connect_ok(engine);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_users"), 2);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_posts"), 3);
    assert_int_equal(scalar_int(c, "SELECT label_id FROM mg_posts WHERE id = 10"), 1);
    cr_conn_commit(c);
    assert_true(has_index("mg_users", "ix_mg_users_name", "full_name"));
    assert_true(has_index("mg_posts", "ix_mg_posts_user", "user_id"));
    cr_inspector *insp = cr_inspect(c);
    const cr_reflected_constraint *k;
    size_t n;
    ASSERT_OK(cr_inspector_get_foreign_keys(insp, "mg_posts", &k, &n), cr_conn_error(c));
    assert_int_equal(n, 2);
    cr_inspector_free(insp);
    cr_conn_rollback(c);

    /* The foreign keys are enforced (SQLite: turned on again after the
     * rebuild) and keep ON DELETE CASCADE. */
    cr_status st = cr_conn_exec(c, "INSERT INTO mg_posts (id, user_id, title) "
                                   "VALUES (99, 42, 'orphan')", NULL);
    assert_int_equal(st, CR_ERR_INTEGRITY);
    cr_conn_rollback(c);
    /* The check made by m2 holds too. */
    st = cr_conn_exec(c, "UPDATE mg_users SET score = -1 WHERE id = 2", NULL);
    if (!is_mysql() || st != CR_OK)   /* MariaDB enforces checks; say so if not */
        assert_int_not_equal(st, CR_OK);
    cr_conn_rollback(c);
    exec_ok(c, "DELETE FROM mg_users WHERE id = 1");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_posts"), 1);
    cr_conn_rollback(c);
    if (is_sqlite())
        assert_int_equal(scalar_int(c, "PRAGMA foreign_keys"), 1);
    cr_conn_rollback(c);
    cr_conn_close(c);

    /* Back down through both rebuilds: the rows that are left stay. */
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "m1", &err_));
    c = connect_ok(engine);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_users"), 1);
    assert_int_equal(scalar_int(c, "SELECT score FROM mg_users WHERE id = 2"), 5);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_posts WHERE user_id = 2"), 1);
    cr_conn_rollback(c);
    cr_conn_close(c);
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* A revision that fails part-way: nothing of it is reported as applied. */
static void test_failing_revision(void **state)
{
    (void)state;
    static const char *bad =
        "-- revision: m2bad\n-- parent: m1\n-- upgrade\n"
        "add_column mg_users extra integer\n"
        "execute INSERT INTO mg_nowhere (id) VALUES (1)\n"
        "-- downgrade\n"
        "drop_column mg_users extra\n";
    const char *dir = MAKE_DIR("001_m1.rev", M1, "002_bad.rev", bad);
    cr_migrate_script *s = load(dir);
    /* No such table: a ProgrammingError, an OperationalError on SQLite
     * (as SQLAlchemy classes them). */
    MIGRATE_FAILS(is_sqlite() ? CR_ERR_OPERATIONAL : CR_ERR_PROGRAMMING,
                  "002_bad.rev:5 (revision 'm2bad')",
                  cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    cr_conn *c = connect_ok(engine);
    bool extra = has_column("mg_users", "extra");
    if (is_mysql()) {
        /* DDL committed at once: the column is there, and the version table
         * says how far the revision got. */
        assert_true(extra);
        assert_string_equal(current(), "m1!m2bad:upgrade 1/2");
        MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "revision 'm2bad' was left part-way (upgrade 1/2",
                      cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
        MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "left part-way",
                      cr_migrate_downgrade(s, engine, "base", &err_));
        /* Repaired by hand, then stamped. */
        exec_ok(c, "ALTER TABLE mg_users DROP COLUMN extra");
        cr_conn_commit(c);
        MIGRATE_OK(cr_migrate_stamp(s, engine, "m1", &err_));
    } else {
        /* The revision's transaction took its DDL with it. */
        assert_false(extra);
    }
    assert_string_equal(current(), "m1");
    cr_conn_close(c);
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "base", &err_));
    assert_string_equal(current(), "");
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}


/* ---- triggers and views on a rebuilt table ------------------------------------------ */

/* mg_tusers with an AFTER INSERT trigger writing to mg_tlog and a view over
 * it, made by execute statements (each backend spells a trigger its own
 * way: PostgreSQL's runs a function). */
static char *trigger_revision(void)
{
    const char *trigger =
        is_sqlite() ? "execute CREATE TRIGGER mg_tusers_ins AFTER INSERT ON mg_tusers BEGIN\n"
                      "    INSERT INTO mg_tlog (user_id, name) VALUES (NEW.id, NEW.name); END\n"
                      /* SQLite keeps this one without IF NOT EXISTS, main. and ';' */
                      "execute create trigger if not exists main.mg_tusers_upd\n"
                      "    AFTER UPDATE OF id ON main.mg_tusers\n"
                      "    BEGIN DELETE FROM mg_tlog WHERE user_id = OLD.id; END;\n"
        : is_mysql() ? "execute CREATE TRIGGER mg_tusers_ins AFTER INSERT ON mg_tusers\n"
                       "    FOR EACH ROW INSERT INTO mg_tlog (user_id, name)\n"
                       "    VALUES (NEW.id, NEW.name)\n"
                     : "execute CREATE FUNCTION mg_tlog_fn() RETURNS trigger LANGUAGE plpgsql\n"
                       "    AS $$ BEGIN INSERT INTO mg_tlog (user_id, name)\n"
                       "    VALUES (NEW.id, NEW.name); RETURN NEW; END $$\n"
                       "execute CREATE TRIGGER mg_tusers_ins AFTER INSERT ON mg_tusers\n"
                       "    FOR EACH ROW EXECUTE FUNCTION mg_tlog_fn()\n";
    static char text[2048];
    snprintf(text, sizeof text,
             "-- revision: t1\n"
             "-- upgrade\n"
             "create_table mg_tusers (id integer primary key, name varchar(50) not null,\n"
             "    email varchar(100), score integer)\n"
             "create_table mg_tlog (user_id integer, name varchar(50))\n"
             "%s"
             "execute CREATE VIEW mg_tview AS SELECT id, name FROM mg_tusers\n"
             "execute INSERT INTO mg_tusers (id, name, email, score) VALUES (1, 'alice', 'a@x', 3)\n"
             "-- downgrade\n"
             "execute DROP VIEW mg_tview\n"
             "drop_table mg_tusers\n"
             "drop_table mg_tlog\n"
             "%s",
             trigger, is_pg() ? "execute DROP FUNCTION mg_tlog_fn()\n" : "");
    return text;
}

/* Rebuilds of mg_tusers on SQLite (a type and NOT NULL changed, a column
 * dropped; undone by the downgrade); ALTERs in place elsewhere. */
static const char *T2 =
    "-- revision: t2\n"
    "-- parent: t1\n"
    "-- upgrade\n"
    "alter_column mg_tusers score type bigint not null\n"
    "drop_column mg_tusers email\n"
    "-- downgrade\n"
    "add_column mg_tusers email varchar(100)\n"
    "alter_column mg_tusers score type integer null\n";

/* The trigger fires for a new row (the log grows by one, with its name)
 * and the view reads every row of the table. */
static void trigger_and_view_work(int id, const char *name)
{
    cr_conn *c = connect_ok(engine);
    int64_t logged = scalar_int(c, "SELECT count(*) FROM mg_tlog");
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO mg_tusers (id, name, score) VALUES (%d, '%s', 1)",
             id, name);
    exec_ok(c, sql);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_tlog"), logged + 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mg_tlog WHERE user_id = %d AND name = '%s'",
             id, name);
    assert_int_equal(scalar_int(c, sql), 1);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_tview"),
                     scalar_int(c, "SELECT count(*) FROM mg_tusers"));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM mg_tview WHERE id = %d AND name = '%s'", id,
             name);
    assert_int_equal(scalar_int(c, sql), 1);
    cr_conn_rollback(c);
    cr_conn_close(c);
}

static void test_rebuild_keeps_triggers_and_views(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_t1.rev", trigger_revision(), "002_t2.rev", T2);
    cr_migrate_script *s = load(dir);
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "t1", NULL, &err_));
    trigger_and_view_work(2, "bob");
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "t2", NULL, &err_));
    assert_string_equal(current(), "t2");
    assert_false(has_column("mg_tusers", "email"));
    trigger_and_view_work(3, "carol");
    /* Back down: a second rebuild, the trigger and the view still there. */
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "t1", &err_));
    assert_true(has_column("mg_tusers", "email"));
    trigger_and_view_work(4, "dave");
    /* And up again: the same table once more. */
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "t2", NULL, &err_));
    trigger_and_view_work(5, "erin");
    cr_conn *c = connect_ok(engine);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_tusers"), 5);
    cr_conn_rollback(c);
    cr_conn_close(c);
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* A revision dropping or renaming a column that the view or the trigger
 * uses is refused, naming the view or trigger, and leaves everything as it
 * was (SQLite: the revision's transaction; PostgreSQL refuses a column a
 * view depends on by itself). MySQL lets a view break (SHOW CREATE VIEW
 * fails afterwards) and resolves a trigger's columns when it fires: the
 * refusals are SQLite's and PostgreSQL's. */
static void refused(const char *text, const char *what, const char *names)
{
    const char *dir = MAKE_DIR("001_t1.rev", trigger_revision(), "002_t3.rev", text);
    cr_migrate_script *s = load(dir);
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "t1", NULL, &err_));
    cr_error *err = NULL;
    cr_status st = cr_migrate_upgrade(s, engine, "t3", NULL, &err);
    const char *msg = cr_error_message(err);
    if (st == CR_OK || !strstr(msg, names) ||
        (is_sqlite() && !strstr(msg, "drop it before the operation and create it again"))) {
        print_error("%s: %s (wanted an error naming %s)\n", what, msg, names);
        cr_error_free(err);
        fail();
    }
    cr_error_free(err);
    assert_string_equal(current(), "t1");
    assert_true(has_column("mg_tusers", "name"));
    assert_true(has_column("mg_tusers", "email"));
    trigger_and_view_work(2, "bob");
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "base", &err_));
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

static void test_rebuild_refuses_broken_view_or_trigger(void **state)
{
    (void)state;
    if (is_mysql())
        skip();
    refused("-- revision: t3\n-- parent: t1\n-- upgrade\n"
            "alter_column mg_tusers email type varchar(200)\n"
            "drop_column mg_tusers name\n"
            "-- downgrade\n"
            "add_column mg_tusers name varchar(50)\n",
            "drop_column of a column the view uses", "mg_tview");
    if (!is_sqlite())
        return;    /* PostgreSQL checks a function's body when it runs */
    /* The view dropped first by the revision (and there again after the
     * refusal): the trigger's NEW.name is what breaks. */
    refused("-- revision: t3\n-- parent: t1\n-- upgrade\n"
            "execute DROP VIEW mg_tview\n"
            "alter_column mg_tusers name type varchar(80) rename to full_name\n"
            "-- downgrade\n"
            "alter_column mg_tusers full_name type varchar(50) rename to name\n",
            "a rebuild renaming a column the trigger uses", "mg_tusers_ins");
}

/* ---- offline SQL against what the online run sends -------------------------------- */

static char captured[1 << 16];
static size_t ncaptured;
static bool in_implicit;

/* The statements sent, in cr_migrate_offline_sql's form: parameter lines,
 * the reads of the run (SELECT and PRAGMA foreign_keys alone) and the
 * transactions of reads only left out. */
static void capture(void *userdata, const char *line)
{
    (void)userdata;
    if (line[0] == '[' || strncmp(line, "SELECT", 6) == 0 ||
        strcmp(line, "PRAGMA foreign_keys") == 0)
        return;
    if (strcmp(line, "BEGIN (implicit)") == 0) {
        in_implicit = true;
        return;
    }
    if (in_implicit && (strcmp(line, "COMMIT") == 0 || strcmp(line, "ROLLBACK") == 0)) {
        in_implicit = false;
        return;
    }
    if (in_implicit) {
        print_error("a statement in a transaction of reads: %s\n", line);
        fail();
    }
    int n = snprintf(captured + ncaptured, sizeof captured - ncaptured, "%s;\n\n", line);
    assert_true(n > 0 && (size_t)n < sizeof captured - ncaptured);
    ncaptured += (size_t)n;
}

static void same_sql(const char *offline, const char *online, const char *what)
{
    if (strcmp(offline, online) != 0) {
        print_error("%s: offline SQL differs from the online run\n--- offline\n%s--- online\n%s",
                    what, offline, online);
        fail();
    }
}

static void test_offline_equals_online(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_m1.rev", M1, "002_m2.rev", M2, "003_m3.rev", M3);
    cr_migrate_script *s = load(dir);
    cr_engine_options o = {.echo = true, .log_fn = capture};
    cr_engine *echo = new_engine(&o);
    char *offline = NULL;
    MIGRATE_OK(cr_migrate_offline_sql(s, backend, "base", "head", &offline, &err_));
    ncaptured = 0;
    captured[0] = '\0';
    in_implicit = false;
    MIGRATE_OK(cr_migrate_upgrade(s, echo, NULL, NULL, &err_));
    same_sql(offline, captured, "upgrade base:head");
    free(offline);

    MIGRATE_OK(cr_migrate_offline_sql(s, backend, "m3", "m1", &offline, &err_));
    ncaptured = 0;
    captured[0] = '\0';
    MIGRATE_OK(cr_migrate_downgrade(s, echo, "m1", &err_));
    same_sql(offline, captured, "downgrade m3:m1");
    free(offline);
    cr_engine_free(echo);
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* The rebuild's statements offline and online: the same, the trigger
 * included (SQLite: online it is read from sqlite_master, offline known
 * from the execute statement that made it); elsewhere nothing is rebuilt. */
static void test_offline_rebuild_with_trigger(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_t1.rev", trigger_revision(), "002_t2.rev", T2);
    cr_migrate_script *s = load(dir);
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "t1", NULL, &err_));
    char *offline = NULL;
    MIGRATE_OK(cr_migrate_offline_sql(s, backend, "t1", "t2", &offline, &err_));
    cr_engine_options o = {.echo = true, .log_fn = capture};
    cr_engine *echo = new_engine(&o);
    ncaptured = 0;
    captured[0] = '\0';
    in_implicit = false;
    MIGRATE_OK(cr_migrate_upgrade(s, echo, "t2", NULL, &err_));
    cr_engine_free(echo);
    if (is_sqlite()) {
        assert_non_null(strstr(offline, "PRAGMA legacy_alter_table = ON;\n\n"));
        assert_non_null(strstr(offline, "CREATE TRIGGER mg_tusers_ins AFTER INSERT"));
    }
    same_sql(offline, captured, "upgrade t1:t2");
    free(offline);
    trigger_and_view_work(2, "bob");
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* Another process moves the version table between two revisions of a run
 * (on SQLite nothing locks there): the next revision sees it inside its
 * transaction and stops, sending none of its operations. */
static int sabotage_state;     /* 0 watching, 1 m1 recorded, 2 done */

static void sabotage(void *userdata, const char *line)
{
    (void)userdata;
    if (sabotage_state == 0 && (strstr(line, "VALUES ('m1')") ||
                                strstr(line, "progress=NULL WHERE version_num='m1'")))
        sabotage_state = 1;
    else if (sabotage_state == 1 && strcmp(line, "BEGIN") == 0) {
        sabotage_state = 2;
        cr_conn *other = connect_ok(engine);
        exec_ok(other, "UPDATE crucible_version SET version_num = 'm2'");
        ASSERT_OK(cr_conn_commit(other), cr_conn_error(other));
        cr_conn_close(other);
    }
}

static void test_version_moved_by_another_process(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_m1.rev", M1, "002_m2.rev", M2);
    cr_migrate_script *s = load(dir);
    cr_engine_options o = {.echo = true, .log_fn = sabotage};
    cr_engine *e = new_engine(&o);
    sabotage_state = 0;
    MIGRATE_FAILS(CR_ERR_OPERATIONAL, "the version table changed while migrating",
                  cr_migrate_upgrade(s, e, NULL, NULL, &err_));
    assert_int_equal(sabotage_state, 2);
    assert_string_equal(current(), "m2");
    assert_false(has_column("mg_users", "active"));     /* m2 did not run */
    cr_engine_free(e);
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* ---- the check --------------------------------------------------------------------- */

static bool has_finding(const cr_migrate_finding *f, size_t n, cr_migrate_finding_kind kind)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == kind)
            return true;
    return false;
}

static void test_check(void **state)
{
    (void)state;
    static const char *risky =
        "-- revision: m2r\n-- parent: m1\n-- upgrade\n"
        "add_column mg_users level integer not null\n"
        "create_index ix_mg_users_score on mg_users (score)\n"
        "alter_column mg_users name type varchar(10)\n"
        "drop_column mg_users email\n"
        "-- downgrade\n"
        "add_column mg_users email varchar(100)\n"
        "alter_column mg_users name type varchar(50)\n"
        "drop_index ix_mg_users_score on mg_users\n"
        "drop_column mg_users level\n";
    const char *dir = MAKE_DIR("001_m1.rev", M1, "002_risky.rev", risky);
    cr_migrate_script *s = load(dir);
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "m1", NULL, &err_));
    cr_migrate_finding *f = NULL;
    size_t n = 0;
    MIGRATE_OK(cr_migrate_check(s, engine, NULL, NULL, NULL, &f, &n, &err_));
    assert_true(has_finding(f, n, CR_FINDING_NOT_NULL_NO_DEFAULT));   /* it has rows */
    assert_true(has_finding(f, n, CR_FINDING_NARROW_TYPE));
    assert_true(has_finding(f, n, CR_FINDING_DROP_COLUMN));
    assert_int_equal(has_finding(f, n, CR_FINDING_INDEX_LOCKS_TABLE), is_pg());
    assert_int_equal(n, 3 + is_pg());
    free(f);

    /* Strict: refused, nothing sent. */
    cr_migrate_options strict = {.strict = true};
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "the migration check refuses",
                  cr_migrate_upgrade(s, engine, NULL, &strict, &err_));
    assert_string_equal(current(), "m1");

    /* Without rows, a NOT NULL column without a default is no finding. */
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "DELETE FROM mg_posts");
    exec_ok(c, "DELETE FROM mg_users");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    MIGRATE_OK(cr_migrate_check(s, engine, NULL, NULL, NULL, &f, &n, &err_));
    assert_false(has_finding(f, n, CR_FINDING_NOT_NULL_NO_DEFAULT));
    assert_int_equal(n, 2 + is_pg());
    free(f);
    /* Built CONCURRENTLY (PostgreSQL, outside the transaction), the index
     * is no finding, and strict mode lets it run. */
    const char *cdir = MAKE_DIR("001_m1.rev", M1, "002_c.rev",
                                "-- revision: mc\n-- parent: m1\n-- upgrade\n"
                                "create_index ix_mg_users_score on mg_users (score) concurrently\n"
                                "-- downgrade\ndrop_index ix_mg_users_score on mg_users\n");
    cr_migrate_script *cs = load(cdir);
    MIGRATE_OK(cr_migrate_check(cs, engine, NULL, NULL, NULL, &f, &n, &err_));
    assert_int_equal(n, 0);
    MIGRATE_OK(cr_migrate_upgrade(cs, engine, NULL, &strict, &err_));
    assert_string_equal(current(), "mc");
    assert_true(has_index("mg_users", "ix_mg_users_score", "score"));
    MIGRATE_OK(cr_migrate_downgrade(cs, engine, "m1", &err_));
    cr_migrate_script_free(cs);
    harness_remove_dir(cdir);

    /* Not strict: it runs (on the empty table the NOT NULL column is fine). */
    MIGRATE_OK(cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    assert_string_equal(current(), "m2r");

    /* The downgrades from where the database is: m2r's drops a column
     * (widening name back is no finding), m1's both tables. */
    MIGRATE_OK(cr_migrate_check(s, engine, NULL, NULL, "m1", &f, &n, &err_));
    assert_int_equal(n, 1);
    assert_int_equal(f[0].kind, CR_FINDING_DROP_COLUMN);
    assert_true(f[0].downgrade);
    assert_non_null(strstr(f[0].message, "002_risky.rev:12: downgrade: drop_column "
                                         "mg_users.level"));
    free(f);
    MIGRATE_OK(cr_migrate_check(s, engine, NULL, NULL, "base", &f, &n, &err_));
    assert_int_equal(n, 3);
    assert_true(has_finding(f, n, CR_FINDING_DROP_TABLE));
    for (size_t i = 0; i < n; i++)
        assert_true(f[i].downgrade);
    free(f);
    assert_string_equal(current(), "m2r");      /* a check changes nothing */
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "base", &err_));
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* ---- bad input ------------------------------------------------------------------------ */

static cr_status command(const char *dir, const char *a, const char *b, const char *c_,
                         cr_error **err);
static char out[1 << 15];

static void test_unknown_version_and_heads(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_m1.rev", M1);
    cr_migrate_script *s = load(dir);
    MIGRATE_OK(cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "UPDATE crucible_version SET version_num = 'zz9'");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "the database is at revision 'zz9', which the "
                  "migrations do not have", cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "'zz9'",
                  cr_migrate_downgrade(s, engine, "base", &err_));
    assert_string_equal(current(), "zz9");
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "no revision 'zz9'", cr_migrate_stamp(s, engine, "zz9", &err_));
    MIGRATE_OK(cr_migrate_stamp(s, engine, "m1", &err_));
    assert_string_equal(current(), "m1");
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "base", &err_));
    cr_migrate_script_free(s);
    harness_remove_dir(dir);

    /* Two heads: refused before anything is sent. */
    dir = MAKE_DIR("001_m1.rev", M1, "002_a.rev",
                   "-- revision: ha\n-- parent: m1\n-- upgrade\n-- downgrade\n", "002_b.rev",
                   "-- revision: hb\n-- parent: m1\n-- upgrade\n-- downgrade\n");
    s = load(dir);
    drop_table(c, "crucible_version");
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "the history has 2 heads ('ha', 'hb')",
                  cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    cr_inspector *insp = cr_inspect(c);
    bool exists = true;
    ASSERT_OK(cr_inspector_has_table(insp, "mg_users", &exists), cr_conn_error(c));
    assert_false(exists);
    cr_inspector_free(insp);
    cr_conn_rollback(c);
    /* A new revision needs one head; merge writes the revision joining them. */
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "the history has 2 heads: merge them first",
                  command(dir, "revision", "more", NULL, &err_));
    MIGRATE_OK(command(dir, "merge", "join the heads", NULL, &err_));
    assert_non_null(strstr(out, "_join_the_heads.rev\n"));
    cr_migrate_script *merged = load(dir);
    const cr_revision *heads[2];
    assert_int_equal(cr_migrate_script_heads(merged, heads, 2), 1);
    assert_int_equal(heads[0]->nparents, 2);
    assert_string_equal(heads[0]->message, "join the heads");
    char path[256];
    snprintf(path, sizeof path, "%s", heads[0]->file);
    cr_migrate_script_free(merged);
    unlink(path);
    /* A named head is a target. */
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "hb", NULL, &err_));
    assert_string_equal(current(), "hb");
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "ha", NULL, &err_));
    assert_string_equal(current(), "ha,hb");   /* in id order */
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "base", &err_));
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
    cr_conn_close(c);
}

/* A table the migrations did not make: where an operation needs its
 * definition (SQLite's rebuild, MySQL's MODIFY), NotSupportedError before
 * anything of the revision is sent; PostgreSQL alters it in place. */
static void test_table_outside_history(void **state)
{
    (void)state;
    static const char *rev =
        "-- revision: mx\n-- upgrade\n"
        "execute INSERT INTO mg_lock (id) VALUES (7)\n"
        "alter_column mg_lock id type bigint\n"
        "-- downgrade\n";
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "CREATE TABLE mg_lock (id INTEGER)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    const char *dir = MAKE_DIR("001_mx.rev", rev);
    cr_migrate_script *s = load(dir);
    if (is_pg()) {
        MIGRATE_OK(cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
        assert_string_equal(current(), "mx");
        assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_lock"), 1);
    } else {
        MIGRATE_FAILS(CR_ERR_NOT_SUPPORTED, "001_mx.rev:4 (revision 'mx'): ",
                      cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
        MIGRATE_FAILS(CR_ERR_NOT_SUPPORTED, "table 'mg_lock' was not made by the migrations",
                      cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
        assert_string_equal(current(), "");
        assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_lock"), 0);
    }
    cr_conn_rollback(c);
    cr_conn_close(c);
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* Two branches and the revision that merges them (Alembic's merge): one
 * version row at the merge; downgrading into a branch leaves the rows of
 * what is still applied. */
static void test_merge(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR(
        "001_m1.rev", M1,
        "002_a.rev", "-- revision: ba\n-- parent: m1\n-- upgrade\n"
                     "add_column mg_users a integer\n-- downgrade\ndrop_column mg_users a\n",
        "002_b.rev", "-- revision: bb\n-- parent: m1\n-- upgrade\n"
                     "add_column mg_posts b integer\n-- downgrade\ndrop_column mg_posts b\n",
        "003_merge.rev", "-- revision: bm\n-- parents: ba, bb\n-- message: merge\n"
                         "-- upgrade\n-- downgrade\n");
    cr_migrate_script *s = load(dir);
    MIGRATE_OK(cr_migrate_upgrade(s, engine, "bb", NULL, &err_));
    assert_string_equal(current(), "bb");
    MIGRATE_OK(cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    assert_string_equal(current(), "bm");
    cr_conn *c = connect_ok(engine);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_users WHERE a IS NULL"), 2);
    assert_int_equal(scalar_int(c, "SELECT count(*) FROM mg_posts WHERE b IS NULL"), 3);
    cr_conn_rollback(c);
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "ba", &err_));
    assert_string_equal(current(), "ba");
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "base", &err_));
    assert_string_equal(current(), "");
    cr_conn_close(c);
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

static void test_cannot_connect(void **state)
{
    (void)state;
    const char *url = is_sqlite() ? "sqlite:////nonexistent-dir/db.sqlite"
                    : is_pg()     ? "postgresql://nobody:x@127.0.0.1:1/nothing"
                                  : "mysql://nobody:x@127.0.0.1:1/nothing";
    cr_error *err = NULL;
    cr_engine *bad = cr_create_engine(url, NULL, &err);
    assert_non_null(bad);
    const char *dir = MAKE_DIR("001_m1.rev", M1);
    cr_migrate_script *s = load(dir);
    MIGRATE_FAILS(CR_ERR_OPERATIONAL, "", cr_migrate_upgrade(s, bad, NULL, NULL, &err_));
    cr_migrate_state *st = NULL;
    MIGRATE_FAILS(CR_ERR_OPERATIONAL, "", cr_migrate_current(bad, &st, &err_));
    assert_null(st);
    cr_engine_free(bad);
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* Another migrating process holds the lock: told at once, nothing applied. */
static void test_lock_held(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_m1.rev", M1);
    cr_migrate_script *s = load(dir);
    cr_engine *e = engine;
    cr_conn *other;
    if (is_sqlite()) {
        /* SQLite: a writer's transaction holds the database; the run does
         * not wait past its busy timeout. */
        char url[600];
        snprintf(url, sizeof url, "%s?timeout=0.2", backend_url);
        e = cr_create_engine(url, NULL, NULL);
        assert_non_null(e);
        other = connect_ok(engine);
        exec_ok(other, "CREATE TABLE mg_lock (id INTEGER)");
        cr_conn_commit(other);
        exec_ok(other, "INSERT INTO mg_lock VALUES (1)");
        MIGRATE_FAILS(CR_ERR_OPERATIONAL, "locked", cr_migrate_upgrade(s, e, NULL, NULL, &err_));
    } else {
        other = connect_ok(engine);
        int64_t got = scalar_int(other, is_pg() ? "SELECT pg_try_advisory_lock(7243190412)::int"
                                                : "SELECT GET_LOCK(CONCAT('crucible_migrate.', "
                                                  "MD5(DATABASE())), 0)");
        assert_int_equal(got, 1);
        cr_conn_commit(other);
        MIGRATE_FAILS(CR_ERR_OPERATIONAL, "another process is migrating this database",
                      cr_migrate_upgrade(s, e, NULL, NULL, &err_));
        scalar_int(other, is_pg() ? "SELECT pg_advisory_unlock(7243190412)::int"
                                  : "SELECT RELEASE_LOCK(CONCAT('crucible_migrate.', "
                                    "MD5(DATABASE())))");
    }
    cr_conn_rollback(other);
    cr_conn_close(other);
    assert_string_equal(current(), "");
    /* Free again: it runs. */
    MIGRATE_OK(cr_migrate_upgrade(s, e, NULL, NULL, &err_));
    assert_string_equal(current(), "m1");
    MIGRATE_OK(cr_migrate_downgrade(s, e, "base", &err_));
    if (e != engine)
        cr_engine_free(e);
    cr_migrate_script_free(s);
    harness_remove_dir(dir);
}

/* Another database on the same server is being migrated: its lock is its
 * own, and this database's run goes ahead. The other run is held inside
 * its lock by a revision that waits: on MySQL for a gate this test holds
 * (user locks are the server's); on PostgreSQL, whose advisory locks are a
 * database's, sleeping 3 s (checked to be still asleep afterwards). */
#define OTHER_DB "crucible_scratch_mglock"
#define GATE_PG "SELECT pg_sleep(3)"
#define GATE_MY "SELECT GET_LOCK('crucible_test_gate', 30)"

typedef struct other_run {
    cr_engine *engine;
    cr_migrate_script *script;
    cr_status status;
} other_run;

static void *run_other(void *arg)
{
    other_run *o = arg;
    cr_error *err = NULL;
    o->status = cr_migrate_upgrade(o->script, o->engine, NULL, NULL, &err);
    cr_error_free(err);
    return NULL;
}

/* Whether a session of the server is waiting at the gate. */
static bool at_gate(cr_conn *c)
{
    const char *sql = is_pg() ? "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                                "AND query LIKE 'SELECT pg_sleep(3)%'"
                              : "SELECT count(*) FROM information_schema.PROCESSLIST WHERE "
                                "INFO LIKE 'SELECT GET_LOCK(''crucible_test_gate''%'";
    bool there = scalar_int(c, sql) == 1;
    cr_conn_rollback(c);
    return there;
}

/* Wait (up to 10 s) until the other run waits at the gate. */
static void wait_for_gate(cr_conn *c)
{
    for (int i = 0; i < 1000 && !at_gate(c); i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    if (!at_gate(c))
        fail_msg("the other database's migration never reached the gate");
}

static void test_lock_is_per_database(void **state)
{
    (void)state;
    if (is_sqlite())
        skip();   /* a database per file: nothing is shared */
    char url[1024];
    harness_scratch_database(OTHER_DB, url, sizeof url);
    cr_conn *a = connect_ok(engine);   /* watches the other run */
    char rev[256];
    snprintf(rev, sizeof rev, "-- revision: g1\n-- message: waits at the gate\n-- upgrade\n"
             "execute %s\n-- downgrade\n", is_pg() ? GATE_PG : GATE_MY);
    const char *other_dir = MAKE_DIR("001_g1.rev", rev);
    other_run o = {new_engine_at(url, NULL), load(other_dir), CR_ERR_INTERNAL};

    cr_conn *gate = connect_ok(engine);
    if (!is_pg())
        assert_int_equal(scalar_int(gate, "SELECT GET_LOCK('crucible_test_gate', 0)"), 1);
    cr_conn_commit(gate);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_other, &o), 0);
    wait_for_gate(a);

    /* The other database's run holds its lock now: this one is not held up. */
    const char *dir = MAKE_DIR("001_m1.rev", M1);
    cr_migrate_script *s = load(dir);
    MIGRATE_OK(cr_migrate_upgrade(s, engine, NULL, NULL, &err_));
    assert_string_equal(current(), "m1");
    assert_true(at_gate(a));   /* (it ran while the other run held its lock) */

    if (!is_pg())
        scalar_int(gate, "SELECT RELEASE_LOCK('crucible_test_gate')");
    cr_conn_commit(gate);
    pthread_join(t, NULL);
    assert_int_equal(o.status, CR_OK);
    MIGRATE_OK(cr_migrate_downgrade(s, engine, "base", &err_));

    cr_conn_close(gate);
    cr_engine_free(o.engine);
    cr_migrate_script_free(o.script);
    cr_migrate_script_free(s);
    harness_remove_dir(other_dir);
    harness_remove_dir(dir);
    cr_conn_close(a);
    harness_scratch_database(OTHER_DB, NULL, 0);
}

/* ---- the embedding call ----------------------------------------------------------------- */

static void collect(void *userdata, const char *line)
{
    (void)userdata;
    size_t len = strlen(out);
    snprintf(out + len, sizeof out - len, "%s\n", line);
}

static cr_status command(const char *dir, const char *a, const char *b, const char *c_,
                         cr_error **err)
{
    const char *argv[] = {a, b, c_};
    int argc = 1 + (b != NULL) + (c_ != NULL);
    out[0] = '\0';
    return cr_migrate_command(engine, dir, NULL, argc, argv, collect, NULL, err);
}

static void test_command(void **state)
{
    (void)state;
    const char *dir = MAKE_DIR("001_m1.rev", M1, "002_m2.rev", M2, "003_m3.rev", M3);
    MIGRATE_OK(command(dir, "current", NULL, NULL, &err_));
    assert_string_equal(out, "<base>\n");
    MIGRATE_OK(command(dir, "upgrade", "m2", NULL, &err_));
    MIGRATE_OK(command(dir, "current", NULL, NULL, &err_));
    assert_string_equal(out, "m2\n");
    MIGRATE_OK(command(dir, "history", NULL, NULL, &err_));
    assert_string_equal(out, "m2 -> m3 (head), labels\n"
                             "m1 -> m2, users change\n"
                             "<base> -> m1, users and posts\n");
    MIGRATE_OK(command(dir, "upgrade", "m2:m3", "--sql", &err_));
    assert_non_null(strstr(out, "CREATE TABLE mg_tags ("));
    assert_string_equal(current(), "m2");
    /* m3 loses nothing and locks nothing: strict lets it through. */
    MIGRATE_OK(command(dir, "check", NULL, NULL, &err_));
    assert_string_equal(out, "the migration check found nothing\n");
    MIGRATE_OK(command(dir, "upgrade", "--strict", NULL, &err_));
    assert_string_equal(current(), "m3");
    MIGRATE_OK(command(dir, "heads", NULL, NULL, &err_));
    assert_string_equal(out, "m3 (head)\n");
    /* Checking the way down to m2: m3's downgrade loses a column and a table. */
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "the migration check flags 2 operation(s)",
                  command(dir, "check", "m2", NULL, &err_));
    assert_non_null(strstr(out, "003_m3.rev:15: downgrade: drop_column mg_posts.label_id"));
    assert_non_null(strstr(out, "003_m3.rev:16: downgrade: drop_table mg_labels"));
    assert_string_equal(current(), "m3");
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "unknown command 'sideways'",
                  command(dir, "sideways", NULL, NULL, &err_));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "downgrade needs a target",
                  command(dir, "downgrade", NULL, NULL, &err_));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "no revision 'm9' in the migrations",
                  command(dir, "check", "m9", NULL, &err_));
    /* The run functions' own errors come back through the command. */
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "no revision 'm9' in the migrations",
                  command(dir, "upgrade", "m9", NULL, &err_));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "no revision 'm9' in the migrations",
                  command(dir, "downgrade", "m9", NULL, &err_));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "no revision 'm9' in the migrations",
                  command(dir, "stamp", "m9", NULL, &err_));
    MIGRATE_OK(command(dir, "downgrade", "base", NULL, &err_));
    assert_string_equal(current(), "");
    /* A new revision after the head, to fill in. */
    MIGRATE_OK(command(dir, "revision", "Add tags!", NULL, &err_));
    assert_non_null(strstr(out, "_add_tags.rev\n"));
    cr_migrate_script *s = load(dir);
    const cr_revision *head;
    assert_int_equal(cr_migrate_script_heads(s, &head, 1), 1);
    assert_string_equal(head->parents[0], "m3");
    assert_int_equal(head->nupgrade + head->ndowngrade, 0);
    cr_migrate_script_free(s);
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "nothing to merge",
                  command(dir, "merge", "x", NULL, &err_));
    /* A file that does not parse: the command says which, and where. */
    const char *bad = MAKE_DIR("001_m1.rev", M1, "002_x.rev",
                               "-- revision: x\n-- parent: m1\n-- upgrade\n"
                               "create_table t (id integer,)\n-- downgrade\n");
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "002_x.rev:4: expected a column name",
                  command(bad, "upgrade", NULL, NULL, &err_));
    assert_string_equal(current(), "");
    harness_remove_dir(bad);
    harness_remove_dir(dir);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_rows_indexes_fks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_triggers_and_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_refuses_broken_view_or_trigger, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failing_revision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_equals_online, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_rebuild_with_trigger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_moved_by_another_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_version_and_heads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_outside_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cannot_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_is_per_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command, setup, teardown),
    };
    int failed = HARNESS_RUN("migrate", NULL, tests, NULL);
    harness_cleanup();
    return failed ? 1 : 0;
}
