/* migrate.h — internal structures of schema migrations: the script, the in-memory schema model, rendering and the emitter. */
#ifndef CR_MIGRATE_INTERNAL_H
#define CR_MIGRATE_INTERNAL_H

#include "base/base.h"
#include "dialects/dialect.h"

#define CR_MIGRATE_ID_MAX 32
#define CR_MIGRATE_VERSION_TABLE "crucible_version"

struct cr_migrate_script {
    cr_error err;
    cr_arena arena;             /* every string and array of the revisions */
    cr_revision *revs;          /* history order once resolved            */
    size_t n, cap;
    bool resolved;
};

/* Index of the revision with that id, or -1. */
long cr_migrate_find(const cr_migrate_script *s, const char *id);

/* ---- the schema model (model.c) ------------------------------------------
 * The tables as the revisions so far left them, replayed in memory. Strings
 * are borrowed from the script; the arrays are the model's own. */
typedef struct cr_mtable {
    const char *name;
    cr_migrate_column *cols;
    size_t ncols;
    cr_migrate_constraint *cons;    /* constraints and indexes */
    size_t ncons;
} cr_mtable;

/* A trigger made by an execute statement of the history (CREATE TRIGGER):
 * what an offline rebuild of its table makes again, with no sqlite_master
 * to read. sql is as SQLite keeps it: "CREATE TRIGGER " and the statement
 * from the trigger's name on. */
typedef struct cr_mtrigger {
    const char *name, *table, *sql;
} cr_mtrigger;

typedef struct cr_model {
    cr_mtable *tables;
    size_t n;
    cr_mtrigger *triggers;          /* in the order they were made */
    size_t ntriggers;
    cr_arena arena;                 /* column-name arrays made by renames,
                                     * the triggers' strings */
} cr_model;

void cr_model_init(cr_model *m);
void cr_model_free(cr_model *m);
cr_mtable *cr_model_table(const cr_model *m, const char *name);
/* Apply one operation; false when out of memory (err set). An operation on
 * a table the model does not know changes nothing. */
bool cr_model_apply(cr_model *m, const cr_migrate_op *op, cr_error *err);
/* The i-th trigger the model knows on table (case-insensitive), oldest
 * first; NULL past the last. */
const cr_mtrigger *cr_model_trigger(const cr_model *m, const char *table, size_t i);
/* A copy of t (arrays copied, strings shared); false when out of memory. */
bool cr_mtable_copy(cr_mtable *dst, const cr_mtable *t);
void cr_mtable_free(cr_mtable *t);
cr_migrate_column *cr_mtable_column(const cr_mtable *t, const char *name);

/* ---- statements (render.c) ------------------------------------------------
 * Where a run's statements go: executed on a connection (online) or
 * appended to a script text (offline). One path for both, so that the
 * offline SQL is what the online run sends. */
typedef struct cr_emitter {
    const cr_dialect *d;
    cr_conn *conn;                  /* online; NULL offline                  */
    cr_buf *out;                    /* offline                               */
    cr_error *err;
} cr_emitter;

cr_status cr_emit(cr_emitter *e, const char *sql);
cr_status cr_emit_buf(cr_emitter *e, cr_buf *b);
/* A statement that must run outside any transaction (PRAGMA foreign_keys). */
cr_status cr_emit_outside_tx(cr_emitter *e, const char *sql);

/* Render and send operations, updating the model. Consecutive operations
 * that rebuild one table (SQLite) are one rebuild. On failure *failed is
 * the index of the operation (the first of its batch) that failed. */
cr_status cr_migrate_render_ops(cr_emitter *e, cr_model *m, const cr_migrate_op *ops, size_t n,
                                size_t *failed);
/* Whether op, on this dialect, rebuilds a table (so foreign keys go off
 * around the revision's transaction). */
bool cr_migrate_op_rebuilds(const cr_dialect *d, const cr_migrate_op *op);
/* Whether op must run outside any transaction (PostgreSQL's CREATE INDEX
 * CONCURRENTLY): its revision then runs operation by operation. */
bool cr_migrate_op_outside_tx(const cr_dialect *d, const cr_migrate_op *op);
/* CREATE TABLE of the version table for the dialect, into b. */
bool cr_migrate_version_table_sql(const cr_dialect *d, cr_buf *b, cr_error *err);

#endif
