/* inspect.c — the Inspector: reads tables, columns and constraints back from the database. */
#include "schema/inspect.h"
#include "engine/engine.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Positions of the columns of the constraint queries (see inspect.h). */
enum { C_GROUP, C_NAME, C_COLUMN, C_REFTABLE, C_REFCOLUMN, C_ONDELETE, C_ONUPDATE };
enum { C_UNIQUE = 3 };
/* Positions of the columns of columns_sql. */
enum { K_NAME, K_TYPE, K_NULLABLE, K_DEFAULT, K_AUTOINC, K_COMMENT, K_ENUM };

/* ---- helpers shared with the dialect parts -------------------------------- */

cr_rowset *cr_reflect_query(cr_inspector *insp, const char *sql, const char *table)
{
    cr_param params[2] = {{"name", cr_val_text(table)}, {NULL, {CR_NULL, {0}}}};
    cr_result *r = cr_conn_execute(insp->conn, sql, table ? params : NULL);
    if (!r)
        return NULL;
    cr_rowset *rows = cr_result_all(r);
    if (!rows) {
        /* The result holds the reason; the connection is where callers look. */
        const cr_error *e = cr_result_error(r);
        if (e)
            cr_error_copy(&insp->conn->err, e);
        else
            cr_error_oom(&insp->conn->err);
    }
    cr_result_free(r);
    return rows;
}

cr_status cr_reflect_oom(cr_inspector *insp)
{
    return cr_error_oom(&insp->conn->err);
}

char *cr_reflect_strndup(cr_inspector *insp, const char *s, size_t len)
{
    char *p = cr_arena_alloc(&insp->arena, len + 1);
    if (!p) {
        cr_error_oom(&insp->conn->err);
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

const char *cr_reflect_text(cr_inspector *insp, const cr_row *row, int col, bool *oom)
{
    const cr_value *v = cr_row_value_at(row, col);
    if (!v)
        return NULL;
    char num[32];
    const char *p;
    size_t len;
    switch (v->type) {
    case CR_TEXT:
    case CR_NUMERIC:
        p = v->v.s.ptr;
        len = v->v.s.len;
        break;
    case CR_BLOB:   /* MariaDB's information_schema may hand text as bytes */
        p = v->v.blob.ptr;
        len = v->v.blob.len;
        break;
    case CR_INT:
        len = (size_t)cr_format_int64(v->v.i, num);
        p = num;
        break;
    case CR_BOOL:
        p = v->v.b ? "1" : "0";
        len = 1;
        break;
    default:
        return NULL;
    }
    char *s = cr_reflect_strndup(insp, p, len);
    if (!s)
        *oom = true;
    return s;
}

bool cr_reflect_bool(const cr_row *row, int col)
{
    const cr_value *v = cr_row_value_at(row, col);
    if (!v)
        return false;
    switch (v->type) {
    case CR_BOOL:
        return v->v.b;
    case CR_INT:
        return v->v.i != 0;
    case CR_TEXT:
    case CR_NUMERIC: {
        static const char *const truths[] = {"t", "true", "1", "yes", "y"};
        for (size_t i = 0; i < CR_ARRAY_LEN(truths); i++)
            if (v->v.s.len == strlen(truths[i]) &&
                strncasecmp(v->v.s.ptr, truths[i], v->v.s.len) == 0)
                return true;
        return false;
    }
    default:
        return false;
    }
}

/* Parse "enum('a','b''c')" labels (the text after the open parenthesis). */
static cr_status parse_enum_labels(cr_inspector *insp, const char *p, cr_sqltype *out)
{
    size_t n = 0;
    for (const char *q = p; *q; q++)
        if (*q == ',')
            n++;
    const char **labels = cr_arena_alloc(&insp->arena, (n + 2) * sizeof *labels);
    if (!labels)
        return cr_error_oom(&insp->conn->err);
    size_t k = 0;
    cr_buf b;
    cr_buf_init(&b);
    while (*p && k <= n) {
        while (*p && *p != '\'')
            p++;
        if (!*p)
            break;
        cr_buf_clear(&b);
        for (p++; *p; p++) {
            if (*p == '\'' && p[1] == '\'') {
                cr_buf_putc(&b, '\'');
                p++;
            } else if (*p == '\\' && p[1]) {   /* MySQL escapes inside literals */
                cr_buf_putc(&b, *++p);
            } else if (*p == '\'') {
                p++;
                break;
            } else {
                cr_buf_putc(&b, *p);
            }
        }
        const char *label = cr_buf_cstr(&b);
        labels[k] = label ? cr_reflect_strndup(insp, label, b.len) : NULL;
        if (!labels[k]) {
            cr_buf_free(&b);
            return cr_error_oom(&insp->conn->err);
        }
        k++;
    }
    cr_buf_free(&b);
    labels[k] = NULL;
    out->enum_values = labels;
    return CR_OK;
}

/* Type names without their arguments, upper case, and the kind each maps
 * to, as SQLAlchemy's ischema_names do. */
static const struct {
    const char *name;
    cr_sqltype_kind kind;
} type_names[] = {
    {"BIGINT", CR_SQLTYPE_BIGINT},        {"BIGSERIAL", CR_SQLTYPE_BIGINT},
    {"BINARY", CR_SQLTYPE_BINARY},        {"BIT", CR_SQLTYPE_BOOLEAN},
    {"BLOB", CR_SQLTYPE_BINARY},          {"BOOL", CR_SQLTYPE_BOOLEAN},
    {"BOOLEAN", CR_SQLTYPE_BOOLEAN},      {"BYTEA", CR_SQLTYPE_BINARY},
    {"CHAR", CR_SQLTYPE_STRING},          {"CHARACTER", CR_SQLTYPE_STRING},
    {"CHARACTER VARYING", CR_SQLTYPE_STRING}, {"CLOB", CR_SQLTYPE_TEXT},
    {"DATE", CR_SQLTYPE_DATE},            {"DATETIME", CR_SQLTYPE_DATETIME},
    {"DEC", CR_SQLTYPE_NUMERIC},          {"DECIMAL", CR_SQLTYPE_NUMERIC},
    {"DOUBLE", CR_SQLTYPE_DOUBLE},        {"DOUBLE PRECISION", CR_SQLTYPE_DOUBLE},
    {"ENUM", CR_SQLTYPE_ENUM},            {"FLOAT", CR_SQLTYPE_FLOAT},
    {"FLOAT4", CR_SQLTYPE_FLOAT},         {"FLOAT8", CR_SQLTYPE_DOUBLE},
    {"INT", CR_SQLTYPE_INTEGER},          {"INT2", CR_SQLTYPE_SMALLINT},
    {"INT4", CR_SQLTYPE_INTEGER},         {"INT8", CR_SQLTYPE_BIGINT},
    {"INTEGER", CR_SQLTYPE_INTEGER},      {"JSON", CR_SQLTYPE_JSON},
    {"JSONB", CR_SQLTYPE_JSON},           {"LONGBLOB", CR_SQLTYPE_BINARY},
    {"LONGTEXT", CR_SQLTYPE_TEXT},        {"MEDIUMBLOB", CR_SQLTYPE_BINARY},
    {"MEDIUMINT", CR_SQLTYPE_INTEGER},    {"MEDIUMTEXT", CR_SQLTYPE_TEXT},
    {"NCHAR", CR_SQLTYPE_STRING},         {"NUMERIC", CR_SQLTYPE_NUMERIC},
    {"NVARCHAR", CR_SQLTYPE_STRING},      {"REAL", CR_SQLTYPE_FLOAT},
    {"SERIAL", CR_SQLTYPE_INTEGER},       {"SMALLINT", CR_SQLTYPE_SMALLINT},
    {"SMALLSERIAL", CR_SQLTYPE_SMALLINT}, {"TEXT", CR_SQLTYPE_TEXT},
    {"TIME", CR_SQLTYPE_TIME},            {"TIMESTAMP", CR_SQLTYPE_DATETIME},
    {"TIMESTAMPTZ", CR_SQLTYPE_DATETIME}, {"TIMETZ", CR_SQLTYPE_TIME},
    {"TINYBLOB", CR_SQLTYPE_BINARY},      {"TINYINT", CR_SQLTYPE_SMALLINT},
    {"TINYTEXT", CR_SQLTYPE_TEXT},        {"UUID", CR_SQLTYPE_UUID},
    {"VARBINARY", CR_SQLTYPE_BINARY},     {"VARCHAR", CR_SQLTYPE_STRING},
    {"VARCHAR2", CR_SQLTYPE_STRING},      {"YEAR", CR_SQLTYPE_INTEGER},
};

cr_status cr_reflect_parse_type(cr_inspector *insp, const char *type_name, cr_sqltype *out)
{
    memset(out, 0, sizeof *out);
    if (!type_name)
        return CR_OK;
    /* Split "name words (args) trailing words": the name is every word before
     * the parenthesis, the trailing words (with time zone, unsigned) after. */
    char base[64];
    size_t blen = 0;
    const char *p = type_name;
    while (*p && *p != '(' && *p != '[') {
        char c = *p++;
        if (isspace((unsigned char)c)) {
            if (blen && base[blen - 1] != ' ' && blen < sizeof base - 1)
                base[blen++] = ' ';
        } else if (blen < sizeof base - 1) {
            base[blen++] = (char)toupper((unsigned char)c);
        }
    }
    while (blen && base[blen - 1] == ' ')
        blen--;
    base[blen] = '\0';
    long args[2] = {-1, -1};
    int nargs = 0;
    const char *after = p;
    if (*p == '(') {
        const char *close = strchr(p, ')');
        if (strncasecmp(base, "ENUM", 4) != 0) {
            const char *q = p + 1;
            while (nargs < 2 && *q && *q != ')') {
                char *end;
                long v = strtol(q, &end, 10);
                if (end == q)
                    break;
                args[nargs++] = v;
                q = end;
                while (*q == ' ' || *q == ',')
                    q++;
            }
        }
        after = close ? close + 1 : p + strlen(p);
    }
    char tail[64];
    size_t tlen = 0;
    for (; *after && tlen < sizeof tail - 1; after++)
        tail[tlen++] = (char)toupper((unsigned char)*after);
    tail[tlen] = '\0';
    /* PostgreSQL writes "timestamp(3) with time zone" and
     * "character varying(20)": the words after the arguments count too. */
    bool with_tz = strstr(base, "WITH TIME ZONE") || strstr(tail, "WITH TIME ZONE");
    char *w = strstr(base, " WITH");
    if (w)
        *w = '\0';
    w = strstr(base, " UNSIGNED");
    if (w)
        *w = '\0';

    cr_sqltype_kind kind = CR_SQLTYPE_NONE;
    for (size_t i = 0; i < CR_ARRAY_LEN(type_names); i++)
        if (strcmp(base, type_names[i].name) == 0) {
            kind = type_names[i].kind;
            break;
        }
    /* SQLite accepts any spelling; its type affinity rules decide the rest. */
    if (kind == CR_SQLTYPE_NONE && base[0]) {
        if (strstr(base, "INT"))
            kind = CR_SQLTYPE_INTEGER;
        else if (strstr(base, "CHAR") || strstr(base, "CLOB") || strstr(base, "TEXT"))
            kind = CR_SQLTYPE_TEXT;
    }
    /* An array ("integer[]") is no scalar type Crucible has. */
    if (kind != CR_SQLTYPE_ENUM && strstr(type_name, "[]"))
        kind = CR_SQLTYPE_NONE;
    out->kind = kind;
    switch (kind) {
    case CR_SQLTYPE_STRING:
        out->length = args[0] > 0 ? (int)args[0] : 0;
        break;
    case CR_SQLTYPE_NUMERIC:
        out->precision = args[0] > 0 ? (int)args[0] : 0;
        out->scale = args[1] > 0 ? (int)args[1] : 0;
        break;
    case CR_SQLTYPE_SMALLINT:
        /* MySQL's BOOLEAN is TINYINT(1). */
        if (strcmp(base, "TINYINT") == 0 && nargs == 1 && args[0] == 1)
            out->kind = CR_SQLTYPE_BOOLEAN;
        break;
    case CR_SQLTYPE_BOOLEAN:
        if (strcmp(base, "BIT") == 0 && nargs == 1 && args[0] > 1)
            out->kind = CR_SQLTYPE_BINARY;
        break;
    case CR_SQLTYPE_DATETIME:
    case CR_SQLTYPE_TIME:
        out->timezone = with_tz || strcmp(base, "TIMESTAMPTZ") == 0 ||
                        strcmp(base, "TIMETZ") == 0;
        break;
    case CR_SQLTYPE_ENUM:
        if (*p == '(')
            return parse_enum_labels(insp, p + 1, out);
        break;
    default:
        break;
    }
    return CR_OK;
}

/* ---- the inspector --------------------------------------------------------- */

cr_inspector *cr_inspect(cr_conn *conn)
{
    if (!conn)
        return NULL;
    cr_error_clear(&conn->err);
    const cr_dialect *d = cr_dialect_find(cr_engine_backend(cr_conn_engine(conn)));
    if (!d || !d->reflect) {
        cr_error_set(&conn->err, CR_ERR_NOT_SUPPORTED, "reflection is not supported on %s",
                     cr_engine_backend(cr_conn_engine(conn)));
        return NULL;
    }
    cr_inspector *insp = cr_calloc(1, sizeof *insp);
    if (!insp) {
        cr_error_oom(&conn->err);
        return NULL;
    }
    cr_conn_ref_attach(conn, &insp->ref, &insp->conn);
    insp->ops = d->reflect;
    cr_arena_init(&insp->arena, 4096);
    return insp;
}

void cr_inspector_free(cr_inspector *insp)
{
    if (!insp)
        return;
    cr_conn_ref_detach(&insp->ref);
    cr_arena_free(&insp->arena);
    cr_free(insp);
}

static cr_status fail_status(cr_inspector *insp)
{
    cr_status st = cr_error_class(cr_conn_error(insp->conn));
    return st != CR_OK ? st : CR_ERR_INTERNAL;
}

/* Whether a getter may run: an inspector whose connection is open, and
 * somewhere to store each output (out2 may stand for a getter's single
 * output twice). */
static cr_status usable(cr_inspector *insp, const char *getter, const void *out1,
                        const void *out2)
{
    if (!insp)
        return CR_ERR_ARGUMENT;
    if (!insp->conn)
        return CR_ERR_RESOURCE_CLOSED;
    if (!out1 || !out2) {
        cr_error_set(&insp->conn->err, CR_ERR_ARGUMENT, "%s: an output pointer is NULL",
                     getter);
        return CR_ERR_ARGUMENT;
    }
    return CR_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

cr_status cr_inspector_get_table_names(cr_inspector *insp, const char *const **names, size_t *n)
{
    if (names)
        *names = NULL;
    if (n)
        *n = 0;
    cr_status st = usable(insp, "get_table_names", names, n);
    if (st)
        return st;
    cr_rowset *rows = cr_reflect_query(insp, insp->ops->table_names_sql, NULL);
    if (!rows)
        return fail_status(insp);
    size_t count = cr_rowset_count(rows);
    const char **out = cr_arena_alloc(&insp->arena, (count + 1) * sizeof *out);
    bool oom = !out;
    size_t k = 0;
    for (size_t i = 0; !oom && i < count; i++) {
        const char *s = cr_reflect_text(insp, cr_rowset_row(rows, i), 0, &oom);
        if (s)
            out[k++] = s;
    }
    cr_rowset_free(rows);
    if (oom)
        return cr_error_oom(&insp->conn->err);
    /* Sorted by code point here, not by the server's collation, so the
     * order is the same on every backend. */
    qsort(out, k, sizeof *out, compare_names);
    out[k] = NULL;
    *names = out;
    *n = k;
    return CR_OK;
}

cr_status cr_inspector_has_table(cr_inspector *insp, const char *table, bool *exists)
{
    if (exists)
        *exists = false;
    cr_status st = usable(insp, "has_table", exists, exists);
    if (st)
        return st;
    if (!table)
        return cr_error_set(&insp->conn->err, CR_ERR_ARGUMENT, "has_table: no table name");
    cr_rowset *rows = cr_reflect_query(insp, insp->ops->has_table_sql, table);
    if (!rows)
        return fail_status(insp);
    *exists = cr_rowset_count(rows) > 0;
    cr_rowset_free(rows);
    return CR_OK;
}

/* NoSuchTableError: a table without columns does not exist. */
static cr_status no_such_table(cr_inspector *insp, const char *table)
{
    bool exists = false;
    cr_status st = cr_inspector_has_table(insp, table, &exists);
    if (st != CR_OK)
        return st;
    if (exists)
        return CR_OK;
    return cr_error_set(&insp->conn->err, CR_ERR_INVALID_REQUEST, "no such table: %s", table);
}

cr_status cr_inspector_get_columns(cr_inspector *insp, const char *table,
                                   const cr_reflected_column **cols, size_t *n)
{
    if (cols)
        *cols = NULL;
    if (n)
        *n = 0;
    cr_status ready = usable(insp, "get_columns", cols, n);
    if (ready)
        return ready;
    if (!table)
        return cr_error_set(&insp->conn->err, CR_ERR_ARGUMENT, "get_columns: no table name");
    cr_rowset *rows = cr_reflect_query(insp, insp->ops->columns_sql, table);
    if (!rows)
        return fail_status(insp);
    size_t count = cr_rowset_count(rows);
    if (count == 0) {
        cr_rowset_free(rows);
        cr_status st = no_such_table(insp, table);
        if (st != CR_OK)
            return st;
        *cols = cr_arena_alloc(&insp->arena, sizeof **cols);
        return *cols ? CR_OK : cr_error_oom(&insp->conn->err);
    }
    cr_reflected_column *out = cr_arena_alloc(&insp->arena, count * sizeof *out);
    bool oom = !out;
    cr_status st = CR_OK;
    for (size_t i = 0; !oom && st == CR_OK && i < count; i++) {
        const cr_row *row = cr_rowset_row(rows, i);
        cr_reflected_column *c = &out[i];
        memset(c, 0, sizeof *c);
        c->name = cr_reflect_text(insp, row, K_NAME, &oom);
        c->type_name = cr_reflect_text(insp, row, K_TYPE, &oom);
        c->nullable = cr_reflect_bool(row, K_NULLABLE);
        c->default_sql = cr_reflect_text(insp, row, K_DEFAULT, &oom);
        c->autoincrement = cr_reflect_bool(row, K_AUTOINC);
        c->comment = cr_reflect_text(insp, row, K_COMMENT, &oom);
        const char *enum_name = cr_reflect_text(insp, row, K_ENUM, &oom);
        if (oom)
            break;
        if (!c->name)
            c->name = "";
        if (!c->type_name)
            c->type_name = "";
        st = cr_reflect_parse_type(insp, c->type_name, &c->type);
        if (enum_name) {
            c->type.kind = CR_SQLTYPE_ENUM;
            c->type.enum_name = enum_name;
        }
    }
    cr_rowset_free(rows);
    if (oom)
        return cr_error_oom(&insp->conn->err);
    if (st == CR_OK && insp->ops->fix_columns)
        st = insp->ops->fix_columns(insp, table, out, count);
    if (st != CR_OK)
        return st;
    *cols = out;
    *n = count;
    return CR_OK;
}

static bool same_value(const cr_value *a, const cr_value *b)
{
    if (!a || !b || a->type != b->type)
        return false;
    switch (a->type) {
    case CR_NULL:
        return true;
    case CR_INT:
        return a->v.i == b->v.i;
    case CR_TEXT:
    case CR_NUMERIC:
        return a->v.s.len == b->v.s.len && memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0;
    case CR_BLOB:
        return a->v.blob.len == b->v.blob.len &&
               memcmp(a->v.blob.ptr, b->v.blob.ptr, a->v.blob.len) == 0;
    default:
        return false;
    }
}

/* Run one of the constraint queries and fold its rows, one per column, into
 * constraints: adjacent rows of the same group are one constraint. */
static cr_status read_constraints(cr_inspector *insp, const char *sql, const char *table,
                                  cr_reflect_kind kind, cr_reflected_constraint **cons,
                                  size_t *n)
{
    *cons = NULL;
    *n = 0;
    if (!table)
        return cr_error_set(&insp->conn->err, CR_ERR_ARGUMENT, "no table name");
    cr_rowset *rows = cr_reflect_query(insp, sql, table);
    if (!rows)
        return fail_status(insp);
    size_t count = cr_rowset_count(rows);
    if (count == 0) {
        cr_rowset_free(rows);
        /* As get_columns: a table that is not there is an error, not "no
         * constraints". */
        cr_status st = no_such_table(insp, table);
        if (st != CR_OK)
            return st;
        *cons = cr_arena_alloc(&insp->arena, sizeof **cons);
        if (!*cons)
            return cr_error_oom(&insp->conn->err);
        memset(*cons, 0, sizeof **cons);
        return CR_OK;
    }
    /* At most one constraint per row; columns arrays sized for the rows. */
    cr_reflected_constraint *out = cr_arena_alloc(&insp->arena, count * sizeof *out);
    const char **colv = cr_arena_alloc(&insp->arena, count * sizeof *colv);
    const char **refv = cr_arena_alloc(&insp->arena, count * sizeof *refv);
    bool oom = !out || !colv || !refv;
    size_t k = 0;
    const cr_value *group = NULL;
    for (size_t i = 0; !oom && i < count; i++) {
        const cr_row *row = cr_rowset_row(rows, i);
        const cr_value *g = cr_row_value_at(row, C_GROUP);
        cr_reflected_constraint *c;
        if (k > 0 && same_value(g, group)) {
            c = &out[k - 1];
        } else {
            c = &out[k++];
            memset(c, 0, sizeof *c);
            c->columns = colv + i;
            group = g;
            c->name = cr_reflect_text(insp, row, C_NAME, &oom);
            if (kind == CR_REFLECT_FK) {
                c->referred_table = cr_reflect_text(insp, row, C_REFTABLE, &oom);
                c->referred_columns = refv + i;
                c->ondelete = cr_reflect_text(insp, row, C_ONDELETE, &oom);
                c->onupdate = cr_reflect_text(insp, row, C_ONUPDATE, &oom);
                /* The default action is no action to report. */
                if (c->ondelete && strcasecmp(c->ondelete, "NO ACTION") == 0)
                    c->ondelete = NULL;
                if (c->onupdate && strcasecmp(c->onupdate, "NO ACTION") == 0)
                    c->onupdate = NULL;
            } else if (kind == CR_REFLECT_INDEX) {
                c->unique = cr_reflect_bool(row, C_UNIQUE);
            } else if (kind == CR_REFLECT_UNIQUE) {
                c->unique = true;
            }
        }
        colv[i] = cr_reflect_text(insp, row, C_COLUMN, &oom);
        if (kind == CR_REFLECT_FK)
            refv[i] = cr_reflect_text(insp, row, C_REFCOLUMN, &oom);
        c->ncolumns++;
    }
    cr_rowset_free(rows);
    if (oom)
        return cr_error_oom(&insp->conn->err);
    if (insp->ops->fix_constraints) {
        cr_status st = insp->ops->fix_constraints(insp, table, kind, out, k);
        if (st != CR_OK)
            return st;
    }
    *cons = out;
    *n = k;
    return CR_OK;
}

/* One of the constraint getters: its outputs checked and cleared first. */
static cr_status get_constraints(cr_inspector *insp, const char *getter, cr_reflect_kind kind,
                                 const char *table, const cr_reflected_constraint **out,
                                 size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    cr_status st = usable(insp, getter, out, n);
    if (st)
        return st;
    const cr_reflect_ops *ops = insp->ops;
    const char *sql = kind == CR_REFLECT_PK ? ops->pk_sql
                    : kind == CR_REFLECT_FK ? ops->foreign_keys_sql
                    : kind == CR_REFLECT_INDEX ? ops->indexes_sql
                                               : ops->unique_sql;
    cr_reflected_constraint *cons;
    st = read_constraints(insp, sql, table, kind, &cons, n);
    *out = cons;
    return st;
}

cr_status cr_inspector_get_pk_constraint(cr_inspector *insp, const char *table,
                                         const cr_reflected_constraint **pk)
{
    size_t n;   /* 0: *pk is a zeroed entry, ncolumns 0 */
    return get_constraints(insp, "get_pk_constraint", CR_REFLECT_PK, table, pk, &n);
}

cr_status cr_inspector_get_foreign_keys(cr_inspector *insp, const char *table,
                                        const cr_reflected_constraint **fks, size_t *n)
{
    return get_constraints(insp, "get_foreign_keys", CR_REFLECT_FK, table, fks, n);
}

cr_status cr_inspector_get_indexes(cr_inspector *insp, const char *table,
                                   const cr_reflected_constraint **ixs, size_t *n)
{
    return get_constraints(insp, "get_indexes", CR_REFLECT_INDEX, table, ixs, n);
}

cr_status cr_inspector_get_unique_constraints(cr_inspector *insp, const char *table,
                                              const cr_reflected_constraint **uqs, size_t *n)
{
    return get_constraints(insp, "get_unique_constraints", CR_REFLECT_UNIQUE, table, uqs, n);
}

/* ---- whole tables ---------------------------------------------------------- */

cr_status cr_inspector_get_table(cr_inspector *insp, const char *table, cr_reflected_table *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    cr_status st = usable(insp, "get_table", out, out);
    if (st)
        return st;
    if (!table)
        return cr_error_set(&insp->conn->err, CR_ERR_ARGUMENT, "get_table: no table name");
    cr_reflected_table t = {.name = table};
    if ((st = cr_inspector_get_columns(insp, table, &t.columns, &t.ncolumns)) != CR_OK ||
        (st = cr_inspector_get_pk_constraint(insp, table, &t.pk)) != CR_OK ||
        (st = cr_inspector_get_foreign_keys(insp, table, &t.fks, &t.nfks)) != CR_OK ||
        (st = cr_inspector_get_indexes(insp, table, &t.indexes, &t.nindexes)) != CR_OK ||
        (st = cr_inspector_get_unique_constraints(insp, table, &t.uniques, &t.nuniques)) != CR_OK)
        return st;
    *out = t;
    return CR_OK;
}

cr_status cr_inspector_get_tables(cr_inspector *insp, bool (*include)(void *ctx, const char *table),
                                  void *ctx, const cr_reflected_table **tables, size_t *n)
{
    if (tables)
        *tables = NULL;
    if (n)
        *n = 0;
    cr_status st = usable(insp, "get_tables", tables, n);
    if (st)
        return st;
    const char *const *names;
    size_t count;
    if ((st = cr_inspector_get_table_names(insp, &names, &count)) != CR_OK)
        return st;
    cr_reflected_table *out = cr_arena_alloc(&insp->arena, (count + 1) * sizeof *out);
    if (!out)
        return cr_error_oom(&insp->conn->err);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (include && !include(ctx, names[i]))
            continue;
        if ((st = cr_inspector_get_table(insp, names[i], &out[k])) != CR_OK)
            return st;
        k++;
    }
    *tables = out;
    *n = k;
    return CR_OK;
}

/* ---- Table(name, metadata, autoload_with=conn) ------------------------------ */

/* The table's column handles for a constraint's column names; false when
 * one is not a plain column (an expression index). */
static bool find_columns(cr_table *t, const cr_reflected_constraint *c, cr_column **out)
{
    for (size_t i = 0; i < c->ncolumns; i++) {
        out[i] = c->columns[i] ? cr_table_column(t, c->columns[i]) : NULL;
        if (!out[i])
            return false;
    }
    return c->ncolumns > 0;
}

static cr_status reflect_into(cr_inspector *insp, cr_metadata *md, const char *name,
                              cr_table **out)
{
    cr_conn *conn = insp->conn;
    cr_reflected_table rt;
    cr_status st = cr_inspector_get_table(insp, name, &rt);
    if (st == CR_OK && rt.ncolumns == 0)
        st = cr_error_set(&conn->err, CR_ERR_INVALID_REQUEST, "no such table: %s", name);
    if (st != CR_OK)
        return st;
    const cr_reflected_column *cols = rt.columns;
    const cr_reflected_constraint *pk = rt.pk, *fks = rt.fks, *uqs = rt.uniques,
                                  *ixs = rt.indexes;
    size_t ncols = rt.ncolumns, nfks = rt.nfks, nuqs = rt.nuniques, nixs = rt.nindexes;

    cr_table *t = cr_table_new(md, name);
    if (!t)
        goto md_error;
    for (size_t i = 0; i < ncols; i++) {
        const cr_reflected_column *c = &cols[i];
        cr_column_def def = {
            .name = c->name,
            .type = c->type,
            .autoincrement = c->autoincrement ? CR_YES : CR_NO,
            .nullable = c->nullable ? CR_YES : CR_NO,
            .server_default = c->default_sql,
            .comment = c->comment,
        };
        /* A type Crucible has no name for is kept as its nearest kin: what
         * the column holds reads back as text (SQLAlchemy's NullType). */
        if (def.type.kind == CR_SQLTYPE_NONE)
            def.type.kind = CR_SQLTYPE_TEXT;
        if (!cr_table_add_column(t, &def))
            goto md_error;
    }

    /* Every constraint's column list fits in ncols handles except an index
     * that names a column twice, which find_columns refuses. */
    cr_column **handles = cr_arena_alloc(&insp->arena, (ncols + 1) * sizeof *handles);
    if (!handles)
        return cr_error_oom(&conn->err);
    if (pk->ncolumns > 0 && pk->ncolumns <= ncols && find_columns(t, pk, handles) &&
        cr_table_primary_key(t, pk->name, handles, pk->ncolumns) != CR_OK)
        goto md_error;
    for (size_t i = 0; i < nfks; i++) {
        const cr_reflected_constraint *fk = &fks[i];
        if (fk->ncolumns > ncols || !find_columns(t, fk, handles) || !fk->referred_table)
            continue;
        const char **refs = cr_arena_alloc(&insp->arena, fk->ncolumns * sizeof *refs);
        if (!refs)
            return cr_error_oom(&conn->err);
        bool ok = true;
        for (size_t j = 0; ok && j < fk->ncolumns; j++) {
            /* SQLite leaves out a referred column that is the referred
             * table's primary key. */
            const char *rc = fk->referred_columns[j];
            if (!rc) {
                ok = false;
                break;
            }
            size_t len = strlen(fk->referred_table) + strlen(rc) + 2;
            char *ref = cr_arena_alloc(&insp->arena, len);
            if (!ref)
                return cr_error_oom(&conn->err);
            snprintf(ref, len, "%s.%s", fk->referred_table, rc);
            refs[j] = ref;
        }
        if (ok && cr_table_foreign_key(t, fk->name, handles, fk->ncolumns, refs, fk->ondelete,
                                       fk->onupdate) != CR_OK)
            goto md_error;
    }
    for (size_t i = 0; i < nuqs; i++) {
        if (uqs[i].ncolumns > ncols || !find_columns(t, &uqs[i], handles))
            continue;
        if (cr_table_unique(t, uqs[i].name, handles, uqs[i].ncolumns) != CR_OK)
            goto md_error;
    }
    for (size_t i = 0; i < nixs; i++) {
        const cr_reflected_constraint *ix = &ixs[i];
        /* The index that backs a unique constraint is that constraint
         * (PostgreSQL, MySQL): declared once. */
        bool dup = false;
        for (size_t j = 0; !dup && j < nuqs; j++)
            dup = ix->name && uqs[j].name && strcmp(ix->name, uqs[j].name) == 0;
        if (dup || ix->ncolumns > ncols || !find_columns(t, ix, handles))
            continue;
        if (cr_table_index(t, ix->name, ix->unique, handles, ix->ncolumns) != CR_OK)
            goto md_error;
    }
    *out = t;
    return CR_OK;

md_error:
    /* Building errors are kept on the metadata; the caller of a reflection
     * looks on the connection. */
    if (cr_metadata_error(md))
        cr_error_copy(&conn->err, cr_metadata_error(md));
    else
        cr_error_set(&conn->err, CR_ERR_ARGUMENT, "cannot build reflected table %s", name);
    return cr_error_class(cr_conn_error(conn));
}

cr_table *cr_metadata_reflect_table(cr_metadata *md, cr_conn *conn, const char *name)
{
    if (!md || !conn)
        return NULL;
    if (!name) {
        cr_error_set(&conn->err, CR_ERR_ARGUMENT, "reflect_table: no table name");
        return NULL;
    }
    cr_inspector *insp = cr_inspect(conn);
    if (!insp)
        return NULL;
    cr_table *t = NULL;
    reflect_into(insp, md, name, &t);
    cr_inspector_free(insp);
    return t;
}
