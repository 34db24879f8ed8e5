/* fuzz_ddl.c — DDL with hostile identifiers on in-memory SQLite: a table whose name is valid
 * UTF-8 can be created, reflected and dropped.
 *
 * Input: a table name, a NUL byte, a column name, a NUL byte, then option
 * bits (UNIQUE, an index, a nullable column, a self-referencing foreign key).
 * The table (id INTEGER PRIMARY KEY, <column> VARCHAR(20)[, ref INTEGER
 * REFERENCES <table>(id)]) is created; the Inspector must then see it with
 * exactly those names, constraints and indexes; reflecting it gives the
 * same columns; dropping it leaves no table. Names SQLite reserves
 * ("sqlite_...") and a column named like another one but for ASCII case
 * (SQLite compares names so) are not judged. */
#include "fuzz.h"
#include "sqlite_limits.h"

#include <strings.h>

static bool valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s++;
        int more = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (more < 0 || (more && c < 0xc2 && more == 1))
            return false;
        unsigned cp = more ? c & (0x3f >> more) : c;
        for (int i = 0; i < more; i++, s++) {
            if ((*s & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (*s & 0x3f);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
    }
    return true;
}

static const char *next_part(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
    char *s = strndup((const char *)*p, n);
    *p += nul ? n + 1 : n;
    return s;
}

static const char *conn_msg(cr_conn *c)
{
    const cr_error *e = cr_conn_error(c);
    return e ? cr_error_message(e) : "(no error)";
}

static bool has_columns(const cr_reflected_constraint *k, const char *a)
{
    return k->ncolumns == 1 && strcmp(k->columns[0], a) == 0;
}

static void check_reflected(cr_conn *c, const char *tname, const char *cname, unsigned opts)
{
    cr_inspector *in = cr_inspect(c);
    FUZZ_CHECK(in, "no inspector");
    const char *const *names;
    size_t n;
    FUZZ_CHECK(cr_inspector_get_table_names(in, &names, &n) == CR_OK,
               "get_table_names: %s", conn_msg(c));
    FUZZ_CHECK(n == 1 && strcmp(names[0], tname) == 0,
               "get_table_names: %zu names, the first '%s', for table '%s'", n,
               n ? names[0] : "", tname);
    bool exists = false;
    FUZZ_CHECK(cr_inspector_has_table(in, tname, &exists) == CR_OK && exists,
               "has_table('%s') is false: %s", tname, conn_msg(c));

    const cr_reflected_column *cols;
    FUZZ_CHECK(cr_inspector_get_columns(in, tname, &cols, &n) == CR_OK,
               "get_columns('%s'): %s", tname, conn_msg(c));
    size_t want = opts & 8 ? 3 : 2;
    FUZZ_CHECK(n == want && !strcmp(cols[0].name, "id") && !strcmp(cols[1].name, cname) &&
                   (want == 2 || !strcmp(cols[2].name, "ref")),
               "get_columns('%s'): %zu columns (%s, %s), expected id, '%s'", tname, n,
               n ? cols[0].name : "", n > 1 ? cols[1].name : "", cname);
    FUZZ_CHECK(cols[1].nullable == !!(opts & 4), "column '%s' nullable is %d", cname,
               cols[1].nullable);

    const cr_reflected_constraint *pk;
    FUZZ_CHECK(cr_inspector_get_pk_constraint(in, tname, &pk) == CR_OK && has_columns(pk, "id"),
               "get_pk_constraint('%s'): %s", tname, conn_msg(c));

    const cr_reflected_constraint *ks;
    FUZZ_CHECK(cr_inspector_get_unique_constraints(in, tname, &ks, &n) == CR_OK,
               "get_unique_constraints('%s'): %s", tname, conn_msg(c));
    /* unique and index together make a unique index, as in SQLAlchemy. */
    FUZZ_CHECK(n == ((opts & 3) == 1) && (!n || has_columns(&ks[0], cname)),
               "get_unique_constraints('%s'): %zu, first on '%s'", tname, n,
               n && ks[0].ncolumns ? ks[0].columns[0] : "");

    FUZZ_CHECK(cr_inspector_get_indexes(in, tname, &ks, &n) == CR_OK,
               "get_indexes('%s'): %s", tname, conn_msg(c));
    FUZZ_CHECK(n == !!(opts & 2) && (!n || (has_columns(&ks[0], cname) &&
                                            ks[0].unique == !!(opts & 1))),
               "get_indexes('%s'): %zu, first on '%s'", tname, n,
               n && ks[0].ncolumns ? ks[0].columns[0] : "");

    FUZZ_CHECK(cr_inspector_get_foreign_keys(in, tname, &ks, &n) == CR_OK,
               "get_foreign_keys('%s'): %s", tname, conn_msg(c));
    FUZZ_CHECK(n == !!(opts & 8) &&
                   (!n || (has_columns(&ks[0], "ref") && ks[0].referred_table &&
                           !strcmp(ks[0].referred_table, tname) &&
                           ks[0].referred_columns && !strcmp(ks[0].referred_columns[0], "id"))),
               "get_foreign_keys('%s'): %zu, referring to '%s'", tname, n,
               n && ks[0].referred_table ? ks[0].referred_table : "");
    cr_inspector_free(in);

    /* Table(name, metadata, autoload_with=conn) */
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_metadata_reflect_table(md, c, tname);
    FUZZ_CHECK(t && cr_table_column_count(t) == want &&
                   !strcmp(cr_column_name(cr_table_column_at(t, 1)), cname),
               "reflect_table('%s'): %s", tname, conn_msg(c));
    cr_metadata_free(md);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *tname = (char *)next_part(&p, end);
    char *cname = (char *)next_part(&p, end);
    unsigned opts = p < end ? *p : 0;
    /* A foreign key names "table.column": only for a table name it reads in. */
    if (strchr(tname, '.'))
        opts &= ~8u;
    bool judged = valid_utf8((const unsigned char *)tname) &&
                  valid_utf8((const unsigned char *)cname) && *tname && *cname &&
                  strncasecmp(tname, "sqlite_", 7) != 0 && strcasecmp(cname, "id") != 0 &&
                  strcasecmp(cname, "ref") != 0;

    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = cr_table_new(md, tname);
    if (!t) {
        FUZZ_CHECK(!judged, "cr_table_new('%s') failed: %s", tname,
                   cr_error_message(cr_metadata_error(md)));
        goto done_md;
    }
    cr_column_def id = {.name = "id", .type = CR_SQL_INTEGER, .primary_key = true};
    cr_column_def col = {.name = cname, .type = CR_SQL_STRING(20), .unique = opts & 1,
                         .index = opts & 2, .nullable = opts & 4 ? CR_YES : CR_NO};
    char ref_target[4096];
    snprintf(ref_target, sizeof ref_target, "%s.id", tname);
    cr_column_def ref = {.name = "ref", .type = CR_SQL_INTEGER, .foreign_key = ref_target};
    bool defined = cr_table_add_column(t, &id) && cr_table_add_column(t, &col) &&
                   (!(opts & 8) || cr_table_add_column(t, &ref));
    if (!defined) {
        FUZZ_CHECK(!judged, "columns of '%s' ('%s') refused: %s", tname, cname,
                   cr_error_message(cr_metadata_error(md)));
        goto done_md;
    }

    cr_error *err = NULL;
    cr_engine *e = cr_create_engine("sqlite://", NULL, &err);
    FUZZ_CHECK(e, "no engine: %s", cr_error_message(err));
    cr_conn *c = cr_engine_connect(e, &err);
    FUZZ_CHECK(c, "no connection: %s", cr_error_message(err));
    fuzz_limit_sqlite(c);

    cr_status st = cr_metadata_create_all(md, c, false);
    if (st != CR_OK) {
        FUZZ_CHECK(!judged, "CREATE TABLE '%s' (column '%s') failed: %s", tname, cname,
                   conn_msg(c));
    } else {
        if (judged)
            check_reflected(c, tname, cname, opts);
        st = cr_table_drop(t, c, false);
        FUZZ_CHECK(st == CR_OK || !judged, "DROP TABLE '%s' failed: %s", tname, conn_msg(c));
        if (judged) {
            cr_inspector *in = cr_inspect(c);
            bool exists = true;
            FUZZ_CHECK(in && cr_inspector_has_table(in, tname, &exists) == CR_OK && !exists,
                       "table '%s' still there after DROP", tname);
            cr_inspector_free(in);
        }
    }
    cr_conn_close(c);
    cr_engine_free(e);
done_md:
    cr_metadata_free(md);
    free(cname);
    free(tname);
    return 0;
}
