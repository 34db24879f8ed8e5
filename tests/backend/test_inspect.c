/* test_inspect.c — the Inspector (reflection) against a real SQLite, PostgreSQL or MariaDB. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "base/base.h"   /* cr_mem_fail_after */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_TABLE "ri space \xc3\xbc"

/* name as an identifier in this backend's raw DDL. */
static const char *qi(const char *name)
{
    static char bufs[4][128];
    static int next;
    char *b = bufs[next++ % 4];
    char q = is_mysql() ? '`' : '"';
    snprintf(b, 128, "%c%s%c", q, name, q);
    return b;
}

static void ddl(cr_conn *c, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    exec_ok(c, sql);
}

static void drop_all(cr_conn *c)
{
    drop_table(c, "ri_ref");
    drop_table(c, "ri_child");
    drop_table(c, "ri_parent");
    drop_table(c, qi("order"));
    drop_table(c, qi(SPACE_TABLE));
    drop_table(c, "ri_misc");
    if (is_pg()) {
        exec_ok(c, "DROP TYPE IF EXISTS ri_mood");
        ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    }
}

/* The schema every test reads: a composite primary key declared out of
 * column order, a composite foreign key with ON DELETE CASCADE, named and
 * unnamed unique constraints and indexes, server defaults, and names that
 * need quoting. */
static void create_schema(cr_conn *c)
{
    drop_all(c);
    ddl(c, "CREATE TABLE ri_parent (a INTEGER NOT NULL, b VARCHAR(20) NOT NULL, "
           "label VARCHAR(50) DEFAULT 'x', "
           "CONSTRAINT pk_ri_parent PRIMARY KEY (b, a), "
           "CONSTRAINT uq_ri_parent_label UNIQUE (label))");
    ddl(c, "CREATE TABLE ri_child (id %s, pa INTEGER, pb VARCHAR(20), "
           "price NUMERIC(10,2) NOT NULL DEFAULT 0, flag BOOLEAN, "
           "created %s DEFAULT CURRENT_TIMESTAMP, note TEXT%s, code VARCHAR(10), "
           "dbl DOUBLE PRECISION, r %s, bl %s, sm SMALLINT, bg BIGINT, d DATE, tm TIME, "
           "UNIQUE (code), "
           "CONSTRAINT fk_ri_child_parent FOREIGN KEY (pb, pa) REFERENCES ri_parent (b, a) "
           "ON DELETE CASCADE%s)",
        t_pk(), is_mysql() ? "DATETIME" : "TIMESTAMP",
        is_mysql() ? " COMMENT 'a note'" : "", is_mysql() ? "FLOAT" : "REAL", t_blob(),
        is_mysql() ? ", INDEX (created)" : "");
    ddl(c, "CREATE INDEX ix_ri_child_pf ON ri_child (price, flag)");
    if (is_pg()) {
        ddl(c, "CREATE INDEX ON ri_child (created)");
        ddl(c, "COMMENT ON COLUMN ri_child.note IS 'a note'");
        ddl(c, "ALTER TABLE ri_child ADD COLUMN tz TIMESTAMP WITH TIME ZONE");
    }
    ddl(c, "CREATE TABLE %s (id INTEGER PRIMARY KEY, %s VARCHAR(5))", qi("order"), qi("select"));
    ddl(c, "CREATE TABLE %s (%s INTEGER NOT NULL)", qi(SPACE_TABLE), qi("na\xc3\xafve col"));
    /* SQLite and PostgreSQL: a reference to the referred table's primary key. */
    ddl(c, "CREATE TABLE ri_ref (x INTEGER%s ON UPDATE SET NULL)",
        is_mysql() ? ", FOREIGN KEY (x) REFERENCES ri_child (id)" : " REFERENCES ri_child");
    if (is_pg()) {
        ddl(c, "CREATE TYPE ri_mood AS ENUM ('sad', 'o''k')");
        ddl(c, "CREATE TABLE ri_misc (mood ri_mood, doc JSONB, j JSON, u UUID, "
               "n NUMERIC, s SERIAL, b BOOL, ts TIMESTAMP(3))");
    } else if (is_mysql()) {
        ddl(c, "CREATE TABLE ri_misc (mood ENUM('sad', 'o''k'), n DECIMAL(12,3) UNSIGNED, "
               "b TINYINT(1), i INT(11), dt DATETIME(6), t MEDIUMTEXT)");
    }
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
}

typedef struct fixture {
    cr_engine *e;
    cr_conn *c;
    cr_inspector *insp;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->e = new_engine(NULL);
    f->c = connect_ok(f->e);
    create_schema(f->c);
    f->insp = cr_inspect(f->c);
    assert_non_null(f->insp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_inspector_free(f->insp);
    drop_all(f->c);
    cr_conn_close(f->c);
    cr_engine_free(f->e);
    free(f);
    return 0;
}

static const cr_reflected_column *find_column(const cr_reflected_column *cols, size_t n,
                                              const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i].name, name) == 0)
            return &cols[i];
    print_error("no column %s\n", name);
    fail();
    return NULL;
}

static const cr_reflected_constraint *find_by_columns(const cr_reflected_constraint *cons,
                                                      size_t n, const char *c0, const char *c1)
{
    for (size_t i = 0; i < n; i++) {
        size_t want = c1 ? 2 : 1;
        if (cons[i].ncolumns == want && cons[i].columns[0] &&
            strcmp(cons[i].columns[0], c0) == 0 &&
            (!c1 || (cons[i].columns[1] && strcmp(cons[i].columns[1], c1) == 0)))
            return &cons[i];
    }
    print_error("no constraint on (%s%s%s)\n", c0, c1 ? ", " : "", c1 ? c1 : "");
    fail();
    return NULL;
}

static void test_table_names(void **state)
{
    fixture *f = *state;
    const char *const *names;
    size_t n;
    ASSERT_OK(cr_inspector_get_table_names(f->insp, &names, &n), cr_conn_error(f->c));
    /* Other suites may share the database: look for ours, check the order. */
    const char *want[] = {"order", "ri_child", "ri_parent", SPACE_TABLE};
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(strcmp(names[i - 1], names[i]) < 0);
        for (size_t j = 0; j < 4; j++)
            if (strcmp(names[i], want[j]) == 0)
                found++;
    }
    assert_int_equal(found, 4);
    assert_null(names[n]);

    bool exists;
    ASSERT_OK(cr_inspector_has_table(f->insp, "ri_child", &exists), cr_conn_error(f->c));
    assert_true(exists);
    ASSERT_OK(cr_inspector_has_table(f->insp, "order", &exists), cr_conn_error(f->c));
    assert_true(exists);
    ASSERT_OK(cr_inspector_has_table(f->insp, SPACE_TABLE, &exists), cr_conn_error(f->c));
    assert_true(exists);
    ASSERT_OK(cr_inspector_has_table(f->insp, "ri_missing", &exists), cr_conn_error(f->c));
    assert_false(exists);
    /* A name is a value, never SQL. */
    ASSERT_OK(cr_inspector_has_table(f->insp, "x' OR '1'='1", &exists), cr_conn_error(f->c));
    assert_false(exists);
}

static void test_columns(void **state)
{
    fixture *f = *state;
    const cr_reflected_column *cols;
    size_t n;
    ASSERT_OK(cr_inspector_get_columns(f->insp, "ri_child", &cols, &n), cr_conn_error(f->c));
    assert_int_equal(n, is_pg() ? 16 : 15);
    assert_string_equal(cols[0].name, "id");
    assert_string_equal(cols[14].name, "tm");

    const cr_reflected_column *c = find_column(cols, n, "id");
    assert_int_equal(c->type.kind, CR_SQLTYPE_INTEGER);
    assert_true(c->autoincrement);
    if (!is_sqlite())   /* SQLite reports its rowid alias as nullable, as SQLAlchemy shows */
        assert_false(c->nullable);

    c = find_column(cols, n, "pa");
    assert_int_equal(c->type.kind, CR_SQLTYPE_INTEGER);
    assert_true(c->nullable);
    assert_false(c->autoincrement);
    assert_null(c->default_sql);

    c = find_column(cols, n, "pb");
    assert_int_equal(c->type.kind, CR_SQLTYPE_STRING);
    assert_int_equal(c->type.length, 20);
    assert_string_equal(c->type_name, is_pg() ? "character varying(20)"
                                      : is_mysql() ? "varchar(20)" : "VARCHAR(20)");

    c = find_column(cols, n, "price");
    assert_int_equal(c->type.kind, CR_SQLTYPE_NUMERIC);
    assert_int_equal(c->type.precision, 10);
    assert_int_equal(c->type.scale, 2);
    assert_false(c->nullable);
    assert_non_null(c->default_sql);
    assert_string_equal(c->default_sql, is_mysql() ? "0.00" : "0");

    c = find_column(cols, n, "flag");
    assert_int_equal(c->type.kind, CR_SQLTYPE_BOOLEAN);
    assert_true(c->nullable);

    c = find_column(cols, n, "created");
    assert_int_equal(c->type.kind, CR_SQLTYPE_DATETIME);
    assert_false(c->type.timezone);
    assert_non_null(c->default_sql);

    c = find_column(cols, n, "note");
    assert_int_equal(c->type.kind, CR_SQLTYPE_TEXT);
    if (is_sqlite())
        assert_null(c->comment);
    else
        assert_string_equal(c->comment, "a note");
    assert_null(find_column(cols, n, "pa")->comment);

    c = find_column(cols, n, "code");
    assert_int_equal(c->type.kind, CR_SQLTYPE_STRING);
    assert_int_equal(c->type.length, 10);
    assert_int_equal(find_column(cols, n, "dbl")->type.kind, CR_SQLTYPE_DOUBLE);
    assert_int_equal(find_column(cols, n, "r")->type.kind, CR_SQLTYPE_FLOAT);
    assert_int_equal(find_column(cols, n, "bl")->type.kind, CR_SQLTYPE_BINARY);
    assert_int_equal(find_column(cols, n, "sm")->type.kind, CR_SQLTYPE_SMALLINT);
    assert_int_equal(find_column(cols, n, "bg")->type.kind, CR_SQLTYPE_BIGINT);
    assert_int_equal(find_column(cols, n, "d")->type.kind, CR_SQLTYPE_DATE);
    assert_int_equal(find_column(cols, n, "tm")->type.kind, CR_SQLTYPE_TIME);
    if (is_pg()) {
        c = find_column(cols, n, "tz");
        assert_int_equal(c->type.kind, CR_SQLTYPE_DATETIME);
        assert_true(c->type.timezone);
        assert_string_equal(c->type_name, "timestamp with time zone");
    }

    ASSERT_OK(cr_inspector_get_columns(f->insp, "ri_parent", &cols, &n), cr_conn_error(f->c));
    assert_int_equal(n, 3);
    assert_false(cols[0].autoincrement);   /* part of a composite key */
    assert_false(cols[0].nullable);
    assert_non_null(cols[2].default_sql);
    /* The database's own text, as SQLAlchemy keeps it. */
    assert_string_equal(cols[2].default_sql, is_pg() ? "'x'::character varying" : "'x'");

    ASSERT_OK(cr_inspector_get_columns(f->insp, "order", &cols, &n), cr_conn_error(f->c));
    assert_int_equal(n, 2);
    assert_string_equal(cols[1].name, "select");
    assert_int_equal(cols[1].type.length, 5);
    ASSERT_OK(cr_inspector_get_columns(f->insp, SPACE_TABLE, &cols, &n), cr_conn_error(f->c));
    assert_int_equal(n, 1);
    assert_string_equal(cols[0].name, "na\xc3\xafve col");
    assert_false(cols[0].nullable);

    /* NoSuchTableError. */
    assert_int_equal(cr_inspector_get_columns(f->insp, "ri_missing", &cols, &n),
                     CR_ERR_INVALID_REQUEST);
    assert_int_equal(n, 0);
    assert_non_null(strstr(cr_error_message(cr_conn_error(f->c)), "ri_missing"));
}

/* Enums, JSON, UUID and the spellings each backend has of its own. */
static void test_column_types(void **state)
{
    fixture *f = *state;
    const cr_reflected_column *cols;
    size_t n;
    if (is_sqlite())
        return;
    ASSERT_OK(cr_inspector_get_columns(f->insp, "ri_misc", &cols, &n), cr_conn_error(f->c));
    const cr_reflected_column *c = find_column(cols, n, "mood");
    assert_int_equal(c->type.kind, CR_SQLTYPE_ENUM);
    assert_non_null(c->type.enum_values);
    assert_string_equal(c->type.enum_values[0], "sad");
    assert_string_equal(c->type.enum_values[1], "o'k");
    assert_null(c->type.enum_values[2]);
    if (is_pg()) {
        assert_string_equal(c->type.enum_name, "ri_mood");
        assert_int_equal(find_column(cols, n, "doc")->type.kind, CR_SQLTYPE_JSON);
        assert_int_equal(find_column(cols, n, "j")->type.kind, CR_SQLTYPE_JSON);
        assert_int_equal(find_column(cols, n, "u")->type.kind, CR_SQLTYPE_UUID);
        c = find_column(cols, n, "n");
        assert_int_equal(c->type.kind, CR_SQLTYPE_NUMERIC);
        assert_int_equal(c->type.precision, 0);
        c = find_column(cols, n, "s");
        assert_int_equal(c->type.kind, CR_SQLTYPE_INTEGER);
        assert_true(c->autoincrement);   /* serial: nextval() default */
        assert_non_null(strstr(c->default_sql, "nextval("));
        assert_int_equal(find_column(cols, n, "b")->type.kind, CR_SQLTYPE_BOOLEAN);
        c = find_column(cols, n, "ts");
        assert_int_equal(c->type.kind, CR_SQLTYPE_DATETIME);
        assert_false(c->type.timezone);
    } else {
        c = find_column(cols, n, "n");
        assert_int_equal(c->type.kind, CR_SQLTYPE_NUMERIC);
        assert_int_equal(c->type.precision, 12);
        assert_int_equal(c->type.scale, 3);
        assert_int_equal(find_column(cols, n, "b")->type.kind, CR_SQLTYPE_BOOLEAN);
        assert_int_equal(find_column(cols, n, "i")->type.kind, CR_SQLTYPE_INTEGER);
        assert_int_equal(find_column(cols, n, "dt")->type.kind, CR_SQLTYPE_DATETIME);
        assert_int_equal(find_column(cols, n, "t")->type.kind, CR_SQLTYPE_TEXT);
        assert_null(find_column(cols, n, "t")->default_sql);   /* MariaDB's "NULL" */
    }
}

static void test_pk(void **state)
{
    fixture *f = *state;
    const cr_reflected_constraint *pk;
    ASSERT_OK(cr_inspector_get_pk_constraint(f->insp, "ri_parent", &pk), cr_conn_error(f->c));
    assert_int_equal(pk->ncolumns, 2);
    assert_string_equal(pk->columns[0], "b");   /* key order, not column order */
    assert_string_equal(pk->columns[1], "a");
    if (is_mysql())
        assert_null(pk->name);
    else
        assert_string_equal(pk->name, "pk_ri_parent");

    ASSERT_OK(cr_inspector_get_pk_constraint(f->insp, "ri_child", &pk), cr_conn_error(f->c));
    assert_int_equal(pk->ncolumns, 1);
    assert_string_equal(pk->columns[0], "id");

    ASSERT_OK(cr_inspector_get_pk_constraint(f->insp, SPACE_TABLE, &pk), cr_conn_error(f->c));
    assert_int_equal(pk->ncolumns, 0);
    assert_int_equal(cr_inspector_get_pk_constraint(f->insp, "ri_missing", &pk),
                     CR_ERR_INVALID_REQUEST);
}

static void test_foreign_keys(void **state)
{
    fixture *f = *state;
    const cr_reflected_constraint *fks;
    size_t n;
    ASSERT_OK(cr_inspector_get_foreign_keys(f->insp, "ri_child", &fks, &n), cr_conn_error(f->c));
    assert_int_equal(n, 1);
    assert_string_equal(fks[0].name, "fk_ri_child_parent");
    assert_int_equal(fks[0].ncolumns, 2);
    assert_string_equal(fks[0].columns[0], "pb");
    assert_string_equal(fks[0].columns[1], "pa");
    assert_string_equal(fks[0].referred_table, "ri_parent");
    assert_string_equal(fks[0].referred_columns[0], "b");
    assert_string_equal(fks[0].referred_columns[1], "a");
    assert_string_equal(fks[0].ondelete, "CASCADE");
    assert_null(fks[0].onupdate);

    ASSERT_OK(cr_inspector_get_foreign_keys(f->insp, "ri_parent", &fks, &n), cr_conn_error(f->c));
    assert_int_equal(n, 0);

    ASSERT_OK(cr_inspector_get_foreign_keys(f->insp, "ri_ref", &fks, &n), cr_conn_error(f->c));
    assert_int_equal(n, 1);
    if (is_sqlite())
        assert_null(fks[0].name);   /* unnamed */
    else
        assert_non_null(fks[0].name);
    assert_int_equal(fks[0].ncolumns, 1);
    assert_string_equal(fks[0].columns[0], "x");
    assert_string_equal(fks[0].referred_table, "ri_child");
    assert_non_null(fks[0].referred_columns[0]);
    assert_string_equal(fks[0].referred_columns[0], "id");
    assert_null(fks[0].ondelete);
    assert_string_equal(fks[0].onupdate, "SET NULL");
}

static void test_unique_and_indexes(void **state)
{
    fixture *f = *state;
    const cr_reflected_constraint *uqs, *ixs, *c;
    size_t n;
    ASSERT_OK(cr_inspector_get_unique_constraints(f->insp, "ri_parent", &uqs, &n),
              cr_conn_error(f->c));
    assert_int_equal(n, 1);
    assert_string_equal(uqs[0].name, "uq_ri_parent_label");
    assert_int_equal(uqs[0].ncolumns, 1);
    assert_string_equal(uqs[0].columns[0], "label");

    ASSERT_OK(cr_inspector_get_unique_constraints(f->insp, "ri_child", &uqs, &n),
              cr_conn_error(f->c));
    assert_int_equal(n, 1);
    assert_string_equal(uqs[0].columns[0], "code");
    if (is_sqlite())
        assert_null(uqs[0].name);   /* unnamed: its autoindex name is no constraint name */
    else
        assert_string_equal(uqs[0].name, is_pg() ? "ri_child_code_key" : "code");

    ASSERT_OK(cr_inspector_get_indexes(f->insp, "ri_child", &ixs, &n), cr_conn_error(f->c));
    /* SQLite: ours only; PostgreSQL adds the unique constraint's index;
     * MySQL also the foreign key's. */
    assert_int_equal(n, is_sqlite() ? 1 : is_pg() ? 3 : 4);
    c = find_by_columns(ixs, n, "price", "flag");
    assert_string_equal(c->name, "ix_ri_child_pf");
    assert_false(c->unique);
    if (!is_sqlite()) {
        c = find_by_columns(ixs, n, "code", NULL);
        assert_true(c->unique);
        c = find_by_columns(ixs, n, "created", NULL);   /* unnamed: the database named it */
        assert_non_null(c->name);
        assert_false(c->unique);
    }
    ASSERT_OK(cr_inspector_get_indexes(f->insp, "order", &ixs, &n), cr_conn_error(f->c));
    assert_int_equal(n, 0);
}

/* The include filter of cr_inspector_get_tables: asked once per name, in
 * name order, and only the tables it keeps are read. */
typedef struct seen_names {
    char names[16][64];
    size_t n;
} seen_names;

static bool only_ri_parent_child(void *ctx, const char *table)
{
    seen_names *s = ctx;
    if (strncmp(table, "ri_", 3) == 0 && s->n < 16)
        snprintf(s->names[s->n++], sizeof s->names[0], "%s", table);
    return strcmp(table, "ri_child") == 0 || strcmp(table, "ri_parent") == 0;
}

/* One table whole is what the separate getters return, and the whole
 * schema read through a filter is those tables and no others. */
static void test_whole_tables(void **state)
{
    fixture *f = *state;
    cr_reflected_table t;
    ASSERT_OK(cr_inspector_get_table(f->insp, "ri_child", &t), cr_conn_error(f->c));
    assert_string_equal(t.name, "ri_child");
    assert_int_equal(t.ncolumns, is_pg() ? 16 : 15);
    assert_string_equal(t.columns[0].name, "id");
    assert_int_equal(t.pk->ncolumns, 1);
    assert_string_equal(t.pk->columns[0], "id");
    assert_int_equal(t.nfks, 1);
    assert_string_equal(t.fks[0].referred_table, "ri_parent");
    assert_string_equal(t.fks[0].ondelete, "CASCADE");
    assert_int_equal(t.nuniques, 1);
    assert_string_equal(t.uniques[0].columns[0], "code");
    assert_int_equal(t.nindexes, is_sqlite() ? 1 : is_pg() ? 3 : 4);
    assert_non_null(find_by_columns(t.indexes, t.nindexes, "price", "flag"));

    ASSERT_OK(cr_inspector_get_table(f->insp, "order", &t), cr_conn_error(f->c));
    assert_int_equal(t.pk->ncolumns, 1);
    assert_int_equal(t.nfks + t.nuniques + t.nindexes, 0);

    assert_int_equal(cr_inspector_get_table(f->insp, "ri_missing", &t), CR_ERR_INVALID_REQUEST);
    assert_null(t.name);
    assert_null(t.columns);

    seen_names seen = {.n = 0};
    const cr_reflected_table *ts;
    size_t n;
    ASSERT_OK(cr_inspector_get_tables(f->insp, only_ri_parent_child, &seen, &ts, &n),
              cr_conn_error(f->c));
    assert_int_equal(n, 2);
    assert_string_equal(ts[0].name, "ri_child");
    assert_string_equal(ts[1].name, "ri_parent");
    assert_int_equal(ts[1].pk->ncolumns, 2);
    assert_string_equal(ts[1].pk->columns[0], "b");
    assert_int_equal(ts[1].nuniques, 1);
    /* Every ri_ table asked about, once each, in name order. */
    assert_int_equal(seen.n, is_sqlite() ? 3 : 4);   /* ri_misc: not on SQLite */
    assert_string_equal(seen.names[0], "ri_child");
    assert_string_equal(seen.names[seen.n - 1], "ri_ref");

    /* No filter: every table, the suite's among them. */
    ASSERT_OK(cr_inspector_get_tables(f->insp, NULL, NULL, &ts, &n), cr_conn_error(f->c));
    size_t ours = 0;
    for (size_t i = 0; i < n; i++) {
        ours += strncmp(ts[i].name, "ri_", 3) == 0;
        assert_true(ts[i].ncolumns > 0);
        assert_non_null(ts[i].pk);
        if (i)
            assert_true(strcmp(ts[i - 1].name, ts[i].name) < 0);
    }
    assert_int_equal(ours, is_sqlite() ? 3 : 4);
}

static void test_reflect_table(void **state)
{
    fixture *f = *state;
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    cr_table *parent = cr_metadata_reflect_table(md, f->c, "ri_parent");
    if (!parent) {
        print_error("reflect ri_parent: %s\n", cr_error_message(cr_conn_error(f->c)));
        fail();
    }
    cr_table *t = cr_metadata_reflect_table(md, f->c, "ri_child");
    if (!t) {
        print_error("reflect ri_child: %s\n", cr_error_message(cr_conn_error(f->c)));
        fail();
    }
    assert_ptr_equal(cr_metadata_table(md, "ri_child"), t);
    assert_int_equal(cr_table_column_count(t), is_pg() ? 16 : 15);
    cr_column *id = cr_table_column(t, "id");
    assert_non_null(id);
    assert_true(cr_column_primary_key(id));
    assert_int_equal(cr_column_type(id)->kind, CR_SQLTYPE_INTEGER);
    assert_false(cr_column_primary_key(cr_table_column(t, "pa")));
    assert_true(cr_column_nullable(cr_table_column(t, "pa")));
    const cr_sqltype *price = cr_column_type(cr_table_column(t, "price"));
    assert_int_equal(price->kind, CR_SQLTYPE_NUMERIC);
    assert_int_equal(price->precision, 10);
    assert_int_equal(price->scale, 2);
    assert_false(cr_column_nullable(cr_table_column(t, "price")));
    assert_int_equal(cr_column_type(cr_table_column(t, "pb"))->length, 20);
    assert_int_equal(cr_column_type(cr_table_column(t, "flag"))->kind, CR_SQLTYPE_BOOLEAN);

    assert_int_equal(cr_table_column_count(parent), 3);
    assert_true(cr_column_primary_key(cr_table_column(parent, "a")));
    assert_true(cr_column_primary_key(cr_table_column(parent, "b")));
    assert_false(cr_column_primary_key(cr_table_column(parent, "label")));

    cr_table *order = cr_metadata_reflect_table(md, f->c, "order");
    assert_non_null(order);
    assert_int_equal(cr_table_column_count(order), 2);
    cr_table *space = cr_metadata_reflect_table(md, f->c, SPACE_TABLE);
    assert_non_null(space);
    assert_non_null(cr_table_column(space, "na\xc3\xafve col"));

    assert_null(cr_metadata_reflect_table(md, f->c, "ri_missing"));
    assert_int_equal(cr_error_class(cr_conn_error(f->c)), CR_ERR_INVALID_REQUEST);
    assert_null(cr_metadata_error(md));
    cr_metadata_free(md);
}

/* Out of memory at every allocation in turn: an error, never a crash or a
 * leak (the suite runs under AddressSanitizer). */
static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    if (!is_sqlite())   /* one backend is enough: the generic code is the same */
        return;
    for (long i = 0;; i++) {
        cr_inspector *insp = NULL;
        cr_metadata *md = NULL;
        cr_mem_fail_after(i);
        insp = cr_inspect(f->c);
        if (insp) {
            const cr_reflected_column *cols;
            const cr_reflected_constraint *cons;
            const char *const *names;
            size_t n;
            cr_inspector_get_table_names(insp, &names, &n);
            cr_inspector_get_columns(insp, "ri_child", &cols, &n);
            cr_inspector_get_pk_constraint(insp, "ri_parent", &cons);
            cr_inspector_get_foreign_keys(insp, "ri_child", &cons, &n);
            cr_inspector_get_foreign_keys(insp, "ri_ref", &cons, &n);
            cr_inspector_get_unique_constraints(insp, "ri_parent", &cons, &n);
            cr_inspector_get_indexes(insp, "ri_child", &cons, &n);
        }
        md = cr_metadata_new(NULL);
        if (md)
            cr_metadata_reflect_table(md, f->c, "ri_child");
        bool done = cr_mem_fail_disarm();
        cr_metadata_free(md);
        cr_inspector_free(insp);
        cr_conn_rollback(f->c);
        if (done)
            break;
        assert_true(i < 100000);
    }
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_and_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflect_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    int failed = HARNESS_RUN("inspect", NULL, tests, NULL);
    harness_cleanup();
    return failed ? 1 : 0;
}
