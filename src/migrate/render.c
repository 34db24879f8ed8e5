/* render.c — migration operations as each dialect's SQL, through the schema layer's DDL compiler; SQLite's table rebuild (batch mode). */
#include "migrate/migrate.h"

#include "engine/engine.h"
#include "schema/ddl.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ---- where statements go --------------------------------------------------- */

cr_status cr_emit(cr_emitter *e, const char *sql)
{
    if (!sql)
        return cr_error_oom(e->err);
    if (!e->conn) {
        cr_buf_puts(e->out, sql);
        cr_buf_puts(e->out, ";\n\n");
        return e->out->oom ? cr_error_oom(e->err) : CR_OK;
    }
    cr_status st = cr_conn_exec_verbatim(e->conn, sql);
    if (st)
        cr_error_copy(e->err, &e->conn->err);
    return st;
}

cr_status cr_emit_outside_tx(cr_emitter *e, const char *sql)
{
    if (!e->conn)
        return cr_emit(e, sql);
    /* SQLite ignores PRAGMA foreign_keys inside a transaction: this one runs
     * on its own, without the implicit BEGIN. */
    bool autocommit = e->conn->autocommit;
    e->conn->autocommit = true;
    cr_status st = cr_emit(e, sql);
    e->conn->autocommit = autocommit;
    return st;
}

cr_status cr_emit_buf(cr_emitter *e, cr_buf *b)
{
    cr_status st = cr_emit(e, cr_buf_cstr(b));
    cr_buf_clear(b);
    return st;
}

/* ---- scratch tables: a model table as the DDL compiler's cr_table --------- */

static cr_column *column_of(cr_table *t, const char *name, cr_error *err)
{
    cr_column *c = cr_table_column(t, name);
    if (!c)
        cr_error_set(err, CR_ERR_ARGUMENT, "table '%s' has no column '%s'", cr_table_name(t),
                     name);
    return c;
}

static cr_status add_constraint(cr_table *t, const cr_migrate_constraint *k, cr_error *err)
{
    cr_column *cols[64];
    if (k->ncolumns > CR_ARRAY_LEN(cols))
        return cr_error_set(err, CR_ERR_ARGUMENT, "a constraint of table '%s' has more than %zu "
                            "columns", cr_table_name(t), CR_ARRAY_LEN(cols));
    for (size_t i = 0; i < k->ncolumns; i++)
        if (!(cols[i] = column_of(t, k->columns[i], err)))
            return err->cls;
    switch (k->kind) {
    case CR_MIGRATE_PRIMARY_KEY:
        return cr_table_primary_key(t, k->name, cols, k->ncolumns);
    case CR_MIGRATE_UNIQUE:
        return cr_table_unique(t, k->name, cols, k->ncolumns);
    case CR_MIGRATE_CHECK:
        return cr_table_check(t, k->name, k->sqltext);
    case CR_MIGRATE_INDEX:
        return cr_table_index(t, k->name, k->unique, cols, k->ncolumns);
    case CR_MIGRATE_FOREIGN_KEY: {
        char *refs[64];
        cr_status st = CR_OK;
        size_t made = 0;
        for (; st == CR_OK && made < k->ncolumns; made++) {
            size_t len = strlen(k->referred_table) + strlen(k->referred_columns[made]) + 2;
            if (!(refs[made] = cr_malloc(len)))
                st = cr_error_oom(err);
            else
                snprintf(refs[made], len, "%s.%s", k->referred_table, k->referred_columns[made]);
        }
        if (st == CR_OK)
            st = cr_table_foreign_key(t, k->name, cols, k->ncolumns, (const char *const *)refs,
                                      k->ondelete, k->onupdate);
        for (size_t i = 0; i < made; i++)
            cr_free(refs[i]);
        return st;
    }
    }
    return CR_OK;
}

/* md gets a table named as_name with t's columns and constraints (indexes
 * too when with_indexes). NULL with err set on failure. */
static cr_table *scratch(cr_metadata *md, const cr_mtable *t, const char *as_name,
                         bool with_indexes, cr_error *err)
{
    cr_table *st = cr_table_new(md, as_name);
    for (size_t i = 0; st && i < t->ncols; i++) {
        const cr_migrate_column *c = &t->cols[i];
        cr_column_def def = {0};
        def.name = c->name;
        def.type = c->type;
        def.primary_key = c->primary_key;
        def.nullable = c->nullable ? CR_YES : CR_NO;
        def.server_default = c->server_default;
        if (!cr_table_add_column(st, &def))
            st = NULL;
    }
    for (size_t i = 0; st && i < t->ncons; i++)
        if ((with_indexes || t->cons[i].kind != CR_MIGRATE_INDEX) &&
            add_constraint(st, &t->cons[i], err) != CR_OK)
            st = NULL;
    if (!st && err->cls == CR_OK) {
        const cr_error *me = cr_metadata_error(md);
        if (me)
            cr_error_copy(err, me);
        else
            cr_error_oom(err);
    }
    return st;
}

/* A table of the named columns only (their types do not matter): enough
 * to render an index or a constraint on a table the model may not know. */
static cr_table *scratch_names(cr_metadata *md, const char *table,
                               const cr_migrate_constraint *k, cr_error *err)
{
    cr_migrate_column cols[64];
    if (k->ncolumns > CR_ARRAY_LEN(cols)) {
        cr_error_set(err, CR_ERR_ARGUMENT, "too many columns in constraint of table '%s'", table);
        return NULL;
    }
    for (size_t i = 0; i < k->ncolumns; i++) {
        memset(&cols[i], 0, sizeof cols[i]);
        cols[i].name = k->columns[i];
        cols[i].type.kind = CR_SQLTYPE_INTEGER;
        cols[i].nullable = true;
    }
    cr_mtable t = {table, cols, k->ncolumns, NULL, 0};
    return scratch(md, &t, table, false, err);
}

/* ---- statements ------------------------------------------------------------ */

typedef struct rctx {
    cr_emitter *e;
    const cr_dialect *d;
    const cr_ddl_ops *ops;
    cr_model *m;
    cr_buf b;
} rctx;

static void put_name(rctx *r, const char *name)
{
    cr_dialect_quote(r->d, &r->b, name);
}

static void alter_table(rctx *r, const char *table)
{
    cr_buf_puts(&r->b, "ALTER TABLE ");
    put_name(r, table);
    cr_buf_putc(&r->b, ' ');
}

static cr_status emit(rctx *r)
{
    return cr_emit_buf(r->e, &r->b);
}

/* CREATE INDEX for each index of t. */
static cr_status emit_indexes(rctx *r, const cr_table *t)
{
    assert(t);
    cr_status st = CR_OK;
    for (size_t i = 0; st == CR_OK && i < t->ncons; i++) {
        if (t->constraints[i]->kind != CR_CONSTRAINT_INDEX)
            continue;
        cr_ddl_render_create_index(r->d, &r->b, t, t->constraints[i]);
        st = emit(r);
    }
    return st;
}

static cr_status not_supported(rctx *r, const cr_migrate_op *op, const char *what)
{
    return cr_error_set(r->e->err, CR_ERR_NOT_SUPPORTED,
                        "%s on %s: table '%s' was not made by the migrations before it, and %s "
                        "needs its full definition", what, r->d->name, op->table, what);
}

/* The triggers of a table about to be rebuilt, read before it is dropped
 * (dropping a table drops its triggers): their CREATE statements, each
 * followed by '\0', into out. Online from the database, which knows them
 * all; offline, with no database, those the history's execute statements
 * made (the same text, for SQLite keeps what it was sent). */
static cr_status read_triggers(rctx *r, const char *table, cr_buf *out, size_t *n)
{
    *n = 0;
    if (!r->ops->rebuild_triggers_sql)
        return CR_OK;
    if (!r->e->conn) {
        const cr_mtrigger *g;
        while ((g = cr_model_trigger(r->m, table, *n))) {
            cr_buf_puts(out, g->sql);
            cr_buf_putc(out, '\0');
            ++*n;
        }
        return out->oom ? cr_error_oom(r->e->err) : CR_OK;
    }
    cr_result *res = cr_conn_execute(r->e->conn, r->ops->rebuild_triggers_sql,
                                     CR_PARAMS({"table", cr_val_text(table)}));
    if (!res) {
        cr_error_copy(r->e->err, cr_conn_error(r->e->conn));
        return r->e->err->cls;
    }
    cr_status st = CR_OK;
    const cr_row *row;
    while ((row = cr_result_fetchone(res))) {
        const char *sql;
        if (cr_row_text_at(row, 1, &sql, NULL)) {
            cr_error_copy(r->e->err, cr_row_error(row));
            st = r->e->err->cls;
            break;
        }
        cr_buf_puts(out, sql);
        cr_buf_putc(out, '\0');
        ++*n;
    }
    if (st == CR_OK && cr_result_error(res)) {
        cr_error_copy(r->e->err, cr_result_error(res));
        st = r->e->err->cls;
    }
    cr_result_free(res);
    if (st == CR_OK && out->oom)
        st = cr_error_oom(r->e->err);
    return st;
}

/* The new table takes the old one's name; views naming the table were
 * left pointing at nothing by the DROP, which a rename checks for (SQLite
 * >= 3.26) unless told not to for this one statement. */
static cr_status rename_rebuilt(rctx *r, const char *tmpname, const char *name)
{
    cr_status st = r->ops->rebuild_rename_before ? cr_emit(r->e, r->ops->rebuild_rename_before)
                                                 : CR_OK;
    if (st == CR_OK) {
        alter_table(r, tmpname);
        cr_buf_puts(&r->b, "RENAME TO ");
        put_name(r, name);
        st = emit(r);
        /* Reset even after a failed rename: the setting outlives the
         * transaction on a connection that goes back to the pool. */
        if (r->ops->rebuild_rename_after) {
            cr_error keep;
            cr_error_init(&keep);
            if (st != CR_OK)
                cr_error_copy(&keep, r->e->err);
            cr_status after = cr_emit(r->e, r->ops->rebuild_rename_after);
            if (st != CR_OK) {
                cr_error_copy(r->e->err, &keep);
                cr_error_clear(&keep);
            } else {
                st = after;
            }
        }
    }
    return st;
}

/* Every view and trigger of the database must still work with the rebuilt
 * table: a rename of one of its columns to itself makes SQLite parse them
 * all (changing nothing), and fail naming the first that uses a column the
 * rebuild dropped or renamed. Its error is made to say what to do. */
static cr_status check_views_and_triggers(rctx *r, const cr_mtable *now)
{
    if (!r->ops->rebuild_rename_before || now->ncols == 0)
        return CR_OK;
    alter_table(r, now->name);
    cr_buf_puts(&r->b, "RENAME COLUMN ");
    put_name(r, now->cols[0].name);
    cr_buf_puts(&r->b, " TO ");
    put_name(r, now->cols[0].name);
    cr_status st = emit(r);
    if (st != CR_OK && strncmp(r->e->err->message, "error in ", 9) == 0) {
        char why[sizeof r->e->err->message];
        snprintf(why, sizeof why, "%s", r->e->err->message);
        snprintf(r->e->err->message, sizeof r->e->err->message,
                 "the rebuild of table '%s' would break a view or trigger (%.600s): a rebuild "
                 "keeps views and triggers but cannot rewrite them; drop it before the "
                 "operation and create it again after, in the revision",
                 now->name, why);
    }
    return st;
}

/* The triggers read before the rebuild, made again on the new table. */
static cr_status recreate_triggers(rctx *r, cr_buf *triggers, size_t n)
{
    const char *sql = cr_buf_cstr(triggers);
    cr_status st = CR_OK;
    for (size_t i = 0; st == CR_OK && i < n; i++) {
        assert(sql);
        st = cr_emit(r->e, sql);
        sql += strlen(sql) + 1;
    }
    return st;
}

/* SQLite's procedure for changes ALTER TABLE cannot make (lang_altertable,
 * "Making Other Kinds Of Table Schema Changes"): a new table, the rows
 * copied, the old one dropped, the new one renamed, its indexes and
 * triggers made again, every view and trigger checked. Foreign keys are off around the revision's transaction and checked with
 * PRAGMA foreign_key_check by the run. old is the table before the
 * operations, now after them; origin gives each column of now the column of
 * old its values come from (NULL: a new column). */
static cr_status rebuild(rctx *r, const cr_mtable *old, const cr_mtable *now,
                         const char *(*origin)(const void *map, const char *col),
                         const void *map)
{
    cr_buf tmp;
    cr_buf_init(&tmp);
    cr_buf_printf(&tmp, "_crucible_tmp_%s", now->name);
    const char *tmpname = cr_buf_cstr(&tmp);
    cr_buf triggers;
    cr_buf_init(&triggers);
    size_t ntriggers = 0;
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = md && tmpname ? scratch(md, now, tmpname, false, r->e->err) : NULL;
    cr_status st = CR_OK;
    if (!t)
        st = r->e->err->cls ? r->e->err->cls : cr_error_oom(r->e->err);
    if (st == CR_OK)
        st = read_triggers(r, old->name, &triggers, &ntriggers);
    if (st == CR_OK && cr_ddl_render_create_table(r->d, &r->b, t, r->e->err))
        st = emit(r);
    else if (st == CR_OK)
        st = r->e->err->cls;

    /* The rows: every column of the new table that the old one had. */
    if (st == CR_OK) {
        cr_buf sel;
        cr_buf_init(&sel);
        cr_buf_puts(&r->b, "INSERT INTO ");
        put_name(r, tmpname);
        cr_buf_puts(&r->b, " (");
        size_t n = 0;
        for (size_t i = 0; i < now->ncols; i++) {
            const cr_migrate_column *c = &now->cols[i];
            const char *from = origin(map, c->name);
            const cr_migrate_column *oc = from ? cr_mtable_column(old, from) : NULL;
            if (!oc)
                continue;
            if (n++) {
                cr_buf_puts(&r->b, ", ");
                cr_buf_puts(&sel, ", ");
            }
            put_name(r, c->name);
            bool cast = memcmp(&oc->type, &c->type, sizeof c->type) != 0;
            if (cast)
                cr_buf_puts(&sel, "CAST(");
            cr_dialect_quote(r->d, &sel, oc->name);
            if (cast) {
                cr_buf_puts(&sel, " AS ");
                r->ops->cast_type(&sel, &c->type);
                cr_buf_putc(&sel, ')');
            }
        }
        cr_buf_puts(&r->b, ") SELECT ");
        const char *s = cr_buf_cstr(&sel);
        cr_buf_puts(&r->b, s ? s : "");
        cr_buf_puts(&r->b, " FROM ");
        put_name(r, old->name);
        if (sel.oom)
            r->b.oom = true;
        cr_buf_free(&sel);
        st = n ? emit(r) : (cr_buf_clear(&r->b), CR_OK);
    }
    if (st == CR_OK) {
        cr_buf_puts(&r->b, "DROP TABLE ");
        put_name(r, old->name);
        st = emit(r);
    }
    if (st == CR_OK)
        st = rename_rebuilt(r, tmpname, now->name);
    /* The indexes, on the table under its own name again. */
    cr_metadata_free(md);
    md = st == CR_OK ? cr_metadata_new(NULL) : NULL;
    if (st == CR_OK && !md)
        st = cr_error_oom(r->e->err);
    t = md ? scratch(md, now, now->name, true, r->e->err) : NULL;
    if (st == CR_OK && !t)
        st = r->e->err->cls ? r->e->err->cls : cr_error_oom(r->e->err);
    if (st == CR_OK)
        st = emit_indexes(r, t);
    if (st == CR_OK)
        st = recreate_triggers(r, &triggers, ntriggers);
    if (st == CR_OK)
        st = check_views_and_triggers(r, now);
    cr_metadata_free(md);
    cr_buf_free(&triggers);
    cr_buf_free(&tmp);
    return st;
}

static cr_status create_table(rctx *r, const cr_migrate_op *op)
{
    cr_mtable view = {op->table, (cr_migrate_column *)op->columns, op->ncolumns,
                      (cr_migrate_constraint *)op->constraints, op->nconstraints};
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = md ? scratch(md, &view, op->table, true, r->e->err) : NULL;
    cr_status st = CR_OK;
    if (!t)
        st = r->e->err->cls ? r->e->err->cls : cr_error_oom(r->e->err);
    else if (!cr_ddl_render_create_table(r->d, &r->b, t, r->e->err))
        st = r->e->err->cls;
    else
        st = emit(r);
    if (st == CR_OK)
        st = emit_indexes(r, t);
    cr_metadata_free(md);
    return st;
}

/* ALTER TABLE t ADD <constraint>, or CREATE INDEX. */
static cr_status add_constraint_sql(rctx *r, const char *table, const cr_migrate_constraint *k)
{
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = md ? scratch_names(md, table, k, r->e->err) : NULL;
    cr_status st = t ? add_constraint(t, k, r->e->err) : CR_OK;
    if (!t)
        st = r->e->err->cls ? r->e->err->cls : cr_error_oom(r->e->err);
    else if (st == CR_OK && t->ncons == 0)
        st = cr_error_oom(r->e->err);
    if (st == CR_OK) {
        assert(t && t->ncons > 0);
        const cr_constraint *c = t->constraints[t->ncons - 1];
        if (k->kind == CR_MIGRATE_INDEX) {
            cr_ddl_render_create_index(r->d, &r->b, t, c);
        } else {
            alter_table(r, table);
            cr_buf_puts(&r->b, "ADD ");
            if (!cr_ddl_render_constraint(r->d, &r->b, t, c, r->e->err))
                st = r->e->err->cls;
        }
    }
    if (st == CR_OK)
        st = emit(r);
    else
        cr_buf_clear(&r->b);
    cr_metadata_free(md);
    return st;
}

/* The column's spec (name TYPE DEFAULT NOT NULL) from a table of it alone. */
static cr_status column_spec(rctx *r, const cr_migrate_column *c)
{
    cr_mtable view = {"_", (cr_migrate_column *)c, 1, NULL, 0};
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = md ? scratch(md, &view, "_", false, r->e->err) : NULL;
    cr_status st = CR_OK;
    if (t)
        cr_ddl_render_column(r->d, &r->b, t->cols[0]);
    else
        st = r->e->err->cls ? r->e->err->cls : cr_error_oom(r->e->err);
    cr_metadata_free(md);
    return st;
}

static cr_status add_column(rctx *r, const cr_migrate_op *op)
{
    alter_table(r, op->table);
    cr_buf_puts(&r->b, "ADD COLUMN ");
    cr_status st = column_spec(r, &op->columns[0]);
    if (st == CR_OK)
        st = emit(r);
    for (size_t i = 0; st == CR_OK && i < op->nconstraints; i++)
        st = add_constraint_sql(r, op->table, &op->constraints[i]);
    return st;
}

static void alter_column_prefix(rctx *r, const cr_migrate_op *op)
{
    alter_table(r, op->table);
    cr_buf_puts(&r->b, "ALTER COLUMN ");
    put_name(r, op->name);
}

static cr_status set_default(rctx *r, const cr_migrate_op *op)
{
    alter_column_prefix(r, op);
    if (op->new_default)
        cr_buf_printf(&r->b, " SET DEFAULT %s", op->new_default);
    else
        cr_buf_puts(&r->b, " DROP DEFAULT");
    return emit(r);
}

/* PostgreSQL: one ALTER per change, the rename last (Alembic's order). */
static cr_status alter_separate(rctx *r, const cr_migrate_op *op)
{
    cr_status st = CR_OK;
    if (op->new_type) {
        cr_migrate_column c = {op->name, *op->new_type, false, true, NULL};
        cr_metadata *md = cr_metadata_new(NULL);
        cr_mtable view = {op->table, &c, 1, NULL, 0};
        cr_table *t = md ? scratch(md, &view, op->table, false, r->e->err) : NULL;
        if (t) {
            alter_column_prefix(r, op);
            cr_buf_puts(&r->b, " TYPE ");
            r->ops->column_type(&r->b, t->cols[0], false);
            if (op->type_using)
                cr_buf_printf(&r->b, " USING %s", op->type_using);
            st = emit(r);
        } else {
            st = r->e->err->cls ? r->e->err->cls : cr_error_oom(r->e->err);
        }
        cr_metadata_free(md);
    }
    if (st == CR_OK && op->new_nullable.value != CR_AUTO.value) {
        alter_column_prefix(r, op);
        cr_buf_puts(&r->b, op->new_nullable.value == CR_NO.value ? " SET NOT NULL"
                                                                 : " DROP NOT NULL");
        st = emit(r);
    }
    if (st == CR_OK && op->set_default)
        st = set_default(r, op);
    if (st == CR_OK && op->new_name) {
        alter_table(r, op->table);
        cr_buf_puts(&r->b, "RENAME COLUMN ");
        put_name(r, op->name);
        cr_buf_puts(&r->b, " TO ");
        put_name(r, op->new_name);
        st = emit(r);
    }
    return st;
}

/* MySQL: MODIFY / CHANGE restate the whole column, as the model has it
 * after the change; a default alone is ALTER COLUMN ... SET DEFAULT. */
static cr_status alter_modify(rctx *r, const cr_migrate_op *op, const cr_mtable *now)
{
    if (!op->new_type && op->new_nullable.value == CR_AUTO.value && !op->new_name)
        return set_default(r, op);
    if (!now)
        return not_supported(r, op, "alter_column");
    const cr_migrate_column *c = cr_mtable_column(now, op->new_name ? op->new_name : op->name);
    if (!c)
        return cr_error_set(r->e->err, CR_ERR_ARGUMENT, "alter_column: table '%s' has no "
                            "column '%s'", op->table, op->name);
    alter_table(r, op->table);
    if (op->new_name) {
        cr_buf_puts(&r->b, "CHANGE ");
        put_name(r, op->name);
        cr_buf_putc(&r->b, ' ');
    } else {
        cr_buf_puts(&r->b, "MODIFY ");
    }
    cr_status st = column_spec(r, c);
    return st == CR_OK ? emit(r) : st;
}

static cr_status drop_constraint(rctx *r, const cr_migrate_op *op)
{
    const cr_migrate_constraint *k = &op->constraints[0];
    if (k->kind == CR_MIGRATE_INDEX) {
        cr_buf_puts(&r->b, "DROP INDEX ");
        put_name(r, k->name);
        if (r->ops->drop_index_on_table) {
            cr_buf_puts(&r->b, " ON ");
            put_name(r, op->table);
        }
        return emit(r);
    }
    const char *clause = k->kind == CR_MIGRATE_UNIQUE  ? r->ops->drop_unique_clause
                       : k->kind == CR_MIGRATE_CHECK   ? r->ops->drop_check_clause
                                                       : r->ops->drop_fk_clause;
    alter_table(r, op->table);
    cr_buf_printf(&r->b, "%s ", clause ? clause : "DROP CONSTRAINT");
    put_name(r, k->name);
    return emit(r);
}

bool cr_migrate_op_outside_tx(const cr_dialect *d, const cr_migrate_op *op)
{
    return op->kind == CR_MIGRATE_ADD_CONSTRAINT && op->concurrently &&
           op->constraints[0].kind == CR_MIGRATE_INDEX && d->ddl->index_blocks_writes;
}

/* CREATE [UNIQUE] INDEX CONCURRENTLY, on its own outside any transaction. */
static cr_status create_index_concurrently(rctx *r, const cr_migrate_op *op)
{
    const cr_migrate_constraint *k = &op->constraints[0];
    cr_buf_puts(&r->b, k->unique ? "CREATE UNIQUE INDEX CONCURRENTLY " : "CREATE INDEX "
                                                                         "CONCURRENTLY ");
    put_name(r, k->name);
    cr_buf_puts(&r->b, " ON ");
    put_name(r, op->table);
    cr_buf_puts(&r->b, " (");
    for (size_t i = 0; i < k->ncolumns; i++) {
        if (i)
            cr_buf_puts(&r->b, ", ");
        put_name(r, k->columns[i]);
    }
    cr_buf_putc(&r->b, ')');
    cr_status st = cr_emit_outside_tx(r->e, cr_buf_cstr(&r->b));
    cr_buf_clear(&r->b);
    return st;
}

bool cr_migrate_op_rebuilds(const cr_dialect *d, const cr_migrate_op *op)
{
    if (d->ddl->alter_style != CR_DDL_ALTER_REBUILD)
        return false;
    switch (op->kind) {
    case CR_MIGRATE_DROP_COLUMN:
        return true;
    case CR_MIGRATE_ALTER_COLUMN:
        return op->new_type || op->new_nullable.value != CR_AUTO.value || op->set_default;
    case CR_MIGRATE_ADD_COLUMN:
        /* ALTER TABLE ADD COLUMN takes no PRIMARY KEY or UNIQUE, and NOT NULL
         * only with a default. */
        return op->columns[0].primary_key || op->nconstraints > 0 ||
               (!op->columns[0].nullable && !op->columns[0].server_default);
    case CR_MIGRATE_ADD_CONSTRAINT:
    case CR_MIGRATE_DROP_CONSTRAINT:
        return op->constraints[0].kind != CR_MIGRATE_INDEX;
    default:
        return false;
    }
}

static cr_status render_plain(rctx *r, const cr_migrate_op *op, const cr_mtable *now)
{
    switch (op->kind) {
    case CR_MIGRATE_CREATE_TABLE:
        return create_table(r, op);
    case CR_MIGRATE_DROP_TABLE:
        cr_buf_puts(&r->b, "DROP TABLE ");
        put_name(r, op->table);
        return emit(r);
    case CR_MIGRATE_RENAME_TABLE:
        alter_table(r, op->table);
        cr_buf_puts(&r->b, "RENAME TO ");
        put_name(r, op->new_name);
        return emit(r);
    case CR_MIGRATE_ADD_COLUMN:
        return add_column(r, op);
    case CR_MIGRATE_DROP_COLUMN:
        alter_table(r, op->table);
        cr_buf_puts(&r->b, "DROP COLUMN ");
        put_name(r, op->name);
        return emit(r);
    case CR_MIGRATE_ALTER_COLUMN:
        if (r->ops->alter_style == CR_DDL_ALTER_MODIFY)
            return alter_modify(r, op, now);
        return alter_separate(r, op);    /* SQLite: a rename alone */
    case CR_MIGRATE_ADD_CONSTRAINT:
        if (cr_migrate_op_outside_tx(r->d, op))
            return create_index_concurrently(r, op);
        return add_constraint_sql(r, op->table, &op->constraints[0]);
    case CR_MIGRATE_DROP_CONSTRAINT:
        return drop_constraint(r, op);
    case CR_MIGRATE_EXECUTE:
        return cr_emit(r->e, op->sql);
    }
    return CR_OK;
}

/* Where each column of a table being rebuilt came from, through the
 * renames, drops and additions of the operations batched into the rebuild. */
typedef struct origins {
    struct { const char *now, *was; } *cols;
    size_t n;
} origins;

static const char *origin_of(const void *map, const char *col)
{
    const origins *o = map;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->cols[i].now, col) == 0)
            return o->cols[i].was;
    return NULL;
}

static void origins_follow(origins *o, const cr_migrate_op *op)
{
    for (size_t i = 0; i < o->n; i++) {
        if (op->kind == CR_MIGRATE_ALTER_COLUMN && op->new_name &&
            strcmp(o->cols[i].now, op->name) == 0)
            o->cols[i].now = op->new_name;
        else if (op->kind == CR_MIGRATE_DROP_COLUMN && strcmp(o->cols[i].now, op->name) == 0)
            o->cols[i--] = o->cols[--o->n];
    }
    /* An added column is new: it has no origin, even under an old name. */
}

/* The batch: ops, all rebuilding op[0].table, applied to the model and
 * made one rebuild (Alembic's batch_alter_table, one copy of the rows). */
static cr_status render_batch(rctx *r, const cr_migrate_op *ops, size_t n)
{
    const cr_mtable *known = cr_model_table(r->m, ops[0].table);
    if (!known)
        return not_supported(r, &ops[0], "a table rebuild");
    cr_mtable old;
    if (!cr_mtable_copy(&old, known))
        return cr_error_oom(r->e->err);
    origins o = {cr_malloc((old.ncols ? old.ncols : 1) * sizeof *o.cols), old.ncols};
    cr_status st = o.cols ? CR_OK : cr_error_oom(r->e->err);
    assert(st != CR_OK || o.cols);
    for (size_t i = 0; st == CR_OK && i < old.ncols; i++)
        o.cols[i].now = o.cols[i].was = old.cols[i].name;
    for (size_t i = 0; st == CR_OK && i < n; i++) {
        origins_follow(&o, &ops[i]);
        if (!cr_model_apply(r->m, &ops[i], r->e->err))
            st = r->e->err->cls;
    }
    if (st == CR_OK)
        st = rebuild(r, &old, cr_model_table(r->m, ops[0].table), origin_of, &o);
    cr_free(o.cols);
    cr_mtable_free(&old);
    return st;
}

/* One operation that ALTER TABLE (or CREATE / DROP) does. */
static cr_status render_one(rctx *r, const cr_migrate_op *op)
{
    const char *now_name = op->kind == CR_MIGRATE_RENAME_TABLE ? op->new_name : op->table;
    if (!cr_model_apply(r->m, op, r->e->err))
        return r->e->err->cls;
    return render_plain(r, op, cr_model_table(r->m, now_name));
}

cr_status cr_migrate_render_ops(cr_emitter *e, cr_model *m, const cr_migrate_op *ops, size_t n,
                                size_t *failed)
{
    rctx r = {e, e->d, e->d->ddl, m, {0}};
    cr_buf_init(&r.b);
    cr_status st = CR_OK;
    size_t i = 0;
    while (st == CR_OK && i < n) {
        size_t j = i + 1;
        if (cr_migrate_op_rebuilds(e->d, &ops[i])) {
            while (j < n && cr_migrate_op_rebuilds(e->d, &ops[j]) &&
                   strcmp(ops[j].table, ops[i].table) == 0)
                j++;
            st = render_batch(&r, &ops[i], j - i);
        } else {
            st = render_one(&r, &ops[i]);
        }
        if (st == CR_OK)
            i = j;
    }
    *failed = i;
    cr_buf_free(&r.b);
    return st;
}

bool cr_migrate_version_table_sql(const cr_dialect *d, cr_buf *b, cr_error *err)
{
    static const cr_migrate_column cols[] = {
        {"version_num", {CR_SQLTYPE_STRING, CR_MIGRATE_ID_MAX, 0, 0, false, NULL, NULL}, false,
         false, NULL},
        {"progress", {CR_SQLTYPE_STRING, 64, 0, 0, false, NULL, NULL}, false, true, NULL},
    };
    static const char *const pkcols[] = {"version_num"};
    static const cr_migrate_constraint pk = {CR_MIGRATE_PRIMARY_KEY, "crucible_version_pkc",
                                             pkcols, 1, false, NULL, NULL, NULL, NULL, NULL};
    cr_mtable view = {CR_MIGRATE_VERSION_TABLE, (cr_migrate_column *)cols, 2,
                      (cr_migrate_constraint *)&pk, 1};
    cr_metadata *md = cr_metadata_new(NULL);
    cr_table *t = md ? scratch(md, &view, view.name, false, err) : NULL;
    bool ok = t && cr_ddl_render_create_table(d, b, t, err);
    if (!t && err->cls == CR_OK)
        cr_error_oom(err);
    cr_metadata_free(md);
    return ok;
}
