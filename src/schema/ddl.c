/* ddl.c — CREATE TABLE / CREATE INDEX / DROP TABLE as SQLAlchemy's DDLCompiler writes them, and create_all / drop_all. */
#include "schema/ddl.h"

#include "engine/engine.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- helpers the dialects share ------------------------------------------ */

size_t cr_ddl_enum_length(const cr_sqltype *type)
{
    size_t n = 0;
    for (size_t i = 0; type->enum_values && type->enum_values[i]; i++) {
        size_t len = strlen(type->enum_values[i]);
        if (len > n)
            n = len;
    }
    return n;
}

void cr_ddl_generic_type(cr_buf *b, const cr_sqltype *t)
{
    switch (t->kind) {
    case CR_SQLTYPE_NONE:
        cr_buf_puts(b, "NULL");
        break;
    case CR_SQLTYPE_INTEGER:
        cr_buf_puts(b, "INTEGER");
        break;
    case CR_SQLTYPE_SMALLINT:
        cr_buf_puts(b, "SMALLINT");
        break;
    case CR_SQLTYPE_BIGINT:
        cr_buf_puts(b, "BIGINT");
        break;
    case CR_SQLTYPE_STRING:
        if (t->length > 0)
            cr_buf_printf(b, "VARCHAR(%d)", t->length);
        else
            cr_buf_puts(b, "VARCHAR");
        break;
    case CR_SQLTYPE_TEXT:
        cr_buf_puts(b, "TEXT");
        break;
    case CR_SQLTYPE_BOOLEAN:
        cr_buf_puts(b, "BOOLEAN");
        break;
    case CR_SQLTYPE_FLOAT:
        cr_buf_puts(b, "FLOAT");
        break;
    case CR_SQLTYPE_DOUBLE:
        cr_buf_puts(b, "DOUBLE");
        break;
    case CR_SQLTYPE_NUMERIC:
        /* Numeric() without a precision is NUMERIC; with one, the scale is
         * written as declared (NUMERIC(10, 0) keeps its zero). */
        if (t->precision > 0)
            cr_buf_printf(b, "NUMERIC(%d, %d)", t->precision, t->scale);
        else
            cr_buf_puts(b, "NUMERIC");
        break;
    case CR_SQLTYPE_DATE:
        cr_buf_puts(b, "DATE");
        break;
    case CR_SQLTYPE_TIME:
        cr_buf_puts(b, "TIME");
        break;
    case CR_SQLTYPE_DATETIME:
        cr_buf_puts(b, "DATETIME");
        break;
    case CR_SQLTYPE_BINARY:
        cr_buf_puts(b, "BLOB");
        break;
    case CR_SQLTYPE_JSON:
        cr_buf_puts(b, "JSON");
        break;
    case CR_SQLTYPE_UUID:
        /* Uuid without a native type: 32 hex digits (SQLAlchemy's CHAR(32)). */
        cr_buf_puts(b, "CHAR(32)");
        break;
    case CR_SQLTYPE_ENUM:
        /* Enum without a native type: a VARCHAR as long as the longest value. */
        cr_buf_printf(b, "VARCHAR(%zu)", cr_ddl_enum_length(t));
        break;
    }
}

void cr_ddl_put_literal(cr_buf *b, const char *s, bool backslash_escapes)
{
    cr_buf_putc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'' || (backslash_escapes && *p == '\\'))
            cr_buf_putc(b, *p);
        cr_buf_putc(b, *p);
    }
    cr_buf_putc(b, '\'');
}

/* ---- rendering ----------------------------------------------------------- */

static bool is_word(unsigned char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* SQLite and MySQL want an expression default in parentheses: DEFAULT
 * (now()); a literal ('x', 0) or a bare word (CURRENT_TIMESTAMP) is left
 * as it is. SQLAlchemy's test: not ^\s*['"(] and .*\W.* */
static bool default_needs_parens(const char *text)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p == '\'' || *p == '"' || *p == '(')
        return false;
    for (p = text; *p; p++)
        if (!is_word((unsigned char)*p))
            return true;
    return false;
}

/* ON DELETE / ON UPDATE take only these (SQLAlchemy's validate_sql_phrase):
 * the text goes into the DDL unquoted. */
static bool valid_fk_action(const char *s)
{
    static const char *const actions[] = {"RESTRICT", "CASCADE", "SET NULL", "NO ACTION",
                                          "SET DEFAULT"};
    for (size_t i = 0; i < CR_ARRAY_LEN(actions); i++)
        if (strcasecmp(s, actions[i]) == 0)
            return true;
    return false;
}

/* What one rendering needs: the dialect and where an error goes. */
typedef struct ddl_ctx {
    const cr_dialect *d;
    const cr_ddl_ops *ops;
    cr_error *err;
} ddl_ctx;

static void put_name(const ddl_ctx *c, cr_buf *b, const char *name)
{
    cr_dialect_quote(c->d, b, name);
}

static void put_column_list(const ddl_ctx *c, cr_buf *b, cr_column *const *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            cr_buf_puts(b, ", ");
        put_name(c, b, cols[i]->name);
    }
}

/* Whether the column is the generated key the DDL spells (SERIAL,
 * AUTO_INCREMENT): a default of the column's own takes precedence. */
static bool ddl_autoincrement(const cr_column *col, const cr_column *autoinc)
{
    return col == autoinc && col->default_value.type == CR_NULL && !col->default_fn &&
           !col->server_default;
}

static void put_default(const ddl_ctx *c, cr_buf *b, const cr_column *col)
{
    if (!col->server_default)
        return;
    if (c->ops->default_parens && default_needs_parens(col->server_default))
        cr_buf_printf(b, " DEFAULT (%s)", col->server_default);
    else
        cr_buf_printf(b, " DEFAULT %s", col->server_default);
}

static void put_column(const ddl_ctx *c, cr_buf *b, const cr_column *col, const cr_column *autoinc)
{
    bool serial = ddl_autoincrement(col, autoinc);
    put_name(c, b, col->name);
    cr_buf_putc(b, ' ');
    c->ops->column_type(b, col, serial);
    if (c->ops->default_after_not_null) {
        /* MySQL: name type NOT NULL COMMENT '...' AUTO_INCREMENT | DEFAULT x */
        if (!col->nullable)
            cr_buf_puts(b, " NOT NULL");
        if (col->comment && c->ops->comment_style == CR_DDL_COMMENT_INLINE) {
            cr_buf_puts(b, " COMMENT ");
            cr_ddl_put_literal(b, col->comment, c->ops->backslash_escapes);
        }
        if (serial && c->ops->autoincrement_clause)
            cr_buf_printf(b, " %s", c->ops->autoincrement_clause);
        else
            put_default(c, b, col);
        return;
    }
    put_default(c, b, col);     /* never with SERIAL: ddl_autoincrement saw to it */
    if (!col->nullable)
        cr_buf_puts(b, " NOT NULL");
    if (serial && c->ops->autoincrement_clause)
        cr_buf_printf(b, " %s", c->ops->autoincrement_clause);
    if (col->comment && c->ops->comment_style == CR_DDL_COMMENT_INLINE) {
        cr_buf_puts(b, " COMMENT ");
        cr_ddl_put_literal(b, col->comment, c->ops->backslash_escapes);
    }
}

static void put_constraint_name(const ddl_ctx *c, cr_buf *b, const char *name)
{
    if (name) {
        cr_buf_puts(b, "CONSTRAINT ");
        put_name(c, b, name);
        cr_buf_putc(b, ' ');
    }
}

static bool put_constraint(const ddl_ctx *c, cr_buf *b, const cr_table *t, const cr_constraint *k)
{
    put_constraint_name(c, b, k->name);
    switch (k->kind) {
    case CR_CONSTRAINT_PRIMARY_KEY:
        cr_buf_puts(b, "PRIMARY KEY (");
        put_column_list(c, b, k->cols, k->ncols);
        cr_buf_putc(b, ')');
        break;
    case CR_CONSTRAINT_UNIQUE:
        cr_buf_puts(b, "UNIQUE (");
        put_column_list(c, b, k->cols, k->ncols);
        cr_buf_putc(b, ')');
        break;
    case CR_CONSTRAINT_CHECK:
        cr_buf_printf(b, "CHECK (%s)", k->sqltext);
        break;
    case CR_CONSTRAINT_FOREIGN_KEY:
        cr_buf_puts(b, "FOREIGN KEY(");
        put_column_list(c, b, k->cols, k->ncols);
        cr_buf_puts(b, ") REFERENCES ");
        put_name(c, b, k->ref_tables[0]);
        cr_buf_puts(b, " (");
        for (size_t i = 0; i < k->ncols; i++) {
            if (i)
                cr_buf_puts(b, ", ");
            put_name(c, b, k->ref_columns[i]);
        }
        cr_buf_putc(b, ')');
        if (k->ondelete) {
            if (!valid_fk_action(k->ondelete)) {
                cr_error_set(c->err, CR_ERR_ARGUMENT,
                             "foreign key of table '%s': unexpected SQL phrase '%s' for ON DELETE",
                             t->name, k->ondelete);
                return false;
            }
            cr_buf_printf(b, " ON DELETE %s", k->ondelete);
        }
        if (k->onupdate) {
            if (!valid_fk_action(k->onupdate)) {
                cr_error_set(c->err, CR_ERR_ARGUMENT,
                             "foreign key of table '%s': unexpected SQL phrase '%s' for ON UPDATE",
                             t->name, k->onupdate);
                return false;
            }
            cr_buf_printf(b, " ON UPDATE %s", k->onupdate);
        }
        break;
    case CR_CONSTRAINT_INDEX:
        break;
    }
    return true;
}

static bool render_oom(const ddl_ctx *c, cr_buf *b)
{
    if (!b->oom)
        return true;
    cr_error_oom(c->err);
    return false;
}

/* CREATE TABLE, laid out as SQLAlchemy lays it out: one tab-indented line
 * per column and constraint, separated by ", \n", the primary key first
 * among the constraints. */
static bool render_create_table(const ddl_ctx *c, cr_buf *b, const cr_table *t)
{
    if (t->ncols == 0) {
        cr_error_set(c->err, CR_ERR_ARGUMENT, "table '%s' has no columns", t->name);
        return false;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        const cr_column *col = t->cols[i];
        if (col->type.kind == CR_SQLTYPE_ENUM && c->ops->named_enum_types &&
            !col->type.enum_name) {
            cr_error_set(c->err, CR_ERR_ARGUMENT,
                         "(in table '%s', column '%s'): %s ENUM type requires a name", t->name,
                         col->name, c->d->name);
            return false;
        }
    }
    const cr_column *autoinc = cr_table_autoincrement(t);
    cr_buf_puts(b, "CREATE TABLE ");
    put_name(c, b, t->name);
    cr_buf_puts(b, " (");
    const char *sep = "\n\t";
    for (size_t i = 0; i < t->ncols; i++) {
        cr_buf_puts(b, sep);
        sep = ", \n\t";
        put_column(c, b, t->cols[i], autoinc);
    }

    /* The primary key: an explicit constraint, or the one the columns
     * declared primary_key make, its generated column first
     * (columns_autoinc_first). */
    const cr_constraint *explicit_pk = NULL;
    for (size_t i = 0; i < t->ncons; i++)
        if (t->constraints[i]->kind == CR_CONSTRAINT_PRIMARY_KEY)
            explicit_pk = t->constraints[i];
    if (explicit_pk) {
        cr_buf_puts(b, sep);
        if (!put_constraint(c, b, t, explicit_pk))
            return false;
    } else if (t->npk > 0) {
        char *name = cr_schema_convention_name(t, CR_CONSTRAINT_PRIMARY_KEY, NULL, t->pkcols,
                                               t->npk, NULL, NULL);
        cr_buf_puts(b, sep);
        put_constraint_name(c, b, name);
        cr_free(name);
        cr_buf_puts(b, "PRIMARY KEY (");
        const cr_column *first = autoinc && autoinc->primary_key ? autoinc : NULL;
        if (first)
            put_name(c, b, first->name);
        for (size_t i = 0, n = first != NULL; i < t->npk; i++) {
            if (t->pkcols[i] == first)
                continue;
            if (n++)
                cr_buf_puts(b, ", ");
            put_name(c, b, t->pkcols[i]->name);
        }
        cr_buf_putc(b, ')');
    }
    for (size_t i = 0; i < t->ncons; i++) {
        const cr_constraint *k = t->constraints[i];
        if (k->kind == CR_CONSTRAINT_PRIMARY_KEY || k->kind == CR_CONSTRAINT_INDEX)
            continue;
        cr_buf_puts(b, sep);
        if (!put_constraint(c, b, t, k))
            return false;
    }
    cr_buf_puts(b, "\n)");
    return render_oom(c, b);
}

static void render_create_index(const ddl_ctx *c, cr_buf *b, const cr_table *t,
                                const cr_constraint *k)
{
    cr_buf_puts(b, k->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    put_name(c, b, k->name);
    cr_buf_puts(b, " ON ");
    put_name(c, b, t->name);
    cr_buf_puts(b, " (");
    put_column_list(c, b, k->cols, k->ncols);
    cr_buf_putc(b, ')');
}

static const ddl_ctx *ctx_for(ddl_ctx *c, const cr_dialect *d, cr_error *err)
{
    c->d = d;
    c->ops = d ? d->ddl : NULL;
    c->err = err;
    return d && c->ops ? c : NULL;
}

bool cr_ddl_render_create_table(const cr_dialect *d, cr_buf *b, const cr_table *t, cr_error *err)
{
    ddl_ctx c;
    return ctx_for(&c, d, err) && render_create_table(&c, b, t);
}

void cr_ddl_render_create_index(const cr_dialect *d, cr_buf *b, const cr_table *t,
                                const cr_constraint *k)
{
    ddl_ctx c;
    if (ctx_for(&c, d, NULL))
        render_create_index(&c, b, t, k);
}

void cr_ddl_render_column(const cr_dialect *d, cr_buf *b, const cr_column *col)
{
    ddl_ctx c;
    if (ctx_for(&c, d, NULL))
        put_column(&c, b, col, cr_table_autoincrement(col->table));
}

bool cr_ddl_render_constraint(const cr_dialect *d, cr_buf *b, const cr_table *t,
                              const cr_constraint *k, cr_error *err)
{
    ddl_ctx c;
    return ctx_for(&c, d, err) && put_constraint(&c, b, t, k) && render_oom(&c, b);
}

char *cr_table_create_sql(cr_table *t, const char *dialect)
{
    if (!t)
        return NULL;
    cr_error err;
    cr_error_init(&err);
    ddl_ctx c;
    const cr_dialect *d = cr_dialect_find(dialect);
    char *sql = NULL;
    if (!dialect || !ctx_for(&c, d, &err)) {
        cr_error_set(&err, CR_ERR_ARGUMENT, "no DDL for dialect '%s' (table '%s')",
                     dialect ? dialect : "(null)", t->name);
    } else {
        cr_buf b;
        cr_buf_init(&b);
        if (render_create_table(&c, &b, t)) {
            sql = cr_strdup(cr_buf_cstr(&b));
            if (!sql)
                cr_error_oom(&err);
        }
        cr_buf_free(&b);
    }
    if (!sql && t->md->err.cls == CR_OK)
        cr_error_copy(&t->md->err, &err);
    cr_error_clear(&err);
    return sql;
}

/* ---- executing ----------------------------------------------------------- */

static cr_status conn_fail(cr_conn *conn, const cr_error *err)
{
    cr_error_copy(&conn->err, err);
    return err->cls;
}

static cr_status conn_oom(cr_conn *conn)
{
    return cr_error_oom(&conn->err);
}

/* The dialect of the connection's engine. */
static const cr_dialect *conn_dialect(cr_conn *conn, ddl_ctx *c, cr_error *scratch)
{
    const cr_engine *engine = cr_conn_engine(conn);
    const cr_dialect *d = cr_dialect_find(engine ? cr_engine_backend(engine) : NULL);
    if (!ctx_for(c, d, scratch) || d == &cr_default_dialect) {
        cr_error_set(&conn->err, CR_ERR_NOT_SUPPORTED, "no DDL for this connection's backend");
        return NULL;
    }
    return d;
}

/* What one create_all / drop_all run carries along. */
typedef struct ddl_run {
    cr_conn *conn;
    ddl_ctx c;
    cr_error err;              /* rendering errors, copied to the connection */
    bool checkfirst;
    cr_inspector *insp;        /* made on the first check */
    /* PostgreSQL enum types handled in this run, so each is created or
     * dropped once however many tables use it. */
    const char **types;
    size_t ntypes, typecap;
} ddl_run;

static cr_status run_begin(ddl_run *r, cr_conn *conn, bool checkfirst)
{
    memset(r, 0, sizeof *r);
    cr_error_init(&r->err);
    r->conn = conn;
    r->checkfirst = checkfirst;
    if (!conn)
        return CR_ERR_ARGUMENT;
    if (!conn_dialect(conn, &r->c, &r->err))
        return conn->err.cls;
    return CR_OK;
}

static void run_end(ddl_run *r)
{
    cr_inspector_free(r->insp);
    cr_free(r->types);
    cr_error_clear(&r->err);
}

static cr_status has_table(ddl_run *r, const char *name, bool *exists)
{
    if (!r->insp) {
        r->insp = cr_inspect(r->conn);
        if (!r->insp)
            return r->conn->err.cls != CR_OK ? r->conn->err.cls : conn_oom(r->conn);
    }
    return cr_inspector_has_table(r->insp, name, exists);
}

static cr_status has_type(ddl_run *r, const char *name, bool *exists)
{
    *exists = false;
    const char *sql = r->c.ops->has_type_sql;
    if (!sql)
        return CR_OK;
    cr_result *res = cr_conn_execute(r->conn, sql, CR_PARAMS({"name", cr_val_text(name)}));
    if (!res)
        return r->conn->err.cls;
    cr_value v;
    cr_status st = cr_result_scalar(res, &v);
    if (st == CR_OK)
        *exists = (v.type == CR_INT && v.v.i > 0) || (v.type == CR_BOOL && v.v.b);
    else if (r->conn->err.cls == CR_OK)
        cr_error_copy(&r->conn->err, cr_result_error(res));
    cr_result_free(res);
    return st;
}

/* Whether the run already saw the type; if not, remember it. */
static cr_status seen_type(ddl_run *r, const char *name, bool *seen)
{
    *seen = false;
    for (size_t i = 0; i < r->ntypes; i++)
        if (strcmp(r->types[i], name) == 0) {
            *seen = true;
            return CR_OK;
        }
    if (r->ntypes == r->typecap) {
        size_t cap = r->typecap ? r->typecap * 2 : 8;
        const char **p = cr_realloc((void *)r->types, cap * sizeof *p);
        if (!p)
            return conn_oom(r->conn);
        r->types = p;
        r->typecap = cap;
    }
    r->types[r->ntypes++] = name;
    return CR_OK;
}

/* CREATE TYPE / DROP TYPE for the named enums of t not met yet in this run. */
static cr_status enum_types(ddl_run *r, const cr_table *t, bool create)
{
    if (!r->c.ops->named_enum_types)
        return CR_OK;
    for (size_t i = 0; i < t->ncols; i++) {
        const cr_sqltype *type = &t->cols[i]->type;
        if (type->kind != CR_SQLTYPE_ENUM || !type->enum_name)
            continue;
        bool seen, exists = false;
        cr_status st = seen_type(r, type->enum_name, &seen);
        if (st == CR_OK && !seen && r->checkfirst)
            st = has_type(r, type->enum_name, &exists);
        if (st != CR_OK)
            return st;
        if (seen || (r->checkfirst && exists == create))
            continue;
        cr_buf b;
        cr_buf_init(&b);
        cr_buf_puts(&b, create ? "CREATE TYPE " : "DROP TYPE ");
        put_name(&r->c, &b, type->enum_name);
        if (create) {
            cr_buf_puts(&b, " AS ENUM (");
            for (size_t j = 0; type->enum_values[j]; j++) {
                if (j)
                    cr_buf_puts(&b, ", ");
                cr_ddl_put_literal(&b, type->enum_values[j], r->c.ops->backslash_escapes);
            }
            cr_buf_putc(&b, ')');
        }
        const char *sql = cr_buf_cstr(&b);
        st = sql ? cr_conn_exec_verbatim(r->conn, sql) : conn_oom(r->conn);
        cr_buf_free(&b);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}

static cr_status exec_buf(ddl_run *r, cr_buf *b)
{
    const char *sql = cr_buf_cstr(b);
    cr_status st = sql ? cr_conn_exec_verbatim(r->conn, sql) : conn_oom(r->conn);
    cr_buf_clear(b);
    return st;
}

/* CREATE TABLE, its indexes, then its comments (SchemaGenerator.visit_table). */
static cr_status create_table(ddl_run *r, const cr_table *t)
{
    if (r->checkfirst) {
        bool exists;
        cr_status st = has_table(r, t->name, &exists);
        if (st != CR_OK || exists)
            return st;
    }
    cr_buf b;
    cr_buf_init(&b);
    /* Rendered before any type is created, so a table that cannot be
     * written leaves nothing behind. */
    if (!render_create_table(&r->c, &b, t)) {
        cr_buf_free(&b);
        return conn_fail(r->conn, &r->err);
    }
    cr_status st = enum_types(r, t, true);
    if (st == CR_OK)
        st = exec_buf(r, &b);
    for (size_t i = 0; st == CR_OK && i < t->ncons; i++) {
        if (t->constraints[i]->kind != CR_CONSTRAINT_INDEX)
            continue;
        render_create_index(&r->c, &b, t, t->constraints[i]);
        st = exec_buf(r, &b);
    }
    for (size_t i = 0; st == CR_OK && i < t->ncols; i++) {
        const cr_column *col = t->cols[i];
        if (!col->comment || r->c.ops->comment_style != CR_DDL_COMMENT_ON)
            continue;
        cr_buf_puts(&b, "COMMENT ON COLUMN ");
        put_name(&r->c, &b, t->name);
        cr_buf_putc(&b, '.');
        put_name(&r->c, &b, col->name);
        cr_buf_puts(&b, " IS ");
        cr_ddl_put_literal(&b, col->comment, r->c.ops->backslash_escapes);
        st = exec_buf(r, &b);
    }
    cr_buf_free(&b);
    return st;
}

static cr_status drop_table(ddl_run *r, const cr_table *t)
{
    if (r->checkfirst) {
        bool exists;
        cr_status st = has_table(r, t->name, &exists);
        if (st != CR_OK || !exists)
            return st;
    }
    cr_buf b;
    cr_buf_init(&b);
    cr_buf_puts(&b, "DROP TABLE ");
    put_name(&r->c, &b, t->name);
    cr_status st = exec_buf(r, &b);
    cr_buf_free(&b);
    return st;
}

/* Every foreign key of t refers to a table of its metadata and a column of
 * that table, checked before anything is sent, as SQLAlchemy resolves them
 * (NoReferencedTableError, NoReferencedColumnError: InvalidRequestErrors). */
static cr_status check_references(cr_conn *conn, const cr_table *t)
{
    for (size_t i = 0; i < t->ncons; i++) {
        const cr_constraint *k = t->constraints[i];
        if (k->kind != CR_CONSTRAINT_FOREIGN_KEY)
            continue;
        for (size_t j = 0; j < k->ncols; j++) {
            const cr_table *rt = cr_metadata_table(t->md, k->ref_tables[j]);
            if (!rt)
                return cr_error_set(&conn->err, CR_ERR_INVALID_REQUEST,
                                    "foreign key associated with column '%s.%s' could not find "
                                    "table '%s' with which to generate a foreign key to target "
                                    "column '%s' (NoReferencedTableError)", t->name,
                                    k->cols[j]->name, k->ref_tables[j], k->ref_columns[j]);
            if (!cr_table_column(rt, k->ref_columns[j]))
                return cr_error_set(&conn->err, CR_ERR_INVALID_REQUEST,
                                    "could not initialize target column for foreign key "
                                    "'%s.%s' on table '%s': table '%s' has no column named "
                                    "'%s' (NoReferencedColumnError)", k->ref_tables[j],
                                    k->ref_columns[j], t->name, rt->name, k->ref_columns[j]);
        }
    }
    return CR_OK;
}

/* The tables in creation order: referred tables first, from the order they
 * were added (SchemaGenerator sorts metadata.tables as it holds them). */
static cr_table **creation_order(cr_metadata *md, cr_conn *conn)
{
    cr_table **tables = cr_malloc((md->ntables ? md->ntables : 1) * sizeof *tables);
    if (tables) {
        if (md->ntables)
            memcpy(tables, md->tables, md->ntables * sizeof *tables);
        if (!cr_schema_sort_tables(tables, md->ntables)) {
            cr_free(tables);
            tables = NULL;
        }
    }
    if (!tables)
        conn_oom(conn);
    return tables;
}

/* create_all and drop_all: every table in dependency order, or reversed. */
static cr_status all_tables(cr_metadata *md, cr_conn *conn, bool checkfirst, bool drop)
{
    if (!md || !conn)
        return CR_ERR_ARGUMENT;
    ddl_run r;
    cr_status st = run_begin(&r, conn, checkfirst);
    for (size_t i = 0; !drop && st == CR_OK && i < md->ntables; i++)
        st = check_references(conn, md->tables[i]);
    cr_table **tables = st == CR_OK ? creation_order(md, conn) : NULL;
    if (st == CR_OK && !tables)
        st = conn->err.cls;
    for (size_t i = 0; st == CR_OK && i < md->ntables; i++)
        st = drop ? drop_table(&r, tables[md->ntables - 1 - i]) : create_table(&r, tables[i]);
    /* Types go after every table that used them is gone (_on_metadata_drop). */
    for (size_t i = 0; drop && st == CR_OK && i < md->ntables; i++)
        st = enum_types(&r, tables[i], false);
    cr_free(tables);
    run_end(&r);
    return st;
}

cr_status cr_metadata_create_all(cr_metadata *md, cr_conn *conn, bool checkfirst)
{
    return all_tables(md, conn, checkfirst, false);
}

cr_status cr_metadata_drop_all(cr_metadata *md, cr_conn *conn, bool checkfirst)
{
    return all_tables(md, conn, checkfirst, true);
}

/* metadata.create_all(engine): on a connection of its own, committed. */
typedef struct all_job {
    cr_metadata *md;
    bool checkfirst, drop;
} all_job;

static cr_status all_tables_in_tx(cr_conn *conn, void *userdata)
{
    const all_job *j = userdata;
    return all_tables(j->md, conn, j->checkfirst, j->drop);
}

static cr_status all_tables_engine(cr_metadata *md, cr_engine *engine, bool checkfirst,
                                   bool drop, cr_error **err)
{
    if (err)
        *err = NULL;
    if (!md) {
        cr_error e = {0};
        cr_status st = cr_error_set(&e, CR_ERR_ARGUMENT, "%s: the metadata is NULL",
                                    drop ? "drop_all" : "create_all");
        if (err)
            *err = cr_error_dup(&e);
        cr_error_clear(&e);
        return st;
    }
    all_job job = {md, checkfirst, drop};
    return cr_engine_transaction(engine, all_tables_in_tx, &job, err);
}

cr_status cr_metadata_create_all_engine(cr_metadata *md, cr_engine *engine, bool checkfirst,
                                        cr_error **err)
{
    return all_tables_engine(md, engine, checkfirst, false, err);
}

cr_status cr_metadata_drop_all_engine(cr_metadata *md, cr_engine *engine, bool checkfirst,
                                      cr_error **err)
{
    return all_tables_engine(md, engine, checkfirst, true, err);
}

cr_status cr_table_create(cr_table *t, cr_conn *conn, bool checkfirst)
{
    if (!t || !conn)
        return CR_ERR_ARGUMENT;
    ddl_run r;
    cr_status st = run_begin(&r, conn, checkfirst);
    if (st == CR_OK)
        st = check_references(conn, t);
    if (st == CR_OK)
        st = create_table(&r, t);
    run_end(&r);
    return st;
}

cr_status cr_table_drop(cr_table *t, cr_conn *conn, bool checkfirst)
{
    if (!t || !conn)
        return CR_ERR_ARGUMENT;
    ddl_run r;
    cr_status st = run_begin(&r, conn, checkfirst);
    bool exists = true;
    if (st == CR_OK && checkfirst)
        st = has_table(&r, t->name, &exists);
    /* Table.drop() drops the enum types it created too, but only when it
     * dropped the table. */
    if (st == CR_OK && exists) {
        r.checkfirst = false;
        st = drop_table(&r, t);
        r.checkfirst = checkfirst;
        if (st == CR_OK)
            st = enum_types(&r, t, false);
    }
    run_end(&r);
    return st;
}
