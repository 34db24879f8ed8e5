/* test_autogenerate.c — autogenerate against a real SQLite, PostgreSQL or MariaDB: no difference right after create_all, every kind of difference alone and together, the revision's text round trip, upgrade / downgrade with a generated revision, bad input, and the include filter (tables, columns, indexes and constraints left out). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a database of the suite's own --------------------------------------------
 * Autogenerate compares every table of a database: the suite works in one
 * that no other suite leaves tables in, made empty again for each test. */

#define OWN_DB "crucible_scratch_ag"

static char own_url[1024];
static char sqlite_dir[64];
static cr_engine *engine;

static int setup(void **state)
{
    (void)state;
    if (is_sqlite()) {
        if (!*sqlite_dir) {
            strcpy(sqlite_dir, "/tmp/crucible-ag-XXXXXX");
            assert_non_null(mkdtemp(sqlite_dir));
        }
        snprintf(own_url, sizeof own_url, "sqlite:///%s/ag.db", sqlite_dir);
        char path[128];
        snprintf(path, sizeof path, "%s/ag.db", sqlite_dir);
        unlink(path);
    } else {
        harness_scratch_database(OWN_DB, own_url, sizeof own_url);
    }
    engine = new_engine_at(own_url, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cr_engine_free(engine);
    engine = NULL;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (!is_sqlite())
        harness_scratch_database(OWN_DB, NULL, 0);
    else if (*sqlite_dir)
        harness_remove_dir(sqlite_dir);
    return 0;
}

/* ---- the schema and its variants ------------------------------------------------- */

/* One difference each, from the base schema. */
typedef struct variant {
    bool add_table, drop_table, rename_table;
    bool add_column, drop_column, rename_column;
    bool type, nullable, server_default, drop_default;
    bool add_index, drop_index, add_unique, drop_unique, add_fk, drop_fk;
    bool tag_label_plain;           /* ag_tags.label without its unnamed unique */
    bool motto_unique;              /* an unnamed unique on ag_users.motto       */
} variant;

static const variant BASE = {0};

static cr_column *col(cr_table *t, cr_column_def def)
{
    cr_column *c = cr_table_add_column(t, &def);
    if (!c) {
        print_error("column %s: %s\n", def.name,
                    cr_error_message(cr_metadata_error(cr_table_metadata(t))));
        fail();
    }
    return c;
}

static cr_metadata *schema(const variant *v)
{
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    cr_table *u = cr_table_new(md, "ag_users");
    col(u, (cr_column_def){.name = "id", .type = CR_SQL_INTEGER, .primary_key = true});
    cr_column *name = col(u, (cr_column_def){
        .name = "name", .type = CR_SQL_STRING(v->type ? 80 : 50), .nullable = CR_NO});
    cr_column *email = col(u, (cr_column_def){
        .name = "email", .type = CR_SQL_STRING(100), .nullable = v->nullable ? CR_NO : CR_AUTO});
    cr_column *score = col(u, (cr_column_def){
        .name = "score", .type = CR_SQL_INTEGER,
        .server_default = v->server_default ? "5" : v->drop_default ? NULL : "0"});
    col(u, (cr_column_def){.name = "active", .type = CR_SQL_BOOLEAN, .nullable = CR_NO,
                           .server_default = "true"});
    col(u, (cr_column_def){.name = "created", .type = CR_SQL_DATETIME,
                           .server_default = "CURRENT_TIMESTAMP"});
    col(u, (cr_column_def){.name = "price", .type = CR_SQL_NUMERIC(10, 2),
                           .server_default = "'0.00'"});
    col(u, (cr_column_def){.name = "motto", .type = CR_SQL_STRING(40),
                           .server_default = "'hello'", .unique = v->motto_unique});
    if (!v->drop_column && !v->rename_column)
        col(u, (cr_column_def){.name = "note", .type = CR_SQL_TEXT});
    if (v->rename_column)
        col(u, (cr_column_def){.name = "remark", .type = CR_SQL_TEXT});
    if (v->add_column)
        col(u, (cr_column_def){.name = "nickname", .type = CR_SQL_STRING(30)});
    if (!v->drop_index)
        cr_table_index(u, "ix_ag_users_name", false, CR_COLS(name));
    if (v->add_index)
        cr_table_index(u, "ix_ag_users_score", false, CR_COLS(score));
    if (!v->drop_unique)
        cr_table_unique(u, "uq_ag_users_email", CR_COLS(email));

    if (!v->drop_table) {
        /* Constraint and index names carry the table's: a rename is a drop
         * and a create in one revision, and MySQL's foreign key names and
         * the indexes of SQLite and PostgreSQL are per database. */
        const char *pn = v->rename_table ? "ag_articles" : "ag_posts";
        char ix_user[64], ix_editor[64], fk_user[64], fk_editor[64], uq_title[64];
        snprintf(ix_user, sizeof ix_user, "ix_%s_user", pn);
        snprintf(ix_editor, sizeof ix_editor, "ix_%s_editor", pn);
        snprintf(fk_user, sizeof fk_user, "fk_%s_user", pn);
        snprintf(fk_editor, sizeof fk_editor, "fk_%s_editor", pn);
        snprintf(uq_title, sizeof uq_title, "uq_%s_title", pn);
        cr_table *p = cr_table_new(md, pn);
        col(p, (cr_column_def){.name = "id", .type = CR_SQL_INTEGER, .primary_key = true});
        cr_column *user_id = col(p, (cr_column_def){
            .name = "user_id", .type = CR_SQL_INTEGER, .nullable = CR_NO});
        /* Indexed, so that MySQL makes no index of its own for its
         * foreign key (one that would outlive the key). */
        cr_column *editor_id = col(p, (cr_column_def){.name = "editor_id",
                                                      .type = CR_SQL_INTEGER});
        cr_column *title = col(p, (cr_column_def){
            .name = "title", .type = CR_SQL_STRING(80), .nullable = CR_NO});
        col(p, (cr_column_def){.name = "body", .type = CR_SQL_TEXT});
        if (!v->drop_fk)
            cr_table_foreign_key(p, fk_user, CR_COLS(user_id), (const char *[]){"ag_users.id"},
                                 "CASCADE", NULL);
        if (v->add_fk)
            cr_table_foreign_key(p, fk_editor, CR_COLS(editor_id),
                                 (const char *[]){"ag_users.id"}, "SET NULL", NULL);
        cr_table_index(p, ix_user, false, CR_COLS(user_id));
        cr_table_index(p, ix_editor, false, CR_COLS(editor_id));
        if (v->add_unique)
            cr_table_unique(p, uq_title, CR_COLS(title));
    }
    if (v->add_table) {
        cr_table *t = cr_table_new(md, "ag_tags");
        col(t, (cr_column_def){.name = "id", .type = CR_SQL_INTEGER, .primary_key = true});
        cr_column *label = col(t, (cr_column_def){
            .name = "label", .type = CR_SQL_STRING(40), .nullable = CR_NO,
            .unique = !v->tag_label_plain});
        cr_column *owner = col(t, (cr_column_def){.name = "owner_id", .type = CR_SQL_INTEGER});
        cr_table_foreign_key(t, "fk_ag_tags_owner", CR_COLS(owner),
                             (const char *[]){"ag_users.id"}, NULL, NULL);
        cr_table_index(t, "ix_ag_tags_label", false, CR_COLS(label));
        cr_table_index(t, "ix_ag_tags_owner", false, CR_COLS(owner));
    }
    /* Every type, to show none is reported changed by its reflection. */
    cr_table *ty = cr_table_new(md, "ag_types");
    col(ty, (cr_column_def){.name = "id", .type = CR_SQL_BIGINTEGER, .primary_key = true});
    col(ty, (cr_column_def){.name = "small", .type = CR_SQL_SMALLINTEGER});
    col(ty, (cr_column_def){.name = "real_", .type = CR_SQL_FLOAT});
    col(ty, (cr_column_def){.name = "dbl", .type = CR_SQL_DOUBLE});
    col(ty, (cr_column_def){.name = "day", .type = CR_SQL_DATE});
    col(ty, (cr_column_def){.name = "at", .type = CR_SQL_TIME});
    col(ty, (cr_column_def){.name = "stamp_tz", .type = CR_SQL_DATETIME_TZ});
    col(ty, (cr_column_def){.name = "bytes", .type = CR_SQL_LARGEBINARY});
    col(ty, (cr_column_def){.name = "doc", .type = CR_SQL_JSON});
    col(ty, (cr_column_def){.name = "uid", .type = CR_SQL_UUID});
    col(ty, (cr_column_def){.name = "flag", .type = CR_SQL_BOOLEAN, .server_default = "false"});
    col(ty, (cr_column_def){.name = "words", .type = CR_SQL_STRING(0)});
    col(ty, (cr_column_def){.name = "amount", .type = CR_SQL_NUMERIC(12, 4),
                            .nullable = CR_NO, .server_default = "0"});
    if (cr_metadata_error(md)) {
        print_error("schema: %s\n", cr_error_message(cr_metadata_error(md)));
        fail();
    }
    return md;
}

static void create_all(const variant *v)
{
    cr_metadata *md = schema(v);
    cr_error *err = NULL;
    ASSERT_OK(cr_metadata_create_all_engine(md, engine, false, &err), err);
    cr_metadata_free(md);
}

static cr_migrate_diff *compare(const variant *v)
{
    cr_metadata *md = schema(v);
    cr_migrate_diff *diff = NULL;
    cr_error *err = NULL;
    ASSERT_OK(cr_migrate_compare(engine, md, &diff, &err), err);
    cr_metadata_free(md);
    assert_non_null(diff);
    return diff;
}

/* The operations as text, for messages and for the round trip. */
static char *ops_text(const cr_migrate_op *ops, size_t n)
{
    char *text = NULL;
    cr_error *err = NULL;
    ASSERT_OK(cr_migrate_ops_text(ops, n, &text, &err), err);
    return text;
}

static void show(const cr_migrate_diff *d)
{
    char *up = ops_text(d->upgrade, d->nupgrade), *down = ops_text(d->downgrade, d->ndowngrade);
    print_error("upgrade:\n%sdowngrade:\n%s", up, down);
    for (size_t i = 0; i < d->nnotes; i++)
        print_error("note: %s\n", d->notes[i]);
    free(up);
    free(down);
}

static void no_differences(const cr_migrate_diff *d)
{
    if (d->nupgrade || d->ndowngrade || d->nnotes) {
        show(d);
        fail_msg("differences where there should be none");
    }
}

/* ---- (a) nothing right after create_all --------------------------------------------- */

static void test_no_differences_after_create_all(void **state)
{
    (void)state;
    create_all(&BASE);
    cr_migrate_diff *d = compare(&BASE);
    no_differences(d);
    cr_migrate_diff_free(d);
    /* The version table is no table of the program's. */
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "CREATE TABLE crucible_version (version_num VARCHAR(32) NOT NULL, "
               "progress VARCHAR(32))");
    cr_conn_commit(c);
    cr_conn_close(c);
    d = compare(&BASE);
    no_differences(d);
    cr_migrate_diff_free(d);
}

/* ---- (b) each kind of difference ------------------------------------------------------- */

/* The diff has exactly one upgrade operation, of kind on table, and one
 * downgrade operation of the inverse kind; returns the upgrade's. */
static const cr_migrate_op *one_op(const cr_migrate_diff *d, cr_migrate_op_kind kind,
                                   cr_migrate_op_kind inverse, const char *table)
{
    if (d->nupgrade != 1 || d->ndowngrade != 1 || d->upgrade[0].kind != kind ||
        d->downgrade[0].kind != inverse || strcmp(d->upgrade[0].table, table) != 0) {
        show(d);
        fail_msg("wanted one operation of kind %d on %s, undone by kind %d", (int)kind, table,
                 (int)inverse);
    }
    return &d->upgrade[0];
}

static bool has_note(const cr_migrate_diff *d, const char *text)
{
    for (size_t i = 0; i < d->nnotes; i++)
        if (strstr(d->notes[i], text))
            return true;
    return false;
}

#define DIFF_OF(...) (cr_migrate_diff_free(d), d = compare(&(variant){__VA_ARGS__}))

static void test_each_difference(void **state)
{
    (void)state;
    create_all(&BASE);
    cr_migrate_diff *d = NULL;
    const cr_migrate_op *op;

    DIFF_OF(.add_column = true);
    op = one_op(d, CR_MIGRATE_ADD_COLUMN, CR_MIGRATE_DROP_COLUMN, "ag_users");
    assert_string_equal(op->columns[0].name, "nickname");
    assert_int_equal(op->columns[0].type.kind, CR_SQLTYPE_STRING);
    assert_int_equal(op->columns[0].type.length, 30);
    assert_true(op->columns[0].nullable);
    assert_string_equal(d->downgrade[0].name, "nickname");

    DIFF_OF(.drop_column = true);
    op = one_op(d, CR_MIGRATE_DROP_COLUMN, CR_MIGRATE_ADD_COLUMN, "ag_users");
    assert_string_equal(op->name, "note");
    assert_string_equal(d->downgrade[0].columns[0].name, "note");
    assert_int_equal(d->downgrade[0].columns[0].type.kind, CR_SQLTYPE_TEXT);
    assert_int_equal(d->nnotes, 0);

    DIFF_OF(.type = true);
    op = one_op(d, CR_MIGRATE_ALTER_COLUMN, CR_MIGRATE_ALTER_COLUMN, "ag_users");
    assert_string_equal(op->name, "name");
    assert_non_null(op->new_type);
    assert_int_equal(op->new_type->length, 80);
    assert_int_equal(d->downgrade[0].new_type->length, 50);
    assert_int_equal(op->new_nullable.value, CR_AUTO.value);
    assert_false(op->set_default);

    DIFF_OF(.nullable = true);
    op = one_op(d, CR_MIGRATE_ALTER_COLUMN, CR_MIGRATE_ALTER_COLUMN, "ag_users");
    assert_string_equal(op->name, "email");
    assert_null(op->new_type);
    assert_int_equal(op->new_nullable.value, CR_NO.value);
    assert_int_equal(d->downgrade[0].new_nullable.value, CR_YES.value);

    DIFF_OF(.server_default = true);
    op = one_op(d, CR_MIGRATE_ALTER_COLUMN, CR_MIGRATE_ALTER_COLUMN, "ag_users");
    assert_string_equal(op->name, "score");
    assert_true(op->set_default);
    assert_string_equal(op->new_default, "5");
    assert_true(d->downgrade[0].set_default);
    assert_non_null(strstr(d->downgrade[0].new_default, "0"));

    DIFF_OF(.drop_default = true);
    op = one_op(d, CR_MIGRATE_ALTER_COLUMN, CR_MIGRATE_ALTER_COLUMN, "ag_users");
    assert_true(op->set_default);
    assert_null(op->new_default);

    DIFF_OF(.add_index = true);
    op = one_op(d, CR_MIGRATE_ADD_CONSTRAINT, CR_MIGRATE_DROP_CONSTRAINT, "ag_users");
    assert_int_equal(op->constraints[0].kind, CR_MIGRATE_INDEX);
    assert_string_equal(op->constraints[0].name, "ix_ag_users_score");
    assert_string_equal(op->constraints[0].columns[0], "score");

    DIFF_OF(.drop_index = true);
    op = one_op(d, CR_MIGRATE_DROP_CONSTRAINT, CR_MIGRATE_ADD_CONSTRAINT, "ag_users");
    assert_int_equal(op->constraints[0].kind, CR_MIGRATE_INDEX);
    assert_string_equal(op->constraints[0].name, "ix_ag_users_name");
    assert_string_equal(d->downgrade[0].constraints[0].columns[0], "name");

    DIFF_OF(.add_unique = true);
    op = one_op(d, CR_MIGRATE_ADD_CONSTRAINT, CR_MIGRATE_DROP_CONSTRAINT, "ag_posts");
    assert_int_equal(op->constraints[0].kind, CR_MIGRATE_UNIQUE);
    assert_string_equal(op->constraints[0].name, "uq_ag_posts_title");

    /* Unnamed in the metadata, it is added under a name of its own. */
    DIFF_OF(.motto_unique = true);
    op = one_op(d, CR_MIGRATE_ADD_CONSTRAINT, CR_MIGRATE_DROP_CONSTRAINT, "ag_users");
    assert_int_equal(op->constraints[0].kind, CR_MIGRATE_UNIQUE);
    assert_string_equal(op->constraints[0].name, "uq_ag_users_motto");
    assert_string_equal(op->constraints[0].columns[0], "motto");

    DIFF_OF(.drop_unique = true);
    op = one_op(d, CR_MIGRATE_DROP_CONSTRAINT, CR_MIGRATE_ADD_CONSTRAINT, "ag_users");
    assert_int_equal(op->constraints[0].kind, CR_MIGRATE_UNIQUE);
    assert_string_equal(op->constraints[0].name, "uq_ag_users_email");
    assert_string_equal(d->downgrade[0].constraints[0].columns[0], "email");

    DIFF_OF(.add_fk = true);
    op = one_op(d, CR_MIGRATE_ADD_CONSTRAINT, CR_MIGRATE_DROP_CONSTRAINT, "ag_posts");
    assert_int_equal(op->constraints[0].kind, CR_MIGRATE_FOREIGN_KEY);
    assert_string_equal(op->constraints[0].name, "fk_ag_posts_editor");
    assert_string_equal(op->constraints[0].referred_table, "ag_users");
    assert_string_equal(op->constraints[0].ondelete, "SET NULL");

    DIFF_OF(.drop_fk = true);
    op = one_op(d, CR_MIGRATE_DROP_CONSTRAINT, CR_MIGRATE_ADD_CONSTRAINT, "ag_posts");
    assert_int_equal(op->constraints[0].kind, CR_MIGRATE_FOREIGN_KEY);
    assert_string_equal(op->constraints[0].name, "fk_ag_posts_user");
    assert_string_equal(d->downgrade[0].constraints[0].referred_table, "ag_users");

    /* A new table: the table with its constraints, then its indexes; the
     * downgrade drops it. */
    DIFF_OF(.add_table = true);
    if (d->nupgrade != 3 || d->upgrade[0].kind != CR_MIGRATE_CREATE_TABLE ||
        d->upgrade[1].kind != CR_MIGRATE_ADD_CONSTRAINT ||
        d->upgrade[2].kind != CR_MIGRATE_ADD_CONSTRAINT || d->ndowngrade != 1 ||
        d->downgrade[0].kind != CR_MIGRATE_DROP_TABLE) {
        show(d);
        fail();
    }
    assert_string_equal(d->upgrade[0].table, "ag_tags");
    assert_int_equal(d->upgrade[0].ncolumns, 3);
    assert_true(d->upgrade[0].columns[0].primary_key);
    assert_int_equal(d->upgrade[0].nconstraints, 2);    /* the unique and the foreign key */

    /* A table dropped: the downgrade makes it again as reflected, indexes
     * and keys included. */
    DIFF_OF(.drop_table = true);
    if (d->nupgrade != 1 || d->upgrade[0].kind != CR_MIGRATE_DROP_TABLE ||
        d->ndowngrade != 3 || d->downgrade[0].kind != CR_MIGRATE_CREATE_TABLE) {
        show(d);
        fail();
    }
    assert_string_equal(d->downgrade[0].table, "ag_posts");
    assert_int_equal(d->downgrade[0].ncolumns, 5);
    assert_int_equal(d->downgrade[0].nconstraints, 1);
    assert_int_equal(d->downgrade[0].constraints[0].kind, CR_MIGRATE_FOREIGN_KEY);
    assert_true(has_note(d, "table ag_posts: the downgrade makes it again as the Inspector "
                            "reflects it"));

    /* Renames are not guessed, but said. */
    DIFF_OF(.rename_column = true);
    assert_int_equal(d->nupgrade, 2);
    assert_true(has_note(d, "ag_users: column(s) note dropped and remark added"));
    DIFF_OF(.rename_table = true);
    assert_true(has_note(d, "table(s) ag_posts dropped and ag_articles added"));
    cr_migrate_diff_free(d);
}

/* A unique constraint the database named itself is dropped by that name;
 * SQLite keeps no name for it, so the comparison says so rather than emit
 * an operation that cannot be written. */
static void test_unnamed_unique(void **state)
{
    (void)state;
    create_all(&(variant){.add_table = true});
    cr_migrate_diff *d = compare(&(variant){.add_table = true, .tag_label_plain = true});
    if (is_sqlite()) {
        if (d->nupgrade || !has_note(d, "table ag_tags: unique constraint (label) is not in "
                                        "the metadata, but the database gives it no name")) {
            show(d);
            fail();
        }
    } else {
        const cr_migrate_op *op = one_op(d, CR_MIGRATE_DROP_CONSTRAINT,
                                         CR_MIGRATE_ADD_CONSTRAINT, "ag_tags");
        assert_int_equal(op->constraints[0].kind, CR_MIGRATE_UNIQUE);
        assert_string_equal(op->constraints[0].name, is_pg() ? "ag_tags_label_key" : "label");
        /* Written, the downgrade recreates it under the database's name. */
        char *down = ops_text(d->downgrade, d->ndowngrade);
        assert_string_equal(down, is_pg() ? "create_unique ag_tags_label_key on ag_tags (label)\n"
                                          : "create_unique label on ag_tags (label)\n");
        free(down);
    }
    cr_migrate_diff_free(d);
    /* The metadata as it was created: nothing. */
    d = compare(&(variant){.add_table = true});
    no_differences(d);
    cr_migrate_diff_free(d);
}

/* Everything at once, and the text round trip: the operations written as
 * a revision read back as the same operations. */
static const variant ALL = {
    .add_table = true, .rename_table = true, .add_column = true, .rename_column = true,
    .type = true, .nullable = true, .server_default = true, .add_index = true,
    .drop_index = true, .drop_unique = true, .add_fk = true,
};

static size_t count_kind(const cr_migrate_op *ops, size_t n, cr_migrate_op_kind kind)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ops[i].kind == kind;
    return k;
}

static void test_all_together_and_text(void **state)
{
    (void)state;
    create_all(&BASE);
    cr_migrate_diff *d = compare(&ALL);
    /* Tables ag_tags and ag_articles created (each with indexes), ag_posts
     * dropped; ag_users: nickname and remark added, note dropped, name,
     * email and score altered, two indexes and a unique. add_fk's foreign
     * key belongs to ag_articles, new. */
    size_t n = d->nupgrade;
    if (count_kind(d->upgrade, n, CR_MIGRATE_CREATE_TABLE) != 2 ||
        count_kind(d->upgrade, n, CR_MIGRATE_DROP_TABLE) != 1 ||
        count_kind(d->upgrade, n, CR_MIGRATE_ADD_COLUMN) != 2 ||
        count_kind(d->upgrade, n, CR_MIGRATE_DROP_COLUMN) != 1 ||
        count_kind(d->upgrade, n, CR_MIGRATE_ALTER_COLUMN) != 3 ||
        count_kind(d->upgrade, n, CR_MIGRATE_DROP_CONSTRAINT) != 2 ||
        count_kind(d->upgrade, n, CR_MIGRATE_ADD_CONSTRAINT) != 5 || d->nnotes != 3) {
        show(d);
        fail();
    }
    /* The text parses back into operations that give the same text. */
    char *up = ops_text(d->upgrade, d->nupgrade), *down = ops_text(d->downgrade, d->ndowngrade);
    size_t len = strlen(up) + strlen(down) + 200;
    char *file = malloc(len);
    assert_non_null(file);
    snprintf(file, len, "-- revision: r1\n-- upgrade\n%s-- downgrade\n%s", up, down);
    cr_migrate_script *s = cr_migrate_script_new();
    ASSERT_OK(cr_migrate_script_add(s, "r1.rev", file), cr_migrate_script_error(s));
    ASSERT_OK(cr_migrate_script_resolve(s), cr_migrate_script_error(s));
    const cr_revision *r = cr_migrate_revision(s, "r1");
    assert_non_null(r);
    assert_int_equal(r->nupgrade, d->nupgrade);
    assert_int_equal(r->ndowngrade, d->ndowngrade);
    char *up2 = ops_text(r->upgrade, r->nupgrade), *down2 = ops_text(r->downgrade, r->ndowngrade);
    assert_string_equal(up, up2);
    assert_string_equal(down, down2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r->upgrade[i].kind, d->upgrade[i].kind);
        assert_string_equal(r->upgrade[i].table, d->upgrade[i].table);
    }
    free(up);
    free(down);
    free(up2);
    free(down2);
    free(file);
    cr_migrate_script_free(s);
    cr_migrate_diff_free(d);
}

/* ---- (c) generate, upgrade, compare again, downgrade -------------------------------- */

static void snapshot(text *t)
{
    snapshot_of(engine, "ag_", t, false, true);
}

static char out[1 << 15];
static size_t nout;

static void collect(void *userdata, const char *line)
{
    (void)userdata;
    int n = snprintf(out + nout, sizeof out - nout, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof out - nout)
        nout += (size_t)n;
}

/* cr_migrate_command with up to four arguments; out holds what it said. */
static cr_status command(const char *dir, const cr_metadata *md, cr_error **err,
                         const char *const *argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    nout = 0;
    out[0] = '\0';
    return cr_migrate_command(engine, dir, md, argc, argv, collect, NULL, err);
}
#define COMMAND(dir, md, err, ...) command(dir, md, err, (const char *const[]){__VA_ARGS__, NULL})

/* The path the last revision command reported: its last line. */
static const char *written_path(void)
{
    static char path[512];
    assert_true(nout > 0 && out[nout - 1] == '\n');
    size_t start = nout - 1;
    while (start > 0 && out[start - 1] != '\n')
        start--;
    size_t n = nout - 1 - start;
    assert_true(n < sizeof path);
    memcpy(path, out + start, n);
    path[n] = '\0';
    assert_non_null(strstr(path, ".rev"));
    return path;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 15];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static text before, after;

static void test_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/crucible-agrev-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cr_error *err = NULL;
    /* The first revision makes the base schema from nothing. */
    cr_metadata *base = schema(&BASE);
    ASSERT_OK(COMMAND(dir, base, &err, "revision", "--autogenerate", "-m", "base schema"), err);
    /* It says what it found, as Alembic's "Detected" lines. */
    if (!strstr(out, "detected: create_table ag_users (\n") ||
        !strstr(out, "detected: create_index ix_ag_users_name on ag_users (name)\n"))
        fail_msg("the command said:\n%s", out);
    const char *first = read_file(written_path());
    assert_non_null(strstr(first, "-- parent: base"));
    assert_non_null(strstr(first, "create_table ag_users"));
    ASSERT_OK(COMMAND(dir, base, &err, "upgrade"), err);
    cr_migrate_diff *d = compare(&BASE);
    no_differences(d);
    cr_migrate_diff_free(d);
    ASSERT_OK(COMMAND(dir, base, &err, "current"), err);
    char first_id[64];
    size_t idlen = strcspn(out, "\n");
    assert_true(idlen > 0 && idlen < sizeof first_id);
    memcpy(first_id, out, idlen);
    first_id[idlen] = '\0';
    snapshot(&before);

    /* The second has every kind of difference; upgraded, nothing is left. */
    cr_metadata *all = schema(&ALL);
    char *path = NULL;
    ASSERT_OK(cr_migrate_autogenerate(engine, dir, all, "everything changes", &path, &err), err);
    const char *second = read_file(path);
    if (!strstr(second, "# NOTE: table(s) ag_posts dropped and ag_") ||
        !strstr(second, "rename_table OLD to NEW") ||
        !strstr(second, "alter_column ag_users email not null"))
        fail_msg("the revision:\n%s", second);
    free(path);
    ASSERT_OK(COMMAND(dir, all, &err, "upgrade"), err);
    d = compare(&ALL);
    no_differences(d);
    cr_migrate_diff_free(d);
    /* Nothing to add: the revision says so. */
    ASSERT_OK(COMMAND(dir, all, &err, "revision", "-m", "nothing", "--autogenerate"), err);
    assert_non_null(strstr(read_file(written_path()), "# no differences found"));
    unlink(written_path());

    /* Downgraded, the schema is what it was, as the Inspector sees it. */
    ASSERT_OK(COMMAND(dir, all, &err, "downgrade", first_id), err);
    snapshot(&after);
    same_text(&before, &after, "the schema after downgrading to the first revision");
    d = compare(&BASE);
    no_differences(d);
    cr_migrate_diff_free(d);
    ASSERT_OK(COMMAND(dir, all, &err, "downgrade", "base"), err);
    snapshot(&after);
    assert_string_equal(after.buf, "");
    cr_metadata_free(base);
    cr_metadata_free(all);
    harness_remove_dir(dir);
}

/* ---- (d) bad input ------------------------------------------------------------------------ */


static void test_bad_input(void **state)
{
    (void)state;
    char dir[] = "/tmp/crucible-agrev-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cr_metadata *md = schema(&BASE);
    cr_migrate_diff *d = (cr_migrate_diff *)1;
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "metadata is NULL", cr_migrate_compare(engine, NULL, &d, &err_));
    assert_null(d);
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "engine is NULL", cr_migrate_compare(NULL, md, &d, &err_));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "needs the program's metadata",
          command(dir, NULL, &err_, (const char *const[]){"revision", "x", "--autogenerate",
                                                          NULL}));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "merge takes no --autogenerate",
          command(dir, md, &err_, (const char *const[]){"merge", "x", "--autogenerate", NULL}));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "-m needs a message",
          command(dir, md, &err_, (const char *const[]){"revision", "--autogenerate", "-m",
                                                        NULL}));
    /* A metadata that failed to build is refused, not compared. */
    cr_metadata *broken = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(broken, "ag_broken");
    col(t, (cr_column_def){.name = "id", .type = CR_SQL_INTEGER});
    assert_null(cr_table_add_column(t, &(cr_column_def){.name = "id", .type = CR_SQL_TEXT}));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "the metadata has an error", cr_migrate_compare(engine, broken, &d,
                                                                           &err_));
    cr_metadata_free(broken);

    /* A database that cannot be reached. */
    const char *url = is_sqlite() ? "sqlite:////nonexistent-dir/db.sqlite"
                    : is_pg()     ? "postgresql://nobody:x@127.0.0.1:1/nothing"
                                  : "mysql://nobody:x@127.0.0.1:1/nothing";
    cr_error *err = NULL;
    cr_engine *bad = cr_create_engine(url, NULL, &err);
    assert_non_null(bad);
    MIGRATE_FAILS(CR_ERR_OPERATIONAL, "", cr_migrate_compare(bad, md, &d, &err_));
    assert_null(d);
    MIGRATE_FAILS(CR_ERR_OPERATIONAL, "", cr_migrate_autogenerate(bad, dir, md, "x", NULL, &err_));
    cr_engine_free(bad);

    /* A database behind its history, and a history with two heads. */
    char path[256];
    snprintf(path, sizeof path, "%s/a.rev", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("-- revision: a\n-- upgrade\n-- downgrade\n", f);
    fclose(f);
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "the database is not up to date (at base, the head is a)",
          cr_migrate_autogenerate(engine, dir, md, "x", NULL, &err_));
    snprintf(path, sizeof path, "%s/b.rev", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("-- revision: b\n-- upgrade\n-- downgrade\n", f);
    fclose(f);
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "the history has 2 heads",
          cr_migrate_autogenerate(engine, dir, md, "x", NULL, &err_));
    MIGRATE_FAILS(CR_ERR_INVALID_REQUEST, "the history has 2 heads",
          command(dir, md, &err_, (const char *const[]){"revision", "-m", "x",
                                                        "--autogenerate", NULL}));
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "message is NULL",
          cr_migrate_autogenerate(engine, dir, md, NULL, NULL, &err_));
    char *text = (char *)1;
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "operations array is NULL", cr_migrate_ops_text(NULL, 1, &text,
                                                                          &err_));
    assert_null(text);
    /* What the syntax cannot say is refused, naming the column. */
    cr_migrate_column ec = {.name = "mood", .type = CR_SQL_ENUM("mood", NULL), .nullable = true};
    cr_migrate_op op = {.kind = CR_MIGRATE_ADD_COLUMN, .table = "ag_users", .columns = &ec,
                        .ncolumns = 1};
    MIGRATE_FAILS(CR_ERR_NOT_SUPPORTED, "column ag_users.mood", cr_migrate_ops_text(&op, 1, &text,
                                                                           &err_));
    cr_migrate_diff_free(NULL);
    cr_metadata_free(md);
    harness_remove_dir(dir);
}

/* ---- (e) the include filter ------------------------------------------------------------- */

/* What the include callback was asked, and what it leaves out: "kind
 * table.name" entries (name "-" for NULL). */
typedef struct asked {
    char what[128];
    char columns[128];              /* "a,b" */
    bool in_database, in_metadata;
} asked;

typedef struct filter {
    const char *const *exclude;     /* NULL-terminated "kind table.name"       */
    const char *exclude_prefix;     /* tables whose names start so             */
    asked seen[256];
    size_t nseen;
} filter;

static const char *const kind_word[] = {
    [CR_MIGRATE_OBJECT_TABLE] = "table", [CR_MIGRATE_OBJECT_COLUMN] = "column",
    [CR_MIGRATE_OBJECT_INDEX] = "index", [CR_MIGRATE_OBJECT_UNIQUE] = "unique",
    [CR_MIGRATE_OBJECT_FOREIGN_KEY] = "foreign_key",
};

static bool include_object(void *ctx, const cr_migrate_object *o)
{
    filter *f = ctx;
    assert_non_null(o->table);
    assert_true(o->in_database || o->in_metadata);
    char what[128];
    if (o->kind == CR_MIGRATE_OBJECT_TABLE) {
        assert_null(o->name);
        snprintf(what, sizeof what, "table %s", o->table);
    } else {
        snprintf(what, sizeof what, "%s %s.%s", kind_word[o->kind], o->table,
                 o->name ? o->name : "-");
    }
    /* An index's and a constraint's columns come with it; a column has none. */
    if (o->kind == CR_MIGRATE_OBJECT_TABLE || o->kind == CR_MIGRATE_OBJECT_COLUMN)
        assert_int_equal(o->ncolumns, 0);
    else
        assert_true(o->ncolumns > 0 && o->columns[0] != NULL);
    if (f->nseen < sizeof f->seen / sizeof f->seen[0]) {
        asked *a = &f->seen[f->nseen++];
        snprintf(a->what, sizeof a->what, "%s", what);
        size_t k = 0;
        a->columns[0] = '\0';
        for (size_t i = 0; i < o->ncolumns && k < sizeof a->columns; i++)
            k += (size_t)snprintf(a->columns + k, sizeof a->columns - k, "%s%s", i ? "," : "",
                                  o->columns[i]);
        a->in_database = o->in_database;
        a->in_metadata = o->in_metadata;
    }
    if (f->exclude_prefix && strncmp(o->table, f->exclude_prefix, strlen(f->exclude_prefix)) == 0)
        return false;
    for (size_t i = 0; f->exclude && f->exclude[i]; i++)
        if (strcmp(f->exclude[i], what) == 0)
            return false;
    return true;
}

/* How many times the callback was asked about what; *db and *md are the
 * flags of the last time. */
static size_t times_asked(const filter *f, const char *what, bool *db, bool *md)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nseen; i++)
        if (strcmp(f->seen[i].what, what) == 0) {
            n++;
            if (db)
                *db = f->seen[i].in_database;
            if (md)
                *md = f->seen[i].in_metadata;
        }
    return n;
}

/* The columns the callback was given with what, "" when never asked. */
static const char *columns_asked(const filter *f, const char *what)
{
    for (size_t i = 0; i < f->nseen; i++)
        if (strcmp(f->seen[i].what, what) == 0)
            return f->seen[i].columns;
    return "";
}

/* Asked exactly once about what, with these flags. */
static void asked_once(const filter *f, const char *what, bool db, bool md)
{
    bool in_db = false, in_md = false;
    size_t n = times_asked(f, what, &in_db, &in_md);
    if (n != 1 || in_db != db || in_md != md) {
        for (size_t i = 0; i < f->nseen; i++)
            print_error("asked: %s (database %d, metadata %d)\n", f->seen[i].what,
                        f->seen[i].in_database, f->seen[i].in_metadata);
        fail_msg("wanted '%s' asked once with database %d, metadata %d; asked %zu times "
                 "(last: %d, %d)", what, db, md, n, in_db, in_md);
    }
}

static cr_migrate_diff *compare_opts(const variant *v, const cr_migrate_compare_options *opts)
{
    cr_metadata *md = schema(v);
    cr_migrate_diff *diff = NULL;
    cr_error *err = NULL;
    ASSERT_OK(cr_migrate_compare_opts(engine, md, opts, &diff, &err), err);
    cr_metadata_free(md);
    assert_non_null(diff);
    return diff;
}

/* Another program's table, with an index, in the same database. */
static void foreign_table(void)
{
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "CREATE TABLE other_app_log (id INTEGER PRIMARY KEY, msg VARCHAR(50))");
    exec_ok(c, "CREATE INDEX ix_other_app_log_msg ON other_app_log (msg)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
}

/* The diff drops other_app_log and nothing else; its downgrade makes it
 * again, with its index or without. */
static void drops_foreign_table(const cr_migrate_diff *d, bool with_index)
{
    char *down = ops_text(d->downgrade, d->ndowngrade);
    bool index = strstr(down, "create_index ix_other_app_log_msg on other_app_log (msg)\n");
    if (d->nupgrade != 1 || d->upgrade[0].kind != CR_MIGRATE_DROP_TABLE ||
        strcmp(d->upgrade[0].table, "other_app_log") != 0 ||
        !strstr(down, "create_table other_app_log (") || index != with_index ||
        d->ndowngrade != (with_index ? 2u : 1u)) {
        show(d);
        fail_msg("wanted drop_table other_app_log, undone %s its index",
                 with_index ? "with" : "without");
    }
    free(down);
}

/* A foreign table in the database: dropped by a plain comparison, left
 * alone when the filter (or metadata_tables_only) leaves it out; a table of
 * the metadata left out is not created; NULL options are no options. */
static void test_filter_tables(void **state)
{
    (void)state;
    create_all(&BASE);
    foreign_table();
    /* Without a filter: the foreign table would be dropped. */
    cr_migrate_diff *d = compare(&BASE);
    drops_foreign_table(d, true);
    char *plain_up = ops_text(d->upgrade, d->nupgrade);
    cr_migrate_diff_free(d);
    /* NULL options: the same comparison. */
    d = compare_opts(&BASE, NULL);
    char *null_up = ops_text(d->upgrade, d->nupgrade);
    assert_string_equal(null_up, plain_up);
    free(null_up);
    free(plain_up);
    cr_migrate_diff_free(d);
    /* Options that leave nothing out: also the same. */
    filter all = {.exclude = NULL};
    d = compare_opts(&BASE, &(cr_migrate_compare_options){.include = include_object,
                                                           .ctx = &all});
    drops_foreign_table(d, true);
    cr_migrate_diff_free(d);

    /* metadata_tables_only: nothing to do, and the callback is not asked
     * about the table it leaves out. */
    filter f = {.exclude = NULL};
    d = compare_opts(&BASE, &(cr_migrate_compare_options){
                                .metadata_tables_only = true, .include = include_object,
                                .ctx = &f});
    no_differences(d);
    cr_migrate_diff_free(d);
    assert_int_equal(times_asked(&f, "table other_app_log", NULL, NULL), 0);
    assert_int_equal(times_asked(&f, "index other_app_log.ix_other_app_log_msg", NULL, NULL), 0);
    asked_once(&f, "table ag_users", true, true);

    /* The callback leaving out the foreign tables: nothing to do. */
    filter g = {.exclude_prefix = "other_"};
    d = compare_opts(&BASE, &(cr_migrate_compare_options){.include = include_object,
                                                           .ctx = &g});
    no_differences(d);
    cr_migrate_diff_free(d);
    asked_once(&g, "table other_app_log", true, false);
    asked_once(&g, "table ag_posts", true, true);
    /* A table left out is not read: nothing of it is asked about. */
    assert_int_equal(times_asked(&g, "column other_app_log.msg", NULL, NULL), 0);
    /* Tables in both: their columns, indexes and constraints asked once each. */
    asked_once(&g, "column ag_users.email", true, true);
    asked_once(&g, "index ag_users.ix_ag_users_name", true, true);
    asked_once(&g, "unique ag_users.uq_ag_users_email", true, true);
    asked_once(&g, "foreign_key ag_posts.fk_ag_posts_user", true, true);
    /* The version table and SQLite's own are never offered. */
    for (size_t i = 0; i < g.nseen; i++)
        assert_null(strstr(g.seen[i].what, "sqlite_"));

    /* The table dropped, but one of its indexes left out: the downgrade
     * makes the table again without it. */
    filter h = {.exclude = (const char *const[]){"index other_app_log.ix_other_app_log_msg",
                                                 NULL}};
    d = compare_opts(&BASE, &(cr_migrate_compare_options){.include = include_object,
                                                           .ctx = &h});
    drops_foreign_table(d, false);
    asked_once(&h, "index other_app_log.ix_other_app_log_msg", true, false);
    /* Its columns go with it, unasked. */
    assert_int_equal(times_asked(&h, "column other_app_log.msg", NULL, NULL), 0);
    cr_migrate_diff_free(d);

    /* A new table of the metadata: created, unless left out. */
    filter k = {.exclude = (const char *const[]){"table ag_tags", NULL}};
    d = compare_opts(&(variant){.add_table = true}, &(cr_migrate_compare_options){
                                .metadata_tables_only = true, .include = include_object,
                                .ctx = &k});
    no_differences(d);
    cr_migrate_diff_free(d);
    asked_once(&k, "table ag_tags", false, true);
    filter m = {.exclude = (const char *const[]){"index ag_tags.ix_ag_tags_owner", NULL}};
    d = compare_opts(&(variant){.add_table = true}, &(cr_migrate_compare_options){
                                .metadata_tables_only = true, .include = include_object,
                                .ctx = &m});
    /* create_table and one of its two indexes; the drop_table undoes both. */
    char *up = ops_text(d->upgrade, d->nupgrade);
    if (d->nupgrade != 2 || d->upgrade[0].kind != CR_MIGRATE_CREATE_TABLE ||
        !strstr(up, "create_index ix_ag_tags_label on ag_tags (label)\n") ||
        strstr(up, "ix_ag_tags_owner") || d->ndowngrade != 1) {
        show(d);
        fail();
    }
    free(up);
    asked_once(&m, "index ag_tags.ix_ag_tags_owner", false, true);
    asked_once(&m, "index ag_tags.ix_ag_tags_label", false, true);
    cr_migrate_diff_free(d);
    assert_true(harness_has_table(engine, "other_app_log"));
}

/* Columns, indexes, unique constraints and foreign keys left out are not
 * compared, on either side. */
static void test_filter_objects(void **state)
{
    (void)state;
    create_all(&BASE);
    /* Made by hand in the database: a column and its index. */
    cr_conn *c = connect_ok(engine);
    exec_ok(c, "ALTER TABLE ag_users ADD COLUMN legacy INTEGER");
    exec_ok(c, "CREATE INDEX ix_ag_users_legacy ON ag_users (legacy)");
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    cr_migrate_diff *d = compare(&BASE);
    if (d->nupgrade != 2 || count_kind(d->upgrade, 2, CR_MIGRATE_DROP_COLUMN) != 1 ||
        count_kind(d->upgrade, 2, CR_MIGRATE_DROP_CONSTRAINT) != 1) {
        show(d);
        fail_msg("wanted drop_index ix_ag_users_legacy and drop_column legacy");
    }
    cr_migrate_diff_free(d);
    filter f = {.exclude = (const char *const[]){"column ag_users.legacy",
                                                 "index ag_users.ix_ag_users_legacy", NULL}};
    cr_migrate_compare_options o = {.include = include_object, .ctx = &f};
    d = compare_opts(&BASE, &o);
    no_differences(d);
    cr_migrate_diff_free(d);
    asked_once(&f, "column ag_users.legacy", true, false);
    asked_once(&f, "index ag_users.ix_ag_users_legacy", true, false);

    /* The metadata's side: a type change and a new index, each left out. */
    const variant v = {.type = true, .add_index = true, .drop_fk = true};
    d = compare_opts(&v, &o);
    if (d->nupgrade != 3) {     /* alter_column name, create_index, drop_foreign_key */
        show(d);
        fail_msg("wanted three operations");
    }
    cr_migrate_diff_free(d);
    filter g = {.exclude = (const char *const[]){
                    "column ag_users.legacy", "index ag_users.ix_ag_users_legacy",
                    "column ag_users.name", "index ag_users.ix_ag_users_score",
                    "foreign_key ag_posts.fk_ag_posts_user", NULL}};
    o.ctx = &g;
    d = compare_opts(&v, &o);
    no_differences(d);
    cr_migrate_diff_free(d);
    asked_once(&g, "column ag_users.name", true, true);
    asked_once(&g, "index ag_users.ix_ag_users_score", false, true);
    asked_once(&g, "foreign_key ag_posts.fk_ag_posts_user", true, false);
    assert_string_equal(columns_asked(&g, "foreign_key ag_posts.fk_ag_posts_user"), "user_id");
    assert_string_equal(columns_asked(&g, "index ag_users.ix_ag_users_score"), "score");
    assert_string_equal(columns_asked(&g, "index ag_users.ix_ag_users_legacy"), "legacy");

    /* A unique constraint the metadata adds, left out (its name, the
     * metadata's, as the database has none yet). */
    filter h = {.exclude = (const char *const[]){
                    "column ag_users.legacy", "index ag_users.ix_ag_users_legacy",
                    "unique ag_posts.uq_ag_posts_title", NULL}};
    o.ctx = &h;
    d = compare_opts(&(variant){.add_unique = true}, &o);
    no_differences(d);
    cr_migrate_diff_free(d);
    asked_once(&h, "unique ag_posts.uq_ag_posts_title", false, true);
    assert_string_equal(columns_asked(&h, "unique ag_posts.uq_ag_posts_title"), "title");

    /* A table in both left out whole: none of its differences, and nothing
     * of it asked about. */
    filter k = {.exclude = (const char *const[]){"table ag_users", NULL}};
    o.ctx = &k;
    d = compare_opts(&(variant){.type = true, .drop_column = true}, &o);
    no_differences(d);
    cr_migrate_diff_free(d);
    asked_once(&k, "table ag_users", true, true);
    for (size_t i = 0; i < k.nseen; i++)
        assert_null(strstr(k.seen[i].what, "ag_users."));
}

/* revision --autogenerate --metadata-tables-only and
 * cr_migrate_autogenerate_opts: the foreign table survives the program's
 * migrations, up and down. */
static void test_filter_revisions(void **state)
{
    (void)state;
    foreign_table();
    char dir[] = "/tmp/crucible-agrev-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cr_error *err = NULL;
    cr_metadata *base = schema(&BASE);
    ASSERT_OK(COMMAND(dir, base, &err, "revision", "--autogenerate", "--metadata-tables-only",
                      "-m", "base schema"), err);
    if (!strstr(out, "detected: create_table ag_users (\n") || strstr(out, "other_app_log"))
        fail_msg("the command said:\n%s", out);
    assert_null(strstr(read_file(written_path()), "other_app_log"));
    ASSERT_OK(COMMAND(dir, base, &err, "upgrade"), err);
    assert_true(harness_has_table(engine, "other_app_log"));

    /* The next, through the call with a filter of the program's own. */
    cr_metadata *more = schema(&(variant){.add_column = true});
    filter f = {.exclude_prefix = "other_"};
    char *path = NULL;
    ASSERT_OK(cr_migrate_autogenerate_opts(engine, dir, more, "nickname",
                                           &(cr_migrate_compare_options){
                                               .include = include_object, .ctx = &f},
                                           &path, &err), err);
    const char *text = read_file(path);
    if (!strstr(text, "add_column ag_users nickname varchar(30)") || strstr(text, "other_app"))
        fail_msg("the revision:\n%s", text);
    free(path);
    asked_once(&f, "table other_app_log", true, false);
    assert_int_equal(times_asked(&f, "table crucible_version", NULL, NULL), 0);
    ASSERT_OK(COMMAND(dir, more, &err, "upgrade"), err);
    cr_migrate_diff *d = compare_opts(&(variant){.add_column = true},
                                      &(cr_migrate_compare_options){.metadata_tables_only = true});
    no_differences(d);
    cr_migrate_diff_free(d);
    ASSERT_OK(COMMAND(dir, more, &err, "downgrade", "base"), err);
    assert_true(harness_has_table(engine, "other_app_log"));
    assert_false(harness_has_table(engine, "ag_users"));

    /* The flag belongs to revision --autogenerate only. */
    MIGRATE_FAILS(CR_ERR_ARGUMENT, "--metadata-tables-only goes with revision --autogenerate",
                  command(dir, base, &err_, (const char *const[]){"revision", "x",
                                                                  "--metadata-tables-only",
                                                                  NULL}));
    cr_metadata_free(base);
    cr_metadata_free(more);
    harness_remove_dir(dir);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_differences_after_create_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_difference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unnamed_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_together_and_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_revisions, setup, teardown),
    };
    int failed = HARNESS_RUN("autogenerate", NULL, tests, group_teardown);
    harness_cleanup();
    return failed ? 1 : 0;
}
