/* test_ddl.c — the schema layer without a server: MetaData rules, and the exact
 * CREATE TABLE text each dialect gets, compared with what SQLAlchemy 2.0 emits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"
#include "schema/ddl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dialects[] = {"sqlite", "postgresql", "mysql"};

/* The CREATE TABLE of t for dialect must be want. */
static void assert_ddl(cr_table *t, const char *dialect, const char *want)
{
    char *got = cr_table_create_sql(t, dialect);
    if (!got) {
        print_error("%s: %s\n", dialect, cr_error_message(cr_metadata_error(cr_table_metadata(t))));
        fail();
    }
    if (strcmp(got, want) != 0) {
        print_error("%s DDL:\n--- got ---\n%s\n--- want ---\n%s\n", dialect, got, want);
        free(got);
        fail();
    }
    free(got);
}

static void assert_no_error(const cr_metadata *md)
{
    const cr_error *e = cr_metadata_error(md);
    if (e) {
        print_error("metadata error: %s\n", cr_error_message(e));
        fail();
    }
}

static void assert_error(const cr_metadata *md, cr_status cls, const char *part)
{
    const cr_error *e = cr_metadata_error(md);
    assert_non_null(e);
    assert_int_equal(cr_error_class(e), cls);
    if (part && !strstr(cr_error_message(e), part)) {
        print_error("message \"%s\" does not mention \"%s\"\n", cr_error_message(e), part);
        fail();
    }
}

/* ---- every type, per dialect ---------------------------------------------- */

static const char *const moods[] = {"happy", "sad", NULL};

/* Declared through cr_table_define, as CR_DECLARE_TABLE expands. */
static const cr_column_def things_defs[] = {
    {.name = "id", .type = CR_SQL_INTEGER, .primary_key = true},
    {.name = "small", .type = CR_SQL_SMALLINTEGER},
    {.name = "big", .type = CR_SQL_BIGINTEGER},
    {.name = "name", .type = CR_SQL_STRING(50), .nullable = CR_NO},
    {.name = "note", .type = CR_SQL_STRING(0)},
    {.name = "body", .type = CR_SQL_TEXT},
    {.name = "flag", .type = CR_SQL_BOOLEAN},
    {.name = "ratio", .type = CR_SQL_FLOAT},
    {.name = "precise", .type = CR_SQL_DOUBLE},
    {.name = "price", .type = CR_SQL_NUMERIC(10, 2)},
    {.name = "born", .type = CR_SQL_DATE},
    {.name = "alarm", .type = CR_SQL_TIME},
    {.name = "created", .type = CR_SQL_DATETIME},
    {.name = "stamped", .type = CR_SQL_DATETIME_TZ},
    {.name = "data", .type = CR_SQL_LARGEBINARY},
    {.name = "doc", .type = CR_SQL_JSON},
    {.name = "token", .type = CR_SQL_UUID},
    {.name = "mood", .type = CR_SQL_ENUM("mood", moods)},
};

typedef struct things_table {
    cr_table *table;
    struct { cr_column *id, *mood; } c;
} things_table;

static cr_status things_table_define(things_table *t, cr_metadata *md, const char *name)
{
    cr_column **handles[CR_ARRAY_LEN(things_defs)] = {&t->c.id};
    handles[CR_ARRAY_LEN(things_defs) - 1] = &t->c.mood;
    return cr_table_define(md, name, things_defs, CR_ARRAY_LEN(things_defs),
                           (cr_column **const *)handles, &t->table);
}

static void test_types(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    things_table things;
    assert_int_equal(things_table_define(&things, md, "things"), CR_OK);
    assert_no_error(md);
    assert_ddl(things.table, "sqlite",
               "CREATE TABLE things (\n"
               "\tid INTEGER NOT NULL, \n"
               "\tsmall SMALLINT, \n"
               "\tbig BIGINT, \n"
               "\tname VARCHAR(50) NOT NULL, \n"
               "\tnote VARCHAR, \n"
               "\tbody TEXT, \n"
               "\tflag BOOLEAN, \n"
               "\tratio FLOAT, \n"
               "\tprecise DOUBLE, \n"
               "\tprice NUMERIC(10, 2), \n"
               "\tborn DATE, \n"
               "\talarm TIME, \n"
               "\tcreated DATETIME, \n"
               "\tstamped DATETIME, \n"
               "\tdata BLOB, \n"
               "\tdoc JSON, \n"
               "\ttoken CHAR(32), \n"
               "\tmood VARCHAR(5), \n"
               "\tPRIMARY KEY (id)\n"
               ")");
    assert_ddl(things.table, "postgresql",
               "CREATE TABLE things (\n"
               "\tid SERIAL NOT NULL, \n"
               "\tsmall SMALLINT, \n"
               "\tbig BIGINT, \n"
               "\tname VARCHAR(50) NOT NULL, \n"
               "\tnote VARCHAR, \n"
               "\tbody TEXT, \n"
               "\tflag BOOLEAN, \n"
               "\tratio FLOAT, \n"
               "\tprecise DOUBLE PRECISION, \n"
               "\tprice NUMERIC(10, 2), \n"
               "\tborn DATE, \n"
               "\talarm TIME WITHOUT TIME ZONE, \n"
               "\tcreated TIMESTAMP WITHOUT TIME ZONE, \n"
               "\tstamped TIMESTAMP WITH TIME ZONE, \n"
               "\tdata BYTEA, \n"
               "\tdoc JSON, \n"
               "\ttoken UUID, \n"
               "\tmood mood, \n"
               "\tPRIMARY KEY (id)\n"
               ")");
    assert_ddl(things.table, "mysql",
               "CREATE TABLE things (\n"
               "\tid INTEGER NOT NULL AUTO_INCREMENT, \n"
               "\tsmall SMALLINT, \n"
               "\tbig BIGINT, \n"
               "\tname VARCHAR(50) NOT NULL, \n"
               "\tnote TEXT, \n"
               "\tbody TEXT, \n"
               "\tflag BOOL, \n"
               "\tratio FLOAT, \n"
               "\tprecise DOUBLE, \n"
               "\tprice NUMERIC(10, 2), \n"
               "\tborn DATE, \n"
               "\talarm TIME(6), \n"
               "\tcreated DATETIME(6), \n"
               "\tstamped DATETIME(6), \n"
               "\tdata BLOB, \n"
               "\tdoc JSON, \n"
               "\ttoken CHAR(32), \n"
               "\tmood ENUM('happy','sad'), \n"
               "\tPRIMARY KEY (id)\n"
               ")");
    /* The handles are the table's columns, in order. */
    assert_ptr_equal(things.c.id, cr_table_column_at(things.table, 0));
    assert_ptr_equal(things.c.mood, cr_table_column(things.table, "mood"));
    assert_null(cr_table_column(things.table, "nope"));
    assert_int_equal(cr_table_column_count(things.table), 18);
    assert_no_error(md);
    cr_metadata_free(md);
}

static void test_serial_kinds(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *big = cr_table_new(md, "big");
    cr_table_add_column(big, &(cr_column_def){.name = "id", .type = CR_SQL_BIGINTEGER,
                                              .primary_key = true});
    cr_table *small = cr_table_new(md, "small");
    cr_table_add_column(small, &(cr_column_def){.name = "id", .type = CR_SQL_SMALLINTEGER,
                                                .primary_key = true});
    assert_ddl(big, "postgresql", "CREATE TABLE big (\n\tid BIGSERIAL NOT NULL, \n\tPRIMARY KEY (id)\n)");
    assert_ddl(small, "postgresql",
               "CREATE TABLE small (\n\tid SMALLSERIAL NOT NULL, \n\tPRIMARY KEY (id)\n)");
    assert_ddl(big, "mysql",
               "CREATE TABLE big (\n\tid BIGINT NOT NULL AUTO_INCREMENT, \n\tPRIMARY KEY (id)\n)");
    assert_ddl(big, "sqlite", "CREATE TABLE big (\n\tid BIGINT NOT NULL, \n\tPRIMARY KEY (id)\n)");
    assert_no_error(md);
    cr_metadata_free(md);
}

/* ---- constraints ----------------------------------------------------------- */

static void define_blog(cr_metadata *md, cr_table **users, cr_table **posts)
{
    *users = cr_table_new(md, "users");
    cr_table_add_column(*users, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                 .primary_key = true});
    cr_table_add_column(*users, &(cr_column_def){.name = "email", .type = CR_SQL_STRING(100),
                                                 .nullable = CR_NO, .unique = true});
    cr_table_add_column(*users, &(cr_column_def){.name = "active", .type = CR_SQL_BOOLEAN,
                                                 .server_default = "1"});
    *posts = cr_table_new(md, "posts");
    cr_table_add_column(*posts, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                 .primary_key = true});
    cr_table_add_column(*posts, &(cr_column_def){.name = "user_id", .type = CR_SQL_INTEGER,
                                                 .nullable = CR_NO, .foreign_key = "users.id",
                                                 .fk_ondelete = "CASCADE"});
    cr_table_add_column(*posts, &(cr_column_def){.name = "title", .type = CR_SQL_STRING(200),
                                                 .index = true});
    cr_table_add_column(*posts, &(cr_column_def){.name = "score", .type = CR_SQL_INTEGER,
                                                 .comment = "it's 'scored'"});
    cr_table_check(*posts, NULL, "score >= 0");
}

static void test_constraints(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *users, *posts;
    define_blog(md, &users, &posts);
    assert_no_error(md);
    assert_ddl(users, "sqlite",
               "CREATE TABLE users (\n"
               "\tid INTEGER NOT NULL, \n"
               "\temail VARCHAR(100) NOT NULL, \n"
               "\tactive BOOLEAN DEFAULT 1, \n"
               "\tPRIMARY KEY (id), \n"
               "\tUNIQUE (email)\n"
               ")");
    assert_ddl(posts, "sqlite",
               "CREATE TABLE posts (\n"
               "\tid INTEGER NOT NULL, \n"
               "\tuser_id INTEGER NOT NULL, \n"
               "\ttitle VARCHAR(200), \n"
               "\tscore INTEGER, \n"
               "\tPRIMARY KEY (id), \n"
               "\tFOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, \n"
               "\tCHECK (score >= 0)\n"
               ")");
    /* PostgreSQL puts comments in COMMENT ON statements of their own. */
    assert_ddl(posts, "postgresql",
               "CREATE TABLE posts (\n"
               "\tid SERIAL NOT NULL, \n"
               "\tuser_id INTEGER NOT NULL, \n"
               "\ttitle VARCHAR(200), \n"
               "\tscore INTEGER, \n"
               "\tPRIMARY KEY (id), \n"
               "\tFOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, \n"
               "\tCHECK (score >= 0)\n"
               ")");
    assert_ddl(posts, "mysql",
               "CREATE TABLE posts (\n"
               "\tid INTEGER NOT NULL AUTO_INCREMENT, \n"
               "\tuser_id INTEGER NOT NULL, \n"
               "\ttitle VARCHAR(200), \n"
               "\tscore INTEGER COMMENT 'it''s ''scored''', \n"
               "\tPRIMARY KEY (id), \n"
               "\tFOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, \n"
               "\tCHECK (score >= 0)\n"
               ")");
    /* Column(index=True) is an index, named ix_<table>_<column>. */
    const cr_constraint *ix = NULL;
    for (size_t i = 0; i < posts->ncons; i++)
        if (posts->constraints[i]->kind == CR_CONSTRAINT_INDEX)
            ix = posts->constraints[i];
    assert_non_null(ix);
    assert_string_equal(ix->name, "ix_posts_title");
    assert_false(ix->unique);

    cr_table *sorted[4];
    assert_int_equal(cr_metadata_sorted_tables(md, sorted, 4), 2);
    assert_ptr_equal(sorted[0], users);
    assert_ptr_equal(sorted[1], posts);
    cr_metadata_free(md);
}

static void test_table_level_constraints(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(md, "memberships");
    cr_column *g = cr_table_add_column(t, &(cr_column_def){.name = "group_id",
                                                           .type = CR_SQL_INTEGER});
    cr_column *u = cr_table_add_column(t, &(cr_column_def){.name = "user_id",
                                                           .type = CR_SQL_INTEGER});
    cr_column *r = cr_table_add_column(t, &(cr_column_def){.name = "role", .type = CR_SQL_STRING(20),
                                                           .server_default = "'member'"});
    assert_int_equal(cr_table_primary_key(t, "pk_m", CR_COLS(g, u)), CR_OK);
    assert_int_equal(cr_table_unique(t, "uq_role", CR_COLS(u, r)), CR_OK);
    const char *refs[] = {"app.users.id"};
    assert_int_equal(cr_table_foreign_key(t, "fk_user", CR_COLS(u), refs, "SET NULL", "cascade"),
                     CR_OK);
    assert_int_equal(cr_table_index(t, NULL, true, CR_COLS(r, g)), CR_OK);
    assert_no_error(md);
    /* Key columns become NOT NULL; a composite key has no generated column. */
    assert_true(cr_column_primary_key(g));
    assert_false(cr_column_nullable(g));
    assert_null(cr_table_autoincrement(t));
    assert_ddl(t, "postgresql",
               "CREATE TABLE memberships (\n"
               "\tgroup_id INTEGER NOT NULL, \n"
               "\tuser_id INTEGER NOT NULL, \n"
               "\trole VARCHAR(20) DEFAULT 'member', \n"
               "\tCONSTRAINT pk_m PRIMARY KEY (group_id, user_id), \n"
               "\tCONSTRAINT uq_role UNIQUE (user_id, role), \n"
               "\tCONSTRAINT fk_user FOREIGN KEY(user_id) REFERENCES users (id) "
               "ON DELETE SET NULL ON UPDATE cascade\n"
               ")");
    assert_string_equal(t->constraints[t->ncons - 1]->name, "ix_memberships_role");
    cr_metadata_free(md);
}

static void test_naming_convention(void **state)
{
    (void)state;
    cr_naming_convention nc = {
        .ix = "ix_%(column_0_label)s",
        .uq = "uq_%(table_name)s_%(column_0_N_name)s",
        .ck = "ck_%(table_name)s_%(constraint_name)s",
        .fk = "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        .pk = "pk_%(table_name)s",
    };
    cr_metadata *md = cr_metadata_new(&nc);
    cr_table *t = cr_table_new(md, "orders");
    cr_column *id = cr_table_add_column(t, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                            .primary_key = true});
    cr_column *a = cr_table_add_column(t, &(cr_column_def){.name = "a", .type = CR_SQL_INTEGER,
                                                           .foreign_key = "customers.id"});
    cr_column *b = cr_table_add_column(t, &(cr_column_def){.name = "b", .type = CR_SQL_INTEGER});
    assert_int_equal(cr_table_unique(t, NULL, CR_COLS(a, b)), CR_OK);
    assert_int_equal(cr_table_check(t, "positive", "b > 0"), CR_OK);
    assert_int_equal(cr_table_index(t, "my_index", false, CR_COLS(b)), CR_OK);
    (void)id;
    assert_no_error(md);
    assert_ddl(t, "sqlite",
               "CREATE TABLE orders (\n"
               "\tid INTEGER NOT NULL, \n"
               "\ta INTEGER, \n"
               "\tb INTEGER, \n"
               "\tCONSTRAINT pk_orders PRIMARY KEY (id), \n"
               "\tCONSTRAINT fk_orders_a_customers FOREIGN KEY(a) REFERENCES customers (id), \n"
               "\tCONSTRAINT uq_orders_a_b UNIQUE (a, b), \n"
               "\tCONSTRAINT ck_orders_positive CHECK (b > 0)\n"
               ")");
    /* An index named by the program keeps its name. */
    assert_string_equal(t->constraints[t->ncons - 1]->name, "my_index");
    /* %(constraint_name)s needs a name. */
    assert_int_equal(cr_table_check(t, NULL, "a > 0"), CR_ERR_INVALID_REQUEST);
    assert_error(md, CR_ERR_INVALID_REQUEST, "constraint_name");
    cr_metadata_free(md);
}

/* ---- quoting and literals -------------------------------------------------- */

static void test_quoting(void **state)
{
    (void)state;
    static const char *const odd[] = {"it's", "back\\slash", "x", NULL};
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(md, "user");
    cr_table_add_column(t, &(cr_column_def){.name = "Order", .type = CR_SQL_INTEGER,
                                            .primary_key = true});
    cr_table_add_column(t, &(cr_column_def){.name = "first name", .type = CR_SQL_STRING(10)});
    cr_table_add_column(t, &(cr_column_def){.name = "we\"ird`", .type = CR_SQL_TEXT,
                                            .comment = "a\\b 'c'"});
    cr_table_add_column(t, &(cr_column_def){.name = "kind", .type = CR_SQL_ENUM("Kind Type", odd)});
    cr_table_add_column(t, &(cr_column_def){.name = "café", .type = CR_SQL_INTEGER});
    assert_no_error(md);
    assert_ddl(t, "sqlite",
               "CREATE TABLE \"user\" (\n"
               "\t\"Order\" INTEGER NOT NULL, \n"
               "\t\"first name\" VARCHAR(10), \n"
               "\t\"we\"\"ird`\" TEXT, \n"
               "\tkind VARCHAR(10), \n"
               "\t\"café\" INTEGER, \n"
               "\tPRIMARY KEY (\"Order\")\n"
               ")");
    assert_ddl(t, "postgresql",
               "CREATE TABLE \"user\" (\n"
               "\t\"Order\" SERIAL NOT NULL, \n"
               "\t\"first name\" VARCHAR(10), \n"
               "\t\"we\"\"ird`\" TEXT, \n"
               "\tkind \"Kind Type\", \n"
               "\t\"café\" INTEGER, \n"
               "\tPRIMARY KEY (\"Order\")\n"
               ")");
    assert_ddl(t, "mysql",
               "CREATE TABLE `user` (\n"
               "\t`Order` INTEGER NOT NULL AUTO_INCREMENT, \n"
               "\t`first name` VARCHAR(10), \n"
               "\t`we\"ird``` TEXT COMMENT 'a\\\\b ''c''', \n"
               "\tkind ENUM('it''s','back\\\\slash','x'), \n"
               "\t`café` INTEGER, \n"
               "\tPRIMARY KEY (`Order`)\n"
               ")");
    cr_metadata_free(md);
}

static void test_literal_helper(void **state)
{
    (void)state;
    cr_buf b;
    cr_buf_init(&b);
    cr_ddl_put_literal(&b, "a'b\\c", false);
    assert_string_equal(cr_buf_cstr(&b), "'a''b\\c'");
    cr_buf_clear(&b);
    cr_ddl_put_literal(&b, "a'b\\c", true);
    assert_string_equal(cr_buf_cstr(&b), "'a''b\\\\c'");
    cr_buf_free(&b);
}

static void test_server_defaults(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(md, "d");
    cr_table_add_column(t, &(cr_column_def){.name = "a", .type = CR_SQL_INTEGER,
                                            .server_default = "0"});
    cr_table_add_column(t, &(cr_column_def){.name = "b", .type = CR_SQL_DATETIME,
                                            .server_default = "CURRENT_TIMESTAMP"});
    cr_table_add_column(t, &(cr_column_def){.name = "c", .type = CR_SQL_STRING(8),
                                            .server_default = "'x y'", .nullable = CR_NO});
    cr_table_add_column(t, &(cr_column_def){.name = "e", .type = CR_SQL_DATETIME,
                                            .server_default = "now()"});
    assert_no_error(md);
    /* No primary key: no PRIMARY KEY line. */
    assert_ddl(t, "sqlite",
               "CREATE TABLE d (\n"
               "\ta INTEGER DEFAULT 0, \n"
               "\tb DATETIME DEFAULT CURRENT_TIMESTAMP, \n"
               "\tc VARCHAR(8) DEFAULT 'x y' NOT NULL, \n"
               "\te DATETIME DEFAULT (now())\n"
               ")");
    assert_ddl(t, "postgresql",
               "CREATE TABLE d (\n"
               "\ta INTEGER DEFAULT 0, \n"
               "\tb TIMESTAMP WITHOUT TIME ZONE DEFAULT CURRENT_TIMESTAMP, \n"
               "\tc VARCHAR(8) DEFAULT 'x y' NOT NULL, \n"
               "\te TIMESTAMP WITHOUT TIME ZONE DEFAULT now()\n"
               ")");
    assert_ddl(t, "mysql",
               "CREATE TABLE d (\n"
               "\ta INTEGER DEFAULT 0, \n"
               "\tb DATETIME(6) DEFAULT CURRENT_TIMESTAMP, \n"
               "\tc VARCHAR(8) NOT NULL DEFAULT 'x y', \n"
               "\te DATETIME(6) DEFAULT (now())\n"
               ")");
    cr_metadata_free(md);
}

/* ---- MetaData rules --------------------------------------------------------- */

static cr_value seven(void) { return cr_val_int(7); }

static void test_autoincrement_rules(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *a = cr_table_new(md, "a");
    cr_column *aid = cr_table_add_column(a, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                             .primary_key = true});
    assert_ptr_equal(cr_table_autoincrement(a), aid);

    cr_table *b = cr_table_new(md, "b");   /* a string key is not generated */
    cr_table_add_column(b, &(cr_column_def){.name = "code", .type = CR_SQL_STRING(5),
                                            .primary_key = true});
    assert_null(cr_table_autoincrement(b));

    cr_table *c = cr_table_new(md, "c");   /* autoincrement = CR_NO */
    cr_table_add_column(c, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                            .primary_key = true, .autoincrement = CR_NO});
    assert_null(cr_table_autoincrement(c));
    assert_ddl(c, "postgresql", "CREATE TABLE c (\n\tid INTEGER NOT NULL, \n\tPRIMARY KEY (id)\n)");

    cr_table *d = cr_table_new(md, "d");   /* a foreign key column is not generated */
    cr_table_add_column(d, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                            .primary_key = true, .foreign_key = "a.id"});
    assert_null(cr_table_autoincrement(d));

    cr_table *e = cr_table_new(md, "e");   /* nor one with a client default */
    cr_table_add_column(e, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                            .primary_key = true, .default_fn = seven});
    assert_null(cr_table_autoincrement(e));

    cr_table *f = cr_table_new(md, "f");   /* composite: only an explicit CR_YES */
    cr_table_add_column(f, &(cr_column_def){.name = "x", .type = CR_SQL_INTEGER,
                                            .primary_key = true});
    cr_column *fy = cr_table_add_column(f, &(cr_column_def){.name = "y", .type = CR_SQL_INTEGER,
                                                            .primary_key = true,
                                                            .autoincrement = CR_YES});
    assert_ptr_equal(cr_table_autoincrement(f), fy);
    /* columns_autoinc_first: the generated column leads the implicit key. */
    assert_ddl(f, "mysql",
               "CREATE TABLE f (\n"
               "\tx INTEGER NOT NULL, \n"
               "\ty INTEGER NOT NULL AUTO_INCREMENT, \n"
               "\tPRIMARY KEY (y, x)\n"
               ")");
    cr_column *const *pk;
    assert_int_equal(cr_table_pk(f, &pk), 2);
    assert_string_equal(pk[0]->name, "x");
    assert_no_error(md);
    cr_metadata_free(md);
}

static void test_copies_and_accessors(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    char name[16], text[16], sd[16], enum_name[8];
    char *values[3] = {NULL, NULL, NULL};
    strcpy(name, "label");
    strcpy(text, "hello");
    strcpy(sd, "'dflt'");
    strcpy(enum_name, "kind");
    values[0] = strdup("one");
    values[1] = strdup("three");
    cr_table *t = cr_table_new(md, name);
    cr_column_def def = {.name = name, .type = CR_SQL_STRING(20),
                         .default_value = cr_val_text(text), .server_default = sd};
    cr_column *col = cr_table_add_column(t, &def);
    cr_column_def edef = {.name = "kind",
                          .type = CR_SQL_ENUM(enum_name, (const char *const *)values)};
    cr_column *ecol = cr_table_add_column(t, &edef);
    /* The caller's memory goes away. */
    memset(name, 'z', sizeof name - 1);
    memset(text, 'z', sizeof text - 1);
    memset(sd, 'z', sizeof sd - 1);
    strcpy(enum_name, "zz");
    free(values[0]);
    free(values[1]);
    assert_string_equal(cr_table_name(t), "label");
    assert_string_equal(cr_column_name(col), "label");
    assert_ptr_equal(cr_column_table(col), t);
    assert_ptr_equal(cr_table_metadata(t), md);
    assert_int_equal(col->default_value.type, CR_TEXT);
    assert_int_equal(col->default_value.v.s.len, 5);
    assert_memory_equal(col->default_value.v.s.ptr, "hello", 5);
    assert_string_equal(col->server_default, "'dflt'");
    assert_string_equal(cr_column_type(ecol)->enum_name, "kind");
    assert_string_equal(cr_column_type(ecol)->enum_values[1], "three");
    assert_null(cr_column_type(ecol)->enum_values[2]);
    /* The column is an expression node the SQL compiler can use. */
    assert_int_equal(col->base.tag, CR_TAG_EXPR);
    assert_int_equal(col->base.kind, CR_N_COLUMN);
    assert_int_equal(col->base.type, CR_SQLTYPE_STRING);
    assert_int_equal(t->tag, CR_TAG_TABLE);
    assert_true(cr_column_nullable(col));
    assert_false(cr_column_primary_key(col));
    assert_int_equal(ecol->index, 1);
    assert_ptr_equal(cr_metadata_table(md, "label"), t);
    assert_ptr_equal(cr_metadata_table_at(md, 0), t);
    assert_null(cr_metadata_table_at(md, 1));
    assert_int_equal(cr_metadata_table_count(md), 1);
    assert_no_error(md);
    /* NULL handles are harmless. */
    cr_metadata_free(NULL);
    assert_null(cr_table_add_column(NULL, &def));
    assert_null(cr_table_name(NULL));
    assert_int_equal(cr_table_column_count(NULL), 0);
    cr_metadata_free(md);
}

static void test_errors(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(md, "t");
    cr_table_add_column(t, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER});
    assert_no_error(md);
    /* The first error is kept; later calls keep working. */
    assert_null(cr_table_add_column(t, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER}));
    assert_error(md, CR_ERR_ARGUMENT, "duplicate column 'id' in table 't'");
    assert_null(cr_table_new(md, "t"));
    assert_error(md, CR_ERR_ARGUMENT, "duplicate column");
    assert_non_null(cr_table_add_column(t, &(cr_column_def){.name = "x", .type = CR_SQL_TEXT}));
    cr_metadata_free(md);

    md = cr_metadata_new(NULL);
    assert_null(cr_table_new(md, NULL));
    assert_non_null(cr_metadata_error(md));
    cr_metadata_free(md);

    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    assert_null(cr_table_add_column(t, &(cr_column_def){.name = "s", .type = CR_SQL_STRING(-1)}));
    assert_error(md, CR_ERR_ARGUMENT, "'t.s'");
    cr_metadata_free(md);

    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    assert_null(cr_table_add_column(t, &(cr_column_def){.name = "n"}));
    assert_error(md, CR_ERR_ARGUMENT, "unknown type");
    cr_metadata_free(md);

    /* A three-valued option out of range (a cast int). */
    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    assert_null(cr_table_add_column(t, &(cr_column_def){.name = "n", .type = CR_SQL_INTEGER,
                                                        .nullable = (cr_tristate){3}}));
    assert_error(md, CR_ERR_ARGUMENT, "'t.n': autoincrement and nullable must be CR_AUTO");
    cr_metadata_free(md);

    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    assert_null(cr_table_new(md, "t"));
    assert_error(md, CR_ERR_INVALID_REQUEST, "table 't' is already defined");
    cr_metadata_free(md);

    /* A column of another table in a constraint. */
    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    cr_table *u = cr_table_new(md, "u");
    cr_column *uc = cr_table_add_column(u, &(cr_column_def){.name = "c", .type = CR_SQL_INTEGER});
    assert_int_equal(cr_table_unique(t, NULL, CR_COLS(uc)), CR_ERR_ARGUMENT);
    assert_error(md, CR_ERR_ARGUMENT, "table 't'");
    cr_metadata_free(md);

    /* A bad reference and a bad ON DELETE. */
    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    assert_null(cr_table_add_column(t, &(cr_column_def){.name = "r", .type = CR_SQL_INTEGER,
                                                        .foreign_key = "nodot"}));
    assert_error(md, CR_ERR_ARGUMENT, "nodot");
    cr_metadata_free(md);

    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    cr_table_add_column(t, &(cr_column_def){.name = "r", .type = CR_SQL_INTEGER,
                                            .foreign_key = "u.id",
                                            .fk_ondelete = "CASCADE; DROP TABLE x"});
    assert_no_error(md);
    assert_null(cr_table_create_sql(t, "sqlite"));
    assert_error(md, CR_ERR_ARGUMENT, "ON DELETE");
    cr_metadata_free(md);

    /* PostgreSQL needs an enum's name; other dialects do not. */
    static const char *const ab[] = {"a", "b", NULL};
    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    cr_table_add_column(t, &(cr_column_def){.name = "e", .type = CR_SQL_ENUM(NULL, ab)});
    char *sql = cr_table_create_sql(t, "sqlite");
    assert_non_null(sql);
    free(sql);
    assert_null(cr_table_create_sql(t, "postgresql"));
    assert_error(md, CR_ERR_ARGUMENT, "ENUM type requires a name");
    cr_metadata_free(md);

    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    cr_table_add_column(t, &(cr_column_def){.name = "e", .type = CR_SQL_INTEGER});
    assert_null(cr_table_create_sql(t, "oracle"));
    assert_error(md, CR_ERR_ARGUMENT, "oracle");
    cr_metadata_free(md);

    /* autoincrement=True on a string column. */
    md = cr_metadata_new(NULL);
    t = cr_table_new(md, "t");
    assert_null(cr_table_add_column(t, &(cr_column_def){.name = "s", .type = CR_SQL_STRING(3),
                                                        .autoincrement = CR_YES}));
    assert_error(md, CR_ERR_ARGUMENT, "autoincrement");
    cr_metadata_free(md);
}

static const cr_column_def broken_defs[] = {
    {.name = "id", .type = CR_SQL_INTEGER, .primary_key = true},
    {.name = "bad", .type = CR_SQL_STRING(-5)},
    {.name = "ok", .type = CR_SQL_TEXT},
};

typedef struct broken_table {
    cr_table *table;
    struct { cr_column *id, *bad, *ok; } c;
} broken_table;

static cr_status broken_table_define(broken_table *t, cr_metadata *md, const char *name)
{
    cr_column **const handles[] = {&t->c.id, &t->c.bad, &t->c.ok};
    return cr_table_define(md, name, broken_defs, 3, handles, &t->table);
}

/* cr_table_define stores NULL for a column that failed and reports it. */
static void test_define_errors(void **state)
{
    (void)state;
    cr_metadata *md = cr_metadata_new(NULL);
    broken_table b;
    assert_int_equal(broken_table_define(&b, md, "broken"), CR_ERR_ARGUMENT);
    assert_non_null(b.table);
    assert_non_null(b.c.id);
    assert_null(b.c.bad);
    assert_non_null(b.c.ok);
    broken_table again;
    assert_int_not_equal(broken_table_define(&again, md, "broken"), CR_OK);
    assert_null(again.table);
    assert_null(again.c.id);
    cr_metadata_free(md);
}

static void test_sorted_tables(void **state)
{
    (void)state;
    /* As metadata.sorted_tables: by name, then referred tables first, in
     * rounds; a self reference does not count. */
    cr_metadata *md = cr_metadata_new(NULL);
    const char *names[] = {"e", "a", "d", "c", "b"};
    const char *fks[] = {NULL, "c.id", "a.id", NULL, "b.id"};
    for (size_t i = 0; i < 5; i++) {
        cr_table *t = cr_table_new(md, names[i]);
        cr_table_add_column(t, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                                .primary_key = true});
        cr_table_add_column(t, &(cr_column_def){.name = "ref", .type = CR_SQL_INTEGER,
                                                .foreign_key = fks[i]});
    }
    assert_no_error(md);
    cr_table *out[5];
    assert_int_equal(cr_metadata_sorted_tables(md, out, 5), 5);
    /* a->c, d->a, b->b (self): round 1 b, c, e; round 2 a; round 3 d. */
    const char *want[] = {"b", "c", "e", "a", "d"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(cr_table_name(out[i]), want[i]);
    assert_int_equal(cr_metadata_sorted_tables(md, out, 2), 2);
    cr_metadata_free(md);
}

static void test_sqltype_render_and_cast(void **state)
{
    (void)state;
    char buf[64];
    cr_sqltype s50 = CR_SQL_STRING(50), num = CR_SQL_NUMERIC(10, 2), b = CR_SQL_BOOLEAN;
    cr_sqltype i = CR_SQL_INTEGER, dt = CR_SQL_DATETIME;
    assert_int_equal(cr_sqltype_render(&s50, buf, sizeof buf), 11);
    assert_string_equal(buf, "VARCHAR(50)");
    cr_sqltype_render(&num, buf, sizeof buf);
    assert_string_equal(buf, "NUMERIC(10, 2)");
    assert_int_equal(cr_sqltype_render(&num, buf, 4), 14);
    assert_string_equal(buf, "NUM");

    struct { const char *dialect; const cr_sqltype *type; const char *want; } casts[] = {
        {"sqlite", &s50, "VARCHAR(50)"},       {"postgresql", &dt, "TIMESTAMP WITHOUT TIME ZONE"},
        {"mysql", &i, "SIGNED INTEGER"},       {"mysql", &s50, "CHAR(50)"},
        {"mysql", &num, "DECIMAL(10, 2)"},     {"mysql", &b, ""},
        {"postgresql", &b, "BOOLEAN"},
    };
    for (size_t k = 0; k < CR_ARRAY_LEN(casts); k++) {
        cr_buf out;
        cr_buf_init(&out);
        cr_dialect_find(casts[k].dialect)->ddl->cast_type(&out, casts[k].type);
        assert_string_equal(cr_buf_cstr(&out), casts[k].want);
        cr_buf_free(&out);
    }
}

/* ---- CREATE INDEX, run on embedded SQLite ------------------------------------ */

typedef struct lines {
    char text[4096];
} lines;

static void keep_line(void *userdata, const char *line)
{
    lines *l = userdata;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s\n", line);
}

static void test_create_all_statements(void **state)
{
    (void)state;
    if (!cr_backend_available("sqlite"))
        skip();
    lines log = {{0}};
    cr_engine_options opts = {.echo = true, .log_fn = keep_line, .log_userdata = &log};
    cr_engine *e = cr_create_engine("sqlite://", &opts, NULL);
    assert_non_null(e);
    cr_conn *c = cr_engine_connect(e, NULL);
    assert_non_null(c);
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *users, *posts;
    define_blog(md, &users, &posts);
    cr_table_add_column(users, &(cr_column_def){.name = "nick", .type = CR_SQL_STRING(9),
                                                .unique = true, .index = true});
    cr_table_add_column(posts, &(cr_column_def){.name = "at", .type = CR_SQL_STRING(9),
                                                .server_default = "'12:30'"});
    cr_status st = cr_metadata_create_all(md, c, false);
    if (st != CR_OK)
        print_error("create_all: %s\n", cr_error_message(cr_conn_error(c)));
    assert_int_equal(st, CR_OK);
    const char *users_at = strstr(log.text, "CREATE TABLE users");
    const char *posts_at = strstr(log.text, "CREATE TABLE posts");
    assert_non_null(users_at);
    assert_non_null(posts_at);
    assert_true(users_at < posts_at);
    assert_non_null(strstr(log.text, "CREATE UNIQUE INDEX ix_users_nick ON users (nick)\n"));
    assert_non_null(strstr(log.text, "CREATE INDEX ix_posts_title ON posts (title)\n"));
    /* The quoted colon reached the database as written. */
    assert_non_null(strstr(log.text, "DEFAULT '12:30'"));
    assert_int_equal(cr_conn_exec(c, "INSERT INTO users (email) VALUES ('a@b')", NULL), CR_OK);
    assert_int_equal(cr_conn_exec(c, "INSERT INTO posts (user_id, title) VALUES (1, 't')", NULL),
                     CR_OK);
    cr_result *r = cr_conn_execute(c, "SELECT at FROM posts", NULL);
    assert_non_null(r);
    cr_value v;
    assert_int_equal(cr_result_scalar(r, &v), CR_OK);
    assert_int_equal(v.type, CR_TEXT);
    assert_memory_equal(v.v.s.ptr, "12:30", 5);
    cr_result_free(r);
    log.text[0] = '\0';
    assert_int_equal(cr_metadata_drop_all(md, c, false), CR_OK);
    posts_at = strstr(log.text, "DROP TABLE posts");
    users_at = strstr(log.text, "DROP TABLE users");
    assert_non_null(users_at);
    assert_non_null(posts_at);
    assert_true(posts_at < users_at);
    cr_metadata_free(md);
    cr_conn_close(c);
    cr_engine_free(e);
}

/* ---- out of memory ----------------------------------------------------------- */

/* Declare a schema and render it with the n-th allocation failing: no crash,
 * no leak, and an out-of-memory error on the metadata when one was reported.
 * True when the run was over before the n-th allocation. */
static bool oom_run(long n)
{
    cr_mem_fail_after(n);
    cr_naming_convention nc = {.uq = "uq_%(table_name)s_%(column_0_name)s", .pk = "pk_%(table_name)s"};
    cr_metadata *md = cr_metadata_new(&nc);
    bool ok = md != NULL;
    if (md) {
        things_table things;
        cr_table *users, *posts;
        things_table_define(&things, md, "things");
        define_blog(md, &users, &posts);
        cr_table *sorted[8];
        cr_metadata_sorted_tables(md, sorted, 8);
        for (size_t i = 0; i < CR_ARRAY_LEN(dialects); i++) {
            char *sql = cr_table_create_sql(posts, dialects[i]);
            ok = ok && sql != NULL;
            free(sql);
            sql = cr_table_create_sql(things.table, dialects[i]);
            ok = ok && sql != NULL;
            free(sql);
        }
        const cr_error *e = cr_metadata_error(md);
        if (e) {
            assert_int_equal(cr_error_class(e), CR_ERR_NO_MEMORY);
            ok = false;
        }
        cr_metadata_free(md);
    }
    /* A run the failure never reached must have gone through. */
    bool finished = cr_mem_fail_disarm();
    if (finished)
        assert_true(ok);
    return finished;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    long n = 0;
    while (!oom_run(n) && n < 5000)
        n++;
    assert_true(n > 10);
    assert_true(n < 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_serial_kinds),
        cmocka_unit_test(test_constraints),
        cmocka_unit_test(test_table_level_constraints),
        cmocka_unit_test(test_naming_convention),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_literal_helper),
        cmocka_unit_test(test_server_defaults),
        cmocka_unit_test(test_autoincrement_rules),
        cmocka_unit_test(test_copies_and_accessors),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_define_errors),
        cmocka_unit_test(test_sorted_tables),
        cmocka_unit_test(test_sqltype_render_and_cast),
        cmocka_unit_test(test_create_all_statements),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
