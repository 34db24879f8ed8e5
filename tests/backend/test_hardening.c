/* test_hardening.c — issue 8's findings that need a real backend, once per
 * backend: engine-level create_all / drop_all, foreign keys to tables that
 * are not there, SQLAlchemy data parity, and the read conveniences. Tables
 * are named hd_* (no other suite uses them). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool has_table(cr_engine *e, const char *name)
{
    cr_conn *c = connect_ok(e);
    cr_inspector *insp = cr_inspect(c);
    assert_non_null(insp);
    bool exists = false;
    ASSERT_OK(cr_inspector_has_table(insp, name, &exists), cr_conn_error(c));
    cr_inspector_free(insp);
    cr_conn_close(c);
    return exists;
}

/* Two tables, the second referring to the first. */
static cr_metadata *parent_child(const char *parent, const char *child, const char *fk)
{
    cr_metadata *md = cr_metadata_new(NULL);
    assert_non_null(md);
    cr_table *p = cr_table_new(md, parent);
    cr_table_add_column(p, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                            .primary_key = true});
    cr_table *k = cr_table_new(md, child);
    cr_table_add_column(k, &(cr_column_def){.name = "id", .type = CR_SQL_INTEGER,
                                            .primary_key = true});
    cr_table_add_column(k, &(cr_column_def){.name = "parent_id", .type = CR_SQL_INTEGER,
                                            .foreign_key = fk});
    assert_null(cr_metadata_error(md));
    return md;
}

/* ---- finding 14: metadata.create_all(engine) --------------------------------- */

static void test_create_all_engine(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_metadata *md = parent_child("hd_parent", "hd_child", "hd_parent.id");
    cr_error *err = (cr_error *)0x1;
    /* Its own connection, committed: another connection sees the tables. */
    cr_status st = cr_metadata_create_all_engine(md, e, true, &err);
    if (st)
        print_error("create_all_engine: %s\n", cr_error_message(err));
    assert_int_equal(st, CR_OK);
    assert_null(err);
    assert_true(has_table(e, "hd_parent"));
    assert_true(has_table(e, "hd_child"));
    /* checkfirst: a second run leaves them alone. */
    assert_int_equal(cr_metadata_create_all_engine(md, e, true, NULL), CR_OK);
    /* Without checkfirst the second CREATE fails, the error handed over. */
    st = cr_metadata_create_all_engine(md, e, false, &err);
    assert_int_not_equal(st, CR_OK);
    assert_non_null(err);
    assert_int_equal(cr_error_class(err), st);
    cr_error_free(err);
    cr_pool_status ps;
    assert_int_equal(cr_engine_pool_status(e, &ps), CR_OK);
    assert_int_equal(ps.checked_out, 0);

    assert_int_equal(cr_metadata_drop_all_engine(md, e, true, &err), CR_OK);
    assert_null(err);
    assert_false(has_table(e, "hd_parent"));
    assert_false(has_table(e, "hd_child"));
    assert_int_equal(cr_metadata_drop_all_engine(md, e, true, NULL), CR_OK);

    /* NULL handles are argument errors, with the detail handed over. */
    assert_int_equal(cr_metadata_create_all_engine(NULL, e, true, &err), CR_ERR_ARGUMENT);
    assert_non_null(err);
    cr_error_free(err);
    assert_int_equal(cr_metadata_drop_all_engine(md, NULL, true, &err), CR_ERR_ARGUMENT);
    assert_non_null(err);
    cr_error_free(err);
    cr_metadata_free(md);
    cr_engine_free(e);
}

/* ---- finding 15: a foreign key to a table or column that is not there ------- */

static void refused_before_sending(const char *fk, const char *want1, const char *want2)
{
    cr_engine *e = new_engine(NULL);
    cr_metadata *md = parent_child("hd_parent", "hd_child", fk);
    cr_error *err = NULL;
    assert_int_equal(cr_metadata_create_all_engine(md, e, true, &err), CR_ERR_INVALID_REQUEST);
    assert_non_null(err);
    const char *msg = cr_error_message(err);
    if (!strstr(msg, want1) || !strstr(msg, want2))
        print_error("message \"%s\" does not name '%s' and '%s'\n", msg, want1, want2);
    assert_non_null(strstr(msg, want1));
    assert_non_null(strstr(msg, want2));
    assert_null(cr_error_statement(err));
    cr_error_free(err);
    /* Nothing was sent: not even the table the others refer to. */
    assert_false(has_table(e, "hd_parent"));
    assert_false(has_table(e, "hd_child"));

    /* The same for one table on a connection; no transaction was begun. */
    cr_conn *c = connect_ok(e);
    cr_table *child = cr_metadata_table(md, "hd_child");
    assert_int_equal(cr_table_create(child, c, false), CR_ERR_INVALID_REQUEST);
    assert_non_null(strstr(cr_error_message(cr_conn_error(c)), want1));
    assert_false(cr_conn_in_transaction(c));
    cr_conn_close(c);
    assert_false(has_table(e, "hd_child"));
    cr_metadata_free(md);
    cr_engine_free(e);
}

static void test_fk_to_missing_table(void **state)
{
    (void)state;
    /* NoReferencedTableError */
    refused_before_sending("hd_parents.id", "hd_child.parent_id", "'hd_parents'");
}

static void test_fk_to_missing_column(void **state)
{
    (void)state;
    /* NoReferencedColumnError */
    refused_before_sending("hd_parent.ident", "'hd_parent'", "'ident'");
}

static int group_teardown(void **state)
{
    (void)state;
    cr_engine *e = new_engine(NULL);
    cr_conn *c = connect_ok(e);
    static const char *const tables[] = {"hd_child", "hd_parent"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        drop_table(c, tables[i]);
    cr_conn_close(c);
    cr_engine_free(e);
    return 0;
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_all_engine),
        cmocka_unit_test(test_fk_to_missing_table),
        cmocka_unit_test(test_fk_to_missing_column),
    };
    int failed = HARNESS_RUN("hardening", NULL, tests, group_teardown);
    harness_cleanup();
    return failed ? 1 : 0;
}
